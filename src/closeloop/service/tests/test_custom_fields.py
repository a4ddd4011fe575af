"""Custom fields on quotes, contracts, deliveries and tickets, through the same mechanism as leads and deals: each
app registers its record type; values go through its services (cleaned with its own fields, audited key by key),
its forms and detail pages, and its API (validated, typed in the OpenAPI document, listed by the definitions
endpoint), with field-level permission (roles that see and edit a field)."""

import pytest
from django.urls import reverse

from closeloop.contracts import services as contract_services
from closeloop.contracts.models import Contract
from closeloop.core.audit import audit_trail
from closeloop.core.customfields.registry import targets
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.errors import ValidationFailed
from closeloop.quotes import services as quote_services
from closeloop.quotes.models import Quote
from closeloop.service import deliveries, tickets
from closeloop.service.models import Delivery, Ticket

TARGETS = ["quotes.Quote", "contracts.Contract", "service.Delivery", "service.Ticket"]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org):
    """On each record type: a choice anyone edits, and an amount only managers see (and only they edit)."""
    made = {}
    for target in TARGETS:
        made[target] = (
            custom_field_create(target=target, key="channel", field_type="choice", actor=org.admin, data={
                "label_zh": "渠道", "label_en": "Sales channel", "options": "直销\n代理"}),
            custom_field_create(target=target, key="floor_price", field_type="money", actor=org.admin, data={
                "label_zh": "底价", "label_en": "Floor price", "view_roles": ["sales_manager"]}),
        )
    return made


def test_every_new_record_type_registers_through_the_hooks():
    assert set(TARGETS) <= set(targets())


def test_services_clean_audit_and_guard_custom_values(org, fields, make_quote, make_contract, make_delivery,
                                                      make_ticket):
    quote = make_quote()
    quote_services.quote_update(quote=quote, data={"custom": {"channel": "代理"}}, actor=org.owner)
    quote.refresh_from_db()
    assert quote.custom == {"channel": "代理"}
    assert audit_trail(quote).filter(action="quote_version.update").first().changes == {"custom.channel": [None, "代理"]}
    with pytest.raises(ValidationFailed) as both:
        quote_services.quote_update(quote=quote, data={"title": "", "custom": {"channel": "电销"}}, actor=org.owner)
    assert set(both.value.field_errors) == {"title", "custom.channel"}
    # A rep may not set a field only managers see; the manager may.
    with pytest.raises(ValidationFailed) as not_theirs:
        quote_services.quote_update(quote=quote, data={"custom": {"floor_price": "5万"}}, actor=org.owner)
    assert list(not_theirs.value.field_errors) == ["custom.floor_price"]
    quote_services.quote_update(quote=quote, data={"custom": {"floor_price": "5万"}}, actor=org.manager)
    quote.refresh_from_db()
    assert quote.custom == {"channel": "代理", "floor_price": 50000}

    contract = make_contract()
    contract_services.contract_update(contract=contract, data={"custom": {"channel": "直销"}}, actor=org.owner)
    contract.refresh_from_db()
    assert contract.custom == {"channel": "直销"}
    entry = audit_trail(contract).filter(action="contract.update").first()
    assert entry.changes == {"custom.channel": [None, "直销"]}
    with pytest.raises(ValidationFailed) as bad:
        contract_services.contract_update(contract=contract, data={"custom": {"channel": "x", "nope": 1}},
                                          actor=org.owner)
    assert set(bad.value.field_errors) == {"custom.channel", "custom.nope"}

    delivery = make_delivery()
    deliveries.delivery_update(delivery=delivery, data={"custom": {"channel": "代理"}}, actor=org.owner)
    delivery.refresh_from_db()
    assert delivery.custom == {"channel": "代理"}
    assert audit_trail(delivery).filter(action="delivery.update").first().changes == {"custom.channel": [None, "代理"]}

    ticket = make_ticket(custom={"channel": "直销"})
    assert ticket.custom == {"channel": "直销"}
    assert audit_trail(ticket).filter(action="ticket.create").first().changes["custom.channel"] == [None, "直销"]
    with pytest.raises(ValidationFailed) as refused:
        make_ticket(title="", custom={"channel": "电销"})
    assert set(refused.value.field_errors) == {"title", "custom.channel"}
    tickets.ticket_update(ticket=ticket, data={"custom": {"channel": None}}, actor=org.owner)
    ticket.refresh_from_db()
    assert ticket.custom is None


def test_required_fields_and_defaults_on_new_records(org, make_quote, accepted_quote, delivered_contract,
                                                     make_ticket):
    for target in TARGETS:
        custom_field_create(target=target, key="region_code", field_type="text", actor=org.admin, data={
            "label_zh": "区域编码", "label_en": "Region code", "required_channels": ["api"], "default": "HD"})
    # A default fills a record made without values, on any path (the system's renewals included).
    quote = make_quote()
    assert quote.custom == {"region_code": "HD"}
    contract = contract_services.contract_create_from_quote(quote=accepted_quote(), actor=org.owner)
    assert contract.custom == {"region_code": "HD"}
    delivery = deliveries.delivery_create(contract=delivered_contract(), actor=org.owner)
    assert delivery.custom == {"region_code": "HD"}
    assert make_ticket().custom == {"region_code": "HD"}
    # Required on the API: an emptied value is refused there, with the field named.
    customer = make_ticket().customer
    with pytest.raises(ValidationFailed) as required:
        tickets.ticket_create(customer=customer, data={"title": "x", "priority": "P3", "custom": {"region_code": ""}},
                              actor=org.owner, channel="api")
    assert list(required.value.field_errors) == ["custom.region_code"]


