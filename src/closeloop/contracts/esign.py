"""The e-signature service's callback (e签宝, 法大大, 契约锁 and the like): a signing flow finished, so the contract
is signed.

Authentication: the service and Closeloop share a secret (contract settings). Each callback carries
`X-Signature-Timestamp` (Unix time in seconds or milliseconds) and `X-Signature`, the hex HMAC-SHA256 of the
timestamp's text followed by the raw body, under the secret, as e签宝's open platform signs its callbacks.
A callback whose timestamp is outside the window (5 minutes by default) is refused, so a captured one
cannot be replayed later; inside the window, the digest of timestamp and body is kept unique, so a replay
or a retry finds its first delivery and changes nothing. A second, freshly signed "completed" event for a
contract already signed is answered "already signed": the callback is idempotent either way.

Body (JSON): `{"event": "sign_flow_completed", "flow_id": "...", "contract_number": "HT-2026-0001",
"signed_at": "2026-12-06T10:00:00+08:00"}`; the providers' own event names for the same thing are accepted.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from closeloop.core.models import Channel
from closeloop.core.notify import notify

from .actions import ContractAction
from .config import contract_settings
from .models import Contract, ContractStatus, EsignEvent, SignedVia
from .services import contract_sign

TIMESTAMP_HEADER = "X-Signature-Timestamp"
SIGNATURE_HEADER = "X-Signature"
COMPLETED = {"sign_flow_completed", "SIGN_FLOW_COMPLETE", "SIGN_FLOW_FINISH", "contract_signed", "CONTRACT_SIGNED"}
STOPPED = {"sign_flow_rejected", "sign_flow_expired", "sign_flow_revoked", "SIGN_FLOW_REFUSE", "SIGN_FLOW_OVERDUE",
           "SIGN_FLOW_REVOKE", "contract_rejected"}


class SignatureRefused(DomainError):
    status = 401
    code = "signature_invalid"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature the service sends: hex HMAC-SHA256 over the timestamp's text and the raw body."""
    return hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()


def _timestamp_seconds(text: str) -> float:
    value = int(text)
    return value / 1000 if value > 10**11 else value  # milliseconds, as e签宝 sends them


def verify(*, timestamp: str, signature: str, body: bytes, now: float | None = None) -> None:
    settings = contract_settings()
    if not settings.esign_secret:
        raise SignatureRefused(_("E-signature callbacks are not set up: an administrator sets the shared secret."),
                               code="esign_not_configured")
    timestamp, signature = (timestamp or "").strip(), (signature or "").strip().lower()
    if not timestamp.isdigit() or len(timestamp) > 16 or not signature:
        raise SignatureRefused(_("Send the %(ts)s and %(sig)s headers.") % {"ts": TIMESTAMP_HEADER, "sig": SIGNATURE_HEADER})
    # The signature first: an unsigned request learns nothing, not even whether its time was right.
    if not hmac.compare_digest(sign(settings.esign_secret, timestamp, body), signature):
        raise SignatureRefused(_("The signature does not match the body."))
    now = time.time() if now is None else now
    if abs(now - _timestamp_seconds(timestamp)) > settings.esign_window_seconds:
        raise SignatureRefused(_("The callback's timestamp is outside the accepted window; it may be a replay."),
                               code="timestamp_out_of_window")


@dataclass
class CallbackResult:
    outcome: str  # "signed", "already_signed", "duplicate", "recorded", "ignored"
    contract: Contract | None


def _payload(body: bytes) -> dict:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise ValidationFailed(_("The body must be a JSON object with an “event”."), code="esign_body")
    for name in ("flow_id", "contract_number", "signed_at"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise ValidationFailed(_("“%(name)s” must be text.") % {"name": name}, code="esign_body")
    return payload


def _sign_date(payload: dict):
    moment = parse_datetime(payload.get("signed_at") or "") if payload.get("signed_at") else None
    if moment is None:
        return timezone.localdate()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return min(timezone.localdate(moment), timezone.localdate())


def _find(payload: dict) -> Contract | None:
    number, flow = (payload.get("contract_number") or "").strip(), (payload.get("flow_id") or "").strip()
    contract = Contract.objects.filter(number=number).first() if number else None
    if contract is None and flow:
        contract = Contract.objects.filter(esign_flow_id=flow).first()
    return contract


def esign_callback(*, timestamp: str, signature: str, body: bytes, now: float | None = None) -> CallbackResult:
    """Verify and apply one callback (see the module docstring); raises SignatureRefused (401), ValidationFailed
    (422), NotFound (404) or Conflict (409, a contract that was never approved)."""
    verify(timestamp=timestamp, signature=signature, body=body, now=now)
    payload = _payload(body)
    digest = hashlib.sha256(timestamp.strip().encode() + body).hexdigest()
    if (seen := EsignEvent.objects.filter(digest=digest).select_related("contract").first()) is not None:
        return CallbackResult("duplicate", seen.contract)
    contract = _find(payload)
    if contract is None:
        raise NotFound(_("No contract with this number or e-signature flow."), code="contract_unknown")
    event, flow = payload["event"], (payload.get("flow_id") or "")[:100]
    try:
        with transaction.atomic():
            contract = Contract.objects.lock(contract.pk)
            outcome = "ignored"
            if event in COMPLETED:
                if contract.status == ContractStatus.APPROVED:
                    contract = contract_sign(contract=contract, actor=None, sign_date=_sign_date(payload),
                                             via=SignedVia.ESIGN, channel=Channel.API, flow_id=flow)
                    outcome = "signed"
                elif contract.status in (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.COMPLETED):
                    outcome = "already_signed"
                else:
                    raise Conflict(_("%(contract)s is “%(status)s”, not approved: it cannot be signed.")
                                   % {"contract": contract.number, "status": contract.get_status_display()},
                                   code="contract_status")
            elif event in STOPPED:
                outcome = "recorded"
                audit_record(actor=None, channel=Channel.API, action=ContractAction.ESIGN_EVENT, target=contract,
                             note=f"{event} {flow}".strip())
                notify(recipient=contract.owner, kind="contract.changed", url=contract.get_absolute_url(),
                       message=_("The e-signature flow of %(contract)s stopped: %(event)s")
                       % {"contract": contract.number, "event": event})
            EsignEvent.objects.create(digest=digest, event=event[:50], flow_id=flow, contract=contract, outcome=outcome,
                                      payload=payload)
    except IntegrityError:
        # The same callback, delivered twice at once: the other delivery applied it.
        return CallbackResult("duplicate", contract)
    return CallbackResult(outcome, contract)


def signed_headers(secret: str, body: bytes, *, at: datetime | None = None) -> dict:
    """The headers the service would send with `body` (for tests and for checking an integration by hand)."""
    timestamp = str(int((at or timezone.now()).timestamp() * 1000))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}
