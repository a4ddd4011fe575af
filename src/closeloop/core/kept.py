"""Columns a table keeps from another row by the database's own triggers (a ticket's customer owner, a deal's lead
origin, a quote's current total and deal owner): whatever path writes either row — a service, a bulk update, an
import, a merge — the copy follows, so the review reads it from covering indexes instead of a join per row.

Each app declares its SQL (`KeptColumns`): SQLite's `CREATE TRIGGER IF NOT EXISTS` statements, PostgreSQL's
function and trigger pairs, and the UPDATE that fills the column from scratch. Django rebuilds SQLite tables on some
schema changes and drops their triggers with them, so `ensure` runs after every migrate (`on_post_migrate`) and from
the migration that adds the column; on PostgreSQL it also replaces the functions' bodies with the code's."""

from dataclasses import dataclass

from django.db import connection as default_connection


@dataclass(frozen=True)
class KeptColumns:
    table: str  # the table that keeps the copy
    source: str  # the table it copies from
    column: str  # one kept column of `table`: absent before the migration that adds it, then nothing is done
    sqlite: dict  # {trigger name: CREATE TRIGGER IF NOT EXISTS ...}
    postgresql: dict  # {trigger and function name: (CREATE OR REPLACE FUNCTION ..., CREATE TRIGGER ...)}
    postgresql_on: dict  # {trigger name: the table it is on}
    refill: str  # fills `table`'s kept columns from `source` for every row

    def ensure(self, connection=None) -> bool:
        """Create the triggers that are missing and, if any was, fill every row's columns again (a row written while
        a trigger was missing is not known). True if it did."""
        connection = connection or default_connection
        with connection.cursor() as cursor:
            if not {self.table, self.source} <= set(connection.introspection.table_names(cursor)):
                return False
            columns = {column.name for column in connection.introspection.get_table_description(cursor, self.table)}
            if self.column not in columns:
                return False
            if connection.vendor == "sqlite":
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                present = {row[0] for row in cursor.fetchall()}
                missing = [name for name in self.sqlite if name not in present]
            else:
                cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
                present = {row[0] for row in cursor.fetchall()}
                for function, _trigger in self.postgresql.values():
                    cursor.execute(function)  # CREATE OR REPLACE: the body as this code has it
                missing = [name for name in self.postgresql if name not in present]
            if not missing:
                return False
        # Filled with no trigger in place (a PostgreSQL trigger left alone would keep each row's value), then all made.
        self.drop(connection)
        with connection.cursor() as cursor:
            cursor.execute(self.refill)
            if connection.vendor == "sqlite":
                for sql in self.sqlite.values():
                    cursor.execute(sql)
            else:
                for statements in self.postgresql.values():
                    for sql in statements:
                        cursor.execute(sql)
        return True

    def drop(self, connection) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for name in self.sqlite:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            else:
                for name, table in self.postgresql_on.items():
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                    cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")

    def on_post_migrate(self, sender, using="default", **kwargs):
        from django.db import connections

        self.ensure(connections[using])
