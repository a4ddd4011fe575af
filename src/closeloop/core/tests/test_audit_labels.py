"""The timeline names actions and fields in words, from the models' verbose names, in the reader's language."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from closeloop.core.audit import declared_actions
from closeloop.core.audit_labels import action_label, change_rows, labelled_changes
from closeloop.core.models import AuditEntry, Channel
from closeloop.deals.services.customers import contact_create, contact_delete, customer_create
from closeloop.deals.services.opportunities import (
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from closeloop.leads.services.editing import lead_update


@pytest.fixture
def deal(org):
    customer = customer_create(data={"name": "宁波标签测试有限公司"}, actor=org.owner)
    return opportunity_create(customer=customer, actor=org.owner,
                                       data={"name": "标签测试商机", "expected_close_date": "2026-12-31"})


def _visible_text(html: str) -> str:
    """The page without tags (and so without the raw codes kept in title attributes)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_known_actions_have_labels_and_unknown_ones_show_their_code():
    with translation.override("en"):
        assert action_label("opportunity.create") == "Deal created"
        assert action_label("lead.return_to_pool") == "Returned to the public pool"
        assert action_label("something.new") == "something.new"
    assert all(str(label) for label in declared_actions().values())


def test_change_rows_use_verbose_names_and_choice_labels(org, make_lead):
    lead = make_lead(owner=org.owner)
    entry = AuditEntry.objects.for_object(lead).first()
    entry.changes = {"status": ["new", "assigned"], "company_name": ["", "x"], "in_pool": [True, False],
                     "collaborators": [None, "王伟"], "not_a_field": [1, 2]}
    with translation.override("en"):
        rows = {row["field"]: row for row in change_rows(entry)}
    assert rows["status"]["label"] == "status" and (rows["status"]["old"], rows["status"]["new"]) == ("New", "Assigned")
    assert rows["company_name"]["label"] == "company"
    assert rows["collaborators"]["label"] == "collaborators"
    assert rows["not_a_field"]["label"] == "not a field"


def test_a_change_that_reads_the_same_before_and_after_is_not_shown(org, deal):
    entry = AuditEntry.objects.for_object(deal).first()
    entry.changes = {"stage_entered_at": ["2026-12-07T12:57:10+00:00", "2026-12-07T12:57:40+00:00"],
                     "probability": [10, 10], "name": ["旧名", "新名"]}
    assert [row["field"] for row in change_rows(entry)] == ["name"]
    entry.changes["stage_entered_at"][1] = "2026-12-07T12:58:00+00:00"
    assert [row["field"] for row in change_rows(entry)] == ["stage_entered_at", "name"]


