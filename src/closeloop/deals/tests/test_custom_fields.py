"""Custom fields on customers, contacts and deals: forms, detail pages, API and the trail, with field-level
permission, as owner, manager and outsider."""

import pytest
from django.urls import reverse

from closeloop.core.audit import audit_trail
from closeloop.core.customfields.services import custom_field_create
from closeloop.core.errors import ValidationFailed
from closeloop.core.services import api_token_create
from closeloop.deals.models import Customer, Opportunity
from closeloop.deals.services.customers import contact_create, customer_update
from closeloop.deals.services.opportunities import opportunity_update


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def fields(org):
    return {
        "tier": custom_field_create(target="deals.Customer", key="tier", field_type="choice", actor=org.admin,
                                    data={"label_zh": "客户等级", "label_en": "Tier", "options": "战略\n重点\n普通",
                                          "required_channels": ["web"]}),
        "birthday": custom_field_create(target="deals.Contact", key="birthday", field_type="date", actor=org.admin,
                                        data={"label_zh": "生日", "label_en": "Birthday"}),
        "competitor": custom_field_create(target="deals.Opportunity", key="competitor", field_type="text",
                                          actor=org.admin, data={"label_zh": "竞争对手", "label_en": "Competitor"}),
        "margin": custom_field_create(target="deals.Opportunity", key="floor_margin", field_type="decimal",
                                      actor=org.admin, data={"label_zh": "最低毛利率", "label_en": "Floor margin",
                                                             "view_roles": ["sales_manager"]}),
    }


def test_services_clean_custom_values_with_their_own_fields(org, fields, make_customer, make_deal):
    with pytest.raises(ValidationFailed) as refused:
        make_customer(name="", custom={"tier": "金牌"})
    assert set(refused.value.field_errors) == {"name", "custom.tier"}
    customer = make_customer(custom={"tier": "重点"})
    assert customer.custom == {"tier": "重点"}
    customer_update(customer=customer, data={"custom": {"tier": "战略"}}, actor=org.owner)
    entry = audit_trail(customer).filter(action="customer.update").get()
    assert entry.changes == {"custom.tier": ["重点", "战略"]}
    contact = contact_create(customer=customer, data={"name": "王芳", "custom": {"birthday": "1990/3/8"}},
                             actor=org.owner)
    assert contact.custom == {"birthday": "1990-03-08"}
    deal = make_deal(customer=customer)
    opportunity_update(opportunity=deal, data={"custom": {"competitor": "纷享销客"}}, actor=org.owner)
    deal.refresh_from_db()
    assert deal.custom == {"competitor": "纷享销客"}
    with pytest.raises(ValidationFailed) as not_theirs:
        opportunity_update(opportunity=deal, data={"custom": {"floor_margin": "0.3"}}, actor=org.owner)
    assert list(not_theirs.value.field_errors) == ["custom.floor_margin"]


