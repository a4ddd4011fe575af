"""The quotes app's part of `closeloop demo`: a catalog, two templates, approval rules, and some demo deals
carried to quotes — drafts, one awaiting the manager's approval, approved, sent (one on its second
version), accepted (one through the customer's link) and declined — so a newcomer sees every state."""

from django.db import transaction

from closeloop.core.errors import DomainError
from closeloop.core.models import Channel
from closeloop.deals.models import Opportunity, OpportunityStatus, Pipeline

from . import approvals, catalog, services
from .models import ApprovalChain, ApprovalOperator, QuoteStatus

PRODUCTS = [
    # code, name, category, unit, list price (incl. tax), cost (excl. tax), tax rate
    ("CRM-STD", "Closeloop CRM 标准版（年/用户）", "软件许可", "用户·年", "1200", "150", "13"),
    ("CRM-PRO", "Closeloop CRM 专业版（年/用户）", "软件许可", "用户·年", "2400", "300", "13"),
    ("CRM-MOB", "移动端与企业微信集成", "软件许可", "套", "30000", "6000", "13"),
    ("SVC-IMPL", "实施服务", "服务", "人天", "2500", "1200", "6"),
    ("SVC-TRAIN", "用户培训", "服务", "人天", "2000", "800", "6"),
    ("SVC-MIG", "历史数据迁移", "服务", "项", "15000", "6000", "6"),
    ("SVC-DEV", "定制开发", "服务", "人天", "3000", "1500", "6"),
    ("SUP-YEAR", "年度维保服务", "维保", "年", "20000", "5000", "6"),
    ("HW-SRV", "本地部署服务器", "硬件", "台", "48000", "36000", "13"),
]

TEMPLATES = [
    ("标准版·30用户", "中小团队上手方案", "合同签订后支付50%，上线验收后支付50%",
     [("CRM-STD", 30, 0), ("SVC-IMPL", 5, 0), ("SVC-TRAIN", 1, 0)]),
    ("专业版·100用户（含集成）", "集团销售团队方案", "合同签订后支付40%，上线后支付40%，验收后支付20%",
     [("CRM-PRO", 100, 5), ("CRM-MOB", 1, 0), ("SVC-IMPL", 20, 0), ("SVC-MIG", 1, 0), ("SUP-YEAR", 1, 0)]),
]

# What becomes of the demo quotes, in order; the deals are the first open ones in the later stages.
PLAN = ["accepted_link", "accepted", "sent_v2", "sent", "pending", "approved", "declined", "draft", "draft"]
CUSTOMER_NAMES = ["周敏", "王建华", "李海燕", "陈晓东"]


def load_demo_quotes(ctx) -> str:
    admin, users = ctx.admin, ctx.users
    rng = ctx.rng
    catalog.quote_settings_save(actor=admin, data={
        "company_name": "华东云科技有限公司", "company_address": "上海市浦东新区张江高科技园区碧波路690号",
        "company_phone": "021-5080 1234", "company_email": "sales@closeloop.example",
        "company_tax_id": "91310115MA1K4ABCDE", "company_bank": "招商银行上海张江支行 1219 0876 5432 101",
        "prices_include_tax": True, "validity_days": 30,
        "payment_terms": "合同签订后支付50%，上线验收后支付50%",
        "terms": "1. 报价含增值税专用发票。\n2. 软件许可按年订阅，到期可续费。\n3. 实施服务按实际人天结算，超出部分另行报价。",
    })
    products = {}
    for code, name, category, unit, price, cost, rate in PRODUCTS:
        products[code] = catalog.product_save(actor=admin, data={
            "code": code, "name": name, "category": category, "unit": unit, "list_price": price, "cost": cost,
            "tax_rate": rate, "price_includes_tax": True})
    templates = [
        catalog.quote_template_save(actor=admin, data={"name": name, "description": description,
                                                       "payment_terms": terms},
                                    lines=[{"product": products[code], "quantity": qty, "discount_pct": off}
                                           for code, qty, off in lines])
        for name, description, terms, lines in TEMPLATES
    ]
    approval_rule = {"kind": "quote", "operator": ApprovalOperator.ABOVE, "chain": ApprovalChain.MANAGERS}
    catalog.approval_rule_save(actor=admin, data={**approval_rule, "name": "折扣超过15%", "metric": "discount_pct",
                                                  "threshold": "15", "levels": 1})
    catalog.approval_rule_save(actor=admin, data={**approval_rule, "name": "折扣超过30%（总监审批）",
                                                  "metric": "discount_pct", "threshold": "30", "levels": 2})
    finance = users.get("finance1")
    if finance is not None:
        catalog.approval_rule_save(actor=admin, approvers=[finance], data={
            "kind": "quote", "name": "毛利率低于35%（财务审批）", "metric": "margin_pct", "operator": ApprovalOperator.BELOW,
            "threshold": "35", "chain": ApprovalChain.APPROVERS, "levels": 1})
    pipeline = Pipeline.default()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    if "方案报价" in stages and "商务谈判" in stages:
        catalog.pipeline_quote_settings_save(actor=admin, pipeline=pipeline, sent_stage=stages["方案报价"],
                                             accepted_stage=stages["商务谈判"])

    deals = list(Opportunity.objects.filter(status=OpportunityStatus.OPEN, pipeline=pipeline)
                 .select_related("owner", "stage").order_by("-stage__position", "id")[: len(PLAN) * 2])
    made = 0
    for deal in deals:
        if made >= len(PLAN):
            break
        try:
            with transaction.atomic():
                _carry(deal, PLAN[made], templates=templates, products=products, rng=rng, admin=admin)
        except DomainError:
            continue  # a deal its owner cannot quote any more: the next deal takes its place
        made += 1
    return f"{len(products)} products, {made} quotes"


