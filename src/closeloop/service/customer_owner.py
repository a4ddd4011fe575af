"""Each ticket keeps its customer's owner (`Ticket.customer_owner`), set by the database's triggers whenever a ticket
is written or its customer changes owner, whatever the path (a service, a bulk update, an import, a merge moving
tickets): the review reads "tickets of the line's customers" from the tickets' covering indexes instead of looking up
each ticket's customer (insights.dashboard.tickets_in).

PostgreSQL: a BEFORE trigger sets the column from the customer on an insert and on a change of customer, reading the
customer's row FOR SHARE so that a reassignment running at the same time waits for the ticket's transaction, then
updates the ticket too; any other write of the ticket keeps the row's value (a save writes every column, from a
value loaded earlier), only the customer's trigger sets it, so a ticket's ordinary save locks nothing more (a save
locking the customer while a transfer waits for the ticket's row would deadlock); an AFTER trigger on the customer's
owner updates its tickets. The functions are replaced on every migrate.
SQLite (one writer at a time): the same as AFTER triggers.
Django rebuilds SQLite tables on some schema changes, dropping their triggers: `ensure` runs after every migrate
(`post_migrate`), puts back what is missing and then fills the column again from the customers."""

from closeloop.core.kept import KeptColumns

SQLITE = {
    "service_ticket_customer_owner_ai": """
        CREATE TRIGGER IF NOT EXISTS service_ticket_customer_owner_ai AFTER INSERT ON service_ticket BEGIN
            UPDATE service_ticket SET customer_owner_id = (SELECT owner_id FROM deals_customer
                                                           WHERE id = new.customer_id)
            WHERE id = new.id;
        END""",
    "service_ticket_customer_owner_au": """
        CREATE TRIGGER IF NOT EXISTS service_ticket_customer_owner_au
        AFTER UPDATE OF customer_id, customer_owner_id ON service_ticket
        WHEN new.customer_owner_id IS NOT (SELECT owner_id FROM deals_customer WHERE id = new.customer_id) BEGIN
            UPDATE service_ticket SET customer_owner_id = (SELECT owner_id FROM deals_customer
                                                           WHERE id = new.customer_id)
            WHERE id = new.id;
        END""",
    "deals_customer_ticket_owner_au": """
        CREATE TRIGGER IF NOT EXISTS deals_customer_ticket_owner_au AFTER UPDATE OF owner_id ON deals_customer
        WHEN old.owner_id IS NOT new.owner_id BEGIN
            UPDATE service_ticket SET customer_owner_id = new.owner_id WHERE customer_id = new.id;
        END""",
}

POSTGRESQL = {
    "service_ticket_customer_owner": [
        """CREATE OR REPLACE FUNCTION service_ticket_customer_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
                NEW.customer_owner_id := (SELECT owner_id FROM deals_customer WHERE id = NEW.customer_id FOR SHARE);
            ELSIF pg_trigger_depth() = 1 THEN  -- a write of the ticket itself; deeper, the customer's trigger
                NEW.customer_owner_id := OLD.customer_owner_id;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER service_ticket_customer_owner BEFORE INSERT OR UPDATE OF customer_id, customer_owner_id
        ON service_ticket FOR EACH ROW EXECUTE FUNCTION service_ticket_customer_owner()"""],
    "deals_customer_ticket_owner": [
        """CREATE OR REPLACE FUNCTION deals_customer_ticket_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE service_ticket SET customer_owner_id = NEW.owner_id WHERE customer_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER deals_customer_ticket_owner AFTER UPDATE OF owner_id ON deals_customer FOR EACH ROW
        WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION deals_customer_ticket_owner()"""],
}

REFILL = ("UPDATE service_ticket SET customer_owner_id = (SELECT owner_id FROM deals_customer "
          "WHERE deals_customer.id = service_ticket.customer_id)")


KEPT = KeptColumns(table="service_ticket", source="deals_customer", column="customer_owner_id", sqlite=SQLITE, postgresql=POSTGRESQL,
                   postgresql_on={"service_ticket_customer_owner": "service_ticket", "deals_customer_ticket_owner": "deals_customer"},
                   refill=REFILL)
ensure, drop, on_post_migrate = KEPT.ensure, KEPT.drop, KEPT.on_post_migrate
