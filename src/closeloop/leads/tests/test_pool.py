import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from closeloop.core.errors import Conflict, ValidationFailed
from closeloop.core.models import AuditEntry, Channel, Notification, SummaryItem
from closeloop.followup.models import Activity, ActivityKind, Task, TaskStatus
from closeloop.leads.models import Lead, LeadStatus, PoolEvent
from closeloop.leads.pool import lead_claim, mask_email, mask_phone, pool_sweep_run
from closeloop.leads.quality import PoolEventKind
from closeloop.leads.rule_services import quality_settings_update
from closeloop.leads.services.intake import lead_submit
from closeloop.leads.tasks import pool_sweep

DAY = timedelta(days=1)


def pool_lead(org, n=0):
    """A good lead that no rule assigns: it lands in the pool."""
    return lead_submit(data={"company_name": f"成都天成{n}电子有限公司", "contact_name": "周杰", "mobile": f"1380013{n:04d}",
                             "email": f"zhou{n}@tiancheng.cn", "need": "需要CRM", "budget": "200000",
                             "source": "展会"}, channel=Channel.API, actor=org.admin).lead


def owned(make_lead, owner, *, days_ago):
    lead = make_lead(owner=owner, need="x")
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - timedelta(days=days_ago))
    return Lead.objects.get(pk=lead.pk)


def test_masks_keep_the_ends_only():
    assert mask_phone("13812348000") == "138****8000"
    assert mask_phone("+8613812348000") == "+86****8000"
    assert mask_email("wang.wei@example.com") == "w***@example.com"


def test_a_claim_takes_the_lead_audits_it_and_starts_the_sla(org):
    lead = pool_lead(org)
    assert lead.in_pool and lead.owner is None
    lead = lead_claim(lead=lead, actor=org.owner)
    assert lead.owner == org.owner and not lead.in_pool and lead.status == LeadStatus.ASSIGNED
    assert AuditEntry.objects.for_object(lead).filter(action="lead.claim", actor=org.owner).exists()
    assert Task.objects.get(lead=lead).owner == org.owner
    with pytest.raises(Conflict):
        lead_claim(lead=lead, actor=org.teammate)


def test_the_claim_cap_counts_open_leads(org, make_lead):
    quality_settings_update(data={"max_open_leads_per_rep": 2}, actor=org.admin)
    make_lead(owner=org.owner, need="x")
    closed = make_lead(owner=org.owner, need="x")
    Lead.objects.filter(pk=closed.pk).update(status=LeadStatus.CONVERTED)
    lead_claim(lead=pool_lead(org, 1), actor=org.owner)
    with pytest.raises(ValidationFailed) as excinfo:
        lead_claim(lead=pool_lead(org, 2), actor=org.owner)
    assert excinfo.value.code == "claim_cap" and "2" in excinfo.value.message


def test_the_daily_claim_cap(org):
    quality_settings_update(data={"max_claims_per_day": 1}, actor=org.admin)
    lead_claim(lead=pool_lead(org, 1), actor=org.owner)
    with pytest.raises(ValidationFailed) as excinfo:
        lead_claim(lead=pool_lead(org, 2), actor=org.owner)
    assert excinfo.value.code == "daily_claim_cap"
    PoolEvent.objects.filter(kind=PoolEventKind.CLAIM).update(created_at=timezone.now() - 2 * DAY)
    lead_claim(lead=pool_lead(org, 2), actor=org.owner)


def test_the_previous_owner_waits_for_the_cool_down(org, make_lead):
    quality_settings_update(data={"reclaim_cooldown_days": 3}, actor=org.admin)
    lead = owned(make_lead, org.owner, days_ago=20)
    assert pool_sweep_run().returned == 1
    with pytest.raises(ValidationFailed) as excinfo:
        lead_claim(lead=lead, actor=org.owner)
    assert excinfo.value.code == "reclaim_cooldown"
    lead_claim(lead=lead, actor=org.teammate)  # anyone else may take it at once


def test_the_previous_owner_may_reclaim_after_the_cool_down(org, make_lead):
    lead = owned(make_lead, org.owner, days_ago=20)
    pool_sweep_run()
    PoolEvent.objects.filter(kind=PoolEventKind.RETURN).update(created_at=timezone.now() - 8 * DAY)
    assert lead_claim(lead=lead, actor=org.owner).owner == org.owner


