"""Satisfaction surveys (满意度): sent when a ticket is resolved or a delivery accepted, answered once through a
public link, and a low score turned into call-back tasks for the account owner and the service manager.

The survey is written in the transaction of the event that asks for it (the ticket's move, the acceptance) with its
audit entry on the ticket or delivery, so the customer's timeline shows it; the mail leaves from the worker after
commit, by the same path as the replies on a ticket. A customer without an email address still gets a survey: the
ticket or delivery page shows its link for colleagues to pass on (WeChat, SMS).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record
from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.inputs import text_limit_errors
from closeloop.core.models import Channel
from closeloop.core.notify import absolute_url, notify
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import participant_ensure, task_open

from .actions import ServiceAction
from .models import Delivery, Survey, Ticket, is_low_score
from .sla import service_managers, service_settings
from .tasks import customer_mail

LOW_SCORE_TASK = "survey_low_score"
# How long the account owner and the service manager have to call an unhappy customer back: the same day, so the
# call-back is on their Today page at once.
CALL_BACK_WITHIN = timedelta(hours=4)


def survey_url(survey: Survey) -> str:
    return absolute_url(reverse("survey_public", args=[survey.key]))


def _address(customer, contact=None, *first) -> str:
    """The first address given, else the contact's, else the customer's first contact with one (primary first)."""
    for address in (*first, contact.email if contact else ""):
        if address:
            return address
    return customer.contacts.exclude(email="").order_by("-is_primary", "id").values_list("email", flat=True).first() or ""


def _ticket_address(ticket: Ticket) -> str:
    return _address(ticket.customer, ticket.contact, ticket.requester_email)


def _title(subject) -> str:
    if isinstance(subject, Ticket):
        return f"[{subject.number}] {subject.title}"
    return f"{subject.contract.number} {subject.title}"


def survey_for_ticket(ticket: Ticket, *, channel: str = Channel.WEB) -> Survey | None:
    """The survey of a ticket just resolved (inside the move's transaction); none if it had one already (a ticket
    reopened and resolved again is asked once)."""
    return _send(subject=ticket, customer=ticket.customer, product_id=ticket.product_id, channel=channel,
                 email=_ticket_address(ticket))


def survey_for_delivery(delivery: Delivery, *, channel: str = Channel.WEB) -> Survey | None:
    """The survey of a delivery just accepted (inside the acceptance's transaction). Its product is the contract's
    largest line with one."""
    product_id = (delivery.contract.lines.exclude(product=None).order_by("-amount_incl_tax", "position")
                  .values_list("product_id", flat=True).first())
    return _send(subject=delivery, customer=delivery.customer, product_id=product_id, channel=channel,
                 email=_address(delivery.customer))


def _send(*, subject, customer, product_id, channel, email) -> Survey | None:
    field = "ticket" if isinstance(subject, Ticket) else "delivery"
    if Survey.objects.filter(**{field: subject}).exists():
        return None
    now, days = timezone.now(), service_settings().survey_expiry_days
    survey = Survey.objects.create(
        customer=customer, owner_id=customer.owner_id, product_id=product_id, email=email[:200], sent_at=now,
        expires_at=now + timedelta(days=days), **{field: subject})
    audit_record(actor=None, channel=channel, action=ServiceAction.SURVEY_SEND, target=subject,
                 changes={"survey": [None, email or _("no email address: pass the link on")]})
    _mail(survey, subject, days)
    return survey


def _mail(survey: Survey, subject, days: int) -> None:
    """The survey's mail, after commit, when there is an address to send it to."""
    email = survey.email
    if not email:
        return
    url, title = survey_url(survey), _title(subject)
    # In the site's language, whoever's request resolved the ticket: the customer reads it.
    with translation.override(settings.LANGUAGE_CODE):
        mail_subject = _("How did we do? %(title)s") % {"title": title}
        body = _("Hello,\n\nThank you for working with us on %(title)s. Would you tell us in one minute how it "
                 "went? Your answer goes straight to the people who served you.\n\n%(url)s\n\nThe link stays "
                 "open for %(days)d days.") % {"title": title, "url": url, "days": days}
    transaction.on_commit(lambda: customer_mail.enqueue(email, mail_subject, body))


def survey_resend(*, survey: Survey, actor, channel: str = Channel.WEB) -> Survey:
    """Send an unanswered survey again (the breakpoint radar's mend for a survey nobody answered): the same link,
    open again for the configured days from now, mailed to the address the customer has now. Whoever may work the
    ticket or delivery may resend it."""
    from . import access

    with transaction.atomic():
        # Lock the survey row only: PostgreSQL refuses FOR UPDATE on the nullable side of the outer joins.
        survey = (Survey.objects.select_for_update(of=("self",))
                  .select_related("ticket__customer", "ticket__contact", "delivery__contract", "customer")
                  .get(pk=survey.pk))
        subject = survey.subject
        allowed = (access.can_work_ticket(actor, subject) if isinstance(subject, Ticket)
                   else access.can_run(actor, subject))
        if not allowed:
            raise Forbidden(_("Only who may work the ticket or delivery can send its survey again."))
        if survey.answered_at is not None:
            raise Conflict(_("This survey was answered already. Thank you!"), code="survey_answered")
        now, days = timezone.now(), service_settings().survey_expiry_days
        email = (_ticket_address(subject) if isinstance(subject, Ticket) else _address(survey.customer))[:200]
        Survey.objects.filter(pk=survey.pk).update(sent_at=now, expires_at=now + timedelta(days=days), email=email,
                                                  updated_at=now)
        survey.sent_at, survey.expires_at, survey.email = now, now + timedelta(days=days), email
        audit_record(actor=actor, channel=channel, action=ServiceAction.SURVEY_RESEND, target=subject,
                     changes={"survey": [None, email or _("no email address: pass the link on")]})
        _mail(survey, subject, days)
    return survey


def _score(value, field: str, low: int, high: int, errors: dict) -> int | None:
    try:
        score = int(str(value).strip())
    except (TypeError, ValueError):
        score = None
    if score is None or not low <= score <= high:
        errors[field] = [_("Choose a score from %(low)d to %(high)d.") % {"low": low, "high": high}]
        return None
    return score


def survey_answer(*, survey: Survey, csat, nps, comment: str = "", channel: str = Channel.FORM) -> Survey:
    """The customer's answer through their link: CSAT 1–5, NPS 0–10, an optional comment.

    Counted once: the UPDATE itself requires the survey unanswered and open, so of two submits at the same moment
    the database lets one through and the other is told it was answered already (409 `survey_answered`)."""
    errors: dict[str, list[str]] = {}
    csat = _score(csat, "csat", 1, 5, errors)
    nps = _score(nps, "nps", 0, 10, errors)
    comment = (comment or "").strip()
    errors.update(text_limit_errors(Survey, {"comment": comment}))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    now = timezone.now()
    with transaction.atomic():
        counted = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True, expires_at__gt=now).update(
            answered_at=now, csat=csat, nps=nps, comment=comment, updated_at=now)
        if not counted:
            survey.refresh_from_db()
            if survey.answered_at is not None:
                raise Conflict(_("This survey was answered already. Thank you!"), code="survey_answered")
            raise Conflict(_("This survey has expired."), code="survey_expired")
        survey.answered_at, survey.csat, survey.nps, survey.comment = now, csat, nps, comment
        subject = (Survey.objects.select_related("ticket", "delivery", "customer__owner").get(pk=survey.pk)).subject
        audit_record(actor=None, channel=channel, action=ServiceAction.SURVEY_ANSWER, target=subject,
                     changes={"csat": [None, csat], "nps": [None, nps]}, note=comment[:500])
        if is_low_score(csat, nps):
            _call_back(survey, subject, now)
    return survey


