from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_set_role


class Command(BaseCommand):
    help = "Give an account a role: member, nurse or moderator (recorded in the audit log)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("role", choices=Role.values)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get_by_natural_key(options["email"])
        except User.DoesNotExist as exc:
            raise CommandError(f"No account with the email {options['email']!r}.") from exc
        try:
            user_set_role(user=user, role=options["role"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"{user.display_name!r} is now a {user.role}."))
