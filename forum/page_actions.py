"""Members' writing pages: new thread (with "asked before?" suggestions), reply, edit,
delete, like, follow, notifications and search.

Thin like the API views, on the same services and selectors: a page parses its form, calls
one service, and shows the service's refusal where the member will read it (a field's
error beside the field, any other refusal in the form's error summary, with the API's
status). Every action works without JavaScript (POST, then a 303 back to the page with a
confirmation); htmx only swaps a fragment in place (likes, follows, suggestions). The API's
``posting`` throttle counts page posts in the same allowance (``core.api.throttling``).
"""

import math
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request

from accounts.identity import published_author
from core.api.pagination import NotificationCursorPagination, ThreadPagination
from core.api.throttling import throttle_wait
from core.errors import ApplicationError, Forbidden
from core.pages import page_or_404, render_page
from forum import selectors, services
from forum.filters import ThreadFilter
from forum.models import NOTICES_WITHOUT_POST_LINK, Category, Post, Thread
from forum.pages import link_query, may_reply, post_url

View = Callable[..., HttpResponse]


class SeeOther(HttpResponseRedirect):
    """After a POST: the browser GETs the page it is sent to (POST/redirect/GET)."""

    status_code = 303


def member_required(view: View) -> View:
    """``login_required``, but an htmx request is sent to the sign-in page as a whole page
    (``HX-Redirect``) rather than getting it swapped into a button."""
    guarded = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "htmx", False) and not request.user.is_authenticated:
            here = urlsplit(request.headers.get("HX-Current-URL") or request.path).path
            return HttpResponseClientRedirect(redirect_to_login(here)["Location"])
        return guarded(request, *args, **kwargs)

    return wrapper


# --- Forms and the services' refusals ---------------------------------------------------------


class _Form(forms.Form):
    """A form that only carries what was typed: every rule is the service's."""

    retry_after: int | None = None  # seconds, once the posting throttle refused

    def refuse(self, exc: ValidationError | ApplicationError) -> int:
        """Put a service's refusal on the form; the status the page answers with."""
        if isinstance(exc, ApplicationError):
            self.add_error(None, exc.detail)
            return int(exc.status)
        fields = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, field_messages in fields.items():
            for message in field_messages:
                self.add_error(field if field in self.fields else None, message)
        return 400

    def throttled(self, request: HttpRequest) -> int | None:
        """The API's ``posting`` throttle for this member: 429 with when to try again."""
        wait = throttle_wait(request, scope="posting")
        if wait is None:
            return None
        seconds = self.retry_after = max(1, math.ceil(wait))
        self.add_error(
            None,
            f"You are posting faster than Haven allows. Please wait {seconds} "
            f"second{'s' if seconds != 1 else ''}, then send it again.",
        )
        return 429


class ThreadForm(_Form):
    title = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)


class BodyForm(_Form):
    body = forms.CharField(required=False, strip=False)


class EditForm(BodyForm):
    reason = forms.CharField(required=False, strip=False)


def _with_retry_after(response: HttpResponse, form: _Form) -> HttpResponse:
    if form.retry_after is not None:
        response["Retry-After"] = str(form.retry_after)
    return response


# --- New thread, with "asked before?" ---------------------------------------------------------


def _similar(title: str) -> list[Thread]:
    # The API's ``title`` filter takes 200 characters; so does the page.
    return selectors.thread_similar(title=title[:200]) if title.strip() else []


# Live validation (htmx, as the member leaves a field): the services' own checks of one field.
_FIELD_CHECKS: dict[str, Callable[[str], str]] = {
    "title": services.clean_title,
    "body": services.clean_body,
}


def _validate_field(form: _Form, name: str) -> None:
    check = _FIELD_CHECKS.get(name)
    if check is None:
        raise BadRequest("No such field to check.")
    try:
        check(form.cleaned_data[name])
    except ValidationError as exc:
        form.refuse(exc)


