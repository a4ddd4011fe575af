"""The service settings: the working calendar (days, hours, holidays and 调休 working days), who hears of SLA
breaches and how new tickets are assigned (administrators, one audited save); the SLA targets per priority and
tier, and each customer's tier (administrators and the service manager, audited)."""

import re
from datetime import date, time

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User

from . import access
from .actions import ServiceAction
from .models import (
    CalendarDay,
    CustomerTier,
    RenewalWindow,
    ServiceLevel,
    ServiceSettings,
    SlaPolicy,
    TicketPriority,
)

SETTINGS_FIELDS = ["work_weekdays", "work_start", "work_end", "service_manager", "assignment_strategy",
                   "survey_expiry_days", "renewal_days"]
DAY_LINE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(.*)$")
MAX_MINUTES = 60 * 24 * 90


def parse_days(text: str, field: str) -> dict[date, str]:
    """"2026-10-01 国庆节" lines → {date: name}; a line that is not a date is refused with its number."""
    days, errors = {}, []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = DAY_LINE.match(line)
        try:
            day = date.fromisoformat(match.group(1)) if match else None
        except ValueError:
            day = None
        if day is None:
            errors.append(_("Line %(n)d is not a date like 2026-10-01: “%(line)s”.") % {"n": number, "line": line[:40]})
            continue
        days[day] = match.group(2).strip()[:50]
    if errors:
        raise ValidationFailed(errors[0], field_errors={field: errors})
    return days


WINDOW_LINE = re.compile(r"^\s*(.+?)\s+(\d{1,3})\s*$")


def parse_windows(text: str) -> dict[str, int]:
    """"软件 90" lines → {category: days}; a line without a category and days from 1 to 365 is refused."""
    windows, errors = {}, []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = WINDOW_LINE.match(line)
        if match is None or not 1 <= int(match.group(2)) <= 365 or len(match.group(1)) > 50:
            errors.append(_("Line %(n)d is not a product category and days from 1 to 365 like 软件 90: “%(line)s”.")
                          % {"n": number, "line": line[:40]})
            continue
        windows[match.group(1)] = int(match.group(2))
    if errors:
        raise ValidationFailed(errors[0], field_errors={"renewal_windows": errors})
    return windows


def windows_text() -> str:
    return "\n".join(f"{w.category} {w.days}" for w in RenewalWindow.objects.all())


def calendar_text(*, working: bool) -> str:
    return "\n".join(f"{d.day} {d.name}".strip() for d in CalendarDay.objects.filter(working=working))


