#!/usr/bin/env python
import os
import sys

# Commands that never touch the database or the broker need no services started for them.
NO_SERVICES = {"help", "version", "--help", "-h", "--version", "makemigrations", "check", "collectstatic"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in NO_SERVICES:
        from mediavault import embedded

        # Beside `make run` the services are running already; otherwise this command starts the
        # embedded ones it uses and stops them again when it ends.
        embedded.ensure_running(settings, stop_at_exit=True)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
