import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry, Channel
from closeloop.leads.models import AssignmentRule, Lead, ScoringRule
from closeloop.leads.pool import lead_claim
from closeloop.leads.quality import AssignmentStrategy
from closeloop.leads.scoring import quality_settings
from closeloop.leads.services.intake import lead_submit

SETTINGS_PAGES = ["leads:scoring_settings", "leads:scoring_rule_create", "leads:assignment_settings",
                  "leads:assignment_rule_create", "leads:pool_settings"]


def pool_lead(org, n=0):
    return lead_submit(data={"company_name": f"厦门海纳{n}物流有限公司", "contact_name": "林芳", "mobile": f"1381234{n:04d}",
                             "email": f"linfang{n}@haina.cn", "need": "想了解报价", "budget": "80000", "source": "官网"},
                       channel=Channel.API, actor=org.admin).lead


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "marketer"])
@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_settings_pages_are_404_for_everyone_but_admins(client, org, who, name):
    client.force_login(getattr(org, who))
    assert client.get(reverse(name)).status_code == 404
    assert client.post(reverse(name), {}).status_code == 404


def test_settings_pages_render_for_admins(client, org):
    client.force_login(org.admin)
    for name in SETTINGS_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
    page = client.get(reverse("leads:scoring_settings")).content.decode()
    assert "预算10万–50万" in page  # the default rules are seeded on first use


def test_admin_adds_a_scoring_rule_and_a_rescore_is_queued(client, org, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("leads:scoring_rule_create"), {
            "kind": "industry", "label": "物流行业", "keywords": "物流, 快递", "points": "12", "position": "0",
            "active": "on",
        })
    assert response.status_code == 302
    rule = ScoringRule.objects.get(label="物流行业")
    assert rule.keyword_list() == ["物流", "快递"]
    assert DBTaskResult.objects.filter(task_path__endswith="rescore_leads").exists()
    assert AuditEntry.objects.for_object(rule).get().action == "scoring_rule.create"


def test_a_bad_scoring_rule_says_what_to_fix(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:scoring_rule_create"), {"kind": "touches", "label": "x", "points": "5",
                                                                  "position": "0"})
    assert response.status_code == 200
    assert "Say how many touches" in response.content.decode()


def test_admin_edits_thresholds_and_a_wrong_order_is_refused(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:scoring_settings"), {"grade_a_min": "20", "grade_b_min": "30",
                                                               "grade_c_min": "10", "nurture_below": "5"})
    assert response.status_code == 200 and "Make A higher than B" in response.content.decode()
    response = client.post(reverse("leads:scoring_settings"), {"grade_a_min": "90", "grade_b_min": "60",
                                                               "grade_c_min": "30", "nurture_below": "5"})
    assert response.status_code == 302
    assert quality_settings().grade_a_min == 90


def test_admin_creates_an_assignment_rule_with_weighted_people(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:assignment_rule_create"), {
        "name": "官网线索", "position": "0", "active": "on", "strategy": "weighted",
        "sources": [org.sources["官网"].pk], "regions": "", "industries": "", "products": "", "grades": "ab",
        "members-TOTAL_FORMS": "3", "members-INITIAL_FORMS": "0",
        "members-0-user": org.owner.pk, "members-0-weight": "2",
        "members-1-user": org.teammate.pk, "members-1-weight": "1",
        "members-2-user": "", "members-2-weight": "",
    })
    assert response.status_code == 302, response.content.decode()
    rule = AssignmentRule.objects.get()
    assert rule.strategy == AssignmentStrategy.WEIGHTED and rule.grades == "AB"
    assert [(m.user, m.weight) for m in rule.members.all()] == [(org.owner, 2), (org.teammate, 1)]
    page = client.get(reverse("leads:assignment_settings")).content.decode()
    assert "官网线索" in page and "×2" in page
    edit = client.get(reverse("leads:assignment_rule_edit", args=[rule.pk])).content.decode()
    assert f'value="{org.owner.pk}" selected' in edit
    response = client.post(reverse("leads:assignment_rule_delete", args=[rule.pk]))
    assert response.status_code == 302 and not AssignmentRule.objects.exists()


def test_an_assignment_rule_without_people_is_refused_with_a_message(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:assignment_rule_create"), {
        "name": "空", "position": "0", "strategy": "round_robin", "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200 and "Choose a team or add at least one person" in response.content.decode()


def test_admin_edits_pool_rules(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:pool_settings"), {
        "pool_enabled": "on", "return_after_days_without_follow_up": "10", "return_after_days_unqualified": "45",
        "max_open_leads_per_rep": "50", "max_claims_per_day": "5", "reclaim_cooldown_days": "3",
    })
    assert response.status_code == 302
    settings = quality_settings()
    assert (settings.return_after_days_without_follow_up, settings.max_claims_per_day) == (10, 5)


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider", "admin"])
def test_sales_staff_see_the_pool_masked(client, org, who):
    lead = pool_lead(org)
    client.force_login(getattr(org, who))
    page = client.get(reverse("leads:pool")).content.decode()
    assert "厦门海纳0物流有限公司" in page
    assert "138****0000" in page and "l***@haina.cn" in page
    assert "13812340000" not in page and "linfang0@haina.cn" not in page
    assert reverse("leads:pool_claim", args=[lead.pk]) in page


