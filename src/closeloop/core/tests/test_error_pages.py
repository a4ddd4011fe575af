"""Error pages say what happened in the reader's language and lead back home; the 500 page needs nothing."""

from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views import defaults


def test_a_missing_page_explains_and_links_home(client, org):
    for user in (None, org.owner):
        if user:
            client.force_login(user)
        response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
        body = response.content.decode()
        assert response.status_code == 404 and "Page not found" in body
        assert f'href="{reverse("home")}"' in body and "Back to the home page" in body


def test_a_record_outside_visibility_reads_like_a_missing_page(client, org, make_lead):
    lead = make_lead(owner=org.owner)
    client.force_login(org.outsider)
    response = client.get(reverse("leads:detail", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert str(lead) not in response.content.decode()


def test_a_forbidden_page_explains_and_links_home(org):
    request = RequestFactory().get("/")
    request.user = org.owner
    with translation.override("en"):
        response = defaults.permission_denied(request, PermissionDenied())
    body = response.content.decode()
    assert response.status_code == 403 and "Not allowed" in body and "Back to the home page" in body
    assert org.owner.username in body  # the normal layout, with the person's menu


def test_the_server_error_page_needs_no_database(db, django_assert_num_queries):
    request = RequestFactory().get("/")
    with translation.override("zh-hans"), django_assert_num_queries(0):
        response = defaults.server_error(request)
    body = response.content.decode()
    assert response.status_code == 500 and 'href="/"' in body and "{%" not in body
    assert "<title>" in body and "Closeloop" in body
