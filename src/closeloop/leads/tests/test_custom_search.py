"""The lead list's search box also looks in the custom text fields an administrator made searchable: what it finds
is exactly a plain substring match over the values the viewer may see, on both databases, before and after the
trigram index catches up; the switch is audited, a non-text type or a hidden field leaves the search."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.core.audit import audit_trail
from closeloop.core.customfields import search
from closeloop.core.customfields.services import custom_field_create, custom_field_hide, custom_field_update
from closeloop.core.errors import Forbidden
from closeloop.core.models import Channel, CustomField
from closeloop.leads.models import Lead
from closeloop.leads.selectors import LeadFilters, lead_list
from closeloop.leads.services.editing import lead_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields(org):
    note = custom_field_create(target="leads.Lead", key="note", field_type="text", actor=org.admin,
                               data={"label_zh": "备注", "searchable": True})
    wechat = custom_field_create(target="leads.Lead", key="wechat", field_type="text", actor=org.admin,
                                 data={"label_zh": "微信号", "searchable": True})
    backup = custom_field_create(target="leads.Lead", key="backup_phone", field_type="phone", actor=org.admin,
                                 data={"label_zh": "备用电话", "searchable": True})
    secret = custom_field_create(target="leads.Lead", key="secret", field_type="text", actor=org.admin,
                                 data={"label_zh": "内部评语", "searchable": True, "view_roles": ["sales_manager"]})
    plain = custom_field_create(target="leads.Lead", key="plain", field_type="text", actor=org.admin,
                                data={"label_zh": "不可搜索"})
    return {"note": note, "wechat": wechat, "backup": backup, "secret": secret, "plain": plain}


@pytest.fixture
def leads(org, fields, make_lead):
    return {
        "steel": make_lead(company_name="宁波某某贸易有限公司", custom={"note": "主营 Stainless Steel 管件", "wechat": "ningbo_steel"}),
        "pump": make_lead(company_name="温州某某机电有限公司", custom={"note": "水泵 50% 订金", "backup_phone": "021-62345678"}),
        "quoted": make_lead(company_name="嘉兴某某纺织有限公司", custom={"note": '客户说"加急"', "secret": "价格敏感，别碰"}),
        "plain": make_lead(company_name="绍兴某某印染有限公司", custom={"plain": "stainless 不可搜"}),
        "theirs": make_lead(owner=org.outsider, company_name="台州某某塑料有限公司", custom={"note": "stainless 外组"}),
    }


def _found(user, q):
    return set(lead_list(user=user, filters=LeadFilters(q=q)).values_list("pk", flat=True))


def _plain_scan(user, q):
    """What the search must find: a substring match, done in Python over every lead the user sees, in the built-in
    names and the searchable values they may see (ASCII case folded on SQLite, every case on PostgreSQL)."""
    fold = str.upper if connection.vendor == "postgresql" else (lambda s: "".join(
        c.upper() if c.isascii() else c for c in s))
    keys = [f.key for f in search.searched_fields("leads.Lead", user)]
    found = set()
    for lead in Lead.objects.visible_to(user):
        texts = [lead.company_name, lead.contact_name] + [str((lead.custom or {}).get(k) or "") for k in keys]
        if any(fold(q.strip()) in fold(text) for text in texts):
            found.add(lead.pk)
    return found


QUERIES = ["Stainless", "stainless steel", "STEEL", "ningbo_", "50%", '"加急"', "订金", "62345678", "+86216",
           "价格敏感", "不可搜", "不存在的东西", "某某", "_", "%", "水泵", "St"]


@pytest.mark.parametrize("q", QUERIES)
def test_search_finds_exactly_a_substring_scan_of_the_values_the_viewer_sees(org, leads, q):
    for user in (org.admin, org.manager, org.owner, org.outsider):
        assert _found(user, q) == _plain_scan(user, q), (user, q)


@pytest.mark.parametrize(("limit", "few"), [(0, 500), (1, 500), (2, 500), (2, 0), (2, 1), (1_000, 1)])
def test_the_same_results_above_the_candidates_limit(org, leads, make_lead, monkeypatch, limit, few):
    """Over the limit the list walks its own order with the plain condition (PostgreSQL: an expression no index
    serves); at or under it, the candidates are read first (PostgreSQL: over `few` of them, their number guessed
    first). Either way the same leads."""
    make_lead(company_name="丽水某某五金有限公司", custom={"note": "stainless 第二", "wechat": "stainless_2"})
    search.sync()
    monkeypatch.setattr(search, "CANDIDATES_LIMIT", limit)
    monkeypatch.setattr(search, "FEW_CANDIDATES", few)
    for q in QUERIES:
        for user in (org.admin, org.owner):
            assert _found(user, q) == _plain_scan(user, q), (limit, user, q)
    if connection.vendor == "postgresql" and limit == 0:
        sql = str(lead_list(user=org.admin, filters=LeadFilters(q="Stainless")).query)
        assert "|| '')" in sql and "ANY(" not in sql, sql


def test_it_finds_by_each_searchable_field_and_keeps_visibility_and_field_permission(org, leads):
    assert _found(org.owner, "stainless") == {leads["steel"].pk}  # not the unsearchable field, not another team's
    assert _found(org.outsider, "stainless") == {leads["theirs"].pk}
    assert _found(org.admin, "stainless") == {leads["steel"].pk, leads["theirs"].pk}
    assert _found(org.owner, "ningbo_st") == {leads["steel"].pk}
    assert _found(org.owner, "62345678") == {leads["pump"].pk}  # the phone's stored digits
    # A managers-only value makes no match for a rep, though the rep sees the lead itself.
    assert _found(org.owner, "价格敏感") == set()
    assert _found(org.manager, "价格敏感") == {leads["quoted"].pk} == _found(org.admin, "价格敏感")
    # The built-in search still works beside it.
    assert _found(org.owner, "嘉兴某某") == {leads["quoted"].pk}


def test_results_are_the_same_before_and_after_the_index_catches_up(org, leads, make_lead):
    before = {q: _found(org.admin, q) for q in QUERIES}
    assert search.sync() >= (5 if connection.vendor == "sqlite" else 0)
    assert {q: _found(org.admin, q) for q in QUERIES} == before
    # Changed, new and deleted records after the sync: found as they are now.
    lead_update(lead=leads["pump"], data={"custom": {"note": "改成了 Stainless 阀门"}}, actor=org.admin,
                channel=Channel.WEB)
    newer = make_lead(custom={"wechat": "stainless_new"})
    Lead.objects.filter(pk=leads["theirs"].pk).delete()
    expected = {leads["steel"].pk, leads["pump"].pk, newer.pk}
    assert _found(org.admin, "stainless") == expected == _plain_scan(org.admin, "stainless")
    search.sync()
    assert _found(org.admin, "stainless") == expected
    assert _found(org.admin, "水泵") == set()


def test_the_index_serves_the_search(org, leads):
    search.sync()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'cft_leads_lead_%%'")
            names = {row[0] for row in cursor.fetchall()}
        assert names == {"cft_leads_lead_note", "cft_leads_lead_wechat", "cft_leads_lead_backup_phone",
                         "cft_leads_lead_secret"}
        # The candidates' ids are read first (each field's lookup); the list takes them as ids.
        with CaptureQueriesContext(connection) as queries:
            rows = lead_list(user=org.admin, filters=LeadFilters(q="Stainless"))
        lookup = next(q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"])
        with connection.cursor() as cursor:
            # A handful of rows is read by a scan whatever the indexes; without that choice the plan is theirs.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {lookup}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET LOCAL enable_seqscan = on")
        assert "cft_leads_lead_note" in plan and "cft_leads_lead_wechat" in plan, plan
        assert "ANY(" in str(rows.query)
    else:
        rows = lead_list(user=org.admin, filters=LeadFilters(q="Stainless"))
        index = search.sqlite_index("leads.Lead")
        assert f"{index.fts} VIRTUAL TABLE INDEX" in rows.explain()
    assert set(rows.values_list("pk", flat=True)) == {leads["steel"].pk, leads["theirs"].pk}


def test_the_switch_is_audited_and_only_for_text_like_types(org, fields):
    entry = audit_trail(fields["note"]).get(action="custom_field.create")
    assert entry.changes["searchable"][1] is True
    custom_field_update(field=fields["plain"], data={"searchable": True}, actor=org.admin)
    fields["plain"].refresh_from_db()
    assert fields["plain"].searchable is True
    assert audit_trail(fields["plain"]).get(action="custom_field.update").changes["searchable"] == [False, True]
    count = custom_field_create(target="leads.Lead", key="headcount", field_type="integer", actor=org.admin,
                                data={"label_zh": "人数", "searchable": True})
    assert count.searchable is False
    # Contacts have no list search box: the switch is not offered for their fields, nor taken.
    role = custom_field_create(target="deals.Contact", key="role_note", field_type="text", actor=org.admin,
                               data={"label_zh": "角色说明", "searchable": True})
    assert role.searchable is False
    with pytest.raises(Forbidden):
        custom_field_update(field=fields["plain"], data={"searchable": True}, actor=org.manager)


def test_a_field_turned_off_changed_to_a_non_text_type_or_hidden_leaves_the_search(org, leads, fields):
    search.sync()
    assert _found(org.admin, "ningbo_st") == {leads["steel"].pk}
    custom_field_update(field=fields["wechat"], data={"searchable": False}, actor=org.admin)
    assert _found(org.admin, "ningbo_st") == set() == _plain_scan(org.admin, "ningbo_st")
    # A type with no text: converted values are no longer looked in, and the switch is off with it.
    custom_field_update(field=fields["note"], data={"options": "水泵 50% 订金\n主营 Stainless Steel 管件\n"
                                                               '客户说"加急"\nstainless 外组\n'},
                        field_type="choice", actor=org.admin)
    fields["note"].refresh_from_db()
    assert fields["note"].searchable is False
    assert audit_trail(fields["note"]).get(action="custom_field.convert").changes["searchable"] == [True, False]
    assert _found(org.admin, "订金") == set()
    custom_field_hide(field=fields["backup"], hidden=True, actor=org.admin)
    assert _found(org.admin, "62345678") == set()
    custom_field_hide(field=fields["backup"], hidden=False, actor=org.admin)
    assert _found(org.admin, "62345678") == {leads["pump"].pk}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'cft_leads_lead_%%'")
            assert {row[0] for row in cursor.fetchall()} == {"cft_leads_lead_backup_phone", "cft_leads_lead_secret"}
    else:
        # One index for the record type, over the fields still searchable; the earlier sets' are gone.
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'cfs_leads_lead_%_index'")
            assert [row[0] for row in cursor.fetchall()] == [search.sqlite_index("leads.Lead").fts]
        search.sync()
        assert _found(org.admin, "62345678") == {leads["pump"].pk}


def test_the_index_survives_a_lost_trigger(org, leads):
    if connection.vendor != "sqlite":
        return
    search.sync()
    index = search.sqlite_index("leads.Lead")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {index.name}_au")
    Lead.objects.filter(pk=leads["plain"].pk).update(custom={"note": "迟到的 stainless"})
    assert search.ensure(connection) == 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {index.queue}")  # noqa: S608
        assert cursor.fetchone()[0] == 0
    assert leads["plain"].pk in _found(org.admin, "迟到的 stain")
    assert search.ensure(connection) == 0


def test_the_list_page_and_the_api_search_custom_values(client, org, leads):
    from closeloop.core.services import api_token_create

    client.force_login(org.owner)
    page = client.get("/leads/", {"q": "ningbo_st"}).content.decode()
    assert "宁波某某贸易有限公司" in page and "温州某某机电有限公司" not in page
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    answer = client.get("/api/leads/", {"q": "ningbo_st"}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [item["id"] for item in answer["items"]] == [leads["steel"].pk]
    assert client.get("/api/leads/", {"q": "价格敏感"}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()["items"] == []
    # The field definitions tell an integrator which values `q` looks in.
    listed = client.get("/api/custom-fields/", {"target": "leads.Lead"}, HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert {item["key"]: item["searchable"] for item in listed} == {
        "note": True, "wechat": True, "backup_phone": True, "plain": False}


def test_the_sweep_fills_the_index(org, leads):
    from closeloop.core.schedule import SWEEPS
    from closeloop.core.tasks import sync_custom_search

    assert "core.sync_custom_search" in SWEEPS
    synced = sync_custom_search.call()
    assert synced >= Lead.objects.count() if connection.vendor == "sqlite" else synced == 0
    assert sync_custom_search.call() == 0


def test_the_settings_form_has_the_switch(client, org, fields):
    client.force_login(org.admin)
    page = client.get(f"/settings/fields/{fields['plain'].pk}/").content.decode()
    assert 'name="searchable"' in page
    assert 'name="searchable"' not in client.get("/settings/fields/new/", {"target": "deals.Contact"}).content.decode()
    listed = client.get("/settings/fields/", {"target": "leads.Lead"}).content.decode()
    assert listed.count("(searchable)") == 4
    assert CustomField.objects.get(pk=fields["note"].pk).searchable


def test_turning_the_switch_on_asks_the_worker_to_fill_the_new_index(org, fields, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        custom_field_update(field=fields["plain"], data={"searchable": True}, actor=org.admin)
    jobs = DBTaskResult.objects.filter(task_path__endswith="sync_custom_search").count()
    if connection.vendor == "sqlite":
        assert jobs == 1
        index = search.sqlite_index("leads.Lead")
        assert "plain" in index.select
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT indexed_upto FROM {index.state}")  # noqa: S608
            assert cursor.fetchone()[0] == 0  # empty until the sweep fills it
        assert search.sync() >= Lead.objects.count()
    else:
        assert jobs == 0  # the index was built in the service's transaction


def test_a_cut_off_read_guesses_how_many_rows_the_lookups_hold():
    """`_estimate` on `(id, field's number, block)` rows: the fields read to the end count as read, the cut one by
    the share of the table its rows spanned (a scan may start anywhere and wrap)."""
    # One field, 3 rows over blocks 0..9 of 100: 2 gaps in 10 blocks -> 20 in the table.
    assert search._estimate([(1, 0, 0), (2, 0, 5), (3, 0, 9)], 100) == 20
    # A scan that started at block 95 and wrapped to 4: the same span.
    assert search._estimate([(1, 0, 95), (2, 0, 99), (3, 0, 4)], 100) == 20
    # The first field read to the end (2 rows), the second cut: 2 + 1 gap in 2 blocks of 100.
    assert search._estimate([(1, 0, 3), (2, 0, 7), (3, 1, 10), (4, 1, 11)], 100) == 2 + 50
    # Nothing to measure: the rows as read.
    assert search._estimate([(1, 0, 3), (2, 1, 7)], 100) == 2
    assert search._estimate([(1, 0, 3), (2, 0, 7)], 0) == 2
