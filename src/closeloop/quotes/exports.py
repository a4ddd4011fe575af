"""The quote list as an Excel workbook (XlsxWriter in constant memory): the rows the viewer's filters and search
select, through their visibility, every page; totals as money, dates as dates, a link to each quote, then the custom
fields the viewer may see."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from closeloop.core.customfields import registry
from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import ExportColumn, records_workbook, xlsx_response

from .services import QUOTE_TARGET


def _version(quote, name):
    version = quote.current_version
    return getattr(version, name) if version is not None else None


def quote_columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("Number"), lambda q: q.number, width=20),
        ExportColumn(pgettext("record", "Title"), lambda q: q.title, width=36),
        ExportColumn(_("Customer"), lambda q: q.opportunity.customer.name, width=36),
        ExportColumn(_("Deal"), lambda q: q.opportunity.name, width=36),
        ExportColumn(_("Status"), lambda q: q.get_status_display()),
        ExportColumn(_("Total incl. tax"), lambda q: _version(q, "total_incl_tax"), "money"),
        ExportColumn(_("Total excl. tax"), lambda q: _version(q, "total_excl_tax"), "money"),
        ExportColumn(_("Version"), lambda q: _version(q, "number"), "number", width=8),
        ExportColumn(_("Valid until"), lambda q: _version(q, "valid_until"), "date"),
        ExportColumn(_("Owner"), lambda q: str(q.opportunity.owner)),
        ExportColumn(_("Team"), lambda q: str(q.opportunity.owner.department or "")),
        ExportColumn(_("Created"), lambda q: q.created_at, "moment"),
        ExportColumn(_("Sent at"), lambda q: q.sent_at, "moment"),
        ExportColumn(_("Link"), lambda q: absolute_url(q.get_absolute_url()), width=40),
    ]


def quotes_export_response(quotes, *, viewer) -> HttpResponse:
    content = records_workbook(quotes.select_related("opportunity__owner__department"), sheet_name=_("Quotes"),
                               columns=quote_columns(), custom=registry.export_columns(QUOTE_TARGET, viewer))
    return xlsx_response(content, f"quotes-{timezone.localtime():%Y%m%d-%H%M}.xlsx")
