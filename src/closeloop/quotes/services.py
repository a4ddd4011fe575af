"""Quote writes: create, edit lines and terms, submit for approval, send, revise, accept or decline.

The life of a quote (the status is the current version's):

    draft ──submit──► pending_approval ──approved──► approved ──send──► sent ──► accepted / declined
      ▲    (no rule crossed: approved at once)   └─rejected─► rejected          │
      └──────── edit (approved/rejected go back to draft) ◄── revise (new version) ◄──┘ (sent, declined)

A sent version is frozen: its lines and totals never change again, and revising copies them into a new
version. Each function locks the quote row, checks that the actor may act, writes its audit entry in the
same transaction and notifies after commit (core.notify defers its deliveries).
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.audit import audit_record, audited_update, custom_changes, diff, snapshot
from closeloop.core.customfields.registry import clean_new, clean_record
from closeloop.core.errors import Conflict, DomainError, Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import date_input, text_limit_errors
from closeloop.core.models import Channel, User
from closeloop.core.money import MAX_MONEY, format_yuan
from closeloop.core.notify import notify
from closeloop.deals.models import Opportunity, OpportunityStatus
from closeloop.deals.services.opportunities import opportunity_move_stage
from closeloop.followup.rights import Act, may
from closeloop.leads import normalize

from . import approvals, pricing
from .actions import QuoteAction
from .catalog import parse_amount, parse_decimal, parse_tax_rate, quote_settings
from .models import (
    EDITABLE_STATUSES,
    PipelineQuoteSettings,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteTemplate,
    QuoteVersion,
)
from .numbering import next_number

APPROVAL_KIND = "quote"
MAX_LINES = 200


# ---------------------------------------------------------------------------------------------------
# Who may act: the deal's Act.QUOTE (followup.rights) — the owner's side and the participants who sell or
# design the solution; finance and service read quotes but do not make them.


def _require_editor(actor: User, deal: Opportunity):
    if not may(actor, deal, Act.QUOTE):
        raise Forbidden(_("Only the deal's owner, their manager or a collaborator on the deal can change its quotes."))


def _locked(quote: Quote) -> Quote:
    return (Quote.objects.select_for_update(of=("self",))
            .select_related("opportunity", "opportunity__owner", "opportunity__customer", "current_version")
            .get(pk=quote.pk))


def _make_editable(quote: Quote) -> str:
    """Before a change to the current version: refuse if it is frozen or under approval; an approved or
    rejected quote goes back to draft (the approval was for the content as it was). Returns a note for the trail."""
    if quote.status == QuoteStatus.PENDING_APPROVAL:
        raise Conflict(_("This quote is waiting for approval; withdraw it before changing it."), code="quote_pending")
    if quote.status not in EDITABLE_STATUSES:
        raise Conflict(_("A sent quote is frozen; make a new version to change it."), code="quote_frozen")
    if quote.status == QuoteStatus.DRAFT:
        return ""
    old, quote.status = quote.status, QuoteStatus.DRAFT
    return _("%(old)s → %(new)s: changed after the approval round.") % {
        "old": QuoteStatus(old).label, "new": QuoteStatus.DRAFT.label}


def _joined(*notes: str) -> str:
    return " · ".join(note for note in notes if note)


# ---------------------------------------------------------------------------------------------------
# Lines and totals


def _recalculate(version: QuoteVersion) -> pricing.Totals:
    """Store the version's totals from its lines (the one place totals are made; see pricing)."""
    lines = list(version.lines.all())
    result = pricing.totals(pricing.amounts_of(line, prices_include_tax=version.prices_include_tax) for line in lines)
    stored = result.stored()
    # Each line is bounded, their sums and the margin are not: a value past its column's digits (a total of several
    # huge lines, the margin in % of a cost far above the price) would be stored on SQLite and then fail every read of
    # the quote (PostgreSQL refuses the write). The caller's transaction undoes the line.
    for name, value in stored.items():
        field = QuoteVersion._meta.get_field(name)
        if isinstance(value, Decimal) and abs(value) >= Decimal(10) ** (field.max_digits - field.decimal_places):
            raise invalid("quantity", _("With this line the quote's totals or margin are too large to keep (totals "
                                        "stay under %(limit)s): check the quantity, price and cost.")
                          % {"limit": format_yuan(MAX_MONEY)})
    for name, value in stored.items():
        setattr(version, name, value)
    version.save(update_fields=pricing.STORED_TOTALS)
    return result


