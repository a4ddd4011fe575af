from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.leads.models import CONFIGURABLE_FIELDS, Lead, LeadSource

from .models import Channel, Department, Role, User


class UserForm(forms.Form):
    username = forms.RegexField(label=_("username"), regex=r"^[\w.@+-]+$", max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=100, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    mobile = forms.CharField(label=_("mobile"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)
    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.all(), required=False)
    manager = forms.ModelChoiceField(label=_("manager"), queryset=User.objects.filter(is_active=True), required=False)
    source_channels = forms.ModelMultipleChoiceField(
        label=_("source channels (marketing)"), queryset=LeadSource.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    on_leave = forms.BooleanField(label=_("on leave"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    password = forms.CharField(
        label=_("new password"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password."),
    )

    def __init__(self, *args, instance: User | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(instance, name) for name in
                   ["username", "display_name", "email", "mobile", "role", "department", "manager", "on_leave", "is_active"]},
                "source_channels": list(instance.source_channels.all()),
            }
        super().__init__(*args, **kwargs)

    def clean_username(self):
        username = self.cleaned_data["username"]
        clash = User.objects.filter(username__iexact=username)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data.get("password")
        if password:
            validate_password(password, self.instance)
        elif self.instance is None:
            raise forms.ValidationError(_("Set a password for the new user."))
        return password


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    parent = forms.ModelChoiceField(label=_("parent department"), queryset=Department.objects.all(), required=False)


class ChannelPolicyForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=_("required fields"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, Lead._meta.get_field(name).verbose_name) for name in CONFIGURABLE_FIELDS],
    )
    require_contact_method = forms.BooleanField(label=_("require a mobile, landline, email or WeChat"), required=False)

    def __init__(self, *args, channel: str, **kwargs):
        self.channel = channel
        kwargs.setdefault("prefix", channel)
        super().__init__(*args, **kwargs)
        self.label = Channel(channel).label
