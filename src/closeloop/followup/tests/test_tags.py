"""Tags on leads, customers and deals (issue 15): defined by an administrator, set by who may edit a record, in bulk
from the lead, deal and customer lists, filtered by in lists, shown on cards and pages, audited; as owner, teammate, manager, outsider."""

import pytest
from django.urls import reverse, reverse_lazy

from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry
from closeloop.followup.models import Tag, TagLink
from closeloop.followup.tags import MAX_TAGS_PER_RECORD, record_tags_set, tag_save

# Who may set a record's tags: those who may edit it.
WHO_EDITS = {"owner": True, "teammate": False, "manager": True, "outsider": False, "admin": True}


@pytest.fixture
def tags(org):
    return {name: tag_save(data={"name": name, "color": color}, actor=org.admin)
            for name, color in (("VIP", "red"), ("政府", "blue"), ("老客户", "green"))}


def test_only_an_administrator_defines_tags(client, org):
    with pytest.raises(Forbidden):
        tag_save(data={"name": "VIP"}, actor=org.manager)
    client.force_login(org.manager)
    assert client.get(reverse("followup:tag_list")).status_code == 404
    client.force_login(org.admin)
    response = client.post(reverse("followup:tag_list"), {"name": "VIP", "color": "red"})
    assert response.status_code == 302 and Tag.objects.get().color == "red"
    body = client.post(reverse("followup:tag_list"), {"name": "vip", "color": "blue"},
                       HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "已有同名标签" in body and Tag.objects.count() == 1
    tag = Tag.objects.get()
    client.post(reverse("followup:tag_edit", args=[tag.pk]), {f"t{tag.pk}-name": "重点", f"t{tag.pk}-color": "orange"})
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("重点", "orange")
    assert AuditEntry.objects.filter(action="tag.save").count() == 2


@pytest.mark.parametrize("who", WHO_EDITS)
def test_who_may_edit_a_record_sets_its_tags(client, org, make_lead, tags, who):
    lead = make_lead(owner=org.owner)
    client.force_login(getattr(org, who))
    client.post(reverse("followup:record_tags", args=["lead", lead.pk]),
                {"tags": [tags["VIP"].pk, tags["政府"].pk]})
    names = sorted(link.tag.name for link in TagLink.objects.for_record(lead))
    assert names == (["VIP", "政府"] if WHO_EDITS[who] else [])
    if WHO_EDITS[who]:
        entry = AuditEntry.objects.for_object(lead).get(action="tags.set")
        assert entry.changes["tags"] == [[], ["VIP", "政府"]]
        page = client.get(lead.get_absolute_url()).content.decode()
        assert 'class="tag tag-red">VIP<' in page and "Change tags" in page


def test_a_record_carries_a_handful_of_tags(org, make_lead):
    lead = make_lead(owner=org.owner)
    many = [tag_save(data={"name": f"标签{n}"}, actor=org.admin) for n in range(MAX_TAGS_PER_RECORD + 1)]
    with pytest.raises(ValidationFailed):
        record_tags_set(record=lead, tags=many, actor=org.owner)
    assert record_tags_set(record=lead, tags=many[:MAX_TAGS_PER_RECORD], actor=org.owner)
    assert not record_tags_set(record=lead, tags=many[:MAX_TAGS_PER_RECORD], actor=org.owner)  # unchanged


def test_the_lead_list_tags_the_selection_filters_by_tag_and_shows_chips(client, org, make_lead, tags):
    mine, theirs, other = make_lead(owner=org.owner), make_lead(owner=org.outsider), make_lead(owner=org.owner)
    client.force_login(org.owner)
    response = client.post(reverse("leads:bulk_tag"), {"leads": [mine.pk, theirs.pk], "tag": tags["VIP"].pk})
    assert response.status_code == 302
    tagged = set(TagLink.objects.filter(tag=tags["VIP"]).values_list("record_id", flat=True))
    assert tagged == {mine.pk}  # the outsider's lead is not even visible to the owner
    body = client.get(reverse("leads:list"), {"tag": tags["VIP"].pk}).content.decode()
    assert str(mine) in body and str(other) not in body and 'class="tag tag-red">VIP<' in body
    assert 'name="tag"' in client.get(reverse("leads:list")).content.decode()  # the bulk box for a rep too


def test_deal_and_customer_lists_filter_by_tag(client, org, make_deal, tags):
    tagged, plain = make_deal(name="甲项目"), make_deal(name="乙项目")
    record_tags_set(record=tagged, tags=[tags["政府"]], actor=org.owner)
    record_tags_set(record=tagged.customer, tags=[tags["老客户"]], actor=org.owner)
    client.force_login(org.owner)
    body = client.get(reverse("deals:list"), {"tag": tags["政府"].pk}).content.decode()
    assert "甲项目" in body and "乙项目" not in body and 'class="tag tag-blue">政府<' in body
    body = client.get(reverse("deals:customer_list"), {"tag": tags["老客户"].pk}).content.decode()
    assert tagged.customer.name in body and plain.customer.name not in body
    assert 'class="tag tag-blue">政府<' in client.get(tagged.get_absolute_url()).content.decode()


# Each list's bulk tag box: the list, where it posts, the name of its checkboxes and its prompt in Chinese.
BULK = {"lead": ("leads:list", reverse_lazy("leads:bulk_tag"), "leads", "给所选线索打标签…"),
        "deal": ("deals:list", reverse_lazy("followup:records_tag", args=["opportunity"]), "records", "给所选商机打标签…"),
        "customer": ("deals:customer_list", reverse_lazy("followup:records_tag", args=["customer"]), "records",
                     "给所选客户打标签…")}


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
@pytest.mark.parametrize("kind", ["lead", "deal", "customer"])
def test_each_list_tags_the_selection_only_where_the_person_may_edit_and_counts_the_rest(
        client, org, make_lead, make_deal, tags, who, kind):
    if kind == "lead":
        mine, theirs = make_lead(owner=org.owner), make_lead(owner=org.outsider)
    else:
        mine, theirs = make_deal(name="甲项目", owner=org.owner), make_deal(name="乙项目", owner=org.outsider)
    if kind == "customer":
        mine, theirs = mine.customer, theirs.customer
    list_name, url, field, prompt = BULK[kind]
    client.force_login(getattr(org, who))
    page = client.get(reverse(list_name), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert f'data-select-all="{field}"' in page and prompt in page
    response = client.post(url, {field: [mine.pk, theirs.pk, "x"], "tag": tags["VIP"].pk,
                                 "next": reverse(list_name)}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-CN")
    expected = {"owner": {mine.pk}, "teammate": set(), "manager": {mine.pk}, "outsider": {theirs.pk}}[who]
    assert set(TagLink.objects.filter(tag=tags["VIP"]).values_list("record_id", flat=True)) == expected
    assert response.redirect_chain[-1][0] == reverse(list_name)
    body = response.content.decode()
    assert f"已给所选的 {len(expected)} 条记录打上标签“VIP”。" in body
    assert f"跳过 {2 - len(expected)} 条：无权编辑，或已有此标签或已满五个标签。" in body
    for record in (mine, theirs):
        assert AuditEntry.objects.for_object(record).filter(action="tags.set").exists() == (record.pk in expected)


def test_a_bulk_tag_without_a_tag_or_a_selection_says_what_is_missing(client, org, make_deal, tags):
    deal = make_deal()
    client.force_login(org.owner)
    url = reverse("followup:records_tag", args=["opportunity"])
    for data in ({"records": [deal.pk]}, {"tag": tags["VIP"].pk}, {"records": [deal.pk], "tag": "VIP"}):
        body = client.post(url, data, follow=True, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        assert "请选择记录和要打的标签。" in body
    assert not TagLink.objects.exists()
    assert client.post(reverse("followup:records_tag", args=["tag"]), {"records": [1], "tag": 1}).status_code == 404


def test_a_merge_keeps_every_tag_once(org, make_lead, tags):
    from closeloop.leads.models import Lead
    from closeloop.leads.services.merge import lead_merge

    survivor = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="张三", mobile="13900000001")
    merged = make_lead(owner=org.owner, company_name="甲乙科技有限公司", contact_name="李四", mobile="13900000002")
    record_tags_set(record=survivor, tags=[tags["VIP"]], actor=org.owner)
    record_tags_set(record=merged, tags=[tags["VIP"], tags["政府"]], actor=org.owner)
    lead_merge(survivor=survivor, others=[Lead.objects.get(pk=merged.pk)], field_choices={}, actor=org.owner)
    assert sorted(link.tag.name for link in TagLink.objects.for_record(survivor)) == ["VIP", "政府"]


def test_deleting_a_tag_removes_it_everywhere_and_says_so(org, make_lead, tags):
    from closeloop.followup.tags import tag_delete

    lead = make_lead(owner=org.owner)
    record_tags_set(record=lead, tags=[tags["VIP"]], actor=org.owner)
    tag_delete(tag=tags["VIP"], actor=org.admin)
    assert not TagLink.objects.exists()
    assert "1" in AuditEntry.objects.get(action="tag.delete").note
