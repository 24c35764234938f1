from typing import Any

from django.core.management.base import BaseCommand

from forum.services import thread_counts_recount


class Command(BaseCommand):
    help = (
        "Set every category's count of visible threads (the thread lists' count) to the real "
        "one: after threads were written around the services. Safe to re-run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        repaired = thread_counts_recount()
        self.stdout.write(f"{repaired} categor{'y' if repaired == 1 else 'ies'} recounted")