def _fill_amounts(line: QuoteLine, *, prices_include_tax: bool) -> None:
    amounts = pricing.amounts_of(line, prices_include_tax=prices_include_tax)
    line.net_unit_price = amounts.net_unit_price
    line.amount_excl_tax, line.tax_amount = amounts.amount_excl_tax, amounts.tax_amount
    line.amount_incl_tax, line.cost_amount = amounts.amount_incl_tax, amounts.cost_amount


LINE_FIELDS = ["product", "name", "description", "unit", "quantity", "list_price", "unit_price", "discount_pct",
               "tax_rate", "unit_cost"]
MAX_QUANTITY = Decimal("9999999999")


def _product(value) -> Product | None:
    if value in (None, ""):
        return None
    if isinstance(value, Product):
        return value
    product = Product.objects.filter(pk=value, active=True).first() if str(value).isdigit() else None
    if product is None:
        raise invalid("product", _("Choose an active product from the catalog, or leave it empty for a free-text line."))
    return product


def _apply_line(line: QuoteLine, data: dict, *, prices_include_tax: bool) -> None:
    """Set a line's fields from what was typed. Choosing a product fills in its name, unit, price, tax rate and
    cost unless they were typed too; a free-text line needs a name and a price."""
    errors: dict[str, list] = {}

    def field(name, parse):
        try:
            return parse()
        except ValidationFailed as exc:
            for key, messages in exc.field_errors.items():
                errors.setdefault(key, []).extend(messages)
            return getattr(line, name, None)

    product_changed = "product" in data
    if product_changed:
        line.product = field("product", lambda: _product(data.get("product")))
    product = line.product
    if product_changed and product is not None:
        line.name, line.unit, line.tax_rate, line.unit_cost = product.name, product.unit, product.tax_rate, product.cost
        line.list_price = pricing.convert_price(product.list_price, tax_rate=product.tax_rate,
                                                from_incl=product.price_includes_tax, to_incl=prices_include_tax)
        if data.get("unit_price") in (None, ""):
            line.unit_price = line.list_price
    elif product_changed:
        line.list_price = None
    for name in ("name", "description", "unit"):
        if name in data and (data[name] or name != "name" or product is None):
            value = str(data[name] or "").strip()
            if too_long := text_limit_errors(QuoteLine, {name: value}):
                errors.setdefault(name, []).extend(too_long[name])
            else:
                setattr(line, name, value)
    if "quantity" in data:
        line.quantity = field("quantity", lambda: parse_decimal(data["quantity"], "quantity", minimum=Decimal("0.01"),
                                                               maximum=MAX_QUANTITY))
    if data.get("unit_price") not in (None, ""):
        line.unit_price = field("unit_price", lambda: parse_amount(data["unit_price"], "unit_price"))
    if "discount_pct" in data:
        line.discount_pct = field("discount_pct", lambda: parse_decimal(
            data["discount_pct"], "discount_pct", minimum=Decimal(0), maximum=Decimal(100), default=Decimal(0)))
    if data.get("tax_rate") not in (None, ""):
        line.tax_rate = field("tax_rate", lambda: parse_tax_rate(data["tax_rate"]))
    if "unit_cost" in data:
        line.unit_cost = field("unit_cost", lambda: parse_amount(data["unit_cost"], "unit_cost", required=False))
    if not line.name:
        errors.setdefault("name", []).append(_("Name the item, or choose a product."))
    if line.unit_price is None:
        errors.setdefault("unit_price", []).append(_("Enter the unit price."))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    _fill_amounts(line, prices_include_tax=prices_include_tax)
    if line.amount_incl_tax >= Decimal("1e12"):
        raise invalid("quantity", _("This line comes to more than the largest amount Closeloop keeps."))


def _line_snapshot(line: QuoteLine) -> dict:
    return snapshot(line, LINE_FIELDS)


# ---------------------------------------------------------------------------------------------------
# Quotes


