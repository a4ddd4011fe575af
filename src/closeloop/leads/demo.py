"""The leads app's part of `closeloop demo`: sources, campaigns, scoring and assignment rules, a few
hundred leads through the real intake, and a living pool."""

from datetime import timedelta

from django.utils import timezone

from closeloop.core.hooks import DemoContext
from closeloop.core.models import Channel
from closeloop.followup.rights import Act, may

from .assignment import OPEN_STATUSES
from .models import Campaign, DisqualifyReason, Lead, LeadSource, LeadStatus
from .pool import pool_sweep_run
from .quality import AssignmentStrategy
from .rule_services import assignment_rule_save
from .scoring import quality_settings
from .services.editing import lead_assign, lead_disqualify
from .services.intake import lead_submit

MOBILE_PREFIXES = ["138", "139", "136", "150", "151", "158", "186", "187", "177", "188", "199"]
SOURCES = ["展会", "官网", "朋友介绍", "广告", "电话", "微信", "老客户转介绍"]
CITIES = [("上海", "上海"), ("北京", "北京"), ("广东", "深圳"), ("广东", "广州"), ("浙江", "杭州"), ("江苏", "苏州"),
          ("四川", "成都"), ("湖北", "武汉"), ("江苏", "南京"), ("福建", "厦门")]
INDUSTRIES = ["制造业", "零售", "医疗器械", "教育培训", "物流", "软件", "餐饮", "建筑工程", "新能源", "金融服务"]
COMPANY_WORDS = ["华信", "瑞达", "恒通", "金桥", "新锐", "远景", "博雅", "天成", "鼎盛", "众合", "智航", "晨光",
                 "海纳", "东方", "盛世", "卓越", "云启", "宏图", "嘉禾", "和泰"]
COMPANY_KINDS = ["科技", "贸易", "实业", "信息技术", "机械制造", "医疗科技", "物流", "电子", "教育科技", "新材料"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "晓东", "建华", "海燕"]
TITLES = ["总经理", "采购经理", "IT主管", "副总", "行政主管", "财务总监", "运营经理", "技术总监", ""]
NEEDS = ["需要一套销售管理系统，30人左右使用", "想了解报价和实施周期", "现有Excel管理客户，想升级", "展会上留了名片，对产品感兴趣",
         "需要和企业微信打通", "年底前要上线，预算已批", "先了解一下，明年再说", "希望安排上门演示"]
# The channels the marketer runs (the demo's marketing1).
MARKETER_SOURCES = ("展会", "官网", "广告")
# The demo's lead custom field (自定义字段): the grade a rep gives a lead, shown in the list, indexed for its filter,
# and one of the dashboard's filters. Spread 2:5:3 without drawing from the demo's random sequence.
GRADES = ["A类", "B类", "C类"]
GRADE_SPREAD = [0, 1, 1, 2, 1, 2, 0, 1, 2, 1]


def load_demo_fields(admin) -> None:
    from closeloop.core.customfields.services import custom_field_create, custom_field_index

    grade = custom_field_create(target="leads.Lead", key="grade", field_type="choice", actor=admin, data={
        "label_zh": "客户等级", "label_en": "Customer grade", "options": GRADES, "list_column": True,
        "help_text": "A类：预算明确、半年内采购；B类：有需求、时间未定；C类：仅了解", "section": "销售判断"})
    custom_field_index(field=grade, indexed=True, actor=admin)


