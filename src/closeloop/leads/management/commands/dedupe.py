"""`closeloop dedupe INPUT -o OUTPUT`: mark duplicate rows of a spreadsheet with the intake's engine."""

import csv
import resource
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.spreadsheets import SpreadsheetError, read_table
from closeloop.leads.dedup import cluster_rows, map_headers


class Command(BaseCommand):
    help = gettext_lazy("Mark duplicates in a .csv or .xlsx lead list: adds lead_cluster (same person at the same company) "
             "and company_cluster (same legal company) to every row.")

    def add_arguments(self, parser):
        parser.add_argument("input", help=gettext_lazy("a .csv (UTF-8 or GBK) or .xlsx file with Chinese or English headers"))
        parser.add_argument("-o", "--output", help=gettext_lazy("the CSV to write (default: standard output)"))

    def handle(self, *args, **options):
        started = time.perf_counter()
        path = Path(options["input"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            # The same reader (checks, encodings, header row) as the import page.
            header, rows = read_table(path)
        except SpreadsheetError as exc:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.message}) from exc
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
        columns = map_headers(header)
        if not {"company_name", "contact_name", "mobile", "email", "landline"} & set(columns):
            raise CommandError(_(
                "No column this command understands in %(path)s. Name them like 公司名称, 联系人, 手机, 座机, 邮箱, "
                "统一社会信用代码, 城市 (or company, contact, mobile, landline, email, credit code, city)."
            ) % {"path": path})
        positions = {name: header.index(title) for name, title in columns.items()}
        clusters = cluster_rows([dict(enumerate(row)) for row in rows], positions)

        target = open(options["output"], "w", encoding="utf-8-sig", newline="") if options["output"] else self.stdout  # noqa: SIM115
        try:
            writer = csv.writer(target if options["output"] else _TextSink(self.stdout))
            writer.writerow([*header, "lead_cluster", "company_cluster"])
            writer.writerows([*row, lead, company] for row, (lead, company) in zip(rows, clusters, strict=True))
        finally:
            if options["output"]:
                target.close()

        seconds = time.perf_counter() - started
        people = len({lead for lead, _company in clusters})
        companies = len({company for _lead, company in clusters})
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sys.stderr.write(
            _("%(rows)d rows → %(people)d people (%(dups)d duplicate rows), %(companies)d companies; "
              "%(seconds).2f s, %(rate).0f rows/s, peak memory %(peak).0f MiB\n") % {
                "rows": len(rows), "people": people, "dups": len(rows) - people, "companies": companies,
                "seconds": seconds, "rate": len(rows) / seconds if seconds else 0, "peak": peak_mib}
        )


class _TextSink:
    """csv.writer into the command's stdout wrapper without its line-ending handling."""

    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.write(text, ending="")
