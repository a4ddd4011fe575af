"""The breakpoint radar: each app's breaks, through each viewer's visibility, on the page, in Excel and in the API."""

import io
import zipfile
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from closeloop.insights import radar
from closeloop.leads.models import Lead, LeadStatus

pytestmark = pytest.mark.django_db


def count(user, key, now=None):
    return dict((kind.key, n) for kind, n in radar.counts(user, now or timezone.now()))[key]


def test_every_app_below_contributes_its_breaks():
    keys = [kind.key for kind in radar.kinds()]
    # In loop order; apps above contracts (service) add theirs after these.
    assert keys[:12] == ["leads.no_owner", "leads.no_next_step", "leads.first_contact_overdue", "leads.follow_up_overdue",
                    "deals.no_next_step", "deals.follow_up_overdue", "deals.stale_in_stage",
                    "followup.handoff_not_accepted", "quotes.approval_waiting", "contracts.quote_without_contract", "contracts.no_plan",
                    "contracts.instalment_overdue"]


def test_an_overdue_first_contact_is_seen_by_its_owner_and_their_managers_only(org, make_lead):
    lead = make_lead(owner=org.owner)
    now = timezone.now()
    assert count(org.owner, "leads.first_contact_overdue", now) == 0  # due in a few hours: not broken yet
    later = lead.next_follow_up_at + timedelta(hours=5)
    for user, seen in [(org.owner, 1), (org.manager, 1), (org.admin, 1), (org.teammate, 0), (org.outsider, 0),
                       (org.other_manager, 0)]:
        assert count(user, "leads.first_contact_overdue", later) == seen, user
    page = radar.listing(radar.kind_of("leads.first_contact_overdue"), org.manager, later, page=1)
    row = page["rows"][0]
    assert row.record == lead and row.owner == org.owner and row.hours == 5
    assert row.action_url == lead.get_absolute_url() + "#log-follow-up"
    assert radar.counts(org.manager, later, owner=org.teammate.pk)[2][1] == 0


def test_a_lead_nobody_owns_outside_the_pool_waits_for_the_manager(org, make_lead):
    # Intake sends what no rule assigns to the pool; a lead outside it without an owner is one an import or an
    # older version left behind.
    lead = make_lead(owner=False)
    Lead.objects.filter(pk=lead.pk).update(owner=None, in_pool=False, pooled_at=None, status=LeadStatus.NEW)
    later = timezone.now() + timedelta(hours=2)
    assert count(org.admin, "leads.no_owner", later) == 1
    assert count(org.owner, "leads.no_owner", later) == 0


def test_the_page_lists_counts_and_mends(client, org, make_lead):
    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    url = reverse("insights:radar")
    for user, seen in [(org.owner, True), (org.manager, True), (org.teammate, False), (org.outsider, False)]:
        client.force_login(user)
        response = client.get(url + "?kind=leads.first_contact_overdue")
        assert response.status_code == 200
        assert (lead.company_name in response.content.decode()) is seen, user
    client.force_login(org.manager)
    response = client.get(url)  # no kind chosen: the first kind with something broken
    assert response.context["kind"].key == "leads.first_contact_overdue" and response.context["total"] == 1
    body = response.content.decode()
    assert f'href="{lead.get_absolute_url()}#log-follow-up"' in body and "2 days" in body
    assert client.get(url + f"?owner={org.teammate.pk}").context["total"] == 0
    export = client.get(reverse("insights:radar_export"))
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.content), read_only=True)
    rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == str(lead) and rows[1][2] == str(org.owner) and rows[1][4] == 2
    client.force_login(org.outsider)
    book = load_workbook(io.BytesIO(client.get(reverse("insights:radar_export")).content), read_only=True)
    assert len(list(book.worksheets[1].iter_rows(values_only=True))) == 1


def test_contract_breaks_no_plan_then_an_overdue_instalment(org, make_contract, signed_contract, finance):
    draft = make_contract(plan=False)
    later = timezone.now() + timedelta(days=2)
    assert count(org.owner, "contracts.no_plan", later) == 1
    assert count(org.outsider, "contracts.no_plan", later) == 0
    row = radar.listing(radar.kind_of("contracts.no_plan"), org.owner, later, page=1)["rows"][0]
    assert row.record == draft and row.action_url == reverse("contracts:plan", args=[draft.pk])
    contract = signed_contract()
    first = contract.instalments.order_by("position").first()  # due 7 days after signing
    much_later = timezone.now() + timedelta(days=9)
    for user, seen in [(org.owner, 1), (org.manager, 1), (finance, 1), (org.outsider, 0)]:
        assert count(user, "contracts.instalment_overdue", much_later) == seen, user
    row = radar.listing(radar.kind_of("contracts.instalment_overdue"), finance, much_later, page=1)["rows"][0]
    assert row.record == first and row.owner == org.owner and row.days == 1


