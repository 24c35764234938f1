"""Ask Our Nurses: the nurse answer, the unanswered queue and its service-level reminders.

The nurse's work, built on the forum's services (a post and its locks, closing, notifying)
and on the signposting of ``moderation.services``, where the rest of moderation's writes are.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from accounts.permissions import check_can_write
from accounts.roles import Role
from core.audit import audit_record, clean_reason
from core.errors import Conflict, Forbidden
from forum.models import Notification, Post, Thread
from forum.rendering import render_markdown
from forum.selectors import thread_get
from forum.services import (
    clean_body,
    notify_users,
    post_add,
    post_lock,
    post_revision_keep,
    post_text_replace,
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
MAX_SIGNPOSTS = 20  # chosen for one answer (the API's and the page's input)


def check_is_nurse(user: User) -> None:
    """Nurse work takes the nurse role itself, and its permission: a superuser has every
    permission but, without the role, no title to answer under."""
    if user.role != Role.NURSE or not user.has_perm("moderation.answer_as_nurse"):
        raise Forbidden("not_nurse", "Only the nursing team can do this.")


def signpost_choices() -> tuple[list[SignpostingTemplate], list[InformationResource]]:
    """What a nurse may pick as signposts: the active service and information templates,
    then the information pages (each by its key)."""
    templates = SignpostingTemplate.objects.filter(kind__in=SIGNPOST_KINDS, is_active=True)
    return list(templates), list(InformationResource.objects.all())


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


def _render(template: SignpostingTemplate, context: dict[str, Any], field: str | None) -> str:
    """A stored template rendered; a broken one is a clear error naming it, never a 500."""
    try:
        return render_template(template.body, context)
    except ValidationError as exc:
        message = f"The signposting template “{template.name}” is broken. {' '.join(exc.messages)}"
        raise ValidationError({field: [message]} if field else message) from exc


@dataclass(frozen=True)
class ComposedAnswer:
    """A nurse answer exactly as it would publish: what the preview shows and the post stores."""

    text: str
    closing_notice: str | None
    templates: list[SignpostingTemplate]
    resources: list[InformationResource]
    services: dict[str, Any]

    @property
    def html(self) -> str:
        return render_markdown(self.text)

    def digest(self, *, thread: Thread, nurse: User) -> str:
        """Names this exact text, for this question and nurse: what a preview showed."""
        seen = f"{thread.pk}\n{nurse.pk}\n{self.text}\n{self.closing_notice or ''}"
        return salted_hmac("haven.nurse-answer-preview", seen, algorithm="sha256").hexdigest()


def nurse_answer_compose(
    *, nurse: User, body: str, signposts: list[str], close: bool, now: datetime
) -> ComposedAnswer:
    """The one composition of a nurse answer, for publishing, correcting and previewing.

    The nurse's text, the chosen signposts rendered with the service details of ``now``,
    her sign-off (or the sign-off template) and the disclaimer; with ``close``, the closing
    notice. Writes nothing.
    """
    body = clean_body(body)
    templates, resources = _signposts(signposts)
    context = signposting_context(now=now, nurse=nurse)
    used = list(templates)
    parts = [body]
    parts += [_render(t, context, "signposts") for t in templates]
    parts += [resource_markdown(r) for r in resources]
    if nurse.sign_off:
        parts.append(nurse.sign_off)
    elif sign_off := _first_template(SignpostingTemplate.Kind.SIGN_OFF):
        parts.append(_render(sign_off, context, None))
        used.append(sign_off)
    if disclaimer := _first_template(SignpostingTemplate.Kind.DISCLAIMER):
        parts.append(_render(disclaimer, context, None))
        used.append(disclaimer)
    notice = None
    if close:
        closing = _first_template(SignpostingTemplate.Kind.CLOSING)
        notice = _render(closing, context, None) if closing else DEFAULT_CLOSING
        used += [closing] if closing else []
    return ComposedAnswer(
        text="\n\n".join(part for part in parts if part),
        closing_notice=notice,
        templates=used,
        resources=resources,
        services=context["services"],
    )


def _check_answerable(thread: Thread, *, follow_up: bool) -> None:
    """Nurse answers belong in Ask Our Nurses, on an open question; the first is unique."""
    if not thread.category.nurse_answered:
        raise Forbidden("not_nurse_answered", "Nurse answers belong in Ask Our Nurses.")
    if thread.nurse_answered_at is not None and not follow_up:
        raise Conflict(
            "already_answered",
            "A nurse has already answered this question. Send yours as a follow-up answer.",
        )
    if thread.status == Thread.Status.CLOSED:
        raise Forbidden("thread_closed", "This thread is closed. Reopen it to answer.")


def nurse_answer_preview(
    *,
    nurse: User,
    thread: Thread,
    body: str,
    signposts: list[str],
    close: bool,
    follow_up: bool = False,
) -> ComposedAnswer:
    """What ``nurse_answer_create`` would publish on this question now; nothing is saved.

    Refused as publishing would be (not a nurse, not a nurse-answered question, closed,
    answered already unless ``follow_up``), so a preview never shows what cannot go out.
    """
    check_is_nurse(nurse)
    thread = thread_get(thread_id=thread.pk, viewer=None)
    _check_answerable(thread, follow_up=follow_up)
    return nurse_answer_compose(
        nurse=nurse, body=body, signposts=signposts, close=close, now=timezone.now()
    )


def check_preview_current(
    composed: ComposedAnswer, *, thread: Thread, nurse: User, preview_digest: str
) -> None:
    """409 ``preview_outdated`` unless ``composed`` is exactly what the preview showed."""
    if not constant_time_compare(preview_digest, composed.digest(thread=thread, nurse=nurse)):
        raise Conflict(
            "preview_outdated",
            "What would publish has changed since your preview (the text, the signposts or "
            "the service details): preview it again before publishing.",
        )


def _snapshot(
    *,
    post: Post,
    nurse: User,
    composed: ComposedAnswer,
    version: int,
    is_follow_up: bool,
    reason: str = "",
    now: datetime,
) -> NurseAnswer:
    answer = NurseAnswer.objects.create(
        post=post,
        version=version,
        thread_id=post.thread_id,
        nurse=nurse,
        is_follow_up=is_follow_up,
        published_body=composed.text,
        published_html=post.body_html,
        services=composed.services,
        resources=[{"key": r.key, "title": r.title, "url": r.url} for r in composed.resources],
        reason=reason,
        created_at=now,
    )
    answer.template_versions.set(
        SignpostingTemplateVersion.objects.get(template=t, version=t.version)
        for t in composed.templates
    )
    return answer


@transaction.atomic
def nurse_answer_create(
    *,
    nurse: User,
    thread: Thread,
    body: str,
    signposts: list[str],
    close: bool,
    follow_up: bool = False,
    preview_digest: str | None = None,
) -> Post:
    """A nurse answers an Ask Our Nurses question, signposting support, optionally closing.

    The answer is the nurse's text, the chosen signposts rendered with today's service
    details, her sign-off and the disclaimer (``nurse_answer_compose``): one post, shown
    under her public title only, and an immutable snapshot of what was published with the
    template versions used. The first answer to a question is unique: a second nurse gets
    409 ``already_answered`` unless she sends hers as a follow-up. With ``close`` the thread
    closes in the same transaction, with the closing notice. With ``preview_digest`` (what
    the nurse's preview showed), anything else would publish is refused: 409
    ``preview_outdated``.
    """
    check_is_nurse(nurse)
    check_can_write(nurse)
    thread = thread_lock_visible(thread.pk)
    _check_answerable(thread, follow_up=follow_up)
    answered = thread.nurse_answered_at is not None
    now = timezone.now()
    composed = nurse_answer_compose(
        nurse=nurse, body=body, signposts=signposts, close=close, now=now
    )
    if preview_digest is not None:
        check_preview_current(composed, thread=thread, nurse=nurse, preview_digest=preview_digest)

    post = post_add(thread=thread, author=nurse, body=composed.text, kind=Post.Kind.NURSE_ANSWER)
    if not answered:
        Thread.objects.filter(pk=thread.pk).update(nurse_answered_at=now)
    try:
        with transaction.atomic():
            _snapshot(
                post=post, nurse=nurse, composed=composed, version=1, is_follow_up=answered, now=now
            )
    except IntegrityError as exc:  # belt and braces behind the row lock
        raise Conflict("already_answered", "A nurse has already answered this question.") from exc
    # The asker (at high priority) and the followers hear of it after the commit, from the
    # fan-out job (forum.fanout), whatever the thread's state by then.
    if close:
        thread_close(
            actor=nurse,
            thread=thread,
            reason="Answered by our nurses.",
            notice=composed.closing_notice,
        )
    return post


@transaction.atomic
def nurse_answer_correct(
    *, nurse: User, post: Post, body: str, signposts: list[str], reason: str
) -> Post:
    """Correct a published nurse answer: the only way its text ever changes.

    A nurse recomposes the answer as it was first composed (her text, signposts rendered
    with today's details, sign-off, disclaimer). The correction is the answer's next
    immutable version, with its reason; the post shows it, marked as edited; the text it
    replaces is kept as a revision, and the audit log records who corrected it and why.
    The post keeps the identity it was published under.
    """
    check_is_nurse(nurse)
    check_can_write(nurse)
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": "Say why the answer is corrected."})
    thread = thread_lock_visible(post.thread_id)
    post = post_lock(thread=thread, post_id=post.pk)
    if post.kind != Post.Kind.NURSE_ANSWER:
        raise Forbidden("not_nurse_answer", "Only nurse answers are corrected this way.")
    if post.status != Post.Status.VISIBLE:
        raise Forbidden("not_editable", "This answer is not published.")
    now = timezone.now()
    composed = nurse_answer_compose(
        nurse=nurse, body=body, signposts=signposts, close=False, now=now
    )
    if composed.text == post.body:
        raise ValidationError({"body": "This is the answer as it is published already."})
    previous = NurseAnswer.objects.filter(post=post).order_by("-version").first()
    post_revision_keep(post=post, editor=nurse, reason=reason, now=now)
    post_text_replace(post=post, body=composed.text, now=now)
    answer = _snapshot(
        post=post,
        nurse=nurse,
        composed=composed,
        version=(previous.version if previous else 0) + 1,
        is_follow_up=previous.is_follow_up if previous else True,
        reason=reason,
        now=now,
    )
    audit_record(
        actor=nurse,
        action="nurse_answer_corrected",
        target=post,
        reason=reason,
        data={"version": answer.version, "snapshot": answer.pk},
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
