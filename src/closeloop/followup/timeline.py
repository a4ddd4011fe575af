"""One timeline for every record: its audit entries, activities and comments, what its app adds (a deal's
stage history), and the history of related records its app names (a deal shows the lead it came from).

Entries render through their own template (`TimelineEntry.template`), so an app's kind needs no change here.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType

from closeloop.core.models import AuditEntry

from .models import Activity, Comment
from .registry import record_type, timeline_sources_for

AUDIT, ACTIVITY, COMMENT = "audit", "activity", "comment"
OWN = frozenset({AUDIT, ACTIVITY, COMMENT})
TEMPLATES = {AUDIT: "followup/timeline/_audit.html", ACTIVITY: "followup/timeline/_activity.html",
             COMMENT: "followup/timeline/_comment.html"}
LIMIT = 200


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "audit", "activity", "comment", or an app's own ("stage")
    item: object
    template: str
    # The other record an entry is about, on a timeline that shows related records' history.
    about: object = None


def _audits(records, limit):
    by_type: dict[int, list[str]] = {}
    by_key = {}
    for record in records:
        type_id = ContentType.objects.get_for_model(record).pk
        by_type.setdefault(type_id, []).append(str(record.pk))
        by_key[(type_id, str(record.pk))] = record
    entries = []
    for type_id, ids in by_type.items():
        for entry in AuditEntry.objects.filter(target_type_id=type_id, target_id__in=ids).select_related("actor")[:limit]:
            entry.about_record = by_key[(type_id, entry.target_id)]
            entries.append(entry)
    return entries


def _rows(model, records, limit, related):
    by_model: dict[type, list] = {}
    for record in records:
        by_model.setdefault(type(record), []).append(record)
    rows = []
    for record_model, group in by_model.items():
        found = model.objects.for_records(record_model, [r.pk for r in group]).select_related(*related)[:limit]
        by_pk = {r.pk: r for r in group}
        for row in found:
            row.about_record = by_pk[row.record_id]
            rows.append(row)
    return rows


def record_timeline(record, *, viewer=None, limit: int = LIMIT) -> list[TimelineEntry]:
    """The record's timeline, newest first. `viewer` narrows related records to those they may see."""
    spec = record_type(record)
    groups = [([record], OWN)]
    if spec.timeline_related is not None:
        groups += [(list(records), frozenset(kinds)) for records, kinds in spec.timeline_related(record, viewer)]
    for source in timeline_sources_for(type(record)):
        groups += [(list(records), frozenset(kinds)) for records, kinds in source.related(record, viewer)]
    entries: list[TimelineEntry] = []
    for records, kinds in groups:
        if not records:
            continue
        about = None if records == [record] else True
        if AUDIT in kinds:
            entries += [TimelineEntry(e.created_at, AUDIT, e, TEMPLATES[AUDIT], e.about_record if about else None)
                        for e in _audits(records, limit)]
        if ACTIVITY in kinds:
            entries += [TimelineEntry(a.created_at, ACTIVITY, a, TEMPLATES[ACTIVITY], a.about_record if about else None)
                        for a in _rows(Activity, records, limit, ["actor"])]
        if COMMENT in kinds:
            entries += [TimelineEntry(c.created_at, COMMENT, c, TEMPLATES[COMMENT], c.about_record if about else None)
                        for c in _rows(Comment, records, limit, ["author"])]
    if spec.timeline_entries is not None:
        entries += list(spec.timeline_entries(record, viewer))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
