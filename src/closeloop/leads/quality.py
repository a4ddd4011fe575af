"""Configuration and records of lead quality: scoring rules, assignment rules, the public pool (公海).

Imported by `leads.models`, so these are models of the `leads` app. Foreign keys to `Lead` are
written as strings because this module is loaded while `leads.models` is still being imported.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.followup.models import RecordRow


class ScoringKind(models.TextChoices):
    """What a scoring rule looks at. BANT first, then fit, then behaviour."""

    BUDGET = "budget", _("Budget (B): amount in a range")
    AUTHORITY = "authority", _("Authority (A): title contains a keyword")
    NEED = "need", _("Need (N): a need is described")
    TIMELINE = "timeline", _("Timeline (T): timeline contains a keyword")
    INDUSTRY = "industry", _("Fit: industry contains a keyword")
    REGION = "region", _("Fit: province or city contains a keyword")
    COMPANY_SIZE = "company_size", _("Fit: company size contains a keyword")
    SOURCE = "source", _("Behaviour: source is one of")
    TOUCHES = "touches", _("Behaviour: repeated touches, at least")
    CUSTOM = "custom", _("Custom field: a condition on its value")


class CustomCondition(models.Model):
    """A condition on one of the lead's custom fields (core/customfields/conditions.py): the field's key, how to
    compare, and the value as typed. No key: no condition."""

    custom_key = models.CharField(_("custom field"), max_length=40, blank=True, default="", db_default="")
    custom_operator = models.CharField(_("comparison"), max_length=10, blank=True, default="", db_default="")
    custom_value = models.CharField(_("value"), max_length=200, blank=True, default="", db_default="",
                                    help_text=_("Not needed for “is filled in”."))

    class Meta:
        abstract = True

    def custom_test(self):
        """The condition compiled for this loaded rule (None: no condition); compiled once, kept on the object,
        which comes from the configuration cache and is dropped with it when a rule or a custom field changes."""
        cached = self.__dict__.get("_custom_test")
        signature = (self.custom_key, self.custom_operator, self.custom_value)
        if cached is None or cached[0] != signature:
            from closeloop.core.customfields.conditions import compile_condition

            cached = self.__dict__["_custom_test"] = (signature, compile_condition("leads.Lead", *signature))
        return cached[1]

    def custom_condition_text(self) -> str:
        from closeloop.core.customfields.conditions import describe

        return describe("leads.Lead", self.custom_key, self.custom_operator, self.custom_value) if self.custom_key else ""


class ScoringRule(CustomCondition):
    """Points for one condition. Within a kind only the first matching rule (by position) counts,
    so budget ranges or title tiers never add up twice."""

    kind = models.CharField(_("looks at"), max_length=15, choices=ScoringKind.choices)
    label = models.CharField(_("label"), max_length=100)
    keywords = models.CharField(
        _("keywords"), max_length=300, blank=True,
        help_text=_("Separated by commas; a rule matches when the field contains any of them."),
    )
    min_amount = models.DecimalField(_("budget from (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True)
    max_amount = models.DecimalField(
        _("budget below (CNY)"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Leave empty for no upper limit."),
    )
    min_count = models.PositiveSmallIntegerField(_("at least (touches)"), null=True, blank=True)
    points = models.SmallIntegerField(_("points"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self):
        return self.label

    def keyword_list(self) -> list[str]:
        # Scoring asks every rule for its keywords once per lead (a million times in an import):
        # split them once per loaded rule, again only if the text changed.
        cached = self.__dict__.get("_keyword_cache")
        if cached is None or cached[0] != self.keywords:
            cached = self.__dict__["_keyword_cache"] = (self.keywords, split_keywords(self.keywords))
        return cached[1]


def split_keywords(text: str) -> list[str]:
    for separator in "，、;；\n":
        text = text.replace(separator, ",")
    return [word.strip() for word in text.split(",") if word.strip()]


class QualitySettings(models.Model):
    """One row (pk=1) of thresholds for grades, nurture, first-contact SLA and the pool."""

    grade_a_min = models.SmallIntegerField(_("grade A from"), default=80)
    grade_b_min = models.SmallIntegerField(_("grade B from"), default=55)
    grade_c_min = models.SmallIntegerField(_("grade C from"), default=30)
    nurture_below = models.SmallIntegerField(
        _("nurture below"), default=15,
        help_text=_("New leads scoring below this go to nurture (marketing) instead of sales."),
    )
    # Nurture is a place with an owner and a date, not a drawer nobody opens.
    nurture_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("nurture owner"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Owns nurture leads whose source no marketer runs. Empty: the first administrator."),
    )
    nurture_recheck_days = models.PositiveSmallIntegerField(
        _("re-check nurture leads after (days)"), default=30,
        help_text=_("A lead going to nurture is due for a re-check this many days later."),
    )
    follow_up_days = models.PositiveSmallIntegerField(
        _("next follow-up after (days)"), default=3,
        help_text=_("When a follow-up is logged on a lead, the next one is proposed this many days later."),
    )
    first_contact_hours = models.PositiveSmallIntegerField(
        _("first contact within (hours)"), default=48,
        help_text=_("Due time of the first-contact task created when a lead is assigned or claimed."),
    )
    pool_enabled = models.BooleanField(_("return stale leads to the pool"), default=True)
    return_after_days_without_follow_up = models.PositiveSmallIntegerField(
        _("return after days without follow-up"), default=15,
        help_text=_("Days since the owner's last follow-up (or since assignment) before the lead returns; "
                    "for a nurture lead, days past its re-check date."),
    )
    return_after_days_unqualified = models.PositiveSmallIntegerField(
        _("return after days without qualifying"), default=60,
        help_text=_("Days since assignment before a lead that is still not qualified returns."),
    )
    # The caps and the cool-down hold for both pools, leads and customers, each pool counting its own records.
    max_open_leads_per_rep = models.PositiveIntegerField(
        _("most open leads a rep may hold (库容)"), default=200,
        help_text=_("A rep at this limit cannot claim from the pool. The same limit holds for the customers a rep "
                    "owns in the customer pool."),
    )
    max_claims_per_day = models.PositiveSmallIntegerField(
        _("claims per rep per day"), default=20, help_text=_("In each pool: leads and customers are counted apart."),
    )
    reclaim_cooldown_days = models.PositiveSmallIntegerField(
        _("days before the previous owner may reclaim"), default=7,
        help_text=_("For leads and customers alike."),
    )

    class Meta:
        verbose_name = _("lead quality settings")
        verbose_name_plural = _("lead quality settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(grade_a_min__gt=models.F("grade_b_min")) & Q(grade_b_min__gt=models.F("grade_c_min")),
                name="quality_grades_descending",
            ),
        ]

    def __str__(self):
        return str(self._meta.verbose_name)


class AssignmentStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_LOAD = "least_load", _("Least open leads")
    WEIGHTED = "weighted", _("Weighted")


class AssignmentRule(CustomCondition):
    """Conditions → people. Rules are tried in order; the first that matches and has someone
    available assigns the lead. An empty condition matches everything."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    regions = models.CharField(_("province/city contains"), max_length=300, blank=True)
    industries = models.CharField(_("industry contains"), max_length=300, blank=True)
    products = models.CharField(_("product interest contains"), max_length=300, blank=True)
    grades = models.CharField(_("grades"), max_length=4, blank=True, help_text=_("For example AB; empty for any."))
    sources = models.ManyToManyField("leads.LeadSource", verbose_name=_("sources"), blank=True, related_name="+")
    campaigns = models.ManyToManyField("leads.Campaign", verbose_name=_("campaigns"), blank=True, related_name="+")
    department = models.ForeignKey(
        "core.Department", verbose_name=_("team"), null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("The sales reps of this team and its sub-teams; or pick people below."),
    )
    strategy = models.CharField(
        _("strategy"), max_length=15, choices=AssignmentStrategy.choices, default=AssignmentStrategy.ROUND_ROBIN
    )
    # Round-robin cursor: the person who got the previous lead. Updated under a row lock.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self):
        return self.name


