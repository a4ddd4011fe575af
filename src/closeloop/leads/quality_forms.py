"""Forms of the lead-quality settings pages. They parse; the rule services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.customfields import conditions
from closeloop.core.models import User

from .assignment import OWNER_ROLES
from .models import Campaign, LeadSource
from .quality import AssignmentRule, QualitySettings, ScoringRule
from .rule_services import POOL_FIELDS, SLA_FIELDS, THRESHOLD_FIELDS


class NoModelValidation:
    def _post_clean(self):
        # The rule services validate; model validation here would say it twice, differently.
        pass


class ThresholdsForm(NoModelValidation, forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = THRESHOLD_FIELDS


class SlaForm(NoModelValidation, forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = SLA_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nurture_owner"].queryset = User.objects.filter(is_active=True).order_by("username")


class PoolSettingsForm(NoModelValidation, forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = POOL_FIELDS


class CustomConditionFields(forms.Form):
    """A rule's condition on a lead custom field: which field, how to compare, the value."""

    custom_key = forms.ChoiceField(label=_("custom field"), required=False)
    custom_operator = forms.ChoiceField(label=_("comparison"), required=False,
                                        choices=[("", "—"), *conditions.Operator.choices])
    custom_value = forms.CharField(label=_("value"), max_length=200, required=False,
                                   help_text=_("Not needed for “is filled in”. Greater than: numbers and amounts."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custom_key"].choices = conditions.field_choices("leads.Lead")


class ScoringRuleForm(NoModelValidation, forms.ModelForm):
    custom_key = CustomConditionFields.base_fields["custom_key"]
    custom_operator = CustomConditionFields.base_fields["custom_operator"]
    custom_value = CustomConditionFields.base_fields["custom_value"]

    class Meta:
        model = ScoringRule
        fields = ["kind", "label", "keywords", "min_amount", "max_amount", "min_count", "points", "position", "active",
                  "custom_key", "custom_operator", "custom_value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custom_key"].choices = conditions.field_choices("leads.Lead")


class AssignmentRuleForm(NoModelValidation, forms.ModelForm):
    custom_key = CustomConditionFields.base_fields["custom_key"]
    custom_operator = CustomConditionFields.base_fields["custom_operator"]
    custom_value = CustomConditionFields.base_fields["custom_value"]
    sources = forms.ModelMultipleChoiceField(label=_("sources"), queryset=LeadSource.objects.all(), required=False,
                                             widget=forms.CheckboxSelectMultiple)
    campaigns = forms.ModelMultipleChoiceField(label=_("campaigns"), queryset=Campaign.objects.all(), required=False)

    class Meta:
        model = AssignmentRule
        fields = ["name", "position", "active", "regions", "industries", "products", "grades", "sources", "campaigns",
                  "custom_key", "custom_operator", "custom_value", "department", "strategy"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["custom_key"].choices = conditions.field_choices("leads.Lead")


class MemberForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("person"), required=False,
        queryset=User.objects.filter(is_active=True, role__in=OWNER_ROLES).order_by("username"),
    )
    weight = forms.IntegerField(label=_("weight"), min_value=1, max_value=100, initial=1, required=False)


MemberFormSet = forms.formset_factory(MemberForm, extra=3, max_num=50)
