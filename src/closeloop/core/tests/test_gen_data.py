"""`closeloop gen-data`: realistic rows whose normalized keys are the app's own, with real duplicates."""

from collections import Counter
from io import StringIO

from django.core.management import call_command

from closeloop.core.models import Role, User
from closeloop.deals.models import Contact, Customer, Opportunity
from closeloop.followup.models import Activity
from closeloop.leads import normalize
from closeloop.leads.models import Lead


def _generate(**options):
    out = StringIO()
    call_command("gen_data", processes=1, chunk=150, stdout=out, **options)
    return out.getvalue()


def test_it_fills_keys_with_the_intake_normalizer(db):
    _generate(leads=400, duplicates=0.2)

    leads = list(Lead.objects.all())
    assert len(leads) == 400
    for lead in leads:
        assert lead.mobile_key == normalize.phone_key(lead.mobile)
        assert lead.landline_key == normalize.phone_key(lead.landline)
        assert lead.email_key == normalize.email_key(lead.email)
        assert lead.company_key == normalize.company_key(lead.company_name)
        if lead.credit_code:
            assert normalize.credit_code_error(lead.credit_code) is None
    assert sum(1 for lead in leads if lead.mobile_key) > 300


def test_it_writes_the_same_person_differently(db):
    _generate(leads=400, duplicates=0.2)

    repeated = [key for key, n in Counter(Lead.objects.exclude(mobile_key="").values_list("mobile_key", flat=True)).items()
                if n > 1]
    assert len(repeated) > 20
    spellings = set(Lead.objects.filter(mobile_key__in=repeated).values_list("mobile", flat=True))
    assert len(spellings) > len(repeated)


def test_it_spreads_leads_over_the_org_and_two_years(db):
    _generate(leads=300, reps=10)

    assert User.objects.filter(role=Role.SALES_REP).count() == 10
    owners = set(Lead.objects.exclude(owner=None).values_list("owner__role", flat=True))
    assert owners <= {Role.SALES_REP, Role.SALES_MANAGER}
    assert not Lead.objects.filter(status="new").exclude(owner=None).exists()
    first = Lead.objects.order_by("created_at").first().created_at
    last = Lead.objects.order_by("-created_at").first().created_at
    assert (last - first).days > 600
    assert len(set(Lead.objects.values_list("status", flat=True))) >= 6


def test_it_adds_customers_deals_and_follow_ups(db):
    _generate(leads=200, customers=60, opportunities=120, activities=300)

    customers = list(Customer.objects.all())
    assert len(customers) == 60
    assert all(c.company_key == normalize.company_key(c.name) for c in customers)
    assert Contact.objects.filter(customer__in=customers, is_primary=True).count() == 60
    assert all(c.mobile_key == normalize.phone_key(c.mobile) for c in Contact.objects.all())
    deals = Opportunity.objects.select_related("stage")
    assert deals.count() == 120
    for deal in deals:
        assert deal.status == ("won" if deal.stage.is_won else "lost" if deal.stage.is_lost else "open")
        assert (deal.lost_reason_id is not None) == (deal.status == "lost")
    # Each converted lead became one deal, opened after the lead came in; the other deals have no lead.
    converted = Lead.objects.filter(status="converted")
    assert converted.exists()
    assert sorted(deals.exclude(lead=None).values_list("lead_id", flat=True)) == sorted(converted.values_list("pk", flat=True))
    assert all(deal.created_at >= deal.lead.created_at for deal in deals.exclude(lead=None).select_related("lead"))
    assert Activity.objects.count() == 300
    assert not Activity.objects.filter(lead__isnull=False, lead__owner=None).exists()
    assert Activity.objects.filter(opportunity__isnull=False).exists()
    assert Activity.objects.filter(customer__isnull=False).exists()


def test_it_adds_to_what_is_there(db):
    _generate(leads=100)
    _generate(leads=100, seed=2)

    assert Lead.objects.count() == 200
    assert User.objects.filter(username="admin").count() == 1
