"""The configuration cache: a write in this process shows at once, another process's within the TTL."""

from closeloop.core import configcache
from closeloop.leads.models import ChannelPolicy
from closeloop.leads.services.intake import channel_policy


def test_a_saved_row_drops_the_entry_at_once(db):
    assert channel_policy("api").required_fields == ["company_name", "contact_name"]
    ChannelPolicy.objects.create(channel="api", required_fields=["mobile"])
    assert channel_policy("api").required_fields == ["mobile"]


def test_a_change_no_signal_announces_waits_for_the_ttl(db, settings):
    # A queryset update sends no signal, exactly like a change committed by another server process.
    ChannelPolicy.objects.create(channel="api", required_fields=["mobile"])
    assert channel_policy("api").required_fields == ["mobile"]
    ChannelPolicy.objects.filter(channel="api").update(required_fields=["email"])
    assert channel_policy("api").required_fields == ["mobile"]  # still within the TTL
    settings.CLOSELOOP_CONFIG_CACHE_SECONDS = 0
    configcache.clear("leads.policy.api")  # the entry stored under the old TTL
    assert channel_policy("api").required_fields == ["email"]
    ChannelPolicy.objects.filter(channel="api").update(required_fields=["wechat"])
    assert channel_policy("api").required_fields == ["wechat"]  # expired at once with a TTL of 0


def test_a_deleted_row_drops_the_entry(db):
    policy = ChannelPolicy.objects.create(channel="api", required_fields=["mobile"])
    assert channel_policy("api").required_fields == ["mobile"]
    policy.delete()
    assert channel_policy("api").required_fields == ["company_name", "contact_name"]
