"""Ticket search by a fragment of the number, the subject or the customer's name finds what a plain substring match
finds, on both databases, whichever index serves it; visibility still applies; one or two characters have a
bounded path of their own."""

import pytest
from django.db import connection
from django.db.models import Q

from closeloop.deals.services.customers import customer_update
from closeloop.service import ticket_search, tickets
from closeloop.service.models import Ticket
from closeloop.service.selectors import ticket_list

pytestmark = pytest.mark.django_db


def _found(user, q):
    return set(ticket_list(user=user, q=q).values_list("pk", flat=True))


def _substring(q):
    return set(Ticket.objects.filter(Q(number__icontains=q) | Q(title__icontains=q) | Q(customer__name__icontains=q))
               .values_list("pk", flat=True))


@pytest.fixture
def raised(org, make_customer, make_ticket):
    acme = make_customer(name="ACME Robotics 苏州有限公司")
    haina = make_customer(name="深圳海纳电子有限公司")
    theirs = make_customer(name="杭州云栖信息技术有限公司", owner=org.outsider)
    return {
        "login": make_ticket(customer=acme, title="系统登录报错"),
        "export": make_ticket(customer=haina, title="报表导出的金额格式不对"),
        "quote": make_ticket(customer=haina, title='打印模板"页眉"错位 50%'),
        "theirs": make_ticket(customer=theirs, title="新员工账号怎么开通", actor=org.admin),
    }


@pytest.mark.parametrize("q", ["海纳电", "acme rob", "Robotics", "登录报错", "金额格式", '"页眉"', "50%", "有限公司",
                               "GD-", "-000", "不存在的名字", "海纳", "登录", "50", "A", "%", "_"])
def test_a_fragment_finds_exactly_what_a_substring_match_finds(org, raised, q):
    assert _found(org.admin, q) == _substring(q)


def test_finds_by_part_of_the_number_the_subject_or_the_customer(org, raised):
    number = raised["export"].number  # GD-2026-00002
    assert _found(org.admin, number[3:]) == {raised["export"].pk}
    assert _found(org.admin, number.lower()) == {raised["export"].pk}  # a whole number, read from its unique index
    assert _found(org.admin, "导出的金额") == {raised["export"].pk}
    assert _found(org.admin, "海纳电子") == {raised["export"].pk, raised["quote"].pk}
    assert _found(org.admin, "acme") == {raised["login"].pk}  # ASCII case does not matter, as before


def test_search_keeps_visibility(org, raised, service_team):
    assert _found(org.owner, "云栖信息") == set() == _found(org.owner, "云栖")
    assert _found(org.teammate, "海纳电子") == set()
    assert _found(org.outsider, "云栖信息") == {raised["theirs"].pk} == _found(org.outsider, "云栖")
    assert _found(org.manager, "海纳电子") == {raised["export"].pk, raised["quote"].pk}
    assert _found(service_team.second, "云栖信息") == {raised["theirs"].pk}  # service serves every customer


def test_renamed_customers_changed_subjects_and_deleted_tickets_are_found_as_they_are_now(org, raised):
    haina = raised["export"].customer
    customer_update(customer=haina, data={"name": "深圳新名字科技有限公司"}, actor=org.owner)
    assert _found(org.admin, "海纳电子") == set()
    assert _found(org.admin, "新名字科技") == {raised["export"].pk, raised["quote"].pk}
    tickets.ticket_update(ticket=raised["login"], data={"title": "单点登录失败"}, actor=raised["login"].owner)
    assert _found(org.admin, "登录报错") == set()
    assert _found(org.admin, "单点登录") == {raised["login"].pk}
    Ticket.objects.filter(pk=raised["theirs"].pk).delete()
    assert _found(org.admin, "员工账号") == set()


def test_results_are_the_same_before_and_after_the_index_catches_up(org, raised, make_ticket):
    late = make_ticket(customer=raised["login"].customer, title="迟到的工单无法保存")
    customer_update(customer=raised["export"].customer, data={"name": "深圳海纳微电子有限公司"}, actor=org.owner)
    queries = ("迟到的工单", "海纳电子", "海纳微电子", "登录报错", "Robotics")
    before = {q: _found(org.admin, q) for q in queries}
    assert before == {"迟到的工单": {late.pk}, "海纳电子": set(), "海纳微电子": {raised["export"].pk, raised["quote"].pk},
                      "登录报错": {raised["login"].pk}, "Robotics": {raised["login"].pk, late.pk}}
    synced = ticket_search.sync_sqlite_index(batch=2)
    # Every ticket written since the test database was migrated (each also queued: its number is set after its id).
    assert synced >= Ticket.objects.count() if connection.vendor == "sqlite" else synced == 0
    assert ticket_search.sync_sqlite_index() == 0
    assert {q: _found(org.admin, q) for q in queries} == before


