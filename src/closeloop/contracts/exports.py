"""The receivables as an Excel workbook (XlsxWriter, written row by row in constant memory): the summary by
age bucket, by rep and by customer, and every instalment behind it."""


from django.utils.translation import gettext as _

from closeloop.core.spreadsheets import workbook_export

from . import receivables


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
