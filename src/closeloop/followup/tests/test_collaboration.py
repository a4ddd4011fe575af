"""Participants, hand-offs and comments on any record: who they let see it, who may answer, who hears."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from closeloop.core.errors import Conflict, Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Notification, SummaryItem
from closeloop.deals.models import Customer, Opportunity
from closeloop.followup.models import HandoffStatus, Participant
from closeloop.followup.services import (
    comment_add,
    handoff_complete,
    handoff_request,
    handoff_respond,
    participant_add,
    participant_remove,
)
from closeloop.leads.models import Lead


def test_handoff_must_be_confirmed_by_the_receiver(org, make_deal, django_capture_on_commit_callbacks):
    deal = make_deal()
    due = timezone.now() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = handoff_request(record=deal, assignee=org.outsider, title="技术评估", due_at=due,
                                           actor=org.owner)
    assert Notification.objects.filter(recipient=org.outsider, kind="handoff.request").exists()
    # The receiver sees the deal while the request is open.
    assert Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()
    with pytest.raises(Forbidden):
        handoff_respond(handoff=handoff, actor=org.owner, accept=True)
    with pytest.raises(ValidationFailed):
        handoff_respond(handoff=handoff, actor=org.outsider, accept=False)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = handoff_respond(handoff=handoff, actor=org.outsider, accept=True, note="周三前给结论")
    assert handoff.status == HandoffStatus.ACCEPTED
    assert Participant.objects.for_record(deal).filter(user=org.outsider, role="presales").exists()
    assert Notification.objects.filter(recipient=org.owner, kind="handoff.accepted").exists()
    assert AuditEntry.objects.for_object(deal).filter(action="handoff.accepted", actor=org.outsider).exists()
    with pytest.raises(Conflict):
        handoff_respond(handoff=handoff, actor=org.outsider, accept=False, note="x")
    assert handoff_complete(handoff=handoff, actor=org.outsider).status == HandoffStatus.DONE


def test_a_declined_handoff_takes_the_deal_away_again(org, make_deal):
    deal = make_deal()
    handoff = handoff_request(record=deal, assignee=org.outsider, title="评估",
                                       due_at=timezone.now() + timedelta(days=1), actor=org.owner)
    handoff_respond(handoff=handoff, actor=org.outsider, accept=False, note="不是我负责")
    assert not Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()


def test_the_answer_names_the_record_and_says_why(org, make_deal):
    # A rep who asked pre-sales for "技术评估" on three deals must tell from the notification which was answered.
    deals = [make_deal(name=f"商机{n}") for n in range(2)]
    due = timezone.now() + timedelta(days=1)
    declined, accepted = (handoff_request(record=deal, assignee=org.outsider, title="技术评估", due_at=due,
                                          actor=org.owner) for deal in deals)
    handoff_respond(handoff=declined, actor=org.outsider, accept=False, note="不是我负责")
    handoff_respond(handoff=accepted, actor=org.outsider, accept=True)
    handoff_complete(handoff=accepted, actor=org.outsider)
    messages = {n.kind: n.message for n in Notification.objects.filter(recipient=org.owner)}
    assert messages["handoff.declined"] == f"outsider declined: 技术评估 ({deals[0]}): “不是我负责”"
    assert messages["handoff.accepted"] == f"outsider accepted: 技术评估 ({deals[1]})"
    summary = SummaryItem.objects.get(recipient=org.owner, kind="handoff.done")  # done: in the morning summary
    assert summary.message == f"outsider finished: 技术评估 ({deals[1]})"


def test_mentions_notify_only_people_who_can_see_the_deal(org, make_deal, django_capture_on_commit_callbacks):
    deal = make_deal()
    with django_capture_on_commit_callbacks(execute=True):
        _comment, unreachable = comment_add(record=deal, actor=org.owner,
                                                     body="@manager 请看一下报价 @outsider @nobody")
    assert Notification.objects.filter(recipient=org.manager, kind="comment.mention").exists()
    assert not Notification.objects.filter(recipient=org.outsider).exists()
    assert unreachable == [org.outsider]


def test_collaborator_sees_deal_and_customer(org, make_deal):
    deal = make_deal()
    participant_add(record=deal, user=org.outsider, role="finance", actor=org.owner)
    assert Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()
    assert Customer.objects.visible_to(org.outsider).filter(pk=deal.customer_id).exists()
    participant_remove(record=deal, user=org.outsider, actor=org.owner)
    assert not Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()


def test_rows_checked_one_by_one_against_their_record_are_the_visible_ones(org, make_deal, make_lead):
    """`visible_row_by_row` (an EXISTS per row, for rows narrowed to a few) lets through exactly what `visible_to`
    does: hand-offs on a deal, a lead and a customer, from the owner's team and from the outsider's."""
    from closeloop.followup.models import Handoff

    due = timezone.now() + timedelta(days=2)
    mine, theirs = make_deal(), make_deal(owner=org.outsider)
    for record, actor in ((mine, org.owner), (theirs, org.outsider), (make_lead(), org.owner),
                          (make_lead(owner=org.outsider), org.outsider), (mine.customer, org.owner)):
        handoff_request(record=record, assignee=org.teammate, title="评估", due_at=due, actor=actor)
    participant_add(record=theirs, user=org.owner, role="sales", actor=org.admin)  # the owner sees it too
    for user in (org.owner, org.teammate, org.manager, org.other_manager, org.outsider, org.admin, org.marketer):
        expected = set(Handoff.objects.visible_to(user).values_list("pk", flat=True))
        assert set(Handoff.objects.visible_row_by_row(user).values_list("pk", flat=True)) == expected, user
    assert Handoff.objects.visible_row_by_row(org.other_manager).count() == 2
    assert Handoff.objects.visible_row_by_row(org.owner).count() == 4  # not the outsider's lead
    # Rows narrowed to one kind of record are checked against that kind only, and none against nothing.
    leads = Handoff.objects.filter(record_type=ContentType.objects.get_for_model(Lead))
    for user in (org.owner, org.manager, org.other_manager, org.outsider):
        expected = set(leads.visible_to(user).values_list("pk", flat=True))
        assert set(leads.visible_row_by_row(user).values_list("pk", flat=True)) == expected, user
    assert not Handoff.objects.filter(pk__lt=0).visible_row_by_row(org.manager).exists()


def test_the_people_to_hand_a_deal_to_are_named_with_their_role(org):
    from django.utils import translation

    from closeloop.core.models import Role, User
    from closeloop.followup.forms import HandoffForm, ParticipantForm

    User.objects.create_user("sun", "sun@example.com", "pw", role=Role.PRESALES, display_name="孙工")
    with translation.override("zh-hans"):
        for form, name in ((HandoffForm(), "assignee"), (ParticipantForm(), "user")):
            labels = [str(label) for _value, label in form.fields[name].choices]
            assert "孙工 · 售前" in labels, labels
