from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from forum import demo
from forum.models import Category, Thread
from forum.services import category_ensure, post_create, post_like, thread_create
from moderation import demo as moderation_demo
from moderation.answers import nurse_answer_create


class Command(BaseCommand):
    help = "Create the demo community: categories and one account per role. Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet-accounts",
            action="store_true",
            help="Do not print the demo sign-in details.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.HAVEN_ALLOW_DEMO_SEED:
            raise CommandError(
                "seed_demo creates accounts with a published password; these settings "
                "(HAVEN_ALLOW_DEMO_SEED = False) forbid it."
            )
        for position, spec in enumerate(demo.CATEGORIES):
            _, created = category_ensure(position=position * 10, **spec)
            if created:
                self.stdout.write(f"category  {spec['name']}")

        password = settings.HAVEN_DEMO_PASSWORD
        created_accounts = []
        for account in demo.ACCOUNTS:
            if User.objects.filter(email=account["email"]).exists():
                continue
            user = user_create(
                email=account["email"],
                display_name=account["display_name"],
                password=password,
                role=account["role"],
                verified=True,
                is_staff=account["staff"],
                is_superuser=account["superuser"],
                sign_off=account["sign_off"],
            )
            created_accounts.append(user)

        moderation_demo.install()

        thread = self._replay_reference_thread()
        if thread is not None:
            self.stdout.write(f"thread    {thread.title!r} with {thread.reply_count} replies")

        scenes = moderation_demo.play_scenes()
        for title in scenes:
            self.stdout.write(f"review    {title!r}")

        if not created_accounts and thread is None and not scenes:
            self.stdout.write("Demo data is already present; nothing added.")
            return
        if options["quiet_accounts"] or not created_accounts:
            return
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (all with the same password):"))
        for user in created_accounts:
            kind = "admin" if user.is_superuser else user.role
            self.stdout.write(f"  {kind:<10} {user.email:<28} shown as {user.display_name!r}")
        self.stdout.write(f"  password   {password}")
        self.stdout.write(
            'Sign in: POST /_allauth/app/v1/auth/login {"email", "password"}, then send '
            "meta.session_token as X-Session-Token; the admin is at /admin/."
        )

    def _replay_reference_thread(self) -> Thread | None:
        """Replay the reference thread through the services, as its members wrote it."""
        spec = demo.REFERENCE_THREAD
        if Thread.objects.filter(title=spec["title"]).exists():
            return None
        people = {u.display_name: u for u in User.objects.filter(email__endswith="@haven.example")}
        category = Category.objects.get(slug=spec["category"])
        opening, *replies = spec["posts"]
        thread = thread_create(
            author=people[opening["author"]],
            category=category,
            title=spec["title"],
            body=opening["body"],
        )
        for reply in replies:
            post = post_create(author=people[reply["author"]], thread=thread, body=reply["body"])
            for name in reply.get("liked_by", []):
                post_like(user=people[name], post=post)
        answer = spec["nurse_answer"]
        nurse_answer_create(
            nurse=User.objects.get(email="nurse@haven.example"),
            thread=thread,
            body=answer["body"],
            signposts=answer["signposts"],
            close=answer["close"],
        )
        thread.refresh_from_db()
        return thread
