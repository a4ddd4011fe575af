"""Receivables (应收账款): what customers still owe on signed contracts, by customer, by rep and by age.

The page reads the summaries `receivable_summary` keeps (what each rep is owed per due date, and per customer)
rather than the instalments themselves: at 200k contracts there are 600k instalments, and three passes over
them cost more than the page's budget. The age buckets and the by-rep table come from one grouped query over
`ReceivableDay` (a few thousand rows), with filtered sums whose bucket edges are dates worked out here; the
by-customer table is ranked from `ReceivableCustomer` and only the page's 25 customers are split into buckets
from their instalments (through the partial index on customer). The drill-downs and the export read the
instalments. Finance and administrators read the whole company; a manager reads the contracts their team
owns. Amounts are summed by the database and quantized once here; the tests check the sums on SQLite and
PostgreSQL, and that the summaries equal the instalments.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Role, User
from closeloop.core.money import format_yuan, quantize
from closeloop.core.pagination import page_of
from closeloop.core.visibility import team_owner_ids
from closeloop.deals.models import Customer

from . import access
from .models import Instalment, ReceivableCustomer, ReceivableDay

# The age buckets: key, label, and (oldest, newest) days overdue; None is open-ended.
BUCKETS = [
    ("not_due", _("Not yet due"), None),
    ("d1_30", _("1–30 days"), (1, 30)),
    ("d31_60", _("31–60 days"), (31, 60)),
    ("d61_90", _("61–90 days"), (61, 90)),
    ("d90_plus", _("Over 90 days"), (91, None)),
]
BUCKET_KEYS = [key for key, _label, _days in BUCKETS]
EDGES = {key: days for key, _label, days in BUCKETS}


def bucket_condition(key: str, today: date) -> Q:
    """The rows of one bucket: due dates between two edges (an instalment without a date is not yet due)."""
    if key == "not_due":
        return Q(due_date__isnull=True) | Q(due_date__gte=today)
    oldest, newest = EDGES[key]
    condition = Q(due_date__lte=today - timedelta(days=oldest))
    if newest is not None:
        condition &= Q(due_date__gte=today - timedelta(days=newest))
    return condition


def _readable(user: User, rows):
    if not access.can_read_receivables(user):
        return rows.none()
    if user.is_admin or user.role == Role.FINANCE:
        return rows
    return rows.filter(owner__in=team_owner_ids(user))


def receivable_instalments(user: User):
    """The receivable instalments `user` may read; none for whoever may not read receivables."""
    return _readable(user, Instalment.objects.filter(receivable=True))


def receivable_days(user: User):
    """The per-rep, per-due-date summary rows `user` may read (same columns as the instalments: owner,
    due_date, outstanding), for the totals and the by-rep table."""
    return _readable(user, ReceivableDay.objects.filter(instalments__gt=0))


def receivable_customers(user: User):
    """The per-rep, per-customer summary rows `user` may read, which rank the by-customer table."""
    return _readable(user, ReceivableCustomer.objects.filter(instalments__gt=0))


def _sums(today: date) -> dict:
    sums = {key: Sum("outstanding", filter=bucket_condition(key, today)) for key in BUCKET_KEYS}
    sums["total"] = Sum("outstanding")
    return sums


def _quantized(row: dict) -> dict:
    return {key: quantize(row.get(key) or 0) for key in [*BUCKET_KEYS, "total"]}


@dataclass
class Line:
    """One row of a receivables table: a customer or a rep, what they owe in total and in each bucket."""

    key: int
    name: str
    total: Decimal
    buckets: dict = field(default_factory=dict)

    @property
    def cells(self) -> list:
        return [self.buckets[key] for key in BUCKET_KEYS]

    @property
    def shown(self) -> list[tuple[str, str]]:
        """(bucket, amount as the page shows it, "" for nothing): the page's cells, formatted here once."""
        return [(key, format_yuan(self.buckets[key]) if self.buckets[key] else "") for key in BUCKET_KEYS]


def _lines(rows, names: dict) -> list[Line]:
    result = []
    for row in rows:
        sums = _quantized(row)
        key = row["key"]
        result.append(Line(key=key, name=names.get(key, f"#{key}"), total=sums["total"],
                           buckets={k: sums[k] for k in BUCKET_KEYS}))
    return result


def totals(rows, today: date) -> dict:
    return _quantized(rows.aggregate(**_sums(today)))


def summary(user: User, today: date) -> tuple[dict, list[Line]]:
    """The page's head: the totals by age bucket and the by-rep table, from one grouped query over the
    per-rep, per-due-date summary; the totals are the sums of the reps' rows, as the page shows them."""
    reps = by_rep(receivable_days(user), today)
    totals = {key: sum((line.buckets[key] for line in reps), start=quantize(0)) for key in BUCKET_KEYS}
    totals["total"] = sum((line.total for line in reps), start=quantize(0))
    return totals, reps