def test_only_sales_staff_claim(org):
    from closeloop.core.errors import Forbidden

    with pytest.raises(Forbidden):
        lead_claim(lead=pool_lead(org), actor=org.marketer)


def test_the_sweep_warns_once_then_returns_once(org, make_lead, django_capture_on_commit_callbacks):
    stale = owned(make_lead, org.owner, days_ago=14.5)  # default: back after 15 days without follow-up
    fresh = owned(make_lead, org.owner, days_ago=3)
    Activity.objects.create(record=fresh, kind=ActivityKind.CALL, actor=org.owner)
    with django_capture_on_commit_callbacks(execute=True):
        first = pool_sweep_run()
        second = pool_sweep_run()
    assert (first.warned, first.returned, second.warned, second.returned) == (1, 0, 0, 0)
    assert Notification.objects.filter(recipient=org.owner, kind="pool.warning").count() == 1
    later = timezone.now() + DAY
    with django_capture_on_commit_callbacks(execute=True):
        third = pool_sweep_run(now=later)
        fourth = pool_sweep_run(now=later + timedelta(hours=1))
    assert (third.returned, fourth.returned, third.warned, fourth.warned) == (1, 0, 0, 0)
    stale = Lead.objects.get(pk=stale.pk)
    assert stale.in_pool and stale.owner is None and stale.status == LeadStatus.NEW
    assert Lead.objects.get(pk=fresh.pk).owner == org.owner
    assert PoolEvent.objects.filter(lead=stale, kind=PoolEventKind.RETURN).count() == 1
    assert PoolEvent.objects.filter(lead=stale, kind=PoolEventKind.WARNING).count() == 1
    entry = AuditEntry.objects.for_object(stale).get(action="lead.return_to_pool")
    assert entry.channel == Channel.SYSTEM and entry.actor is None
    assert Task.objects.get(lead=stale).status == TaskStatus.CANCELLED
    assert SummaryItem.objects.filter(recipient=org.owner, kind="pool.returned").count() == 1  # the summary's
    assert Notification.objects.filter(kind="pool.warning").count() == 1


def test_a_late_sweep_returns_without_a_pointless_warning(org, make_lead):
    lead = owned(make_lead, org.owner, days_ago=30)
    result = pool_sweep_run()
    assert (result.returned, result.warned) == (1, 0)
    assert Lead.objects.get(pk=lead.pk).in_pool
    assert pool_sweep_run().returned == 0


def test_a_follow_up_by_the_owner_resets_the_clock_and_a_touch_does_not(org, make_lead):
    followed = owned(make_lead, org.owner, days_ago=20)
    touched = owned(make_lead, org.owner, days_ago=20)
    Activity.objects.create(record=followed, kind=ActivityKind.VISIT, actor=org.owner)
    Activity.objects.create(record=touched, kind=ActivityKind.TOUCH, channel=Channel.FORM)
    pool_sweep_run()
    assert Lead.objects.get(pk=followed.pk).owner == org.owner
    assert Lead.objects.get(pk=touched.pk).in_pool


def test_unqualified_leads_return_after_m_days_even_with_follow_ups(org, make_lead):
    quality_settings_update(data={"return_after_days_unqualified": 30}, actor=org.admin)
    lead = owned(make_lead, org.owner, days_ago=31)
    qualified = owned(make_lead, org.owner, days_ago=31)
    Lead.objects.filter(pk=qualified.pk).update(status=LeadStatus.QUALIFIED)
    for item in (lead, qualified):
        Activity.objects.create(record=item, kind=ActivityKind.CALL, actor=org.owner)
    assert pool_sweep_run().returned == 1
    assert PoolEvent.objects.get(kind=PoolEventKind.RETURN).reason == "not_qualified"
    assert Lead.objects.get(pk=qualified.pk).owner == org.owner


def test_the_sweep_is_a_registered_background_task(org, make_lead):
    from closeloop.core.schedule import SWEEPS

    assert "leads.pool_sweep" in SWEEPS
    owned(make_lead, org.owner, days_ago=20)
    assert pool_sweep.call() == {"returned": 1, "warned": 0}


def test_a_disabled_pool_returns_nothing(org, make_lead):
    quality_settings_update(data={"pool_enabled": False}, actor=org.admin)
    owned(make_lead, org.owner, days_ago=40)
    assert pool_sweep_run().returned == 0


