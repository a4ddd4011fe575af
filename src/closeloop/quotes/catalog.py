"""Catalog and quote settings: products, tax rates, quote templates, company header, approval rules.

Products and templates are kept by administrators and pre-sales; settings and approval rules by
administrators. Every write is audited in its transaction, like the rest of the house.
"""

import unicodedata
from decimal import Decimal, InvalidOperation
from itertools import islice

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from closeloop.core import configcache
from closeloop.core.audit import audit_record, diff, snapshot
from closeloop.core.errors import Forbidden, ValidationFailed, invalid
from closeloop.core.inputs import check_text_limits
from closeloop.core.models import Channel, Role, User
from closeloop.core.money import parse_money
from closeloop.leads.services.batch import BatchOutcome

from . import approvals
from .actions import QuoteAction
from .models import (
    ApprovalChain,
    ApprovalOperator,
    ApprovalRule,
    ApprovalRuleApprover,
    PipelineQuoteSettings,
    Product,
    QuoteSettings,
    QuoteTemplate,
    QuoteTemplateLine,
    TaxRate,
)

DEFAULT_TAX_RATES = [("13%", Decimal(13)), ("9%", Decimal(9)), ("6%", Decimal(6)), ("0%（免税/零税率）", Decimal(0))]


def parse_decimal(value, field: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None,
                  places: int = 2, required: bool = True, default: Decimal | None = None) -> Decimal | None:
    """A quantity or percentage as people type it (“1.5”, “１０”, “15%”), within bounds, or a field error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required and default is None:
            raise invalid(field, _("This field is required."))
        return default
    text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("%").replace(",", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid(field, _("Enter a number, for example 1.5.")) from None
    if not number.is_finite():
        raise invalid(field, _("Enter a number, for example 1.5."))
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise invalid(field, _("Use at most %(places)d decimal places.") % {"places": places})
    if minimum is not None and number < minimum:
        raise invalid(field, _("Enter %(min)s or more.") % {"min": minimum})
    if maximum is not None and number > maximum:
        raise invalid(field, _("Enter %(max)s or less.") % {"max": maximum})
    return number


def parse_amount(value, field: str, *, required: bool = True) -> Decimal | None:
    try:
        amount = parse_money(value)
    except ValueError:
        raise invalid(field, _("Enter an amount in yuan, for example 12800 or ¥12,800.00.")) from None
    if amount is None and required:
        raise invalid(field, _("This field is required."))
    return amount


def _text(model, data: dict, field: str, *, required: bool = False, default: str = "") -> str:
    """The typed text, trimmed; bounded by `model`'s field (its max_length, said in Django's words)."""
    value = str(data.get(field, default) or "").strip()
    if required and not value:
        raise invalid(field, _("This field is required."))
    check_text_limits(model, {field: value})
    return value


# ---------------------------------------------------------------------------------------------------
# Settings (read)


def quote_settings() -> QuoteSettings:
    """The settings row, made with its defaults on first use (cached; read-only)."""
    def load():
        settings, _created = QuoteSettings.objects.get_or_create(pk=1)
        return settings

    return configcache.cached("quotes.settings", load, models=(QuoteSettings,))


def tax_rates() -> list[Decimal]:
    """The active VAT rates, highest first (the defaults until an administrator changes them)."""
    def load():
        rates = list(TaxRate.objects.filter(active=True).values_list("rate", flat=True))
        if not TaxRate.objects.exists():
            rates = [rate for _name, rate in DEFAULT_TAX_RATES]
        return sorted(rates, reverse=True)

    return configcache.cached("quotes.tax_rates", load, models=(TaxRate,))


def install_default_tax_rates() -> None:
    if not TaxRate.objects.exists():
        TaxRate.objects.bulk_create([TaxRate(name=name, rate=rate, position=i)
                                     for i, (name, rate) in enumerate(DEFAULT_TAX_RATES)])


def parse_tax_rate(value, field: str = "tax_rate", *, allowed: list[Decimal] | None = None) -> Decimal:
    rate = parse_decimal(value, field, minimum=Decimal(0), maximum=Decimal("99.99"))
    if rate not in (allowed if allowed is not None else tax_rates()):
        shown = "、".join(f"{r.normalize():f}%" for r in tax_rates())
        raise invalid(field, _("Choose one of the configured tax rates: %(rates)s.") % {"rates": shown})
    return rate


# ---------------------------------------------------------------------------------------------------
# Permissions


def can_manage_catalog(user: User) -> bool:
    return user.is_authenticated and (user.is_admin or user.role == Role.PRESALES)


def _require_catalog(actor: User):
    if not can_manage_catalog(actor):
        raise Forbidden(_("Only administrators and pre-sales can change the catalog and quote templates."))


def _require_admin(actor: User):
    if not actor.is_admin:
        raise Forbidden(_("Only administrators can change quote settings and approval rules."))


# ---------------------------------------------------------------------------------------------------
# Products

PRODUCT_FIELDS = ["code", "name", "category", "unit", "description", "list_price", "price_includes_tax", "cost",
                  "tax_rate", "active"]


def clean_product(data: dict, *, product: Product | None = None) -> dict:
    """Parse a product's fields as typed (form, API, spreadsheet row); raises ValidationFailed with every field error."""
    errors: dict[str, list] = {}
    values: dict = {}
    merged = {name: getattr(product, name) for name in PRODUCT_FIELDS} if product else {}
    merged.update({k: v for k, v in data.items() if k in PRODUCT_FIELDS})
    checks = [
        ("code", lambda: _text(Product, merged, "code", required=True)),
        ("name", lambda: _text(Product, merged, "name", required=True)),
        ("category", lambda: _text(Product, merged, "category")),
        ("unit", lambda: _text(Product, merged, "unit", required=True, default="套")),
        ("description", lambda: _text(Product, merged, "description")),
        ("list_price", lambda: parse_amount(merged.get("list_price"), "list_price")),
        ("cost", lambda: parse_amount(merged.get("cost"), "cost", required=False)),
        ("tax_rate", lambda: parse_tax_rate(merged.get("tax_rate", Decimal(13)))),
    ]
    for name, check in checks:
        try:
            values[name] = check()
        except ValidationFailed as exc:
            for field, messages in exc.field_errors.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    values["active"] = _flag(merged.get("active", True))
    values["price_includes_tax"] = _flag(merged.get("price_includes_tax", quote_settings().prices_include_tax))
    return values


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "off", "否", "停用"}
    return bool(value)


