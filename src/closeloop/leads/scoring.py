"""Rule-based lead scoring (BANT, fit, behaviour) with an explanation of every point.

`score_lead` is called by `lead_submit` before the lead is saved; `rescore_all` (run as a background
job when rules change) applies the same rules to every lead with bulk updates.
"""

import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.models import CustomField
from closeloop.followup.models import Activity, ActivityKind

from .quality import QualitySettings, ScoringKind, ScoringRule

# Rules are evaluated BANT first, then fit, then behaviour, so explanations read in that order.
KIND_ORDER = list(ScoringKind.values)

DEFAULT_RULES = [
    # (kind, label, keywords, min_amount, max_amount, min_count, points)
    (ScoringKind.BUDGET, "预算50万以上", "", 500000, None, None, 30),
    (ScoringKind.BUDGET, "预算10万–50万", "", 100000, 500000, None, 20),
    (ScoringKind.BUDGET, "预算1万–10万", "", 10000, 100000, None, 10),
    (ScoringKind.AUTHORITY, "决策人", "总经理,副总,总监,董事,老板,负责人,CEO,CTO,CIO,Director,VP", None, None, None, 20),
    (ScoringKind.AUTHORITY, "中层", "经理,主管,主任,Manager,Head", None, None, None, 10),
    (ScoringKind.NEED, "有明确需求", "", None, None, None, 10),
    (ScoringKind.TIMELINE, "1个月内", "1个月,一个月,本月,两周,2周,马上,尽快,立即", None, None, None, 20),
    (ScoringKind.TIMELINE, "3个月内", "3个月,三个月,本季度,季度", None, None, None, 10),
    (ScoringKind.TIMELINE, "半年内", "半年,6个月,六个月", None, None, None, 5),
    (ScoringKind.INDUSTRY, "重点行业", "制造,软件,医疗,新能源,金融", None, None, None, 10),
    (ScoringKind.REGION, "重点区域", "上海,江苏,浙江,广东,北京", None, None, None, 10),
    (ScoringKind.COMPANY_SIZE, "大型企业", "500人以上,1000", None, None, None, 15),
    (ScoringKind.COMPANY_SIZE, "中型企业", "100-499", None, None, None, 10),
    (ScoringKind.COMPANY_SIZE, "小型企业", "20-99", None, None, None, 5),
    (ScoringKind.SOURCE, "转介绍", "朋友介绍,老客户转介绍", None, None, None, 20),
    (ScoringKind.SOURCE, "主动来源", "展会,官网,电话", None, None, None, 10),
    (ScoringKind.SOURCE, "推广来源", "广告,微信", None, None, None, 5),
    (ScoringKind.TOUCHES, "多次接触（3次以上）", "", None, None, 3, 15),
    (ScoringKind.TOUCHES, "再次接触", "", None, None, 1, 5),
]


def quality_settings() -> QualitySettings:
    """The settings row, created with defaults (and default scoring rules) on first use."""
    found = QualitySettings.objects.filter(pk=1).first()
    if found is not None:
        return found
    with transaction.atomic():
        found, created = QualitySettings.objects.get_or_create(pk=1)
        if created and not ScoringRule.objects.exists():
            ScoringRule.objects.bulk_create([
                ScoringRule(kind=kind, label=label, keywords=keywords, min_amount=low, max_amount=high,
                            min_count=count, points=points, position=n)
                for n, (kind, label, keywords, low, high, count, points) in enumerate(DEFAULT_RULES)
            ])
    return found


