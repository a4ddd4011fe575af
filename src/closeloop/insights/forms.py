from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.forms import TypedDateField, TypedDateInput
from closeloop.core.visibility import people_visible_to


class ThresholdsForm(forms.Form):
    """One field per kind of break: hours it may wait; empty keeps the app's default (shown as the placeholder)."""

    def __init__(self, *args, kinds=(), current=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        for kind in kinds:
            default = int(kind.default_threshold.total_seconds() // 3600)
            self.fields[kind.key] = forms.IntegerField(
                label=kind.label, required=False, min_value=0, initial=current.get(kind.key),
                help_text=_("Default: %(hours)d h") % {"hours": default},
                widget=forms.NumberInput(attrs={"placeholder": default}))


class DashboardForm(forms.Form):
    """The dashboard's filters, read from the query string; a value that is not allowed is an error beside it and
    the dashboard falls back to the default (this month, the viewer's whole line)."""

    period = forms.ChoiceField(label=_("Period"), choices=[], required=False)
    start = TypedDateField(label=_("First day"), required=False, widget=TypedDateInput(month_start=True))
    end = TypedDateField(label=_("Last day"), required=False)
    rep = forms.ModelChoiceField(label=_("Rep"), queryset=None, required=False, empty_label=_("Everyone I review"))
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=None, required=False,
                                      empty_label=_("Default pipeline"))
    source = forms.ModelChoiceField(label=_("Source"), queryset=None, required=False, empty_label=_("Every source"))

    def __init__(self, *args, viewer, **kwargs):
        from closeloop.deals.models import Pipeline
        from closeloop.leads.models import LeadSource

        from .dashboard import PERIODS

        super().__init__(*args, **kwargs)
        self.fields["period"].choices = list(PERIODS.items())
        self.fields["rep"].queryset = people_visible_to(viewer).order_by("username")
        self.fields["pipeline"].queryset = Pipeline.objects.filter(active=True).order_by("position", "id")
        self.fields["source"].queryset = LeadSource.objects.order_by("position", "id")

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("Give both days of a custom period."))
            if end < start:
                self.add_error("end", _("The last day comes before the first."))
            elif (end - start).days > 3660:
                self.add_error("end", _("A period is at most ten years long."))
        return data


class DigestSettingsForm(forms.Form):
    send_at = forms.TimeField(label=_("Sent on Mondays at"), input_formats=["%H:%M"],
                              widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
                              help_text=_("In the site's time zone. Each manager gets last week's review (Monday to "
                                          "Sunday) by email and in their team's group robot."))
