"""The delivery and ticket lists as Excel workbooks (XlsxWriter in constant memory): the rows the viewer's filters
and search select, through their visibility, every page; counts as numbers, times as dates, a link to each record,
then the custom fields the viewer may see."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.customfields import registry
from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import ExportColumn, records_workbook, xlsx_response

from .deliveries import DELIVERY_TARGET
from .tickets import TICKET_TARGET


def _link(record) -> str:
    return absolute_url(record.get_absolute_url())


def delivery_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("Delivery"), lambda d: d.title, width=36),
        ExportColumn(_("Customer"), lambda d: d.customer.name, width=36),
        ExportColumn(_("Contract"), lambda d: d.contract.number, width=20),
        ExportColumn(_("Status"), lambda d: d.get_status_display()),
        ExportColumn(_("Milestones"), lambda d: d.milestone_count, "number", width=10),
        ExportColumn(_("Milestones done"), lambda d: d.milestones_done, "number", width=10),
        ExportColumn(_("Delivery owner"), lambda d: str(d.owner)),
        ExportColumn(_("Created"), lambda d: d.created_at, "moment"),
        ExportColumn(_("Accepted at"), lambda d: d.accepted_at, "moment"),
        ExportColumn(_("Link"), _link, width=40),
    ]


def deliveries_export_response(deliveries, *, viewer) -> HttpResponse:
    content = records_workbook(deliveries, sheet_name=_("Deliveries"), columns=delivery_columns(),
                               custom=registry.export_columns(DELIVERY_TARGET, viewer))
    return xlsx_response(content, f"deliveries-{timezone.localtime():%Y%m%d-%H%M}.xlsx")


def ticket_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("Number"), lambda t: t.number, width=20),
        ExportColumn(_("Subject"), lambda t: t.title, width=36),
        ExportColumn(_("Customer"), lambda t: t.customer.name, width=36),
        ExportColumn(_("Category"), lambda t: t.get_category_display()),
        ExportColumn(_("Priority"), lambda t: t.get_priority_display()),
        ExportColumn(_("Status"), lambda t: t.get_status_display()),
        ExportColumn(_("Assignee"), lambda t: str(t.owner) if t.owner_id else ""),
        ExportColumn(_("Created"), lambda t: t.created_at, "moment"),
        ExportColumn(_("First response due"), lambda t: t.first_response_due_at, "moment"),
        ExportColumn(_("First responded at"), lambda t: t.first_responded_at, "moment"),
        ExportColumn(_("Resolution due"), lambda t: t.resolution_due_at, "moment"),
        ExportColumn(_("Resolved at"), lambda t: t.resolved_at, "moment"),
        ExportColumn(_("Closed at"), lambda t: t.closed_at, "moment"),
        ExportColumn(_("Link"), _link, width=40),
    ]


def tickets_export_response(tickets, *, viewer) -> HttpResponse:
    content = records_workbook(tickets, sheet_name=_("Tickets"), columns=ticket_columns(),
                               custom=registry.export_columns(TICKET_TARGET, viewer))
    return xlsx_response(content, f"tickets-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