def _default_contact(deal: Opportunity) -> tuple[str, str]:
    contact = deal.contacts.order_by("-is_primary", "id").first() or deal.customer.contacts.first()
    return (contact.name, contact.mobile or contact.landline) if contact else ("", "")


# The record type of quotes' custom fields (QuotesConfig.custom_field_targets).
QUOTE_TARGET = "quotes.Quote"


def quote_create(*, opportunity: Opportunity, actor: User, channel: str = Channel.WEB, title: str = "",
                 template: QuoteTemplate | None = None, custom: dict | None = None) -> Quote:
    """A new quote for a deal, version 1 in draft, optionally filled from a template. `custom` holds its custom
    field values (the fields' defaults fill the rest); a quote the system drafts (a renewal) passes none and gets
    the defaults, its required fields asked for when a person edits it."""
    _require_editor(actor, opportunity)
    if opportunity.status == OpportunityStatus.LOST:
        raise Conflict(_("This deal is lost; reopen it before quoting."), code="deal_lost")
    custom = clean_new(QUOTE_TARGET, custom, channel=channel, actor=actor)
    title = (title or "").strip()[:200] or opportunity.name[:200]
    settings = quote_settings()
    with transaction.atomic():
        number = next_number(series="quote", pattern=f"{settings.number_prefix}-{{YYYY}}-{{NNNN}}")
        quote = Quote.objects.create(opportunity=opportunity, number=number, title=title, created_by=actor,
                                     custom=custom)
        name, phone = _default_contact(opportunity)
        version = QuoteVersion.objects.create(
            quote=quote, number=1, prices_include_tax=settings.prices_include_tax, created_by=actor,
            valid_until=timezone.localdate() + timedelta(days=settings.validity_days),
            payment_terms=(template.payment_terms if template and template.payment_terms else settings.payment_terms),
            notes=settings.terms, contact_name=name[:100], contact_phone=phone[:40],
        )
        if template is not None:
            for position, item in enumerate(template.lines.select_related("product")):
                if not item.product.active:
                    continue
                line = QuoteLine(version=version, position=position)
                _apply_line(line, {"product": item.product, "quantity": item.quantity,
                                   "discount_pct": item.discount_pct}, prices_include_tax=version.prices_include_tax)
                line.save()
        _recalculate(version)
        quote.current_version = version
        quote.save(update_fields=["current_version"])
        audit_record(actor=actor, channel=channel, action=QuoteAction.QUOTE_CREATE, target=quote,
                     changes=diff({}, snapshot(quote, ["number", "title", "opportunity", "status"]))
                     | custom_changes(None, custom),
                     note=_("from template %(name)s") % {"name": template.name} if template else "")
    return quote


VERSION_FIELDS = ["valid_until", "payment_terms", "notes", "contact_name", "contact_phone"]


def quote_update(*, quote: Quote, data: dict, actor: User, channel: str = Channel.WEB) -> Quote:
    """Edit the title and the terms of the current version (validity, payment terms, notes, addressee)."""
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        version = quote.current_version
        values = {name: str(data[name] or "").strip() for name in ("payment_terms", "notes", "contact_name",
                                                                   "contact_phone", "title") if name in data}
        errors = {**text_limit_errors(QuoteVersion, {name: values[name] for name in VERSION_FIELDS if name in values}),
                  **text_limit_errors(Quote, {"title": values.get("title")})}
        if "title" in values and not values["title"]:
            errors["title"] = [_("This field is required.")]
        if "valid_until" in data:
            try:
                values["valid_until"] = date_input(data["valid_until"], "valid_until")
            except ValidationFailed as exc:
                errors.update(exc.field_errors)
            if values.get("valid_until") is None and "valid_until" not in errors:
                errors["valid_until"] = [_("This field is required.")]
        def check():
            if errors:
                raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)

        _none, custom = clean_record(check, QUOTE_TARGET, data, channel=channel, actor=actor, current=quote.custom)
        before = {**snapshot(version, VERSION_FIELDS), "title": quote.title}
        after = {**before, **values}
        changes = diff(before, after) | custom_changes(quote.custom, custom)
        if not changes:
            return quote
        note = _make_editable(quote)
        for name in VERSION_FIELDS:
            setattr(version, name, after[name])
        version.save(update_fields=VERSION_FIELDS)
        quote.title = after["title"]
        quote.custom = custom
        quote.save(update_fields=["title", "custom", "status", "updated_at"])
        audit_record(actor=actor, channel=channel, action=QuoteAction.QUOTE_UPDATE, target=quote, changes=changes,
                     note=note)
    return quote


