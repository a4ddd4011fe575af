"""Deliveries (交付) of signed contracts, their milestones and the customer's acceptance (验收).

A delivery belongs to one contract and has its own owner (implementation or service staff). The customer
accepts it through a public link whose key is the only credential, or staff upload the signed acceptance form;
either way the contract is told (`contracts.services.contract_delivery_accept`), which releases the instalments
due "on acceptance".
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closeloop.contracts.models import Contract
from closeloop.core.models import Role
from closeloop.core.visibility import VisibleQuerySet, owners_seen
from closeloop.followup.models import FollowedUp
from closeloop.followup.visibility import involved


def new_public_key() -> str:
    # 192 random bits: the acceptance link cannot be guessed or enumerated.
    return secrets.token_urlsafe(24)


class DeliveryStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", pgettext_lazy("delivery status", "In progress")
    ACCEPTED = "accepted", _("Accepted")


class AcceptedVia(models.TextChoices):
    LINK = "link", _("Customer's link")
    FORM = "form", _("Signed acceptance form uploaded")


class DeliveryQuerySet(VisibleQuerySet):
    # After-sales service works for every customer, so it reads every delivery (as finance reads contracts).
    company_wide_roles = frozenset({Role.SERVICE})

    def _visibility_filter(self, user) -> Q:
        # The delivery's owner (a manager: the team's), whoever may see its contract (the rep, their manager,
        # finance), the owners of its milestones (a manager: the team's) and the family's participants.
        return (super()._visibility_filter(user) | involved(user, Delivery)
                | Q(contract__in=Contract.objects.visible_to(user).values("pk"))
                | Q(pk__in=Milestone.objects.filter(owner__in=owners_seen(user)).values("delivery_id")))


def acceptance_path(delivery, filename: str) -> str:
    # The stored name is ours (a random id and the checked type), never the uploader's file name.
    return f"deliveries/{delivery.pk}/{filename}"


class Delivery(FollowedUp, models.Model):
    """The delivery of a signed contract: who runs it, its milestones and how the customer accepted it."""

    contract = models.OneToOneField(Contract, verbose_name=_("contract"), on_delete=models.PROTECT,
                                    related_name="delivery")
    # The contract's customer, kept here for the customer's page and the lists.
    customer = models.ForeignKey("deals.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="deliveries")
    title = models.CharField(_("delivery"), max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("delivery owner"), on_delete=models.PROTECT,
                              related_name="owned_deliveries", db_index=False)  # served by delivery_owner_idx
    status = models.CharField(_("status"), max_length=20, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.IN_PROGRESS)
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    # The customer's acceptance link (/d/<key>/).
    public_key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_via = models.CharField(_("accepted through"), max_length=10, choices=AcceptedVia.choices, blank=True)
    acceptor_name = models.CharField(_("accepted by"), max_length=100, blank=True)
    acceptor_phone = models.CharField(_("phone"), max_length=40, blank=True)
    acceptance_comment = models.TextField(_("customer's comment"), blank=True, max_length=2000)
    signature = models.FileField(_("signature"), upload_to=acceptance_path, max_length=200, blank=True)
    acceptance_form = models.FileField(_("signed acceptance form"), upload_to=acceptance_path, max_length=200,
                                       blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    # Custom fields (自定义字段, core/customfields): values by key, cleaned by this app's services.
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            # The list, newest first, and by status.
            models.Index(fields=["-created_at", "-id"], name="delivery_created_idx"),
            models.Index(fields=["status", "-created_at"], name="delivery_status_idx"),
            # A delivery owner's and a manager's team's deliveries (visibility seeks the owners).
            models.Index(fields=["owner", "-created_at"], name="delivery_owner_idx"),
            # A customer's deliveries (the customer page).
            models.Index(fields=["customer", "-created_at"], name="delivery_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status="in_progress") | Q(accepted_at__isnull=False),
                                   name="delivery_accepted_has_time"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("service:delivery", args=[self.pk])


class MilestoneQuerySet(VisibleQuerySet):
    """Seen by who sees its delivery and by its owner's line; owned by its owner and its delivery's owner (the
    radar's counts are kept by both)."""

    also_owner_fields = ("delivery__owner",)
    company_wide_roles = frozenset({Role.SERVICE})

    def _visibility_filter(self, user) -> Q:
        return super()._visibility_filter(user) | self._shared_filter(user)

    def _shared_filter(self, user) -> Q:
        return Q(delivery__in=Delivery.objects.visible_to(user).values("pk"))


class Milestone(models.Model):
    """A step of a delivery with a planned date, an owner and, when done, the day it was done."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(_("milestone"), max_length=200)
    planned_date = models.DateField(_("planned date"))
    done_date = models.DateField(_("done on"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="delivery_milestones", db_index=False)  # served by milestone_open_idx
    position = models.PositiveSmallIntegerField(default=0)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["position", "planned_date", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        indexes = [
            # Today's overdue milestones of one owner; visibility's "owns a milestone" subquery.
            models.Index(fields=["owner", "planned_date"], name="milestone_open_idx", condition=Q(done_date__isnull=True)),
            models.Index(fields=["owner"], name="milestone_owner_idx"),
        ]

    def __str__(self):
        # Named with its delivery where it stands alone (the radar's rows); load the delivery with it.
        return f"{self.delivery.title} · {self.name}"

    def get_absolute_url(self):
        return self.delivery.get_absolute_url() + "#milestones"

    @property
    def overdue(self) -> bool:
        return self.done_date is None and self.planned_date < timezone.localdate()


# ---------------------------------------------------------------------------------------------------
# Tickets (工单) and their SLA


class ServiceSettings(models.Model):
    """One row (pk 1): the working calendar of the SLA clocks, who hears of breaches, how tickets are assigned."""

    work_weekdays = models.CharField(_("working weekdays"), max_length=7, default="12345",
                                     help_text=_("Digits 1 (Monday) to 7 (Sunday), e.g. 12345."))
    work_start = models.TimeField(_("working hours from"), default="09:00")
    work_end = models.TimeField(_("working hours until"), default="18:00",
                                help_text=_("Earlier than the start for a night shift (22:00–06:00)."))
    service_manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("service manager"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+",
                                        help_text=_("Hears of every SLA breach, in the app, by email and in the team's robots."))
    assignment_strategy = models.CharField(_("assign new tickets"), max_length=15, default="round_robin",
                                           choices=[("round_robin", _("Round-robin")),
                                                    ("least_load", _("Least open tickets"))])
    survey_expiry_days = models.PositiveSmallIntegerField(
        _("satisfaction survey open for (days)"), default=14,
        help_text=_("How long the customer's survey link can be answered after it is sent."))
    renewal_days = models.PositiveSmallIntegerField(
        _("open a renewal deal (days before a contract ends)"), default=60,
        help_text=_("A signed contract ending within this many days gets a renewal deal for the account owner."))
    # Round-robin cursor: who got the previous ticket. Updated under this row's lock.
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", editable=False)

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")

    def __str__(self):
        return str(_("Service settings"))


class CalendarDay(models.Model):
    """A day the working calendar treats differently: a public holiday off, or a weekend day worked (调休)."""

    day = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"), default=False)
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self):
        return f"{self.day} {self.name}"


class TicketPriority(models.TextChoices):
    P1 = "P1", _("P1 urgent")
    P2 = "P2", _("P2 high")
    P3 = "P3", _("P3 normal")
    P4 = "P4", _("P4 low")


class CustomerTier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    VIP = "vip", _("VIP")
    STRATEGIC = "strategic", _("Strategic")


class ServiceLevel(models.Model):
    """A customer's service tier (the SLA policies may differ by it); a customer without one is standard."""

    customer = models.OneToOneField("deals.Customer", on_delete=models.CASCADE, related_name="service_level")
    tier = models.CharField(_("service tier"), max_length=10, choices=CustomerTier.choices,
                            default=CustomerTier.STANDARD)

    class Meta:
        verbose_name = _("service tier")

    def __str__(self):
        return self.get_tier_display()


class SlaPolicy(models.Model):
    """First-response and resolution targets for tickets of a priority (and a tier; blank: any tier), in working
    minutes of the calendar, or every minute (7×24)."""

    priority = models.CharField(_("priority"), max_length=2, choices=TicketPriority.choices)
    tier = models.CharField(_("service tier"), max_length=10, choices=CustomerTier.choices, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (working minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (working minutes)"))
    always = models.BooleanField(_("7×24 (every minute counts)"), default=False)

    class Meta:
        ordering = ["priority", "tier"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [models.UniqueConstraint(fields=["priority", "tier"], name="sla_policy_unique"),
                       models.CheckConstraint(condition=Q(first_response_minutes__gt=0) & Q(resolution_minutes__gt=0),
                                              name="sla_policy_positive")]

    def __str__(self):
        return f"{self.priority} {self.get_tier_display() if self.tier else ''}".strip()


class TicketStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    IN_PROGRESS = "in_progress", pgettext_lazy("ticket status", "In progress")
    WAITING = "waiting", pgettext_lazy("ticket status", "Waiting for the customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")


OPEN_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)


class TicketCategory(models.TextChoices):
    FAULT = "fault", _("Fault")
    QUESTION = "question", _("Question")
    REQUEST = "request", _("Change request")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other")


class TicketQuerySet(VisibleQuerySet):
    # After-sales service works every customer's tickets.
    company_wide_roles = frozenset({Role.SERVICE})
    # The customer's owner's line sees its tickets too: the radar keeps its counts by both owners.
    also_owner_fields = ("customer__owner",)

    def _visibility_filter(self, user) -> Q:
        # The assignee (a manager: the team's), the reps of the customer (and their managers: whoever sees the
        # customer), and the family's participants (who replied or was asked in).
        from closeloop.deals.models import Customer

        return (super()._visibility_filter(user) | Customer.objects.seen_through(user, "customer")
                | involved(user, Ticket))

    def _shared_filter(self, user) -> Q:
        # Beyond the assignee's and the customer owner's lines: the participants and the customers seen otherwise
        # (the radar counts these live).
        from closeloop.deals.models import Customer

        return involved(user, Ticket) | Customer.objects.seen_beyond_owner(user, "customer")


class Ticket(FollowedUp, models.Model):
    """A customer's request for help, with its SLA clocks.

    The clocks: `first_response_due_at` until the first reply; `resolution_due_at` until resolved. Both count
    working minutes of the calendar (or every minute for a 7×24 policy) from `created_at`; the resolution clock
    stands still while the ticket waits on the customer or is resolved (`paused_since`), and the working minutes
    it stood still are added to its target (`paused_minutes`). The targets are copied from the policy when the
    ticket is raised, so a policy changed later moves no deadline already given.
    """

    number = models.CharField(_("number"), max_length=20, unique=True)
    title = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=5000, blank=True)
    customer = models.ForeignKey("deals.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="tickets")
    contact = models.ForeignKey("deals.Contact", verbose_name=_("contact"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="tickets")
    contract = models.ForeignKey(Contract, verbose_name=_("contract"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="tickets")
    product = models.ForeignKey("quotes.Product", verbose_name=_("product"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="tickets")
    category = models.CharField(_("category"), max_length=12, choices=TicketCategory.choices,
                                default=TicketCategory.FAULT)
    priority = models.CharField(_("priority"), max_length=2, choices=TicketPriority.choices,
                                default=TicketPriority.P3)
    status = models.CharField(_("status"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.NEW)
    # The assignee (处理人). Named owner because the follow-up family and visibility read `owner`.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="assigned_tickets", db_index=False)
    # Who raised it and how: a colleague, the API's token holder, or nobody (the public form).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    requester_name = models.CharField(_("requester"), max_length=100, blank=True)
    requester_phone = models.CharField(_("requester phone"), max_length=40, blank=True)
    requester_email = models.CharField(_("requester email"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=10, default="web")
    # Custom fields (自定义字段, core/customfields): values by key, cleaned by this app's services.
    custom = models.JSONField(_("custom fields"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # SLA (see the class docstring).
    sla_policy = models.ForeignKey(SlaPolicy, verbose_name=_("SLA policy"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    first_response_target = models.PositiveIntegerField(_("first response target (minutes)"), null=True, blank=True)
    resolution_target = models.PositiveIntegerField(_("resolution target (minutes)"), null=True, blank=True)
    sla_always = models.BooleanField(_("7×24"), default=False)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    paused_since = models.DateTimeField(_("clock paused since"), null=True, blank=True)
    paused_minutes = models.FloatField(_("working minutes paused"), default=0)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Set by the SLA sweep when it escalates a breach (once each).
    first_response_breached_at = models.DateTimeField(_("first response breached"), null=True, blank=True)
    resolution_breached_at = models.DateTimeField(_("resolution breached"), null=True, blank=True)
    # The customer's owner (the account owner), kept by the database's triggers (service/customer_owner.py)
    # whenever a ticket is written or its customer changes owner, whatever the path: the review's "tickets of the
    # line's customers" reads it from the tickets' covering indexes instead of looking up each ticket's customer
    # (two thirds of a director's service figures at 1M tickets). Only queries read it: an instance holds what
    # was loaded, and a save sets it again from the customer.
    customer_owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account owner"), null=True,
                                       blank=True, editable=False, on_delete=models.DO_NOTHING, db_constraint=False,
                                       db_index=False, related_name="+")

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            # The list, newest first, and by status.
            models.Index(fields=["-created_at", "-id"], name="ticket_created_idx"),
            models.Index(fields=["status", "-created_at"], name="ticket_status_idx"),
            # An assignee's and a team's tickets; "least open tickets" counts by assignee.
            models.Index(fields=["owner", "status"], name="ticket_owner_idx"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            # The SLA sweep: open tickets whose clock is due and not yet escalated.
            models.Index(fields=["first_response_due_at"], name="ticket_response_due_idx",
                         condition=Q(first_responded_at__isnull=True, first_response_breached_at__isnull=True)),
            models.Index(fields=["resolution_due_at"], name="ticket_resolution_due_idx",
                         condition=Q(resolved_at__isnull=True, resolution_breached_at__isnull=True)),
            # The breakpoint radar's "past its SLA": open tickets (neither resolved nor closed; reopening clears
            # both) by each clock's due time, escalated or not (the sweep's indexes above drop a ticket once it is
            # escalated). Said with IS NULL, not the status: SQLite matches a partial index's literal `IN` list to
            # no bound parameter.
            models.Index(fields=["first_response_due_at"], name="ticket_radar_response_idx",
                         condition=Q(first_responded_at__isnull=True, resolved_at__isnull=True, closed_at__isnull=True)),
            models.Index(fields=["resolution_due_at"], name="ticket_radar_resolution_idx",
                         condition=Q(resolved_at__isnull=True, closed_at__isnull=True)),
            # The ticket list's default, the open tickets newest first: everyone's (the service manager) and one
            # assignee's (an agent's "mine"), read in order from the first row of a page without sorting the open
            # tickets (tens of thousands for one agent at a million tickets). Open said with IS NULL, as above:
            # ticket_list adds these terms to its status filter.
            models.Index(fields=["-created_at", "-id"], name="ticket_open_idx",
                         condition=Q(resolved_at__isnull=True, closed_at__isnull=True)),
            models.Index(fields=["owner", "-created_at", "-id"], name="ticket_owner_open_idx",
                         condition=Q(resolved_at__isnull=True, closed_at__isnull=True)),
            # The review's tickets opened and resolved in a period, by assignee, with their SLA outcome, read from
            # the index alone (insights.dashboard.service; the account owner, for a line's customers' tickets): a
            # quarter's tickets' rows, read from the table, took half a second at 1M tickets. The second also
            # serves the ticket list's resolved-between filter.
            models.Index(fields=["created_at", "owner", "customer_owner", "first_responded_at",
                                 "first_response_due_at"], name="ticket_review_opened_idx"),
            models.Index(fields=["resolved_at", "owner", "customer_owner", "resolution_due_at"],
                         name="ticket_review_resolved_idx", condition=Q(resolved_at__isnull=False)),
            # The same, assignee first: with the nightly statistics SQLite skip-scans them assignee by assignee (a
            # dozen), so the review's rows come grouped and are not sorted (54k tickets opened in a quarter at 1M).
            # Without statistics it keeps to the two above.
            models.Index(fields=["owner", "created_at", "customer_owner", "first_responded_at",
                                 "first_response_due_at"], name="ticket_owner_opened_idx"),
            models.Index(fields=["owner", "resolved_at", "customer_owner", "resolution_due_at"],
                         name="ticket_owner_resolved_idx", condition=Q(resolved_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    def get_absolute_url(self):
        return reverse("service:ticket", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES


# ---------------------------------------------------------------------------------------------------
# Satisfaction surveys (满意度)


class SurveyQuerySet(VisibleQuerySet):
    # After-sales service reads every survey, as it works every ticket and delivery.
    company_wide_roles = frozenset({Role.SERVICE})
    # The customer's owner now: their line sees the survey too (the radar keeps its counts by both owners).
    also_owner_fields = ("customer__owner",)

    def _visibility_filter(self, user) -> Q:
        # The account owner when it was sent (a manager: the team's), and whoever sees the customer now.
        from closeloop.deals.models import Customer

        return super()._visibility_filter(user) | Customer.objects.seen_through(user, "customer")

    def _shared_filter(self, user) -> Q:
        # Beyond both owners' lines: the customers seen otherwise (the radar counts these live).
        from closeloop.deals.models import Customer

        return Customer.objects.seen_beyond_owner(user, "customer")


class Survey(models.Model):
    """A satisfaction survey sent to the customer when a ticket is resolved or a delivery accepted: CSAT 1–5, NPS
    0–10 and a comment, through a public link whose key is the only credential.

    One answer per survey: `survey_answer` writes it with a conditional UPDATE (`answered_at IS NULL` and not
    expired), so of two submits racing, the database lets one count. One survey per ticket and per delivery."""

    key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False)
    customer = models.ForeignKey("deals.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="surveys", db_index=False)  # served by survey_customer_idx
    ticket = models.OneToOneField(Ticket, verbose_name=_("ticket"), null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="survey")
    delivery = models.OneToOneField(Delivery, verbose_name=_("delivery"), null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="survey")
    # The account owner when it was sent: "CSAT by owner" counts the answers each rep's customers gave.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account owner"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+", db_index=False)  # survey_owner_scores_idx
    product = models.ForeignKey("quotes.Product", verbose_name=_("product"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    email = models.CharField(_("sent to"), max_length=200, blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("open until"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    csat = models.PositiveSmallIntegerField(_("satisfaction (CSAT 1–5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("likely to recommend (NPS 0–10)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    # For the API's sync (core/pagination.py): the conditional UPDATEs of answering and resending set it too.
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_default=Now())

    objects = SurveyQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [
            # The customer page's figures and the "by customer" rows.
            models.Index(fields=["customer", "answered_at"], name="survey_customer_idx"),
            # "By owner" and a manager's team; the period breakdown reads answered_at. Covering the scores, so the
            # review's CSAT and NPS by owner and over time read no survey row.
            models.Index(fields=["owner", "answered_at", "csat", "nps"], name="survey_owner_scores_idx"),
            models.Index(fields=["answered_at"], name="survey_answered_idx", condition=Q(answered_at__isnull=False)),
            # The breakpoint radar's "no answer": surveys still unanswered, oldest first.
            models.Index(fields=["sent_at"], name="survey_unanswered_idx", condition=Q(answered_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ticket__isnull=True) | Q(delivery__isnull=True),
                                   name="survey_one_subject"),
            models.CheckConstraint(condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5), name="survey_csat_range"),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_range"),
            # An answer has both scores and a time; an open survey has none.
            models.CheckConstraint(condition=Q(answered_at__isnull=True, csat__isnull=True, nps__isnull=True)
                                   | Q(answered_at__isnull=False, csat__isnull=False, nps__isnull=False),
                                   name="survey_answer_whole"),
        ]

    def __str__(self):
        subject = self.ticket or self.delivery
        return str(_("Satisfaction survey")) + (f" · {subject}" if subject else "")

    def get_absolute_url(self):
        return self.subject.get_absolute_url() + "#survey"

    @property
    def subject(self):
        """The ticket or delivery it asks about (its low-score tasks and its trail are on that record)."""
        return self.ticket or self.delivery

    @property
    def expired(self) -> bool:
        return self.answered_at is None and self.expires_at <= timezone.now()

    @property
    def low_score(self) -> bool:
        return self.answered_at is not None and is_low_score(self.csat, self.nps)


LOW_CSAT = 2  # CSAT at or below: unhappy
LOW_NPS = 6  # NPS at or below: a detractor


def is_low_score(csat: int, nps: int) -> bool:
    return csat <= LOW_CSAT or nps <= LOW_NPS


# ---------------------------------------------------------------------------------------------------
# The public ticket form and tickets' attachments


class TicketFormLink(models.Model):
    """A customer's public ticket form (/t/<key>/): whoever has the link raises tickets for this customer without a
    login. The key is the only credential; staff replace it (a new key) when it has gone where it should not."""

    customer = models.OneToOneField("deals.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                    related_name="ticket_form")
    key = models.CharField(max_length=40, unique=True, default=new_public_key, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("public ticket form")
        verbose_name_plural = _("public ticket forms")

    def __str__(self):
        return str(_("Public ticket form"))

    def get_absolute_url(self):
        return reverse("ticket_form_public", args=[self.key])


def attachment_path(attachment, filename: str) -> str:
    # The stored name is ours (a random id and the checked type), never the uploader's file name.
    return f"tickets/{attachment.ticket_id}/{filename}"


class TicketAttachment(models.Model):
    """A file the customer (or a colleague) attached to a ticket: a PDF or an image, checked by its first bytes and
    its size as it arrived."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField(_("file"), max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    # Added with a reply or an internal note, after the ticket was raised: the timeline shows it there. `reply` is
    # the reply's activity (None for a note); the file stays on the ticket if the activity ever goes.
    added_later = models.BooleanField(_("added with a reply or note"), default=False)
    reply = models.ForeignKey("followup.Activity", verbose_name=_("reply"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class RenewalWindow(models.Model):
    """How many days before a contract ends its renewal deal opens, for contracts with products of a category (the
    catalog's free-text category); a contract with none of these uses ServiceSettings.renewal_days, one with several
    the longest window of its lines."""

    category = models.CharField(_("product category"), max_length=50, unique=True)
    days = models.PositiveSmallIntegerField(_("days before the end"))

    class Meta:
        ordering = ["category"]
        verbose_name = _("renewal window")
        verbose_name_plural = _("renewal windows")
        constraints = [models.CheckConstraint(condition=Q(days__gte=1, days__lte=365), name="renewal_window_days")]

    def __str__(self):
        return f"{self.category} {self.days}"


class Renewal(models.Model):
    """The renewal deal (二次销售) the sweep opened for a contract about to end: one per contract (the unique key
    makes the sweep idempotent, however often and on however many workers it runs)."""

    contract = models.OneToOneField(Contract, verbose_name=_("contract"), on_delete=models.CASCADE,
                                    related_name="renewal")
    opportunity = models.OneToOneField("deals.Opportunity", verbose_name=_("renewal deal"), on_delete=models.CASCADE,
                                       related_name="renewal_of")
    # The customer's latest NPS was a detractor's when the renewal opened: call before you sell.
    low_nps = models.BooleanField(_("low NPS"), default=False)
    # The quote draft "renew" made from the old contract's lines (once; later versions are the quote's own).
    quote = models.OneToOneField("quotes.Quote", verbose_name=_("renewal quote"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="renewal_of")
    created_at = models.DateTimeField(_("opened"), default=timezone.now)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")

    def __str__(self):
        return str(self.opportunity)
