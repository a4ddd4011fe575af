"""Each deal keeps its lead's creation time and source (deals.lead_origin), whatever writes the deal or the lead: the
review counts the won deals of the period's leads from them, so they must equal the lead's at every moment."""

from datetime import timedelta

import pytest
from django.db import connection

from closeloop.deals import lead_origin
from closeloop.deals.models import Opportunity
from closeloop.deals.services.conversion import lead_convert
from closeloop.leads.models import Lead


def kept_equals_live():
    rows = list(Opportunity.objects.values_list("pk", "lead_created_at", "lead_source_id", "lead__created_at",
                                                "lead__source_id"))
    assert rows
    assert [row for row in rows if row[1:3] != row[3:5]] == []


def test_a_deal_keeps_its_leads_origin_through_every_write(org, qualified_lead):
    lead = qualified_lead()
    deal = lead_convert(lead=lead, actor=org.owner).opportunity
    kept = Opportunity.objects.values_list("lead_created_at", "lead_source_id").get(pk=deal.pk)
    assert kept == (lead.created_at, lead.source_id)  # converted through the service

    stale = Opportunity.objects.get(pk=deal.pk)
    earlier = lead.created_at - timedelta(days=40)
    Lead.objects.filter(pk=lead.pk).update(source=org.sources["展会"], created_at=earlier)  # a bulk write
    assert Opportunity.objects.values_list("lead_created_at", "lead_source_id").get(pk=deal.pk) == (
        earlier, org.sources["展会"].pk)
    stale.name = "改名后的商机"
    stale.save()  # every column written, the origin as loaded before the lead changed
    kept_equals_live()

    other = qualified_lead(company_name="另一家公司")
    Opportunity.objects.filter(pk=deal.pk).update(lead=other)  # moved to another lead (a merge)
    assert Opportunity.objects.values_list("lead_created_at", "lead_source_id").get(pk=deal.pk) == (
        Lead.objects.get(pk=other.pk).created_at, other.source_id)
    Opportunity.objects.filter(pk=deal.pk).update(lead_source=org.sources["广告"])  # written wrong: put right
    kept_equals_live()
    Opportunity.objects.filter(pk=deal.pk).update(lead=None)
    assert Opportunity.objects.values_list("lead_created_at", "lead_source_id").get(pk=deal.pk) == (None, None)

    copy = Opportunity.objects.get(pk=deal.pk)
    copy.pk, copy.lead, copy.lead_created_at = None, lead, earlier - timedelta(days=1)
    Opportunity.objects.bulk_create([copy])
    kept_equals_live()


def test_missing_triggers_are_put_back_and_the_columns_filled_again(org, qualified_lead):
    lead = qualified_lead()
    deal = lead_convert(lead=lead, actor=org.owner).opportunity
    lead_origin.drop(connection)
    Lead.objects.filter(pk=lead.pk).update(source=org.sources["电话"])  # unseen: no trigger
    assert Opportunity.objects.get(pk=deal.pk).lead_source_id == lead.source_id
    assert lead_origin.ensure(connection) is True
    kept_equals_live()
    assert lead_origin.ensure(connection) is False  # all there: nothing done
    Lead.objects.filter(pk=lead.pk).update(source=org.sources["微信"])
    kept_equals_live()


@pytest.mark.django_db(transaction=True)
def test_a_migrate_puts_back_missing_triggers(data_migration_rows, org, make_lead):
    """post_migrate puts back triggers a rebuilt SQLite table lost (as ensure above; here through migrate)."""
    from django.core.management import call_command

    make_lead()
    lead_origin.drop(connection)
    call_command("migrate", verbosity=0)
    assert lead_origin.ensure(connection) is False  # all there again