def quote_line_add(*, quote: Quote, data: dict, actor: User, channel: str = Channel.WEB) -> QuoteLine:
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        note = _make_editable(quote)
        version = quote.current_version
        count = version.lines.count()
        if count >= MAX_LINES:
            raise invalid("product", _("A quote holds at most %(n)d lines.") % {"n": MAX_LINES})
        line = QuoteLine(version=version, position=count, quantity=Decimal(1), discount_pct=Decimal(0),
                         tax_rate=Decimal(13), unit_price=None)
        _apply_line(line, {"quantity": 1, **data}, prices_include_tax=version.prices_include_tax)
        line.save()
        _recalculate(version)
        quote.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, action=QuoteAction.LINE_ADD, target=quote,
                     note=_joined(line.name, note), changes=diff({}, _line_snapshot(line)))
    return line


def _locked_line(line: QuoteLine) -> tuple[Quote, QuoteLine]:
    quote = _locked(line.version.quote)
    line = QuoteLine.objects.select_related("product").filter(pk=line.pk, version=quote.current_version_id).first()
    if line is None:
        raise Conflict(_("This line belongs to an earlier version, which is frozen."), code="quote_frozen")
    return quote, line


def quote_line_update(*, line: QuoteLine, data: dict, actor: User, channel: str = Channel.WEB) -> QuoteLine:
    with transaction.atomic():
        quote, line = _locked_line(line)
        _require_editor(actor, quote.opportunity)
        before = _line_snapshot(line)
        _apply_line(line, data, prices_include_tax=quote.current_version.prices_include_tax)
        changes = diff(before, _line_snapshot(line))
        if not changes:
            return line
        note = _make_editable(quote)
        line.save()
        _recalculate(quote.current_version)
        quote.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, action=QuoteAction.LINE_UPDATE, target=quote,
                     note=_joined(line.name, note), changes=changes)
    return line


def quote_line_remove(*, line: QuoteLine, actor: User, channel: str = Channel.WEB) -> None:
    with transaction.atomic():
        quote, line = _locked_line(line)
        _require_editor(actor, quote.opportunity)
        note = _make_editable(quote)
        before = _line_snapshot(line)
        line.delete()
        _recalculate(quote.current_version)
        quote.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, action=QuoteAction.LINE_REMOVE, target=quote,
                     note=_joined(before["name"], note), changes=diff(before, {}))


# ---------------------------------------------------------------------------------------------------
# Approval, sending, revising


def quote_metrics(quote: Quote) -> dict[str, Decimal | None]:
    """What approval rules measure on a quote (its current version's frozen totals)."""
    version = quote.current_version
    return {"discount_pct": version.discount_pct, "max_line_discount_pct": version.max_line_discount_pct,
            "margin_pct": version.margin_pct, "total": version.total_incl_tax}


def quote_approval_title(quote: Quote) -> str:
    version = quote.current_version
    return f"{quote.number} v{version.number} · {quote.opportunity.customer} · {format_yuan(version.total_incl_tax)}"


def quote_approval_decided(quote: Quote, request, actor: User, channel: str) -> None:
    """The approval engine's callback: the round ended (inside its transaction)."""
    quote = _locked(quote)
    if quote.status != QuoteStatus.PENDING_APPROVAL:
        return
    approved = request.status == approvals.ApprovalStatus.APPROVED
    old, quote.status = quote.status, QuoteStatus.APPROVED if approved else QuoteStatus.REJECTED
    quote.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, channel=channel, target=quote,
                 action=QuoteAction.QUOTE_APPROVED if approved else QuoteAction.QUOTE_REJECTED,
                 changes={"status": [old, quote.status]})


def _check_ready(quote: Quote):
    version = quote.current_version
    if not version.lines.exists():
        raise invalid("lines", _("Add at least one line before submitting or sending the quote."))


