"""Demo deals for `closeloop demo`: qualified leads converted, deals spread over the stages, follow-ups."""

from datetime import timedelta

from django.utils import timezone

from closeloop.core.errors import DomainError
from closeloop.core.models import Channel
from closeloop.deals.services.conversion import lead_convert
from closeloop.deals.services.opportunities import opportunity_move_stage, opportunity_update
from closeloop.followup.models import Handoff
from closeloop.followup.services import activity_log, handoff_request, handoff_respond
from closeloop.leads.models import Lead, LeadStatus

from .models import LostReason, Opportunity, Pipeline

ACTIVITY_NOTES = [
    ("call", "电话沟通需求，客户关心实施周期", "希望下月内看到方案", "准备方案和报价"),
    ("visit", "上门拜访，演示了销售漏斗和看板", "对移动端很感兴趣", "安排技术评估"),
    ("wechat", "微信发送了产品资料", "已转给采购经理", "跟进采购流程"),
    ("meeting", "和IT、采购开会确认范围", "预算已批，要求打九折", "商务谈判"),
    ("email", "邮件发送正式报价单", "", "等待客户反馈"),
]


DEAL_TOPICS = ["销售管理系统", "CRM 年度订阅", "企业微信对接", "销售团队扩容", "客户数据迁移", "移动端上线"]
# The demo's deal custom field: how the customer buys, one of the dashboard's filters (and indexed for the list's).
PURCHASE_MODES = ["直接采购", "招标采购", "渠道采购"]


def load_demo_fields(admin) -> None:
    from closeloop.core.customfields.services import custom_field_create, custom_field_index

    mode = custom_field_create(target="deals.Opportunity", key="purchase_mode", field_type="choice", actor=admin,
                               data={"label_zh": "采购方式", "label_en": "Purchase mode", "options": PURCHASE_MODES,
                                     "list_column": True})
    custom_field_index(field=mode, indexed=True, actor=admin)


def load_demo_deals(*, rng, reps, presales, admin, count: int = 40) -> int:
    """Convert up to `count` demo leads and walk their deals through the default pipeline."""
    pipeline = Pipeline.default()
    stages = list(pipeline.stages.order_by("position"))
    open_stages = [s for s in stages if not s.is_closed]
    won = next(s for s in stages if s.is_won)
    lost = next(s for s in stages if s.is_lost)
    reasons = list(LostReason.objects.all())
    load_demo_fields(admin)
    now = timezone.now()
    made = 0
    leads = Lead.objects.filter(owner__in=reps).exclude(status__in=[LeadStatus.MERGED, LeadStatus.CONVERTED])
    late_handoff = False
    for lead in leads.order_by("id")[: count * 2]:
        if made >= count:
            break
        if lead.status != LeadStatus.QUALIFIED:
            Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.QUALIFIED)
        try:
            # Named as a rep names a deal (what is sold), not after the lead's first note ("先了解一下，明年再说").
            result = lead_convert(lead=lead, actor=lead.owner, channel=Channel.SYSTEM,
                                  opportunity_name=f"{lead.company_name} · {rng.choice(DEAL_TOPICS)}",
                                  amount=rng.choice([50000, 120000, 300000, 680000, 1200000]))
        except DomainError:
            continue  # the company is already another rep's customer: exactly what conversion refuses
        deal, owner = result.opportunity, lead.owner
        made += 1
        deal = opportunity_update(opportunity=deal, actor=owner, channel=Channel.SYSTEM,
                                  data={"custom": {"purchase_mode": PURCHASE_MODES[made % 3]}})
        kind, content, feedback, plan = rng.choice(ACTIVITY_NOTES)
        follow_up = now + timedelta(hours=rng.randrange(1, 24 * 7))
        activity_log(actor=owner, record=deal, channel=Channel.SYSTEM, data={
            "kind": kind, "content": content, "feedback": feedback, "next_plan": plan, "next_follow_up_at": follow_up})
        target = rng.choice(open_stages + open_stages + [won, lost])
        fields = {"need": deal.need or "销售管理系统", "budget": deal.budget or 200000, "amount": deal.amount,
                  "authority": deal.authority or "总经理", "expected_close_date": (now + timedelta(days=45)).date(),
                  "next_step": plan}
        if target.is_lost:
            fields.update(lost_reason=rng.choice(reasons), lost_note="客户选择了本地供应商")
        try:
            opportunity_move_stage(opportunity=deal, stage=target, actor=owner, channel=Channel.SYSTEM,
                                            fields=fields)
        except DomainError:
            continue
        # Some deals are overdue or gone quiet, so the Today page and the reminders have something to show.
        if rng.random() < 0.3:
            Opportunity.objects.filter(pk=deal.pk).update(next_follow_up_at=now - timedelta(hours=rng.randrange(1, 72)))
        if presales is not None and rng.random() < 0.2 and target in open_stages:
            handoff = handoff_request(record=deal, assignee=presales, title="技术评估", due_at=now + timedelta(days=3),
                                      actor=owner, channel=Channel.SYSTEM, details="客户要求对接企业微信和金蝶")
            if rng.random() < 0.5:
                handoff_respond(handoff=handoff, actor=presales, accept=True, note="周五前给评估结论")
            elif not late_handoff:  # one left unanswered past its due time: the radar's hand-off row
                Handoff.objects.filter(pk=handoff.pk).update(due_at=now - timedelta(hours=5))
                late_handoff = True
    return made


def load_demo_views(ctx) -> None:
    """Each sales team's shared view of the deal list (视图): its open deals, largest first."""
    from closeloop.core.savedviews.services import view_save

    for manager in ("manager1", "manager2"):
        view_save(list_key="deals", name="团队大单", shared=True, actor=ctx.users[manager],
                  filters="status=open&owner=team", sort="-amount",
                  columns=["customer", "stage", "amount", "expected_close", "owner", "next_follow_up"])