def by_rep(rows, today: date) -> list[Line]:
    """Every owner with something outstanding, largest first (a few hundred reps at most)."""
    grouped = list(rows.values("owner").annotate(**_sums(today)).order_by())
    for row in grouped:
        row["key"] = row.pop("owner")
    grouped.sort(key=lambda row: (-(row["total"] or 0), row["key"]))
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=[row["key"] for row in grouped])}
    return _lines(grouped, names)


def by_customer(rows, today: date, *, page: int, per_page: int = 25, ranking=None) -> dict:
    """One page of customers (`core.pagination.page_of`; its rows are `Line`s), largest outstanding first:
    ranked by `ranking` (rows with customer and outstanding; `rows` when not given), split into buckets from
    `rows` (instalments) for the page's customers only."""
    ranking = rows if ranking is None else ranking
    result = page_of(ranking.values("customer").annotate(total=Sum("outstanding")).order_by("-total", "customer"),
                     page=page, per_page=per_page)
    ids = [row["customer"] for row in result["rows"]]
    sums = {row["customer"]: row for row in rows.filter(customer__in=ids).values("customer").annotate(**_sums(today))
            .order_by()}
    grouped = [{**sums.get(key, {}), "key": key} for key in ids]
    names = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
    result["rows"] = _lines(grouped, names)
    return result


@dataclass
class DrillFilters:
    customer: str = ""
    owner: str = ""
    bucket: str = ""

    def apply(self, rows, today: date, *, bucket: bool = True):
        if self.customer.isdigit():
            rows = rows.filter(customer_id=int(self.customer))
        if self.owner.isdigit():
            rows = rows.filter(owner_id=int(self.owner))
        if bucket and self.bucket in BUCKET_KEYS:
            rows = rows.filter(bucket_condition(self.bucket, today))
        return rows

    @property
    def active(self) -> bool:
        return bool(self.customer or self.owner or self.bucket)


def drill_total(user: User, filters: DrillFilters, today: date):
    """What the instalments behind a drill-down add up to: from the summary unless a customer is chosen."""
    rows = receivable_instalments(user) if filters.customer.isdigit() else receivable_days(user)
    return totals(filters.apply(rows, today), today)["total"]


def drilldown(rows, filters: DrillFilters, today: date):
    """The instalments behind a cell of the tables, oldest due first (for the export: every row)."""
    return (filters.apply(rows, today).select_related("contract", "customer", "owner")
            .order_by("due_date", "id"))


def _ids_page(first, second, *, page: int, per_page: int) -> dict:
    """`page_of` over the ids of `first` followed by those of `second`, each in its own index order; `first`
    is counted only on the page where it runs out."""
    start, wanted = (page - 1) * per_page, per_page + 1
    window = list(first[start: start + wanted])
    if len(window) < wanted:
        skip = 0 if window else max(0, start - first.count())
        window += list(second[skip: skip + wanted - len(window)])
    return {"rows": window[:per_page], "number": page, "has_previous": page > 1, "has_next": len(window) > per_page,
            "previous": page - 1, "next": page + 1, "pages": None}


def drilldown_page(rows, filters: DrillFilters, today: date, *, page: int, per_page: int = 50) -> dict:
    """One page of `drilldown`: the page's ids first, from the partial due-date index alone (joining the
    contract, customer and rep before sorting would join every row of the bucket: 170 ms for a manager's
    31–60 days at 200k contracts, against 6 ms), then those rows with what they show. Instalments without a
    due date come after the dated ones, on both databases: "not yet due" (dated OR undated) would otherwise
    sort the whole bucket, as neither database reads an OR of two ranges in index order."""
    page = max(1, page)
    if filters.bucket == "not_due":
        unbucketed = filters.apply(rows, today, bucket=False)
        dated, undated = unbucketed.filter(due_date__gte=today), unbucketed.filter(due_date__isnull=True)
    else:
        selected = filters.apply(rows, today)
        dated, undated = selected.filter(due_date__isnull=False), selected.filter(due_date__isnull=True)
    result = _ids_page(dated.order_by("due_date", "id").values_list("pk", flat=True),
                       undated.order_by("id").values_list("pk", flat=True), page=page, per_page=per_page)
    found = Instalment.objects.select_related("contract", "customer", "owner").in_bulk(result["rows"])
    result["rows"] = [found[pk] for pk in result["rows"] if pk in found]
    return result


def age_days(instalment: Instalment, today: date) -> int:
    return (today - instalment.due_date).days if instalment.due_date and instalment.due_date < today else 0


def bucket_of(instalment: Instalment, today: date) -> str:
    days = age_days(instalment, today)
    for key, _label, edges in BUCKETS[1:]:
        oldest, newest = edges
        if days >= oldest and (newest is None or days <= newest):
            return key
    return "not_due"