def quote_submit(*, quote: Quote, actor: User, channel: str = Channel.WEB, note: str = "") -> Quote:
    """Ask for approval. A quote that crosses no rule is approved at once (the trail says so)."""
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.REJECTED):
            raise Conflict(_("Only a draft quote can be submitted for approval."), code="quote_status")
        _check_ready(quote)
        request = approvals.approval_submit(kind=APPROVAL_KIND, target=quote, actor=actor, channel=channel,
                                            note=(note or "").strip())
        old = quote.status
        quote.status = QuoteStatus.PENDING_APPROVAL if request else QuoteStatus.APPROVED
        quote.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, target=quote, changes={"status": [old, quote.status]},
                     action=QuoteAction.QUOTE_SUBMIT if request else QuoteAction.QUOTE_APPROVED,
                     note="" if request else _("No approval rule applies."))
    return quote


def quote_withdraw(*, quote: Quote, actor: User, channel: str = Channel.WEB) -> Quote:
    """Take a quote back from approval, to change it."""
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        if quote.status != QuoteStatus.PENDING_APPROVAL:
            raise Conflict(_("This quote is not waiting for approval."), code="quote_status")
        request = approvals.pending_request(APPROVAL_KIND, quote.pk)
        if request is not None:
            approvals.approval_cancel(request=request, actor=actor, channel=channel, reason=_("Withdrawn to change it."))
        quote.status = QuoteStatus.DRAFT
        quote.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, channel=channel, target=quote, action=QuoteAction.QUOTE_WITHDRAW,
                     changes={"status": [QuoteStatus.PENDING_APPROVAL, QuoteStatus.DRAFT]})
    return quote


class PublicActor:
    """The customer answering through the public link: no user account, named by what they typed."""

    pk = None
    is_authenticated = False

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return _("%(name)s (customer, through the quote link)") % {"name": self.name}


def _move_deal(quote: Quote, *, stage_field: str, because: str) -> tuple[object | None, str]:
    """Move the quote's deal to the stage its pipeline names for this event. Returns (stage moved to, "") or
    (stage, why not) when the stage gate refused; (None, "") when nothing is configured or it would go back.

    The move is the pipeline's rule, made by the system on the owner's behalf: whoever may send or answer the
    quote (a pre-sales collaborator, the customer on the public link) triggers it without needing the right
    to edit the deal, and the trail says what triggered it (`because`). A refused move never undoes the quote's
    own step; the caller tells the owner what is missing."""
    deal = quote.opportunity
    row = PipelineQuoteSettings.objects.filter(pipeline_id=deal.pipeline_id).select_related(stage_field).first()
    stage = getattr(row, stage_field) if row else None
    current = deal.stage
    if stage is None or deal.status != OpportunityStatus.OPEN or stage.pk == current.pk:
        return None, ""
    if not stage.is_won and stage.position <= current.position:
        return None, ""  # never backwards: a deal already past that stage stays where it is
    try:
        # A savepoint: a gate that refuses leaves the quote's own change standing.
        with transaction.atomic():
            opportunity_move_stage(opportunity=deal, stage=stage, actor=None, channel=Channel.SYSTEM, because=because)
    except DomainError as exc:
        return stage, exc.message
    return stage, ""


def _deal_amount_from(quote: Quote, *, because: str) -> None:
    """An accepted quote is what the customer agreed to pay: its total incl. tax (what a contract made from it
    and the won figures count) becomes the deal's amount, so the won amount, the forecast and the targets read
    the price agreed and not the estimate the deal was opened with. Like the pipeline's stage move this is the
    system's step on the owner's behalf (whoever may answer the quote triggers it); its own entry on the deal's
    trail says old → new and which quote. Only an open deal: a won or lost deal's amount is its history."""
    deal = Opportunity.objects.select_for_update(of=("self",)).get(pk=quote.opportunity_id)
    if deal.status != OpportunityStatus.OPEN:
        return
    audited_update(instance=deal, data={"amount": quote.current_version.total_incl_tax}, actor=None,
                   channel=Channel.SYSTEM, action="opportunity.update", note=because)
    quote.opportunity.amount = deal.amount


