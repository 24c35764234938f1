import getpass
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import Role
from accounts.services import user_create


class Command(BaseCommand):
    help = (
        "Create an account. The password comes from HAVEN_PASSWORD or is asked for twice; "
        "it never appears on the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--display-name", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)
        parser.add_argument(
            "--verified", action="store_true", help="Mark the email address as verified."
        )
        parser.add_argument("--staff", action="store_true", help="May sign in to the admin.")
        parser.add_argument("--superuser", action="store_true", help="Admin with every right.")

    def _password(self) -> str:
        if password := os.environ.get("HAVEN_PASSWORD"):
            return password
        try:
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Password (again): ")
        except (EOFError, KeyboardInterrupt) as exc:
            raise CommandError("No password given: set HAVEN_PASSWORD or type one.") from exc
        if first != second:
            raise CommandError("The two passwords differ.")
        return first

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password()
        try:
            user = user_create(
                email=options["email"],
                display_name=options["display_name"],
                password=password,
                role=Role(options["role"]),
                verified=options["verified"],
                is_staff=options["staff"],
                is_superuser=options["superuser"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created {user.role} {user.display_name!r} <{user.email}>.")
        )
