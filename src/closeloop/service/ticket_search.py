"""Ticket search by a fragment of its number, its subject or its customer's name, served by trigram indexes.

`icontains` on the three, OR-ed, scans every ticket (262/307 ms p50/p95 at a million tickets for a customer-name
fragment). Instead:

- SQLite: core's trigram index (`core/text_search.py`) over the ticket's number, subject and customer's name, in
  one FTS5 row per ticket. Triggers queue a ticket whose number, subject or customer changes, every ticket of a
  customer whose name changes, and deleted tickets; new tickets are candidates until the worker's sweep
  (`service.sync_ticket_search`, and gen-data after a bulk load) indexes them. A fragment with more candidates
  than `candidates_limit()` is common: the list walks its own order and finds a page of matches sooner.
- PostgreSQL: `pg_trgm` GIN indexes on `UPPER(number)`, `UPPER(title)` and the customers' `UPPER(name)` (the
  expressions Django's `icontains` compares), read as the union of three index lookups (an OR across a join
  would not use them), fetched as ids (at most `candidates_limit()`; more walk the list's order as on SQLite).

On SQLite the plain `icontains` condition is still applied to the candidates (PostgreSQL's union is that match),
so the results are exactly the substring match's, and visibility is the list's own (`visible_to`) as before.

A fragment of one or two characters is shorter than a trigram: no index serves it. It is looked up in the newest
`SHORT_WINDOW` tickets the viewer sees (number, subject and customer's name), a bound the list and the API say;
three characters search every ticket. (Looking up every customer's name as well was tried: two common characters
matched a thousand customers at a million tickets, and sorting their 23,000 tickets took 355 ms.)
"""

import math

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from closeloop.core import text_search
from closeloop.core.customfields import search as custom_search

MIN_LENGTH = text_search.MIN_LENGTH
SHORT_WINDOW = 5_000
PAGE_ROWS = 25  # core.pagination's page


