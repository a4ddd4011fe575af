"""Each ticket keeps its customer's owner (service.customer_owner), whatever writes the ticket or the customer: the
review counts "tickets of the line's customers" from it, so it must equal the customer's owner at every moment."""

import pytest
from django.db import connection

from closeloop.deals.models import Customer
from closeloop.deals.services.customers import customer_transfer
from closeloop.service import customer_owner
from closeloop.service.models import Ticket


def kept_equals_live():
    """Every ticket's kept owner is its customer's owner now (both None for a pooled customer)."""
    rows = list(Ticket.objects.values_list("pk", "customer_owner_id", "customer__owner_id"))
    assert rows
    assert [(pk, kept) for pk, kept, live in rows if kept != live] == []


def test_a_ticket_keeps_its_customers_owner_through_every_write(org, make_customer, make_ticket):
    first, second = make_customer(owner=org.owner), make_customer(owner=org.teammate)
    ticket = make_ticket(customer=first)
    other = make_ticket(customer=second, actor=org.teammate)
    assert Ticket.objects.get(pk=ticket.pk).customer_owner_id == org.owner.pk  # raised through the service
    kept_equals_live()

    stale = Ticket.objects.get(pk=ticket.pk)
    customer_transfer(customer=first, new_owner=org.outsider, actor=org.admin, reason="离职交接")
    assert Ticket.objects.get(pk=ticket.pk).customer_owner_id == org.outsider.pk
    stale.title = "仍然报错"
    stale.save()  # every column written, the kept owner as loaded before the transfer
    assert Ticket.objects.get(pk=ticket.pk).customer_owner_id == org.outsider.pk
    kept_equals_live()

    Customer.objects.filter(pk=second.pk).update(owner=None)  # a bulk write, back to the pool
    assert Ticket.objects.get(pk=other.pk).customer_owner_id is None
    Ticket.objects.filter(pk=other.pk).update(customer=first)  # tickets moved to another customer (a merge)
    assert Ticket.objects.get(pk=other.pk).customer_owner_id == org.outsider.pk
    Ticket.objects.filter(pk=other.pk).update(customer_owner=org.manager)  # written wrong: put right
    kept_equals_live()

    copy = Ticket.objects.get(pk=ticket.pk)
    copy.pk, copy.number = None, "T-COPY-1"
    copy.customer, copy.customer_owner = second, org.admin
    Ticket.objects.bulk_create([copy])
    kept_equals_live()


def test_missing_triggers_are_put_back_and_the_column_filled_again(org, make_customer, make_ticket):
    customer = make_customer(owner=org.owner)
    ticket = make_ticket(customer=customer)
    customer_owner.drop(connection)
    Customer.objects.filter(pk=customer.pk).update(owner=org.teammate)  # unseen: no trigger
    assert Ticket.objects.get(pk=ticket.pk).customer_owner_id == org.owner.pk
    assert customer_owner.ensure(connection) is True
    kept_equals_live()
    assert customer_owner.ensure(connection) is False  # all there: nothing done
    customer_transfer(customer=customer, new_owner=org.outsider, actor=org.admin, reason="调整")
    kept_equals_live()


@pytest.mark.django_db(transaction=True)
def test_a_migrate_rebuilding_the_tables_keeps_the_triggers(data_migration_rows, org, make_customer, make_ticket):
    """post_migrate puts back triggers a rebuilt SQLite table lost (as ensure above; here through migrate)."""
    from django.core.management import call_command

    ticket = make_ticket(customer=make_customer(owner=org.owner))
    customer_owner.drop(connection)
    call_command("migrate", verbosity=0)
    Customer.objects.filter(pk=ticket.customer_id).update(owner=org.teammate)
    assert Ticket.objects.get(pk=ticket.pk).customer_owner_id == org.teammate.pk