def test_pages_show_and_save_what_each_role_may(client, org, fields, make_quote, make_contract, make_delivery,
                                                make_ticket, service_team):
    quote = make_quote()
    quote_services.quote_update(quote=quote, data={"custom": {"floor_price": "80000"}}, actor=org.manager)
    client.force_login(org.owner)
    page = client.get(quote.get_absolute_url()).content.decode()
    assert 'name="custom.channel"' in page and "custom.floor_price" not in page and "80,000" not in page
    response = client.post(reverse("quotes:terms", args=[quote.pk]), {
        "title": quote.title, "valid_until": quote.current_version.valid_until.isoformat(), "custom.channel": "电销"})
    assert response.status_code == 200 and "is not one of the options" in response.content.decode()
    response = client.post(reverse("quotes:terms", args=[quote.pk]), {
        "title": quote.title, "valid_until": quote.current_version.valid_until.isoformat(), "custom.channel": "直销"})
    assert response.status_code == 302
    assert Quote.objects.get(pk=quote.pk).custom == {"channel": "直销", "floor_price": 80000}
    client.force_login(org.manager)
    page = client.get(reverse("quotes:create") + f"?deal={quote.opportunity_id}").content.decode()
    assert 'name="custom.floor_price"' in page

    contract = make_contract()
    client.force_login(org.owner)
    page = client.get(reverse("contracts:edit", args=[contract.pk])).content.decode()
    assert 'name="custom.channel"' in page and "custom.floor_price" not in page
    form = {name: getattr(contract, name) for name in ("title", "party_a", "party_b", "payment_terms", "notes")}
    response = client.post(reverse("contracts:edit", args=[contract.pk]), {**form, "custom.channel": "代理"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Contract.objects.get(pk=contract.pk).custom == {"channel": "代理"}
    assert "Sales channel" in client.get(contract.get_absolute_url()).content.decode()

    delivery = make_delivery()
    response = client.post(reverse("service:delivery_edit", args=[delivery.pk]), {
        "title": delivery.title, "owner": delivery.owner_id, "notes": "", "custom.channel": "直销"})
    assert response.status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).custom == {"channel": "直销"}
    page = client.get(delivery.get_absolute_url()).content.decode()
    assert "Sales channel" in page and "直销" in page

    customer = make_ticket().customer
    page = client.get(reverse("service:ticket_create") + f"?customer={customer.pk}").content.decode()
    assert 'name="custom.channel"' in page and "custom.floor_price" not in page
    response = client.post(reverse("service:ticket_create") + f"?customer={customer.pk}", {
        "title": "打印报错", "category": "fault", "priority": "P3", "custom.channel": "代理"})
    assert response.status_code == 302
    ticket = Ticket.objects.get(title="打印报错")
    assert ticket.custom == {"channel": "代理"}
    # Its page shows the value and lets whoever works the ticket change it.
    client.force_login(service_team.first)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Sales channel" in page and f'action="{reverse("service:ticket_fields", args=[ticket.pk])}"' in page
    response = client.post(reverse("service:ticket_fields", args=[ticket.pk]), {"custom.channel": "直销"})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).custom == {"channel": "直销"}
    response = client.post(reverse("service:ticket_fields", args=[ticket.pk]), {"custom.channel": "电销"})
    assert response.status_code == 422 and "is not one of the options" in response.content.decode()


