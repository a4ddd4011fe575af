"""The public web form: no login, framing allowed, cross-site posts, honeypot and rate limit."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from closeloop.core.models import AuditEntry, Channel
from closeloop.leads.models import Campaign, ChannelPolicy, Lead

GOOD = {"company_name": "杭州云帆网络科技有限公司", "contact_name": "周敏", "mobile": "138 1234 5678",
        "email": "zhou@yunfan.example", "need": "想了解CRM"}


@pytest.fixture(autouse=True)
def _empty_cache_in_english(db, settings):
    # The rate limit counts in the shared cache; each test starts with no earlier hits.
    cache.clear()
    # Messages are asserted in English, the source language, whatever the default UI language is.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def campaign(org):
    return Campaign.objects.create(name="2026上海工博会", source=org.sources["展会"], thank_you_message="感谢关注，24小时内联系您。")


@pytest.fixture
def csrf_client():
    # A browser posting from another site carries no CSRF token; this client enforces the check.
    return Client(enforce_csrf_checks=True)


def input_tag(body: str, name: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', body)
    assert match, f"no input named {name}"
    return match.group(0)


def url(campaign):
    return reverse("public_form", args=[campaign.form_key])


def test_it_shows_the_form_without_login_and_allows_framing(client, campaign):
    response = client.get(url(campaign))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    body = response.content.decode()
    assert campaign.name in body and 'name="company_name"' in body and 'name="website"' in body
    # A phone shows its number pad and email keyboard.
    assert 'type="tel"' in input_tag(body, "mobile") and 'type="email"' in input_tag(body, "email")
    # Standalone: none of the app's navigation.
    assert reverse("leads:list") not in body


def test_other_pages_still_deny_framing(client, org, campaign):
    assert client.get(reverse("login"))["X-Frame-Options"] == "DENY"
    client.force_login(org.admin)
    assert client.get(reverse("leads:list"))["X-Frame-Options"] == "DENY"
    assert client.get(reverse("leads:campaign_edit", args=[campaign.pk]))["X-Frame-Options"] == "DENY"


def test_it_takes_a_cross_site_post_and_thanks(csrf_client, campaign):
    response = csrf_client.post(url(campaign), GOOD, HTTP_ORIGIN="https://www.customer.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("public_form_thanks", args=[campaign.form_key])
    lead = Lead.objects.get()
    assert (lead.created_via, lead.campaign, lead.source, lead.created_by) == (Channel.FORM, campaign, campaign.source, None)
    assert lead.mobile_key == "+8613812345678"
    entry = AuditEntry.objects.for_object(lead).get()
    assert (entry.action, entry.channel, entry.actor) == ("lead.create", Channel.FORM, None)

    thanks = csrf_client.get(response["Location"])
    assert thanks.status_code == 200 and "X-Frame-Options" not in thanks
    assert "感谢关注，24小时内联系您。" in thanks.content.decode()


def test_the_visitor_cannot_choose_the_source(client, org, campaign):
    client.post(url(campaign), {**GOOD, "source": "官网"})
    assert Lead.objects.get().source == org.sources["展会"]


def test_a_plain_form_may_send_fields_the_page_does_not_show(client, campaign):
    client.post(url(campaign), {**GOOD, "wechat": "zhoumin88", "budget": "50,000"})
    lead = Lead.objects.get()
    assert lead.wechat == "zhoumin88" and str(lead.budget) == "50000.00"


def test_the_honeypot_thanks_a_bot_and_keeps_nothing(client, campaign):
    response = client.post(url(campaign), {**GOOD, "website": "http://spam.example"})
    assert response.status_code == 302 and response["Location"].endswith("/thanks/")
    assert not Lead.objects.exists()
    assert not AuditEntry.objects.filter(action="lead.create").exists()


def test_validation_errors_render_the_form_again_with_messages(client, campaign):
    response = client.post(url(campaign), {"company_name": "", "contact_name": "", "mobile": "12345", "need": "x"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not a valid phone number; enter the 11 digits" in body
    assert "This field is required." in body
    # What the visitor typed stays in the form.
    assert 'value="12345"' in body
    assert not Lead.objects.exists()


def test_an_empty_post_asks_for_the_details(client, campaign):
    response = client.post(url(campaign), {})
    assert response.status_code == 200
    assert 'id="id_company_name_error"' in response.content.decode()
    assert not Lead.objects.exists()


def test_an_error_in_a_field_the_page_does_not_show_names_the_field(client, campaign):
    response = client.post(url(campaign), {**GOOD, "budget": "lots"})
    assert "Budget (CNY): Enter an amount in yuan" in response.content.decode()
    assert not Lead.objects.exists()


def test_required_fields_follow_the_form_channel_policy(client, campaign):
    ChannelPolicy.objects.create(channel=Channel.FORM, required_fields=["contact_name", "industry"],
                                 require_contact_method=True)
    body = client.get(url(campaign)).content.decode()
    # A field outside the usual set appears once the policy requires it, marked required.
    assert " required" in input_tag(body, "industry")
    assert " required" in input_tag(body, "contact_name")
    assert " required" not in input_tag(body, "company_name")
    assert "Give at least one way to reach you." in body
    response = client.post(url(campaign), {**GOOD, "industry": ""})
    assert "This field is required." in response.content.decode()
    assert not Lead.objects.exists()
    client.post(url(campaign), {**GOOD, "industry": "制造业"})
    assert Lead.objects.get().industry == "制造业"


def test_inactive_and_unknown_campaigns_are_not_found(client, campaign):
    assert client.get("/f/no-such-key/").status_code == 404
    assert client.post("/f/no-such-key/", GOOD).status_code == 404
    campaign.active = False
    campaign.save()
    assert client.get(url(campaign)).status_code == 404
    assert client.post(url(campaign), GOOD).status_code == 404
    assert client.get(reverse("public_form_thanks", args=[campaign.form_key])).status_code == 404
    assert not Lead.objects.exists()


def test_the_rate_limit_stops_a_flood_per_ip(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "3/h"
    # Different people, so duplicate routing does not fold them into one lead.
    def visitor(n):
        return {**GOOD, "contact_name": f"访客{n}", "email": f"v{n}@example.com", "mobile": f"1391234000{n}"}

    for n in range(3):
        response = client.post(url(campaign), visitor(n), REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 302
    response = client.post(url(campaign), visitor(9), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many submissions" in response.content.decode()
    assert Lead.objects.count() == 3
    # Another visitor is not held back by the first one's flood.
    other = client.post(url(campaign), {**visitor(5), "mobile": "13912340010"}, REMOTE_ADDR="198.51.100.4")
    assert other.status_code == 302
    assert Lead.objects.count() == 4


def test_the_rate_limit_counts_bots_and_bad_posts_too(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "2/m"
    client.post(url(campaign), {**GOOD, "website": "spam"})
    client.post(url(campaign), {"company_name": ""})
    assert client.post(url(campaign), GOOD).status_code == 429
    assert not Lead.objects.exists()
    # Looking at the form is never limited.
    assert client.get(url(campaign)).status_code == 200


def test_behind_a_proxy_the_limit_uses_the_forwarded_address(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "1/h"
    settings.CLOSELOOP_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = client.post(url(campaign), GOOD, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    # A spoofed left-hand entry does not buy a fresh allowance: the proxy's own entry is the rightmost.
    second = client.post(url(campaign), {**GOOD, "mobile": "13900000001"},
                         HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7", **proxy)
    third = client.post(url(campaign), {**GOOD, "mobile": "13900000002"},
                        HTTP_X_FORWARDED_FOR="198.51.100.4", **proxy)
    assert (first.status_code, second.status_code, third.status_code) == (302, 429, 302)


def test_a_malformed_rate_setting_fails_loudly(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "lots"
    with pytest.raises(ValueError, match="CLOSELOOP_PUBLIC_FORM_RATE"):
        client.post(url(campaign), GOOD)


def test_the_limit_is_django_ratelimit_s_and_its_switch_turns_it_off(client, campaign, settings):
    settings.CLOSELOOP_PUBLIC_FORM_RATE = "1/h"
    settings.RATELIMIT_ENABLE = False
    for n in range(3):
        assert client.post(url(campaign), {**GOOD, "mobile": f"1390000000{n}"}).status_code == 302
    settings.RATELIMIT_ENABLE = True
    assert client.post(url(campaign), {**GOOD, "mobile": "13900000005"}).status_code == 302
    assert client.post(url(campaign), {**GOOD, "mobile": "13900000006"}).status_code == 429
