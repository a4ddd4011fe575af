"""A `next` from the request leads only to this site: `/\\evil.com` and `//evil.com` are other hosts to a
browser, though they start with "/" (an open redirect, used to pass off phishing pages as ours)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from closeloop.core.redirects import next_url

OFFSITE = ["/\\evil.com", "//evil.com", "/\\/evil.com", "https://evil.com/", "\\\\evil.com", "http:///evil.com"]


@pytest.mark.parametrize("target", OFFSITE)
def test_an_offsite_next_falls_back_to_the_default(target):
    request = RequestFactory().post("/x/", {"next": target})
    assert next_url(request, "/home/") == "/home/"


@pytest.mark.parametrize("target", ["/deals/7/", "/leads/?page=2", "http://testserver/today/"])
def test_a_next_on_this_site_is_followed(target):
    assert next_url(RequestFactory().post("/x/", {"next": target}), "/home/") == target


@pytest.mark.parametrize("target", ["/\\evil.com", "//evil.com"])
def test_pages_that_follow_next_stay_on_the_site(client, org, make_deal, target):
    deal = make_deal()
    client.force_login(org.owner)
    response = client.post(reverse("followup:activity_create", args=["opportunity", deal.pk]),
                           {"kind": "call", "content": "电话沟通", "next_follow_up_at": "2030-01-02T10:00",
                            "next": target})
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": 0, "next": target})
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    client.force_login(org.manager)
    response = client.post(reverse("leads:bulk_assign"), {"next": target})
    assert response.status_code == 302 and response["Location"] == reverse("leads:list")
