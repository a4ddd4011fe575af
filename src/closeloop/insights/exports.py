"""The breakpoint radar as an Excel workbook (XlsxWriter in constant memory): the counts, then every broken
record the viewer may see."""

import io
import tempfile

from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.notify import absolute_url
from closeloop.core.spreadsheets import export_workbook

from . import radar


def radar_workbook(user, now, *, owner=None) -> bytes:
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        book = export_workbook(buffer, tmpdir=tmp, in_memory=False)
        bold = book.add_format({"bold": True})
        moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
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
        book.close()
    return buffer.getvalue()
