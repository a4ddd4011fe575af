from django import forms
from django.utils.translation import gettext_lazy as _


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
