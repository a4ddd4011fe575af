from datetime import date, datetime

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from . import dates, money
from .errors import ValidationFailed
from .hooks import collect
from .inputs import datetime_input
from .models import Department, RobotPlatform, Role, User


class UserForm(forms.Form):
    username = forms.RegexField(label=_("username"), regex=r"^[\w.@+-]+$", max_length=150)
    display_name = forms.CharField(label=_("display name"), max_length=100, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    mobile = forms.CharField(label=_("mobile"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)
    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.all(), required=False)
    manager = forms.ModelChoiceField(label=_("manager"), queryset=User.objects.filter(is_active=True), required=False)
    on_leave = forms.BooleanField(label=_("on leave"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    password = forms.CharField(
        label=_("new password"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password."),
    )

    def __init__(self, *args, instance: User | None = None, **kwargs):
        self.instance = instance
        # Fields the apps add (leads: the source channels a marketer runs), after the role and team.
        self.app_fields = collect("user_fields")
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(instance, name) for name in
                   ["username", "display_name", "email", "mobile", "role", "department", "manager", "on_leave", "is_active"]},
                **{field.name: field.initial(instance) for field in self.app_fields},
            }
        super().__init__(*args, **kwargs)
        if instance is None:
            # A new person starts with the fewest rights: an administrator who leaves the role as it comes must
            # not make one more administrator. Their first password is no "new password" to "leave empty".
            self.fields["role"].initial = Role.SALES_REP
            self.fields["password"].label = _("password")
            self.fields["password"].help_text = ""
            # Required for a new user (clean_password says so), and the label says it before the save does.
            self.fields["password"].marked_required = True
        names = list(self.fields)
        at = names.index("on_leave")
        extra = {field.name: field.formfield() for field in self.app_fields}
        self.fields = {**{n: self.fields[n] for n in names[:at]}, **extra, **{n: self.fields[n] for n in names[at:]}}

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


class GroupRobotForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    department = forms.ModelChoiceField(
        label=_("team"), queryset=Department.objects.all(),
        help_text=_("Notifications for members of this team and of its sub-teams are posted."),
    )
    platform = forms.ChoiceField(label=_("platform"), choices=RobotPlatform.choices)
    webhook_url = forms.URLField(
        label=_("webhook URL"), max_length=500, required=False, assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Copy it from the group's robot settings (群机器人 → 自定义机器人)."),
    )
    secret = forms.CharField(
        label=_("signing secret"), max_length=200, required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("DingTalk: the SEC… value of the 加签 setting; Feishu: the 签名校验 key. WeCom has none."),
    )
    clear_secret = forms.BooleanField(label=_("remove the stored secret"), required=False)
    kinds = forms.MultipleChoiceField(
        label=_("events"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Nothing ticked means every event."),
    )
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    def __init__(self, *args, instance=None, **kwargs):
        from .notify import KINDS

        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "department": instance.department, "kinds": instance.kinds,
                                 "platform": instance.platform, "is_active": instance.is_active}
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k.kind, k.label) for k in KINDS.values()]
        if instance is None:
            self.fields["webhook_url"].required = True
            del self.fields["clear_secret"]
        else:
            # The stored URL and secret are credentials: never sent back to the browser in full.
            self.fields["webhook_url"].help_text = _("Now %(url)s — leave empty to keep it.") % {"url": instance.masked_url}
            if instance.secret:
                self.fields["secret"].help_text = _("A secret is stored (%(mask)s). Leave empty to keep it.") % {
                    "mask": instance.masked_secret}
            else:
                del self.fields["clear_secret"]


