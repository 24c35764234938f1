"""Ask Our Nurses: the nurse answer, the unanswered queue and its service-level reminders.

Kept apart from ``moderation.services`` because it builds on the forum's services, which
themselves record to the audit log there.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import check_can_write
from accounts.roles import Role
from core.errors import Conflict, Forbidden
from forum.models import Notification, Post, Thread
from forum.services import (
    clean_body,
    notify_followers,
    notify_users,
    post_add,
    thread_close,
    thread_lock_visible,
)
from moderation.models import (
    InformationResource,
    NurseAnswer,
    SignpostingTemplate,
    SignpostingTemplateVersion,
    SlaReminder,
    SupportService,
)
from moderation.opening_hours import OpeningHours
from moderation.services import signposting_context
from moderation.signposting import render_template

DEFAULT_CLOSING = (
    "This thread will now be closed from further replies. If you have any additional "
    "questions or would like to provide feedback, please start a new thread."
)
SIGNPOST_KINDS = (SignpostingTemplate.Kind.SERVICE, SignpostingTemplate.Kind.INFORMATION)


def check_is_nurse(user: User) -> None:
    """Nurse work takes the nurse role itself, and its permission: a superuser has every
    permission but, without the role, no title to answer under."""
    if user.role != Role.NURSE or not user.has_perm("moderation.answer_as_nurse"):
        raise Forbidden("not_nurse", "Only the nursing team can do this.")


def resource_markdown(resource: InformationResource) -> str:
    reviewed = f"{resource.current_as_of:%-d %B %Y}"
    if resource.url:
        link = f"[{resource.title}]({resource.url})"
        return f"You may find our information on {link} helpful (reviewed {reviewed})."
    return f"**{resource.title}** (reviewed {reviewed})\n\n{resource.body}"


def _signposts(keys: list[str]) -> tuple[list[SignpostingTemplate], list[InformationResource]]:
    """The chosen signposts, in the order chosen: templates first, then information pages."""
    keys = list(dict.fromkeys(keys))
    templates = {
        t.key: t
        for t in SignpostingTemplate.objects.filter(
            key__in=keys, kind__in=SIGNPOST_KINDS, is_active=True
        )
    }
    resources = {r.key: r for r in InformationResource.objects.filter(key__in=keys)}
    unknown = [key for key in keys if key not in templates and key not in resources]
    if unknown:
        raise ValidationError({"signposts": [f"Unknown signpost “{key}”." for key in unknown]})
    return (
        [templates[k] for k in keys if k in templates],
        [resources[k] for k in keys if k in resources],
    )


def _first_template(kind: SignpostingTemplate.Kind) -> SignpostingTemplate | None:
    return (
        SignpostingTemplate.objects.filter(kind=kind, is_active=True)
        .order_by("position", "id")
        .first()
    )


@transaction.atomic
def nurse_answer_create(
    *,
    nurse: User,
    thread: Thread,
    body: str,
    signposts: list[str],
    close: bool,
    follow_up: bool = False,
) -> Post:
    """A nurse answers an Ask Our Nurses question, signposting support, optionally closing.

    The answer is the nurse's text, the chosen signposts rendered with today's service
    details, her sign-off and the disclaimer: one post, shown under her public title only,
    and an immutable snapshot of what was published with the template versions used. The
    first answer to a question is unique: a second nurse gets 409 ``already_answered``
    unless she sends hers as a follow-up. With ``close`` the thread closes in the same
    transaction, with the closing notice.
    """
    check_is_nurse(nurse)
    check_can_write(nurse)
    body = clean_body(body)
    thread = thread_lock_visible(thread.pk)
    if not thread.category.nurse_answered:
        raise Forbidden("not_nurse_answered", "Nurse answers belong in Ask Our Nurses.")
    answered = thread.nurse_answered_at is not None
    if answered and not follow_up:
        raise Conflict(
            "already_answered",
            "A nurse has already answered this question. Send yours as a follow-up answer.",
        )
    if thread.status == Thread.Status.CLOSED:
        raise Forbidden("thread_closed", "This thread is closed. Reopen it to answer.")
    templates, resources = _signposts(signposts)

    now = timezone.now()
    context = signposting_context(now=now, nurse=nurse)
    used = list(templates)
    parts = [body]
    parts += [render_template(t.body, context) for t in templates]
    parts += [resource_markdown(r) for r in resources]
    if nurse.sign_off:
        parts.append(nurse.sign_off)
    elif sign_off := _first_template(SignpostingTemplate.Kind.SIGN_OFF):
        parts.append(render_template(sign_off.body, context))
        used.append(sign_off)
    if disclaimer := _first_template(SignpostingTemplate.Kind.DISCLAIMER):
        parts.append(render_template(disclaimer.body, context))
        used.append(disclaimer)
    text = "\n\n".join(part for part in parts if part)

    post = post_add(thread=thread, author=nurse, body=text, kind=Post.Kind.NURSE_ANSWER)
    if not answered:
        Thread.objects.filter(pk=thread.pk).update(nurse_answered_at=now)
    try:
        with transaction.atomic():
            answer = NurseAnswer.objects.create(
                post=post,
                thread=thread,
                nurse=nurse,
                is_follow_up=answered,
                published_body=text,
                published_html=post.body_html,
                services=context["services"],
                resources=[{"key": r.key, "title": r.title, "url": r.url} for r in resources],
                created_at=now,
            )
    except IntegrityError as exc:  # belt and braces behind the row lock
        raise Conflict("already_answered", "A nurse has already answered this question.") from exc
    answer.template_versions.set(
        SignpostingTemplateVersion.objects.get(template=t, version=t.version) for t in used
    )
    notify_followers(
        thread=thread,
        post=post,
        kind=Notification.Kind.NURSE_ANSWER,
        actor=nurse,
        also=[thread.author_id] if thread.author_id else [],
        high_priority_for=[thread.author_id] if thread.author_id else [],
    )
    if close:
        closing = _first_template(SignpostingTemplate.Kind.CLOSING)
        notice = render_template(closing.body, context) if closing else DEFAULT_CLOSING
        thread_close(actor=nurse, thread=thread, reason="Answered by our nurses.", notice=notice)
        if closing:
            answer.template_versions.add(
                SignpostingTemplateVersion.objects.get(template=closing, version=closing.version)
            )
    return post


# --- The queue ------------------------------------------------------------------------------


def nursing_hours() -> OpeningHours | None:
    """The nursing team's working hours: those of the service named in the settings."""
    service = SupportService.objects.filter(key=settings.HAVEN_NURSE_HOURS_SERVICE).first()
    return service.opening_hours if service else None


