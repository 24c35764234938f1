"""What every page's frame (``core/templates/haven/base.html``) shows about the viewer."""

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from accounts.roles import Role
from forum import selectors


class Header:
    """The header's viewer: her unread count, asked only when a page's header shows it
    (the admin and any page that does not pay nothing), and her role's links."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int | None:
        """Her unread notifications (one query), or None when nobody is signed in."""
        if not self.user.is_authenticated:
            return None
        return selectors.notification_unread_count(user=self.user)

    @property
    def nurse(self) -> bool:
        return self.user.is_authenticated and self.user.role == Role.NURSE

    @property
    def moderator(self) -> bool:
        return self.user.is_authenticated and self.user.role == Role.MODERATOR


def header(request: HttpRequest) -> dict[str, Header]:
    return {"header": Header(request.user)}