def quote_send(*, quote: Quote, actor: User, channel: str = Channel.WEB) -> Quote:
    """Mark the quote sent and freeze its version. A draft that crosses no approval rule is approved on the way;
    one that crosses a rule must be approved first."""
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        if quote.opportunity.status == OpportunityStatus.LOST:
            raise Conflict(_("This deal is lost; reopen it before sending a quote."), code="deal_lost")
        if quote.status == QuoteStatus.DRAFT:
            _check_ready(quote)
            if approvals.approval_reasons(kind=APPROVAL_KIND, target=quote):
                raise Conflict(_("This quote needs approval before it can be sent; submit it for approval."),
                               code="approval_required")
        elif quote.status != QuoteStatus.APPROVED:
            raise Conflict(_("Only an approved quote can be sent."), code="quote_status")
        version = quote.current_version
        if version.valid_until < timezone.localdate():
            raise invalid("valid_until", _("The validity date has passed; set a new one before sending."))
        now = timezone.now()
        version.sent_at, version.sent_by = now, actor
        version.save(update_fields=["sent_at", "sent_by"])
        old = quote.status
        quote.status, quote.sent_at = QuoteStatus.SENT, now
        quote.save(update_fields=["status", "sent_at", "updated_at"])
        audit_record(actor=actor, channel=channel, target=quote, action=QuoteAction.QUOTE_SEND,
                     changes={"status": [old, quote.status], "total_incl_tax": [None, version.total_incl_tax]},
                     note=f"v{version.number}")
        stage, refused = _move_deal(quote, stage_field="sent_stage", because=_("%(quote)s sent by %(actor)s")
                                    % {"quote": quote.number, "actor": actor})
        if refused:
            notify(recipient=quote.opportunity.owner, kind="quote.decided", url=quote.get_absolute_url(),
                   message=_("%(quote)s was sent, but the deal could not move to %(stage)s: %(why)s")
                   % {"quote": quote.number, "stage": stage.name, "why": refused})
    return quote


def quote_revise(*, quote: Quote, actor: User, channel: str = Channel.WEB) -> Quote:
    """A new version copied from the current one, in draft; the sent version stays readable as it was."""
    with transaction.atomic():
        quote = _locked(quote)
        _require_editor(actor, quote.opportunity)
        if quote.status not in (QuoteStatus.SENT, QuoteStatus.DECLINED):
            raise Conflict(_("Only a sent or declined quote gets a new version; a draft can be changed as it is."),
                           code="quote_status")
        old = quote.current_version
        settings = quote_settings()
        version = QuoteVersion.objects.create(
            quote=quote, number=quote.versions.count() + 1, prices_include_tax=old.prices_include_tax,
            valid_until=max(old.valid_until, timezone.localdate() + timedelta(days=settings.validity_days)),
            payment_terms=old.payment_terms, notes=old.notes, contact_name=old.contact_name,
            contact_phone=old.contact_phone, created_by=actor,
        )
        lines = list(old.lines.all())
        for line in lines:
            line.pk, line.id, line.version = None, None, version
        QuoteLine.objects.bulk_create(lines)
        _recalculate(version)
        previous_status = quote.status
        quote.current_version, quote.status = version, QuoteStatus.DRAFT
        quote.decided_at, quote.decided_by_name, quote.decided_by_phone, quote.decision_note = None, "", "", ""
        quote.save(update_fields=["current_version", "status", "decided_at", "decided_by_name", "decided_by_phone",
                                  "decision_note", "updated_at"])
        audit_record(actor=actor, channel=channel, target=quote, action=QuoteAction.QUOTE_REVISE,
                     changes={"status": [previous_status, quote.status], "version": [old.number, version.number]})
    return quote


@dataclass
class Decision:
    quote: Quote
    stage: object | None  # the stage the deal moved to (or was meant to)
    refused: str  # why the stage gate refused the move, or ""


