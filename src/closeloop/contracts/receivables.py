"""Receivables (应收账款): what customers still owe on signed contracts, by customer, by rep and by age.

Everything here reads the instalments flagged `receivable` (signed or in performance, something outstanding)
through the partial covering indexes on them: each grouping is one pass over one index, summing
`outstanding` into the five age buckets with filtered aggregates (no join, no per-row date arithmetic: the
bucket edges are dates worked out here). Finance and administrators read the whole company; a manager reads
the contracts their team owns. Amounts are summed by the database and quantized once here; the tests check
the sums on SQLite and PostgreSQL.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from closeloop.core.models import Role, User
from closeloop.core.money import quantize
from closeloop.core.visibility import team_owner_ids
from closeloop.deals.models import Customer

from . import access
from .models import Instalment

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


def receivable_instalments(user: User):
    """The receivable instalments `user` may read; none for whoever may not read receivables."""
    rows = Instalment.objects.filter(receivable=True)
    if not access.can_read_receivables(user):
        return rows.none()
    if user.is_admin or user.role == Role.FINANCE:
        return rows
    return rows.filter(owner__in=team_owner_ids(user))


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


def by_rep(rows, today: date) -> list[Line]:
    """Every owner with something outstanding, largest first (a few hundred reps at most)."""
    grouped = list(rows.values("owner").annotate(**_sums(today)).order_by())
    for row in grouped:
        row["key"] = row.pop("owner")
    grouped.sort(key=lambda row: (-(row["total"] or 0), row["key"]))
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=[row["key"] for row in grouped])}
    return _lines(grouped, names)


def by_customer(rows, today: date, *, page: int, per_page: int = 25) -> tuple[list[Line], bool]:
    """One page of customers, largest outstanding first; and whether there is a next page."""
    grouped = list(rows.values("customer").annotate(**_sums(today)).order_by("-total", "customer")
                   [(page - 1) * per_page: page * per_page + 1])
    has_next = len(grouped) > per_page
    grouped = grouped[:per_page]
    for row in grouped:
        row["key"] = row.pop("customer")
    names = dict(Customer.objects.filter(pk__in=[row["key"] for row in grouped]).values_list("pk", "name"))
    return _lines(grouped, names), has_next


@dataclass
class DrillFilters:
    customer: str = ""
    owner: str = ""
    bucket: str = ""

    def apply(self, rows, today: date):
        if self.customer.isdigit():
            rows = rows.filter(customer_id=int(self.customer))
        if self.owner.isdigit():
            rows = rows.filter(owner_id=int(self.owner))
        if self.bucket in BUCKET_KEYS:
            rows = rows.filter(bucket_condition(self.bucket, today))
        return rows

    @property
    def active(self) -> bool:
        return bool(self.customer or self.owner or self.bucket)


def drilldown(rows, filters: DrillFilters, today: date):
    """The instalments behind a cell of the tables, oldest due first (those without a date last)."""
    return (filters.apply(rows, today).select_related("contract", "customer", "owner")
            .order_by("due_date", "id"))


def age_days(instalment: Instalment, today: date) -> int:
    return (today - instalment.due_date).days if instalment.due_date and instalment.due_date < today else 0


def bucket_of(instalment: Instalment, today: date) -> str:
    days = age_days(instalment, today)
    for key, _label, edges in BUCKETS[1:]:
        oldest, newest = edges
        if days >= oldest and (newest is None or days <= newest):
            return key
    return "not_due"
