"""Duplicates on intake through every channel, the hints beside the form, the review page and merging."""

import re

import pytest
from django.urls import reverse

from closeloop.core.errors import Conflict, Forbidden
from closeloop.core.models import AuditEntry, Channel, Notification
from closeloop.core.services import api_token_create
from closeloop.followup.models import Activity, ActivityKind, Task
from closeloop.followup.timeline import record_timeline
from closeloop.leads.models import ChannelPolicy, DuplicateAction, Lead, LeadStatus
from closeloop.leads.selectors import LeadFilters, lead_list
from closeloop.leads.services.intake import lead_submit
from closeloop.leads.services.merge import lead_merge

ORIGINAL = {"company_name": "杭州普腾康汇食品有限公司", "contact_name": "王伟", "mobile": "13912345678", "source": "官网"}
# The same person written as another channel would: region in brackets, other legal form, title, +86 and dashes.
REPEAT = {"company_name": "普腾康汇食品（杭州）股份有限公司", "contact_name": "王总", "mobile": "+86 139-1234-5678",
          "need": "想了解报价", "source": "展会"}


@pytest.fixture
def existing(make_lead, org):
    return make_lead(owner=org.owner, **ORIGINAL)


def set_policy(channel, action):
    ChannelPolicy.objects.update_or_create(channel=channel, defaults={
        "duplicate_action": action, "required_fields": [], "require_contact_method": False})


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.API, Channel.IMPORT, Channel.FORM])
def test_a_repeat_becomes_a_touch_on_the_owned_lead_whatever_the_channel(org, existing, channel,
                                                                         django_capture_on_commit_callbacks):
    actor = None if channel == Channel.FORM else org.outsider
    with django_capture_on_commit_callbacks(execute=True):
        result = lead_submit(data=REPEAT, channel=channel, actor=actor)
    assert result.created is False and result.lead.pk == existing.pk
    assert Lead.objects.count() == 1
    touch = Activity.objects.get(lead=existing)
    assert touch.kind == ActivityKind.TOUCH and touch.channel == channel
    assert touch.payload["need"] == "想了解报价" and touch.payload["source"] == "展会"
    assert "mobile" in touch.payload["match_reasons"]
    assert AuditEntry.objects.for_object(existing).filter(action="lead.touch").exists()
    assert Notification.objects.filter(recipient=org.owner, kind="lead.touch").exists()
    if actor is not None:
        assert "owner" in result.messages[0]
    else:
        # The public form never names the company's staff.
        assert "owner" not in result.messages[0]


def test_refuse_policy_names_the_owner_and_creates_nothing(org, existing):
    set_policy(Channel.API, DuplicateAction.REFUSE)
    with pytest.raises(Conflict) as excinfo:
        lead_submit(data=REPEAT, channel=Channel.API, actor=org.outsider)
    assert "owner" in excinfo.value.message and excinfo.value.details["lead_id"] == existing.pk
    assert Lead.objects.count() == 1 and not Activity.objects.exists()


def test_create_flagged_policy_creates_a_lead_pointing_at_the_original(org, existing):
    set_policy(Channel.WEB, DuplicateAction.CREATE_FLAGGED)
    result = lead_submit(data=REPEAT, channel=Channel.WEB, actor=org.teammate)
    assert result.created and result.lead.duplicate_of_id == existing.pk
    assert result.decision.matches[0].same_person


