"""Quote pages as owner, teammate, manager, outsider, approver and finance; line editing; actions."""

import pytest
from django.urls import reverse

from closeloop.core.models import AuditEntry
from closeloop.quotes import services
from closeloop.quotes.models import ApprovalRequest, Quote, QuoteStatus

pytestmark = pytest.mark.django_db


def page(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


def test_a_quote_follows_its_deals_visibility(client, org, make_quote, finance, presales):
    quote = make_quote()
    url = quote.get_absolute_url()
    for user, status in [(org.owner, 200), (org.manager, 200), (org.admin, 200), (finance, 200),
                         (org.teammate, 404), (org.outsider, 404), (org.other_manager, 404), (presales, 404)]:
        assert page(client, user, url).status_code == status, user
    for user, count in [(org.owner, 1), (org.manager, 1), (finance, 1), (org.teammate, 0), (org.outsider, 0)]:
        response = page(client, user, reverse("quotes:list"))
        assert response.content.decode().count(quote.number) == count, user


def test_the_list_reads_in_a_fixed_number_of_queries(client, org, make_quote, django_assert_max_num_queries):
    for _ in range(3):
        make_quote()
    client.force_login(org.owner)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("quotes:list"))
    assert response.status_code == 200


def test_an_approver_sees_the_quote_and_decides_on_it(client, org, make_quote, discount_rule, presales):
    from closeloop.quotes.models import ApprovalChain

    discount_rule("15", chain=ApprovalChain.APPROVERS, approvers=[presales])
    quote = make_quote(lines=[("10000", "20")])
    services.quote_submit(quote=quote, actor=org.owner)
    response = page(client, presales, reverse("quotes:approvals"))
    assert quote.number in response.content.decode()
    response = page(client, presales, quote.get_absolute_url())
    assert response.status_code == 200 and "Approve" in response.content.decode()
    request = ApprovalRequest.objects.get()
    response = client.post(reverse("quotes:approval_decide", args=[request.pk]),
                           {"decision": "approve", "comment": "OK", "next": quote.get_absolute_url()})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    # Someone not in the chain cannot decide, and learns nothing about the request.
    client.force_login(org.outsider)
    assert client.post(reverse("quotes:approval_decide", args=[request.pk]), {"decision": "approve"}).status_code == 404


