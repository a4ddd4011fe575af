"""Follow-up templates (跟进模板): an administrator names what a call, a visit, a meeting or a WeChat follow-up must
record (通话对象, 客户需求, 下一步 …). The log form inserts the kind's skeleton into its content, one "label：" line
per field; a log that leaves a required field empty is refused, naming every such field at once.

A field's value is what follows "label：" on its line and the lines after it, up to the next field's line, so the
record keeps one readable text (the timeline shows it as typed) and nothing else changes for the reader."""

import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import audit_record
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.inputs import text_limit_errors
from closeloop.core.models import Channel, User

from .models import TEMPLATE_KINDS, ActivityTemplate

MAX_FIELDS = 10
LABEL_MAX = 20
# A field line in the settings' text box ends with * when the field is required (as forms mark one).
REQUIRED_MARKS = ("*", "＊")
COLONS = "：:"


def templates_by_kind() -> dict[str, ActivityTemplate]:
    """Each kind's template, from the configuration cache: every log form and every `activity_log` asks, and an
    administrator changes them a few times a year (a save or delete drops the entry). Shared: read-only."""
    def load():
        return {template.kind: template for template in ActivityTemplate.objects.all()}

    return configcache.cached("followup.activity_templates", load, models=(ActivityTemplate,))


def skeleton(template: ActivityTemplate) -> str:
    """The text the log form starts from: the opening text, then one "label：" line per field."""
    lines = [template.text.strip()] if template.text.strip() else []
    return "\n".join(lines + [f"{field['label']}：" for field in template.fields])


def field_lines(template: ActivityTemplate | None) -> str:
    """The fields as the settings' text box shows them: one a line, a required one ending with *."""
    if template is None:
        return ""
    return "\n".join(field["label"] + ("*" if field["required"] else "") for field in template.fields)


def values_in(template: ActivityTemplate, content: str) -> dict[str, str]:
    """What `content` records for each of the template's fields ("" when its line is missing or empty)."""
    labels = [field["label"] for field in template.fields]
    names = "|".join(re.escape(label) for label in labels)
    starts = re.compile(rf"^\s*({names})\s*[{COLONS}]\s?(.*)$")
    values = dict.fromkeys(labels, "")
    current = None
    for line in content.splitlines():
        if match := starts.match(line):
            current = match.group(1)
            values[current] = match.group(2)
        elif current is not None:
            values[current] += "\n" + line
    return {label: value.strip() for label, value in values.items()}


def template_errors(kind: str, content: str, templates: dict | None = None) -> list[str]:
    """One message for each required field of the kind's template that `content` leaves empty."""
    if kind not in TEMPLATE_KINDS:
        return []
    templates = templates_by_kind() if templates is None else templates
    template = templates.get(kind)
    if template is None:
        return []
    values = values_in(template, content)
    return [_("The %(kind)s template asks for “%(field)s”: write it after “%(field)s：”.")
            % {"kind": template.get_kind_display(), "field": field["label"]}
            for field in template.fields if field["required"] and not values[field["label"]]]


def parse_fields(text: str) -> tuple[list[dict], list[str]]:
    """The settings' text box as fields, and what is wrong with it."""
    fields, errors, seen = [], [], set()
    for line in str(text or "").splitlines():
        label = line.strip()
        required = label.endswith(REQUIRED_MARKS)
        label = label.rstrip("".join(REQUIRED_MARKS)).strip().rstrip(COLONS).strip()
        if not label:
            continue
        if len(label) > LABEL_MAX:
            errors.append(_("“%(field)s” is longer than %(max)d characters.") % {"field": label, "max": LABEL_MAX})
        elif any(colon in label for colon in COLONS):
            errors.append(_("“%(field)s”: a field's name cannot hold a colon.") % {"field": label})
        elif label in seen:
            errors.append(_("“%(field)s” is listed twice.") % {"field": label})
        seen.add(label)
        fields.append({"label": label, "required": required})
    if len(fields) > MAX_FIELDS:
        errors.append(_("A template names at most %(max)d fields.") % {"max": MAX_FIELDS})
    return fields, errors


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator can set follow-up templates."))


def activity_template_save(*, kind: str, data: dict, actor: User, channel: str = Channel.WEB) -> ActivityTemplate | None:
    """Set the template of one kind of follow-up from the settings' fields ("fields": one a line, a required one
    ending with *; "text": the opening text). With neither, the kind has no template any more (None)."""
    _require_admin(actor)
    if kind not in TEMPLATE_KINDS:
        raise ValidationFailed(_("Choose call, visit, meeting or WeChat."), field_errors={
            "kind": [_("Choose call, visit, meeting or WeChat.")]})
    fields, field_errors = parse_fields(data.get("fields"))
    text = str(data.get("text") or "").strip()
    errors = text_limit_errors(ActivityTemplate, {"text": text})
    if field_errors:
        errors["fields"] = field_errors
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        template = ActivityTemplate.objects.select_for_update().filter(kind=kind).first()
        if not fields and not text:
            if template is not None:
                audit_record(actor=actor, channel=channel, action="activity_template.delete", target=template,
                             changes={"fields": [field_lines(template), None]})
                template.delete()
            return None
        before = {"fields": field_lines(template), "text": template.text} if template else {}
        template = template or ActivityTemplate(kind=kind)
        template.fields, template.text, template.updated_at = fields, text, timezone.now()
        template.save()
        after = {"fields": field_lines(template), "text": text}
        audit_record(actor=actor, channel=channel, action="activity_template.save", target=template,
                     changes={key: [before.get(key), value] for key, value in after.items() if before.get(key) != value})
    return template
