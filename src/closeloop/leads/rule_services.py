"""Writes to the lead-quality settings: scoring rules, assignment rules, thresholds and pool rules.

Only administrators change them; every change is audited, and a scoring change queues a rescore.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import (
    audit_record,
    audited_create,
    audited_update,
    creation_changes,
    diff,
    snapshot,
)
from closeloop.core.customfields import conditions
from closeloop.core.customfields.conditions import Operator
from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import Channel, User

from .models import ChannelPolicy
from .quality import (
    AssignmentMember,
    AssignmentRule,
    AssignmentStrategy,
    QualitySettings,
    ScoringKind,
    ScoringRule,
)
from .scoring import quality_settings
from .tasks import enqueue_rescore

LEAD_TARGET = "leads.Lead"

THRESHOLD_FIELDS = ["grade_a_min", "grade_b_min", "grade_c_min", "nurture_below"]
SLA_FIELDS = ["first_contact_hours", "follow_up_days", "nurture_owner", "nurture_recheck_days"]
POOL_FIELDS = [
    "pool_enabled", "return_after_days_without_follow_up", "return_after_days_unqualified",
    "max_open_leads_per_rep", "max_claims_per_day", "reclaim_cooldown_days",
]
CUSTOM_CONDITION_FIELDS = ["custom_key", "custom_operator", "custom_value"]
SCORING_RULE_FIELDS = ["kind", "label", "keywords", "min_amount", "max_amount", "min_count", "points", "position", "active",
                       *CUSTOM_CONDITION_FIELDS]
ASSIGNMENT_RULE_FIELDS = ["name", "position", "active", "regions", "industries", "products", "grades", "department",
                          "strategy", *CUSTOM_CONDITION_FIELDS]


def _custom_condition(data: dict) -> dict:
    """The rule's condition on a lead custom field, tidied (no key: none) and checked; raises naming the field."""
    key = str(data.get("custom_key") or "").strip()
    operator = str(data.get("custom_operator") or "").strip() if key else ""
    value = str(data.get("custom_value") or "").strip() if key and operator != Operator.SET else ""
    if errors := conditions.check(LEAD_TARGET, key, operator, value):
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    return {"custom_key": key, "custom_operator": operator, "custom_value": value}


def _removed(obj) -> dict:
    """The trail of a deletion: every field's last value and nothing after."""
    return {name: [value, None] for name, value in snapshot(obj).items()}


def _require_admin(actor) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only administrators can change these rules."))


POLICY_FIELDS = ["required_fields", "require_contact_method", "duplicate_action"]


def channel_policies_save(*, policies: dict[str, dict], actor: User) -> None:
    """Store the intake rules of several channels at once ({channel: {field: value}}), each change audited."""
    _require_admin(actor)
    with transaction.atomic():
        for channel, data in policies.items():
            policy, _created = ChannelPolicy.objects.get_or_create(channel=channel)
            audited_update(instance=policy, data=data, fields=POLICY_FIELDS, actor=actor, channel=Channel.WEB,
                           action="settings.intake")


def quality_settings_update(*, data: dict, actor: User) -> QualitySettings:
    """Change thresholds, the first-contact SLA or pool rules; grade changes rescore every lead."""
    _require_admin(actor)
    allowed = set(THRESHOLD_FIELDS + SLA_FIELDS + POOL_FIELDS)
    with transaction.atomic():
        settings = quality_settings()
        settings = QualitySettings.objects.select_for_update().get(pk=settings.pk)
        changes = audited_update(instance=settings, data=data, fields=[name for name in data if name in allowed],
                                 actor=actor, channel=Channel.WEB, action="settings.lead_quality",
                                 check=_check_grades)
        if set(changes) & set(THRESHOLD_FIELDS):
            enqueue_rescore()
    return settings


def _check_grades(settings: QualitySettings) -> None:
    if not settings.grade_a_min > settings.grade_b_min > settings.grade_c_min:
        raise ValidationFailed(
            _("Grade thresholds must go down from A to C."),
            field_errors={"grade_b_min": [_("Make A higher than B, and B higher than C.")]},
        )