def product_save(*, actor: User, data: dict, product: Product | None = None, channel: str = Channel.WEB) -> Product:
    _require_catalog(actor)
    values = clean_product(data, product=product)
    with transaction.atomic():
        creating = product is None
        if not creating:
            product = Product.objects.select_for_update().get(pk=product.pk)
        product = product or Product()
        before = {} if creating else snapshot(product, PRODUCT_FIELDS)
        for name, value in values.items():
            setattr(product, name, value)
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise invalid("code", _("Another product has the code “%(code)s”.") % {"code": product.code}) from None
        changes = diff(before, snapshot(product, PRODUCT_FIELDS))
        if changes or creating:
            audit_record(actor=actor, channel=channel, target=product, changes=changes,
                         action=QuoteAction.PRODUCT_CREATE if creating else QuoteAction.PRODUCT_UPDATE)
    return product


def _product_by_code(data: dict) -> Product | None:
    code = str(data.get("code") or "").strip()
    return Product.objects.filter(code=code).first() if code else None


def product_check(*, data: dict) -> dict:
    """The field errors `product_import` would report for this row, without writing anything ({} = fine)."""
    try:
        clean_product(data, product=_product_by_code(data))
    except ValidationFailed as exc:
        return exc.field_errors or {"": [exc.message]}
    return {}


