"""Core's part of `closeloop demo`: the company, its departments and its people (the apps add the rest)."""

from io import StringIO

from .hooks import DemoContext
from .models import Role, User
from .services import department_save, user_save

DEMO_PASSWORD = "closeloop"
# Names for the extra reps `gen-data` adds.
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "晓东", "建华", "海燕"]

# (username, name, role, department key, manager's username)
PEOPLE = [
    ("director", "周总监", Role.SALES_MANAGER, "sales", None),
    ("manager1", "陈经理", Role.SALES_MANAGER, "team_a", "director"),
    ("manager2", "林经理", Role.SALES_MANAGER, "team_b", "director"),
    ("rep1", "张伟", Role.SALES_REP, "team_a", "manager1"),
    ("rep2", "李娜", Role.SALES_REP, "team_a", "manager1"),
    ("rep3", "王强", Role.SALES_REP, "team_a", "manager1"),
    ("rep4", "刘洋", Role.SALES_REP, "team_b", "manager2"),
    ("rep5", "黄敏", Role.SALES_REP, "team_b", "manager2"),
    ("rep6", "吴杰", Role.SALES_REP, "team_b", "manager2"),
    ("marketing1", "赵市场", Role.MARKETING, "marketing", None),
    ("presales1", "孙工", Role.PRESALES, "presales", None),
    # The later stages' people: contracts and payments, deliveries and tickets.
    ("finance1", "钱会计", Role.FINANCE, "finance", None),
    ("service1", "吴售后", Role.SERVICE, "service", None),  # the service manager: hears of breaches
    ("service2", "郑客服", Role.SERVICE, "service", "service1"),
    ("service3", "冯客服", Role.SERVICE, "service", "service1"),
]


def load_demo_org(ctx: DemoContext) -> None:
    admin = User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD,
                                          role=Role.ADMIN, display_name="系统管理员")
    ctx.admin = admin
    ctx.users["admin"] = admin
    company = department_save(actor=admin, name="华东云科技有限公司", parent=None)
    sales = department_save(actor=admin, name="销售部", parent=company)
    ctx.departments.update({
        "company": company, "sales": sales,
        "team_a": department_save(actor=admin, name="销售一组（华东）", parent=sales),
        "team_b": department_save(actor=admin, name="销售二组（华南）", parent=sales),
        "marketing": department_save(actor=admin, name="市场部", parent=company),
        "presales": department_save(actor=admin, name="售前技术部", parent=company),
        "finance": department_save(actor=admin, name="财务部", parent=company),
        "service": department_save(actor=admin, name="客户服务部", parent=company),
    })
    for username, name, role, department, manager in PEOPLE:
        ctx.users[username] = user_save(actor=admin, password=DEMO_PASSWORD, data={
            "username": username, "display_name": name, "role": role, "department": ctx.departments[department],
            "manager": ctx.users.get(manager), "email": f"{username}@example.com", "is_active": True,
        })
    ctx.shared["reps"] = [ctx.users[f"rep{n}"] for n in range(1, 7)]
    ctx.summary.append(f"{User.objects.count()} users")


def gen_data_org(ctx) -> None:
    """For `gen-data`: the demo company (loaded when missing) plus enough reps to spread a million records."""
    import random

    from django.core.management import call_command

    if not User.objects.filter(username="admin").exists():
        call_command("demo", leads=0, stdout=StringIO())
    admin = User.objects.get(username="admin")
    managers = list(User.objects.filter(role=Role.SALES_MANAGER, manager__isnull=False).order_by("username"))
    existing = User.objects.filter(role=Role.SALES_REP).count()
    if managers and existing < ctx.options.reps:
        rng = random.Random(7)
        created = []
        for n in range(existing + 1, ctx.options.reps + 1):
            manager = managers[n % len(managers)]
            name = SURNAMES[n % len(SURNAMES)] + rng.choice(GIVEN)
            created.append(user_save(actor=admin, data={
                "username": f"rep{n}", "display_name": name, "role": Role.SALES_REP,
                "department": manager.department, "manager": manager, "email": f"rep{n}@example.com",
                "is_active": True,
            }).pk)
        # The demo password's hash, copied rather than recomputed: PBKDF2 costs ~0.5 s per user.
        demo_hash = User.objects.get(username="rep1").password
        User.objects.filter(pk__in=created).update(password=demo_hash)
    ctx.owners = list(User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER]).values_list("pk", flat=True))