@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_at_once_exactly_one_wins(org):
    lead = pool_lead(org)
    barrier = threading.Barrier(2)
    outcomes = {}

    def claim(user):
        try:
            barrier.wait(timeout=10)
            lead_claim(lead=lead, actor=user)
            outcomes[user.username] = "won"
        except Conflict as exc:
            outcomes[user.username] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(user,)) for user in (org.owner, org.teammate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values())[-1] == "won"
    assert list(outcomes.values()).count("won") == 1
    loser = next(v for v in outcomes.values() if v != "won")
    assert "Someone else claimed this lead" in loser
    winner = Lead.objects.get(pk=lead.pk).owner.username
    assert outcomes[winner] == "won"
    assert PoolEvent.objects.filter(kind=PoolEventKind.CLAIM).count() == 1
    assert AuditEntry.objects.filter(action="lead.claim").count() == 1


def _bearer(user):
    from closeloop.core.services import api_token_create

    raw, _token = api_token_create(user=user, name="t", actor=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(("who", "sees"), [("owner", True), ("teammate", True), ("manager", True),
                                           ("outsider", True), ("marketer", False)])
def test_the_api_lists_the_pool_masked_to_sales_staff(client, org, who, sees):
    lead = pool_lead(org)
    response = client.get("/api/leads/pool", **_bearer(getattr(org, who)))
    if not sees:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    (item,) = response.json()["items"]
    assert item["id"] == lead.pk and item["company_name"] == lead.company_name
    assert item["mobile"] == mask_phone(lead.mobile) and lead.mobile not in response.content.decode()
    assert item["email"] == mask_email(lead.email)


def test_the_api_claims_under_the_same_rules_and_audits_the_channel(client, org):
    lead = pool_lead(org)
    response = client.post(f"/api/leads/{lead.pk}/claim", **_bearer(org.outsider))
    assert response.status_code == 200
    assert response.json()["mobile"] == lead.mobile  # claimed: the details are theirs to see now
    assert Lead.objects.get(pk=lead.pk).owner == org.outsider
    assert AuditEntry.objects.get(action="lead.claim", target_id=str(lead.pk)).channel == Channel.API
    # Gone from the pool: a second claim finds nothing to claim, and the new owner is told it is theirs.
    again = client.post(f"/api/leads/{lead.pk}/claim", **_bearer(org.owner))
    assert again.status_code == 404
    mine = client.post(f"/api/leads/{lead.pk}/claim", **_bearer(org.outsider))
    assert mine.status_code == 409 and mine.json()["code"] == "already_yours"
    # A marketer is not sales staff; the pool does not exist for them.
    other = pool_lead(org, 1)
    assert client.post(f"/api/leads/{other.pk}/claim", **_bearer(org.marketer)).status_code == 404


def test_the_api_reports_a_cap_with_its_code(client, org):
    quality_settings_update(data={"max_claims_per_day": 1}, actor=org.admin)
    first, second = pool_lead(org), pool_lead(org, 1)
    assert client.post(f"/api/leads/{first.pk}/claim", **_bearer(org.owner)).status_code == 200
    response = client.post(f"/api/leads/{second.pk}/claim", **_bearer(org.owner))
    assert response.status_code == 422 and response.json()["code"] == "daily_claim_cap"


def test_a_nurture_lead_nobody_re_checks_returns_to_the_pool(org):
    lead = lead_submit(data={"company_name": "苏州远景机械制造有限公司", "contact_name": "王伟", "mobile": "13800138000",
                             "source": "官网"}, channel=Channel.API, actor=org.admin).lead
    assert lead.status == LeadStatus.NURTURE and lead.owner is not None
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=16))
    assert pool_sweep_run().returned == 1
    lead.refresh_from_db()
    assert lead.in_pool and lead.owner is None and lead.status == LeadStatus.NEW
    assert PoolEvent.objects.for_record(lead).filter(kind=PoolEventKind.RETURN, reason="not_rechecked").exists()
    # Kept in time, it stays where it is.
    kept = lead_submit(data={"company_name": "杭州远景机械有限公司", "contact_name": "李雷", "mobile": "13800138009",
                             "source": "官网"}, channel=Channel.API, actor=org.admin).lead
    assert pool_sweep_run().returned == 0
    kept.refresh_from_db()
    assert kept.status == LeadStatus.NURTURE and not kept.in_pool


