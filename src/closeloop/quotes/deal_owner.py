"""Each quote keeps its deal's owner (`Quote.deal_owner`), set by the database's triggers whenever a quote is written or
its deal changes owner, whatever the path (a service, a transfer, a bulk update, an import): the review counts a
manager's line's quotes from their covering indexes (insights.dashboard.quote_to_cash) instead of reading each
quote's deal for its owner (~1 µs a quote, 30k quotes a quarter at 1M leads).

The same shape as the kept total (quotes/current_total.py) and the tickets' kept account owner: PostgreSQL sets the
column in a BEFORE trigger on every insert and on an update of the deal or of the column itself, reading the deal's
row FOR SHARE so that a transfer running at the same time waits, then updates the quote too; an AFTER trigger on the
deal's owner updates its quotes. Only an insert or a change of deal reads the deal: any other write of the quote keeps the row's value, so an
ordinary save locks nothing more (it would deadlock with a transfer waiting for the quote's row; as the tickets'
kept owner, d88227b). SQLite: the same as AFTER triggers. `ensure` runs after every migrate."""

from closeloop.core.kept import KeptColumns

SQLITE = {
    "quotes_quote_deal_owner_ai": """
        CREATE TRIGGER IF NOT EXISTS quotes_quote_deal_owner_ai AFTER INSERT ON quotes_quote BEGIN
            UPDATE quotes_quote SET deal_owner_id = (SELECT owner_id FROM deals_opportunity
                                                     WHERE id = new.opportunity_id)
            WHERE id = new.id;
        END""",
    "quotes_quote_deal_owner_au": """
        CREATE TRIGGER IF NOT EXISTS quotes_quote_deal_owner_au AFTER UPDATE OF opportunity_id, deal_owner_id
        ON quotes_quote
        WHEN new.deal_owner_id IS NOT (SELECT owner_id FROM deals_opportunity WHERE id = new.opportunity_id) BEGIN
            UPDATE quotes_quote SET deal_owner_id = (SELECT owner_id FROM deals_opportunity
                                                     WHERE id = new.opportunity_id)
            WHERE id = new.id;
        END""",
    "deals_opportunity_quote_owner_au": """
        CREATE TRIGGER IF NOT EXISTS deals_opportunity_quote_owner_au AFTER UPDATE OF owner_id ON deals_opportunity
        WHEN old.owner_id IS NOT new.owner_id BEGIN
            UPDATE quotes_quote SET deal_owner_id = new.owner_id WHERE opportunity_id = new.id;
        END""",
}

POSTGRESQL = {
    "quotes_quote_deal_owner": [
        """CREATE OR REPLACE FUNCTION quotes_quote_deal_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.opportunity_id IS DISTINCT FROM OLD.opportunity_id THEN
                NEW.deal_owner_id := (SELECT owner_id FROM deals_opportunity
                                      WHERE id = NEW.opportunity_id FOR SHARE);
            ELSIF pg_trigger_depth() = 1 THEN  -- a write of the quote itself; deeper, the source's trigger
                NEW.deal_owner_id := OLD.deal_owner_id;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER quotes_quote_deal_owner BEFORE INSERT OR UPDATE OF opportunity_id, deal_owner_id
        ON quotes_quote FOR EACH ROW EXECUTE FUNCTION quotes_quote_deal_owner()"""],
    "deals_opportunity_quote_owner": [
        """CREATE OR REPLACE FUNCTION deals_opportunity_quote_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE quotes_quote SET deal_owner_id = NEW.owner_id WHERE opportunity_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER deals_opportunity_quote_owner AFTER UPDATE OF owner_id ON deals_opportunity FOR EACH ROW
        WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION deals_opportunity_quote_owner()"""],
}

REFILL = ("UPDATE quotes_quote SET deal_owner_id = (SELECT owner_id FROM deals_opportunity "
          "WHERE deals_opportunity.id = quotes_quote.opportunity_id)")


KEPT = KeptColumns(table="quotes_quote", source="deals_opportunity", column="deal_owner_id", sqlite=SQLITE, postgresql=POSTGRESQL,
                   postgresql_on={"quotes_quote_deal_owner": "quotes_quote", "deals_opportunity_quote_owner": "deals_opportunity"},
                   refill=REFILL)
ensure, drop, on_post_migrate = KEPT.ensure, KEPT.drop, KEPT.on_post_migrate
