"""Demo lead-quality setup for `closeloop demo`: default scoring, assignment rules, a living pool."""

from datetime import timedelta

from django.utils import timezone

from .assignment import OPEN_STATUSES
from .models import Lead
from .pool import pool_sweep_run
from .quality import AssignmentStrategy
from .rule_services import assignment_rule_save
from .scoring import quality_settings


def load_demo_rules(*, admin, team_a, team_b, referral_reps, sources) -> None:
    """Rules before the leads arrive, so the demo leads are scored and routed as real ones would be.

    Leads from regions no rule covers (北京, 四川, 湖北) and low grades from 华东 land in the pool.
    """
    quality_settings()  # the default scoring rules and thresholds
    assignment_rule_save(actor=admin, members=[(rep, weight) for rep, weight in referral_reps], data={
        "name": "转介绍（按权重）", "position": 0, "active": True, "strategy": AssignmentStrategy.WEIGHTED,
        "sources": [sources["朋友介绍"], sources["老客户转介绍"]],
    })
    assignment_rule_save(actor=admin, members=[], data={
        "name": "华东 A/B 级", "position": 1, "active": True, "strategy": AssignmentStrategy.ROUND_ROBIN,
        "regions": "上海,江苏,浙江", "grades": "AB", "department": team_a,
    })
    assignment_rule_save(actor=admin, members=[], data={
        "name": "华南", "position": 2, "active": True, "strategy": AssignmentStrategy.LEAST_LOAD,
        "regions": "广东,福建", "department": team_b,
    })


def load_demo_pool(*, rng, returned: int = 6, warned: int = 4) -> None:
    """Age a few owned leads so the pool sweep has something to return and to warn about."""
    open_leads = list(Lead.objects.filter(owner__isnull=False, status__in=OPEN_STATUSES, activities__isnull=True)
                      .order_by("pk").values_list("pk", flat=True))
    picked = rng.sample(open_leads, min(len(open_leads), returned + warned))
    now = timezone.now()
    days = quality_settings().return_after_days_without_follow_up
    Lead.objects.filter(pk__in=picked[:returned]).update(assigned_at=now - timedelta(days=days + 3))
    Lead.objects.filter(pk__in=picked[returned:]).update(assigned_at=now - timedelta(days=days - 0.5))
    pool_sweep_run(now=now)