@dataclass
class Ruleset:
    rules: list[ScoringRule]
    settings: QualitySettings

    @classmethod
    def load(cls) -> "Ruleset":
        settings = quality_settings()
        rules = sorted(ScoringRule.objects.filter(active=True),
                       key=lambda r: (KIND_ORDER.index(r.kind), r.position, r.pk))
        for rule in rules:
            # (keyword as written, lower-cased) once per load, not once per lead and rule.
            rule.keywords_cached = [(word, word.lower()) for word in rule.keyword_list()]
            rule.custom_test()  # compiled here, not on the first lead
        return cls(rules=rules, settings=settings)

    @classmethod
    def current(cls) -> "Ruleset":
        """The rules in force, from the per-process cache: read-only, shared between requests."""
        # A custom field's type or options change what its conditions test: they drop the rules too.
        return configcache.cached("scoring.ruleset", cls.load, models=(QualitySettings, ScoringRule, CustomField))

    def grade(self, score: int) -> str:
        s = self.settings
        if score >= s.grade_a_min:
            return "A"
        if score >= s.grade_b_min:
            return "B"
        if score >= s.grade_c_min:
            return "C"
        return "D"

    def evaluate(self, lead, *, touches: int) -> tuple[int, list[dict]]:
        """The score and one explanation line per rule that gave points (first match per kind)."""
        details = []
        scored_kinds = set()
        texts = _texts()
        for rule in self.rules:
            # Custom-field rules count once per field, as the built-in kinds once per kind.
            kind = rule.kind if rule.kind != ScoringKind.CUSTOM else f"custom.{rule.custom_key}"
            if kind in scored_kinds:
                continue
            reason = _match(rule, lead, touches, texts)
            if reason is not None:
                scored_kinds.add(kind)
                details.append({"rule": rule.label, "points": rule.points, "reason": reason})
        return sum(d["points"] for d in details), details


def _contains_any(value: str, keywords: list[tuple[str, str]]) -> str | None:
    lowered = value.lower()
    for word, word_lower in keywords:
        if word_lower in lowered:
            return word
    return None


def _match(rule: ScoringRule, lead, touches: int, texts: dict) -> str | None:
    """Why the rule matches this lead, or None."""
    kind = rule.kind
    if kind == ScoringKind.BUDGET:
        if lead.budget is None:
            return None
        if rule.min_amount is not None and lead.budget < rule.min_amount:
            return None
        if rule.max_amount is not None and lead.budget >= rule.max_amount:
            return None
        return texts["budget"] % {"amount": f"{lead.budget:,.0f}", "rule": rule.label}
    if kind == ScoringKind.NEED:
        return texts["need"] if lead.need.strip() else None
    if kind == ScoringKind.CUSTOM:
        test = rule.custom_test()
        # The value itself is not repeated: the explanation is read by people who may not see the field.
        return texts["custom"] % {"rule": rule.label} if test is not None and test(lead.custom) else None
    if kind == ScoringKind.TOUCHES:
        if touches >= (rule.min_count or 1):
            return texts["touches"] % {"n": touches, "min": rule.min_count or 1}
        return None
    value = _field_value(kind, lead)
    if not value:
        return None
    if word := _contains_any(value, rule.keywords_cached):
        return texts["contains"] % {"field": texts[kind], "value": value, "word": word}
    return None


# Explanations, translated once per language: an import scores a million rows, and gettext per
# explanation line cost more than all the rules together.
_TEXTS = {
    "budget": gettext_noop("Budget ¥%(amount)s is in the range of “%(rule)s”."),
    "need": gettext_noop("A need is described."),
    "touches": gettext_noop("%(n)d repeated touches (at least %(min)d)."),
    "contains": gettext_noop("%(field)s “%(value)s” contains “%(word)s”."),
    "custom": gettext_noop("A custom field meets “%(rule)s”."),
    ScoringKind.AUTHORITY: gettext_noop("Title"), ScoringKind.TIMELINE: gettext_noop("Timeline"),
    ScoringKind.INDUSTRY: gettext_noop("Industry"), ScoringKind.REGION: gettext_noop("Region"),
    ScoringKind.COMPANY_SIZE: gettext_noop("Company size"), ScoringKind.SOURCE: gettext_noop("Source"),
}
_TRANSLATED: dict[str, dict] = {}


def _texts() -> dict:
    language = get_language()
    table = _TRANSLATED.get(language)
    if table is None:
        table = _TRANSLATED[language] = {k: _(v) for k, v in _TEXTS.items()}
    return table


