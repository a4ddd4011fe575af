from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from closeloop.core.backup import BackupError, backup


class Command(BaseCommand):
    help = ("Write a consistent copy of the database and the uploaded files while Closeloop runs "
            "(SQLite's online backup, pg_dump for PostgreSQL), as one .tar.gz archive.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", default="backups",
                            help="A folder (the archive is named by the time) or an archive's file name. Default: ./backups")
        parser.add_argument("--keep", type=int, default=None,
                            help="Keep only the newest N archives in the folder (for scheduled backups).")

    def handle(self, *args, output, keep, **options):
        if keep is not None and keep < 1:
            raise CommandError("--keep needs 1 or more.")
        try:
            result = backup(Path(output), keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{result.path} ({result.engine}, {result.media_files} uploaded files, "
                          f"{result.size / 2**20:.1f} MiB)")
