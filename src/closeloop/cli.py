"""The `closeloop` command: every Django management command, plus Closeloop's own (serve, worker, demo, token)."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["closeloop", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