@member_required
@require_http_methods(["GET", "POST"])
def thread_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Start a thread in a category. "Check for similar threads" shows what was asked
    before without writing anything (the htmx suggestions do it as the title is typed);
    with htmx, a field left with text the service would refuse shows its error at once."""
    category = get_object_or_404(Category, slug=slug)
    form = ThreadForm(request.POST if request.method == "POST" else None)
    status = 200
    action = request.POST.get("action")
    checked = action == "check"
    if form.is_bound and form.is_valid() and not checked:
        data = form.cleaned_data
        if action == "validate":  # live validation: no write, no throttle
            _validate_field(form, request.POST.get("field", ""))
        elif (refused := form.throttled(request)) is not None:
            status = refused
        else:
            try:
                thread = services.thread_create(
                    author=request.user,  # type: ignore[arg-type]
                    category=category,
                    title=data["title"],
                    body=data["body"],
                )
            except (ValidationError, ApplicationError) as exc:
                status = form.refuse(exc)
            else:
                if thread.visibility == Thread.Visibility.PENDING:
                    messages.info(
                        request,
                        "Your thread is awaiting review: a moderator will read it before "
                        "others can see it.",
                    )
                else:
                    messages.success(request, "Your thread is posted.")
                return SeeOther(reverse("pages:thread", args=[thread.pk]))
    title = form["title"].value() or ""
    context = {
        "category": category,
        "form": form,
        "suggestions": _similar(title)
        if checked or (form.errors and action != "validate")
        else None,
    }
    response = render_page(
        request, "haven/forum/thread_new.html", context, title="Start a new thread", status=status
    )
    return _with_retry_after(response, form)


@require_http_methods(["GET"])
def suggest(request: HttpRequest) -> HttpResponse:
    """Threads like a draft title: the new-thread page's "Asked before?" region (htmx), or
    a page of its own."""
    typed = request.GET.get("title", "").strip()
    wait = _search_wait(request) if typed else None
    context: dict[str, Any] = {"typed": typed, "suggestions": None, "too_fast": None}
    if wait is not None:
        context["too_fast"] = _searching_too_fast(wait)
    elif typed:
        context["suggestions"] = _similar(typed)
    if getattr(request, "htmx", False):  # htmx swaps no 429: the region says it, at 200
        return render(request, "haven/forum/_suggestions.html", context)
    response = render_page(
        request,
        "haven/forum/suggest.html",
        context,
        title="Asked before?",
        status=200 if wait is None else 429,
    )
    return _retry_after(response, wait)


# --- Replies, edits, deletions ----------------------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Reply to a thread. The form sits on the thread page; this page shows it alone (and
    with its errors, the text kept)."""
    thread = selectors.thread_get(thread_id=thread_id, viewer=request.user)
    form = BodyForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound and form.is_valid():
        if (refused := form.throttled(request)) is not None:
            status = refused
        else:
            try:
                post = services.post_create(
                    author=request.user,  # type: ignore[arg-type]
                    thread=thread,
                    body=form.cleaned_data["body"],
                )
            except (ValidationError, ApplicationError) as exc:
                status = form.refuse(exc)
            else:
                if post.status == Post.Status.PENDING:
                    messages.info(
                        request,
                        "Your reply is awaiting review: a moderator will read it before "
                        "others can see it.",
                    )
                else:
                    messages.success(request, "Your reply is posted.")
                post.thread = thread
                return SeeOther(post_url(post, request.user))
    context = {"thread": thread, "form": form, "may_reply": may_reply(thread, request.user)}
    response = render_page(
        request, "haven/forum/reply.html", context, title=f"Reply: {thread.title}", status=status
    )
    return _with_retry_after(response, form)


def _refused_page(
    request: HttpRequest, exc: ApplicationError, *, post: Post, heading: str
) -> HttpResponse:
    """A refusal with nothing to correct in a form: the reason, and the way back."""
    context = {"post": post, "heading": heading, "reason": exc.detail}
    return render_page(
        request, "haven/forum/refused.html", context, title=heading, status=exc.status
    )


def _as_the_service_asks(check: Callable[..., None], *, user: Any, **objects: Any) -> None:
    """Ask a service's rule (``check_may_edit``, ``check_may_delete``) as the service will:
    a moderator is whoever holds ``forum.moderate_post``, whatever her role (``post_edit``
    and ``post_delete`` ask so). A moderator may do all a member may, so the member's rule
    is asked first: her own post costs no permission query."""
    try:
        check(user=user, moderator=False, **objects)
    except ApplicationError:
        if not user.has_perm("forum.moderate_post"):
            raise
        check(user=user, moderator=True, **objects)


