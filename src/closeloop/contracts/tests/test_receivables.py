"""The receivables summaries kept by the services equal a recount from the instalments after every change, and the
page's figures (from the summaries) equal the instalments' own sums."""

from datetime import timedelta
from decimal import Decimal as D

from django.urls import reverse
from django.utils import timezone

from closeloop.contracts import payments, plans, receivable_summary, receivables, services
from closeloop.contracts.models import Instalment, ReceivableCustomer, ReceivableDay, SignedVia


def kept() -> tuple[set, set]:
    """The summary rows as the services left them (rows at zero are what a recount drops)."""
    days = {(r.owner_id, r.due_date, r.outstanding, r.instalments) for r in ReceivableDay.objects.filter(instalments__gt=0)}
    customers = {(r.owner_id, r.customer_id, r.outstanding, r.instalments)
                 for r in ReceivableCustomer.objects.filter(instalments__gt=0)}
    assert not ReceivableDay.objects.filter(instalments=0).exclude(outstanding=0).exists()
    return days, customers


def assert_summaries_equal_a_recount():
    before = kept()
    receivable_summary.recount()
    after = kept()
    assert before == after
    # And the recount is the instalments' own sums.
    assert sum(row[2] for row in after[0]) == sum(Instalment.objects.filter(receivable=True)
                                                  .values_list("outstanding", flat=True))


def signed(org, make_deal, *, dated: str, undated: str, due, sign_date):
    """A signed contract of two instalments: `dated` due on `due`, `undated` on the delivery's acceptance."""
    amount = str(D(dated) + D(undated))
    contract = services.contract_create_from_deal(opportunity=make_deal(amount=amount), data={"amount": amount},
                                                  actor=org.owner)
    plans.payment_plan_save(contract=contract, actor=org.owner, instalments=[
        {"title": "首付款", "condition": "on_date", "due_date": due.isoformat(), "amount": dated},
        {"title": "验收款", "condition": "on_acceptance", "days_after": "10", "amount": undated}])
    services.contract_submit(contract=contract, actor=org.owner)
    services.contract_sign(contract=contract, actor=org.owner, sign_date=sign_date, via=SignedVia.SCAN)
    return contract


def test_the_summaries_follow_every_service_that_changes_what_is_owed(org, signed_contract, make_deal, finance):
    first = signed_contract()
    assert_summaries_equal_a_recount()
    assert ReceivableCustomer.objects.get(customer=first.customer).outstanding == D("30000.00")
    second = signed_contract()  # the same customer and owner: the rows add up
    payment = payments.payment_record(contract=second, data={"amount": "5000"}, actor=finance)
    assert_summaries_equal_a_recount()
    payments.payment_void(payment=payment, actor=finance, reason="录错了")
    assert_summaries_equal_a_recount()
    # Finance moves a due date and splits the plan differently; the first contract's rows move with it.
    rows = [{"id": i.pk, "title": i.title, "condition": i.condition, "days_after": i.days_after,
             "due_date": "2027-08-31" if i.condition == "on_date" else "", "amount": str(i.amount)}
            for i in first.instalments.order_by("position")]
    rows[0]["amount"], rows[1]["amount"] = "10000", "15000"
    rows.append({"title": "质保金", "condition": "on_acceptance", "days_after": "30", "amount": "5000"})
    plans.payment_plan_save(contract=first, actor=finance, instalments=rows)
    assert_summaries_equal_a_recount()
    # An instalment removed from the plan leaves the summaries.
    plans.payment_plan_save(contract=first, actor=finance, instalments=[
        {"id": i.pk, "title": i.title, "condition": i.condition, "days_after": i.days_after,
         "due_date": i.due_date.isoformat() if i.condition == "on_date" else "",
         "amount": "20000" if i.position == 2 else str(i.amount)}
        for i in first.instalments.order_by("position") if i.position < 3])
    assert_summaries_equal_a_recount()
    services.contract_delivery_accept(contract=first, accepted_on=timezone.localdate(), actor=org.owner)
    assert_summaries_equal_a_recount()
    payments.payment_record(contract=first, data={"amount": "30000"}, actor=finance)
    assert_summaries_equal_a_recount()
    services.contract_terminate(contract=second, actor=org.manager, reason="客户取消")
    assert_summaries_equal_a_recount()
    assert not ReceivableCustomer.objects.filter(instalments__gt=0).exists()


def test_the_page_reads_the_same_figures_as_the_instalments(client, org, make_deal, finance):
    today = timezone.localdate()
    for days in (3, -10, -45, -75, -200):
        signed(org, make_deal, dated="20000", undated="30000", due=today + timedelta(days=days),
               sign_date=today - timedelta(days=max(0, -days)))
    for user in (finance, org.manager, org.other_manager):
        totals, reps = receivables.summary(user, today)
        rows = receivables.receivable_instalments(user)
        assert totals == receivables.totals(rows, today)
        assert [(r.key, r.total, r.buckets) for r in reps] == [(r.key, r.total, r.buckets)
                                                                for r in receivables.by_rep(rows, today)]
        ranked = receivables.by_customer(rows, today, page=1, ranking=receivables.receivable_customers(user))
        plain = receivables.by_customer(rows, today, page=1)
        assert [(r.key, r.total, r.buckets) for r in ranked["rows"]] == [(r.key, r.total, r.buckets)
                                                                         for r in plain["rows"]]
    totals, _reps = receivables.summary(finance, today)
    assert totals["total"] == D("250000.00") and totals["d90_plus"] == D("20000.00")
    assert receivables.summary(org.other_manager, today)[0]["total"] == 0
    client.force_login(finance)
    drill = client.get(reverse("contracts:receivables_instalments") + "?bucket=d31_60")
    assert drill.status_code == 200 and drill.context["total"] == D("20000.00")
    assert [i.due_date for i in drill.context["page"]["rows"]] == [today - timedelta(days=45)]


def test_the_drill_down_pages_dated_instalments_then_undated_ones(client, org, make_deal, finance):
    today = timezone.localdate()
    for days in (5, 40, 20):
        signed(org, make_deal, dated="10000", undated="20000", due=today + timedelta(days=days), sign_date=today)
    rows = receivables.receivable_instalments(finance)
    seen = []
    for page in (1, 2, 3, 4):
        result = receivables.drilldown_page(rows, receivables.DrillFilters(bucket="not_due"), today, page=page,
                                            per_page=2)
        seen += [(i.due_date, i.condition) for i in result["rows"]]
        assert result["has_next"] == (page < 3)
    assert seen == [(today + timedelta(days=5), "on_date"), (today + timedelta(days=20), "on_date"),
                    (today + timedelta(days=40), "on_date"), (None, "on_acceptance"), (None, "on_acceptance"),
                    (None, "on_acceptance")]