def quote_decide(*, quote: Quote, accept: bool, actor: User | None, channel: str = Channel.WEB, name: str = "",
                 phone: str = "", note: str = "") -> Decision:
    """Record the customer's answer to the sent quote: by the rep (actor), or by the customer through the public
    link (actor None, channel "form", with their name and phone). Accepting moves the deal to the stage the
    pipeline names; when that stage's gate refuses, the acceptance stands and the owner is told what is missing.
    An open deal's amount becomes the accepted total (incl. tax); a won or lost deal keeps its own."""
    name, phone, note = (name or "").strip(), (phone or "").strip(), (note or "").strip()
    public = actor is None
    errors = {}
    if public and not name:
        errors["name"] = [_("Please give your name.")]
    # The answer's own words are kept on the quote: their limits are its fields'.
    too_long = text_limit_errors(Quote, {"decided_by_name": name, "decision_note": note})
    if "decided_by_name" in too_long:
        errors["name"] = too_long["decided_by_name"]
    if public and accept and not phone:
        errors["phone"] = [_("Please give a phone number we can reach you on.")]
    elif phone and (problem := normalize.phone_error("mobile", phone)):
        errors["phone"] = [problem]
    if "decision_note" in too_long:
        errors["note"] = too_long["decision_note"]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        quote = _locked(quote)
        if not public:
            _require_editor(actor, quote.opportunity)
        if quote.status != QuoteStatus.SENT:
            if public and quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
                raise Conflict(_("This quote has already been answered. Thank you."), code="quote_answered")
            raise Conflict(_("Only a sent quote can be accepted or declined."), code="quote_status")
        if public and quote.current_version.valid_until < timezone.localdate():
            raise Conflict(_("This quote expired on %(date)s; please ask us for a new one.")
                           % {"date": quote.current_version.valid_until}, code="quote_expired")
        now = timezone.now()
        old = quote.status
        quote.status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
        quote.decided_at, quote.decision_note = now, note
        quote.decided_by_name = name or (str(actor) if actor else "")
        quote.decided_by_phone = phone
        quote.save(update_fields=["status", "decided_at", "decided_by_name", "decided_by_phone", "decision_note",
                                  "updated_at"])
        who = PublicActor(name) if public else actor
        audit_record(actor=actor, channel=Channel.FORM if public else channel, target=quote,
                     action=QuoteAction.QUOTE_ACCEPT if accept else QuoteAction.QUOTE_DECLINE,
                     changes={"status": [old, quote.status], "decided_by_name": [None, quote.decided_by_name],
                              **({"decided_by_phone": [None, phone]} if phone else {})},
                     note=note)
        stage, refused = (None, "")
        if accept:
            # The amount first: a won stage the pipeline moves to closes the deal, and a gate may ask for it.
            _deal_amount_from(quote, because=_("the total of %(quote)s, accepted by %(who)s")
                              % {"quote": quote.number, "who": who})
            stage, refused = _move_deal(quote, stage_field="accepted_stage", because=_("%(quote)s accepted by %(who)s")
                                        % {"quote": quote.number, "who": who})
        owner = quote.opportunity.owner
        if public or refused or owner.pk != getattr(actor, "pk", None):
            message = (_("%(who)s accepted %(quote)s") if accept else _("%(who)s declined %(quote)s")) % {
                "who": who, "quote": quote}
            if refused:
                message += " " + _("The deal could not move to %(stage)s: %(why)s") % {"stage": stage.name, "why": refused}
            notify(recipient=owner, kind="quote.decided", message=message, url=quote.get_absolute_url())
    return Decision(quote=quote, stage=stage, refused=refused)


def quote_approval_kind() -> approvals.ApprovalKind:
    """How quotes take part in the approval engine (registered by the app's ready())."""
    from django.utils.translation import gettext_lazy

    return approvals.ApprovalKind(
        key=APPROVAL_KIND, label=gettext_lazy("Quote"), model="quotes.Quote",
        metrics=(
            approvals.Metric("discount_pct", gettext_lazy("Discount off list price"), "%"),
            approvals.Metric("max_line_discount_pct", gettext_lazy("Largest discount on a line"), "%"),
            approvals.Metric("margin_pct", gettext_lazy("Gross margin"), "%"),
            approvals.Metric("total", gettext_lazy("Total incl. tax"), "¥"),
        ),
        measure=quote_metrics, owner=lambda quote: quote.opportunity.owner,
        opportunity=lambda quote: quote.opportunity, title=quote_approval_title,
        url=lambda quote: quote.get_absolute_url(), on_decided=quote_approval_decided,
    )