def _check_scoring_rule(rule: ScoringRule) -> None:
    errors = {}
    if rule.kind == ScoringKind.BUDGET:
        if rule.min_amount is None and rule.max_amount is None:
            errors["min_amount"] = [_("Give at least a lower or an upper amount.")]
        elif rule.min_amount is not None and rule.max_amount is not None and rule.max_amount <= rule.min_amount:
            errors["max_amount"] = [_("The upper amount must be above the lower one.")]
    elif rule.kind == ScoringKind.TOUCHES:
        if not rule.min_count:
            errors["min_count"] = [_("Say how many touches, at least 1.")]
    elif rule.kind == ScoringKind.CUSTOM:
        if not rule.custom_key:
            errors["custom_key"] = [_("Choose the custom field the rule looks at.")]
    elif rule.kind != ScoringKind.NEED and not rule.keyword_list():
        errors["keywords"] = [_("Give at least one keyword, separated by commas.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)


def scoring_rule_save(*, data: dict, actor: User, rule: ScoringRule | None = None) -> ScoringRule:
    _require_admin(actor)
    quality_settings()  # seeds the default rules first, so a new rule is not mistaken for a fresh install
    if data.get("kind", getattr(rule, "kind", None)) == ScoringKind.CUSTOM:
        data = {**data, **_custom_condition(data)}
    else:
        data = {**data, "custom_key": "", "custom_operator": "", "custom_value": ""}
    with transaction.atomic():
        if rule is None:
            rule = ScoringRule(**{name: data[name] for name in SCORING_RULE_FIELDS if name in data})
            _check_scoring_rule(rule)
            audited_create(instance=rule, actor=actor, channel=Channel.WEB, action="scoring_rule.create")
            enqueue_rescore()
        elif audited_update(instance=rule, data=data, fields=SCORING_RULE_FIELDS, actor=actor, channel=Channel.WEB,
                            action="scoring_rule.update", check=_check_scoring_rule):
            enqueue_rescore()
    return rule


def scoring_rule_delete(*, rule: ScoringRule, actor: User) -> None:
    _require_admin(actor)
    with transaction.atomic():
        audit_record(actor=actor, channel=Channel.WEB, action="scoring_rule.delete", target=rule,
                     changes=_removed(rule))
        rule.delete()
        enqueue_rescore()


def assignment_rule_save(
    *, data: dict, members: list[tuple[User, int]], actor: User, rule: AssignmentRule | None = None,
) -> AssignmentRule:
    """Save a rule with its conditions and people. `members` is [(user, weight)] in order."""
    _require_admin(actor)
    if data.get("department") is None and not members:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"department": [_("Choose a team or add at least one person.")]})
    if data.get("strategy") == AssignmentStrategy.WEIGHTED and data.get("department") is not None:
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"strategy": [_("Weighted needs a list of people with weights, not a team.")]})
    grades = str(data.get("grades") or "").upper().replace(" ", "")
    if any(g not in "ABCD" for g in grades):
        raise ValidationFailed(_("Please correct the marked fields."),
                               field_errors={"grades": [_("Use the letters A, B, C and D, for example AB.")]})
    data = {**data, "grades": grades, **_custom_condition(data)}
    with transaction.atomic():
        if rule is None:
            # Saved first: its sources, campaigns and people need its id.
            rule = AssignmentRule(**{name: data[name] for name in ASSIGNMENT_RULE_FIELDS if name in data})
            rule.save()
            _set_conditions_and_people(rule, data, members)
            audit_record(actor=actor, channel=Channel.WEB, action="assignment_rule.create", target=rule,
                         changes=creation_changes(rule) | diff({}, _m2m_snapshot(rule)))
        else:
            before_m2m = _m2m_snapshot(rule)
            _set_conditions_and_people(rule, data, members)
            audited_update(instance=rule, data=data, fields=ASSIGNMENT_RULE_FIELDS, actor=actor, channel=Channel.WEB,
                           action="assignment_rule.update", extra_changes=diff(before_m2m, _m2m_snapshot(rule)))
    return rule


def _set_conditions_and_people(rule: AssignmentRule, data: dict, members) -> None:
    rule.sources.set(data.get("sources") or [])
    rule.campaigns.set(data.get("campaigns") or [])
    kept = {}
    for position, (user, weight) in enumerate(members):
        member, _created = AssignmentMember.objects.update_or_create(
            rule=rule, user=user, defaults={"weight": max(1, int(weight)), "position": position})
        kept[user.pk] = member
    rule.members.exclude(user_id__in=kept).delete()


def _m2m_snapshot(rule: AssignmentRule) -> dict:
    return {
        "sources": ", ".join(s.name for s in rule.sources.all()),
        "campaigns": ", ".join(c.name for c in rule.campaigns.all()),
        "members": ", ".join(f"{m.user}×{m.weight}" for m in rule.members.select_related("user")),
    }


def assignment_rule_delete(*, rule: AssignmentRule, actor: User) -> None:
    _require_admin(actor)
    with transaction.atomic():
        audit_record(actor=actor, channel=Channel.WEB, action="assignment_rule.delete", target=rule,
                     changes=_removed(rule))
        rule.delete()


def assignment_rule_move(*, rule: AssignmentRule, up: bool, actor: User) -> None:
    """Swap a rule with its neighbour; positions are renumbered so the order is always explicit."""
    _require_admin(actor)
    with transaction.atomic():
        rules = list(AssignmentRule.objects.select_for_update().order_by("position", "id"))
        index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
        other = index - 1 if up else index + 1
        if not 0 <= other < len(rules):
            return
        rules[index], rules[other] = rules[other], rules[index]
        for position, item in enumerate(rules):
            if item.position != position:
                AssignmentRule.objects.filter(pk=item.pk).update(position=position)
        configcache.clear("assignment.rules")  # update() sends no signal
        audit_record(actor=actor, channel=Channel.WEB, action="assignment_rule.move", target=rule,
                     changes={"position": [index, other]})