def _field_value(kind, lead) -> str:
    if kind == ScoringKind.AUTHORITY:
        return lead.title
    if kind == ScoringKind.TIMELINE:
        return lead.timeline
    if kind == ScoringKind.INDUSTRY:
        return lead.industry
    if kind == ScoringKind.REGION:
        return f"{lead.region} {lead.city}".strip()
    if kind == ScoringKind.COMPANY_SIZE:
        return lead.company_size
    return lead.source.name if lead.source_id else ""


def touch_count(lead) -> int:
    if lead.pk is None:
        return 0
    return Activity.objects.for_record(lead).filter(kind=ActivityKind.TOUCH).count()


def score_lead(lead, *, ruleset: Ruleset | None = None, touches: int | None = None) -> None:
    """Set score, grade and the explanation. A new lead below the nurture threshold goes to nurture.

    `touches`: the lead's touch count when the caller has it (else counted here)."""
    ruleset = ruleset or Ruleset.current()
    score, details = ruleset.evaluate(lead, touches=touch_count(lead) if touches is None else touches)
    lead.score, lead.grade, lead.score_details = score, ruleset.grade(score), details
    if lead.pk is None and score < ruleset.settings.nurture_below:
        from .models import LeadStatus

        lead.status = LeadStatus.NURTURE


def rescore_lead(lead) -> None:
    """Score a saved lead again after its data or its touches changed; its status stays."""
    score_lead(lead)
    # updated_at too: an API client syncing on it must hear of the new score.
    type(lead).objects.filter(pk=lead.pk).update(score=lead.score, grade=lead.grade, score_details=lead.score_details,
                                                 updated_at=timezone.now())


RESCORE_BATCH = 2000


def rescore_all() -> int:
    """Apply the current rules to every lead, in batches by primary key; returns how many changed.

    Statuses stay as they are: the nurture threshold decides only where a new lead goes.
    """
    from .models import Lead

    touches = Coalesce(Subquery(
        Activity.objects.for_record_id(Lead, OuterRef("pk")).filter(kind=ActivityKind.TOUCH).order_by()
        .values("record_id").annotate(n=Count("id")).values("n"), output_field=IntegerField(),
    ), Value(0))
    ruleset = Ruleset.load()
    fields = ["id", "budget", "title", "need", "timeline", "industry", "region", "city", "company_size",
              "source__name", "score", "grade", "score_details", "custom"]
    changed = 0
    last_pk = 0
    while True:
        batch = list(
            Lead.objects.filter(pk__gt=last_pk).order_by("pk").select_related("source").only(*fields)
            .annotate(touches=touches)[:RESCORE_BATCH]
        )
        if not batch:
            return changed
        last_pk = batch[-1].pk
        # Leads with the same outcome share one UPDATE ... WHERE id IN (...); the rest go through
        # bulk_update in small batches, whose per-row CASE expressions grow quadratically with size.
        outcomes: dict[str, list] = {}
        for lead in batch:
            score, details = ruleset.evaluate(lead, touches=lead.touches)
            grade = ruleset.grade(score)
            if (score, grade, details) != (lead.score, lead.grade, lead.score_details):
                lead.score, lead.grade, lead.score_details = score, grade, details
                key = json.dumps([score, grade, details], ensure_ascii=False, sort_keys=True)
                outcomes.setdefault(key, []).append(lead)
        singles = [leads[0] for leads in outcomes.values() if len(leads) == 1]
        # A changed score moves updated_at, so an API client syncing on it hears of it.
        now = timezone.now()
        for lead in singles:
            lead.updated_at = now
        with transaction.atomic():
            for leads in outcomes.values():
                if len(leads) > 1:
                    first = leads[0]
                    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
                        score=first.score, grade=first.grade, score_details=first.score_details, updated_at=now)
            Lead.objects.bulk_update(singles, ["score", "grade", "score_details", "updated_at"], batch_size=100)
        changed += sum(len(leads) for leads in outcomes.values())
