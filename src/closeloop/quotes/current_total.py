"""Each quote keeps its current version's total (`Quote.current_total`), set by the database's triggers whenever a
quote is written or a version's total changes, whatever the path (a service, a bulk update, an import): the review
sums the period's quotes from their covering indexes (insights.dashboard.quote_to_cash) instead of reading each
quote's current version (~1 µs a quote, 30k quotes a quarter at 1M leads).

PostgreSQL: a BEFORE trigger sets the column from the version on every insert and on an update of the current version
or of the column itself (a save writes every column, from a value loaded earlier), reading the version's row FOR SHARE
so that a change of its total running at the same time waits for the quote's transaction, then updates the quote too;
an AFTER trigger on a version's total updates the quotes whose current version it is. Only an insert or a change of version (deal) reads the source row: any other write of the quote keeps the
row's value, so an ordinary save locks nothing more (it would deadlock with a transfer waiting for the quote's row;
as the tickets' kept owner, d88227b). SQLite (one writer at a time):
the same as AFTER triggers. Django rebuilds SQLite tables on some schema changes, dropping their triggers: `ensure`
runs after every migrate (`post_migrate`), puts back what is missing and then fills the column again."""

from closeloop.core.kept import KeptColumns

SQLITE = {
    "quotes_quote_current_total_ai": """
        CREATE TRIGGER IF NOT EXISTS quotes_quote_current_total_ai AFTER INSERT ON quotes_quote BEGIN
            UPDATE quotes_quote SET current_total = (SELECT total_incl_tax FROM quotes_quoteversion
                                                     WHERE id = new.current_version_id)
            WHERE id = new.id;
        END""",
    "quotes_quote_current_total_au": """
        CREATE TRIGGER IF NOT EXISTS quotes_quote_current_total_au
        AFTER UPDATE OF current_version_id, current_total ON quotes_quote
        WHEN new.current_total IS NOT (SELECT total_incl_tax FROM quotes_quoteversion
                                       WHERE id = new.current_version_id) BEGIN
            UPDATE quotes_quote SET current_total = (SELECT total_incl_tax FROM quotes_quoteversion
                                                     WHERE id = new.current_version_id)
            WHERE id = new.id;
        END""",
    "quotes_quoteversion_current_total_au": """
        CREATE TRIGGER IF NOT EXISTS quotes_quoteversion_current_total_au
        AFTER UPDATE OF total_incl_tax ON quotes_quoteversion
        WHEN old.total_incl_tax IS NOT new.total_incl_tax BEGIN
            UPDATE quotes_quote SET current_total = new.total_incl_tax WHERE current_version_id = new.id;
        END""",
}

POSTGRESQL = {
    "quotes_quote_current_total": [
        """CREATE OR REPLACE FUNCTION quotes_quote_current_total() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.current_version_id IS DISTINCT FROM OLD.current_version_id THEN
                NEW.current_total := (SELECT total_incl_tax FROM quotes_quoteversion
                                      WHERE id = NEW.current_version_id FOR SHARE);
            ELSIF pg_trigger_depth() = 1 THEN  -- a write of the quote itself; deeper, the source's trigger
                NEW.current_total := OLD.current_total;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER quotes_quote_current_total BEFORE INSERT OR UPDATE OF current_version_id, current_total
        ON quotes_quote FOR EACH ROW EXECUTE FUNCTION quotes_quote_current_total()"""],
    "quotes_quoteversion_current_total": [
        """CREATE OR REPLACE FUNCTION quotes_quoteversion_current_total() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE quotes_quote SET current_total = NEW.total_incl_tax WHERE current_version_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER quotes_quoteversion_current_total AFTER UPDATE OF total_incl_tax ON quotes_quoteversion
        FOR EACH ROW WHEN (OLD.total_incl_tax IS DISTINCT FROM NEW.total_incl_tax)
        EXECUTE FUNCTION quotes_quoteversion_current_total()"""],
}

REFILL = ("UPDATE quotes_quote SET current_total = (SELECT total_incl_tax FROM quotes_quoteversion "
          "WHERE quotes_quoteversion.id = quotes_quote.current_version_id)")


KEPT = KeptColumns(table="quotes_quote", source="quotes_quoteversion", column="current_total", sqlite=SQLITE, postgresql=POSTGRESQL,
                   postgresql_on={"quotes_quote_current_total": "quotes_quote", "quotes_quoteversion_current_total": "quotes_quoteversion"},
                   refill=REFILL)
ensure, drop, on_post_migrate = KEPT.ensure, KEPT.drop, KEPT.on_post_migrate
