from django import forms
from django.utils.translation import gettext_lazy as _

from .events import groups


class WebhookSubscriptionForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=100,
                           help_text=_("The system that receives the events, e.g. 财务系统 or OA."))
    url = forms.CharField(label=_("endpoint URL"), max_length=500,
                          help_text=_("An https:// address on the internet that answers 2xx when it took the event."))
    events = forms.MultipleChoiceField(label=_("events"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "url": instance.url, "events": instance.events}
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(code, code) for _group, events in groups() for code in
                                         (event.code for event in events)]

    def event_groups(self):
        """The events by app for the checkboxes, each with whether it is ticked."""
        chosen = set(self["events"].value() or ())
        return [(group, [(event, event.code in chosen) for event in events]) for group, events in groups()]
