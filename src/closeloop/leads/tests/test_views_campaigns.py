"""Campaign and source pages: administrators and marketing only, every write audited."""

import pytest
from django.urls import reverse

from closeloop.core.errors import Forbidden
from closeloop.core.models import AuditEntry
from closeloop.leads.forms import LeadForm
from closeloop.leads.models import Campaign, LeadSource
from closeloop.leads.services_campaigns import campaign_save, lead_source_create

# The marketer runs 展会; sales people manage no campaigns at all.
PEOPLE = ["admin", "marketer", "owner", "teammate", "manager", "outsider"]
MANAGES = {"admin": True, "marketer": True, "owner": False, "teammate": False, "manager": False, "outsider": False}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def expo(org):
    return Campaign.objects.create(name="2026上海工博会", source=org.sources["展会"])


@pytest.fixture
def website(org):
    return Campaign.objects.create(name="官网免费试用", source=org.sources["官网"])


@pytest.mark.parametrize("who", PEOPLE)
def test_pages_as_each_role(client, org, expo, website, who):
    client.force_login(getattr(org, who))
    ok = 200 if MANAGES[who] else 404
    assert client.get(reverse("leads:campaign_list")).status_code == ok
    assert client.get(reverse("leads:campaign_create")).status_code == ok
    assert client.get(reverse("leads:campaign_edit", args=[expo.pk])).status_code == ok
    assert client.get(reverse("leads:campaign_regenerate", args=[expo.pk])).status_code == ok
    assert client.get(reverse("leads:source_list")).status_code == ok
    assert client.get(reverse("leads:source_edit", args=[org.sources["展会"].pk])).status_code == ok
    # A marketer sees only the campaigns of their own channels.
    sees_website = who == "admin"
    assert client.get(reverse("leads:campaign_edit", args=[website.pk])).status_code == (200 if sees_website else 404)
    assert client.post(reverse("leads:campaign_regenerate", args=[website.pk])).status_code == (
        302 if sees_website else 404)
    body = client.get(reverse("leads:list")).content.decode()
    assert (reverse("leads:campaign_list") in body) is MANAGES[who]


@pytest.mark.parametrize("who", ["owner", "teammate", "manager", "outsider"])
def test_sales_people_cannot_write(client, org, expo, who):
    client.force_login(getattr(org, who))
    before = (Campaign.objects.count(), LeadSource.objects.count(), expo.form_key)
    assert client.post(reverse("leads:campaign_create"), {"name": "x", "source": org.sources["展会"].pk}).status_code == 404
    assert client.post(reverse("leads:campaign_regenerate", args=[expo.pk])).status_code == 404
    assert client.post(reverse("leads:source_list"), {"new-name": "抖音"}).status_code == 404
    assert client.post(reverse("leads:source_move", args=[org.sources["微信"].pk]), {"direction": "up"}).status_code == 404
    expo.refresh_from_db()
    assert (Campaign.objects.count(), LeadSource.objects.count(), expo.form_key) == before
    with pytest.raises(Forbidden):
        campaign_save(actor=getattr(org, who), data={"name": "x", "source": org.sources["展会"]})


