"""The approval engine (审批): one mechanism for every record that needs a sign-off — quotes now, contracts next.

A record type takes part by registering an `ApprovalKind` (in its AppConfig.ready()): the measures an admin
can set thresholds on, how to read them from a record, whose reporting line approves, the deal it belongs
to, and what happens to the record when the round ends. Then its services call:

- `approval_reasons(kind=..., target=...)`: which active rules the record crosses (empty: no approval needed);
- `approval_submit(kind=..., target=..., actor=...)`: opens a round with the chain of approvers, or returns
  None when no rule is crossed; the first approver is notified (in the app, by email, to team robots);
- `approval_decide(request=..., actor=..., approve=..., comment=...)`: the current approver decides; the next
  step opens, or the round ends and the kind's `on_decided(target, request, actor, channel)` runs in the transaction;
- `approval_cancel(request=..., actor=..., reason=...)`: the record changed or was withdrawn.

The chain: for each crossed rule with chain "managers", the owner's manager and up the reporting line
(`levels` deep, the deepest crossed rule wins); named approvers of crossed rules follow, in rule order. People
on leave, inactive, or the submitter themselves are passed over (the line goes on above them). When nobody
is left, one step for any administrator. Every step is audited on the record itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core import configcache
from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.inputs import check_text_limits
from closeloop.core.models import Channel, Role, User
from closeloop.core.notify import notify

from .actions import QuoteAction
from .models import (
    ApprovalChain,
    ApprovalOperator,
    ApprovalRequest,
    ApprovalRule,
    ApprovalRuleApprover,
    ApprovalStatus,
    ApprovalStep,
    StepStatus,
)


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any
    unit: str  # "%" or "¥": how thresholds and values are shown


@dataclass(frozen=True)
class ApprovalKind:
    key: str  # "quote", "contract"
    label: Any
    model: str  # "quotes.Quote"
    metrics: tuple[Metric, ...]
    measure: Callable[[Any], dict[str, Decimal | None]]
    owner: Callable[[Any], User]  # whose reporting line approves
    opportunity: Callable[[Any], Any]  # the deal the record belongs to, or None
    title: Callable[[Any], str]  # what approvers read: "BJ-2026-0001 v2 · 云帆CRM项目 · ¥120,000.00"
    url: Callable[[Any], str]
    # The round ended (request.status says how); runs in the deciding transaction with (target, request, actor, channel).
    on_decided: Callable[[Any, ApprovalRequest, User, str], None]

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)


KINDS: dict[str, ApprovalKind] = {}


def register_kind(kind: ApprovalKind) -> None:
    KINDS[kind.key] = kind


def get_kind(key: str) -> ApprovalKind:
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(f"unknown approval kind {key!r}") from None


def target_of(request: ApprovalRequest, *, lock: bool = False):
    kind = get_kind(request.kind)
    records = apps.get_model(kind.model)._default_manager
    return (records.select_for_update() if lock else records).get(pk=request.target_id)


# ---------------------------------------------------------------------------------------------------
# Rules


def active_rules(kind: str) -> list[ApprovalRule]:
    """The active rules of a record type with their named approvers (cached; read-only)."""
    def load():
        rules = list(ApprovalRule.objects.filter(kind=kind, active=True).prefetch_related("approver_links__user"))
        for rule in rules:
            rule.approver_list = [link.user for link in rule.approver_links.all()]
        return rules

    return configcache.cached(f"approvals.rules.{kind}", load, models=(ApprovalRule, ApprovalRuleApprover))


def crosses(rule: ApprovalRule, value: Decimal | None) -> bool:
    if value is None:
        return False
    return value > rule.threshold if rule.operator == ApprovalOperator.ABOVE else value < rule.threshold


def approval_reasons(*, kind: str, target) -> list[dict]:
    """The rules `target` crosses, as JSON-safe rows kept on the request."""
    values = get_kind(kind).measure(target)
    return [
        {"rule": rule.pk, "name": rule.name, "metric": rule.metric, "operator": rule.operator,
         "threshold": str(rule.threshold), "value": str(values.get(rule.metric))}
        for rule in active_rules(kind) if crosses(rule, values.get(rule.metric))
    ]


def reason_text(kind: str, reason: dict) -> str:
    """“Discount off list 25.00% above 15.00%” in the reader's language."""
    metric = get_kind(kind).metric(reason["metric"]) if kind in KINDS else None
    label = str(metric.label) if metric else reason["metric"]
    unit = metric.unit if metric else ""

    def shown(value: str) -> str:
        return f"{value}%" if unit == "%" else f"¥{Decimal(value):,.2f}" if unit == "¥" else value

    operator = str(ApprovalOperator(reason["operator"]).label)
    return f"{label} {shown(reason['value'])} {operator} {shown(reason['threshold'])}"