def test_deal_timeline_reads_in_words(client, org, deal):
    client.force_login(org.owner)
    with translation.override("en"):
        text = _visible_text(client.get(deal.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "Deal created" in text and "Expected close date" in text
    assert "opportunity.create" not in text and "expected_close_date" not in text


def test_lead_timeline_reads_in_words(client, org, make_lead):
    lead = make_lead(owner=org.owner)
    lead_update(lead=lead, data={"company_name": "宁波改名科技有限公司"}, actor=org.owner, channel=Channel.WEB)
    client.force_login(org.owner)
    html = client.get(reverse("leads:detail", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    text = _visible_text(html)
    assert "Lead edited" in text and '<span title="company_name">Company</span>:' in html
    assert "lead.update" not in text and "company_name" not in text


def test_field_labels_follow_the_language(client, org, deal):
    client.force_login(org.owner)
    text = _visible_text(client.get(deal.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode())
    # The models' verbose names are already translated; the new action labels wait for the catalogue.
    assert "expected_close_date" not in text and "预计成交日期" in text


def test_related_records_show_by_name_and_flags_as_yes_or_no(client, org, deal, django_assert_max_num_queries):
    stage = deal.stage
    later = deal.pipeline.stages.get(name="需求确认")
    opportunity_move_stage(opportunity=deal, stage=later, actor=org.owner, fields={"need": "CRM"})
    entries = list(AuditEntry.objects.for_object(deal))
    # One lookup per related model across the whole timeline, however many entries name a stage or a user.
    with django_assert_max_num_queries(8):
        labelled = labelled_changes(entries)
    moved = next(e for e in entries if e.action == "opportunity.stage")
    created = next(e for e in entries if e.action == "opportunity.create")
    rows = {row["field"]: row for row in labelled[moved.pk]}
    assert (rows["stage"]["old"], rows["stage"]["new"]) == (stage.name, "需求确认")
    rows = {row["field"]: row for row in labelled[created.pk]}
    assert rows["customer"]["new"] == "宁波标签测试有限公司" and rows["owner"]["new"] == str(org.owner)
    entry = entries[0]
    entry.changes = {"active": [True, False]}
    with translation.override("en"):
        assert [(r["old"], r["new"]) for r in change_rows(entry)] == [("yes", "no")]


def test_internal_keys_are_hidden_and_scores_and_times_read_as_text(org, make_lead, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    lead = make_lead(owner=org.owner)
    entry = AuditEntry.objects.for_object(lead).first()
    entry.changes = {
        "mobile_key": ["", "+8613800000000"], "company_key": ["", "宁波"], "brand_key": ["", "x"],
        "brand_head": ["", "宁波"], "brand_tail": ["", "科技"],
        "score_details": [[], [{"rule": "来源: 展会", "points": 10, "reason": "展会"},
                               {"rule": "无手机", "points": -5, "reason": ""}]],
        "first_contact_due_at": [None, "2026-11-22T13:29:05.123456+00:00"],
        "company_name": ["", "宁波科技"],
    }
    with translation.override("en"):
        rows = {row["field"]: row for row in change_rows(entry)}
    assert set(rows) == {"score_details", "first_contact_due_at", "company_name"}
    assert rows["score_details"]["new"] == "来源: 展会 +10\n无手机 -5"
    assert rows["first_contact_due_at"]["new"] == "2026-11-22 21:29"


def test_lead_timeline_hides_keys_and_lists_score_lines(client, org, make_lead):
    lead = make_lead(owner=org.owner, mobile="13800138000", email="a@example.com")
    assert AuditEntry.objects.for_object(lead).filter(changes__has_key="mobile_key").exists()
    client.force_login(org.owner)
    html = client.get(reverse("leads:detail", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'title="mobile_key"' not in html and 'title="email_key"' not in html
    body = html.split("<body", 1)[1]  # the head's htmx settings are JSON on purpose
    assert "[{" not in body and "&#x27;points&#x27;" not in body


def test_contact_events_use_the_contact_fields(client, org, deal):
    contact_create(customer=deal.customer, actor=org.owner,
                            data={"name": "王经理", "title": "采购总监", "mobile": "13900139000", "wechat": "wang"})
    client.force_login(org.owner)
    html = client.get(deal.customer.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    # Labelled as the contact's fields, in the reader's language, not as the customer's (公司名称) or raw names.
    assert '<span title="name">联系人</span>: 王经理' in html
    assert '<span title="title">职务</span>: 采购总监' in html and '<span title="wechat">微信</span>: wang' in html
    assert '<span title="mobile">手机</span>:' in html and '<span title="mobile_key">' not in html


def test_a_deleted_contacts_deals_are_not_labelled_with_the_list_counter(org, deal):
    contact = contact_create(customer=deal.customer, actor=org.owner, data={"name": "李工"})
    deal.contacts.add(contact, contact_create(customer=deal.customer, actor=org.owner, data={"name": "赵工"}))
    contact_delete(contact=contact, actor=org.owner)
    entry = AuditEntry.objects.get(action="contact.delete")
    with translation.override("zh-hans"):
        rows = {row["field"]: row for row in change_rows(entry)}
    assert rows["name"]["label"] == "联系人" and rows["opportunities"]["new"] is None
    assert rows["opportunities"]["label"] != "个商机" and rows["opportunities"]["old"] == "标签测试商机"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_amounts_on_the_timeline_read_as_money(client, org, deal, language):
    opportunity_update(opportunity=deal, data={"amount": "1200000", "budget": "800000.5"}, actor=org.owner)
    client.force_login(org.owner)
    text = _visible_text(client.get(deal.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).content.decode())
    assert "¥1,200,000.00" in text and "¥800,000.50" in text
    assert "1200000" not in text and "800000.5" not in text
    entry = AuditEntry.objects.for_object(deal).first()
    entry.changes = {"amount": [None, "1200000.00"], "probability": [10, 20]}
    rows = {row["field"]: row for row in change_rows(entry)}
    # Only amounts: a probability is not money, and no amount stays empty rather than ¥0.
    assert rows["probability"]["new"] == 20 and rows["amount"]["old"] is None
