"""`closeloop import FILE --user NAME [--source SOURCE]`: the web page's lead import, from the command line.

The same job as the import page: the file is checked and stored, its columns are mapped by their
headers as the page maps them, the rows go through the intake in chunks, and the report lists what was
imported, sent to existing records, merged and refused. The job runs in this process (nothing is left
for the worker) and stays on the import page afterwards, refused rows included.
"""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closeloop.core.errors import DomainError, error_text
from closeloop.core.models import User
from closeloop.leads import imports
from closeloop.leads.exports import refusal_report
from closeloop.leads.models import ImportStatus, LeadSource
from closeloop.leads.services.importing import import_job_create, import_job_run, import_job_start

# Refused rows printed in the report; the rest are in the .xlsx report (--report) and on the import page.
SHOWN_REFUSALS = 20


class Command(BaseCommand):
    help = gettext_lazy("Import leads from a .xlsx or .csv file, as the import page does, and print the report.")

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("a .xlsx or .csv (UTF-8 or GBK) file whose first row names the columns"))
        parser.add_argument("--user", required=True,
                            help=gettext_lazy("who imports (their visibility, and the owner with --keep)"))
        parser.add_argument("--source", default="",
                            help=gettext_lazy("the source of rows without a source column (a lead source's name)"))
        parser.add_argument("--merge-duplicates", action="store_true",
                            help=gettext_lazy("merge rows of the file that are the same person into one lead"))
        parser.add_argument("--keep", action="store_true",
                            help=gettext_lazy("keep the new leads yourself (sales staff) instead of the assignment rules"))
        parser.add_argument("--report", default="", help=gettext_lazy("write the refused rows to this .xlsx file"))

    def handle(self, *args, file, user, source, merge_duplicates, keep, report, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(_("No active user named %(user)s.") % {"user": user})
        default_source = None
        if source:
            by = Q(name=source) | (Q(pk=int(source)) if source.isdigit() else Q(pk__in=[]))
            default_source = LeadSource.objects.filter(by).first()
            if default_source is None:
                names = "、".join(LeadSource.objects.values_list("name", flat=True))
                raise CommandError(_("No lead source named %(source)s. The sources are: %(names)s")
                                   % {"source": source, "names": names})
        try:
            with path.open("rb") as handle:
                job = import_job_create(upload=File(handle, name=path.name), actor=actor)
        except DomainError as exc:
            raise CommandError(_("Cannot import %(path)s: %(error)s") % {"path": path, "error": error_text(exc)}) from exc
        self._mapping(job)
        try:
            import_job_start(job=job, mapping=job.mapping, default_source=default_source,
                             merge_duplicates=merge_duplicates, assign_to_me=keep, actor=actor, queue=False)
        except DomainError as exc:
            raise CommandError(_("%(error)s Name the source with --source, or map the columns on the import page "
                                 "(%(url)s).") % {"error": error_text(exc), "url": job.get_absolute_url()}) from exc
        job = import_job_run(job_id=job.pk)
        self._report(job)
        if report and job.refused_rows:
            with open(report, "wb") as handle:
                refusal_report(job, handle)
            self.stdout.write(_("Refused rows written to %(path)s.") % {"path": report})
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.error)

    def _mapping(self, job) -> None:
        self.stdout.write(_("Columns of %(file)s:") % {"file": job.original_name})
        for header, name in zip(job.headers, job.mapping, strict=True):
            field = imports.FIELD_LABELS.get(name) if name else _("(ignored)")
            self.stdout.write(f"  {header or '—'} → {field}")

    def _report(self, job) -> None:
        self.stdout.write(_("Import %(id)d %(status)s: %(imported)d imported, %(routed)d sent to existing records, "
                            "%(merged)d merged, %(refused)d refused.") % {
            "id": job.pk, "status": job.get_status_display(), "imported": job.imported_rows,
            "routed": job.routed_rows, "merged": job.merged_rows, "refused": job.refused_rows})
        for refusal in job.refusals.order_by("row_number")[:SHOWN_REFUSALS]:
            self.stdout.write("  " + _("row %(row)d: %(reason)s") % {"row": refusal.row_number,
                                                                       "reason": imports.reason_text(refusal.errors)})
        if job.refused_rows > SHOWN_REFUSALS:
            self.stdout.write("  " + _("… and %(more)d more (--report FILE.xlsx writes them all).")
                              % {"more": job.refused_rows - SHOWN_REFUSALS})
