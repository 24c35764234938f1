"""Pages for reporting a post and for the staff: a nurse's answer (signposts, preview),
closing and reopening, hiding and restoring, the review queue and the nurses' questions.

Thin like the API views, on the same services and selectors: the services decide who may
do what and say why not. Their refusals become the page's words: field errors beside the
fields (``ValidationError``), a 403 page for someone who may not use a page at all, a
message for a state that changed under the request (``Conflict``). Every write is a plain
form POST answered by a redirect with a confirmation (no JavaScript needed).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.identity import published_author
from accounts.models import User
from core.api.pagination import ThreadPagination
from core.api.throttling import throttle_wait
from core.errors import ApplicationError, Forbidden
from core.pages import page_or_404, query_string, render_page
from forum import policy
from forum.models import Post, Thread
from forum.selectors import post_page_queryset, post_visible_get, thread_get, thread_visible_to
from forum.services import (
    check_may_close,
    post_hide,
    post_restore,
    thread_close,
    thread_reopen,
)
from moderation.answers import (
    MAX_SIGNPOSTS,
    check_is_nurse,
    nurse_answer_create,
    nurse_answer_preview,
    nurse_queue,
    signpost_choices,
    unanswered_questions,
)
from moderation.filters import ReviewItemFilter
from moderation.flags import CRISIS, flag_create, open_flag_of
from moderation.models import FLAG_REASONS, Flag, ReviewItem
from moderation.queue import (
    ACTIONS,
    claim_is_live,
    flagger_public,
    review_claim,
    review_item_get,
    review_resolve,
)
from moderation.review import REASON_SCORE

# What the report form calls each reason the API takes (``FLAG_REASONS``), in its order.
REPORT_LABELS = {
    "spam": "Spam",
    "inappropriate": "Inappropriate",
    "misinformation": "Misinformation",
    "safeguarding": "Someone may be at risk",
    "other": "Something else",
}
DECISION_LABELS = {
    "approve": "Approve",
    "reject": "Reject",
    "hide": "Hide",
    "restore": "Restore",
    "dismiss": "Dismiss",
}
DECISION_HINTS = {
    "approve": "Publish a held post, or show a hidden one again.",
    "reject": "Refuse a held post, or hide a visible one. The author is told, with your note.",
    "hide": "Hide the post from everyone but moderators. The author is told, with your note.",
    "restore": "Show a hidden post again.",
    "dismiss": "The reports were unfounded: the post stays as it is (shown again if only "
    "the reports hid it).",
}


# --- What every page here shares --------------------------------------------------------


@dataclass
class Problems:
    """What was wrong with a form: messages by field, and those about the whole form.

    ``anchors`` names the element each field's summary link points at (a radio group's
    first radio); the error summary at the top links to each field.
    """

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def take(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                for message in errors:
                    self.add(name, message)
        else:
            self.general += exc.messages

    @property
    def summary(self) -> list[tuple[str | None, str]]:
        general: list[tuple[str | None, str]] = [(None, message) for message in self.general]
        linked: list[tuple[str | None, str]] = [
            (self.anchors.get(name, f"field-{name}"), message)
            for name, errors in self.fields.items()
            for message in errors
        ]
        return general + linked


def _refused(request: HttpRequest, exc: Forbidden) -> HttpResponse:
    """The branded 403 page, saying why (the service's own words)."""
    context = {"detail": exc.detail}
    return render_page(request, "haven/refused.html", context, title="Not allowed", status=403)


def _see(url: str) -> HttpResponseRedirect:
    """After a POST: back to a page with GET (303, whatever the form's method)."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _post_url(post: Post) -> str:
    """Where a post is shown: its permalink (the thread page that holds it)."""
    return reverse("pages:post", args=[post.pk])


def _thread_url(thread: Thread) -> str:
    return reverse("pages:thread", args=[thread.pk])


def _staff_only(check: Callable[[User], None]) -> Callable[..., Any]:
    """Signed in (else the sign-in page), then ``check`` (a ``Forbidden``: the 403 page)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                check(request.user)  # type: ignore[arg-type]
            except Forbidden as exc:
                return _refused(request, exc)
            return view(request, **kwargs)

        return wrapped

    return decorate


def _check_nurse_queue(user: User) -> None:
    check_is_nurse(user)
    if not user.has_perm("moderation.view_nurse_queue"):
        raise Forbidden("not_nurse", "Only the nursing team sees the questions.")


def _needs_perm(perm: str, message: str) -> Callable[[User], None]:
    """The API's permission classes (``CanReview``, ``CanModeratePost``) for a page."""

    def check(user: User) -> None:
        if not user.has_perm(perm):
            raise Forbidden("not_moderator", message)

    return check


_check_reviewer = _needs_perm("moderation.review", "Only moderators work the review queue.")
_check_post_moderator = _needs_perm("forum.moderate_post", "Only moderators hide or restore posts.")


def _post_context(post: Post) -> dict[str, Any]:
    author = None if post.kind == Post.Kind.SYSTEM else published_author(post)
    return {"post": post, "post_author": author}


# --- Reporting a post -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, post_id: int) -> HttpResponse:
    """Report someone else's post to the moderators (``flag_create``).

    Once she has reported it (her flag is open), the page thanks her instead of asking again;
    for "Someone may be at risk" it shows the crisis signposting, where to get help now. So
    does it when her report hid the post (the flag threshold): the post is then not quoted.
    """
    user: Any = request.user
    if request.method == "POST":
        return _report_send(request, post_id)
    try:
        post = post_visible_get(post_id=post_id, viewer=user)
    except Http404:
        return _report_sent_unseen(request, post_id)
    sent = open_flag_of(flagger=user, post=post)
    if sent is not None:
        return _report_sent(request, post, sent, shown=True)
    return _report_form(request, post, values={}, problems=Problems())


def _report_sent_unseen(request: HttpRequest, post_id: int) -> HttpResponse:
    """The thanks for a report on a post she may no longer see (her report hid it, or
    others' did since): only while her flag is open; anyone else is told nothing (404)."""
    user: Any = request.user
    post = get_object_or_404(Post.objects.select_related("thread"), pk=post_id)
    sent = open_flag_of(flagger=user, post=post)
    if sent is None:
        raise Http404("No such post.")
    return _report_sent(request, post, sent, shown=False)


def _report_sent(request: HttpRequest, post: Post, sent: Flag, *, shown: bool) -> HttpResponse:
    """The thanks, with crisis signposting for "Someone may be at risk"; the post quoted
    only if ``shown`` (she may see it)."""
    at_risk = sent.reason == ReviewItem.Reason.SAFEGUARDING
    context = {
        **(_post_context(post) if shown else {"post": None}),
        "flag": sent,
        "support": policy.support_html(CRISIS) if at_risk else None,
        "back_to_thread": thread_visible_to(post.thread, request.user),
        "thread_id": post.thread_id,
    }
    return render_page(request, "haven/report_sent.html", context, title="Report sent")


def _report_form(
    request: HttpRequest,
    post: Post,
    *,
    values: dict[str, str],
    problems: Problems,
    status: int = 200,
) -> HttpResponse:
    problems.anchors["reason"] = "reason-" + FLAG_REASONS[0][0]
    context = {
        **_post_context(post),
        "reasons": [(value, REPORT_LABELS.get(value, label)) for value, label in FLAG_REASONS],
        "values": values,
        "problems": problems,
    }
    return render_page(request, "haven/report.html", context, title="Report a post", status=status)


def _report_send(request: HttpRequest, post_id: int) -> HttpResponse:
    user: Any = request.user
    post = post_visible_get(post_id=post_id, viewer=user)
    values = {"reason": request.POST.get("reason", ""), "note": request.POST.get("note", "")}
    problems = Problems()
    status = 400
    if (wait := throttle_wait(request, scope="flagging")) is not None:
        minutes = math.ceil(wait / 60)
        problems.general.append(
            "You have sent a lot of reports in a short time. Please try again in "
            f"{minutes} minute{'s' if minutes > 1 else ''}."
        )
        response = _report_form(request, post, values=values, problems=problems, status=429)
        response["Retry-After"] = str(wait)
        return response
    if not values["reason"]:
        problems.add("reason", "Choose why you are reporting this post.")
    else:
        try:
            flag_create(flagger=user, post=post, reason=values["reason"], note=values["note"])
        except ValidationError as exc:
            problems.take(exc)
        except ApplicationError as exc:
            problems.general.append(exc.detail)
            status = exc.status
        else:
            messages.success(request, "Thank you: your report has been sent to the moderators.")
            return _see(reverse("mod:report", args=[post.pk]))
    return _report_form(request, post, values=values, problems=problems, status=status)


# --- A nurse's answer -------------------------------------------------------------------


@dataclass
class _Draft:
    """What the nurse typed and ticked, as the form sends it back."""

    body: str = ""
    signposts: list[str] = field(default_factory=list)
    close: bool = False
    follow_up: bool = False

    @classmethod
    def from_post(cls, request: HttpRequest) -> "_Draft":
        return cls(
            body=request.POST.get("body", ""),
            signposts=request.POST.getlist("signposts"),
            close=request.POST.get("close") == "true",
            follow_up=request.POST.get("follow_up") == "true",
        )

    def service_args(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "signposts": self.signposts,
            "close": self.close,
            "follow_up": self.follow_up,
        }


@_staff_only(check_is_nurse)
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Compose, preview, then publish a nurse answer (``nurse_answer_preview``, then
    ``nurse_answer_create`` with the preview's digest): what publishes is what was previewed,
    or nothing. A question already answered takes a follow-up answer."""
    nurse: Any = request.user
    thread = thread_get(thread_id=thread_id, viewer=nurse)
    if request.method == "GET":
        draft = _Draft(follow_up=thread.nurse_answered_at is not None)
        return _answer_page(request, thread, draft=draft)
    draft = _Draft.from_post(request)
    problems = Problems()
    if len(draft.signposts) > MAX_SIGNPOSTS:
        problems.add("signposts", f"Choose at most {MAX_SIGNPOSTS} signposts.")
        return _answer_page(request, thread, draft=draft, problems=problems, status=400)
    if request.POST.get("action") == "publish":
        return _answer_publish(request, thread, draft)
    try:
        composed = nurse_answer_preview(nurse=nurse, thread=thread, **draft.service_args())
    except ValidationError as exc:
        problems.take(exc)
        return _answer_page(request, thread, draft=draft, problems=problems, status=400)
    except ApplicationError as exc:
        problems.general.append(exc.detail)
        return _answer_page(request, thread, draft=draft, problems=problems, status=exc.status)
    preview = {
        "html": composed.html,
        "closing_notice": composed.closing_notice,
        "digest": composed.digest(thread=thread, nurse=nurse),
    }
    return _answer_page(request, thread, draft=draft, preview=preview)


def _answer_publish(request: HttpRequest, thread: Thread, draft: _Draft) -> HttpResponse:
    problems = Problems()
    digest = request.POST.get("preview_digest", "")
    if not digest:
        problems.general.append("Preview your answer before publishing it.")
        return _answer_page(request, thread, draft=draft, problems=problems, status=400)
    try:
        post = nurse_answer_create(
            nurse=request.user,  # type: ignore[arg-type]
            thread=thread,
            preview_digest=digest,
            **draft.service_args(),
        )
    except ValidationError as exc:
        problems.take(exc)
        return _answer_page(request, thread, draft=draft, problems=problems, status=400)
    except ApplicationError as exc:
        problems.general.append(exc.detail)
        if exc.code == "already_answered":  # another nurse was first: hers goes as a follow-up
            draft.follow_up = True
        return _answer_page(request, thread, draft=draft, problems=problems, status=exc.status)
    done = "Your answer is published" + (" and the thread is closed." if draft.close else ".")
    messages.success(request, done)
    return _see(_post_url(post))


def _answer_page(
    request: HttpRequest,
    thread: Thread,
    *,
    draft: _Draft,
    problems: Problems | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    problems = problems or Problems()
    templates, resources = signpost_choices()
    today = timezone.localdate()
    choices = [(t.key, t.name, False) for t in templates]
    choices += [(r.key, r.title, r.is_overdue(today)) for r in resources]
    if choices:
        problems.anchors["signposts"] = f"signpost-{choices[0][0]}"
    opening = post_page_queryset(thread=thread, viewer=request.user).order_by("created_at", "id")
    context = {
        "thread": thread,
        "question": opening.first(),
        "question_author": published_author(thread),
        "draft": draft,
        "choices": choices,
        "problems": problems,
        "preview": preview,
    }
    return render_page(
        request, "haven/answer.html", context, title="Answer as nurse", status=status
    )


# --- Closing and reopening --------------------------------------------------------------


def _thread_change(
    request: HttpRequest,
    thread_id: int,
    *,
    service: Callable[..., Thread],
    closing: bool,
    title: str,
    done: str,
) -> HttpResponse:
    user: Any = request.user
    thread = thread_get(thread_id=thread_id, viewer=user)
    problems = Problems()
    reason = request.POST.get("reason", "")
    if request.method == "POST":
        try:
            service(actor=user, thread=thread, reason=reason)
        except ValidationError as exc:
            problems.take(exc)
        except Forbidden as exc:
            return _refused(request, exc)
        except ApplicationError as exc:  # already closed, or open: nothing to do
            messages.error(request, exc.detail)
            return _see(_thread_url(thread))
        else:
            messages.success(request, done)
            return _see(_thread_url(thread))
    context = {"thread": thread, "reason": reason, "problems": problems, "closing": closing}
    status = 400 if problems else 200
    return render_page(
        request,
        "haven/thread_change.html",
        context,
        title=f"{title}: {thread.title}",
        status=status,
    )


@_staff_only(check_may_close)
@require_http_methods(["GET", "POST"])
def close(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Close a thread to replies with an optional note (``thread_close``)."""
    return _thread_change(
        request,
        thread_id,
        service=thread_close,
        closing=True,
        title="Close thread",
        done="The thread is closed to new replies.",
    )


@_staff_only(check_may_close)
@require_http_methods(["GET", "POST"])
def reopen(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Open a closed thread to replies again (``thread_reopen``)."""
    return _thread_change(
        request,
        thread_id,
        service=thread_reopen,
        closing=False,
        title="Reopen thread",
        done="The thread is open for replies again.",
    )


# --- Hiding and restoring a post --------------------------------------------------------


def _post_change(request: HttpRequest, post_id: int, *, hide: bool) -> HttpResponse:
    user: Any = request.user
    post = post_visible_get(post_id=post_id, viewer=user)
    problems = Problems()
    values = {"reason": request.POST.get("reason", ""), "note": request.POST.get("note", "")}
    if request.method == "POST":
        try:
            if hide:
                post_hide(actor=user, post=post, reason=values["reason"], note=values["note"])
            else:
                post_restore(actor=user, post=post, reason=values["reason"])
        except ValidationError as exc:
            problems.take(exc)
        except Forbidden as exc:
            return _refused(request, exc)
        except ApplicationError as exc:  # already hidden, not hidden, deleted
            messages.error(request, exc.detail)
            return _see(_post_url(post))
        else:
            messages.success(request, "The post is hidden." if hide else "The post is restored.")
            return _see(_post_url(post))
    title = "Hide post" if hide else "Restore post"
    context = {**_post_context(post), "hide": hide, "values": values, "problems": problems}
    status = 400 if problems else 200
    return render_page(request, "haven/post_moderate.html", context, title=title, status=status)


@_staff_only(_check_post_moderator)
@require_http_methods(["GET", "POST"])
def hide(request: HttpRequest, post_id: int) -> HttpResponse:
    """Hide a post from everyone but moderators, with a reason (``post_hide``)."""
    return _post_change(request, post_id, hide=True)


@_staff_only(_check_post_moderator)
@require_http_methods(["GET", "POST"])
def restore(request: HttpRequest, post_id: int) -> HttpResponse:
    """Show a hidden post again (``post_restore``)."""
    return _post_change(request, post_id, hide=False)


# --- The nurses' questions --------------------------------------------------------------


@_staff_only(_check_nurse_queue)
@require_http_methods(["GET"])
def questions(request: HttpRequest) -> HttpResponse:
    """Unanswered Ask Our Nurses questions, oldest first, with their age in working hours."""
    page = page_or_404(unanswered_questions(), ThreadPagination.page_size, request.GET.get("page"))
    entries = [(entry, published_author(entry.thread)) for entry in nurse_queue(threads=page)]
    context = {"page": page, "entries": entries}
    return render_page(request, "haven/questions.html", context, title="Nurse questions")


# --- The review queue -------------------------------------------------------------------

QUEUE_FILTERS = ("status", "reason", "urgent")


def _reasons(item: ReviewItem) -> list[str]:
    """The item's reasons by label, the weightiest first (safeguarding before spam)."""
    labels = dict(ReviewItem.Reason.choices)
    weighed = sorted(item.reasons, key=lambda r: (-REASON_SCORE.get(r, 1), labels.get(r, r)))
    return [labels.get(reason, reason) for reason in weighed]


@_staff_only(_check_reviewer)
@require_http_methods(["GET"])
def queue(request: HttpRequest) -> HttpResponse:
    """The review queue as the API lists it (``ReviewItemFilter``): pending items, urgent
    first then oldest; filters by reason, status and urgency. A filter value the API would
    refuse is ignored; a page that is not one is a 404."""
    params = {key: request.GET[key] for key in QUEUE_FILTERS if request.GET.get(key)}
    filters = ReviewItemFilter(params, queryset=ReviewItem.objects.none())
    if not filters.is_valid():
        params = {key: value for key, value in params.items() if key not in filters.errors}
        filters = ReviewItemFilter(params, queryset=ReviewItem.objects.none())
        filters.is_valid()
    page = page_or_404(filters.qs, ThreadPagination.page_size, request.GET.get("page"))
    now = timezone.now()
    rows = [_queue_row(item, viewer=request.user, now=now) for item in page]
    context = {
        "page": page,
        "rows": rows,
        "params": params,
        "statuses": ReviewItem.Status.choices,
        "reasons": ReviewItem.Reason.choices,
        "previous": query_string(params, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "next": query_string(params, page=page.next_page_number()) if page.has_next() else None,
    }
    return render_page(request, "haven/queue.html", context, title="Review queue")


def _queue_row(item: ReviewItem, *, viewer: Any, now: datetime) -> dict[str, Any]:
    claimed = claim_is_live(item, now=now)
    return {
        "item": item,
        "reasons": _reasons(item),
        "flags": len(item.flags.all()),
        "claimed": claimed,
        "claimed_by_me": claimed and item.claimed_by_id == viewer.pk,
    }


@_staff_only(_check_reviewer)
@require_http_methods(["GET", "POST"])
def item(request: HttpRequest, item_id: int) -> HttpResponse:
    """One review item: the post (held or hidden shown to the moderator), its flags and who
    raised them (as the API shows moderators), Claim or Release, and the Resolve form
    (``review_claim``, ``review_resolve``)."""
    moderator: Any = request.user
    problems = Problems()
    values = {"action": request.POST.get("action", ""), "note": request.POST.get("note", "")}
    if request.method == "POST":
        found = get_object_or_404(ReviewItem, pk=item_id)
        step = request.POST.get("step")
        try:
            if step in ("claim", "release"):
                review_claim(moderator=moderator, item=found, release=step == "release")
                done = "You have claimed this item." if step == "claim" else "You released it."
                messages.success(request, done)
                return _see(reverse("mod:item", args=[item_id]))
            if not values["action"]:
                problems.add("action", "Choose a decision.")
            else:
                resolved = review_resolve(
                    moderator=moderator, item=found, action=values["action"], note=values["note"]
                )
                label = dict(ReviewItem.Status.choices)[resolved.status].lower()
                messages.success(request, f"Resolved: {label}.")
                return _see(reverse("mod:queue"))
        except ValidationError as exc:
            problems.take(exc)
        except Forbidden as exc:
            return _refused(request, exc)
        except ApplicationError as exc:  # claimed by another, resolved already, still held
            messages.error(request, exc.detail)
            return _see(reverse("mod:item", args=[item_id]))
    shown = review_item_get(item_id=item_id)
    problems.anchors["action"] = f"decision-{ACTIONS[0]}"
    row = _queue_row(shown, viewer=moderator, now=timezone.now())
    flags = [(flag, flagger_public(flag.flagger)) for flag in shown.flags.all()]
    context = {
        **row,
        **_post_context(shown.post),
        "thread": shown.thread,
        "flag_rows": flags,
        "decisions": [(a, DECISION_LABELS[a], DECISION_HINTS[a]) for a in ACTIONS],
        "values": values,
        "problems": problems,
        "pending": shown.status == ReviewItem.Status.PENDING,
        "status_label": dict(ReviewItem.Status.choices)[shown.status],
    }
    status = 400 if problems else 200
    return render_page(
        request,
        "haven/queue_item.html",
        context,
        title=f"Review: {shown.thread.title}",
        status=status,
    )