def rule_problem(*, kind: str, metric: str, chain: str, approvers: list) -> dict:
    """Field errors of a rule an admin is saving (empty when it is fine)."""
    errors = {}
    if kind not in KINDS:
        errors["kind"] = [_("Choose a record type.")]
    elif get_kind(kind).metric(metric) is None:
        errors["metric"] = [_("Choose a measure of this record type.")]
    if chain == ApprovalChain.APPROVERS and not approvers:
        errors["approvers"] = [_("Name at least one approver.")]
    return errors


# ---------------------------------------------------------------------------------------------------
# The chain


def _can_approve(user: User | None) -> bool:
    return user is not None and user.is_active and not user.on_leave


def manager_chain(owner: User, levels: int, *, submitter: User | None = None) -> list[User]:
    """Up to `levels` people up the owner's reporting line, passing over whoever cannot approve."""
    chain: list[User] = []
    seen = {owner.pk}
    person = owner
    while len(chain) < levels:
        person = User.objects.filter(pk=person.manager_id).first() if person.manager_id else None
        if person is None or person.pk in seen:  # the top of the line, or a loop in it
            break
        seen.add(person.pk)
        if _can_approve(person) and (submitter is None or person.pk != submitter.pk):
            chain.append(person)
    return chain


def approvers_for(*, kind: str, reasons: list[dict], owner: User, submitter: User) -> list[User | None]:
    """The ordered approvers for the crossed rules; [None] (any administrator) when nobody can approve."""
    crossed = {reason["rule"] for reason in reasons}
    rules = [rule for rule in active_rules(kind) if rule.pk in crossed]
    levels = max((rule.levels for rule in rules if rule.chain == ApprovalChain.MANAGERS), default=0)
    people = manager_chain(owner, levels, submitter=submitter) if levels else []
    for rule in rules:
        if rule.chain == ApprovalChain.APPROVERS:
            people.extend(user for user in rule.approver_list if _can_approve(user) and user.pk != submitter.pk)
    unique = list({person.pk: person for person in people}.values())
    return unique or [None]


# ---------------------------------------------------------------------------------------------------
# Writes


def _notify_approver(request: ApprovalRequest, step: ApprovalStep) -> None:
    reasons = "; ".join(reason_text(request.kind, r) for r in request.reasons)
    recipients = [step.approver] if step.approver else User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True),
                                                                          is_active=True)
    for recipient in recipients:
        notify(recipient=recipient, kind="approval.requested", url=request.url,
               key=f"approval:{request.pk}:{step.pk}",
               message=_("%(who)s asks you to approve %(what)s (%(why)s)")
               % {"who": request.submitted_by, "what": request.title, "why": reasons})