def test_the_api_reads_writes_and_describes_custom_values(client, org, fields, make_quote, make_contract,
                                                          make_delivery, make_ticket, api_auth):
    owner, manager = api_auth(org.owner), api_auth(org.manager)
    quote = make_quote()
    contract = make_contract()
    delivery = make_delivery()
    ticket = make_ticket()
    routes = [(f"/api/quotes/{quote.pk}", quote), (f"/api/contracts/{contract.pk}", contract),
              (f"/api/deliveries/{delivery.pk}", delivery), (f"/api/tickets/{ticket.pk}", ticket)]
    for url, record in routes:
        response = client.patch(url, {"custom": {"channel": "代理"}}, content_type="application/json", **owner)
        assert response.status_code == 200, (url, response.content)
        assert response.json()["custom"] == {"channel": "代理"}  # the manager-only field is not shown to the rep
        response = client.patch(url, {"custom": {"channel": "电销"}}, content_type="application/json", **owner)
        assert response.status_code == 422 and "custom.channel" in response.json()["fields"], url
        response = client.patch(url, {"custom": {"floor_price": 1}}, content_type="application/json", **owner)
        assert response.status_code == 422 and "custom.floor_price" in response.json()["fields"], url
        response = client.patch(url, {"custom": {"floor_price": "12.5万"}}, content_type="application/json", **manager)
        assert response.status_code == 200, (url, response.content)
        assert response.json()["custom"] == {"channel": "代理", "floor_price": "125000.00"}
        record.refresh_from_db()
        assert record.custom == {"channel": "代理", "floor_price": 125000}
    # New records over the API take their values too.
    response = client.post("/api/tickets/", {"customer_id": ticket.customer_id, "title": "接口工单",
                                             "custom": {"channel": "直销"}}, content_type="application/json", **owner)
    assert response.status_code == 201 and response.json()["custom"] == {"channel": "直销"}
    # The definitions endpoint and the document describe each record type's fields, typed.
    for target in TARGETS:
        listed = client.get(f"/api/custom-fields/?target={target}", **owner).json()
        assert [field["key"] for field in listed] == ["channel"]
        listed = client.get(f"/api/custom-fields/?target={target}", **manager).json()
        assert {field["key"] for field in listed} == {"channel", "floor_price"}
    document = client.get("/api/openapi.json").json()["components"]["schemas"]
    for schema in ("QuoteOut", "ContractOut", "DeliveryOut", "TicketOut"):
        typed = document[schema]["properties"]["custom"]["properties"]
        assert typed["channel"]["anyOf"][0] == {"type": "string", "enum": ["直销", "代理"]}, schema
    for schema in ("QuotePatch", "ContractPatch", "DeliveryPatch", "TicketPatch", "QuoteIn", "ContractIn",
                   "DeliveryIn", "TicketIn"):
        written = document[schema]["properties"]["custom"]["anyOf"][0]
        assert set(written["properties"]) == {"channel", "floor_price"} and written["additionalProperties"] is False


def test_lists_show_marked_columns_and_filter_on_the_fields_the_viewer_may_see(client, org, fields, make_quote,
                                                                               make_contract, make_delivery,
                                                                               make_ticket, service_team):
    from closeloop.core.customfields.services import custom_field_index, custom_field_update

    for target in TARGETS:
        for field in fields[target]:
            custom_field_update(field=field, data={"list_column": True}, actor=org.admin)
        custom_field_index(field=fields[target][0], indexed=True, actor=org.admin)
    quotes = [make_quote(), make_quote()]
    contracts = [make_contract(), make_contract()]
    runs = [make_delivery(), make_delivery()]
    raised = [make_ticket(), make_ticket()]
    for records in (quotes, contracts, runs, raised):
        for record, value in zip(records, ["直销", "代理"], strict=True):
            type(record).objects.filter(pk=record.pk).update(custom={"channel": value, "floor_price": 99000})
    pages = [(reverse("quotes:list"), quotes), (reverse("contracts:list"), contracts),
             (reverse("service:deliveries"), runs), (reverse("service:tickets") + "?status=all&", raised)]
    client.force_login(org.admin)
    for url, records in pages:
        url = url if "?" in url else url + "?"
        page = client.get(url).content.decode()
        assert "Sales channel" in page and "Floor price" in page and "99,000" in page, url
        page = client.get(url + "cf.channel=代理").content.decode()
        # The indexed field is offered as a filter, the choice kept.
        assert '<select name="cf.channel"' in page and '<option value="代理" selected>' in page, url
        assert f'href="{records[1].get_absolute_url()}"' in page, url
        assert f'href="{records[0].get_absolute_url()}"' not in page, url
    # A field the viewer may not see is neither a column nor a filter (the filter would tell its values).
    client.force_login(org.owner)
    page = client.get(reverse("quotes:list") + "?cf.floor_price=1").content.decode()
    assert "Floor price" not in page and quotes[0].number in page


def test_the_customers_public_ticket_form_carries_the_fields_put_on_it(client, org, make_customer, service_team):
    from closeloop.service.ticket_forms import ticket_form_share

    custom_field_create(target="service.Ticket", key="device_sn", field_type="text", actor=org.admin, data={
        "label_zh": "设备序列号", "label_en": "Device serial", "public": True, "required_channels": ["form"]})
    custom_field_create(target="service.Ticket", key="root_cause", field_type="text", actor=org.admin, data={
        "label_zh": "根因", "label_en": "Root cause"})
    link = ticket_form_share(customer=make_customer(owner=org.owner), actor=org.owner)
    url = reverse("ticket_form_public", args=[link.key])
    page = client.get(url).content.decode()
    assert 'name="custom.device_sn"' in page and "custom.root_cause" not in page
    data = {"requester_name": "李工", "requester_phone": "13900001111", "title": "扫码枪失灵", "category": "fault"}
    # A missing required field is named with the form's own problems, in one round; nothing is raised.
    response = client.post(url, {**data, "requester_name": ""})
    body = response.content.decode()
    assert response.status_code == 422 and "Tell us who you are." in body and "This field is required." in body
    assert not Ticket.objects.exists()
    # A visitor cannot set a field that is not on the form.
    response = client.post(url, {**data, "custom.device_sn": "SN-001", "custom.root_cause": "x"})
    assert response.status_code == 302
    assert Ticket.objects.get().custom == {"device_sn": "SN-001"}
