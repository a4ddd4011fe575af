"""Contract pages as owner, teammate, manager, finance, outsider and admin: the list, the contract, the plan,
payments and invoices through the pages, receivables and finance's invoice queue."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from closeloop.contracts import invoices, services
from closeloop.contracts.models import Contract, ContractStatus
from closeloop.followup.models import ParticipantRole
from closeloop.followup.services import participant_add

pytestmark = pytest.mark.django_db


def get(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


def test_a_contract_is_seen_by_its_people_and_finance_only(client, org, signed_contract, finance):
    contract = signed_contract()
    url = contract.get_absolute_url()
    for user, status in [(org.owner, 200), (org.manager, 200), (org.admin, 200), (finance, 200),
                         (org.teammate, 404), (org.outsider, 404), (org.other_manager, 404)]:
        assert get(client, user, url).status_code == status, user
    for user, count in [(org.owner, 1), (org.manager, 1), (finance, 1), (org.teammate, 0), (org.outsider, 0)]:
        body = get(client, user, reverse("contracts:list")).content.decode()
        assert body.count(contract.number) == count, user


def test_a_deal_collaborator_who_makes_the_contract_sees_it(client, org, accepted_quote):
    quote = accepted_quote()
    participant_add(record=quote.opportunity, user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)
    contract = services.contract_create_from_quote(quote=quote, actor=org.teammate)
    assert get(client, org.teammate, contract.get_absolute_url()).status_code == 200
    assert get(client, org.outsider, contract.get_absolute_url()).status_code == 404


def test_the_list_reads_in_a_fixed_number_of_queries(client, org, signed_contract, django_assert_max_num_queries):
    for _ in range(3):
        signed_contract()
    client.force_login(org.owner)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("contracts:list")).status_code == 200


def test_the_rep_makes_a_contract_from_the_accepted_quote_and_plans_it(client, org, accepted_quote):
    quote = accepted_quote()
    client.force_login(org.owner)
    assert quote.number in client.get(reverse("contracts:create")).content.decode()
    response = client.post(f"{reverse('contracts:create')}?quote={quote.pk}", {
        "title": "CRM项目合同", "party_b": quote.opportunity.customer.name, "start_date": "2027-01-01",
        "end_date": "2027-12-31"})
    contract = Contract.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("contracts:plan", args=[contract.pk])
    assert contract.amount == D("30000.00") and contract.title == "CRM项目合同"
    response = client.post(reverse("contracts:plan", args=[contract.pk]), {
        "rows": "3", "i0-title": "首付款", "i0-condition": "on_signing", "i0-days_after": "7", "i0-percentage": "30",
        "i1-title": "尾款", "i1-condition": "on_date", "i1-due_date": "2027-06-30", "i1-amount": "21000",
        "i2-title": ""})
    assert response.status_code == 302
    assert [i.amount for i in contract.instalments.order_by("position")] == [D("9000.00"), D("21000.00")]
    response = client.post(reverse("contracts:action", args=[contract.pk, "submit"]))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED
    # The deal's page shows the contract; the deal's timeline carries its trail.
    body = client.get(quote.opportunity.get_absolute_url()).content.decode()
    assert contract.number in body and "Contract approved" in body



def test_the_accepted_quote_leads_on_to_its_contract(client, org, accepted_quote, make_quote, finance):
    # The rep whom the customer's acceptance brings to the quote's page finds the next step there, not only on
    # the deal's page; once the contract is made, the quote names it instead.
    quote = accepted_quote()
    start = f'href="{reverse("contracts:create")}?quote={quote.pk}"'
    assert start in get(client, org.owner, quote.get_absolute_url()).content.decode()
    assert start not in get(client, finance, quote.get_absolute_url()).content.decode()
    contract = services.contract_create_from_quote(quote=quote, actor=org.owner)
    body = get(client, org.owner, quote.get_absolute_url()).content.decode()
    assert start not in body and f'href="{contract.get_absolute_url()}"' in body
    # A quote the customer has not accepted offers none.
    sent = make_quote(lines=[("10000", "0")])
    assert "?quote=" not in get(client, org.owner, sent.get_absolute_url()).content.decode()

def test_a_plan_that_does_not_add_up_is_shown_back(client, org, make_contract):
    contract = make_contract(plan=False)
    client.force_login(org.owner)
    response = client.post(reverse("contracts:plan", args=[contract.pk]), {
        "rows": "1", "i0-title": "首付款", "i0-condition": "on_signing", "i0-amount": "1000"})
    assert response.status_code == 200 and "less than the contract amount" in response.content.decode()
    assert not contract.instalments.exists()


def test_signing_by_uploading_the_signed_scan(client, org, make_contract, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = str(tmp_path)
    contract = make_contract()
    client.force_login(org.owner)
    client.post(reverse("contracts:action", args=[contract.pk, "submit"]))
    fake = SimpleUploadedFile("合同.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    client.post(reverse("contracts:upload", args=[contract.pk]), {"file": fake, "sign": "1"})
    contract.refresh_from_db()
    assert contract.status == ContractStatus.APPROVED and not contract.documents.exists()
    scan = SimpleUploadedFile("合同.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
                              content_type="application/pdf")
    client.post(reverse("contracts:upload", args=[contract.pk]), {"file": scan, "sign": "1", "sign_date": ""})
    contract.refresh_from_db()
    document = contract.documents.get()
    assert contract.status == ContractStatus.SIGNED and document.original_name == "合同.pdf"
    response = client.get(reverse("contracts:document", args=[contract.pk, document.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")
    assert "sandbox" in response["Content-Security-Policy"]
    client.force_login(org.outsider)
    assert client.get(reverse("contracts:document", args=[contract.pk, document.pk])).status_code == 404


def test_finance_records_a_payment_the_rep_cannot(client, org, signed_contract, finance):
    contract = signed_contract()
    url = reverse("contracts:payment_record", args=[contract.pk])
    for user in (org.owner, org.manager):
        client.force_login(user)
        client.post(url, {"amount": "9000", "received_on": "", "method": "transfer"})
    contract.refresh_from_db()
    assert contract.paid_amount == 0
    client.force_login(org.outsider)
    assert client.post(url, {"amount": "9000"}).status_code == 404
    client.force_login(finance)
    body = client.get(contract.get_absolute_url()).content.decode()
    assert "Record a payment" in body
    client.post(url, {"amount": "9000", "received_on": "", "method": "transfer", "reference": "B-1"})
    contract.refresh_from_db()
    assert contract.paid_amount == D("9000.00") and contract.status == ContractStatus.ACTIVE



def test_a_refused_payment_or_invoice_request_keeps_what_was_typed(client, org, signed_contract, finance):
    # Refused, the form came back empty after a redirect: finance retyped the reference and the note, and read
    # only "More than is owed." without how much is owed.
    contract = signed_contract()
    instalment = contract.instalments.order_by("position").first()
    client.force_login(finance)
    response = client.post(reverse("contracts:payment_record", args=[contract.pk]), {
        "amount": "40000", "received_on": "2026-12-01", "method": "transfer", "reference": "TX-20261201-7",
        "note": "首付款到账", f"alloc-{instalment.pk}": "40000"})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="TX-20261201-7"' in body and 'value="首付款到账"' in body and 'value="40000"' in body
    assert f'name="alloc-{instalment.pk}" inputmode="decimal" value="40000"' in body
    assert "still owes (¥30,000.00); overpayment is refused" in body and '<details open id="record-payment">' in body
    contract.refresh_from_db()
    assert contract.paid_amount == 0

    client.force_login(org.owner)
    response = client.post(reverse("contracts:invoice_request", args=[contract.pk]), {
        "amount": "90000", "invoice_type": "special", "buyer_tax_id": "91440101MA5ABCDE12", "note": "请尽快"})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="91440101MA5ABCDE12"' in body and 'value="请尽快"' in body
    assert '<details id="request-invoice" open>' in body
    assert not contract.invoice_requests.exists()

def test_the_invoice_queue_is_financees_and_issuing_goes_through_it(client, org, signed_contract, finance):
    contract = signed_contract()
    request = invoices.invoice_request_create(contract=contract, actor=org.owner, data={
        "amount": "9000", "invoice_type": "general"})
    for user in (org.owner, org.manager, org.outsider):
        assert get(client, user, reverse("contracts:invoices")).status_code == 403, user
    body = get(client, finance, reverse("contracts:invoices")).content.decode()
    assert contract.number in body
    client.post(reverse("contracts:invoice_action", args=[contract.pk, request.pk, "issue"]),
                {"invoice_number": "04400123", "issued_on": "", "invoice_type": "general"})
    request.refresh_from_db()
    assert request.invoice_number == "04400123"


def test_receivables_for_finance_and_managers_by_their_reach(client, org, signed_contract, finance):
    contract = signed_contract()
    url = reverse("contracts:receivables")
    for user in (org.owner, org.teammate, org.outsider):
        assert get(client, user, url).status_code == 403, user
    for user, shown in [(finance, True), (org.manager, True), (org.admin, True), (org.other_manager, False)]:
        response = get(client, user, url)
        assert response.status_code == 200, user
        assert (contract.customer.name in response.content.decode()) == shown, user
    drill = get(client, finance, reverse("contracts:receivables_instalments") + f"?customer={contract.customer_id}")
    assert "首付款" in drill.content.decode() and "尾款" in drill.content.decode()
    export = get(client, finance, reverse("contracts:receivables_export"))
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert get(client, org.owner, reverse("contracts:receivables_export")).status_code == 403


def test_settings_are_the_admins(client, org):
    assert get(client, org.manager, reverse("contracts:settings")).status_code == 403
    client.force_login(org.admin)
    assert client.get(reverse("contracts:settings")).status_code == 200
    client.post(reverse("contracts:settings"), {
        "number_pattern": "HT{YY}{MM}-{NNN}", "due_soon_days": "5", "overdue_grace_days": "3",
        "ending_soon_days": "30", "esign_secret": "s" * 32, "esign_window_seconds": "300"})
    from closeloop.contracts.config import contract_settings

    assert contract_settings().number_pattern == "HT{YY}{MM}-{NNN}" and contract_settings().esign_secret == "s" * 32


def test_the_new_contract_page_reads_the_same_queries_however_many_deals(client, org, make_deal):
    """Who may make a contract was asked per deal (a participant query each); once for the list now."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def collaborate_on(n):
        for _ in range(n):
            participant_add(record=make_deal(), user=org.teammate, role=ParticipantRole.SALES, actor=org.owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("contracts:create")).status_code == 200
        return len(captured)

    client.force_login(org.teammate)
    collaborate_on(2)
    client.get(reverse("contracts:create"))  # the first request fills per-process caches (content types, settings)
    few = queries()
    collaborate_on(4)
    assert queries() == few
    assert client.get(reverse("contracts:create")).content.decode().count("CRM项目") >= 6
