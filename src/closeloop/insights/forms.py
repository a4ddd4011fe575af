from django import forms
from django.utils.translation import gettext_lazy as _

from closeloop.core.customfields import indexes, registry
from closeloop.core.forms import TypedDateField, TypedDateInput
from closeloop.core.models import CustomFieldType, User
from closeloop.core.visibility import people_visible_to

# Custom field types whose values make a dashboard filter: a handful of values each, chosen from a list.
FILTER_TYPES = (CustomFieldType.CHOICE, CustomFieldType.BOOLEAN, CustomFieldType.USER, CustomFieldType.MULTI_CHOICE)


class OptionsField(forms.MultipleChoiceField):
    """A multiple-choice custom field's filter: “has any of” the options chosen, given as the parameter repeated (the
    form's own choices) or joined by commas (a drill-down's link); what is no option is passed by, as on the lists."""

    def __init__(self, *args, custom, **kwargs):
        self.custom = custom
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        texts = [] if not value else value if isinstance(value, list | tuple) else [value]
        return indexes.options_chosen(self.custom, texts)

    def bound_data(self, data, initial):
        return self.to_python(data)  # the widget shows the options of a joined link's value selected


class ThresholdsForm(forms.Form):
    """One field per kind of break: hours it may wait; empty keeps the app's default (shown as the placeholder)."""

    def __init__(self, *args, kinds=(), current=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        for kind in kinds:
            default = int(kind.default_threshold.total_seconds() // 3600)
            self.fields[kind.key] = forms.IntegerField(
                label=kind.label, required=False, min_value=0, initial=current.get(kind.key),
                help_text=" ".join(str(text) for text in (kind.help, _("Default: %(hours)d h") % {"hours": default})
                                   if text),
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
        self.custom_fields = []
        for kind, name, custom in dashboard_custom_fields(viewer):
            label = (_("Lead · %(field)s") if kind == "lead" else _("Deal · %(field)s")) % {"field": custom.label}
            if custom.type == CustomFieldType.MULTI_CHOICE:
                self.fields[name] = OptionsField(
                    label=label, required=False, custom=custom, choices=_custom_choices(custom),
                    help_text=_("Any of the chosen options."),
                    widget=forms.SelectMultiple(attrs={"size": min(len(custom.options), 4)}))
            else:
                self.fields[name] = forms.ChoiceField(label=label, required=False, choices=[("", _("Any")),
                                                                                             *_custom_choices(custom)])
            self.custom_fields.append((kind, name, custom))

    def custom_filters(self) -> tuple[tuple, tuple]:
        """The lead fields' and the deal fields' filters the valid form chose, as core.customfields.indexes gives
        them: `(field, operator, stored value, text)`."""
        data = self.cleaned_data
        chosen = {}
        for kind, name, custom in self.custom_fields:
            if data.get(name):
                chosen.setdefault(kind, []).extend(indexes.filters_from_query([custom], {
                    indexes.QUERY_PREFIX + custom.key: data[name]}))
        return tuple(chosen.get("lead", ())), tuple(chosen.get("deal", ()))

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


def dashboard_custom_fields(viewer) -> list[tuple]:
    """(kind, parameter, field) for each lead and deal custom field `viewer` may see whose type makes a filter:
    `lead.cf.<key>` and `deal.cf.<key>`, the names the lists take them by through a related record."""
    from closeloop.deals.services.opportunities import DEAL_TARGET
    from closeloop.leads.services.intake import LEAD_TARGET

    from .dashboard import DEAL_PREFIX, LEAD_PREFIX

    return [(kind, f"{prefix}{indexes.QUERY_PREFIX}{custom.key}", custom)
            for kind, target, prefix in (("lead", LEAD_TARGET, LEAD_PREFIX), ("deal", DEAL_TARGET, DEAL_PREFIX))
            for custom in registry.visible_fields(target, viewer) if custom.type in FILTER_TYPES]


def _custom_choices(custom) -> list[tuple[str, str]]:
    if custom.type in (CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE):
        return [(str(option), str(option)) for option in custom.options]
    if custom.type == CustomFieldType.BOOLEAN:
        return [("1", _("Yes")), ("0", _("No"))]
    return [(str(pk), name or username) for pk, name, username in User.objects.filter(is_active=True)
            .order_by("display_name", "username").values_list("pk", "display_name", "username")]