class AssignmentMember(models.Model):
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    position = models.PositiveSmallIntegerField(default=0)
    # Leads this rule gave this person; the weighted strategy keeps count/weight even.
    assigned_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "user"], name="assignment_member_unique"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="assignment_member_weight_positive"),
        ]

    def __str__(self):
        return f"{self.user} ×{self.weight}"


class PoolEventKind(models.TextChoices):
    RETURN = "return", _("Returned to the pool")
    CLAIM = "claim", _("Claimed")
    WARNING = "warning", _("Warned before return")


class PoolEvent(RecordRow):
    """The public pools' one ledger, for leads and customers alike: claims (the daily cap), returns (the
    reclaim cool-down) and warnings (sent once), for whom.

    A warning is unique per record, owner and return deadline: a second or late sweep finds the row and
    sends nothing; a follow-up moves the deadline, so a later lapse is warned again.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=PoolEventKind.choices)
    reason = models.CharField(max_length=30, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Daily claim cap: a user's claims since midnight.
            models.Index(fields=["user", "kind", "-created_at"], name="poolevent_user_kind_idx"),
            # Cool-down: this record's returns from this user.
            models.Index(fields=["record_type", "record_id", "kind", "-created_at"], name="poolevent_record_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["record_type", "record_id", "user", "deadline"], condition=Q(kind="warning"),
                                    name="poolevent_warning_once"),
        ]

    def __str__(self):
        return f"{self.kind} {self.record_id}"