def product_import(*, rows, actor: User, on_chunk=None, chunk_size: int = 500, stop=None) -> BatchOutcome:
    """Products from a spreadsheet (the lead import's job and pages, see quotes/imports.py).

    `rows` yields `(key, data)`. A row whose code is in the catalog updates that product (its empty cells
    keep the product's values: a price list updates prices), any other row makes a new one; each through
    `product_save`, so the same checks and audit entries as the product form. Each chunk is one
    transaction, and `on_chunk(outcome)` runs inside it, so the job's progress commits with the products;
    `stop()`, asked after each commit, ends the import there (a cancelled job).
    """
    _require_catalog(actor)
    total = BatchOutcome()
    rows = iter(rows)
    while chunk := list(islice(rows, chunk_size)):
        outcome = BatchOutcome()
        with transaction.atomic():
            for key, data in chunk:
                product = _product_by_code(data)
                try:
                    product_save(actor=actor, data=data, product=product, channel=Channel.IMPORT)
                except ValidationFailed as exc:
                    outcome.refused.append((key, exc.field_errors or {"": [exc.message]}))
                    continue
                if product is None:
                    outcome.created += 1
                else:
                    outcome.routed += 1
            if on_chunk is not None:
                on_chunk(outcome)
        total.created += outcome.created
        total.routed += outcome.routed
        total.refused.extend(outcome.refused)
        if stop is not None and stop():
            break
    return total


# ---------------------------------------------------------------------------------------------------
# Tax rates, settings, pipeline moves


def tax_rate_save(*, actor: User, data: dict, tax_rate: TaxRate | None = None, channel: str = Channel.WEB) -> TaxRate:
    _require_admin(actor)
    name = _text(TaxRate, data, "name", required=True)
    rate = parse_decimal(data.get("rate"), "rate", minimum=Decimal(0), maximum=Decimal("99.99"))
    with transaction.atomic():
        if not TaxRate.objects.exists():
            install_default_tax_rates()
        creating = tax_rate is None
        tax_rate = tax_rate or TaxRate(position=TaxRate.objects.count())
        before = {} if creating else snapshot(tax_rate, ["name", "rate", "active"])
        tax_rate.name, tax_rate.rate = name, rate
        tax_rate.active = _flag(data.get("active", True))
        try:
            with transaction.atomic():
                tax_rate.save()
        except IntegrityError:
            raise invalid("rate", _("This rate is already in the list.")) from None
        audit_record(actor=actor, channel=channel, target=tax_rate, changes=diff(before, snapshot(tax_rate, ["name", "rate", "active"])),
                     action=QuoteAction.TAX_RATE_CREATE if creating else QuoteAction.TAX_RATE_UPDATE)
    return tax_rate


SETTINGS_FIELDS = ["prices_include_tax", "company_name", "company_address", "company_phone", "company_email",
                   "company_tax_id", "company_bank", "number_prefix", "validity_days", "payment_terms", "terms"]
SETTINGS_TEXT = ["company_name", "company_address", "company_phone", "company_email", "company_tax_id", "company_bank",
                 "payment_terms", "terms"]
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
LOGO_MAX_BYTES = 1024 * 1024


def logo_kind(upload) -> str | None:
    """"png" or "jpg" by the file's first bytes (never its name), else None; the file is left at its start."""
    head = upload.read(8)
    upload.seek(0)
    return next((kind for magic, kind in LOGO_TYPES.items() if head.startswith(magic)), None)


def logo_problem(upload) -> str | None:
    """A logo must be a PNG or JPEG under 1 MiB."""
    if upload.size > LOGO_MAX_BYTES:
        return _("The logo is larger than 1 MB; use a smaller image.")
    if logo_kind(upload) is None:
        return _("The logo must be a PNG or JPEG image.")
    return None