def _carry(deal, outcome: str, *, templates, products, rng, admin) -> None:
    owner = deal.owner
    template = templates[1] if deal.amount and deal.amount > 500_000 else templates[0]
    quote = services.quote_create(opportunity=deal, actor=owner, template=template, channel=Channel.SYSTEM)
    lines = list(quote.current_version.lines.all())
    # A little variety in prices, so the price history has something to show.
    # 30% off the licences is about 20% off the whole quote: over the 15% rule, so the manager approves.
    discount = {"pending": "30", "approved": "30", "declined": "8"}.get(outcome, rng.choice(["0", "5", "10"]))
    services.quote_line_update(line=lines[0], actor=owner, data={"discount_pct": discount}, channel=Channel.SYSTEM)
    if outcome == "draft":
        return
    services.quote_submit(quote=quote, actor=owner, channel=Channel.SYSTEM, note="客户预算有限，申请特殊折扣")
    quote.refresh_from_db()
    if quote.status == QuoteStatus.PENDING_APPROVAL:
        if outcome == "pending":
            return
        request = approvals.pending_request(services.APPROVAL_KIND, quote.pk)
        while request is not None:
            step = request.current_step
            approvals.approval_decide(request=request, actor=step.approver or admin, approve=True,
                                      comment="同意，请尽快推进签约", channel=Channel.SYSTEM)
            request = approvals.pending_request(services.APPROVAL_KIND, quote.pk)
        quote.refresh_from_db()
    if outcome == "approved":
        return
    services.quote_send(quote=quote, actor=owner, channel=Channel.SYSTEM)
    if outcome == "sent_v2":
        services.quote_revise(quote=quote, actor=owner, channel=Channel.SYSTEM)
        quote.refresh_from_db()
        services.quote_line_add(quote=quote, actor=owner, channel=Channel.SYSTEM,
                                data={"product": products["SVC-TRAIN"].pk, "quantity": "2"})
        services.quote_send(quote=quote, actor=owner, channel=Channel.SYSTEM)
    elif outcome == "accepted_link":
        services.quote_decide(quote=quote, accept=True, actor=None, channel=Channel.FORM,
                              name=rng.choice(CUSTOMER_NAMES), phone="13912345678", note="请尽快安排合同")
    elif outcome == "accepted":
        services.quote_decide(quote=quote, accept=True, actor=owner, channel=Channel.SYSTEM, name="采购部 王经理",
                              note="电话确认接受")
    elif outcome == "declined":
        services.quote_decide(quote=quote, accept=False, actor=owner, channel=Channel.SYSTEM, name="采购部",
                              note="预算压缩，今年暂缓")