def test_the_owner_releases_a_lead_to_the_pool_as_the_sweep_returns_one(org, make_lead):
    from closeloop.leads.loads import open_loads
    from closeloop.leads.pool import lead_release

    quality_settings_update(data={"reclaim_cooldown_days": 3}, actor=org.admin)
    lead = make_lead(owner=org.owner, need="x")
    held = open_loads([org.owner.pk]).get(org.owner.pk, 0)
    assert Task.objects.for_record(lead).filter(status=TaskStatus.OPEN).exists()
    with pytest.raises(ValidationFailed) as excinfo:
        lead_release(lead=lead, reason="  ", actor=org.owner)
    assert "reason" in excinfo.value.field_errors
    with pytest.raises(ValidationFailed):
        lead_release(lead=lead, reason="x" * 301, actor=org.owner)

    released = lead_release(lead=lead, reason="联系不上，号码停机", actor=org.owner)
    assert (released.owner_id, released.in_pool, released.status) == (None, True, LeadStatus.NEW)
    assert released.pooled_at is not None and released.next_follow_up_at is None
    # The counters the triggers keep: the owner holds one open lead fewer.
    assert open_loads([org.owner.pk]).get(org.owner.pk, 0) == held - 1
    assert not Task.objects.for_record(lead).filter(status=TaskStatus.OPEN).exists()
    event = PoolEvent.objects.for_record(lead).get(kind=PoolEventKind.RETURN)
    assert (event.user_id, event.reason) == (org.owner.pk, "released")
    entry = AuditEntry.objects.for_object(lead).filter(action="lead.release").get()
    assert entry.actor == org.owner and entry.note == "联系不上，号码停机"
    assert entry.changes["owner"] == [str(org.owner), None] and entry.changes["in_pool"] == [False, True]
    # Releasing and claiming back does not restart the clock: the cool-down of a return holds.
    with pytest.raises(ValidationFailed) as excinfo:
        lead_claim(lead=released, actor=org.owner)
    assert excinfo.value.code == "reclaim_cooldown"
    lead_claim(lead=released, actor=org.teammate)


def test_only_the_owners_side_releases_an_open_lead(org, make_lead):
    from closeloop.core.errors import Forbidden
    from closeloop.leads.pool import lead_release

    lead = make_lead(owner=org.owner, source="展会")
    for someone in (org.marketer, org.teammate, org.other_manager):
        with pytest.raises(Forbidden):
            lead_release(lead=lead, reason="不要了", actor=someone)
    assert Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk
    assert lead_release(lead=lead, reason="团队调整", actor=org.manager).in_pool
    converted = make_lead(owner=org.owner)
    Lead.objects.filter(pk=converted.pk).update(status=LeadStatus.CONVERTED)
    with pytest.raises(Conflict) as excinfo:
        lead_release(lead=converted, reason="不要了", actor=org.owner)
    assert excinfo.value.code == "not_open"


@pytest.mark.parametrize("language, button, done", [("zh-CN", "退回公海", "已退回公海"),
                                                      ("en", "Return to pool", "returned to the public pool")])
