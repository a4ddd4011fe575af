"""Multiple-choice custom fields as the dashboard's filters (#13 × #12): “has any of the chosen options” on the leads'
and the deals' fields narrows their sections, and every drill-down carries the options to a list that shows as
many records as its figure, for each role, with the index (PostgreSQL's GIN, SQLite's side table) switched on."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closeloop.core.customfields import indexes
from closeloop.core.customfields.services import custom_field_create, custom_field_index
from closeloop.deals.models import Opportunity
from closeloop.leads.models import Lead

from .dashboards import follow_drill_downs, period_query
from .test_dashboard import deal, drill_downs, known  # noqa: F401 (fixtures)
from .test_dashboard_custom_fields import every_drill_down

pytestmark = pytest.mark.django_db

FILTERED = "&lead.cf.interests=展会&lead.cf.interests=官网&deal.cf.channels=代理,电商"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org, known):  # noqa: F811 (the fixture imported above)
    """Lead interests (展会, 官网, 转介绍) and deal channels (直销, 代理, 电商), both indexed; the won deal's lead and
    the teammate's leads hold 展会 or 官网; the won, quoted and teammate's lost deals 代理 or 电商."""
    interests = custom_field_create(target="leads.Lead", key="interests", field_type="multi_choice", actor=org.admin,
                                    data={"label_zh": "意向渠道", "label_en": "Interests", "options": "展会\n官网\n转介绍"})
    channels = custom_field_create(target="deals.Opportunity", key="channels", field_type="multi_choice",
                                   actor=org.admin, data={"label_zh": "销售渠道", "label_en": "Channels",
                                                          "options": "直销\n代理\n电商"})
    for field in (interests, channels):
        custom_field_index(field=field, indexed=True, actor=org.admin)
    Lead.objects.update(custom={"interests": ["转介绍"]})
    Lead.objects.filter(opportunities=known["won"]).update(custom={"interests": ["展会", "转介绍"]})
    Lead.objects.filter(owner=org.teammate).update(custom={"interests": ["官网"]})
    Opportunity.objects.update(custom={"channels": ["直销"]})
    Opportunity.objects.filter(pk=known["won"].pk).update(custom={"channels": ["直销", "代理"]})
    Opportunity.objects.filter(pk__in=[known[name].pk for name in ("quoted", "teammates_lost")]).update(
        custom={"channels": ["电商"]})
    return interests, channels


@pytest.mark.parametrize("limit", [0, 10_000], ids=["probes", "ids"])
def test_every_figure_filtered_on_options_drills_down_to_as_many_records(client, org, fields, limit, monkeypatch):
    monkeypatch.setattr(indexes, "CANDIDATES_LIMIT", limit)
    overdue = timezone.now() - timedelta(hours=3)
    Lead.objects.update(next_follow_up_at=overdue)
    Opportunity.objects.update(next_follow_up_at=overdue)
    assert follow_drill_downs(client, org, every_drill_down, query=FILTERED) > 150
    client.force_login(org.manager)
    response = client.get(reverse("insights:dashboard") + period_query() + FILTERED)
    assert response.context["form"].is_valid() and response.context["scope"].filtered
    figures = response.context["figures"]
    funnel_url = figures["funnel"]["rows"][0]["url"]
    assert "cf.channels=%E4%BB%A3%E7%90%86%2C%E7%94%B5%E5%95%86" in funnel_url  # 代理,电商
    assert figures["funnel"]["rows"][0]["reached"] == 3
    # The list keeps the options as it pages, and the page says what narrows each section.
    page = client.get(funnel_url).content.decode()
    assert 'type="hidden" name="cf.channels" value="代理,电商"' in page
    body = response.content.decode()
    assert "Interests has any of 展会、官网" in body and "Channels has any of 代理、电商" in body


def test_the_options_offered_and_kept_are_the_viewers(client, org, fields):
    client.force_login(org.owner)
    response = client.get(reverse("insights:dashboard") + "?lead.cf.interests=展会,短信")
    form = response.context["form"]
    assert form.fields["lead.cf.interests"].label == "Lead · Interests"
    assert form.is_valid() and form.cleaned_data["lead.cf.interests"] == ["展会"]
    assert '<option value="展会" selected>' in response.content.decode()