def test_pages_show_and_save_what_each_role_may(client, org, fields, make_customer, make_deal):
    customer = make_customer(custom={"tier": "普通"})
    deal = make_deal(customer=customer)
    opportunity_update(opportunity=deal, data={"custom": {"floor_margin": "0.25"}}, actor=org.manager)
    client.force_login(org.owner)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "Tier" in page and "普通" in page and 'name="custom.birthday"' in page
    page = client.get(reverse("deals:edit", args=[deal.pk])).content.decode()
    assert 'name="custom.competitor"' in page and "custom.floor_margin" not in page
    assert "Floor margin" not in client.get(deal.get_absolute_url()).content.decode()
    client.force_login(org.manager)
    assert "0.25" in client.get(deal.get_absolute_url()).content.decode()
    client.force_login(org.outsider)
    assert client.get(deal.get_absolute_url()).status_code == 404
    client.force_login(org.owner)
    response = client.post(reverse("deals:customer_edit", args=[customer.pk]), {
        "name": customer.name, "custom.tier": ""})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    response = client.post(reverse("deals:customer_edit", args=[customer.pk]), {
        "name": customer.name, "custom.tier": "战略"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).custom == {"tier": "战略"}


def test_the_deal_export_has_the_custom_columns_the_viewer_may_see(client, org, fields, make_customer, make_deal):
    import io

    from openpyxl import load_workbook

    deal = make_deal(customer=make_customer(custom={"tier": "普通"}))
    opportunity_update(opportunity=deal, data={"custom": {"competitor": "=纷享销客"}}, actor=org.owner)
    opportunity_update(opportunity=deal, data={"custom": {"floor_margin": "0.25"}}, actor=org.manager)

    def exported(user) -> dict:
        client.force_login(user)
        response = client.get(reverse("deals:export"))
        assert response.status_code == 200
        header, *rows = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(
            values_only=True)
        return dict(zip(header, rows[0], strict=True))

    # The owner may not see the floor margin: no column, not an empty one.
    row = exported(org.owner)
    assert row["Competitor"] == "=纷享销客" and "Floor margin" not in row  # a text cell, never a formula
    assert row["Deal"] == deal.name
    assert exported(org.manager)["Floor margin"] == 0.25  # a figure is a number, as the amount is


def test_api_reads_and_writes_custom_values(client, org, fields, make_customer):
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = client.post("/api/deals/customers", {"name": "苏州某精密机械有限公司", "custom": {"tier": "X"}},
                           content_type="application/json", **auth)
    assert response.status_code == 422 and list(response.json()["fields"]) == ["custom.tier"]
    response = client.post("/api/deals/customers", {"name": "苏州某精密机械有限公司", "custom": {"tier": "重点"}},
                           content_type="application/json", **auth)
    assert response.status_code == 201 and response.json()["custom"] == {"tier": "重点"}
    customer_id = response.json()["id"]
    response = client.post("/api/deals/", {"customer_id": customer_id, "name": "产线改造",
                                           "custom": {"competitor": "销售易"}}, content_type="application/json", **auth)
    assert response.status_code == 201, response.json()
    assert response.json()["custom"] == {"competitor": "销售易"}
    deal_id = response.json()["id"]
    Opportunity.objects.filter(pk=deal_id).update(custom={"competitor": "销售易", "floor_margin": 0.2})
    assert "floor_margin" not in client.get(f"/api/deals/{deal_id}", **auth).json()["custom"]
    document = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert set(document["OpportunityOut"]["properties"]["custom"]["properties"]) == {"competitor", "floor_margin"}
    # A stage move takes the gate's custom values as an update does, with the same typed properties.
    moved = document["StageMoveIn"]["properties"]["custom"]
    assert moved == document["OpportunityPatch"]["properties"]["custom"]
    assert {"competitor", "floor_margin"} <= set(next(part for part in moved.get("anyOf", [moved])
                                                      if part.get("properties"))["properties"])


# ---------------------------------------------------------------------------------------------------
# A stage gate that requires a custom field


@pytest.fixture
def gated(org, stages):
    """需求确认 needs the deal's competitor (a custom choice field) besides its need."""
    from closeloop.deals.services.pipelines import stage_save

    field = custom_field_create(target="deals.Opportunity", key="rival", field_type="choice", actor=org.admin,
                                data={"label_zh": "竞争对手", "label_en": "Main rival", "options": "纷享销客\n销售易"})
    stage = stages["需求确认"]
    stage_save(actor=org.admin, pipeline=stage.pipeline, stage=stage, data={
        "name": stage.name, "probability": stage.probability, "position": stage.position,
        "required_fields": ["need", "custom.rival"], "stale_after_days": stage.stale_after_days})
    stage.refresh_from_db()
    return field, stage


def test_a_stage_gate_refuses_a_deal_without_its_custom_field_naming_it(org, gated, make_deal):
    from closeloop.deals.services.opportunities import opportunity_move_stage

    field, stage = gated
    assert stage.required_fields == ["need", "custom.rival"]
    assert stage.required_field_labels() == ["need", "Main rival"]
    deal = make_deal(need="CRM")
    with pytest.raises(ValidationFailed) as refused:
        opportunity_move_stage(opportunity=deal, stage=stage, actor=org.owner)
    assert refused.value.code == "stage_gate"
    assert "Main rival" in refused.value.message and "需求确认" in refused.value.message
    assert list(refused.value.field_errors) == ["custom.rival"]
    deal.refresh_from_db()
    assert deal.stage != stage
    # Filled on the way (the gate form), the value is saved with the move and audited as the field.
    opportunity_move_stage(opportunity=deal, stage=stage, actor=org.owner, fields={"custom": {"rival": "销售易"}})
    deal.refresh_from_db()
    assert deal.stage == stage and deal.custom == {"rival": "销售易"}
    entry = audit_trail(deal).filter(action="opportunity.stage").get()
    assert entry.changes["custom.rival"] == [None, "销售易"]
    # A later gate keeps the earlier one: emptying the field on an edit is refused while the deal is there.
    with pytest.raises(ValidationFailed) as kept:
        opportunity_update(opportunity=deal, data={"custom": {"rival": None}}, actor=org.owner)
    assert list(kept.value.field_errors) == ["custom.rival"]


def test_a_hidden_custom_field_no_longer_holds_deals_back(org, gated, make_deal):
    from closeloop.core.customfields.services import custom_field_hide
    from closeloop.deals.services.opportunities import opportunity_move_stage

    field, stage = gated
    custom_field_hide(field=field, hidden=True, actor=org.admin)
    deal = make_deal(need="CRM")
    opportunity_move_stage(opportunity=deal, stage=stage, actor=org.owner)
    deal.refresh_from_db()
    assert deal.stage == stage
    assert stage.required_field_labels() == ["need"]


def test_the_gate_form_asks_for_the_custom_field_and_saves_it(client, org, gated, make_deal):
    field, stage = gated
    deal = make_deal(need="CRM")
    client.force_login(org.owner)
    response = client.post(reverse("deals:move", args=[deal.pk]), {"stage": stage.pk, "next": "/deals/board/"})
    body = response.content.decode()
    assert response.status_code == 200 and "Main rival" in body
    assert '<select name="custom.rival"' in body and "纷享销客" in body
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stage.pk, "next": "/deals/board/", "custom.rival": "金蝶"})
    body = response.content.decode()
    assert response.status_code == 200 and "is not one of the options" in body and '<select name="custom.rival"' in body
    response = client.post(reverse("deals:move", args=[deal.pk]), {
        "stage": stage.pk, "next": "/deals/board/", "custom.rival": "纷享销客"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage == stage and deal.custom == {"rival": "纷享销客"}


def test_the_settings_offer_custom_fields_for_a_gate_and_the_api_obeys_it(client, org, gated, make_deal, stages):
    field, stage = gated
    client.force_login(org.admin)
    page = client.get(reverse("deals:stage_edit", args=[stage.pipeline_id, stage.pk])).content.decode()
    assert 'value="custom.rival"' in page and "Main rival" in page
    deal = make_deal(need="CRM")
    raw, _token = api_token_create(user=org.owner, name="t", actor=None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stage.pk}, content_type="application/json",
                           **auth)
    assert response.status_code == 422 and response.json()["code"] == "stage_gate"
    assert response.json()["details"]["missing"] == ["custom.rival"]
    assert "Main rival" in response.json()["message"]
    # The gate's value comes with the move, checked like an update's: a value not among the options, or a key
    # that is no field, is refused under its key and nothing moves.
    for custom, key in [({"rival": "金蝶"}, "custom.rival"), ({"rival": "销售易", "nope": 1}, "custom.nope")]:
        response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stage.pk, "custom": custom},
                               content_type="application/json", **auth)
        assert response.status_code == 422 and key in response.json()["fields"], response.json()
    deal.refresh_from_db()
    assert deal.stage != stage and not deal.custom
    response = client.post(f"/api/deals/{deal.pk}/stage", {"stage_id": stage.pk, "custom": {"rival": "销售易"}},
                           content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["stage"] == stage.name
    assert response.json()["custom"] == {"rival": "销售易"}
    entry = audit_trail(deal).filter(action="opportunity.stage").get()
    assert entry.channel == "api" and entry.changes["custom.rival"] == [None, "销售易"]


def test_the_deal_list_filters_on_the_deals_and_their_leads_custom_fields(client, org, fields, make_customer, make_deal,
                                                                          make_lead):
    """`cf.<key>` on the deal's own fields, `lead.cf.<key>` on the lead's it came from (the dashboard's drill-downs),
    each only on a field the viewer may see."""
    custom_field_create(target="leads.Lead", key="tier", field_type="choice", actor=org.admin,
                        data={"label_zh": "等级", "label_en": "Grade", "options": "金\n银"})
    gold, silver, plain = (make_deal(owner=org.owner, customer=make_customer(custom={"tier": "普通"})) for _n in range(3))
    Opportunity.objects.filter(pk=gold.pk).update(custom={"competitor": "纷享销客", "floor_margin": 0.25},
                                                  lead=make_lead(owner=org.owner, custom={"tier": "金"}))
    Opportunity.objects.filter(pk=silver.pk).update(lead=make_lead(owner=org.owner, custom={"tier": "银"}))

    def listed(user, query) -> set:
        client.force_login(user)
        return {deal.pk for deal in client.get(reverse("deals:list") + query).context["page"]["rows"]}

    assert listed(org.owner, "?cf.competitor=纷享销客") == {gold.pk}
    assert listed(org.owner, "?lead.cf.tier=金") == {gold.pk}
    assert listed(org.owner, "?lead.cf.tier=银&cf.competitor=纷享销客") == set()
    assert listed(org.owner, "?lead.cf.tier=铜") == {gold.pk, silver.pk, plain.pk}  # not an option: no filter
    # The floor margin is the managers': a rep filtering on it filters nothing, a manager does.
    assert listed(org.owner, "?cf.floor_margin=0.25") == {gold.pk, silver.pk, plain.pk}
    assert listed(org.manager, "?cf.floor_margin=0.25") == {gold.pk}
    # The list's form keeps the filters it does not show as hidden fields.
    client.force_login(org.owner)
    page = client.get(reverse("deals:list") + "?lead.cf.tier=金").content.decode()
    assert '<input type="hidden" name="lead.cf.tier" value="金">' in page


def test_a_deal_view_keeps_a_filter_on_a_deal_field_the_viewer_may_see(org, fields):
    from closeloop.core.savedviews.services import view_save

    view = view_save(list_key="deals", name="纷享", shared=False, actor=org.owner, filters="cf.competitor=纷享销客")
    assert view.filters == "cf.competitor=%E7%BA%B7%E4%BA%AB%E9%94%80%E5%AE%A2"
    with pytest.raises(ValidationFailed):  # the floor margin is the managers'
        view_save(list_key="deals", name="毛利", shared=False, actor=org.owner, filters="cf.floor_margin=0.25")
