"""The approval engine: who is in the chain, step by step decisions, and the rules an admin sets."""

import pytest

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import Notification, NotificationDelivery, User
from closeloop.core.services import user_save
from closeloop.quotes import approvals, catalog, services
from closeloop.quotes.models import (
    ApprovalChain,
    ApprovalOperator,
    ApprovalRequest,
    ApprovalStatus,
    QuoteStatus,
)

pytestmark = pytest.mark.django_db


def chain_of(quote):
    request = ApprovalRequest.objects.filter(target_id=quote.pk).latest("id")
    return [step.approver for step in request.steps.order_by("position")]


def test_a_deep_discount_goes_to_the_manager_then_the_director(org, director, make_quote, discount_rule):
    discount_rule("15", levels=1)
    discount_rule("30", levels=2)
    quote = make_quote(lines=[("10000", "35")])
    services.quote_submit(quote=quote, actor=org.owner)
    assert chain_of(quote) == [org.manager, director]
    request = ApprovalRequest.objects.get()
    assert {reason["threshold"] for reason in request.reasons} == {"15.00", "30.00"}
    with pytest.raises(Forbidden):
        approvals.approval_decide(request=request, actor=director, approve=True)  # not their turn yet
    approvals.approval_decide(request=request, actor=org.manager, approve=True)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING_APPROVAL
    assert Notification.objects.filter(recipient=director, kind="approval.requested").exists()
    approvals.approval_decide(request=request, actor=director, approve=True, comment="同意")
    quote.refresh_from_db()
    request.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED and request.status == ApprovalStatus.APPROVED
    with pytest.raises(Conflict):
        approvals.approval_decide(request=request, actor=director, approve=True)


def test_limits_of_typed_text_are_said_in_the_words_of_every_other_field(org, make_quote, discount_rule):
    """An approval comment, a customer's answer, a quote line: each names its limit as Django's forms do."""
    discount_rule("15", levels=1)
    quote = make_quote(lines=[("10000", "20")])
    with pytest.raises(ValidationFailed) as refused:
        services.quote_line_update(line=quote.current_version.lines.get(), actor=org.owner, data={"unit": "套" * 21})
    assert refused.value.field_errors == {"unit": ["Ensure this value has at most 20 characters (it has 21)."]}
    services.quote_submit(quote=quote, actor=org.owner)
    with pytest.raises(ValidationFailed) as refused:
        approvals.approval_decide(request=ApprovalRequest.objects.get(), actor=org.manager, approve=False,
                                  comment="太" * 501)
    assert refused.value.field_errors == {"comment": ["Ensure this value has at most 500 characters (it has 501)."]}


def test_the_line_passes_over_who_cannot_approve(org, director, make_quote, discount_rule):
    discount_rule("15", levels=2)
    user_save(actor=org.admin, user=org.manager, data={"on_leave": True})
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    assert chain_of(quote) == [director]  # the manager is on leave: the line goes on above them


def test_a_manager_quoting_for_their_rep_is_approved_by_the_next_one_up(org, director, make_quote, discount_rule):
    discount_rule("15", levels=1)
    quote = make_quote(lines=[("10000", "20")], actor=org.manager)
    services.quote_submit(quote=quote, actor=org.manager)
    assert chain_of(quote) == [director]


def test_nobody_above_means_any_administrator(org, make_quote, discount_rule):
    discount_rule("15", levels=1)
    User.objects.filter(pk=org.owner.pk).update(manager=None)
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    assert chain_of(quote) == [None]
    assert Notification.objects.filter(recipient=org.admin, kind="approval.requested").exists()
    request = ApprovalRequest.objects.get()
    assert list(approvals.inbox(org.admin)) == [request.steps.get()]
    approvals.approval_decide(request=request, actor=org.admin, approve=True)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED


def test_a_loop_in_the_reporting_line_ends_the_walk(org, director, make_quote, discount_rule):
    discount_rule("15", levels=5)
    User.objects.filter(pk=director.pk).update(manager=org.manager)  # a loop the admin pages should refuse
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    assert chain_of(quote) == [org.manager, director]


def test_named_approvers_follow_the_managers(org, presales, make_quote, discount_rule):
    discount_rule("15", levels=1)
    discount_rule("20", metric="margin_pct", operator=ApprovalOperator.BELOW, chain=ApprovalChain.APPROVERS,
                  approvers=[presales])
    quote = make_quote(lines=[("10000", "50")])  # cost 4,000 of a 5,000 sale: margin below 20%
    services.quote_submit(quote=quote, actor=org.owner)
    assert chain_of(quote) == [org.manager, presales]
    # The named approver may read what they approve, though the deal is not theirs.
    from closeloop.quotes.models import Quote

    assert Quote.objects.visible_to(presales).filter(pk=quote.pk).exists()
    assert not Quote.objects.visible_to(org.outsider).filter(pk=quote.pk).exists()


def test_a_second_round_while_one_is_open_is_a_conflict(org, make_quote, discount_rule):
    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    with pytest.raises(Conflict):
        approvals.approval_submit(kind="quote", target=quote, actor=org.owner)


def test_approval_requests_reach_email_and_the_team_robot(org, make_quote, discount_rule):
    from closeloop.core.models import GroupRobot

    GroupRobot.objects.create(name="一组群", department=org.team_a, platform="wecom",
                              webhook_url="http://127.0.0.1:9/cgi-bin/webhook/send?key=abc")
    discount_rule("15")
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    channels = set(NotificationDelivery.objects.filter(recipient=org.manager, kind="approval.requested")
                   .values_list("channel", flat=True))
    assert channels == {"email", "wecom"}


def test_rules_are_checked_when_saved(org, finance):
    with pytest.raises(ValidationFailed) as caught:
        catalog.approval_rule_save(actor=org.admin, data={
            "kind": "quote", "name": "x", "metric": "weight", "operator": "gt", "threshold": "abc",
            "chain": ApprovalChain.APPROVERS, "levels": "9"})
    assert set(caught.value.field_errors) == {"metric", "threshold", "levels", "approvers"}
    with pytest.raises(Forbidden):
        catalog.approval_rule_save(actor=org.manager, data={})


def test_an_inactive_rule_asks_for_nothing(org, make_quote, discount_rule):
    rule = discount_rule("15")
    catalog.approval_rule_save(actor=org.admin, rule=rule, data={
        "kind": "quote", "name": rule.name, "metric": rule.metric, "operator": rule.operator,
        "threshold": rule.threshold, "chain": rule.chain, "levels": rule.levels, "active": False})
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED


def test_deciding_locks_the_quote_before_its_round_as_withdrawing_does(org, make_quote, discount_rule):
    """quote_withdraw locks the quote, then the round (approval_cancel); approval_decide used to lock the round,
    then the quote (in on_decided). At the same moment on PostgreSQL each held what the other waited for. Both
    now take the record first: its row is the first the decision reads (and locks, where the database can)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    discount_rule("15", levels=1)
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    request = ApprovalRequest.objects.get()
    with CaptureQueriesContext(connection) as queries:
        approvals.approval_decide(request=request, actor=org.manager, approve=True)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    first = reads[0]
    assert '"quotes_quote"' in first.split("WHERE")[0] and "quotes_approvalrequest" not in first.split("WHERE")[0]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in first
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