def candidates_limit() -> int:
    """Above this many candidates, walking the list's own order finds a page of matches sooner than reading every
    candidate: reading k candidates costs about k rows, walking about PAGE_ROWS × tickets / k, so the two meet at
    √(PAGE_ROWS × tickets) (5,000 at a million tickets; measured on both databases)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'service_ticket'")
        else:
            cursor.execute("SELECT max(id) FROM service_ticket")
        row = cursor.fetchone()
    tickets = max(row[0] or 0, 0) if row else 0
    return max(500, math.isqrt(int(PAGE_ROWS * tickets)))

_TRIGGERS = {
    "service_ticket_text_queue_ad": """
        CREATE TRIGGER IF NOT EXISTS service_ticket_text_queue_ad AFTER DELETE ON service_ticket BEGIN
            INSERT OR IGNORE INTO service_ticket_text_queue(ticket_id) VALUES (old.id);
        END""",
    "service_ticket_text_queue_au": """
        CREATE TRIGGER IF NOT EXISTS service_ticket_text_queue_au AFTER UPDATE OF number, title, customer_id
        ON service_ticket WHEN old.number IS NOT new.number OR old.title IS NOT new.title
        OR old.customer_id IS NOT new.customer_id BEGIN
            INSERT OR IGNORE INTO service_ticket_text_queue(ticket_id) VALUES (new.id);
        END""",
    # A customer's new name is in each of its tickets' rows: queue them (on the tickets' customer index).
    "service_ticket_text_customer_au": """
        CREATE TRIGGER IF NOT EXISTS service_ticket_text_customer_au AFTER UPDATE OF name ON deals_customer
        WHEN old.name IS NOT new.name BEGIN
            INSERT OR IGNORE INTO service_ticket_text_queue(ticket_id)
            SELECT id FROM service_ticket WHERE customer_id = new.id;
        END""",
}

INDEX = text_search.TrigramIndex(
    name="service_ticket_text", table="service_ticket", columns=("number", "title", "customer_name"),
    select=("SELECT t.id, t.number, t.title, c.name FROM service_ticket t "
            "JOIN deals_customer c ON c.id = t.customer_id"),
    id_column="t.id", key="ticket_id", triggers=_TRIGGERS)

# PostgreSQL: (index name, table, column).
PG_INDEXES = [("ticket_number_trgm", "service_ticket", "number"), ("ticket_title_trgm", "service_ticket", "title"),
              ("customer_name_trgm", "deals_customer", "name")]

PG_CANDIDATES_SQL = (
    'SELECT id FROM service_ticket WHERE UPPER("number"::text) LIKE UPPER(%s) '
    'UNION SELECT id FROM service_ticket WHERE UPPER("title"::text) LIKE UPPER(%s) '
    'UNION SELECT id FROM service_ticket WHERE customer_id IN '
    '(SELECT id FROM deals_customer WHERE UPPER("name"::text) LIKE UPPER(%s))'
)


def matching(text: str, user) -> Q:
    """The condition for tickets whose number, subject or customer's name contains `text` (stripped, non-empty);
    the tickets `user` sees bound a short fragment. (Only then are they built: a sales director's visibility costs
    Django some 3 ms of CPU to build, for nothing when the fragment has trigrams.)"""
    from .models import Ticket

    exact = Q(number__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text)
    if len(text) < MIN_LENGTH:
        # The searchable custom values are looked in within the same window.
        exact = custom_search.also(exact, Ticket._meta.label, text, user)
        visible = Ticket.objects.visible_to(user)
        newest = visible.order_by("-id").values_list("pk", flat=True)[:SHORT_WINDOW]
        if connection.vendor != "postgresql":
            return Q(pk__in=newest) & exact  # SQLite reads the window's ids, then their rows
        # PostgreSQL compared every ticket's text before joining such a subquery (470 ms at 100k tickets): the
        # window is given as the id of its oldest ticket, a range the list walks in its own order.
        edge = list(newest[SHORT_WINDOW - 1:SHORT_WINDOW])
        return Q(pk__gte=edge[0]) & exact if edge else exact
    # The searchable custom values, through their own index (core/customfields/search.py).
    return custom_search.also(_built_in(text, exact), Ticket._meta.label, text, user)


def _built_in(text: str, exact: Q) -> Q:
    limit = candidates_limit()
    if connection.vendor == "sqlite":
        if text_search.count_candidates(INDEX, text, limit) > limit:
            return exact
        return Q(pk__in=RawSQL(INDEX.candidates_sql, [text_search.phrase(text)])) & exact
    if connection.vendor == "postgresql":
        # The candidates read once, as ids: given as a subquery, the planner joined them to a scan of every ticket
        # (102 ms at 100k). The union is the substring match itself, so nothing is compared again.
        pattern = f"%{connection.ops.prep_for_like_query(text)}%"
        with connection.cursor() as cursor:
            cursor.execute(f"{PG_CANDIDATES_SQL.replace(' UNION ', ' UNION ALL ')} LIMIT %s",  # noqa: S608
                           [pattern] * 3 + [limit + 1])
            rows = cursor.fetchall()
        # Rows, not tickets, are what the LIMIT cut: a ticket matching in two columns is two rows, so a cut list can
        # hold fewer tickets than the cap while a match was left unread.
        return exact if len(rows) > limit else Q(pk__in=_ids({row[0] for row in rows}))
    return exact


def _ids(ids) -> RawSQL:
    """Ids as one array parameter (PostgreSQL): thousands of `IN (%s, ...)` parameters cost Django ~100 ms to
    compile and the planner more to plan."""
    return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])


def ensure_sqlite_index(connection=None) -> bool:
    return text_search.ensure(INDEX, connection)


def sync_sqlite_index(connection=None, *, batch: int = 20_000) -> int:
    """Index changed, deleted and new tickets in bulk; returns how many. A no-op on PostgreSQL."""
    return text_search.sync(INDEX, connection, batch=batch)


def drop_sqlite_index(connection) -> None:
    text_search.drop(INDEX, connection)


def on_post_migrate(sender, using="default", **kwargs):
    from django.db import connections

    ensure_sqlite_index(connections[using])
