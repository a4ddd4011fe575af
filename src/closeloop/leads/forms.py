from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import User

from .models import Lead, LeadSource, LeadStatus

LEAD_FORM_FIELDS = [
    "company_name", "contact_name", "title", "mobile", "landline", "email", "wechat", "region", "city",
    "industry", "company_size", "need", "budget", "timeline", "credit_code",
]


class LeadForm(forms.ModelForm):
    """Parses what a person typed; the intake service validates and normalizes it."""

    source = forms.ModelChoiceField(label=_("source"), queryset=LeadSource.objects.filter(active=True))
    budget = forms.CharField(label=_("budget (CNY)"), required=False)
    # Plain text here so the intake service reports every bad field at once, in its own words.
    email = forms.CharField(label=_("email"), required=False, max_length=200,
                            widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email"}))

    class Meta:
        model = Lead
        fields = LEAD_FORM_FIELDS + ["source"]
        widgets = {
            "need": forms.Textarea(attrs={"rows": 3}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
            "landline": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    def _post_clean(self):
        # Validation belongs to the service, not to the model form: skip model validation here.
        pass


class LeadEditForm(LeadForm):
    status = forms.ChoiceField(
        label=_("status"), choices=[c for c in LeadStatus.choices if c[0] != LeadStatus.MERGED]
    )

    class Meta(LeadForm.Meta):
        fields = LEAD_FORM_FIELDS + ["source", "status"]


class BulkAssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("assign to"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=200, required=False)
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from closeloop.core.visibility import subtree_users

        owners = User.objects.filter(is_active=True, role__in=["sales_rep", "sales_manager"])
        if not user.is_admin:
            owners = owners.filter(pk__in=subtree_users(user).values("pk"))
        self.fields["owner"].queryset = owners
        self.fields["leads"].queryset = Lead.objects.visible_to(user)