def test_anonymous_is_sent_to_login(client, expo):
    response = client.get(reverse("leads:campaign_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_list_shows_campaigns_with_visible_lead_counts(client, org, expo, website, make_lead):
    make_lead(source="展会", campaign=None)
    from closeloop.core.models import Channel
    from closeloop.leads.services.intake import lead_submit

    for n in range(2):
        lead_submit(data={"company_name": f"公司{n}", "contact_name": "王", "mobile": f"1380000000{n}"},
                    channel=Channel.FORM, actor=None, campaign=expo)
    client.force_login(org.marketer)
    body = client.get(reverse("leads:campaign_list")).content.decode()
    assert expo.name in body and website.name not in body
    assert "<td>2</td>" in body


def test_marketer_creates_a_campaign_and_sees_its_snippets(client, org):
    client.force_login(org.marketer)
    response = client.post(reverse("leads:campaign_create"), {
        "name": "春季展会", "source": org.sources["展会"].pk, "active": "on", "thank_you_message": "谢谢！",
    })
    campaign = Campaign.objects.get(name="春季展会")
    assert response.status_code == 302 and response["Location"] == reverse("leads:campaign_edit", args=[campaign.pk])
    assert (campaign.source, campaign.active, campaign.thank_you_message) == (org.sources["展会"], True, "谢谢！")
    entry = AuditEntry.objects.for_object(campaign).get()
    assert entry.action == "campaign.create" and entry.actor == org.marketer
    assert entry.changes["name"] == [None, "春季展会"]

    body = client.get(response["Location"]).content.decode()
    form_url = f"http://testserver/f/{campaign.form_key}/"
    assert f'&lt;iframe src="{form_url}" title="春季展会"' in body
    assert f'&lt;form method="post" action="{form_url}"' in body
    for name in ["company_name", "contact_name", "mobile", "email", "need", "website"]:
        assert f'name="{name}"' in body


def test_the_snippet_shows_a_quote_in_the_name_as_html_source(client, org):
    campaign = Campaign.objects.create(name='"双11" <大促>', source=org.sources["展会"])
    client.force_login(org.admin)
    body = client.get(reverse("leads:campaign_edit", args=[campaign.pk])).content.decode()
    # Displayed text is title="&quot;双11&quot; &lt;大促&gt;", which is what the customer's page needs.
    assert 'title="&amp;quot;双11&amp;quot; &amp;lt;大促&amp;gt;"' in body


def test_marketer_cannot_use_another_channel(client, org):
    client.force_login(org.marketer)
    response = client.post(reverse("leads:campaign_create"), {"name": "抢官网", "source": org.sources["官网"].pk})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Campaign.objects.filter(name="抢官网").exists()


def test_edit_records_the_changes(client, org, expo):
    client.force_login(org.admin)
    client.post(reverse("leads:campaign_edit", args=[expo.pk]), {
        "name": expo.name, "source": expo.source.pk, "thank_you_message": "我们会尽快联系您",
    })
    expo.refresh_from_db()
    assert expo.active is False and expo.thank_you_message == "我们会尽快联系您"
    entry = AuditEntry.objects.for_object(expo).get()
    assert entry.action == "campaign.update"
    assert entry.changes == {"active": [True, False], "thank_you_message": ["", "我们会尽快联系您"]}
    assert client.get(f"/f/{expo.form_key}/").status_code == 404


def test_empty_name_is_refused_with_a_message(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("leads:campaign_create"), {"name": "  ", "source": org.sources["展会"].pk})
    assert "errorlist" in response.content.decode()
    assert not Campaign.objects.exists()


def test_regenerate_asks_first_then_replaces_the_key(client, org, expo):
    client.force_login(org.marketer)
    old_key = expo.form_key
    page = client.get(reverse("leads:campaign_regenerate", args=[expo.pk]))
    assert "stop working" in page.content.decode()
    expo.refresh_from_db()
    assert expo.form_key == old_key

    response = client.post(reverse("leads:campaign_regenerate", args=[expo.pk]))
    assert response.status_code == 302
    expo.refresh_from_db()
    assert expo.form_key != old_key
    assert client.get(f"/f/{old_key}/").status_code == 404
    assert client.get(f"/f/{expo.form_key}/").status_code == 200
    entry = AuditEntry.objects.for_object(expo).get()
    assert entry.action == "campaign.regenerate_key" and entry.changes["form_key"] == [old_key, expo.form_key]


def test_add_a_source(client, org):
    client.force_login(org.marketer)
    response = client.post(reverse("leads:source_list"), {"new-name": " 抖音 "})
    assert response.status_code == 302
    source = LeadSource.objects.get(name="抖音")
    assert source.position == max(LeadSource.objects.values_list("position", flat=True))
    assert AuditEntry.objects.for_object(source).get().action == "source.create"
    # The marketer who adds a source runs it, and sees its leads.
    assert org.marketer.source_channels.filter(pk=source.pk).exists()

    again = client.post(reverse("leads:source_list"), {"new-name": "抖音"})
    assert "A source with this name already exists." in again.content.decode()
    assert LeadSource.objects.filter(name="抖音").count() == 1


def test_rename_and_deactivate_a_source(client, org):
    client.force_login(org.admin)
    wechat = org.sources["微信"]
    response = client.post(reverse("leads:source_edit", args=[wechat.pk]), {"name": "微信公众号"})
    assert response.status_code == 302
    wechat.refresh_from_db()
    assert (wechat.name, wechat.active) == ("微信公众号", False)
    entry = AuditEntry.objects.for_object(wechat).get()
    assert entry.changes == {"name": ["微信", "微信公众号"], "active": [True, False]}
    # An inactive source leaves the manual entry form's pick list.
    assert wechat not in LeadForm().fields["source"].queryset


def test_reorder_sources(client, org):
    client.force_login(org.admin)
    names = lambda: list(LeadSource.objects.order_by("position").values_list("name", flat=True))  # noqa: E731
    assert names() == ["展会", "官网", "朋友介绍", "广告", "电话", "微信"]
    client.post(reverse("leads:source_move", args=[org.sources["电话"].pk]), {"direction": "up"})
    assert names() == ["展会", "官网", "朋友介绍", "电话", "广告", "微信"]
    client.post(reverse("leads:source_move", args=[org.sources["展会"].pk]), {"direction": "down"})
    assert names() == ["官网", "展会", "朋友介绍", "电话", "广告", "微信"]
    # Moving past either end changes nothing.
    client.post(reverse("leads:source_move", args=[org.sources["官网"].pk]), {"direction": "up"})
    assert names() == ["官网", "展会", "朋友介绍", "电话", "广告", "微信"]
    moves = AuditEntry.objects.filter(action="source.move")
    assert moves.count() == 4


def test_service_refuses_a_marketer_outside_their_channels(org):
    from closeloop.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        campaign_save(actor=org.marketer, data={"name": "x", "source": org.sources["广告"]})
    source = lead_source_create(actor=org.admin, name="抖音")
    # An admin adding a source does not become its marketer.
    assert not org.admin.source_channels.filter(pk=source.pk).exists()
