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
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closeloop.contracts.models import Contract
from closeloop.core.models import Role
from closeloop.core.visibility import VisibleQuerySet
from closeloop.followup.models import FollowedUp
from closeloop.followup.visibility import involved


def new_public_key() -> str:
    # 192 random bits: the acceptance link cannot be guessed or enumerated.
    return secrets.token_urlsafe(24)


class DeliveryStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    ACCEPTED = "accepted", _("Accepted")


class AcceptedVia(models.TextChoices):
    LINK = "link", _("Customer's link")
    FORM = "form", _("Signed acceptance form uploaded")


class DeliveryQuerySet(VisibleQuerySet):
    # After-sales service works for every customer, so it reads every delivery (as finance reads contracts).
    company_wide_roles = frozenset({Role.SERVICE})

    def _visibility_filter(self, user) -> Q:
        # The delivery's owner (a manager: the team's), whoever may see its contract (the rep, their manager,
        # finance), the owners of its milestones and the family's participants.
        return (super()._visibility_filter(user) | involved(user, Delivery)
                | Q(contract__in=Contract.objects.visible_to(user).values("pk"))
                | Q(pk__in=Milestone.objects.filter(owner=user).values("delivery_id")))


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


class Milestone(models.Model):
    """A step of a delivery with a planned date, an owner and, when done, the day it was done."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(_("milestone"), max_length=200)
    planned_date = models.DateField(_("planned date"))
    done_date = models.DateField(_("done on"), null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="delivery_milestones", db_index=False)  # served by milestone_open_idx
    position = models.PositiveSmallIntegerField(default=0)

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
        return self.name

    @property
    def overdue(self) -> bool:
        return self.done_date is None and self.planned_date < timezone.localdate()
