from decimal import Decimal

import pytest

from closeloop.core.errors import Forbidden, ValidationFailed
from closeloop.core.models import AuditEntry, Channel
from closeloop.leads.models import ChannelPolicy, Lead, LeadStatus
from closeloop.leads.services.editing import lead_assign, lead_update
from closeloop.leads.services.intake import lead_submit


def test_it_normalizes_and_audits_a_new_lead(org):
    result = lead_submit(
        data={"company_name": " 上海华信科技有限公司 ", "contact_name": "王伟", "mobile": "＋86 138-0013-8000",
              "email": " Wang@Example.COM ", "budget": "¥50,000", "source": "展会"},
        channel=Channel.WEB, actor=org.owner,
    )
    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.mobile_key == "+8613800138000"
    assert lead.email == "wang@example.com"
    assert lead.budget == Decimal("50000.00")
    assert lead.owner == org.owner and lead.status == LeadStatus.ASSIGNED
    entry = AuditEntry.objects.for_object(lead).get()
    assert entry.action == "lead.create" and entry.channel == Channel.WEB and entry.actor == org.owner
    assert entry.changes["company_name"] == [None, "上海华信科技有限公司"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("mobile", "12345"), ("email", "not-an-email"), ("budget", "lots"), ("budget", "-5"),
     ("credit_code", "91310000MA1FL8XQ3A"), ("company_name", "x" * 201)],
)
def test_it_refuses_bad_values_with_the_field_named(org, field, value):
    data = {"company_name": "某公司", "contact_name": "张三", "mobile": "13800138000", "source": "官网", field: value}
    with pytest.raises(ValidationFailed) as excinfo:
        lead_submit(data=data, channel=Channel.API, actor=org.admin)
    assert field in excinfo.value.field_errors
    assert not Lead.objects.exists()
    assert not AuditEntry.objects.filter(action="lead.create").exists()


def test_it_accepts_a_valid_credit_code(org):
    lead = lead_submit(data={"company_name": "某公司", "contact_name": "张三", "mobile": "13800138000",
                             "source": "官网", "credit_code": "91350100M000100Y43"},
                       channel=Channel.API, actor=org.admin).lead
    assert lead.credit_code == "91350100M000100Y43"


def test_it_requires_a_way_to_reach_the_contact(org):
    with pytest.raises(ValidationFailed) as excinfo:
        lead_submit(data={"company_name": "某公司", "contact_name": "张三", "source": "官网"},
                    channel=Channel.API, actor=org.admin)
    assert "mobile" in excinfo.value.field_errors


def test_it_applies_the_channel_policy(org):
    ChannelPolicy.objects.create(channel=Channel.FORM, required_fields=["email", "city"])
    with pytest.raises(ValidationFailed) as excinfo:
        lead_submit(data={"contact_name": "张三", "mobile": "13800138000", "source": "官网"},
                    channel=Channel.FORM, actor=None)
    assert set(excinfo.value.field_errors) == {"email", "city"}
    # The other channels keep their own rules.
    lead_submit(data={"company_name": "甲", "contact_name": "张三", "mobile": "13800138000", "source": "官网"},
                channel=Channel.API, actor=org.admin)


def test_it_refuses_an_unknown_source(org):
    with pytest.raises(ValidationFailed) as excinfo:
        lead_submit(data={"company_name": "甲", "contact_name": "张三", "mobile": "13800138000", "source": "不存在"},
                    channel=Channel.API, actor=org.admin)
    assert "source" in excinfo.value.field_errors


def test_update_records_every_changed_field(org, make_lead):
    lead = make_lead()
    lead_update(lead=lead, data={"city": "杭州", "budget": "1000"}, actor=org.owner, channel=Channel.WEB)
    entry = AuditEntry.objects.for_object(lead).filter(action="lead.update").get()
    assert entry.changes == {"city": ["", "杭州"], "budget": [None, "1000.00"]}


def test_only_managers_assign(org, make_lead):
    lead = make_lead()
    with pytest.raises(Forbidden):
        lead_assign(lead=lead, owner=org.teammate, actor=org.owner)
    lead_assign(lead=lead, owner=org.teammate, actor=org.manager, reason="balance load")
    lead.refresh_from_db()
    assert lead.owner == org.teammate
    entry = AuditEntry.objects.for_object(lead).filter(action="lead.assign").first()
    assert entry.note == "balance load" and entry.actor == org.manager


def test_a_manager_assigns_only_leads_of_their_own_team(org, make_lead):
    """Assigning is managing the lead: another team's manager may not take a lead from its owner."""
    lead = make_lead(owner=org.owner)
    # Said as the manager's say over the owner it is, not as a matter of who works on the lead.
    with pytest.raises(Forbidden, match="Only a manager of the owner"):
        lead_assign(lead=lead, owner=org.outsider, actor=org.other_manager)
    lead.refresh_from_db()
    assert lead.owner == org.owner
    Lead.objects.filter(pk=lead.pk).update(owner=None)  # nobody's (the pool): any manager distributes it
    lead_assign(lead=lead, owner=org.outsider, actor=org.other_manager)


def test_audit_entries_cannot_be_changed(org, make_lead):
    make_lead()
    entry = AuditEntry.objects.first()
    entry.note = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(note="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    ("budget", "landline", "amount", "extension"),
    [("5万", "021-62345678转123", "50000.00", "123"), ("50万元", "021-62345678-123", "500000.00", "123"),
     ("五万", "021-62345678 分机 123", "50000.00", "123"), ("1.2亿", "0755-8888 6666 ext. 8012", "120000000.00", "8012")],
)
def test_it_takes_chinese_amounts_and_extensions_as_people_write_them(org, budget, landline, amount, extension):
    from closeloop.leads.normalize import phone_parts

    lead = lead_submit(data={"company_name": "某公司", "contact_name": "张三", "landline": landline, "budget": budget,
                             "source": "官网"}, channel=Channel.WEB, actor=org.owner).lead
    lead.refresh_from_db()
    assert lead.budget == Decimal(amount)
    assert lead.landline_key.startswith("+86") and phone_parts(lead.landline)[1] == extension
