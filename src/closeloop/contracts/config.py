"""The contract settings row: read (cached per process, like every configuration table) and saved by admins."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User
from closeloop.quotes.catalog import parse_decimal
from closeloop.quotes.numbering import pattern_problem

from .actions import ContractAction
from .models import ContractSettings

SETTINGS_FIELDS = ["number_pattern", "due_soon_days", "overdue_grace_days", "ending_soon_days", "esign_window_seconds"]
DAY_LIMITS = {"due_soon_days": 60, "overdue_grace_days": 90, "ending_soon_days": 365}


def contract_settings() -> ContractSettings:
    """The settings row, made with its defaults on first use (cached; read-only)."""
    def load():
        row, _created = ContractSettings.objects.get_or_create(pk=1)
        return row

    return configcache.cached("contracts.settings", load, models=(ContractSettings,))


def contract_settings_save(*, actor: User, data: dict, channel: str = Channel.WEB) -> ContractSettings:
    """Save what an administrator changed; an empty secret field keeps the secret (it is never shown back),
    `clear_esign_secret` removes it."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the contract settings."))
    errors: dict[str, list[str]] = {}
    values: dict = {}
    if "number_pattern" in data:
        pattern = str(data["number_pattern"] or "").strip()
        problem = pattern_problem(pattern) if pattern else "no_counter"
        if problem == "no_counter":
            errors["number_pattern"] = [_("Put a counter in the pattern, e.g. HT-{YYYY}-{NNNN}.")]
        elif problem:
            errors["number_pattern"] = [_("The numbers would be longer than 40 characters; shorten the pattern.")]
        values["number_pattern"] = pattern
    for name, limit in (*DAY_LIMITS.items(), ("esign_window_seconds", 3600)):
        if name in data:
            minimum = Decimal(30) if name == "esign_window_seconds" else Decimal(0)
            try:
                values[name] = int(parse_decimal(data[name], name, minimum=minimum, maximum=Decimal(limit), places=0))
            except ValidationFailed as exc:
                errors.update(exc.field_errors)
    secret = str(data.get("esign_secret") or "").strip()
    if secret:
        if len(secret) < 16 or len(secret) > 200:
            errors["esign_secret"] = [_("Use 16 to 200 characters, as the e-signature service gave it.")]
        values["esign_secret"] = secret
    elif data.get("clear_esign_secret"):
        values["esign_secret"] = ""
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        row, _created = ContractSettings.objects.select_for_update().get_or_create(pk=1)
        before, old_secret = snapshot(row, SETTINGS_FIELDS), row.esign_secret
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        changes = diff(before, snapshot(row, SETTINGS_FIELDS))
        if row.esign_secret != old_secret:
            # The trail says the secret changed, never what it is.
            changes["esign_secret"] = ["******" if old_secret else None, "******" if row.esign_secret else None]
        if changes:
            audit_record(actor=actor, channel=channel, action=ContractAction.SETTINGS_UPDATE, target=row,
                         changes=changes)
    return row
