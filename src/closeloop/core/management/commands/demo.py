"""Load a realistic demo company: two sales teams, a manager each, reps, marketing, a few hundred leads."""

import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from closeloop.core.models import Channel, Role, User
from closeloop.core.notify import in_app_only
from closeloop.core.services import department_save, user_save
from closeloop.deals.demo import load_demo_deals
from closeloop.leads.demo import load_demo_pool, load_demo_rules
from closeloop.leads.models import Campaign, Lead, LeadSource, LeadStatus
from closeloop.leads.services import lead_assign, lead_submit

DEMO_PASSWORD = "closeloop"
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


class Command(BaseCommand):
    help = "Load demo data (a company with two sales teams and a few hundred leads)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when users already exist.")
        parser.add_argument("--leads", type=int, default=300)
        parser.add_argument("--seed", type=int, default=20261122)

    def handle(self, *args, if_empty, leads, seed, **options):
        if if_empty and User.objects.exists():
            self.stdout.write("Data already present; demo not loaded.")
            return
        rng = random.Random(seed)
        # The demo's history stays in the app; nobody should get 300 emails from loading it.
        with transaction.atomic(), in_app_only():
            admin = User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD,
                                                  role=Role.ADMIN, display_name="系统管理员")
            company = department_save(actor=admin, name="华东云科技有限公司", parent=None)
            sales = department_save(actor=admin, name="销售部", parent=company)
            team_a = department_save(actor=admin, name="销售一组（华东）", parent=sales)
            team_b = department_save(actor=admin, name="销售二组（华南）", parent=sales)
            marketing = department_save(actor=admin, name="市场部", parent=company)
            presales = department_save(actor=admin, name="售前技术部", parent=company)
            sources = {name: LeadSource.objects.create(name=name, position=i) for i, name in enumerate(SOURCES)}

            def person(username, name, role, department, manager=None, channels=()):
                user = user_save(actor=admin, password=DEMO_PASSWORD, data={
                    "username": username, "display_name": name, "role": role, "department": department,
                    "manager": manager, "email": f"{username}@example.com", "is_active": True,
                })
                if channels:
                    user.source_channels.set([sources[c] for c in channels])
                return user

            director = person("director", "周总监", Role.SALES_MANAGER, sales)
            manager1 = person("manager1", "陈经理", Role.SALES_MANAGER, team_a, director)
            manager2 = person("manager2", "林经理", Role.SALES_MANAGER, team_b, director)
            reps = [person(f"rep{i}", name, Role.SALES_REP, team_a if i <= 3 else team_b, manager1 if i <= 3 else manager2)
                    for i, name in enumerate(["张伟", "李娜", "王强", "刘洋", "黄敏", "吴杰"], start=1)]
            person("marketing1", "赵市场", Role.MARKETING, marketing, None, channels=("展会", "官网", "广告"))
            presales_user = person("presales1", "孙工", Role.PRESALES, presales)
            campaigns = [
                Campaign.objects.create(name="2026上海工博会", source=sources["展会"], thank_you_message="感谢关注，我们会在24小时内联系您。"),
                Campaign.objects.create(name="官网免费试用", source=sources["官网"]),
                Campaign.objects.create(name="百度推广-CRM", source=sources["广告"]),
            ]

            load_demo_rules(admin=admin, team_a=team_a, team_b=team_b, sources=sources,
                            referral_reps=[(reps[0], 2), (reps[3], 1)])

            now = timezone.now()
            channels = [Channel.WEB, Channel.WEB, Channel.FORM, Channel.API, Channel.IMPORT]
            statuses = [LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTING, LeadStatus.CONTACTING,
                        LeadStatus.QUALIFIED, LeadStatus.NURTURE, LeadStatus.DISQUALIFIED, LeadStatus.CONVERTED]
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
                lead = lead_submit(data=data, channel=channel, actor=actor, campaign=campaign).lead
                created = now - timedelta(days=rng.randrange(0, 120), hours=rng.randrange(0, 24))
                Lead.objects.filter(pk=lead.pk).update(created_at=created)
                status = rng.choice(statuses)
                if status != LeadStatus.NEW:
                    lead_assign(lead=lead, owner=rep, actor=rep.manager or admin, channel=Channel.SYSTEM, reason="demo")
                    Lead.objects.filter(pk=lead.pk).update(status=status)
            deals = load_demo_deals(rng=rng, reps=reps, presales=presales_user, admin=admin)
            load_demo_pool(rng=rng)
        self.stdout.write(self.style.SUCCESS(
            f"Demo loaded: {User.objects.count()} users, {Lead.objects.count()} leads, {deals} deals. "
            f"Log in as admin / {DEMO_PASSWORD} (or manager1, rep1 … rep6, marketing1)."
        ))