def approval_submit(*, kind: str, target, actor: User, channel: str = Channel.WEB, note: str = "") -> ApprovalRequest | None:
    """Open an approval round for `target`, or return None when it crosses no rule. Runs inside the caller's
    transaction (the record's own submit); a second open round for the same record is a Conflict."""
    approval_kind = get_kind(kind)
    reasons = approval_reasons(kind=kind, target=target)
    if not reasons:
        return None
    now = timezone.now()
    with transaction.atomic():
        approvers = approvers_for(kind=kind, reasons=reasons, owner=approval_kind.owner(target), submitter=actor)
        try:
            with transaction.atomic():
                request = ApprovalRequest.objects.create(
                    kind=kind, target_id=target.pk, title=approval_kind.title(target)[:300],
                    url=approval_kind.url(target), opportunity=approval_kind.opportunity(target), reasons=reasons,
                    submitted_by=actor, submitted_at=now, note=note[:500],
                )
        except IntegrityError:
            raise Conflict(_("This record is already waiting for approval."), code="approval_pending") from None
        steps = ApprovalStep.objects.bulk_create([
            ApprovalStep(request=request, position=position, approver=approver,
                         status=StepStatus.PENDING if position == 0 else StepStatus.WAITING,
                         activated_at=now if position == 0 else None)
            for position, approver in enumerate(approvers)
        ])
        chain = " → ".join(str(a) if a else str(gettext_lazy("any administrator")) for a in approvers)
        audit_record(target=target, actor=actor, channel=channel, action=QuoteAction.APPROVAL_SUBMIT,
                     changes={"approvers": [None, chain]},
                     note="; ".join(reason_text(kind, reason) for reason in reasons))
        _notify_approver(request, steps[0])
    return request


def may_decide(user: User, step: ApprovalStep | None) -> bool:
    """The step's approver decides; administrators may decide any step (recorded as theirs)."""
    if step is None or user is None or not user.is_authenticated:
        return False
    return step.approver_id == user.pk or user.is_admin


def approval_decide(*, request: ApprovalRequest, actor: User, approve: bool, comment: str = "",
                    channel: str = Channel.WEB) -> ApprovalRequest:
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"comment": [_("Say why you reject it; the submitter reads this.")]})
    check_text_limits(ApprovalStep, {"comment": comment})
    kind = get_kind(request.kind)
    with transaction.atomic():
        # The record before its round, the order its own services take (a quote's or contract's withdraw locks
        # the record, then cancels the round): taken the other way, a withdraw and the last approval at the
        # same moment would each hold the lock the other waits for (a deadlock on PostgreSQL).
        target = target_of(request, lock=True)
        request = ApprovalRequest.objects.select_for_update().select_related("submitted_by").get(pk=request.pk)
        if request.status != ApprovalStatus.PENDING:
            raise Conflict(_("This approval was already decided or withdrawn."), code="approval_closed")
        steps = list(request.steps.select_for_update().order_by("position", "id"))
        step = next((s for s in steps if s.status == StepStatus.PENDING), None)
        if not may_decide(actor, step):
            raise Forbidden(_("This approval is waiting for someone else."))
        now = timezone.now()
        step.status = StepStatus.APPROVED if approve else StepStatus.REJECTED
        step.comment, step.decided_by, step.decided_at = comment, actor, now
        step.save(update_fields=["status", "comment", "decided_by", "decided_at"])
        following = [s for s in steps if s.position > step.position and s.status == StepStatus.WAITING]
        audit_record(target=target, actor=actor, channel=channel,
                     action=QuoteAction.APPROVAL_APPROVE if approve else QuoteAction.APPROVAL_REJECT, note=comment)
        if approve and following:
            nxt = following[0]
            nxt.status, nxt.activated_at = StepStatus.PENDING, now
            nxt.save(update_fields=["status", "activated_at"])
            _notify_approver(request, nxt)
            return request
        for rest in following:
            rest.status = StepStatus.SKIPPED
            rest.save(update_fields=["status"])
        request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        request.decided_at = now
        request.save(update_fields=["status", "decided_at"])
        kind.on_decided(target, request, actor, channel)
        message = (_("%(who)s approved %(what)s") if approve else _("%(who)s rejected %(what)s: %(comment)s")) % {
            "who": actor, "what": request.title, "comment": comment}
        for recipient in {u.pk: u for u in (request.submitted_by, kind.owner(target)) if u.pk != actor.pk}.values():
            notify(recipient=recipient, kind="approval.decided", message=message, url=request.url)
    return request


