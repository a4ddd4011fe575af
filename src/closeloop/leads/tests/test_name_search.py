"""Search by a fragment of a company or contact name finds what a plain substring match finds, on both databases,
whichever index serves it."""

import pytest
from django.db import connection
from django.db.models import Q

from closeloop.core.models import Channel
from closeloop.leads import name_search, selectors
from closeloop.leads.models import Lead
from closeloop.leads.selectors import LeadFilters, lead_list
from closeloop.leads.services.editing import lead_update


def _found(user, q):
    return set(lead_list(user=user, filters=LeadFilters(q=q)).values_list("pk", flat=True))


def _substring(q):
    return set(Lead.objects.filter(Q(company_name__icontains=q) | Q(contact_name__icontains=q)).values_list("pk", flat=True))


@pytest.fixture
def named(org, make_lead):
    return {
        "acme": make_lead(company_name="ACME Robotics 苏州有限公司", contact_name="王小明"),
        "haina": make_lead(company_name="深圳海纳电子有限公司", contact_name="李雷"),
        "quote": make_lead(company_name='北京"引号"咨询有限公司', contact_name="韩梅梅"),
        "other": make_lead(company_name="杭州云栖信息技术有限公司", contact_name="赵敏", owner=org.outsider),
    }


@pytest.mark.parametrize("q", ["海纳电", "海纳", "acme rob", "Robotics", "王小明", "小明", '"引号"', "有限公司", "不存在的名字"])
def test_fragment_finds_exactly_what_a_substring_match_finds(org, named, q):
    assert _found(org.admin, q) == _substring(q)


def test_finds_by_three_or_more_characters_of_company_or_contact(org, named):
    assert _found(org.admin, "海纳电子") == {named["haina"].pk}
    assert _found(org.admin, "acme") == {named["acme"].pk}  # ASCII case does not matter, as before
    assert _found(org.admin, "韩梅梅") == {named["quote"].pk}


def test_search_keeps_visibility(org, named):
    assert _found(org.owner, "云栖信息") == set()
    assert _found(org.outsider, "云栖信息") == {named["other"].pk}


def test_renamed_and_deleted_leads_are_found_by_their_current_names(org, named):
    lead_update(lead=named["haina"], data={"company_name": "深圳新名字科技有限公司"}, actor=org.admin,
                channel=Channel.WEB)
    assert _found(org.admin, "海纳电子") == set()
    assert _found(org.admin, "新名字科技") == {named["haina"].pk}
    Lead.objects.filter(pk=named["acme"].pk).delete()
    assert _found(org.admin, "Robotics") == set()


def test_many_matches_walk_the_list_order_and_find_the_same(org, named, monkeypatch):
    expected = _found(org.admin, "有限公司")
    monkeypatch.setattr(selectors, "NAME_CANDIDATES_LIMIT", 1)
    assert _found(org.admin, "有限公司") == expected == _substring("有限公司")


def test_results_are_the_same_before_and_after_the_index_catches_up(org, named, make_lead):
    late = make_lead(company_name="重庆迟到者物流有限公司")
    lead_update(lead=named["acme"], data={"company_name": "ACME Drones 苏州有限公司"}, actor=org.admin,
                channel=Channel.WEB)
    before = {q: _found(org.admin, q) for q in ("迟到者物流", "Robotics", "Drones", "海纳电子")}
    assert before == {"迟到者物流": {late.pk}, "Robotics": set(), "Drones": {named["acme"].pk},
                      "海纳电子": {named["haina"].pk}}
    synced = name_search.sync_sqlite_index(batch=2)
    # The five leads written since the test database was migrated, and the renamed one.
    assert synced == (0 if connection.vendor == "postgresql" else Lead.objects.count() + 1)
    assert {q: _found(org.admin, q) for q in before} == before


def test_the_index_is_in_place_and_survives_a_lost_trigger(org, named, make_lead):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'leads_lead'")
            names = {row[0] for row in cursor.fetchall()}
        assert {index for index, _column in name_search.PG_INDEXES} <= names
        return
    # SQLite: Django rebuilds tables on some schema changes and their triggers go with them; the
    # post-migrate check puts them back and re-indexes every lead.
    name_search.sync_sqlite_index()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER leads_lead_name_queue_au")
    lead_update(lead=named["haina"], data={"company_name": "重庆迟到者物流有限公司"}, actor=org.admin,
                channel=Channel.WEB)
    late = named["haina"]
    assert name_search.ensure_sqlite_index(connection) is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead_name_queue")
        assert cursor.fetchone()[0] == 0  # found through the index itself, not as a queued candidate
        cursor.execute("SELECT indexed_upto FROM leads_lead_name_state")
        assert cursor.fetchone()[0] == Lead.objects.order_by("-pk").first().pk
    assert _found(org.admin, "迟到者物流") == {late.pk}
    assert name_search.ensure_sqlite_index(connection) is False


def test_the_sweep_runs_the_sync(org, named):
    from closeloop.core.schedule import SWEEPS
    from closeloop.leads.tasks import sync_name_index

    assert "leads.sync_name_index" in SWEEPS
    assert sync_name_index.call() == (0 if connection.vendor == "postgresql" else Lead.objects.count())
    assert sync_name_index.call() == 0
