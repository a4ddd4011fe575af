"""Each deal keeps when its lead came in and from which source (`Opportunity.lead_created_at`, `lead_source`), set by
the database's triggers whenever a deal is written or its lead's creation time or source changes, whatever the path
(a conversion, a bulk update, an import, a merge): the review reads "the won deals of the period's leads" from one
index (insights.dashboard.lead_sources) instead of looking for a deal of each of the period's leads.

PostgreSQL: a BEFORE trigger sets the columns from the lead on an insert and on a change of lead, reading the lead's
row FOR SHARE so a change of it running at the same time waits for the deal's transaction, then updates the deal
too; any other write of the deal keeps the row's values (a save writes every column, from values loaded earlier),
only the lead's trigger sets them, so a deal's ordinary save locks nothing more (a save locking the lead while a
change of the lead waits for the deal's row would deadlock); an AFTER trigger on the lead's creation time and source
updates its deals. The functions are replaced on every migrate.
SQLite (one writer at a time): the same as AFTER triggers.
Django rebuilds SQLite tables on some schema changes, dropping their triggers: `ensure` runs after every migrate
(`post_migrate`), puts back what is missing and then fills the columns again from the leads."""

from closeloop.core.kept import KeptColumns

SQLITE = {
    "deals_opportunity_lead_origin_ai": """
        CREATE TRIGGER IF NOT EXISTS deals_opportunity_lead_origin_ai AFTER INSERT ON deals_opportunity
        WHEN new.lead_id IS NOT NULL OR new.lead_created_at IS NOT NULL OR new.lead_source_id IS NOT NULL BEGIN
            UPDATE deals_opportunity
            SET lead_created_at = (SELECT created_at FROM leads_lead WHERE id = new.lead_id),
                lead_source_id = (SELECT source_id FROM leads_lead WHERE id = new.lead_id)
            WHERE id = new.id;
        END""",
    "deals_opportunity_lead_origin_au": """
        CREATE TRIGGER IF NOT EXISTS deals_opportunity_lead_origin_au
        AFTER UPDATE OF lead_id, lead_created_at, lead_source_id ON deals_opportunity
        WHEN new.lead_created_at IS NOT (SELECT created_at FROM leads_lead WHERE id = new.lead_id)
        OR new.lead_source_id IS NOT (SELECT source_id FROM leads_lead WHERE id = new.lead_id) BEGIN
            UPDATE deals_opportunity
            SET lead_created_at = (SELECT created_at FROM leads_lead WHERE id = new.lead_id),
                lead_source_id = (SELECT source_id FROM leads_lead WHERE id = new.lead_id)
            WHERE id = new.id;
        END""",
    "leads_lead_deal_origin_au": """
        CREATE TRIGGER IF NOT EXISTS leads_lead_deal_origin_au AFTER UPDATE OF created_at, source_id ON leads_lead
        WHEN old.created_at IS NOT new.created_at OR old.source_id IS NOT new.source_id BEGIN
            UPDATE deals_opportunity SET lead_created_at = new.created_at, lead_source_id = new.source_id
            WHERE lead_id = new.id;
        END""",
}

POSTGRESQL = {
    "deals_opportunity_lead_origin": [
        """CREATE OR REPLACE FUNCTION deals_opportunity_lead_origin() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.lead_id IS NOT DISTINCT FROM OLD.lead_id THEN
                IF pg_trigger_depth() = 1 THEN  -- a write of the deal itself; deeper, the lead's trigger
                    NEW.lead_created_at := OLD.lead_created_at;
                    NEW.lead_source_id := OLD.lead_source_id;
                END IF;
            ELSIF NEW.lead_id IS NULL THEN
                NEW.lead_created_at := NULL;
                NEW.lead_source_id := NULL;
            ELSE
                SELECT created_at, source_id INTO NEW.lead_created_at, NEW.lead_source_id FROM leads_lead
                WHERE id = NEW.lead_id FOR SHARE;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER deals_opportunity_lead_origin BEFORE INSERT
        OR UPDATE OF lead_id, lead_created_at, lead_source_id ON deals_opportunity
        FOR EACH ROW EXECUTE FUNCTION deals_opportunity_lead_origin()"""],
    "leads_lead_deal_origin": [
        """CREATE OR REPLACE FUNCTION leads_lead_deal_origin() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE deals_opportunity SET lead_created_at = NEW.created_at, lead_source_id = NEW.source_id
            WHERE lead_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER leads_lead_deal_origin AFTER UPDATE OF created_at, source_id ON leads_lead FOR EACH ROW
        WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.source_id IS DISTINCT FROM NEW.source_id)
        EXECUTE FUNCTION leads_lead_deal_origin()"""],
}

REFILL = ("UPDATE deals_opportunity SET "
          "lead_created_at = (SELECT created_at FROM leads_lead WHERE leads_lead.id = deals_opportunity.lead_id), "
          "lead_source_id = (SELECT source_id FROM leads_lead WHERE leads_lead.id = deals_opportunity.lead_id)")


KEPT = KeptColumns(table="deals_opportunity", source="leads_lead", column="lead_created_at", sqlite=SQLITE, postgresql=POSTGRESQL,
                   postgresql_on={"deals_opportunity_lead_origin": "deals_opportunity", "leads_lead_deal_origin": "leads_lead"},
                   refill=REFILL)
ensure, drop, on_post_migrate = KEPT.ensure, KEPT.drop, KEPT.on_post_migrate