def approval_cancel(*, request: ApprovalRequest, actor: User, reason: str = "", channel: str = Channel.WEB) -> None:
    """End a pending round without a decision (the record was withdrawn or changed). The record's service checks
    that `actor` may do this; approvers waiting on it are told."""
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ApprovalStatus.PENDING:
            return
        waiting = list(request.steps.filter(status=StepStatus.PENDING).select_related("approver"))
        request.steps.filter(status__in=[StepStatus.PENDING, StepStatus.WAITING]).update(status=StepStatus.SKIPPED)
        request.status, request.decided_at = ApprovalStatus.CANCELLED, timezone.now()
        request.save(update_fields=["status", "decided_at"])
        audit_record(target=target_of(request), actor=actor, channel=channel, action=QuoteAction.APPROVAL_CANCEL,
                     note=reason[:300])
        for step in waiting:
            if step.approver and step.approver_id != actor.pk:
                notify(recipient=step.approver, kind="approval.decided", url=request.url,
                       message=_("%(who)s withdrew %(what)s; nothing to approve any more")
                       % {"who": actor, "what": request.title})


# ---------------------------------------------------------------------------------------------------
# Reads


def pending_request(kind: str, target_id: int) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(kind=kind, target_id=target_id, status=ApprovalStatus.PENDING).first()


def requests_for(kind: str, target_id: int):
    """Every round of a record, newest first, with steps and people loaded."""
    return (ApprovalRequest.objects.filter(kind=kind, target_id=target_id)
            .select_related("submitted_by").prefetch_related("steps__approver", "steps__decided_by"))


def inbox(user: User):
    """The steps waiting for `user`'s decision, oldest first (administrators also get the unassigned ones)."""
    steps = ApprovalStep.objects.filter(status=StepStatus.PENDING, request__status=ApprovalStatus.PENDING)
    if user.is_admin:
        steps = steps.filter(approver__isnull=True) | steps.filter(approver=user)
    else:
        steps = steps.filter(approver=user)
    return steps.select_related("request", "request__submitted_by").order_by("activated_at", "id")


def due_at(step: ApprovalStep) -> datetime:
    """When the approver should have decided: CLOSELOOP_APPROVAL_DUE_HOURS after the step reached them."""
    return step.activated_at + timedelta(hours=settings.CLOSELOOP_APPROVAL_DUE_HOURS)


def approvals_today(user: User, now: datetime) -> list:
    """The Today page's approvals: every step waiting for the user's decision, the overdue ones first."""
    from closeloop.followup.today import TODAY_LIMIT, TodayItem

    items = []
    for step in inbox(user)[:TODAY_LIMIT]:
        request = step.request
        due = due_at(step)
        note = "; ".join(reason_text(request.kind, reason) for reason in request.reasons)
        items.append(TodayItem("approval", request, due, due < now, note=note))
    return sorted(items, key=lambda item: (not item.overdue, item.due_at))


def approvals_due(now: datetime):
    """The reminder sweep's approvals: steps past their due time, to their approver (a step for any
    administrator has no one person to remind; it stays on every administrator's Today page)."""
    from closeloop.followup.reminders import LOOKBACK_DAYS, Due

    activated_by = now - timedelta(hours=settings.CLOSELOOP_APPROVAL_DUE_HOURS)
    steps = (ApprovalStep.objects.filter(status=StepStatus.PENDING, request__status=ApprovalStatus.PENDING,
                                         approver__isnull=False, activated_at__lte=activated_by,
                                         activated_at__gte=activated_by - timedelta(days=LOOKBACK_DAYS))
             .select_related("request", "approver__manager"))
    for step in steps.iterator(chunk_size=500):
        yield Due(step.request, APPROVAL_REMINDER, due_at(step), step.approver,
                  _("%(what)s has waited for approval since %(since)s.")
                  % {"since": timezone.localtime(step.activated_at).strftime("%Y-%m-%d %H:%M"),
                     "what": step.request.title})


APPROVAL_REMINDER = "approval"
