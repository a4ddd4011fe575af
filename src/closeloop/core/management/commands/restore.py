from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from closeloop.core.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Bring back a `closeloop backup` archive: the database and the uploaded files. Stop the web "
            "server and the workers first.")

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--replace", action="store_true",
                            help="Overwrite a database that holds data, and the uploaded files.")

    def handle(self, *args, archive, replace, **options):
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            manifest = restore(path, replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Restored the backup of {manifest['created_at']} ({manifest['engine']}, "
                          f"{manifest['media_files']} uploaded files). Run `closeloop migrate` if this version is newer.")