class NotificationPreferencesForm(forms.Form):
    """Three checkboxes per event kind: in the app, by email at once, in the daily summary (none: not at all)."""

    CHANNELS = (("in_app", _("in the app")), ("email", _("by email at once")), ("summary", _("in the daily summary")))

    language = forms.ChoiceField(label=_("Language of emails"), required=False,
                                 help_text=_("The weekly digest and other mails are written in it."))

    def __init__(self, *args, kinds, current: dict, language: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("The site's language")), *settings.LANGUAGES]
        self.fields["language"].initial = language
        self.rows = []
        self.kinds = [kind.kind for kind in kinds]
        for kind in kinds:
            chosen = current[kind.kind]._asdict()
            for name, label in self.CHANNELS:
                self.fields[f"{kind.kind}:{name}"] = forms.BooleanField(label=label, required=False,
                                                                         initial=chosen[name])
            self.rows.append((kind, *(self[f"{kind.kind}:{name}"] for name, _label in self.CHANNELS)))

    def clean(self):
        for kind in self.kinds:
            if self.cleaned_data.get(f"{kind}:email") and self.cleaned_data.get(f"{kind}:summary"):
                self.add_error(f"{kind}:summary", _("Choose either a mail at once or the daily summary, not both."))
        return self.cleaned_data

    def choices(self) -> dict[str, tuple[bool, bool, bool]]:
        return {kind: tuple(self.cleaned_data[f"{kind}:{name}"] for name, _label in self.CHANNELS)
                for kind in self.kinds}


class TypedDateInput(forms.TextInput):
    """A text field for a date as people write it (明天, 下周一, 3月5日: core.dates), with the value it reads
    echoed under it while typing (HTMX asks core's `date_echo`), before anything is saved."""

    template_name = "core/widgets/typed_date.html"

    def __init__(self, *, with_time: bool = False, month_start: bool = False, attrs=None):
        self.with_time = with_time
        self.month_start = month_start  # a list's lower bound: a bare month is its first day
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) \
                else value.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        echo_id = f"{widget['attrs'].get('id') or name}_echo"
        widget["echo_id"] = echo_id
        widget["echo"] = dates.echo(value if isinstance(value, str) else "", with_time=self.with_time,
                                    month_start=self.month_start)
        query = {"field": name, "echo": echo_id, "as": "datetime" if self.with_time else "date",
                 "bound": "start" if self.month_start else "end"}
        widget["attrs"].setdefault("placeholder", _("e.g. %(examples)s") % {"examples": dates.EXAMPLES})
        widget["attrs"].update({
            "aria-describedby": echo_id,
            "hx-get": f"{reverse('date_echo')}?{urlencode(query)}",
            "hx-trigger": "input changed delay:300ms",
            "hx-target": f"#{echo_id}",
            "hx-swap": "outerHTML",
            "hx-sync": "this:replace",
        })
        return context


class TypedMoneyInput(forms.TextInput):
    """A text field for an amount as people write it (50000, 5万, 1.2亿, 五万: core.money.parse_money), with the
    amount it reads echoed under it while typing (HTMX asks core's `money_echo`), before anything is saved. A text
    keyboard, not a numeric one: a phone's number pad has no 万."""

    template_name = "core/widgets/typed_money.html"

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        echo_id = f"{widget['attrs'].get('id') or name}_echo"
        widget["echo_id"] = echo_id
        widget["amount"], widget["error"] = money.echo(value if isinstance(value, str) else "")
        widget["attrs"].setdefault("placeholder", _("e.g. 50000, 5万, 1.2亿"))
        widget["attrs"].update({
            "aria-describedby": echo_id,
            "hx-get": f"{reverse('money_echo')}?{urlencode({'field': name, 'echo': echo_id})}",
            "hx-trigger": "input changed delay:300ms",
            "hx-target": f"#{echo_id}",
            "hx-swap": "outerHTML",
            "hx-sync": "this:replace",
        })
        return context


class TypedDateField(forms.Field):
    """A date typed as people write it; cleans to a `date`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", TypedDateInput())
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        try:
            return dates.parse_typed_date(value, month_start=getattr(self.widget, "month_start", False)).day
        except dates.DateNotUnderstood as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class TypedDateTimeField(forms.Field):
    """A date and time typed as people write it (明天 10点; a day alone stands for core.dates.DAY_TIME); cleans to
    an aware `datetime`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", TypedDateInput(with_time=True))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value if timezone.is_aware(value) else timezone.make_aware(value)
        try:
            return datetime_input(str(value), "value")
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.field_errors["value"][0], code="invalid") from None
