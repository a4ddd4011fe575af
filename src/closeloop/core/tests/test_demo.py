"""`closeloop demo` and `gen-data` are assembled from the apps' hooks, lowest app first."""

from io import StringIO

from django.core.management import call_command

from closeloop.core.hooks import LoopApp, loop_apps
from closeloop.core.models import Role, User
from closeloop.deals.models import Opportunity
from closeloop.leads.models import Lead, LeadSource, LeadStatus


def test_the_demo_company_has_every_role_the_loop_needs(db):
    out = StringIO()
    call_command("demo", leads=30, stdout=out)
    roles = dict(User.objects.values_list("username", "role"))
    assert roles["finance1"] == Role.FINANCE and roles["service1"] == Role.SERVICE
    assert User.objects.get(username="finance1").display_name == "钱会计"
    assert User.objects.get(username="service1").display_name == "吴售后"
    assert {roles["service2"], roles["service3"]} == {Role.SERVICE}  # the agents beside the service manager
    assert {"admin", "director", "manager1", "manager2", "marketing1", "presales1"} <= set(roles)
    assert User.objects.filter(role=Role.SALES_REP).count() == 6
    assert Lead.objects.count() == 30
    # Each app's part is in the command's one summary line, lowest app first.
    assert f"Demo loaded: 16 users, 30 leads, {Opportunity.objects.count()} deals" in out.getvalue()
    # 已转化 only through the conversion: each converted lead has its deal; each disqualified one its reason.
    converted = Lead.objects.filter(status=LeadStatus.CONVERTED)
    assert converted.exists() and not converted.filter(opportunities=None).exists()
    assert not Lead.objects.filter(status=LeadStatus.DISQUALIFIED, disqualify_reason="").exists()
    # leads gave the marketer the channels they run.
    assert set(User.objects.get(username="marketing1").source_channels.values_list("name", flat=True)) == {
        "展会", "官网", "广告"}


def test_the_demo_loads_once(db):
    call_command("demo", leads=0, stdout=StringIO())
    out = StringIO()
    call_command("demo", if_empty=True, stdout=out)
    assert "not loaded" in out.getvalue() and User.objects.filter(username="admin").count() == 1


def test_each_app_adds_its_own_options():
    from django.core.management import load_command_class

    for command, hook in (("demo", "demo_arguments"), ("gen_data", "gen_data_arguments")):
        parser = load_command_class("closeloop.core", command).create_parser("closeloop", command)
        options = {action.dest for action in parser._actions}
        assert "leads" in options, command
        assert hook in vars(LoopApp)
    assert {"customers", "opportunities", "activities", "duplicates"} <= {
        action.dest for action in load_command_class("closeloop.core", "gen_data")
        .create_parser("closeloop", "gen_data")._actions}


def test_the_hooks_run_lowest_app_first_and_share_what_they_made(db, monkeypatch):
    seen = []
    for config in loop_apps():
        monkeypatch.setattr(config, "demo", lambda ctx, label=config.label: seen.append((label, ctx.admin)))
    call_command("demo", leads=0, stdout=StringIO())
    assert [label for label, _admin in seen] == [config.label for config in loop_apps()]


def test_gen_data_makes_the_org_when_missing_and_spreads_over_the_reps(db):
    call_command("gen_data", leads=50, reps=8, processes=1, chunk=50, stdout=StringIO())
    assert LeadSource.objects.exists() and User.objects.filter(role=Role.SALES_REP).count() == 8
    owners = set(Lead.objects.exclude(owner=None).values_list("owner_id", flat=True))
    reps_and_managers = set(User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER]).values_list("pk", flat=True))
    assert owners and owners <= reps_and_managers

