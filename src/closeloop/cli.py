"""The `closeloop` command: every Django management command, plus Closeloop's own (serve, worker, demo, token)."""

import os
import sys

ALIASES = {"gen-data": "gen_data"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    # Dashed spellings of multi-word commands, as documented (`closeloop gen-data`).
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    execute_from_command_line(["closeloop", *args])


if __name__ == "__main__":
    main()