@member_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """Edit a post: her own within the edit window (a moderator any). Past the window, or a
    nurse answer (corrected only by a nurse), the page says so and offers no form."""
    post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
    user = request.user
    try:
        _as_the_service_asks(services.check_may_edit, user=user, post=post, thread=post.thread)
    except ApplicationError as exc:
        return _refused_page(request, exc, post=post, heading="This post cannot be edited")
    initial = {"body": post.body}
    form = EditForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if form.is_bound and form.is_valid():
        try:
            services.post_edit(
                user=user,  # type: ignore[arg-type]
                post=post,
                body=form.cleaned_data["body"],
                reason=form.cleaned_data["reason"],
            )
        except Forbidden as exc:  # the window closed, or the thread did, since the form was shown
            return _refused_page(request, exc, post=post, heading="This post cannot be edited")
        except (ValidationError, ApplicationError) as exc:  # e.g. blocked_content
            status = form.refuse(exc)
        else:
            messages.success(request, "Your changes are saved.")
            return SeeOther(post_url(post, user))
    context = {"post": post, "form": form, "others": post.author_id != user.pk}
    return render_page(
        request, "haven/forum/post_edit.html", context, title="Edit post", status=status
    )


@member_required
@require_http_methods(["GET", "POST"])
def post_delete(request: HttpRequest, post_id: int) -> HttpResponse:
    """Delete one's own post (the API's ``DELETE``): a page asks first; a tombstone keeps
    its place in the thread."""
    post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
    if post.status == Post.Status.DELETED:
        messages.info(request, "This post is already deleted.")
        return SeeOther(post_url(post, request.user))
    try:
        _as_the_service_asks(services.check_may_delete, user=request.user, post=post)
        if request.method == "POST":
            services.post_delete(user=request.user, post=post)  # type: ignore[arg-type]
    except ApplicationError as exc:
        return _refused_page(request, exc, post=post, heading="This post cannot be deleted")
    if request.method == "POST":
        messages.success(request, "The post is deleted.")
        return SeeOther(post_url(post, request.user))
    return render_page(request, "haven/forum/post_delete.html", {"post": post}, title="Delete post")


def post_permalink(request: HttpRequest, post_id: int) -> HttpResponse:
    """A post's lasting address: the thread page that holds it, at its anchor."""
    post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
    return HttpResponseRedirect(post_url(post, request.user))


# --- Likes and follows (htmx swaps the button; without it, back to the page) -----------------


def _back_to(request: HttpRequest, fallback: str) -> str:
    """Where a toggle returns without JavaScript: the page it was on, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


_GONE = "This post is no longer on Haven."


@member_required
@require_http_methods(["GET", "POST"])
def like(request: HttpRequest, post_id: int) -> HttpResponse:
    """Like or unlike a post (``action``: like, unlike). A post gone from her sight since
    the page loaded (hidden, its thread too) is a 404; but htmx swaps no 4xx, so to htmx
    the box answers with the reason, in its live region."""
    try:
        return _like(request, post_id)
    except Http404:
        if not getattr(request, "htmx", False):
            raise
        return render(request, "haven/forum/_like.html", {"error": _GONE})


def _like(request: HttpRequest, post_id: int) -> HttpResponse:
    post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
    if request.method == "GET":  # e.g. back from signing in: nothing is written by a GET
        return HttpResponseRedirect(post_url(post, request.user))
    liking = request.POST.get("action") != "unlike"
    error = None
    try:
        changed = (services.post_like if liking else services.post_unlike)(
            user=request.user,  # type: ignore[arg-type]
            post=post,
        )
    except ApplicationError as exc:
        error = exc.detail
    else:
        post.like_count = changed.like_count
    if getattr(request, "htmx", False):
        if error is None:
            post.liked_by_me = liking  # type: ignore[attr-defined]
        else:
            post = selectors.post_for_viewer(post_id=post.pk, viewer=request.user)
        context = {"post": post, "thread": post.thread, "error": error}
        return render(request, "haven/forum/_like.html", context)
    if error is not None:
        messages.error(request, error)
    else:
        messages.success(request, "You liked this post." if liking else "Your like is removed.")
    return SeeOther(post_url(post, request.user))


@member_required
@require_http_methods(["GET", "POST"])
def follow(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Follow or unfollow a thread (``action``: follow, unfollow). Unfollowing is open to
    every signed-in member, suspended or unverified too, as in the API."""
    thread = selectors.thread_get(thread_id=thread_id, viewer=request.user)
    back = reverse("pages:thread", args=[thread.pk])
    if request.method == "GET":
        return HttpResponseRedirect(back)
    following = request.POST.get("action") != "unfollow"
    error = None
    try:
        if following:
            services.thread_follow(user=request.user, thread=thread)  # type: ignore[arg-type]
        else:
            services.thread_unfollow(user=request.user, thread=thread)  # type: ignore[arg-type]
    except ApplicationError as exc:
        error = exc.detail
    else:
        thread.following = following  # type: ignore[attr-defined]
    if getattr(request, "htmx", False):
        context = {"thread": thread, "error": error, "next": _back_to(request, back)}
        return render(request, "haven/forum/_follow.html", context)
    if error is not None:
        messages.error(request, error)
    elif following:
        messages.success(request, "You are following this thread: we'll tell you of replies.")
    else:
        messages.success(request, "You no longer follow this thread.")
    return SeeOther(_back_to(request, back))


