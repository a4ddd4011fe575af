"""The lead pages: manual entry, edit, list filters, bulk assignment."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry, Channel
from closeloop.leads.models import Lead, LeadStatus


def form_data(org, **overrides):
    return {"company_name": "苏州瑞达机械制造有限公司", "contact_name": "黄敏", "mobile": "186 1234 5678",
            "source": org.sources["展会"].pk, **overrides}


def test_it_enters_a_lead_by_hand_and_keeps_it(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("leads:create"), form_data(org))
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    assert lead.owner == org.owner and lead.created_via == Channel.WEB and lead.mobile_key == "+8618612345678"
    detail = client.get(lead.get_absolute_url()).content.decode()
    assert "lead.create" in detail and "苏州瑞达机械制造有限公司" in detail


def test_save_and_new_returns_to_an_empty_form(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("leads:create"), {**form_data(org), "save_and_new": "1"})
    assert response["Location"] == reverse("leads:create")


def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(client, org):
    client.force_login(org.owner)
    response = client.post(reverse("leads:create"), form_data(org, mobile="138", email="x@"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "mobile" in form.errors and "email" in form.errors
    assert form.data["company_name"] == "苏州瑞达机械制造有限公司"  # what was typed is kept
    assert not Lead.objects.exists()


def test_edit_records_the_change(client, org, make_lead):
    lead = make_lead()
    client.force_login(org.owner)
    data = form_data(org, company_name=lead.company_name, contact_name=lead.contact_name, mobile=lead.mobile,
                     city="无锡", status=LeadStatus.CONTACTING)
    response = client.post(reverse("leads:edit", args=[lead.pk]), data)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.city == "无锡" and lead.status == LeadStatus.CONTACTING
    entry = AuditEntry.objects.for_object(lead).filter(action="lead.update").get()
    assert entry.changes["city"] == ["", "无锡"] and entry.actor == org.owner


@pytest.mark.parametrize(("who", "allowed"), [("owner", False), ("teammate", False), ("manager", True),
                                              ("outsider", False), ("admin", True)])
def test_bulk_assign_is_for_managers(client, org, make_lead, who, allowed):
    leads = [make_lead(), make_lead()]
    client.force_login(getattr(org, who))
    response = client.post(reverse("leads:bulk_assign"),
                           {"owner": org.teammate.pk, "leads": [lead.pk for lead in leads], "reason": "休假交接"})
    owners = set(Lead.objects.values_list("owner", flat=True))
    if allowed:
        assert response.status_code == 302 and owners == {org.teammate.pk}
        assert AuditEntry.objects.filter(action="lead.assign", note="休假交接").count() == 2
    else:
        assert response.status_code == 404 and owners == {org.owner.pk}


def test_a_manager_cannot_assign_leads_outside_their_team(client, org, make_lead):
    theirs = make_lead(owner=org.outsider)
    client.force_login(org.manager)
    client.post(reverse("leads:bulk_assign"), {"owner": org.teammate.pk, "leads": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.owner == org.outsider


def test_list_filters_search_and_pages(client, org, make_lead, django_assert_max_num_queries):
    for _ in range(27):
        make_lead()
    special = make_lead(company_name="深圳海纳电子有限公司", mobile="13712345678")
    client.force_login(org.manager)
    # + the tags (the filter's choices, the rows' chips), + the service manager for the settings menu (cached after
    # this first page), + the saved views' menu (one query, however many views: core/savedviews)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("leads:list"))
    page = response.context["page"]
    assert len(page["rows"]) == 25 and page["has_next"]
    assert len(client.get(reverse("leads:list") + "?page=2").context["page"]["rows"]) == 3
    for query in ["海纳", "137-1234-5678", "+86 13712345678"]:
        rows = client.get(reverse("leads:list"), {"q": query}).context["page"]["rows"]
        assert rows == [special], query


def test_the_list_answers_htmx_with_the_rows_only(client, org, make_lead):
    make_lead()
    client.force_login(org.owner)
    response = client.get(reverse("leads:list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lead-rows")
    content = response.content.decode()
    assert "<table class=\"cards" in content and "<html" not in content


def test_the_empty_list_says_what_to_do(client, org):
    client.force_login(org.owner)
    response = client.get(reverse("leads:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["page"]["rows"] == []
    assert 'class="empty"' in response.content.decode()