def test_a_rep_builds_a_quote_from_the_deal(client, org, deal, make_deal, make_product):
    product = make_product(name="CRM标准版", list_price="12800")
    client.force_login(org.owner)
    response = client.get(reverse("quotes:create") + f"?deal={deal.pk}")
    assert response.status_code == 200 and deal.name in response.content.decode()
    # Each deal is offered with its customer, named once.
    plain = make_deal(name="年度续费", customer=deal.customer)
    choices = dict(client.get(reverse("quotes:create")).context["form"].fields["opportunity"].choices)
    assert deal.customer.name in deal.name and choices[deal.pk] == deal.name
    assert choices[plain.pk] == f"年度续费 · {deal.customer.name}"
    response = client.post(reverse("quotes:create") + f"?deal={deal.pk}", {"opportunity": deal.pk, "title": ""})
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == quote.get_absolute_url()
    # Lines through HTMX: the answer is the line area (lines, totals, a fresh editor).
    response = client.post(reverse("quotes:line_add", args=[quote.pk]),
                           {"product": product.pk, "quantity": "3", "discount_pct": "5", "unit_price": ""},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="line-area")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="line-area"' in body and "CRM标准版" in body
    assert "¥36,480.00" in body  # 3 × 12,800 less 5%
    line = quote.current_version.lines.get()
    # Removing a line asks first, naming it, as the other destructive actions do (static/closeloop/app.js).
    assert 'data-confirm="Remove the line “CRM标准版”?">Remove</button>' in body
    response = client.post(reverse("quotes:line_update", args=[quote.pk, line.pk]),
                           {"product": product.pk, "quantity": "3", "discount_pct": "abc"},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="line-area")
    assert response.status_code == 422 and "Enter a number" in response.content.decode()
    response = client.post(reverse("quotes:line_update", args=[quote.pk, line.pk]),
                           {"product": product.pk, "quantity": "2", "discount_pct": "0", "unit_price": "12000"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.quantity, line.unit_price) == (2, 12000)
    response = client.get(quote.get_absolute_url() + f"?edit={line.pk}")
    assert 'value="12000.00"' in response.content.decode()
    client.post(reverse("quotes:terms", args=[quote.pk]), {"title": "云帆CRM", "valid_until": "2099-12-31",
                                                            "payment_terms": "预付50%"})
    quote.refresh_from_db()
    assert quote.title == "云帆CRM" and quote.current_version.payment_terms == "预付50%"
    response = client.post(reverse("quotes:action", args=[quote.pk, "send"]))
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    body = client.get(quote.get_absolute_url()).content.decode()
    assert reverse("quote_public", args=[quote.public_key]) in body and "Make a new version" in body


def test_strangers_cannot_touch_lines(client, org, make_quote):
    quote = make_quote()
    line = quote.current_version.lines.get()
    client.force_login(org.outsider)
    assert client.post(reverse("quotes:line_add", args=[quote.pk]), {"name": "x", "unit_price": "1"}).status_code == 404
    assert client.post(reverse("quotes:line_remove", args=[quote.pk, line.pk])).status_code == 404
    assert client.post(reverse("quotes:action", args=[quote.pk, "send"])).status_code == 404
    client.force_login(org.teammate)
    assert client.get(reverse("quotes:price_history", args=[quote.pk])).status_code == 404


def test_finance_reads_but_cannot_change(client, org, make_quote, finance):
    quote = make_quote()
    client.force_login(finance)
    body = client.get(quote.get_absolute_url()).content.decode()
    assert "Add a line" not in body and "Mark as sent" not in body
    response = client.post(reverse("quotes:action", args=[quote.pk, "send"]), follow=True)
    assert "Only the deal&#x27;s owner" in response.content.decode() or "Only the deal's owner" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
    assert AuditEntry.objects.for_object(quote).filter(actor=finance).count() == 0


def test_the_price_history_shows_this_customer_and_the_others(client, org, deal, make_deal, make_product):
    product = make_product(list_price="10000")
    other = make_deal()
    for opportunity, price in [(deal, "9500"), (other, "9000"), (other, "8000"), (other, "9800")]:
        quote = services.quote_create(opportunity=opportunity, actor=org.owner)
        services.quote_line_add(quote=quote, actor=org.owner, data={"product": product.pk, "unit_price": price})
        services.quote_send(quote=quote, actor=org.owner)
    current = services.quote_create(opportunity=deal, actor=org.owner)
    client.force_login(org.owner)
    body = client.get(reverse("quotes:price_history", args=[current.pk]) + f"?product={product.pk}",
                      HTTP_HX_REQUEST="true").content.decode()
    assert "¥9,500.00" in body  # this customer before
    assert "¥8,000.00" in body and "¥9,000.00" in body and "¥9,800.00" in body  # min, median, last


def test_products_are_kept_by_admins_and_presales(client, org, presales, make_product):
    product = make_product()
    for user, status in [(org.owner, 403), (org.manager, 403), (presales, 200), (org.admin, 200)]:
        assert page(client, user, reverse("quotes:product_edit", args=[product.pk])).status_code == status
    assert product.code in page(client, org.owner, reverse("quotes:product_list")).content.decode()
    client.force_login(presales)
    response = client.post(reverse("quotes:product_create"), {
        "code": "SVC-1", "name": "实施服务", "unit": "人天", "list_price": "1500", "tax_rate": "6.00", "active": "on"})
    assert response.status_code == 302
    response = client.post(reverse("quotes:product_create"), {
        "code": "SVC-1", "name": "重复", "unit": "人天", "list_price": "x", "tax_rate": "6.00"})
    body = response.content.decode()
    assert "Another product has the code" in body or "Enter an amount" in body


def test_templates_and_settings_pages(client, org, presales, make_product, pipeline, stages):
    product = make_product()
    client.force_login(presales)
    response = client.post(reverse("quotes:template_create"), {
        "name": "标准版", "active": "on", "line_product": [product.pk, ""], "line_quantity": ["2", "1"],
        "line_discount_pct": ["0", "0"]})
    assert response.status_code == 302
    assert page(client, presales, reverse("quotes:settings")).status_code == 403
    assert page(client, org.manager, reverse("quotes:settings")).status_code == 403
    response = page(client, org.admin, reverse("quotes:settings"))
    assert response.status_code == 200
    response = client.post(reverse("quotes:settings"), {
        "company_name": "华东云科技有限公司", "number_prefix": "QT", "validity_days": "15", "prices_include_tax": "on"})
    assert response.status_code == 302
    response = client.post(reverse("quotes:pipeline_moves", args=[pipeline.pk]),
                           {"sent_stage": stages["方案报价"].pk, "accepted_stage": stages["赢单"].pk})
    assert response.status_code == 302
    response = client.post(reverse("quotes:rule_create"), {
        "name": "大折扣", "kind": "quote", "metric": "discount_pct", "operator": "gt", "threshold": "15",
        "chain": "managers", "levels": "2", "active": "on"})
    assert response.status_code == 302
    response = client.post(reverse("quotes:rule_create"), {
        "name": "财务", "kind": "quote", "metric": "margin_pct", "operator": "lt", "threshold": "20",
        "chain": "approvers", "levels": "1", "approvers": "nobody", "active": "on"})
    assert "No active user named: nobody" in response.content.decode()
    body = client.get(reverse("quotes:settings")).content.decode()
    assert "大折扣" in body and "华东云科技有限公司" in body


def test_the_pages_fit_a_phone_and_speak_chinese(client, org, make_quote, settings):
    from django.utils import translation

    quote = make_quote()
    client.force_login(org.owner)
    with translation.override("zh-hans"):
        body = client.get(quote.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'name="viewport"' in body and "table-wrap" in body


@pytest.mark.parametrize(("who", "sees", "starts"), [("owner", True, True), ("manager", True, True),
                                                     ("teammate", False, False), ("admin", True, True)])
def test_the_deal_page_lists_its_quotes_and_starts_one(client, org, deal, make_quote, who, sees, starts):
    quote = make_quote()
    client.force_login(getattr(org, who))
    response = client.get(deal.get_absolute_url())
    if response.status_code == 404:  # a deal the person cannot see shows nothing of its quotes either
        assert not sees
        return
    body = response.content.decode()
    assert 'id="quotes"' in body
    assert (quote.number in body) == sees
    assert (f"{reverse('quotes:create')}?deal={deal.pk}" in body) == starts


def test_the_quote_title_is_not_a_job_title_in_chinese(client, org, make_quote):
    quote = make_quote()
    client.force_login(org.owner)
    body = client.get(quote.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "标题" in body and "职务" not in body


def _queries_for(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_new_quote_page_reads_the_same_queries_however_many_deals(client, org, make_deal):
    """The deals one may quote on were checked one by one (a participant query per deal); one query now."""
    from closeloop.followup.models import ParticipantRole
    from closeloop.followup.services import participant_add

    def collaborate_on(n):
        for _ in range(n):
            participant_add(record=make_deal(), user=org.teammate, role=ParticipantRole.PRESALES, actor=org.owner)

    client.force_login(org.teammate)
    collaborate_on(2)
    client.get(reverse("quotes:create"))  # the first request fills per-process caches (content types, settings)
    few = _queries_for(client, reverse("quotes:create"))
    collaborate_on(4)
    page = client.get(reverse("quotes:create")).content.decode()
    assert page.count("CRM项目") >= 6
    assert _queries_for(client, reverse("quotes:create")) == few


def test_cancelling_a_new_quote_goes_back_where_it_was_started(client, org, deal):
    # Started from the deal's page, "Cancel" led to the list of every quote instead of back to the deal.
    client.force_login(org.owner)
    page = client.get(reverse("quotes:create") + f"?deal={deal.pk}").content.decode()
    assert f'<a href="{deal.get_absolute_url()}">Cancel</a>' in page
    page = client.get(reverse("quotes:create")).content.decode()
    assert f'<a href="{reverse("quotes:list")}">Cancel</a>' in page
    # A deal the person may not quote on is no way back.
    client.force_login(org.outsider)
    page = client.get(reverse("quotes:create") + f"?deal={deal.pk}").content.decode()
    assert deal.get_absolute_url() not in page
