"""Writes of the insights app: the breakpoint radar's thresholds and the weekly digest's time (administrators only,
audited)."""

from datetime import time, timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import audit_record
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User

from .actions import InsightsAction
from .models import DigestSettings, RadarSettings

MAX_HOURS = 24 * 365


def radar_settings() -> RadarSettings:
    """The one settings row, through the configuration cache (a save drops it), created on first use."""
    return configcache.cached("insights.radar_settings", lambda: RadarSettings.objects.get_or_create(pk=1)[0],
                              models=(RadarSettings,))


def thresholds(kinds) -> dict:
    """Each kind's threshold (a timedelta): the administrator's, else the app's default. One query."""
    chosen = radar_settings().thresholds
    return {kind.key: timedelta(hours=chosen[kind.key]) if kind.key in chosen else kind.default_threshold
            for kind in kinds}


def radar_settings_save(*, actor: User, kinds, data: dict, channel: str = Channel.WEB) -> RadarSettings:
    """Set the thresholds from `data` ({kind key: hours as typed}); an empty value goes back to the default."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the breakpoint radar's thresholds."))
    chosen, errors = {}, {}
    for kind in kinds:
        value = str(data.get(kind.key) or "").strip()
        if not value:
            continue
        if not value.isdigit() or int(value) > MAX_HOURS:
            errors[kind.key] = [_("Give whole hours from 0 to %(max)d.") % {"max": MAX_HOURS}]
            continue
        chosen[kind.key] = int(value)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        current = RadarSettings.objects.select_for_update().get_or_create(pk=1)[0]
        old = current.thresholds
        changes = {key: [old.get(key), chosen.get(key)] for key in sorted({*old, *chosen}) if old.get(key) != chosen.get(key)}
        if changes:
            current.thresholds = chosen
            current.save(update_fields=["thresholds"])
            audit_record(actor=actor, channel=channel, action=InsightsAction.RADAR_SETTINGS, target=current,
                         changes=changes)
    return current


def digest_settings() -> DigestSettings:
    """The weekly digest's one settings row, through the configuration cache, created on first use."""
    return configcache.cached("insights.digest_settings", lambda: DigestSettings.objects.get_or_create(pk=1)[0],
                              models=(DigestSettings,))


def digest_settings_save(*, actor: User, send_at: time, channel: str = Channel.WEB) -> DigestSettings:
    """Set the time of day (site time zone) the weekly digest goes out on Mondays."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change when the weekly digest goes out."))
    with transaction.atomic():
        current = DigestSettings.objects.select_for_update().get_or_create(pk=1)[0]
        send_at = send_at.replace(second=0, microsecond=0)
        if current.send_at != send_at:
            audit_record(actor=actor, channel=channel, action=InsightsAction.DIGEST_SETTINGS, target=current,
                         changes={"send_at": [f"{current.send_at:%H:%M}", f"{send_at:%H:%M}"]})
            current.send_at = send_at
            current.save(update_fields=["send_at"])
    return current
