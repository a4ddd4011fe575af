"""Pages: conversion, board moves with gates (HTMX and plain form), follow-ups, Today, and pinned query counts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.deals.models import LostReason, Opportunity
from closeloop.deals.services.customers import contact_create
from closeloop.leads.models import LeadStatus


def test_it_converts_a_lead_from_its_page(client, org, qualified_lead):
    lead = qualified_lead()
    client.force_login(org.owner)
    assert "Convert to deal" in client.get(lead.get_absolute_url()).content.decode()
    response = client.post(reverse("deals:convert", args=[lead.pk]), {"opportunity_name": "华东CRM", "amount": "¥120,000"})
    deal = Opportunity.objects.get()
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert deal.name == "华东CRM" and str(deal.amount) == "120000.00"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    body = client.get(deal.get_absolute_url()).content.decode()
    assert "lead.create" in body and "华东CRM" in body


def test_conversion_of_an_unqualified_lead_explains_why(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    response = client.post(reverse("deals:convert", args=[lead.pk]), {})
    assert response.status_code == 200 and "Only a qualified lead can be converted" in response.content.decode()


def test_gate_blocks_a_card_move_and_offers_the_missing_fields(client, org, make_deal, stages):
    deal = make_deal()
    client.force_login(org.owner)
    board = reverse("deals:board")
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["方案报价"].pk, "next": board})
    body = response.content.decode()
    assert response.status_code == 200 and 'name="budget"' in body and 'name="amount"' in body and 'name="need"' in body
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stages["方案报价"].pk, "next": board, "need": "CRM", "budget": "300000", "amount": "250000"})
    assert response.status_code == 302 and response["Location"] == board
    deal.refresh_from_db()
    assert deal.stage == stages["方案报价"]


def test_gate_over_htmx_answers_with_the_small_form(client, org, make_deal, stages):
    deal = make_deal(need="x")
    client.force_login(org.owner)
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["输单"].pk}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="gate-form"' in body and 'name="lost_reason"' in body
    assert "<html" not in body
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["需求确认"].pk, "next": "/deals/board/"},
                           HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/deals/board/"


def test_api_obeys_the_gate(client, org, make_deal, stages, api_auth):
    deal = make_deal()
    auth = api_auth(org.owner)
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stages["方案报价"].pk},
                           content_type="application/json", **auth)
    assert response.status_code == 422
    assert response.json()["code"] == "stage_gate"
    assert set(response.json()["details"]["missing"]) == {"need", "budget", "amount"}
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stages["方案报价"].pk, "need": "CRM",
                                                          "budget": "300000", "amount": "250000.5"},
                           content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["stage"] == "方案报价"
    assert response.json()["amount"] == "250000.50"


def test_api_converts_and_refuses_twice(client, org, qualified_lead, api_auth):
    lead = qualified_lead()
    auth = api_auth(org.owner)
    response = client.post(f"/api/deals/convert/{lead.pk}", {"amount": "5000"}, content_type="application/json", **auth)
    assert response.status_code == 201 and response.json()["customer_created"] is True
    response = client.post(f"/api/deals/convert/{lead.pk}", {}, content_type="application/json", **auth)
    assert response.status_code == 409


def test_api_customer_duplicate_is_a_409_naming_the_owner(client, org, make_customer, api_auth):
    make_customer(name="深圳重复客户有限公司")
    response = client.post("/api/deals/customers", {"name": "深圳重复客户有限公司"}, content_type="application/json",
                           **api_auth(org.teammate))
    assert response.status_code == 409 and "owner" in response.json()["message"]


def test_home_stays_the_lead_list_for_other_roles(client, org):
    client.force_login(org.marketer)
    assert client.get("/")["Location"] == reverse("leads:list")


def test_customer_create_duplicate_links_only_when_visible(client, org, make_customer):
    make_customer(owner=org.outsider, name="南京重复有限公司")
    client.force_login(org.owner)
    response = client.post(reverse("deals:customer_create"), {"name": "南京重复有限公司"})
    body = response.content.decode()
    assert "already a customer, owned by outsider" in body and "Open the existing customer" not in body


def test_admin_edits_a_stage_gate_in_the_app(client, org, stages):
    stage = stages["需求确认"]
    client.force_login(org.admin)
    response = client.post(reverse("deals:stage_edit", args=[stage.pipeline_id, stage.pk]), {
        "name": stage.name, "position": stage.position, "probability": 35, "required_fields": ["need", "budget"],
        "stale_after_days": 10})
    assert response.status_code == 302
    stage.refresh_from_db()
    assert stage.required_fields == ["need", "budget"] and stage.probability == 35
    response = client.post(reverse("deals:lost_reason_create"), {"name": "招标失败", "position": 9, "active": "on"})
    assert response.status_code == 302


@pytest.fixture
def many_deals(org, make_deal, make_customer):
    customer = make_customer()
    for n in range(30):
        owner = org.owner if n % 2 else org.teammate
        make_deal(owner=owner, customer=customer if owner == org.owner else None, amount=str(1000 + n))


@pytest.mark.parametrize("who", ["owner", "manager", "admin"])
def test_list_query_count_is_pinned(client, org, many_deals, who, django_assert_max_num_queries):
    client.force_login(getattr(org, who))
    # + the rep and team filters' choices for a manager or an administrator (two queries)
    # + the tags: the filter's choices and the rows' chips (two queries)
    # + the saved views' menu (one query, however many views: core/savedviews)
    with django_assert_max_num_queries(13):
        response = client.get(reverse("deals:list"))
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["owner", "manager", "admin"])
def test_board_query_count_is_pinned(client, org, many_deals, who, django_assert_max_num_queries):
    client.force_login(getattr(org, who))
    # session + user + pipelines + default pipeline + stages + totals + one per non-empty stage
    # + the rep and team filters' choices for a manager or an administrator (two queries)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("deals:board"))
    assert response.status_code == 200


def test_api_handoff_transfer_and_comment(client, org, make_deal, api_auth, django_capture_on_commit_callbacks):
    deal = make_deal()
    due = (timezone.now() + timedelta(days=2)).isoformat()
    response = client.post(f"/api/deals/{deal.pk}/handoffs", {"assignee": "outsider", "title": "技术评估", "due_at": due},
                           content_type="application/json", **api_auth(org.owner))
    assert response.status_code == 201 and response.json()["status"] == "pending"
    handoff_id = response.json()["id"]
    # Only the receiver answers; the requester gets a 403.
    answer = f"/api/deals/handoffs/{handoff_id}/answer"
    assert client.post(answer, {"answer": "accept"}, content_type="application/json",
                       **api_auth(org.owner)).status_code == 403
    response = client.post(answer, {"answer": "accept", "note": "OK"}, content_type="application/json",
                           **api_auth(org.outsider))
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert client.post(answer, {"answer": "decline", "note": "x"}, content_type="application/json",
                       **api_auth(org.outsider)).status_code == 409
    assert client.post("/api/deals/handoffs/999999/answer", {"answer": "accept"}, content_type="application/json",
                       **api_auth(org.outsider)).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/deals/{deal.pk}/comments", {"body": "@manager 请审批折扣 @teammate"},
                               content_type="application/json", **api_auth(org.owner))
    assert response.status_code == 201 and response.json()["not_notified"] == ["teammate"]

    transfer = f"/api/deals/{deal.pk}/transfer"
    body = {"new_owner": "teammate", "reason": "owner on leave"}
    assert client.post(transfer, body, content_type="application/json", **api_auth(org.owner)).status_code == 403
    assert client.post(transfer, body, content_type="application/json", **api_auth(org.other_manager)).status_code == 404
    response = client.post(transfer, body, content_type="application/json", **api_auth(org.manager))
    assert response.status_code == 200 and response.json()["owner"] == "teammate"
    assert client.get(f"/api/deals/{deal.pk}", **api_auth(org.owner)).status_code == 404


def test_stage_buttons_name_missing_fields_by_their_labels(client, org, make_deal):
    client.force_login(org.owner)
    body = client.get(make_deal().get_absolute_url()).content.decode()
    assert "Needs: lost reason" in body and "Needs: lost_reason" not in body


def test_a_board_move_over_htmx_answers_with_the_card_and_both_column_headers(client, org, make_deal, stages):
    deal = make_deal(need="x", amount="1000")
    make_deal(amount="500")
    client.force_login(org.owner)
    first, second = stages["初步接洽"], stages["需求确认"]
    response = client.post(reverse("deals:move", args=[deal.pk]),
                           {"stage": second.pk, "next": "/deals/board/?owner=me", "board": "1", "owner": "me"},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="gate-body")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body and "HX-Redirect" not in response
    assert f'<article id="deal-{deal.pk}" hx-swap-oob="delete">' in body
    assert f'hx-swap-oob="afterbegin:#cards-{second.pk}"' in body and f'data-stage="{second.pk}"' in body
    # The card's own no-JS form still comes back to the board, not to the move URL.
    assert 'name="next" value="/deals/board/?owner=me"' in body
    assert f'id="column-head-{first.pk}" hx-swap-oob="true"' in body and "1 · ¥500.00" in body
    assert f'id="column-head-{second.pk}" hx-swap-oob="true"' in body and "1 · ¥1,000.00" in body
    assert f'id="column-head-{stages["方案报价"].pk}"' not in body
    assert Opportunity.objects.get(pk=deal.pk).stage == second
    # The confirmation was shown in place; it does not pop up again on the next page.
    assert "moved to" not in client.get(reverse("deals:board")).content.decode()


def test_a_blocked_board_move_keeps_posting_in_place(client, org, make_deal, stages):
    deal = make_deal()
    client.force_login(org.owner)
    response = client.post(reverse("deals:move", args=[deal.pk]),
                           {"stage": stages["需求确认"].pk, "next": "/deals/board/", "board": "1", "owner": ""},
                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="gate-form"' in body and f'hx-post="{reverse("deals:move", args=[deal.pk])}"' in body
    assert 'name="board" value="1"' in body
    response = client.post(reverse("deals:move", args=[deal.pk]),
                           {"stage": stages["需求确认"].pk, "next": "/deals/board/", "board": "1", "need": "CRM"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'hx-swap-oob="delete"' in response.content.decode()


def test_a_gate_form_shown_again_with_errors_keeps_every_typed_value(client, org, make_deal, stages):
    deal = make_deal()
    client.force_login(org.owner)
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stages["方案报价"].pk, "next": "/deals/board/", "board": "1", "owner": "",
        "need": "30人销售团队需要CRM", "budget": "十万左右", "amount": "250000"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="gate-form"' in body
    # The invalid budget is shown again for correction, and the valid need and amount stay filled in.
    assert 'name="budget" value="十万左右"' in body
    assert ">30人销售团队需要CRM</textarea>" in body
    assert 'name="amount" value="250000"' in body
    # Under each amount, what it reads as: the amount, or why the budget is not one.
    assert 'class="date-echo error"' in body and "→ ¥250,000.00" in body
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stages["方案报价"].pk, "next": "/deals/board/", "need": "30人销售团队需要CRM", "budget": "100000",
        "amount": "250000"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == stages["方案报价"] and deal.need == "30人销售团队需要CRM"


def test_a_lost_gate_form_keeps_the_chosen_reason_and_contacts(client, org, make_deal, stages):
    deal = make_deal(need="x")
    contact = contact_create(customer=deal.customer, data={"name": "王经理"}, actor=org.owner)
    client.force_login(org.owner)
    reason = LostReason.objects.filter(active=True).last()
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stages["输单"].pk, "lost_reason": reason.pk, "lost_note": "价格太高", "contacts": [contact.pk],
        "amount": "abc"})
    body = response.content.decode()
    assert f'<option value="{reason.pk}" selected>' in body and ">价格太高</textarea>" in body
    assert f'<option value="{contact.pk}" selected>' in body


def test_the_lost_reason_is_chosen_not_preselected_and_its_error_sits_under_it(client, org, make_deal, stages):
    deal = make_deal(need="x")
    client.force_login(org.owner)
    body = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["输单"].pk}).content.decode()
    select = body[body.index('<select name="lost_reason"'):body.index("</select>")]
    assert '<option value="" selected>' in select and select.count(" selected>") == 1
    # The "required" message follows the reason's select, before the optional note and its own label.
    error, note = body.index('id="gate_lost_reason_error"'), body.index('name="lost_note"')
    assert body.index('<select name="lost_reason"') < error < note
    assert "Note on the loss (optional)" in body and "What happened" not in body
    deal.refresh_from_db()
    assert deal.stage != stages["输单"]


def test_amounts_read_with_thousands_separators_everywhere(client, org, make_deal):
    deal = make_deal(amount="1200000", budget="1500000")
    client.force_login(org.owner)
    for url in (reverse("deals:board"), reverse("deals:list"), deal.get_absolute_url(),
                deal.customer.get_absolute_url()):
        body = client.get(url).content.decode()
        assert "¥1,200,000.00" in body and "¥1200000.00" not in body, url
    assert "¥1,500,000.00" in client.get(deal.get_absolute_url()).content.decode()


def _ready_to_win(make_deal):
    return make_deal(need="30人销售团队需要CRM", budget="200000", amount="180000", authority="王总",
                     expected_close_date="2026-12-31")


def test_winning_asks_why_without_choosing_a_reason(client, org, make_deal, stages):
    from closeloop.deals.models import OpportunityStatus, WinReason

    deal = _ready_to_win(make_deal)
    client.force_login(org.owner)
    body = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["赢单"].pk}).content.decode()
    # The question comes first; nothing is chosen for the person, and the deal has not moved yet.
    select = body[body.index('<select name="win_reason"'):body.index("</select>")]
    assert '<option value="" selected>' in select and select.count(" selected>") == 1
    assert "Note on the win (optional)" in body
    deal.refresh_from_db()
    assert deal.stage == stages["初步接洽"]
    reason = WinReason.objects.get(name="价格有竞争力")
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stages["赢单"].pk, "win_reason": reason.pk, "win_note": "比竞品便宜两成"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.WON and deal.win_reason == reason and deal.win_note == "比竞品便宜两成"
    assert "价格有竞争力" in client.get(deal.get_absolute_url()).content.decode()


def test_one_who_may_not_move_the_deal_is_not_asked_why_it_was_won(client, org, make_deal, stages):
    """A pre-sales collaborator sees the deal but may not edit it: moving it is refused before the question."""
    from closeloop.followup.services import participant_add

    deal = _ready_to_win(make_deal)
    participant_add(record=deal, user=org.outsider, role="presales", actor=org.owner)
    client.force_login(org.outsider)
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["赢单"].pk})
    assert response.status_code == 403 and b"win_reason" not in response.content
    deal.refresh_from_db()
    assert deal.stage == stages["初步接洽"]


def test_a_win_without_a_reason_is_still_a_win(client, org, make_deal, stages):
    from closeloop.deals.models import OpportunityStatus

    deal = _ready_to_win(make_deal)
    client.force_login(org.owner)
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stages["赢单"].pk, "win_reason": ""})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.WON and deal.win_reason is None


def test_a_deal_loaded_for_its_page_has_its_win_reason_and_follow_up_interval(org, make_deal,
                                                                              django_assert_num_queries):
    """The detail page and the activity form read both: no query of their own on a deal loaded for the page."""
    from closeloop.deals.models import Opportunity, WinReason
    from closeloop.deals.selectors import get_opportunity_for_user
    from closeloop.followup.services import next_follow_up_default

    deal = make_deal()
    reason = WinReason.objects.get(name="价格有竞争力")
    Opportunity.objects.filter(pk=deal.pk).update(win_reason=reason)
    loaded = get_opportunity_for_user(org.owner, deal.pk)
    with django_assert_num_queries(0):
        assert loaded.win_reason == reason
        assert next_follow_up_default(loaded) is not None


def test_an_admin_keeps_a_list_of_win_reasons(client, org):
    from closeloop.core.models import AuditEntry
    from closeloop.deals.models import WinReason

    client.force_login(org.admin)
    assert "价格有竞争力" in client.get(reverse("deals:settings")).content.decode()
    response = client.post(reverse("deals:win_reason_create"), {"name": "交付速度快", "position": 9, "active": "on"})
    assert response.status_code == 302
    reason = WinReason.objects.get(name="交付速度快")
    assert AuditEntry.objects.for_object(reason).filter(action="win_reason.create").exists()
    client.force_login(org.manager)
    assert client.get(reverse("deals:win_reason_create")).status_code in (403, 404)


def test_the_deal_page_reads_the_same_queries_however_many_stages(client, org, make_deal, pipeline, stages):
    """The gate hints asked two queries per stage (its gate, the deal's contacts); the stages in hand now."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from closeloop.deals.models import Stage

    deal = make_deal()
    client.force_login(org.owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(deal.get_absolute_url()).status_code == 200
        return len(captured)

    def add_stage(n):
        Stage.objects.create(pipeline=pipeline, name=f"新阶段{n}", position=2, required_fields=["contacts", "budget"])

    add_stage(0)  # a gate that asks for contacts: the deal's contacts are looked up once
    client.get(deal.get_absolute_url())  # the first request fills per-process caches (content types, settings)
    few = queries()
    for n in range(1, 5):
        add_stage(n)
    page = client.get(deal.get_absolute_url()).content.decode()
    assert "新阶段4" in page
    assert queries() == few
    # The same answers as asking each stage's gate.
    from closeloop.deals.services.opportunities import missing_by_stage, missing_gate_fields

    all_stages = list(pipeline.stages.order_by("position", "id"))
    assert missing_by_stage(deal, all_stages) == {s.pk: missing_gate_fields(deal, s) for s in all_stages}


def test_a_deal_takes_its_expected_close_as_people_write_it(client, org, make_deal):
    """Issue 15: 2026年3月 closes by the month's end; 下月底 is next month's last day; 2月30日 is named."""
    deal = make_deal(name="年度框架")
    client.force_login(org.owner)
    url = reverse("deals:edit", args=[deal.pk])
    edit = client.get(url).content.decode()
    assert 'name="expected_close_date"' in edit and 'type="date"' not in edit
    response = client.post(url, {"name": "年度框架", "expected_close_date": "2026年3月"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert f"{deal.expected_close_date:%Y-%m-%d}" == "2026-03-31"
    response = client.post(url, {"name": "年度框架", "expected_close_date": "2月30日"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    body = response.content.decode()
    assert response.status_code == 200 and "“2月30日”不是日历上的日子" in body and 'value="2月30日"' in body
    deal.refresh_from_db()
    assert f"{deal.expected_close_date:%Y-%m-%d}" == "2026-03-31"
