"""Tags on leads, customers and deals (and any followed-up record): an administrator defines them, a person who may
edit a record sets its tags, a lead list sets one on many at once; every change is audited on the record."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.inputs import check_text_limits
from closeloop.core.models import Channel, User

from .models import Tag, TagColor, TagLink
from .rights import Act, may, require

# Past a handful a tag stops saying anything about a record.
MAX_TAGS_PER_RECORD = 5


def tags_of(records) -> dict[int, list[Tag]]:
    """The tags of each of `records` (of one model), by pk, in one query: a list's chips."""
    records = list(records)
    if not records:
        return {}
    found: dict[int, list[Tag]] = {}
    links = TagLink.objects.for_records(type(records[0]), [r.pk for r in records]).select_related("tag")
    for link in links.order_by("tag__name"):
        found.setdefault(link.record_id, []).append(link.tag)
    return found


def attach_tags(records) -> None:
    """Set `record.tag_list` on each of `records` (a list page's rows), in one query."""
    found = tags_of(records)
    for record in records:
        record.tag_list = found.get(record.pk, [])


def with_tag(queryset, tag_id):
    """`queryset` narrowed to the records carrying the tag (an unknown id narrows to nothing)."""
    try:
        tag_id = int(tag_id)
    except (TypeError, ValueError):
        return queryset.none()
    record_type = ContentType.objects.get_for_model(queryset.model)
    return queryset.filter(pk__in=TagLink.objects.filter(record_type=record_type, tag_id=tag_id).values("record_id"))


def record_tags_set(*, record, tags, actor: User, channel: str = Channel.WEB) -> bool:
    """Make `tags` the record's tags; True when they changed."""
    require(actor, record, Act.EDIT)
    tags = sorted(set(tags), key=lambda tag: tag.name)
    if len(tags) > MAX_TAGS_PER_RECORD:
        raise ValidationFailed(_("A record carries at most %(count)d tags.") % {"count": MAX_TAGS_PER_RECORD},
                               field_errors={"tags": [_("Choose at most %(count)d tags.") % {
                                   "count": MAX_TAGS_PER_RECORD}]})
    with transaction.atomic():
        current = {link.tag for link in TagLink.objects.for_record(record).select_related("tag")}
        if current == set(tags):
            return False
        TagLink.objects.for_record(record).exclude(tag__in=tags).delete()
        for tag in set(tags) - current:
            link = TagLink(tag=tag)
            link.set_record(record)
            link.save()
        audit_record(actor=actor, channel=channel, action="tags.set", target=record,
                     changes={"tags": [sorted(t.name for t in current), [t.name for t in tags]]})
    return True


def records_tag_add(*, records, tag: Tag, actor: User, channel: str = Channel.WEB) -> int:
    """Put `tag` on each of `records` the actor may edit and that has room for it; returns how many gained it."""
    added = 0
    with transaction.atomic():
        for record in records:
            if not may(actor, record, Act.EDIT):
                continue
            current = sorted(link.tag for link in TagLink.objects.for_record(record).select_related("tag"))
            if tag in current or len(current) >= MAX_TAGS_PER_RECORD:
                continue
            link = TagLink(tag=tag)
            link.set_record(record)
            link.save()
            audit_record(actor=actor, channel=channel, action="tags.set", target=record,
                         changes={"tags": [[t.name for t in current], sorted([t.name for t in current] + [tag.name])]})
            added += 1
    return added


def tag_save(*, tag: Tag | None = None, data: dict, actor: User, channel: str = Channel.WEB) -> Tag:
    """Define a tag or change its name or color: administrators only."""
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator can define tags."))
    name = str(data.get("name") or "").strip()
    color = data.get("color") or TagColor.GREY
    errors = {}
    if not name:
        errors["name"] = [_("Name the tag.")]
    elif Tag.objects.filter(name__iexact=name).exclude(pk=tag.pk if tag else None).exists():
        errors["name"] = [_("A tag with this name exists.")]
    if color not in TagColor.values:
        errors["color"] = [_("Choose one of the colors.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    check_text_limits(Tag, {"name": name})
    with transaction.atomic():
        before = {"name": tag.name, "color": tag.color} if tag else {}
        tag = tag or Tag()
        tag.name, tag.color = name, color
        tag.save()
        after = {"name": name, "color": color}
        audit_record(actor=actor, channel=channel, action="tag.save", target=tag,
                     changes={key: [before.get(key), value] for key, value in after.items() if before.get(key) != value})
    return tag


def tag_delete(*, tag: Tag, actor: User, channel: str = Channel.WEB) -> None:
    """Remove a tag from the list and from every record carrying it: administrators only."""
    if not actor.is_admin:
        raise Forbidden(_("Only an administrator can define tags."))
    with transaction.atomic():
        audit_record(actor=actor, channel=channel, action="tag.delete", target=tag,
                     note=_("%(name)s, on %(count)d records") % {"name": tag.name, "count": tag.links.count()})
        tag.delete()