def test_another_person_at_the_same_company_is_created_flagged_and_the_owner_told(
    org, existing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = lead_submit(data={**REPEAT, "contact_name": "李强", "mobile": "13812345678"}, channel=Channel.API,
                             actor=org.admin)
    assert result.created and result.lead.duplicate_of_id == existing.pk
    assert not result.decision.matches[0].same_person
    assert Notification.objects.filter(recipient=org.owner, kind="lead.duplicate").exists()


def test_sister_companies_and_other_credit_codes_are_new_leads(org, existing):
    sister = lead_submit(data={**ORIGINAL, "company_name": "杭州普腾康汇贸易有限公司", "contact_name": "赵六",
                               "mobile": "13712345678"}, channel=Channel.API, actor=org.admin)
    assert sister.created and sister.lead.duplicate_of_id is None


def test_the_api_tells_an_outsider_only_that_the_lead_exists_and_who_owns_it(client, org, existing):
    raw, _token = api_token_create(user=org.outsider, name="t", actor=None)
    response = client.post("/api/leads/", REPEAT, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    body = response.json()
    assert body == {"lead": None, "created": False, "messages": body["messages"],
                    "existing": {"id": existing.pk, "owner": "owner", "owner_name": "owner"}}
    # Nothing of the record beyond its owner: the exact keys above, and not its company anywhere.
    assert existing.company_name not in response.content.decode()
    assert "owner" in body["messages"][0]


def test_the_owner_s_teammate_who_may_not_see_it_learns_the_same(client, org, existing):
    raw, _token = api_token_create(user=org.teammate, name="t", actor=None)
    body = client.post("/api/leads/", REPEAT, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["lead"] is None and body["existing"]["owner"] == "owner"


def test_the_owner_s_manager_gets_the_lead_itself(client, org, existing):
    raw, _token = api_token_create(user=org.manager, name="t", actor=None)
    body = client.post("/api/leads/", REPEAT, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["lead"]["id"] == existing.pk and body["lead"]["company_name"] == existing.company_name


def test_the_api_answers_409_under_the_refuse_policy(client, org, existing):
    set_policy(Channel.API, DuplicateAction.REFUSE)
    raw, _token = api_token_create(user=org.teammate, name="t", actor=None)
    response = client.post("/api/leads/", REPEAT, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 409 and response.json()["code"] == "duplicate"


def test_the_web_form_tells_the_submitter_who_owns_it(client, org, existing):
    client.force_login(org.outsider)
    data = {**REPEAT, "source": org.sources["展会"].pk}
    response = client.post(reverse("leads:create"), data, follow=True)
    assert Lead.objects.count() == 1
    assert "owner" in response.content.decode()
    assert "Lead saved" not in response.content.decode()  # nothing new was saved; the touch went to the owner
    assert Activity.objects.filter(lead=existing, kind=ActivityKind.TOUCH, channel=Channel.WEB).exists()


# --- hints beside the form --------------------------------------------------------------------------

HINT_QUERY = {"company_name": "普腾康汇食品有限公司", "mobile": "139 1234 5678"}


@pytest.mark.parametrize(("who", "sees_details"), [("owner", True), ("teammate", False), ("manager", True),
                                                    ("outsider", False), ("admin", True)])
def test_hints_show_a_duplicate_and_its_owner_but_details_only_to_those_who_may_see_them(client, org, existing, who,
                                                                                         sees_details):
    client.force_login(getattr(org, who))
    response = client.get(reverse("leads:duplicate_hints"), HINT_QUERY, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "owner" in body  # the owner's name is shown to everyone typing a duplicate
    assert (existing.get_absolute_url() in body) is sees_details
    assert (ORIGINAL["contact_name"] in body) is sees_details


def test_hints_work_as_a_full_page_without_htmx(client, org, existing):
    client.force_login(org.outsider)
    response = client.get(reverse("leads:duplicate_hints"), HINT_QUERY)
    assert response.status_code == 200 and "<html" in response.content.decode()


def test_hints_stay_quiet_for_new_details(client, org, existing):
    client.force_login(org.owner)
    body = client.get(reverse("leads:duplicate_hints"), {"company_name": "全新未见过公司", "mobile": "13700001111"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "Possible duplicates" not in body


def test_the_form_asks_for_hints_as_you_type(client, org):
    client.force_login(org.owner)
    body = client.get(reverse("leads:create")).content.decode()
    assert reverse("leads:duplicate_hints") in body and 'hx-include="#lead-form"' in body


# --- the review page ---------------------------------------------------------------------------------

@pytest.fixture
def flagged(org, existing):
    set_policy(Channel.API, DuplicateAction.CREATE_FLAGGED)
    return lead_submit(data=REPEAT, channel=Channel.API, actor=org.admin).lead


@pytest.mark.parametrize(("who", "sees_group"), [("owner", True), ("teammate", False), ("manager", True),
                                                   ("outsider", False), ("admin", True)])
def test_duplicates_page_lists_groups_the_user_can_see(client, org, existing, flagged, who, sees_group):
    # The flagged lead went to the pool or a rule; give it to the owner so the group is the owner's.
    Lead.objects.filter(pk=flagged.pk).update(owner=org.owner)
    client.force_login(getattr(org, who))
    response = client.get(reverse("leads:duplicates"))
    body = response.content.decode()
    assert response.status_code == 200
    assert (f'value="{flagged.pk}"' in body) is sees_group
    assert (ORIGINAL["contact_name"] in body) is sees_group


def test_a_group_half_outside_visibility_names_only_the_other_owner(client, org, existing, flagged):
    Lead.objects.filter(pk=flagged.pk).update(owner=org.outsider)
    client.force_login(org.outsider)
    body = client.get(reverse("leads:duplicates")).content.decode()
    assert f'value="{flagged.pk}"' in body and f'value="{existing.pk}"' not in body
    assert "owned by owner" in body and ORIGINAL["contact_name"] not in body


def test_the_duplicates_page_ticks_nothing_for_merging(client, org, existing, flagged):
    # Every lead of a group used to come ticked for the merge: one tap on "Review merge" took them all.
    Lead.objects.filter(pk=flagged.pk).update(owner=org.owner)
    client.force_login(org.owner)
    body = client.get(reverse("leads:duplicates")).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="ids"[^>]*>', body)
    assert len(boxes) == 2 and not any("checked" in box for box in boxes)
    assert 'data-needs-ticked="ids" data-needs-ticked-message="Tick the leads to merge."' in body
    body = client.get(reverse("leads:duplicates"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-needs-ticked-message="请勾选要合并的线索。"' in body


# --- merging ------------------------------------------------------------------------------------------

def test_merge_keeps_chosen_values_moves_activities_and_keeps_every_trail(org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="张三", mobile="13900000001", need="")
    b = make_lead(owner=org.owner, company_name="甲乙科技（上海）有限公司", contact_name="张三丰", mobile="13900000002",
                  need="需要CRM", email="zs@jiayi.cn")
    Activity.objects.create(record=b, kind=ActivityKind.CALL, content="打过电话", actor=org.owner)
    task_ids = set(Task.objects.filter(lead=b).values_list("pk", flat=True))
    assert task_ids  # assignment opened a first-contact task on b
    survivor = lead_merge(survivor=a, others=[b], field_choices={"contact_name": b.pk, "mobile": a.pk}, actor=org.owner)
    survivor.refresh_from_db()
    b.refresh_from_db()
    assert survivor.contact_name == "张三丰" and survivor.mobile_key == "+8613900000001"
    assert survivor.need == "需要CRM" and survivor.email == "zs@jiayi.cn"  # empty fields take the others' values
    assert b.status == LeadStatus.MERGED and b.merged_into_id == a.pk
    assert Activity.objects.get(content="打过电话").record == a
    assert set(Task.objects.filter(lead=a).values_list("pk", flat=True)) >= task_ids
    assert AuditEntry.objects.for_object(a).filter(action="lead.merge").exists()
    assert AuditEntry.objects.for_object(b).filter(action="lead.merged").exists()
    assert AuditEntry.objects.for_object(b).filter(action="lead.create").exists()  # b's own trail stays
    actions = {(entry.item.target_id, entry.item.action) for entry in record_timeline(survivor) if entry.kind == "audit"}
    assert (str(b.pk), "lead.create") in actions and (str(a.pk), "lead.merge") in actions


def test_a_merged_lead_stays_findable_and_points_to_its_survivor(client, org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="丙丁贸易有限公司", mobile="13900000002")
    lead_merge(survivor=a, others=[b], field_choices={}, actor=org.manager)
    found = list(lead_list(user=org.owner, filters=LeadFilters(q="丙丁贸易")))
    assert [lead.pk for lead in found] == [b.pk]
    client.force_login(org.owner)
    assert reverse("leads:detail", args=[a.pk]) in client.get(reverse("leads:detail", args=[b.pk])).content.decode()
    assert reverse("leads:detail", args=[a.pk]) in client.get(reverse("leads:list"), {"q": "丙丁贸易"}).content.decode()


def test_a_later_submission_reaches_the_survivor(org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    lead_merge(survivor=a, others=[b], field_choices={}, actor=org.owner)
    result = lead_submit(data={"company_name": "甲乙科技", "contact_name": "李四", "mobile": "13900000002", "source": "官网"},
                         channel=Channel.API, actor=org.admin)
    assert result.created is False and result.lead.pk == a.pk


@pytest.mark.parametrize(("who", "allowed"), [("owner", True), ("teammate", False), ("manager", True),
                                              ("outsider", False), ("admin", True)])
def test_only_managers_admins_or_the_owner_of_all_may_merge(org, make_lead, who, allowed):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    actor = getattr(org, who)
    if allowed:
        lead_merge(survivor=a, others=[b], field_choices={}, actor=actor)
        assert Lead.objects.get(pk=b.pk).status == LeadStatus.MERGED
    else:
        with pytest.raises(Forbidden):
            lead_merge(survivor=a, others=[b], field_choices={}, actor=actor)
        assert Lead.objects.get(pk=b.pk).status != LeadStatus.MERGED


def test_a_rep_cannot_merge_a_lead_someone_else_owns(org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.teammate, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    Lead.objects.filter(pk=b.pk).update()
    from closeloop.followup.services import participant_add

    participant_add(record=b, user=org.owner, role="sales", actor=org.teammate)
    with pytest.raises(Forbidden):
        lead_merge(survivor=a, others=[b], field_choices={}, actor=org.owner)


@pytest.mark.parametrize(("who", "status"), [("owner", 302), ("teammate", 404), ("manager", 302), ("outsider", 404)])
def test_the_merge_page_merges_after_confirmation(client, org, make_lead, who, status):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    client.force_login(getattr(org, who))
    ids = f"{a.pk},{b.pk}"
    page = client.get(reverse("leads:merge"), {"ids": ids})
    if status == 404:
        assert page.status_code == 302 and Lead.objects.get(pk=b.pk).status != LeadStatus.MERGED
        assert client.post(reverse("leads:merge"), {"ids": ids, "survivor": a.pk, "confirm": "1"}).status_code == 404
        return
    assert page.status_code == 200 and "李四" in page.content.decode()
    unconfirmed = client.post(reverse("leads:merge"), {"ids": ids, "survivor": a.pk})
    assert unconfirmed.status_code == 200 and Lead.objects.get(pk=b.pk).status != LeadStatus.MERGED
    response = client.post(reverse("leads:merge"), {"ids": ids, "survivor": a.pk, "confirm": "1",
                                                    "field_contact_name": b.pk})
    assert response.status_code == status and response.url == a.get_absolute_url()
    assert Lead.objects.get(pk=a.pk).contact_name == "李四"
    assert Lead.objects.get(pk=b.pk).merged_into_id == a.pk


def test_the_merge_page_shows_budgets_as_money(client, org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001", budget="50000")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000002")
    client.force_login(org.owner)
    page = client.get(reverse("leads:merge"), {"ids": f"{a.pk},{b.pk}"}).content.decode()
    assert "¥50,000.00" in page and "50000.00" not in page


def test_the_merge_page_ticks_the_value_the_merge_keeps(client, org, make_lead):
    # The survivor has no email and the other lead has one: the merge keeps that email, so the page ticks it (it
    # ticked the survivor's empty value). With two different emails the person may still choose.
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000002", email="b@jiayi.cn")
    client.force_login(org.owner)
    page = client.get(reverse("leads:merge"), {"ids": f"{a.pk},{b.pk}", "survivor": a.pk}).content.decode()
    assert f'name="field_email" value="{b.pk}" checked' in page
    assert f'name="field_email" value="{a.pk}" checked' not in page
    assert f'name="field_mobile" value="{a.pk}" checked' in page  # the survivor's own value first
    client.post(reverse("leads:merge"), {"ids": f"{a.pk},{b.pk}", "survivor": a.pk, "confirm": "1"})
    a.refresh_from_db()
    assert a.email == "b@jiayi.cn"

    c = make_lead(owner=org.owner, company_name="丙丁科技有限公司", mobile="13900000003")
    d = make_lead(owner=org.owner, company_name="丙丁科技有限公司", mobile="13900000004", email="d@bingding.cn")
    e = make_lead(owner=org.owner, company_name="丙丁科技有限公司", mobile="13900000005", email="e@bingding.cn")
    page = client.get(reverse("leads:merge"), {"ids": f"{c.pk},{d.pk},{e.pk}", "survivor": c.pk}).content.decode()
    assert f'name="field_email" value="{d.pk}" checked>' in page  # enabled: the two emails differ
    client.post(reverse("leads:merge"), {"ids": f"{c.pk},{d.pk},{e.pk}", "survivor": c.pk, "confirm": "1",
                                         "field_email": d.pk})
    c.refresh_from_db()
    assert c.email == "d@bingding.cn"


def test_the_merge_page_keeps_every_choice_after_a_missing_confirmation(client, org, make_lead):
    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="张三", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    client.force_login(org.owner)
    ids = f"{a.pk},{b.pk}"
    page = client.post(reverse("leads:merge"), {"ids": ids, "survivor": a.pk, "field_contact_name": b.pk,
                                                "field_mobile": b.pk}).content.decode()
    # The choices come back as the person left them, and the error sits under the box to tick.
    assert f'name="field_contact_name" value="{b.pk}" checked' in page
    assert f'name="field_mobile" value="{b.pk}" checked' in page
    assert f'name="field_contact_name" value="{a.pk}" checked' not in page
    assert f'name="field_company_name" value="{a.pk}" checked' in page  # untouched: the survivor's
    assert 'id="confirm_error"' in page
    response = client.post(reverse("leads:merge"), {"ids": ids, "survivor": a.pk, "field_contact_name": b.pk,
                                                    "field_mobile": b.pk, "confirm": "1"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.contact_name == "李四" and a.mobile_key == "+8613900000002"


def test_an_admin_sets_the_duplicate_action_per_channel(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:intake_settings"), {
        "api-duplicate_action": "refuse", "web-duplicate_action": "create_flagged", "form-duplicate_action": "attach",
        "import-duplicate_action": "attach",
    })
    assert response.status_code == 302
    assert ChannelPolicy.objects.get(channel=Channel.API).duplicate_action == DuplicateAction.REFUSE
    assert ChannelPolicy.objects.get(channel=Channel.WEB).duplicate_action == DuplicateAction.CREATE_FLAGGED
    entry = AuditEntry.objects.filter(action="settings.intake", changes__has_key="duplicate_action").first()
    assert entry is not None


def test_an_import_flags_other_people_of_a_known_company_and_routes_repeats_like_lead_submit(org, existing):
    from closeloop.leads.services.batch import lead_submit_batch

    other_person = {**REPEAT, "contact_name": "李强", "mobile": "13812345678"}
    third_person = {**REPEAT, "contact_name": "赵敏", "mobile": "13712345678"}
    fresh = {"company_name": "成都云启宏图物流有限公司", "contact_name": "徐芳", "mobile": "15596627347", "source": "官网"}
    rows = [(2, other_person), (3, fresh), (4, REPEAT), (5, third_person), (6, {**REPEAT, "need": "再问一次"})]
    outcome = lead_submit_batch(rows=rows, channel=Channel.IMPORT, actor=org.admin, chunk_size=10)

    assert (outcome.created, outcome.routed, outcome.refused) == (3, 2, [])
    flagged = Lead.objects.filter(duplicate_of=existing).order_by("pk")
    assert [lead.contact_name for lead in flagged] == ["李强", "赵敏"]
    entry = AuditEntry.objects.get(action="lead.create", target_id=str(flagged[0].pk))
    assert f"#{existing.pk}" in entry.note  # the reasons, as lead_submit writes them
    assert Activity.objects.filter(lead=existing, kind=ActivityKind.TOUCH).count() == 2  # both repeats of 王伟
    # One notice for the import's flagged leads, not one per row.
    notices = Notification.objects.filter(recipient=org.owner, kind="lead.duplicate")
    assert notices.count() == 1 and "2 leads" in notices.get().message


def test_the_same_mobile_at_another_company_is_flagged_with_its_owner_named(client, org, existing):
    result = lead_submit(data={"company_name": "深圳某某科技有限公司", "contact_name": "马军", "mobile": "13912345678",
                               "source": "官网"}, channel=Channel.WEB, actor=org.teammate)
    assert result.created and result.lead.duplicate_of_id == existing.pk
    assert "at another company" in result.messages[0] and str(org.owner) in result.messages[0]
    # The hint beside the form says so while typing.
    client.force_login(org.teammate)
    hints = client.get(reverse("leads:duplicate_hints"), {"mobile": "13912345678", "company_name": "深圳某某科技有限公司"})
    assert "Same contact details, another company" in hints.content.decode()


def test_a_short_name_with_the_same_mobile_is_the_same_person_and_the_answer_says_why(org, existing):
    from closeloop.leads.dedup import find_matches
    from closeloop.leads.matching import make_entry

    matches = find_matches(make_entry(None, company_name="普腾", contact_name="王总", mobile="139 1234 5678"))
    assert matches and matches[0].lead.pk == existing.pk and matches[0].same_person
    assert {"short_name", "mobile"} <= set(matches[0].reasons)
    assert "company name written short" in matches[0].reason_labels


def test_a_misspelt_brand_with_the_same_email_is_found_with_its_reason(org, make_lead):
    from closeloop.leads.dedup import find_matches
    from closeloop.leads.matching import make_entry

    lead = make_lead(owner=org.owner, company_name="杭州普腾康汇食品有限公司", contact_name="王伟", email="ww@ptkh.cn")
    matches = find_matches(make_entry(None, company_name="普滕康汇", contact_name="王伟", email="WW@PTKH.CN"))
    assert matches[0].lead.pk == lead.pk and matches[0].same_person
    assert {"similar_name", "email"} <= set(matches[0].reasons)


def test_numbered_companies_are_not_flagged_as_one(org, make_lead):
    from closeloop.leads.dedup import find_matches
    from closeloop.leads.matching import make_entry

    make_lead(owner=org.owner, company_name="上海轮询测试1号科技有限公司", contact_name="王伟", mobile="13912345678")
    assert find_matches(make_entry(None, company_name="上海轮询测试2号科技有限公司", contact_name="李强")) == []


def test_a_landline_with_an_extension_is_accepted_at_intake_and_finds_the_desk(org, make_lead):
    lead = make_lead(owner=org.owner, company_name="杭州普腾康汇食品有限公司", contact_name="王伟",
                     landline="0571-88886666转801")
    assert lead.landline_key == "+8657188886666" and lead.landline == "0571-88886666转801"
    repeat = lead_submit(data={"company_name": "普腾康汇食品公司", "contact_name": "王总", "landline": "0571-88886666-801",
                               "source": "官网"}, channel=Channel.API, actor=org.owner)
    assert repeat.created is False and repeat.lead.pk == lead.pk


def test_the_key_migration_rewrites_only_stale_keys(org, make_lead):
    import importlib

    from django.apps import apps

    from closeloop.leads.normalize import company_keys

    migration = importlib.import_module("closeloop.leads.migrations.0011_recompute_company_keys")
    stale = make_lead(owner=org.owner, company_name="普腾康汇食品有限公司第二分公司", contact_name="王伟", mobile="13912345678")
    fresh = make_lead(owner=org.owner, company_name="达云贸易有限公司", contact_name="李强", mobile="13812345678")
    Lead.objects.filter(pk=stale.pk).update(company_key="普腾康汇食品有限公司第二", brand_key="普腾康汇食品有限公司第二")
    migration.recompute_company_keys(apps, None)
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.company_key == "普腾康汇食品2分公司" and stale.brand_key == "普腾康汇"
    assert {k: getattr(fresh, k) for k in company_keys(fresh.company_name)} == company_keys("达云贸易有限公司")


def test_merging_three_leads_that_share_a_collaborator_keeps_one_place_for_them(org, make_lead):
    """Two merged-away leads with the same collaborator used to break `participant_once` on the survivor
    (IntegrityError): each row moved to it. One row stays, the sales one (it carries the right to edit)."""
    from closeloop.followup.models import Participant, ParticipantRole
    from closeloop.followup.services import participant_add

    a = make_lead(owner=org.owner, company_name="甲乙科技有限公司", mobile="13900000001")
    b = make_lead(owner=org.owner, company_name="甲乙科技（上海）有限公司", mobile="13900000002")
    c = make_lead(owner=org.owner, company_name="甲乙科技股份有限公司", mobile="13900000003")
    participant_add(record=b, user=org.teammate, role=ParticipantRole.OTHER, actor=org.owner)
    participant_add(record=c, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    participant_add(record=c, user=org.marketer, role=ParticipantRole.OTHER, actor=org.owner)
    lead_merge(survivor=a, others=[b, c], field_choices={}, actor=org.owner)
    rows = {row.user_id: row.role for row in Participant.objects.for_record(a)}
    assert rows == {org.teammate.pk: ParticipantRole.SALES, org.marketer.pk: ParticipantRole.OTHER}
    assert not Participant.objects.for_records(Lead, [b.pk, c.pk]).exists()