def test_an_accepted_quote_without_a_contract(org, accepted_quote, make_contract):
    quote = accepted_quote()
    later = timezone.now() + timedelta(days=4)
    assert count(org.owner, "contracts.quote_without_contract", later) == 1
    row = radar.listing(radar.kind_of("contracts.quote_without_contract"), org.owner, later, page=1)["rows"][0]
    assert row.owner == org.owner and row.action_url == reverse("contracts:create") + f"?quote={quote.pk}"
    contract = make_contract(quote=quote)
    assert count(org.owner, "contracts.quote_without_contract", later) == 0
    # A terminated contract leaves the quote waiting for a live one, as the contract pages say
    # (`awaiting_contract`, which the radar's NOT IN form must agree with).
    from closeloop.contracts.models import Contract, ContractStatus
    from closeloop.contracts.selectors import awaiting_contract
    from closeloop.quotes.models import Quote

    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.TERMINATED)
    assert count(org.owner, "contracts.quote_without_contract", later) == 1
    assert list(awaiting_contract(Quote.objects.all()).values_list("pk", flat=True)) == [quote.pk]



def test_a_break_of_minutes_reads_less_than_an_hour(client, org, make_lead):
    # The radar said a record had been broken for "0 小时" (0 hours) until its first full hour.
    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(minutes=20))
    client.force_login(org.manager)
    body = client.get(reverse("insights:radar") + "?kind=leads.first_contact_overdue",
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert lead.company_name in body and "不到 1 小时" in body and "0 小时" not in body

def test_the_api_gives_counts_and_a_page_of_one_kind(client, org, make_lead, api_auth):
    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(hours=3))
    answer = client.get("/api/insights/radar?kind=leads.first_contact_overdue", **api_auth(org.manager)).json()
    assert {k["key"]: k["count"] for k in answer["kinds"]}["leads.first_contact_overdue"] == 1
    assert [(i["record"], i["owner_id"], i["hours_broken"]) for i in answer["items"]] == [(str(lead), org.owner.pk, 3)]
    answer = client.get("/api/insights/radar?kind=leads.first_contact_overdue", **api_auth(org.outsider)).json()
    assert answer["items"] == []
    assert client.get("/api/insights/radar?kind=nope", **api_auth(org.owner)).status_code == 404
    assert client.get("/api/insights/radar").status_code == 401


def test_administrators_set_the_thresholds(client, org, make_lead):
    from closeloop.core.models import AuditEntry

    lead = make_lead(owner=False)
    Lead.objects.filter(pk=lead.pk).update(owner=None, in_pool=False, pooled_at=None, status=LeadStatus.NEW,
                                           created_at=timezone.now() - timedelta(hours=3))
    assert count(org.admin, "leads.no_owner") == 1  # the default: one hour
    url = reverse("insights:radar_settings")
    client.force_login(org.manager)
    assert client.get(url).status_code == 403
    assert client.post(url, {"leads.no_owner": "4"}).status_code == 403
    client.force_login(org.admin)
    assert client.get(url).status_code == 200
    assert client.post(url, {"leads.no_owner": "-1"}).status_code == 200  # refused, shown again
    assert client.post(url, {"leads.no_owner": "4"}).status_code == 302
    assert count(org.admin, "leads.no_owner") == 0
    entry = AuditEntry.objects.get(action="radar.settings")
    assert entry.actor == org.admin and entry.changes == {"leads.no_owner": [None, 4]}
    client.post(url, {"leads.no_owner": ""})  # back to the default
    assert count(org.admin, "leads.no_owner") == 1


def test_the_export_writes_typed_text_as_text_never_as_a_formula(client, org, make_lead):
    lead = make_lead(owner=org.owner, company_name='=HYPERLINK("http://evil.example","看这里")')
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    client.force_login(org.owner)
    export = client.get(reverse("insights:radar_export"))
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        sheets = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in sheet for sheet in sheets)
    rows = list(load_workbook(io.BytesIO(export.content), read_only=True).worksheets[1].iter_rows(values_only=True))
    assert rows[1][1].startswith("=HYPERLINK")  # shown as the text that was typed


def test_an_instalment_is_overdue_from_the_local_day_after_it_falls_due(org, signed_contract):
    contract = signed_contract()
    first = contract.instalments.order_by("position").first()
    # 01:00 in Shanghai is still the day before in UTC: the instalment due "yesterday" there is overdue already.
    early = timezone.make_aware(datetime.combine(first.due_date + timedelta(days=1), time(1, 0))).astimezone(UTC)
    assert count(org.owner, "contracts.instalment_overdue", early) == 1
    assert count(org.owner, "contracts.instalment_overdue", early - timedelta(hours=2)) == 0


def test_the_export_says_how_many_of_each_kind_it_lists(client, org, make_lead, monkeypatch):
    lead = make_lead(owner=org.owner)
    Lead.objects.filter(pk=lead.pk).update(next_follow_up_at=timezone.now() - timedelta(days=2))
    monkeypatch.setattr(radar, "EXPORT_ROWS_PER_KIND", 0)
    client.force_login(org.owner)
    book = load_workbook(io.BytesIO(client.get(reverse("insights:radar_export")).content), read_only=True)
    counts = {row[0]: row[1:] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)}
    assert (1, 0) in counts.values()
    assert len(list(book.worksheets[1].iter_rows(values_only=True))) == 1  # the header alone
