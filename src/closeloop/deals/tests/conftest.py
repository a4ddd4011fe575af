"""Deal fixtures on top of the root conftest (org, make_lead, make_customer, make_deal)."""

import pytest

from closeloop.core.models import Channel
from closeloop.core.services import api_token_create
from closeloop.deals.models import Pipeline, Stage
from closeloop.leads.models import LeadStatus
from closeloop.leads.services import lead_update


@pytest.fixture
def pipeline(db):
    return Pipeline.default()


@pytest.fixture
def stages(pipeline):
    """The default pipeline's stages by name (from the data migration)."""
    return {stage.name: stage for stage in Stage.objects.filter(pipeline=pipeline)}


@pytest.fixture
def qualified_lead(make_lead, org):
    def make(owner=None, **fields):
        lead = make_lead(owner=owner, need="30人销售团队需要CRM", budget="200000", timeline="3个月内", **fields)
        return lead_update(lead=lead, data={"status": LeadStatus.QUALIFIED}, actor=org.admin, channel=Channel.WEB)

    return make


@pytest.fixture
def api_auth(org):
    def auth(user):
        raw, _token = api_token_create(user=user, name="t", actor=None)
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return auth


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read English messages; the zh-hans catalogue would otherwise translate them.
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