def test_the_pool_page_is_404_for_people_who_cannot_own_leads(client, org):
    client.force_login(org.marketer)
    assert client.get(reverse("leads:pool")).status_code == 404


def test_the_empty_pool_says_so(client, org):
    client.force_login(org.owner)
    assert "The pool is empty" in client.get(reverse("leads:pool")).content.decode()


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_a_pool_lead_has_no_detail_page_until_claimed(client, org, who):
    lead = pool_lead(org)
    client.force_login(getattr(org, who))
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 404


def test_claiming_through_the_page_opens_the_lead_with_its_score(client, org):
    lead = pool_lead(org)
    client.force_login(org.owner)
    response = client.post(reverse("leads:pool_claim", args=[lead.pk]))
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    detail = client.get(lead.get_absolute_url()).content.decode()
    assert "13812340000" in detail
    assert "Budget ¥80,000 is in the range of “预算1万–10万”." in detail
    assert "First contact" in detail
    # teammate and manager now see it through the owner; the outsider still does not.
    for who, status in [("teammate", 404), ("manager", 200), ("outsider", 404)]:
        client.force_login(getattr(org, who))
        assert client.get(lead.get_absolute_url()).status_code == status, who


def test_a_lost_claim_race_is_told_plainly(client, org):
    lead = pool_lead(org)
    lead_claim(lead=lead, actor=org.teammate)
    client.force_login(org.owner)
    response = client.post(reverse("leads:pool_claim", args=[lead.pk]), follow=True)
    assert "no longer in the pool" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner == org.teammate


def test_a_claim_over_the_cap_is_refused_with_the_reason(client, org):
    from closeloop.leads.rule_services import quality_settings_update

    quality_settings_update(data={"max_claims_per_day": 0}, actor=org.admin)
    lead = pool_lead(org)
    client.force_login(org.owner)
    response = client.post(reverse("leads:pool_claim", args=[lead.pk]), follow=True)
    assert "daily limit" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).in_pool


def test_claim_needs_post(client, org):
    lead = pool_lead(org)
    client.force_login(org.owner)
    assert client.get(reverse("leads:pool_claim", args=[lead.pk])).status_code == 405


def test_every_lead_detail_explains_its_score(client, org, make_lead):
    lead = make_lead(owner=org.owner, title="技术总监", region="上海")
    client.force_login(org.owner)
    detail = client.get(lead.get_absolute_url()).content.decode()
    assert "Title “技术总监” contains “总监”." in detail and "+20" in detail
    assert "Region “上海” contains “上海”." in detail


def test_nav_links(client, org):
    client.force_login(org.owner)
    page = client.get(reverse("leads:list")).content.decode()
    assert reverse("leads:pool") in page and reverse("leads:scoring_settings") not in page
    client.force_login(org.admin)
    page = client.get(reverse("leads:list")).content.decode()
    assert reverse("leads:scoring_settings") in page


def test_the_pool_page_costs_the_same_queries_for_many_leads(client, org, django_assert_max_num_queries):
    for n in range(30):
        pool_lead(org, n)
    client.force_login(org.owner)
    client.get(reverse("leads:pool"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("leads:pool")).content.decode()
    assert page.count("Claim</button>") == 25 and "?page=2" in page


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_the_pool_says_why_the_previous_owner_cannot_claim_yet(client, org, who):
    from datetime import timedelta

    from django.utils import timezone

    from closeloop.leads.pool import pool_sweep_run
    from closeloop.leads.rule_services import quality_settings_update

    quality_settings_update(data={"reclaim_cooldown_days": 3}, actor=org.admin)
    lead = pool_lead(org)
    lead_claim(lead=lead, actor=org.owner)
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now() - timedelta(days=60))
    assert pool_sweep_run().returned == 1
    client.force_login(getattr(org, who))
    page = client.get(reverse("leads:pool")).content.decode()
    claim = reverse("leads:pool_claim", args=[lead.pk])
    if who == "owner":
        assert claim not in page and "you can claim it again after" in page and " disabled>Claim</button>" in page
    else:
        assert claim in page and "you can claim it again after" not in page


def test_the_pool_pauses_claim_buttons_at_the_cap(client, org):
    from closeloop.leads.rule_services import quality_settings_update

    quality_settings_update(data={"max_claims_per_day": 0}, actor=org.admin)
    lead = pool_lead(org)
    client.force_login(org.owner)
    page = client.get(reverse("leads:pool")).content.decode()
    assert reverse("leads:pool_claim", args=[lead.pk]) not in page and "claiming is paused" in page
