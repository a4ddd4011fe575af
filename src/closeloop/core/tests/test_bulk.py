"""`core.bulk.executemany_insert` and `core.fastsql.insert` build their INSERT in one place and write the rows
the ORM writes."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from closeloop.core import fastsql
from closeloop.core.bulk import executemany_insert
from closeloop.core.models import AuditEntry, User

pytestmark = pytest.mark.django_db

COLUMNS = ("created_at", "actor_id", "channel", "action", "target_type_id", "target_id", "target_repr", "changes",
           "note")


def _values(**extra) -> dict:
    return {"created_at": datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
            "actor_id": User.objects.create_user("bulk", "bulk@example.com", "x").pk, "channel": "web",
            "action": "lead.create", "target_type_id": ContentType.objects.get_for_model(User).pk,
            "target_id": "7", "target_repr": "上海某某科技 · 张三", "changes": {"名称": [None, "上海"], "n": [1, 2.5]},
            "note": "", **extra}


def test_one_insert_builder():
    fields = [AuditEntry._meta.get_field(name) for name in ("channel", "note")]
    quote = connection.ops.quote_name
    assert fastsql.insert_sql(AuditEntry, fields) == (
        f"INSERT INTO {quote(AuditEntry._meta.db_table)} ({quote('channel')}, {quote('note')}) VALUES (%s, %s)")  # noqa: S608
    assert fastsql.insert_sql(AuditEntry, fields, returning_pk=True).endswith(f"(%s, %s) RETURNING {quote('id')}")


def test_executemany_insert_fastsql_insert_and_the_orm_write_the_same_row():
    values = _values()
    orm = AuditEntry.objects.create(**values)
    fast = fastsql.insert(AuditEntry(**values))
    executemany_insert(AuditEntry, [values, {**values, "note": "second"}], with_pk=False)
    rows = list(AuditEntry.objects.order_by("id").values_list("id", *COLUMNS))
    assert [row[0] for row in rows[:2]] == [orm.pk, fast.pk] and len(rows) == 4
    assert rows[0][1:] == rows[1][1:] == rows[2][1:] == rows[3][1:-1] + ("",)
    assert rows[3][-1] == "second" and rows[0][1] == values["created_at"]
