"""Deal fixtures on top of the root conftest (org, make_lead, qualified_lead, make_customer, make_deal, stages)."""

import pytest

from closeloop.core.services import api_token_create


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