def _call_back(survey: Survey, subject, now) -> None:
    """A low score opens a call-back task for the account owner and for the service manager (the administrators
    when none is set), on the ticket or delivery, which each of them takes part in from now on."""
    customer = subject.customer
    people = {u.pk: u for u in service_managers()}
    if customer.owner is not None and customer.owner.is_active:
        people = {customer.owner.pk: customer.owner, **people}
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Unhappy customer (CSAT %(csat)d, NPS %(nps)d): call back") % {"csat": survey.csat, "nps": survey.nps}
        message = _("%(customer)s gave a low score on %(subject)s (CSAT %(csat)d, NPS %(nps)d). Call them back.") % {
            "customer": customer.name, "subject": subject, "csat": survey.csat, "nps": survey.nps}
    for user in people.values():
        if user.pk != subject.owner_id:
            # They may not be in the ticket's or delivery's people yet; the task is theirs to close by a follow-up.
            participant_ensure(record=subject, user=user, role=ParticipantRole.OTHER)
        task_open(record=subject, owner=user, kind=LOW_SCORE_TASK, due_at=now + CALL_BACK_WITHIN, title=title[:200],
                  take_over=False)
        notify(recipient=user, kind="survey.low_score", url=subject.get_absolute_url(), message=message,
               key=f"survey-low:{survey.pk}")
