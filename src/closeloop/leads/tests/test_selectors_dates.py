"""The created-date filter of the lead list: whole local days, on an indexable range."""

from datetime import datetime
from zoneinfo import ZoneInfo

from closeloop.leads.models import Lead
from closeloop.leads.selectors import LeadFilters, lead_list

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(lead, *args):
    Lead.objects.filter(pk=lead.pk).update(created_at=datetime(*args, tzinfo=SHANGHAI))


def test_it_keeps_whole_local_days(org, make_lead):
    before, first, last, after = (make_lead() for _ in range(4))
    _at(before, 2026, 3, 31, 23, 59)
    _at(first, 2026, 4, 1, 0, 0)
    _at(last, 2026, 4, 30, 23, 59, 59)
    _at(after, 2026, 5, 1, 0, 0)

    found = lead_list(user=org.admin, filters=LeadFilters(created_from="2026-04-01", created_to="2026-04-30"))

    assert set(found) == {first, last}


def test_it_ignores_a_date_that_is_not_a_date(org, make_lead):
    lead = make_lead()

    found = lead_list(user=org.admin, filters=LeadFilters(created_from="yesterday", created_to="2026-13-45"))

    assert list(found) == [lead]


def test_it_keeps_visibility_with_dates(org, make_lead):
    mine = make_lead(owner=org.owner)
    make_lead(owner=org.outsider)

    found = lead_list(user=org.owner, filters=LeadFilters(created_from="2000-01-01"))

    assert list(found) == [mine]
