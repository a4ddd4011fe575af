"""`closeloop dedupe INPUT -o OUTPUT`: mark duplicate rows of a spreadsheet with the intake's engine."""

import csv
import io
import resource
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.leads.dedup import cluster_rows, map_headers

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}


def _cell(value) -> str:
    """A spreadsheet cell as text; a phone stored as a number must not come back as "13912345678.0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a .csv (UTF-8 or GBK/GB18030) or a spreadsheet's first sheet."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        from python_calamine import CalamineWorkbook

        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        table = [[_cell(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Excel in China saves CSV as GBK; GB18030 reads GBK and everything GBK lacks.
            text = raw.decode("gb18030")
        table = list(csv.reader(io.StringIO(text, newline="")))
    table = [row for row in table if any(cell.strip() for cell in row)]
    if not table:
        return [], []
    header, rows = table[0], table[1:]
    width = len(header)
    return header, [row + [""] * (width - len(row)) if len(row) < width else row for row in rows]


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
            header, rows = read_table(path)
        except (OSError, ValueError, csv.Error) as exc:
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
