"""Standing people for every test (an owner, a teammate, their manager, an outsider, marketing and admin), and
factories for the records of every app (leads, customers, deals) through their real services.

owner and teammate are reps in team A under `manager`; outsider is a rep in team B under another
manager. Visibility tests use all four of them on every page and endpoint.
"""

import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

os.environ.setdefault("CLOSELOOP_DEV", "1")

# Property tests explore the same examples on every run, so CI is reproducible; set
# HYPOTHESIS_PROFILE=explore to search new examples locally. No deadline: CI machines are shared.
hypothesis_settings.register_profile(
    "closeloop", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "closeloop"))


@pytest.fixture
def org(db):
    from closeloop.core.models import Role, User
    from closeloop.core.services import department_save
    from closeloop.leads.models import LeadSource

    admin = User.objects.create_superuser("admin", "admin@example.com", "pw", role=Role.ADMIN)
    company = department_save(actor=admin, name="公司", parent=None)
    sales = department_save(actor=admin, name="销售部", parent=company)
    team_a = department_save(actor=admin, name="一组", parent=sales)
    team_b = department_save(actor=admin, name="二组", parent=sales)
    marketing_dept = department_save(actor=admin, name="市场部", parent=company)

    def person(username, role, department, manager=None):
        user = User.objects.create_user(username, f"{username}@example.com", "pw", role=role,
                                        department=department, manager=manager, display_name=username)
        return user

    manager = person("manager", Role.SALES_MANAGER, team_a)
    other_manager = person("other_manager", Role.SALES_MANAGER, team_b)
    sources = {name: LeadSource.objects.create(name=name, position=i) for i, name in
               enumerate(["展会", "官网", "朋友介绍", "广告", "电话", "微信"])}
    marketer = person("marketer", Role.MARKETING, marketing_dept)
    marketer.source_channels.set([sources["展会"]])

    class Org:
        pass

    o = Org()
    o.admin = admin
    o.manager = manager
    o.other_manager = other_manager
    o.owner = person("owner", Role.SALES_REP, team_a, manager)
    o.teammate = person("teammate", Role.SALES_REP, team_a, manager)
    o.outsider = person("outsider", Role.SALES_REP, team_b, other_manager)
    o.marketer = marketer
    o.sources = sources
    o.team_a, o.team_b = team_a, team_b
    return o


@pytest.fixture
def make_lead(org):
    """A lead through the real intake service, owned by `owner` unless told otherwise."""
    from closeloop.core.models import Channel
    from closeloop.leads.services.editing import lead_assign
    from closeloop.leads.services.intake import lead_submit

    counter = iter(range(10_000))

    def make(owner=None, channel=Channel.API, actor=None, **fields):
        n = next(counter)
        data = {
            "company_name": f"上海测试{n}科技有限公司", "contact_name": f"联系人{n}",
            "mobile": f"1391234{n:04d}", "source": "官网", **fields,
        }
        lead = lead_submit(data=data, channel=channel, actor=actor or org.admin).lead
        owner = org.owner if owner is None else owner
        if owner:
            lead = lead_assign(lead=lead, owner=owner, actor=org.admin)
        return lead

    return make


@pytest.fixture
def pipeline(db):
    from closeloop.deals.models import Pipeline

    return Pipeline.default()


@pytest.fixture
def stages(pipeline):
    """The default pipeline's stages by name (from the data migration)."""
    from closeloop.deals.models import Stage

    return {stage.name: stage for stage in Stage.objects.filter(pipeline=pipeline)}


@pytest.fixture
def qualified_lead(make_lead, org):
    """A lead with BANT filled in, qualified by the admin: ready to convert."""
    from closeloop.core.models import Channel
    from closeloop.leads.models import LeadStatus
    from closeloop.leads.services.editing import lead_update

    def make(owner=None, **fields):
        lead = make_lead(owner=owner, need="30人销售团队需要CRM", budget="200000", timeline="3个月内", **fields)
        return lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=org.admin, channel=Channel.WEB)

    return make


@pytest.fixture
def make_customer(org):
    """A customer through the real service, owned by `owner` unless told otherwise."""
    from closeloop.deals.services.customers import customer_create

    counter = iter(range(10_000))

    def make(owner=None, **data):
        n = next(counter)
        owner = owner or org.owner
        return customer_create(data={"name": f"杭州客户{n}号实业有限公司", **data}, actor=owner, owner=owner)

    return make


@pytest.fixture
def make_deal(org, make_customer):
    """A deal in the default pipeline's first stage, for a new customer of its owner unless given one."""
    from closeloop.deals.services.opportunities import opportunity_create
    from closeloop.followup.rights import Act, may

    def make(owner=None, customer=None, **data):
        owner = owner or org.owner
        customer = customer or make_customer(owner=owner)
        # A deal for someone who may not edit the customer (another rep's: 撞单) is an administrator's doing.
        actor = owner if may(owner, customer, Act.EDIT) else org.admin
        return opportunity_create(customer=customer, data={"name": f"{customer.name} CRM项目", **data},
                                  actor=actor, owner=owner)

    return make


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2's deliberate slowness costs seconds per test; tests need hashing to work, not to be slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _robots_on_loopback(settings):
    # The tests' group robots are HTTP receivers on 127.0.0.1, not the platforms' servers.
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]


COUNTS_QUERIES = {"django_assert_num_queries", "django_assert_max_num_queries"}


@pytest.fixture(autouse=True)
def _fresh_config_cache(request, settings):
    # A test's configuration rows vanish with its transaction, which sends no signal.
    from closeloop.core import configcache

    if "queries" in request.node.name or COUNTS_QUERIES & set(request.fixturenames):
        # A test that counts a page's queries: the configuration it loaded stays loaded for the whole test. With the
        # 5 s expiry, a loaded machine between two page loads read it again and the count grew by one.
        settings.CLOSELOOP_CONFIG_CACHE_SECONDS = 3600
    configcache.clear()
    yield
    configcache.clear()


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    # Tests assert English source strings; test_i18n checks the zh-hans interface explicitly.
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _media_outside_the_checkout(tmp_path_factory):
    # Uploads a test makes without its own MEDIA_ROOT (the demo's scanned acceptance form) go to a temporary
    # folder, never into the checkout's var/media.
    from django.conf import settings

    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # SQLite's shared-cache in-memory test database answers a second writer with "table is locked"
    # at once instead of waiting, so concurrency tests (two claims at the same moment) could not run.
    # A file database in WAL mode waits on the busy timeout like production does.
    import tempfile

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] in ("django.db.backends.sqlite3", "closeloop.core.sqlite"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"closeloop-test-{os.getpid()}-{worker}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = os.path.join(tempfile.gettempdir(), name)


@pytest.fixture
def data_migration_rows(transactional_db):
    """The default rows the data migrations add (the default pipeline and its reasons, tax rates, SLA policies, the
    service settings row), again: a transactional test (a browser test) starts from a database the previous one
    flushed, data migrations' rows included. Each function adds only what is missing."""
    import importlib

    from django.apps import apps

    for module, function in (("deals.migrations.0003_default_pipeline", "create"),
                             ("deals.migrations.0010_win_reasons_follow_up_days", "add_win_reasons"),
                             ("quotes.migrations.0002_default_tax_rates", "install"),
                             ("service.migrations.0003_default_sla_policies", "add"),
                             ("service.migrations.0010_service_settings_row", "make_row")):
        getattr(importlib.import_module(f"closeloop.{module}"), function)(apps, None)