def test_many_candidates_walk_the_list_order_and_find_the_same(org, raised, monkeypatch):
    expected = _found(org.admin, "有限公司")
    assert ticket_search.candidates_limit() == 500  # a few tickets: the floor
    monkeypatch.setattr(ticket_search, "candidates_limit", lambda: 1)
    assert _found(org.admin, "有限公司") == expected == _substring("有限公司") and len(expected) == 4


def test_a_ticket_found_twice_does_not_hide_another_past_the_cap(org, make_customer, make_ticket, monkeypatch):
    # The candidates are read as rows, one per matching column: a ticket whose subject and customer both match is
    # two rows. Cut at the cap, the rows held fewer tickets than the cap while a match was left unread.
    xingchen = make_customer(name="星辰科技有限公司")
    both = make_ticket(customer=xingchen, title="星辰科技的系统报错")
    by_customer = make_ticket(customer=xingchen, title="打印机卡纸")
    by_title = make_ticket(customer=make_customer(name="ACME Robotics"), title="星辰科技园区网络中断")
    monkeypatch.setattr(ticket_search, "candidates_limit", lambda: 2)
    assert _found(org.admin, "星辰科技") == {both.pk, by_customer.pk, by_title.pk} == _substring("星辰科技")


def test_one_or_two_characters_search_the_newest_tickets_the_viewer_sees(client, org, raised, make_ticket,
                                                                         monkeypatch):
    newest = make_ticket(customer=raised["login"].customer, title="报表打不开")
    assert _found(org.admin, "报表") == {raised["export"].pk, newest.pk}
    assert _found(org.admin, "海纳") == {raised["export"].pk, raised["quote"].pk}
    monkeypatch.setattr(ticket_search, "SHORT_WINDOW", 2)
    # Only the viewer's two newest tickets: subject, number and customer's name alike.
    assert _found(org.admin, "报表") == {newest.pk}
    assert _found(org.admin, "海纳") == set()
    assert _found(org.admin, "ac") == {newest.pk}  # its customer is ACME's
    # The window is of the viewer's own tickets: the outsider's newest is theirs, not the last ones raised.
    assert _found(org.outsider, "开通") == {raised["theirs"].pk}
    # The list says how far a short search looked; three characters search every ticket, and it says nothing.
    client.force_login(org.admin)
    assert 'id="short-search"' in client.get("/service/tickets/?status=all&q=海纳").content.decode()
    page = client.get("/service/tickets/?status=all&q=海纳电").content.decode()
    assert 'id="short-search"' not in page and raised["quote"].number in page


def test_the_index_serves_the_search(org, raised):
    rows = ticket_list(user=org.admin, q="海纳电子")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
            names = {row[0] for row in cursor.fetchall()}
            assert {index for index, _table, _column in ticket_search.PG_INDEXES} <= names
            # The candidates' read. A handful of rows is read by a scan (of the table or its primary key) whatever
            # the indexes; without that choice the plan is theirs.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {ticket_search.PG_CANDIDATES_SQL}", ["%海纳电子%"] * 3)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SET LOCAL enable_seqscan = on")
            cursor.execute("SET LOCAL enable_indexscan = on")
        assert "ticket_number_trgm" in plan and "ticket_title_trgm" in plan and "customer_name_trgm" in plan, plan
    else:
        plan = rows.explain()
        assert "service_ticket_text_index VIRTUAL TABLE INDEX" in plan, plan
    assert set(rows.values_list("pk", flat=True)) == {raised["export"].pk, raised["quote"].pk}


def test_the_index_is_in_place_and_survives_a_lost_trigger(org, raised):
    if connection.vendor == "postgresql":  # its indexes are checked above; nothing to keep in step
        assert ticket_search.ensure_sqlite_index(connection) is False and ticket_search.sync_sqlite_index() == 0
        return
    ticket_search.sync_sqlite_index()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER service_ticket_text_customer_au")
    customer_update(customer=raised["export"].customer, data={"name": "重庆迟到者物流有限公司"}, actor=org.owner)
    assert ticket_search.ensure_sqlite_index(connection) is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM service_ticket_text_queue")
        assert cursor.fetchone()[0] == 0  # found through the index itself, not as a queued candidate
        cursor.execute("SELECT indexed_upto FROM service_ticket_text_state")
        assert cursor.fetchone()[0] == Ticket.objects.order_by("-pk").first().pk
    assert _found(org.admin, "迟到者物流") == {raised["export"].pk, raised["quote"].pk}
    assert ticket_search.ensure_sqlite_index(connection) is False


def test_the_sweep_runs_the_sync(org, raised):
    from closeloop.core.schedule import SWEEPS
    from closeloop.service.tasks import sync_ticket_search

    assert "service.sync_ticket_search" in SWEEPS
    synced = sync_ticket_search.call()
    assert synced >= Ticket.objects.count() if connection.vendor == "sqlite" else synced == 0
    assert sync_ticket_search.call() == 0