def working_hours_between(hours: OpeningHours | None, start: datetime, end: datetime) -> float:
    if hours is None:  # no hours configured: every hour counts
        return max((end - start).total_seconds(), 0) / 3600
    return hours.working_seconds_between(start, end) / 3600


def unanswered_questions() -> QuerySet[Thread]:
    """Open Ask Our Nurses questions no nurse has answered, oldest first."""
    return (
        Thread.objects.filter(
            category__nurse_answered=True,
            nurse_answered_at__isnull=True,
            status=Thread.Status.OPEN,
            visibility=Thread.Visibility.VISIBLE,
        )
        .select_related("category", "author")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class QueueEntry:
    thread: Thread
    age_working_hours: float
    overdue: bool


def nurse_queue(
    *, threads: Iterable[Thread] | None = None, now: datetime | None = None
) -> list[QueueEntry]:
    """Questions (all unanswered ones, or a page of them) with their age in working hours."""
    now = now or timezone.now()
    hours = nursing_hours()
    sla = settings.HAVEN_NURSE_SLA_WORKING_HOURS
    entries = []
    for thread in unanswered_questions() if threads is None else threads:
        age = working_hours_between(hours, thread.created_at, now)
        entries.append(
            QueueEntry(thread=thread, age_working_hours=round(age, 2), overdue=age >= sla)
        )
    return entries


def nurse_sla_remind(*, now: datetime | None = None) -> int:
    """Remind the nurses of each question past the service level, once per question per level.

    Level 1 fires at the service level, level 2 at twice it, and so on. The reminder row is
    unique per question and level, so overlapping beats (or a re-run) remind nobody twice.
    """
    now = now or timezone.now()
    sent = 0
    sla = settings.HAVEN_NURSE_SLA_WORKING_HOURS
    nurses = User.objects.filter(role=Role.NURSE, is_active=True)
    if not nurses.exists():
        return 0  # nobody to remind: record nothing, so the reminders come once nurses do
    for entry in nurse_queue(now=now):
        level = int(entry.age_working_hours // sla)
        if level < 1:
            continue
        try:
            with transaction.atomic():
                SlaReminder.objects.create(thread=entry.thread, level=level, sent_at=now)
                opening = (
                    Post.objects.filter(thread=entry.thread).order_by("created_at", "id").first()
                )
                if opening is None:
                    continue
                notify_users(
                    recipients=nurses,
                    thread=entry.thread,
                    post=opening,
                    kind=Notification.Kind.SLA_REMINDER,
                    actor=None,
                    email_always=True,
                    sequence=level,
                )
        except IntegrityError:
            continue  # this level was already reminded
        sent += 1
    return sent