def load_demo(ctx: DemoContext, *, leads: int) -> None:
    """Sources and campaigns, the rules, then `leads` leads entered through every door and spread over the reps."""
    rng, admin, reps = ctx.rng, ctx.admin, ctx.shared["reps"]
    sources = {name: LeadSource.objects.create(name=name, position=i) for i, name in enumerate(SOURCES)}
    ctx.users["marketing1"].source_channels.set([sources[c] for c in MARKETER_SOURCES])
    campaigns = [
        Campaign.objects.create(name="2026上海工博会", source=sources["展会"], thank_you_message="感谢关注，我们会在24小时内联系您。"),
        Campaign.objects.create(name="官网免费试用", source=sources["官网"]),
        Campaign.objects.create(name="百度推广-CRM", source=sources["广告"]),
    ]
    load_demo_rules(admin=admin, team_a=ctx.departments["team_a"], team_b=ctx.departments["team_b"], sources=sources,
                    referral_reps=[(reps[0], 2), (reps[3], 1)])

    load_demo_fields(admin)
    channels = [Channel.WEB, Channel.WEB, Channel.FORM, Channel.API, Channel.IMPORT]
    # No 已转化 here: converted leads are those the deals' demo converts through lead_convert (with their customer
    # and deal); setting the status alone would make a converted lead that leads nowhere.
    statuses = [LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.CONTACTING,
                LeadStatus.QUALIFIED, LeadStatus.QUALIFIED, LeadStatus.NURTURE, LeadStatus.DISQUALIFIED]
    for n in range(leads):
        region, city = rng.choice(CITIES)
        company_name = f"{city}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}有限公司"
        contact = rng.choice(SURNAMES) + rng.choice(GIVEN)
        channel = rng.choice(channels)
        campaign = rng.choice(campaigns) if channel == Channel.FORM else None
        source = campaign.source if campaign else rng.choice(list(sources.values()))
        rep = rng.choice(reps)
        data = {
            "company_name": company_name, "contact_name": contact, "title": rng.choice(TITLES),
            "mobile": f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7, 10**8)}",
            "email": f"{['zhang', 'li', 'wang', 'chen', 'liu'][n % 5]}{n}@example.cn" if rng.random() < 0.6 else "",
            "region": region, "city": city, "industry": rng.choice(INDUSTRIES),
            "company_size": rng.choice(["1-20人", "20-99人", "100-499人", "500人以上"]),
            "need": rng.choice(NEEDS), "budget": rng.choice(["", "50000", "120000", "300000", "800000"]),
            "timeline": rng.choice(["", "1个月内", "3个月内", "半年内", "明年"]),
            "source": source, "assign_to_me": False,
        }
        actor = None if channel == Channel.FORM else (rep if channel == Channel.WEB else admin)
        if actor is not None:  # a visitor's web form does not ask for the grade: a rep gives it later
            data["custom"] = {"grade": GRADES[GRADE_SPREAD[n % len(GRADE_SPREAD)]]}
        lead = lead_submit(data=data, channel=channel, actor=actor, campaign=campaign).lead
        created = ctx.now - timedelta(days=rng.randrange(0, 120), hours=rng.randrange(0, 24))
        Lead.objects.filter(pk=lead.pk).update(created_at=created)
        status = rng.choice(statuses)
        if status != LeadStatus.NEW:
            # The rep's manager hands it over when it is theirs to give (intake's rules may have given it elsewhere).
            manager = rep.manager if rep.manager and may(rep.manager, lead, Act.OVERSEE) else admin
            lead_assign(lead=lead, owner=rep, actor=manager, channel=Channel.SYSTEM, reason="demo")
            if status == LeadStatus.DISQUALIFIED:
                lead_disqualify(lead=lead, reason=DisqualifyReason.NO_BUDGET, actor=manager, channel=Channel.SYSTEM)
            elif status != LeadStatus.ASSIGNED:
                Lead.objects.filter(pk=lead.pk).update(status=status)
    ctx.summary.append(f"{Lead.objects.count()} leads")
    load_demo_views(ctx)
    # After every app's part: the deals take their qualified leads first, then the pool ages what is left.
    ctx.finish.append(lambda: load_demo_pool(rng=rng))


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


def load_demo_views(ctx: DemoContext) -> None:
    """Each sales team's shared view of the lead list (视图), which its manager makes the team's default."""
    from closeloop.core.savedviews.services import view_save, view_set_team_default

    for manager, team in (("manager1", "team_a"), ("manager2", "team_b")):
        view = view_save(list_key="leads", name="本周待跟进", shared=True, actor=ctx.users[manager],
                         filters="owner=team&status=contacting", sort="next_follow_up_at",
                         columns=["contact", "mobile", "status", "owner", "next_follow_up", "grade"])
        view_set_team_default(list_key="leads", department=ctx.departments[team], view=view,
                              actor=ctx.users[manager])
