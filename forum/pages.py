"""The read pages: home, a category's threads, a thread. Server-rendered; no JavaScript.

Thin like the API views, and on the same reads: ``forum.selectors`` decides what a viewer
sees (a held or hidden thread or post is a 404 for anyone who may not see it), the API's
pagination pages the posts, ``accounts.identity`` names authors (staff by title only) and
``forum.policy`` gives a post's author her signposting. No rule is copied here.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from accounts.identity import published_author
from core import pagecache
from core.api.pagination import PostCursorPagination, ThreadPagination
from core.pages import page_or_404, query_string, render_page
from forum import policy, posts_cache, selectors, services, thread_lists
from forum.filters import ThreadFilter
from forum.models import Category, Post, Thread

# The category page's filters, as the API names them (``forum.filters.ThreadFilter``).
CATEGORY_FILTERS = ("status", "unanswered")


def home(request: HttpRequest) -> HttpResponse:
    categories = selectors.category_list()
    return render_page(request, "haven/home.html", {"categories": categories}, title="Categories")


def category(request: HttpRequest, slug: str) -> HttpResponse:
    """A category's visible threads, newest activity first, by numbered pages.

    A filter value the API would refuse is ignored here (the page shows every thread); a
    page that is not one is a 404. The list itself shows nothing per viewer: it is cached
    as the API's thread list is (``forum.thread_lists``), under its rows' ids and versions.
    """
    shown = get_object_or_404(
        selectors.with_visible_thread_count(Category.objects.all()), slug=slug
    )
    params = {key: request.GET[key] for key in CATEGORY_FILTERS if request.GET.get(key)}
    threads = selectors.thread_list(viewer=None).filter(category=shown)
    filters = ThreadFilter(params, queryset=threads)
    if not filters.is_valid():
        params = {key: value for key, value in params.items() if key not in filters.errors}
    # Unfiltered, the category's kept count is the count, read with its row (PostgreSQL's
    # trigger keeps it; SQLite counts).
    kept = shown.visible_threads if selectors.thread_counts_kept() else None  # type: ignore[attr-defined]
    page = page_or_404(
        thread_lists.page_keys(filters.qs),
        ThreadPagination.page_size,
        request.GET.get("page"),
        count=None if params else kept,
    )
    choices = [("All threads", {}), ("Open", {"status": "open"}), ("Closed", {"status": "closed"})]
    if shown.nurse_answered:
        choices.append(("Unanswered", {"unanswered": "true"}))
    filter_links = [(label, query_string(choice), choice == params) for label, choice in choices]
    context = {
        "category": shown,
        "filter_links": filter_links,
        "threads_html": category_threads_html(page, params),
    }
    return render_page(request, "haven/category.html", context, title=shown.name)


def category_threads_html(page: Page, params: dict[str, str]) -> SafeString:
    """A category page's list of threads and its pager: from the cache when these very rows
    (``page``: ``thread_lists.page_keys``) were rendered before, else rendered and stored."""
    keys = list(page.object_list)
    count = page.paginator.count
    key = thread_lists.page_key("category-page", (sorted(params.items()), page.number))
    cached = thread_lists.cached_body(pagecache.get(key), count, keys)
    if cached is not None:
        return mark_safe(cached.decode())  # noqa: S308  (rendered by the template below)
    threads, exact = thread_lists.page_rows(keys)
    html = render_to_string(
        "haven/_category_threads.html",
        {
            "page": page,
            "rows": [(thread, published_author(thread)) for thread in threads],
            "previous": query_string(params, page=page.previous_page_number())
            if page.has_previous()
            else None,
            "next": query_string(params, page=page.next_page_number()) if page.has_next() else None,
        },
    )
    if exact:
        body = thread_lists.stamped(html.encode(), count, keys)
        pagecache.set(key, body, settings.HAVEN_PAGE_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  (the template escaped what it shows)


@dataclass(frozen=True)
class PostRow:
    """A post as the thread page shows it to this viewer."""

    post: Post
    author: dict[str, Any] | None
    muted: bool
    support: str | None


def link_query(link: str | None) -> str | None:
    """The pagination's absolute link as this page's own query string."""
    return None if link is None else f"?{urlsplit(link).query}"


def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    """A thread and a cursor page of its posts, oldest first: the API's posts page, as HTML."""
    viewer = request.user
    public = None
    if posts_cache.anonymous_page_request(request):  # the public's page: cached whole
        public = posts_cache.lookup_page(request, thread_id=thread_id)
        cached = public.hit
        if cached is not None:
            _ = viewer.is_authenticated  # the session is read, as rendering reads it
            return HttpResponse(cached.body)
    shown: Thread = selectors.thread_get(thread_id=thread_id, viewer=viewer)
    posts = selectors.post_page_queryset(thread=shown, viewer=viewer)
    paginator = PostCursorPagination()
    try:
        page = paginator.paginate_queryset(posts, Request(request)) or []
    except ValidationError as exc:
        raise BadRequest("That page of posts does not exist.") from exc
    rendered: dict[str, str | None] = {}
    rows = [
        PostRow(
            post=post,
            author=None if post.kind == Post.Kind.SYSTEM else published_author(post),
            muted=selectors.shown_muted(post),
            support=policy.support_for(post, viewer, rendered),
        )
        for post in page
    ]
    context = {
        "thread": shown,
        "author": published_author(shown),
        "rows": rows,
        "previous": link_query(paginator.get_previous_link()),
        "next": link_query(paginator.get_next_link()),
        # What the members' actions need, from rows already loaded (no query of their own).
        "edit_since": timezone.now() - services.edit_window(),
        "may_reply": may_reply(shown, viewer),
    }
    response = render_page(request, "haven/thread.html", context, title=shown.title)
    if public is not None:
        public.store(response.content)
    return response


def may_reply(thread: Thread, viewer: Any) -> bool:
    """Whether the thread page offers ``viewer`` the reply box: a signed-in member, not
    suspended, in a visible, open thread (``services.post_create`` refuses anyone else; an
    unverified member is told so when she sends)."""
    return (
        viewer.is_authenticated
        and not viewer.is_suspended
        and thread.visibility == Thread.Visibility.VISIBLE
        and thread.status == Thread.Status.OPEN
    )


def post_url(post: Post, viewer: Any) -> str:
    """Where ``viewer`` reads ``post``: the cursor page of its thread that holds it (as
    ``viewer`` sees the thread), at the post's anchor."""
    posts = selectors.post_page_queryset(thread=post.thread, viewer=viewer)
    query = PostCursorPagination().query_of_page_holding(posts, post)
    return f"{reverse('pages:thread', args=[post.thread_id])}{query}#post-{post.pk}"
