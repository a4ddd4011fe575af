"""`Lead.match_key`: the duplicate engine's comparison fields stored with a lead, read back instead of computed.

What is read back must be exactly what the engine computes from the lead's other columns, for every kind
of value intake accepts; a lead without one (written before the column, or under another version) is
matched the same, only computed; the sweep fills them in; an edit rewrites it.
"""

import random

import pytest

from closeloop.core.errors import ValidationFailed
from closeloop.core.models import AuditEntry, Channel
from closeloop.leads import dedup, gendata
from closeloop.leads.dedup import (
    MATCH_KEY_VERSION,
    _computed_entry,
    _entry,
    entry_for_lead,
    find_matches,
    make_entry,
)
from closeloop.leads.models import ChannelPolicy, Lead
from closeloop.leads.services.editing import lead_update
from closeloop.leads.services.intake import clean_submission, lead_submit

ENTRY_FIELDS = {"company_name", "contact_name", "mobile", "landline", "email", "city", "credit_code"}
POLICY = ChannelPolicy(channel=Channel.IMPORT, required_fields=[], require_contact_method=False)

# Values that take the engine's less common paths: a landline in the mobile column, an extension, a title
# for a name, a credit code, traditional characters, a bare brand, no company at all.
EDGE_CASES = [
    {"company_name": "杭州普腾康汇食品有限公司", "contact_name": "王总", "mobile": "021-62345678"},
    {"company_name": "普騰康匯（杭州）股份有限公司", "contact_name": "Wang Wei", "landline": "021-62345678转123"},
    {"company_name": "上海轮询测试1号科技有限公司", "contact_name": "李强", "landline": "(0755) 8888 6666-88"},
    {"company_name": "深圳市华为技术有限公司", "credit_code": "914403001922038216", "email": "WW@Huawei.COM"},
    {"company_name": "北京某某一分公司", "contact_name": "王总", "email": "x@qq.com"},
    {"company_name": "普腾", "contact_name": "经理", "mobile": "+86 139 1234 5678"},
    {"contact_name": "张三", "email": "zhang@example.cn", "city": "上海"},
    {"company_name": "ＡＢＣ（上海）贸易有限公司", "contact_name": "赵 六", "mobile": "１３９１２３４５６７８"},
]


def _generated_rows(count: int) -> list[dict]:
    """The data generator's people and their rewrites, those intake accepts (a rewrite may break a phone)."""
    rng = random.Random(16)
    rows: list[dict] = []
    while len(rows) < count:
        row = gendata._variant(rng, rng.choice(rows)) if rows and rng.random() < 0.4 else gendata._original(rng)
        try:
            clean_submission(row, channel=Channel.IMPORT, policy=POLICY)
        except ValidationFailed:
            continue
        rows.append(row)
    return rows


def _stored_values(cleaned: dict) -> tuple:
    return tuple(cleaned.get(name, "") for name in ("company_name", "contact_name", "mobile_key", "landline_key",
                                                    "email_key", "city", "credit_code", "landline"))


def test_it_reads_back_exactly_what_the_engine_computes():
    checked = 0
    for data in EDGE_CASES + _generated_rows(600):
        cleaned = clean_submission(data, channel=Channel.IMPORT, policy=POLICY)
        stored = cleaned["match_key"]
        assert stored.startswith(MATCH_KEY_VERSION + "\x1f")
        values = _stored_values(cleaned)
        assert _entry(7, *values, stored) == _computed_entry(7, *values), data
        checked += 1
    assert checked == 608


def test_a_key_of_another_version_or_none_is_computed():
    cleaned = clean_submission(EDGE_CASES[0], channel=Channel.IMPORT, policy=POLICY)
    values = _stored_values(cleaned)
    wrong = "0" + cleaned["match_key"][1:].replace("普腾康汇", "别的名字")
    assert _entry(3, *values, wrong) == _computed_entry(3, *values)
    assert _entry(3, *values, "") == _computed_entry(3, *values)


def test_leads_without_a_match_key_are_matched_the_same_and_the_sweep_fills_them(org):
    rows = _generated_rows(60)
    for data in rows:
        lead_submit(data={**data, "source": "官网"}, channel=Channel.API, actor=org.admin)
    stored = dict(Lead.objects.values_list("pk", "match_key"))
    assert all(value.startswith(MATCH_KEY_VERSION) for value in stored.values())
    # Probes: each row rewritten (the same person), and someone else at its company.
    rng = random.Random(61)
    probes = [make_entry(None, **{k: v for k, v in gendata._variant(rng, row).items() if k in ENTRY_FIELDS})
              for row in rows[:30]]
    probes += [make_entry(None, company_name=row["company_name"], contact_name="新来的") for row in rows[30:]]

    def matches():
        return [[(m.lead.pk, m.match) for m in find_matches(probe)] for probe in probes]

    before = matches()
    assert sum(1 for found in before if found) > 40

    Lead.objects.update(match_key="")
    assert matches() == before

    assert dedup.refresh_match_keys(batch=7) == len(stored)
    assert dict(Lead.objects.values_list("pk", "match_key")) == stored
    assert dedup.refresh_match_keys() == 0  # nothing left: safe to run again


def test_the_sweep_writes_no_key_over_an_edit_made_since_it_read(org, make_lead, monkeypatch):
    lead = make_lead(company_name="杭州普腾康汇食品有限公司")
    Lead.objects.filter(pk=lead.pk).update(match_key="")
    real = dedup.match_key

    def edited_meanwhile(*values):
        Lead.objects.filter(pk=lead.pk).update(company_name="宁波达云贸易有限公司")
        return real(*values)

    monkeypatch.setattr(dedup, "match_key", edited_meanwhile)
    dedup.refresh_match_keys()
    assert Lead.objects.get(pk=lead.pk).match_key == ""  # left for the next run, not written from old values


@pytest.mark.parametrize("field, value", [("company_name", "宁波达云贸易有限公司"), ("contact_name", "李总"),
                                          ("landline", "0574-87654321转9")])
def test_an_edit_rewrites_the_match_key(org, make_lead, field, value):
    lead = make_lead(company_name="杭州普腾康汇食品有限公司", contact_name="王伟")
    before = lead.match_key
    lead_update(lead=lead, data={field: value}, actor=org.admin, channel=Channel.WEB)
    lead.refresh_from_db()
    assert lead.match_key != before
    # Derived data: saved with the edit, but the audit shows the field people changed, not it.
    for entry in AuditEntry.objects.for_object(lead):
        assert "match_key" not in entry.changes
    assert field in AuditEntry.objects.for_object(lead).get(action="lead.update").changes
    assert entry_for_lead(lead) == _computed_entry(lead.pk, *_stored_values(vars(lead)))