# --- Notifications ----------------------------------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """Her notifications, newest first, by cursor pages; "Mark all as read" (POST)."""
    user = request.user
    if request.method == "POST":
        marked = services.notifications_mark_read(user=user, everything=True)  # type: ignore[arg-type]
        messages.success(
            request,
            "All your notifications are marked as read."
            if marked
            else "You had no unread notifications.",
        )
        return SeeOther(reverse("pages:notifications"))
    paginator = NotificationCursorPagination()
    try:
        page = paginator.paginate_queryset(
            selectors.notification_list(user=user),  # type: ignore[arg-type]
            Request(request),
        )
    except DrfValidationError as exc:
        raise BadRequest("That page of notifications does not exist.") from exc
    rows = [
        {
            "notification": notification,
            "actor": published_author(notification.post) if notification.actor_id else None,
            "linked": notification.kind not in NOTICES_WITHOUT_POST_LINK,
        }
        for notification in page or []
    ]
    context = {
        "rows": rows,
        "previous": link_query(paginator.get_previous_link()),
        "next": link_query(paginator.get_next_link()),
    }
    return render_page(request, "haven/forum/notifications.html", context, title="Notifications")


# --- Search -----------------------------------------------------------------------------------


def _search_wait(request: HttpRequest) -> int | None:
    """A full-text query against the API's own rates (``user`` signed in, else ``anon`` by
    address), on the API's counters: None if it may run (it is counted), else the whole
    seconds to wait."""
    scope = "user" if request.user.is_authenticated else "anon"
    wait = throttle_wait(request, scope=scope)
    return None if wait is None else max(1, math.ceil(wait))


def _searching_too_fast(seconds: int) -> str:
    return (
        f"You are searching faster than Haven allows. Please wait {seconds} "
        f"second{'s' if seconds != 1 else ''}, then try again."
    )


def _retry_after(response: HttpResponse, seconds: int | None) -> HttpResponse:
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    """The API's thread search (``q``: web-search syntax, best match first), by numbered
    pages. No query: just the form."""
    query = request.GET.get("q", "").strip()
    context: dict[str, Any] = {"q": query, "searched": False, "rows": [], "error": None}
    status = 200
    wait = _search_wait(request) if query else None  # the form alone queries nothing
    if wait is not None:
        context["too_fast"], status = _searching_too_fast(wait), 429
    elif query:
        found = ThreadFilter({"q": query}, queryset=selectors.thread_list(viewer=request.user))
        if not found.is_valid():
            context["error"] = " ".join(str(m) for m in found.errors.get("q", ["Not a search."]))
            status = 400
        else:
            page = page_or_404(found.qs, ThreadPagination.page_size, request.GET.get("page"))
            context["page"], context["searched"] = page, True
            context["rows"] = [(thread, published_author(thread)) for thread in page]
    title = f"Search: {query}" if query else "Search"
    response = render_page(request, "haven/forum/search.html", context, title=title, status=status)
    return _retry_after(response, wait)


__all__ = [
    "follow",
    "like",
    "notifications",
    "post_delete",
    "post_edit",
    "post_permalink",
    "reply",
    "search",
    "suggest",
    "thread_new",
]
