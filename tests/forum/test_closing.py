import pytest

from accounts.roles import Role
from core.errors import ApplicationError
from core.models import AuditEntry
from forum.models import Post, Thread
from forum.services import thread_close, thread_reopen
from tests.factories import UserFactory, make_thread

pytestmark = pytest.mark.django_db


def test_a_nurse_closes_and_reopens_with_notices_and_an_audit_trail():
    nurse = UserFactory(display_name="Care Team 1", role=Role.NURSE)
    thread = make_thread()
    thread_close(actor=nurse, thread=thread, reason="Answered by our nurses.")
    thread.refresh_from_db()
    assert (thread.status, thread.closed_by, thread.close_reason) == (
        "closed",
        nurse,
        "Answered by our nurses.",
    )
    notice = Post.objects.get(thread=thread, kind="system")
    assert notice.author is None
    assert notice.body == "Answered by our nurses."
    assert thread.reply_count == 0  # notices are not replies

    with pytest.raises(ApplicationError) as closed_twice:
        thread_close(actor=nurse, thread=thread)
    assert (closed_twice.value.code, closed_twice.value.status) == ("already_closed", 409)

    thread_reopen(actor=nurse, thread=thread, reason="More to say")
    thread.refresh_from_db()
    assert (thread.status, thread.closed_at, thread.closed_by) == ("open", None, None)
    kinds = list(AuditEntry.objects.for_target(thread).values_list("action", "reason"))
    assert sorted(kinds) == [
        ("thread_closed", "Answered by our nurses."),
        ("thread_reopened", "More to say"),
    ]


def test_members_cannot_close_threads():
    thread = make_thread()
    with pytest.raises(ApplicationError) as refused:
        thread_close(actor=thread.author, thread=thread)
    assert (refused.value.code, refused.value.status) == ("not_allowed", 403)
    assert Thread.objects.get(pk=thread.pk).status == "open"
    assert not Post.objects.filter(thread=thread, kind="system").exists()
