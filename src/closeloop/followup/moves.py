"""Helpers for the migrations that moved rows from the apps' own tables into the follow-up family's.

Rows are copied with INSERT … SELECT (fast on millions of rows, no Python per row) under their old
primary keys, so links that name them (`#comment-12` in a notification, "touch #34" in an audit note)
still point at them; PostgreSQL's id sequence is then moved past the copied ids.
"""


def content_type_id(apps, schema_editor, app_label: str, model: str) -> int:
    """The content type's id, created if the database has never seen the model (a fresh install)."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type, _created = ContentType.objects.db_manager(schema_editor.connection.alias).get_or_create(
        app_label=app_label, model=model)
    return content_type.pk


def scalar(schema_editor, sql: str, params=()):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def copy_rows(schema_editor, sql: str, params=()) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params)


def reset_id_sequence(schema_editor, table: str) -> None:
    """After inserting explicit ids: PostgreSQL's sequence continues after the highest one (SQLite's
    AUTOINCREMENT counter follows inserted ids by itself)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quoted = schema_editor.quote_name(table)
    copy_rows(schema_editor, f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1), "  # noqa: S608
                             f"MAX(id) IS NOT NULL) FROM {quoted}", [table])


def refuse_if(schema_editor, sql: str, message: str) -> None:
    """Stop the migration, changing nothing, when rows exist that it could not move without losing a link."""
    if count := scalar(schema_editor, sql):
        raise RuntimeError(f"{count} {message}")
