from django.core.management.base import BaseCommand, CommandError

from closeloop.core.models import User
from closeloop.core.services import api_token_create


class Command(BaseCommand):
    help = "Print a new API token for a user (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--read-only", action="store_true", help="A token that may only read.")
        parser.add_argument("--expires-days", type=int, default=None, help="Days until the token stops working.")

    def handle(self, *args, username, name, read_only, expires_days, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        raw, _token = api_token_create(user=user, name=name, actor=None, access="read" if read_only else "read_write",
                                       expires_in_days=expires_days)
        self.stdout.write(raw)
