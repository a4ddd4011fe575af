"""Excel workbooks (XlsxWriter in constant memory): the breakpoint radar (the counts, then every broken record the
viewer may see) and the dashboard (one sheet per table)."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import workbook_export

from . import radar
from .dashboard import TARGET_KEYS, TARGET_LABELS, narrowing

# The dashboard's sections as the page heads them (`dashboard.SECTION_FILTERS`' keys).
SECTION_TITLES = {"targets": gettext_lazy("Targets"), "sources": gettext_lazy("Leads by source"),
                  "funnel": gettext_lazy("Funnel by stage"), "cycle": gettext_lazy("Cycle time per stage"),
                  "handoffs": gettext_lazy("Hand-off time between departments"),
                  "sla": gettext_lazy("First-contact SLA by rep"), "lost": gettext_lazy("Lost reasons"),
                  "forecast": gettext_lazy("Weighted forecast"), "accuracy": gettext_lazy("Forecast accuracy"),
                  "cash": gettext_lazy("Quote to cash"), "service": gettext_lazy("After-sales service")}


def radar_workbook(user, now, *, owner=None) -> bytes:
    with workbook_export() as export:
        book, bold, moment = export.book, export.bold, export.moment
        summary = book.add_worksheet(_("Counts"))
        summary.set_column(0, 0, 40)
        summary.write_row(0, 0, [_("Break"), _("Records"), _("Listed in this file")], bold)
        for n, (kind, count) in enumerate(radar.counts(user, now, owner=owner), start=1):
            summary.write_row(n, 0, [str(kind.label), count, min(count, radar.EXPORT_ROWS_PER_KIND)])
        rows = book.add_worksheet(_("Records"))
        rows.set_column(0, 0, 36)
        rows.set_column(1, 2, 30)
        rows.set_column(3, 5, 18)
        rows.set_column(6, 7, 40)
        rows.write_row(0, 0, [_("Break"), _("Record"), _("Owner"), _("Broken since"), _("Days broken"),
                              _("Action"), _("Link")], bold)
        for n, row in enumerate(radar.every_row(user, now, owner=owner, limit_per_kind=radar.EXPORT_ROWS_PER_KIND),
                                start=1):
            rows.write(n, 0, str(row.kind.label))
            rows.write(n, 1, str(row.record))
            rows.write(n, 2, str(row.owner) if row.owner else _("Nobody"))
            rows.write_datetime(n, 3, timezone.localtime(row.since).replace(tzinfo=None), moment)
            rows.write(n, 4, row.days)
            rows.write(n, 5, str(row.kind.action))
            rows.write(n, 6, absolute_url(row.url))
    return export.content


def dashboard_workbook(scope, figures: dict) -> bytes:
    """Every table of the dashboard, one sheet each, with the same figures the page shows (amounts as numbers)."""
    sources, funnel, lost, forecast, cash = (figures[key] for key in ("sources", "funnel", "lost", "forecast", "cash"))
    cycle, handoffs, sla, service = figures["cycle"], figures["handoffs"], figures["sla"], figures["service"]
    targets = [*figures["targets"]["teams"], *figures["targets"]["reps"]]
    sheets = [
        (_("Targets"), [_("Rep or team"), *[f"{label} · {part}" for _key, label in TARGET_LABELS
                                            for part in (_("Done"), _("Target"), "%")]],
         [[row["name"], *[cell for key in TARGET_KEYS for cell in (row[key]["actual"], row[key]["target"],
                                                                   row[key]["rate"])]] for row in targets]),
        (_("Leads by source"), [_("Source"), _("Leads"), _("Qualified"), "%", _("Became a deal"), "%", _("Won"), "%"],
         [[row["name"], row["leads"], row["qualified"], row["qualified_rate"], row["deals"], row["deal_rate"], row["won"],
           row["won_rate"]] for row in [*sources["rows"], sources["total"]] if sources["rows"]]),
        (_("Funnel by stage"), [_("Stage"), _("Deals that reached it"), _("Conversion from the stage before")],
         [[row["name"], row["reached"], row["from_previous"]] for row in funnel["rows"]]
         + [[_("Win rate"), funnel["win_rate"], None]]),
        (_("Cycle time per stage"), [_("Stage"), _("Deals that left it"), _("Median (days)"),
                                     _("90th percentile (days)")],
         [[row["name"], row["deals"], row["median"], row["p90"]] for row in cycle["rows"]]),
        (_("Hand-off time"), [_("From department"), _("To department"), _("Asked"), _("Accepted"), _("Declined"), _("Waiting"),
                              _("Median (hours)"), _("90th percentile (hours)")],
         [[row["from"], row["to"], row["asked"], row["accepted"], row["declined"], row["waiting"], row["median"],
           row["p90"]] for row in handoffs["rows"]]),
        (_("First-contact SLA"), [_("Rep"), _("Due"), _("In time"), _("Late"), _("Missed"), _("Still to come"),
                                  _("Compliance") + " %"],
         [[row["rep"], row["due"], row["met"], row["late"], row["missed"], row["pending"], row["rate"]]
          for row in sla["rows"]]),
        (_("Overdue follow-ups"), [_("Rep"), _("Leads"), _("Deals")],
         [[row["rep"], row["leads"], row["deals"]] for row in sla["overdue"]]),
        (_("Lost reasons"), [_("Reason"), _("Deals lost"), _("Amount")],
         [[row["name"], row["deals"], row["amount"]] for row in lost["rows"]]),
        (_("Lost reasons by rep"), [_("Rep"), _("Reason"), _("Deals lost"), _("Amount")],
         [[row["rep"], row["name"], row["deals"], row["amount"]] for row in lost["by_rep"]]),
        (_("Weighted forecast"), [_("Expected close month"), _("Open deals"), _("Amount"), _("Weighted")],
         [[row["key"] if row["month"] else _("No date"), row["deals"], row["amount"], row["weighted"]]
          for row in forecast["rows"]]),
        (_("Forecast accuracy"), [_("Month"), _("Deals forecast"), _("Forecast at the month's start"), _("Deals won"),
                                  _("Won in the month"), _("Won ÷ forecast") + " %"],
         [[row["key"], row["forecast_deals"], row["forecast"], row["won_deals"], row["won"], row["accuracy"]]
          for row in figures["accuracy"]["rows"]]),
        (_("Quote to cash"), [_("Figure"), _("Count"), _("Amount")],
         [[row["name"], row["count"], row["amount"]] for row in cash["rows"]]),
        (_("Tickets"), [_("Assignee"), _("Opened"), _("Resolved"), _("First response in time"),
                        _("First response late"), "%", _("Resolved in time"), _("Resolved late"), "%"],
         [[row["assignee"], row["opened"], row["resolved"], row["response_met"], row["response_missed"],
           row["response_rate"], row["resolution_met"], row["resolution_missed"], row["resolution_rate"]]
          for row in service["rows"]]),
        (_("Satisfaction"), [_("Account owner"), _("Answers"), "CSAT", "NPS", _("Promoters"), _("Passives"),
                             _("Detractors")],
         [[row["label"], row["answered"], row["csat"], row["nps"], row["promoters"], row["passives"],
           row["detractors"]] for row in service["satisfaction"]]),
    ]
    if notes := narrowing(scope):
        # A filtered workbook says so, and which of its sheets each filter narrows, as the page does.
        sheets.append((_("Custom field filters"), [_("Section"), _("Narrowed by"), _("Not narrowed by")],
                       [[SECTION_TITLES[key], "; ".join(note["by"]), "; ".join(note["not_by"])]
                        for key, note in notes.items()]))
    with workbook_export() as export:
        book, bold, money = export.book, export.bold, export.money
        for title, header, rows in sheets:
            sheet = book.add_worksheet(str(title)[:31])
            sheet.set_column(0, 0, 24)
            sheet.set_column(1, len(header) - 1, 14)
            sheet.write_row(0, 0, [str(cell) for cell in header], bold)
            for n, row in enumerate(rows, start=1):
                for column, value in enumerate(row):
                    if isinstance(value, Decimal):
                        sheet.write_number(n, column, float(value), money)
                    elif value is None:
                        sheet.write_blank(n, column, None)
                    elif isinstance(value, int | float):
                        sheet.write_number(n, column, value)
                    else:
                        sheet.write_string(n, column, str(value))
    return export.content
