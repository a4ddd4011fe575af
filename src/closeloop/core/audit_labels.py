"""Human labels for the audit trail: what an action code and a changed field are called on a timeline.

The trail stores stable codes (`lead.create`, `expected_close_date`) so it can be queried and survives a
change of language; people read the labels. Field labels come from the models' verbose names, so they are
translated wherever the models are; actions and the few keys that are not model fields are listed here.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "lead.create": _("Lead created"),
    "lead.update": _("Lead edited"),
    "lead.assign": _("Lead assigned"),
    "lead.touch": _("Submitted again (duplicate)"),
    "lead.merge": _("Leads merged into this one"),
    "lead.merged": _("Merged into another lead"),
    "lead.claim": _("Claimed from the public pool"),
    "lead.return_to_pool": _("Returned to the public pool"),
    "lead.convert": _("Converted to a deal"),
    "customer.create": _("Customer created"),
    "customer.update": _("Customer edited"),
    "customer.claim": _("Claimed from the public pool"),
    "customer.release": _("Released to the public pool"),
    "customer.return_to_pool": _("Returned to the public pool"),
    "customer.transfer": _("Customer transferred"),
    "contact.create": _("Contact added"),
    "contact.update": _("Contact edited"),
    "contact.delete": _("Contact deleted"),
    "opportunity.create": _("Deal created"),
    "opportunity.update": _("Deal edited"),
    "opportunity.stage": _("Stage changed"),
    "opportunity.transfer": _("Deal transferred"),
    "opportunity.collaborator_add": _("Collaborator added"),
    "opportunity.collaborator_remove": _("Collaborator removed"),
    "activity.log": _("Follow-up logged"),
    "comment.add": _("Comment added"),
    "handoff.request": _("Hand-off requested"),
    "handoff.accepted": _("Hand-off accepted"),
    "handoff.declined": _("Hand-off declined"),
    "handoff.done": _("Hand-off done"),
    "pipeline.create": _("Pipeline created"),
    "pipeline.update": _("Pipeline edited"),
    "stage.create": _("Stage created"),
    "stage.update": _("Stage edited"),
    "stage.delete": _("Stage deleted"),
    "lost_reason.create": _("Lost reason created"),
    "lost_reason.update": _("Lost reason edited"),
    "import.upload": _("Import uploaded"),
    "import.start": _("Import started"),
    "import.finish": _("Import finished"),
}

# Keys in `changes` that are not fields of the record they describe.
EXTRA_FIELD_LABELS = {
    "collaborators": _("collaborators"),
    "handoff": _("hand-off"),
    "opportunities": _("deals"),
    "api_token": _("API token"),
}


def action_label(action: str) -> str:
    """The label of an action code; an unknown code is shown as it is rather than hidden."""
    return str(ACTION_LABELS.get(action, action))


def _model_of(entry):
    try:
        # Served from ContentType's cache after the first lookup: no query per timeline row.
        return ContentType.objects.get_for_id(entry.target_type_id).model_class()
    except ContentType.DoesNotExist:
        return None


def _field(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(model, name: str) -> str:
    field = _field(model, name)
    if field is not None and getattr(field, "verbose_name", None):
        return str(field.verbose_name)
    return str(EXTRA_FIELD_LABELS.get(name, name.replace("_", " ")))


def _display(field, value):
    """A stored choice code shows as its label (`new` → New); everything else as stored."""
    if field is not None and getattr(field, "flatchoices", None) and value is not None:
        return str(dict(field.flatchoices).get(value, value))
    return value


def change_rows(entry) -> list[dict]:
    """`[{"field", "label", "old", "new"}]` for an entry's changes, labelled for people."""
    model = _model_of(entry)
    rows = []
    for name, change in (entry.changes or {}).items():
        old, new = (list(change) + [None, None])[:2] if isinstance(change, (list, tuple)) else (None, change)
        field = _field(model, name)
        rows.append({"field": name, "label": field_label(model, name), "old": _display(field, old),
                     "new": _display(field, new)})
    return rows