def quote_settings_save(*, actor: User, data: dict, logo=None, clear_logo: bool = False,
                        channel: str = Channel.WEB) -> QuoteSettings:
    _require_admin(actor)
    errors = {}
    values = {}
    for name in SETTINGS_TEXT:
        if name in data:
            try:
                values[name] = _text(QuoteSettings, data, name)
            except ValidationFailed as exc:
                errors.update(exc.field_errors)
    if "number_prefix" in data:
        prefix = str(data["number_prefix"] or "").strip()
        if not prefix or len(prefix) > 10 or not all(c.isalnum() or c in "-_" for c in prefix):
            errors["number_prefix"] = [_("Use 1 to 10 letters or digits, e.g. BJ.")]
        values["number_prefix"] = prefix
    if "validity_days" in data:
        try:
            values["validity_days"] = int(parse_decimal(data["validity_days"], "validity_days", minimum=Decimal(1),
                                                        maximum=Decimal(365), places=0))
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if "prices_include_tax" in data:
        values["prices_include_tax"] = _flag(data["prices_include_tax"])
    if logo is not None and (problem := logo_problem(logo)):
        errors["logo"] = [problem]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    with transaction.atomic():
        settings, _created = QuoteSettings.objects.select_for_update().get_or_create(pk=1)
        before = snapshot(settings, SETTINGS_FIELDS + ["logo"])
        for name, value in values.items():
            setattr(settings, name, value)
        if clear_logo:
            settings.logo = ""
        if logo is not None:
            settings.logo.save(f"logo.{logo_kind(logo)}", logo, save=False)
        settings.save()
        after = snapshot(settings, SETTINGS_FIELDS + ["logo"])
        changes = diff({k: str(v) if k == "logo" else v for k, v in before.items()},
                       {k: str(v) if k == "logo" else v for k, v in after.items()})
        if changes:
            audit_record(actor=actor, channel=channel, target=settings, changes=changes,
                         action=QuoteAction.QUOTE_SETTINGS_UPDATE)
    return settings


def pipeline_quote_settings_save(*, actor: User, pipeline, sent_stage=None, accepted_stage=None,
                                 channel: str = Channel.WEB) -> PipelineQuoteSettings:
    """Which stage a deal moves to when its quote is sent, and when it is accepted (None: it stays)."""
    _require_admin(actor)
    for field, stage in (("sent_stage", sent_stage), ("accepted_stage", accepted_stage)):
        if stage is not None and (stage.pipeline_id != pipeline.pk or stage.is_lost):
            raise invalid(field, _("Choose a stage of this pipeline that is not a lost stage."))
    with transaction.atomic():
        row, _created = PipelineQuoteSettings.objects.select_for_update().get_or_create(pipeline=pipeline)
        before = snapshot(row, ["sent_stage", "accepted_stage"])
        row.sent_stage, row.accepted_stage = sent_stage, accepted_stage
        row.save()
        changes = diff(before, snapshot(row, ["sent_stage", "accepted_stage"]))
        if changes:
            audit_record(actor=actor, channel=channel, target=row, changes=changes,
                         action=QuoteAction.QUOTE_SETTINGS_UPDATE)
    return row


# ---------------------------------------------------------------------------------------------------
# Quote templates


