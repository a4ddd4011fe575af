"""The deal list as an Excel workbook (XlsxWriter in constant memory): the rows the viewer's filters select,
through their visibility, with the figures as numbers and dates as dates, then the custom fields the viewer may see."""


from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.customfields import registry
from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import ContinuedSheet, workbook_export, xlsx_response

from .services.opportunities import DEAL_TARGET

BUILT_IN_COLUMNS = 14


def deals_workbook(deals, *, viewer=None) -> bytes:
    custom = registry.export_columns(DEAL_TARGET, viewer)
    with workbook_export() as export:
        book, bold, money, day, moment = export.book, export.bold, export.money, export.day, export.moment
        sheets = ContinuedSheet(book, _("Deals"), [
            _("Deal"), _("Customer"), _("Pipeline"), _("Stage"), _("Status"), _("Amount"), _("Probability"),
            _("Expected close"), _("Owner"), _("Team"), _("Next follow-up"), _("Updated"), _("Next step"), _("Link"),
            *custom.headers,
        ], header_format=bold, widths=[(0, 1, 36), (2, 11, 16), (12, 13, 40)])
        rows = deals.select_related("customer", "pipeline", "stage", "owner__department")
        for deal in rows.iterator(chunk_size=2000):
            sheet, n = sheets.next_row()
            sheet.write(n, 0, deal.name)
            sheet.write(n, 1, deal.customer.name)
            sheet.write(n, 2, deal.pipeline.name)
            sheet.write(n, 3, deal.stage.name)
            sheet.write(n, 4, deal.get_status_display())
            if deal.amount is not None:
                sheet.write_number(n, 5, deal.amount, money)
            sheet.write_number(n, 6, deal.probability)
            if deal.expected_close_date:
                sheet.write_datetime(n, 7, deal.expected_close_date, day)
            sheet.write(n, 8, str(deal.owner))
            sheet.write(n, 9, str(deal.owner.department or ""))
            if deal.next_follow_up_at:
                sheet.write_datetime(n, 10, timezone.localtime(deal.next_follow_up_at).replace(tzinfo=None), moment)
            sheet.write_datetime(n, 11, timezone.localtime(deal.updated_at).replace(tzinfo=None), moment)
            sheet.write(n, 12, deal.next_step)
            sheet.write(n, 13, absolute_url(deal.get_absolute_url()))
            custom.write(sheet, n, BUILT_IN_COLUMNS, deal.custom, export)
    return export.content


def deals_export_response(deals, *, viewer) -> HttpResponse:
    return xlsx_response(deals_workbook(deals, viewer=viewer), f"deals-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