def service_settings_save(*, actor: User, data: dict, holidays: str, workdays: str, renewal_windows: str | None = None,
                          channel: str = Channel.WEB) -> ServiceSettings:
    """Save the settings row and replace the calendar days (and the renewal windows by category, when given)."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the service settings."))
    errors: dict[str, list[str]] = {}
    weekdays = "".join(sorted(set(str(data.get("work_weekdays") or ""))))
    if not weekdays or not set(weekdays) <= set("1234567"):
        errors["work_weekdays"] = [_("Use the digits 1 (Monday) to 7 (Sunday), e.g. 12345.")]
    if data.get("work_start") is None or data.get("work_end") is None or data["work_start"] == data["work_end"]:
        errors["work_end"] = [_("Give working hours with an end different from the start.")]
    try:
        off = parse_days(holidays, "holidays")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        off = {}
    try:
        worked = parse_days(workdays, "workdays")
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
        worked = {}
    days = {name: data.get(name) for name in ("survey_expiry_days", "renewal_days")}  # None: unchanged
    for name, value in days.items():
        if value is not None and (not isinstance(value, int) or not 1 <= value <= 365):
            errors[name] = [_("Between 1 and 365 days.")]
    windows = None
    if renewal_windows is not None:
        try:
            windows = parse_windows(renewal_windows)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if both := sorted(set(off) & set(worked)):
        errors["workdays"] = [_("%(day)s is both a holiday and a working day.") % {"day": both[0]}]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        row, _created = ServiceSettings.objects.select_for_update().get_or_create(pk=1)
        before = snapshot(row, SETTINGS_FIELDS)
        row.work_weekdays, row.work_start, row.work_end = weekdays, data["work_start"], data["work_end"]
        row.service_manager, row.assignment_strategy = data.get("service_manager"), data.get("assignment_strategy") or "round_robin"
        for name, value in days.items():
            if value is not None:
                setattr(row, name, value)
        row.save()
        # Times of day as text: the trail keeps JSON.
        changes = {name: [str(v) if isinstance(v, time) else v for v in change]
                   for name, change in diff(before, snapshot(row, SETTINGS_FIELDS)).items()}
        old_days = calendar_text(working=False), calendar_text(working=True)
        CalendarDay.objects.all().delete()
        CalendarDay.objects.bulk_create([CalendarDay(day=d, working=False, name=name) for d, name in off.items()]
                                        + [CalendarDay(day=d, working=True, name=name) for d, name in worked.items()])
        new_days = calendar_text(working=False), calendar_text(working=True)
        if old_days[0] != new_days[0]:
            changes["holidays"] = [old_days[0], new_days[0]]
        if old_days[1] != new_days[1]:
            changes["workdays"] = [old_days[1], new_days[1]]
        if windows is not None:
            old_windows = windows_text()
            RenewalWindow.objects.all().delete()
            RenewalWindow.objects.bulk_create([RenewalWindow(category=c, days=d) for c, d in windows.items()])
            if (new_windows := windows_text()) != old_windows:
                changes["renewal_windows"] = [old_windows, new_windows]
        if changes:
            audit_record(actor=actor, channel=channel, action=ServiceAction.SETTINGS_UPDATE, target=row,
                         changes=changes)
    return row


def _policies_text() -> list[str]:
    with translation.override(settings.LANGUAGE_CODE):
        return [str(p) + f" {p.first_response_minutes}/{p.resolution_minutes}" + (" 7×24" if p.always else "")
                for p in SlaPolicy.objects.all()]


def sla_policies_save(*, actor: User, policies: list[dict], channel: str = Channel.WEB) -> list[SlaPolicy]:
    """Replace the SLA targets per priority and tier (a row with a priority; a row whose minutes are both empty is
    removed). Tickets keep the targets they were raised with. Administrators and the service manager."""
    if not access.can_manage_sla(actor):
        raise Forbidden(_("Only administrators and the service manager change the SLA targets."))
    errors: dict[str, list[str]] = {}
    rows = []
    for n, row in enumerate(policies):
        response, resolution = row.get("first_response_minutes"), row.get("resolution_minutes")
        if response is None and resolution is None:
            continue
        if row.get("priority") not in TicketPriority.values or (row.get("tier") or "") not in ["", *CustomerTier.values]:
            errors[f"policy{n}"] = [_("Choose a priority and a tier.")]
        elif not (response and resolution and 0 < response <= MAX_MINUTES and 0 < resolution <= MAX_MINUTES):
            errors[f"policy{n}"] = [_("Give both targets in minutes, more than 0.")]
        elif any(r["priority"] == row["priority"] and r["tier"] == (row.get("tier") or "") for r in rows):
            errors[f"policy{n}"] = [_("One policy per priority and tier.")]
        else:
            rows.append({"priority": row["priority"], "tier": row.get("tier") or "", "first_response_minutes": response,
                         "resolution_minutes": resolution, "always": bool(row.get("always"))})
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        settings_row, _created = ServiceSettings.objects.select_for_update().get_or_create(pk=1)
        old_policies = _policies_text()
        kept = set()
        for values in rows:
            policy, _new = SlaPolicy.objects.update_or_create(priority=values["priority"], tier=values["tier"],
                                                              defaults=values)
            kept.add(policy.pk)
        SlaPolicy.objects.exclude(pk__in=kept).delete()
        new_policies = _policies_text()
        if old_policies != new_policies:
            audit_record(actor=actor, channel=channel, action=ServiceAction.SETTINGS_UPDATE, target=settings_row,
                         changes={"policies": ["; ".join(old_policies), "; ".join(new_policies)]})
    return list(SlaPolicy.objects.all())


def customer_tier_set(*, customer, tier: str, actor: User, channel: str = Channel.WEB) -> ServiceLevel:
    """Give a customer a service tier (its new tickets take the tier's SLA targets; open ones keep theirs), audited
    on the customer. Administrators and the service manager."""
    if not access.can_manage_sla(actor):
        raise Forbidden(_("Only administrators and the service manager set a customer's service tier."))
    if tier not in CustomerTier.values:
        raise ValidationFailed(_("Choose a service tier."), field_errors={"tier": [_("Choose a service tier.")]})
    with transaction.atomic():
        level, _created = ServiceLevel.objects.select_for_update().get_or_create(customer=customer)
        old = CustomerTier.STANDARD.value if _created else level.tier
        if old != tier:
            level.tier = tier
            level.save(update_fields=["tier"])
            # The trail keeps text: the tiers' names in the site's language.
            with translation.override(settings.LANGUAGE_CODE):
                names = [str(CustomerTier(old).label), str(CustomerTier(tier).label)]
            audit_record(actor=actor, channel=channel, action=ServiceAction.TIER_SET, target=customer,
                         changes={"service_tier": names})
    return level
