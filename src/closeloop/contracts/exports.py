"""Contract workbooks (XlsxWriter, written row by row in constant memory): the receivables — the summary by age
bucket, by rep and by customer, and every instalment behind it — and the contract list."""


from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from closeloop.core.customfields import registry
from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import ExportColumn, records_workbook, workbook_export, xlsx_response

from . import receivables
from .services import CONTRACT_TARGET


def receivables_workbook(rows, filters: receivables.DrillFilters, today) -> bytes:
    with workbook_export() as export:
        book, bold, money, day = export.book, export.bold, export.money, export.day
        bucket_labels = [str(label) for _key, label, _days in receivables.BUCKETS]
        selected = filters.apply(rows, today)

        summary = book.add_worksheet(_("Summary"))
        summary.set_column(0, 0, 32)
        summary.set_column(1, 6, 16)
        header = [_("Outstanding"), _("Total"), *bucket_labels]
        summary.write_row(0, 0, [_("Receivables on %(day)s") % {"day": today.isoformat()}], bold)
        summary.write_row(2, 0, header, bold)
        totals = receivables.totals(selected, today)
        summary.write(3, 0, _("All"))
        summary.write_row(3, 1, [totals["total"], *[totals[key] for key in receivables.BUCKET_KEYS]], money)
        line = 5
        summary.write_row(line, 0, [_("Sales rep"), _("Total"), *bucket_labels], bold)
        for rep in receivables.by_rep(selected, today):
            line += 1
            summary.write(line, 0, rep.name)
            summary.write_row(line, 1, [rep.total, *rep.cells], money)

        customers = book.add_worksheet(_("By customer"))
        customers.set_column(0, 0, 36)
        customers.set_column(1, 6, 16)
        customers.write_row(0, 0, [_("Customer"), _("Total"), *bucket_labels], bold)
        line, page = 0, 1
        while True:
            result = receivables.by_customer(selected, today, page=page, per_page=1000)
            for customer in result["rows"]:
                line += 1
                customers.write(line, 0, customer.name)
                customers.write_row(line, 1, [customer.total, *customer.cells], money)
            if not result["has_next"]:
                break
            page += 1

        detail = book.add_worksheet(_("Instalments"))
        detail.set_column(0, 1, 18)
        detail.set_column(2, 3, 30)
        detail.set_column(4, 10, 14)
        detail.write_row(0, 0, [_("Contract"), _("Instalment"), _("Customer"), _("Sales rep"), _("Due date"),
                                _("Days overdue"), _("Age"), _("Amount"), _("Paid"), _("Outstanding")], bold)
        labels = dict((key, str(label)) for key, label, _days in receivables.BUCKETS)
        for n, instalment in enumerate(receivables.drilldown(selected, receivables.DrillFilters(), today)
                                       .iterator(chunk_size=2000), start=1):
            detail.write(n, 0, instalment.contract.number)
            detail.write(n, 1, instalment.title)
            detail.write(n, 2, instalment.customer.name)
            detail.write(n, 3, str(instalment.owner))
            if instalment.due_date:
                detail.write_datetime(n, 4, instalment.due_date, day)
            detail.write(n, 5, receivables.age_days(instalment, today))
            detail.write(n, 6, labels[receivables.bucket_of(instalment, today)])
            detail.write_row(n, 7, [instalment.amount, instalment.paid_amount, instalment.outstanding], money)
    return export.content


def contract_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("Number"), lambda c: c.number, width=20),
        ExportColumn(pgettext("record", "Title"), lambda c: c.title, width=36),
        ExportColumn(_("Customer"), lambda c: c.customer.name, width=36),
        ExportColumn(_("Deal"), lambda c: c.opportunity.name, width=36),
        ExportColumn(_("Status"), lambda c: c.get_status_display()),
        ExportColumn(_("Amount"), lambda c: c.amount, "money"),
        ExportColumn(_("Amount excl. tax"), lambda c: c.amount_excl_tax, "money"),
        ExportColumn(_("Paid"), lambda c: c.paid_amount, "money"),
        ExportColumn(_("Invoiced"), lambda c: c.invoiced_amount, "money"),
        ExportColumn(_("Sign date"), lambda c: c.sign_date, "date"),
        ExportColumn(_("Start date"), lambda c: c.start_date, "date"),
        ExportColumn(_("End date"), lambda c: c.end_date, "date"),
        ExportColumn(_("Owner"), lambda c: str(c.owner)),
        ExportColumn(_("Team"), lambda c: str(c.owner.department or "")),
        ExportColumn(_("Created"), lambda c: c.created_at, "moment"),
        ExportColumn(_("Link"), lambda c: absolute_url(c.get_absolute_url()), width=40),
    ]


def contracts_export_response(contracts, *, viewer) -> HttpResponse:
    """The contract list as an Excel workbook: the rows the viewer's filters and search select, through their
    visibility, every page; amounts as money, dates as dates, a link to each contract, then the custom fields the
    viewer may see."""
    content = records_workbook(contracts.select_related("opportunity", "owner__department"),
                               sheet_name=_("Contracts"), columns=contract_columns(),
                               custom=registry.export_columns(CONTRACT_TARGET, viewer))
    return xlsx_response(content, f"contracts-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