def quote_template_save(*, actor: User, data: dict, lines: list[dict], template: QuoteTemplate | None = None,
                        channel: str = Channel.WEB) -> QuoteTemplate:
    """A template's name, terms and lines (each {"product": Product or id, "quantity", "discount_pct"})."""
    _require_catalog(actor)
    name = _text(QuoteTemplate, data, "name", required=True)
    description = _text(QuoteTemplate, data, "description")
    payment_terms = _text(QuoteTemplate, data, "payment_terms")
    parsed = []
    for index, line in enumerate(lines):
        product = line.get("product")
        if not isinstance(product, Product):
            product = Product.objects.filter(pk=product, active=True).first() if str(product or "").isdigit() else None
        if product is None:
            raise invalid(f"lines.{index}.product", _("Choose an active product."))
        parsed.append(QuoteTemplateLine(
            product=product, position=index,
            quantity=parse_decimal(line.get("quantity", 1), f"lines.{index}.quantity", minimum=Decimal("0.01"),
                                   maximum=Decimal("9999999999")),
            discount_pct=parse_decimal(line.get("discount_pct"), f"lines.{index}.discount_pct", minimum=Decimal(0),
                                       maximum=Decimal(100), default=Decimal(0)),
        ))
    if not parsed:
        raise invalid("lines", _("A template needs at least one product."))
    with transaction.atomic():
        creating = template is None
        template = template or QuoteTemplate()
        before = {} if creating else {**snapshot(template, ["name", "description", "payment_terms", "active"]),
                                      "lines": _template_lines_text(template)}
        template.name, template.description, template.payment_terms = name, description, payment_terms
        template.active = _flag(data.get("active", True))
        try:
            with transaction.atomic():
                template.save()
        except IntegrityError:
            raise invalid("name", _("Another template has this name.")) from None
        template.lines.all().delete()
        for line in parsed:
            line.template = template
        QuoteTemplateLine.objects.bulk_create(parsed)
        after = {**snapshot(template, ["name", "description", "payment_terms", "active"]),
                 "lines": _template_lines_text(template)}
        audit_record(actor=actor, channel=channel, target=template, changes=diff(before, after),
                     action=QuoteAction.TEMPLATE_CREATE if creating else QuoteAction.TEMPLATE_UPDATE)
    return template


def _template_lines_text(template: QuoteTemplate) -> str:
    return "; ".join(f"{line.product.code} × {line.quantity:f}" + (f" -{line.discount_pct:f}%" if line.discount_pct else "")
                     for line in template.lines.select_related("product"))


# ---------------------------------------------------------------------------------------------------
# Approval rules

RULE_FIELDS = ["kind", "name", "metric", "operator", "threshold", "chain", "levels", "active"]


def approval_rule_save(*, actor: User, data: dict, approvers: list[User] | None = None,
                       rule: ApprovalRule | None = None, channel: str = Channel.WEB) -> ApprovalRule:
    _require_admin(actor)
    approvers = list(approvers or [])
    errors = approvals.rule_problem(kind=data.get("kind", ""), metric=data.get("metric", ""),
                                    chain=data.get("chain", ""), approvers=approvers)
    values = {"kind": data.get("kind", ""), "metric": data.get("metric", ""), "active": _flag(data.get("active", True))}
    for field, parse in [
        ("name", lambda: _text(ApprovalRule, data, "name", required=True)),
        ("threshold", lambda: parse_decimal(data.get("threshold"), "threshold", minimum=Decimal("-100"),
                                            maximum=Decimal("999999999999"))),
        ("levels", lambda: int(parse_decimal(data.get("levels", 1), "levels", minimum=Decimal(1), maximum=Decimal(5),
                                             places=0))),
    ]:
        try:
            values[field] = parse()
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if data.get("operator") not in ApprovalOperator.values:
        errors["operator"] = [_("Choose above or below.")]
    if data.get("chain") not in ApprovalChain.values:
        errors["chain"] = [_("Choose who approves.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), field_errors=errors)
    values.update(operator=data["operator"], chain=data["chain"])
    with transaction.atomic():
        creating = rule is None
        rule = rule or ApprovalRule(position=ApprovalRule.objects.filter(kind=values["kind"]).count())
        before = {} if creating else {**snapshot(rule, RULE_FIELDS),
                                      "approvers": ", ".join(str(link.user) for link in rule.approver_links.select_related("user"))}
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save()
        rule.approver_links.all().delete()
        ApprovalRuleApprover.objects.bulk_create([ApprovalRuleApprover(rule=rule, user=user, position=i)
                                                  for i, user in enumerate(approvers)])
        after = {**snapshot(rule, RULE_FIELDS), "approvers": ", ".join(str(u) for u in approvers)}
        audit_record(actor=actor, channel=channel, target=rule, changes=diff(before, after),
                     action=QuoteAction.APPROVAL_RULE_CREATE if creating else QuoteAction.APPROVAL_RULE_UPDATE)
    return rule