def test_the_lead_page_offers_the_release_with_a_reason(client, org, make_lead, language, button, done):
    lead = make_lead(owner=org.owner, source="展会")
    client.force_login(org.marketer)
    page = client.get(f"/leads/{lead.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f"/leads/{lead.pk}/release/" not in page
    client.force_login(org.owner)
    page = client.get(f"/leads/{lead.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'action="/leads/{lead.pk}/release/"' in page and button in page and "data-confirm=" in page
    response = client.post(f"/leads/{lead.pk}/release/", {"reason": ""}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302 and Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk
    response = client.post(f"/leads/{lead.pk}/release/", {"reason": "预算取消"}, HTTP_ACCEPT_LANGUAGE=language,
                           follow=True)
    assert Lead.objects.get(pk=lead.pk).in_pool and done in response.content.decode()


def test_the_api_releases_a_lead_and_answers_it_masked(client, org, make_lead):
    from closeloop.core.services import api_token_create

    lead = make_lead(owner=org.owner, mobile="13812348000")
    auth = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(user=org.owner, name="t", actor=None)[0]}
    response = client.post(f"/api/leads/{lead.pk}/release", {"reason": "不再跟进"}, content_type="application/json",
                           **auth)
    assert response.status_code == 200 and response.json()["mobile"] == "138****8000"
    assert AuditEntry.objects.for_object(lead).filter(action="lead.release", channel=Channel.API).exists()


# --- returning many leads at once (the lead list's 批量退回公海) -----------------------------------------------

def test_a_bulk_return_releases_each_lead_it_may_and_names_the_rest(org, make_lead):
    from closeloop.followup.models import ParticipantRole
    from closeloop.followup.services import participant_add
    from closeloop.leads.pool import leads_release

    quality_settings_update(data={"reclaim_cooldown_days": 3}, actor=org.admin)
    mine = [make_lead(owner=org.owner, need="x") for _ in range(3)]
    # The owner works on a teammate's lead as a collaborator: sees it, may not give it away.
    theirs = make_lead(owner=org.teammate)
    participant_add(record=theirs, user=org.owner, role=ParticipantRole.SALES, actor=org.admin)
    converted = make_lead(owner=org.owner)
    Lead.objects.filter(pk=converted.pk).update(status=LeadStatus.CONVERTED)

    outcome = leads_release(leads=[*mine, theirs, converted], reason="展会名单，联系不上", actor=org.owner)
    assert [lead.pk for lead in outcome.released] == [lead.pk for lead in mine]
    assert [lead.pk for lead in outcome.refused] == [theirs.pk]
    assert [lead.pk for lead in outcome.not_open] == [converted.pk]
    for lead in mine:
        # Each as the one release does it: in the pool as new, its tasks cancelled, the ledger's return row (the
        # owner's cool-down), one audit entry with the reason.
        lead.refresh_from_db()
        assert (lead.owner_id, lead.in_pool, lead.status) == (None, True, LeadStatus.NEW)
        assert not Task.objects.for_record(lead).filter(status=TaskStatus.OPEN).exists()
        event = PoolEvent.objects.for_record(lead).get(kind=PoolEventKind.RETURN)
        assert (event.user_id, event.reason) == (org.owner.pk, "released")
        entry = AuditEntry.objects.for_object(lead).filter(action="lead.release").get()
        assert entry.actor == org.owner and entry.note == "展会名单，联系不上"
    assert Lead.objects.get(pk=theirs.pk).owner_id == org.teammate.pk
    assert Lead.objects.get(pk=converted.pk).status == LeadStatus.CONVERTED
    assert not AuditEntry.objects.for_object(theirs).filter(action="lead.release").exists()
    with pytest.raises(ValidationFailed, match=""):
        lead_claim(lead=mine[0], actor=org.owner)  # released and claimed back: the cool-down holds

    # Asked again, the same leads are in the pool now: not open, nothing written twice.
    again = leads_release(leads=mine, reason="再退一次", actor=org.manager)
    assert again.released == [] and len(again.not_open) == 3
    assert AuditEntry.objects.filter(action="lead.release").count() == 3


def test_a_bulk_return_is_one_transaction(org, make_lead, monkeypatch):
    from closeloop.leads import pool
    from closeloop.leads.pool import leads_release

    leads = [make_lead(owner=org.owner) for _ in range(3)]
    moved = []
    real = pool._to_pool

    def failing_on_the_third(lead, **kwargs):
        if len(moved) == 2:
            raise RuntimeError("the database went away")
        moved.append(lead.pk)
        return real(lead, **kwargs)

    monkeypatch.setattr(pool, "_to_pool", failing_on_the_third)
    with pytest.raises(RuntimeError):
        leads_release(leads=leads, reason="联系不上", actor=org.owner)
    assert len(moved) == 2
    assert set(Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("owner_id", flat=True)) == {
        org.owner.pk}
    assert not AuditEntry.objects.filter(action="lead.release").exists()
    assert not PoolEvent.objects.filter(kind=PoolEventKind.RETURN).exists()


def test_a_bulk_return_needs_a_reason_and_some_leads_and_is_bounded(org, make_lead):
    from closeloop.leads.models import LIST_BULK_MAX
    from closeloop.leads.pool import leads_release

    lead = make_lead(owner=org.owner)
    for reason in ("", "  ", "x" * 301):
        with pytest.raises(ValidationFailed) as excinfo:
            leads_release(leads=[lead], reason=reason, actor=org.owner)
        assert "reason" in excinfo.value.field_errors
    with pytest.raises(ValidationFailed) as excinfo:
        leads_release(leads=[], reason="联系不上", actor=org.owner)
    assert "leads" in excinfo.value.field_errors
    too_many = [Lead(pk=n) for n in range(1, LIST_BULK_MAX + 2)]
    with pytest.raises(ValidationFailed) as excinfo:
        leads_release(leads=too_many, reason="联系不上", actor=org.owner)
    assert f"{LIST_BULK_MAX}" in excinfo.value.field_errors["leads"][0]
    assert Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk


@pytest.mark.parametrize("language, done, partial, refused, unseen, not_open", [
    ("zh-hans", "已将 2 条线索退回公海。", "4 条线索中已有 1 条退回公海。", "2 条您无权退回：", "1 条您无权查看",
     "1 条已结束跟进或已在公海："),
    ("en", "2 leads returned to the public pool.", "1 of 4 leads returned to the public pool.",
     "2 you may not release: ", "1 you cannot see", "1 not open or already in the pool: "),
])
def test_the_list_returns_ticked_leads_and_says_what_it_did_not(client, org, make_lead, language, done, partial,
                                                                 refused, unseen, not_open):
    from closeloop.followup.models import ParticipantRole
    from closeloop.followup.services import participant_add

    mine = [make_lead(owner=org.owner) for _ in range(3)]
    client.force_login(org.owner)
    page = client.get("/leads/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'formaction="/leads/release/"' in page and 'name="return_reason"' in page and "data-confirm=" in page
    response = client.post("/leads/release/", {"leads": [mine[0].pk, mine[1].pk], "return_reason": "联系不上",
                                               "next": "/leads/?owner=me"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302 and response.url == "/leads/?owner=me"
    assert client.get("/leads/", HTTP_ACCEPT_LANGUAGE=language).content.decode().count(done) == 1
    assert Lead.objects.filter(pk__in=[mine[0].pk, mine[1].pk], in_pool=True).count() == 2

    # One returned; a teammate's lead the owner helps on (named), one they cannot see (counted: a lead they just
    # returned is out of their sight too), one converted.
    theirs = make_lead(owner=org.teammate, company_name="南京协作科技有限公司")
    participant_add(record=theirs, user=org.owner, role=ParticipantRole.SALES, actor=org.admin)
    hidden = make_lead(owner=org.outsider)
    converted = make_lead(owner=org.owner, company_name="无锡已转化科技有限公司")
    Lead.objects.filter(pk=converted.pk).update(status=LeadStatus.CONVERTED)
    response = client.post("/leads/release/", {"leads": [mine[2].pk, theirs.pk, hidden.pk, converted.pk],
                                               "return_reason": "联系不上"}, HTTP_ACCEPT_LANGUAGE=language,
                           follow=True)
    text = response.content.decode()
    assert partial in text and refused + str(theirs) + "、" + unseen in text and not_open + str(converted) in text
    assert str(hidden) not in text
    assert Lead.objects.get(pk=mine[2].pk).in_pool and Lead.objects.get(pk=theirs.pk).owner_id == org.teammate.pk
    assert Lead.objects.get(pk=hidden.pk).owner_id == org.outsider.pk

    # No reason: nothing happens and the answer says why.
    lead = make_lead(owner=org.owner)
    text = client.post("/leads/release/", {"leads": [lead.pk], "return_reason": " "}, HTTP_ACCEPT_LANGUAGE=language,
                       follow=True).content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == org.owner.pk
    assert ("请说明将该线索退回公海的原因。" if language == "zh-hans" else "Say why the lead goes back to the pool.") in text


def test_the_list_offers_the_bulk_return_to_the_owners_side_only_and_bounds_it(client, org, make_lead):
    from closeloop.leads.models import LIST_BULK_MAX

    make_lead(owner=org.owner, source="展会")
    client.force_login(org.marketer)
    assert 'name="return_reason"' not in client.get("/leads/").content.decode()
    for who in (org.owner, org.manager, org.admin):
        client.force_login(who)
        assert 'name="return_reason"' in client.get("/leads/").content.decode()
    leads = [make_lead(owner=org.owner) for _ in range(2)]
    ids = [lead.pk for lead in leads] + list(range(10_000_000, 10_000_000 + LIST_BULK_MAX))
    for url, data in (("/leads/release/", {"return_reason": "联系不上"}),
                      ("/leads/assign/", {"owner": org.teammate.pk})):
        text = client.post(url, {"leads": ids, **data}, follow=True).content.decode()
        assert f"Tick at most {LIST_BULK_MAX} leads at a time; {LIST_BULK_MAX + 2} were ticked." in text
        assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {org.owner.pk}
