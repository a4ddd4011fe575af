"""Who may act on a record, beside who may see it: the follow-up family's services check the right to act,
so seeing a deal (as a collaborator or as the receiver of a pending hand-off) is not enough to change who
works on it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from closeloop.core.errors import Forbidden
from closeloop.deals.models import Opportunity
from closeloop.followup.models import Participant, ParticipantRole
from closeloop.followup.rights import Act, may
from closeloop.followup.services import (
    activity_log,
    comment_add,
    handoff_request,
    handoff_respond,
    participant_add,
    participant_remove,
)

NOTE = {"kind": "call", "content": "电话沟通需求"}


def _handoff(deal, org, assignee):
    return handoff_request(record=deal, assignee=assignee, title="技术评估", actor=org.owner,
                           due_at=timezone.now() + timedelta(days=2))


def test_a_pending_receiver_sees_the_deal_but_may_only_answer(org, make_deal):
    deal = make_deal()
    _handoff(deal, org, org.outsider)
    assert Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()
    for act in Act:
        assert not may(org.outsider, deal, act)
    with pytest.raises(Forbidden):
        participant_add(record=deal, user=org.teammate, role=ParticipantRole.OTHER, actor=org.outsider)
    with pytest.raises(Forbidden):
        handoff_request(record=deal, assignee=org.teammate, title="再转", actor=org.outsider,
                        due_at=timezone.now() + timedelta(days=1))
    with pytest.raises(Forbidden):
        activity_log(actor=org.outsider, record=deal, data=NOTE)
    with pytest.raises(Forbidden):
        comment_add(record=deal, actor=org.outsider, body="我先看看")
    assert not Participant.objects.for_record(deal).filter(user=org.teammate).exists()


def test_declining_a_handoff_drops_access_and_every_right(org, make_deal):
    deal = make_deal()
    handoff = _handoff(deal, org, org.outsider)
    handoff_respond(handoff=handoff, actor=org.outsider, accept=False, note="不归我管")
    assert not Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()
    assert not any(may(org.outsider, deal, act) for act in Act)


def test_a_presales_participant_follows_up_but_does_not_decide_who_takes_part(org, make_deal):
    deal = make_deal()
    handoff_respond(handoff=_handoff(deal, org, org.outsider), actor=org.outsider, accept=True)
    activity_log(actor=org.outsider, record=deal, data=NOTE)
    comment_add(record=deal, actor=org.outsider, body="评估完成")
    assert not may(org.outsider, deal, Act.EDIT)
    with pytest.raises(Forbidden):
        participant_add(record=deal, user=org.teammate, role=ParticipantRole.SALES, actor=org.outsider)
    participant_add(record=deal, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    with pytest.raises(Forbidden):
        participant_remove(record=deal, user=org.teammate, actor=org.outsider)
    assert Participant.objects.for_record(deal).filter(user=org.teammate).exists()
    # Leaving is always one's own choice.
    participant_remove(record=deal, user=org.outsider, actor=org.outsider)
    assert not Opportunity.objects.visible_to(org.outsider).filter(pk=deal.pk).exists()


def test_a_sales_participant_edits_but_does_not_manage(org, make_deal):
    deal = make_deal()
    participant_add(record=deal, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    assert may(org.teammate, deal, Act.EDIT) and may(org.teammate, deal, Act.FOLLOW_UP)
    assert not may(org.teammate, deal, Act.MANAGE)


@pytest.mark.parametrize(("who", "allowed"), [
    ("owner", True), ("manager", True), ("admin", True),
    ("teammate", False), ("outsider", False), ("other_manager", False), ("marketer", False),
])
def test_who_may_manage_a_deal(org, make_deal, who, allowed):
    deal = make_deal()
    actor = getattr(org, who)
    assert may(actor, deal, Act.MANAGE) is allowed
    if allowed:
        participant_add(record=deal, user=org.teammate, role=ParticipantRole.OTHER, actor=actor)
        participant_remove(record=deal, user=org.teammate, actor=actor)
    else:
        with pytest.raises(Forbidden):
            participant_add(record=deal, user=org.teammate, role=ParticipantRole.OTHER, actor=actor)


def test_an_inactive_owner_acts_on_nothing(org, make_deal):
    deal = make_deal()
    org.owner.is_active = False
    assert not any(may(org.owner, deal, act) for act in Act)
