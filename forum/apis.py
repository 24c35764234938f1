"""The member-facing forum API. Thin: parse, call one service or selector, render."""

import json
from collections.abc import Collection, Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.identity import published_author, staff_public
from accounts.permissions import IsParticipant, ReadOnlyOrParticipant
from accounts.roles import Role
from accounts.serializers import AuthorField
from accounts.tokens import token_user
from core import pagecache
from core.api.pagination import (
    NotificationCursorPagination,
    PostCursorPagination,
    RevisionCursorPagination,
    ThreadPagination,
    canonical_number,
)
from core.api.responses import RenderedResponse
from core.api.throttling import READ_NOTHING, AnonThrottle, ScopedThrottle, UserThrottle
from core.errors import Forbidden
from forum import policy, posts_cache, selectors, services, thread_lists
from forum.filters import ThreadFilter
from forum.models import Category, Post, Thread


class CategoryListApi(APIView):
    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        slug = serializers.SlugField()
        name = serializers.CharField()
        description = serializers.CharField()
        nurse_answered = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.category_list(), many=True).data)


_DATETIME = serializers.DateTimeField()


def _when(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


class ThreadOutputSerializer(serializers.Serializer):
    """A thread as every thread endpoint shows it (list rows, detail, create).

    The fields document the shape; ``to_representation`` builds it directly, because lists
    are the hot path and DRF's per-field machinery costs more than the queries.
    """

    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.SlugField(source="category.slug")
    author = AuthorField()
    status = serializers.CharField()
    visibility = serializers.ChoiceField(
        choices=Thread.Visibility.choices,
        help_text="Held (`pending`) and hidden threads are shown only to those who may see them.",
    )
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_by = AuthorField(user_field="closed_by", allow_null=True)
    close_reason = serializers.CharField()
    reply_count = serializers.IntegerField()
    like_count = serializers.IntegerField()
    nurse_answered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    following = serializers.BooleanField()

    def to_representation(self, t: Thread) -> dict[str, Any]:
        return {
            "id": t.pk,
            "title": t.title,
            "category": t.category.slug,
            "author": published_author(t),
            "status": t.status,
            "visibility": t.visibility,
            "closed_at": _when(t.closed_at),
            "closed_by": (
                staff_public(role=t.closed_by_role, title=t.closed_by_title)
                if t.closed_by_role
                else None
            ),
            "close_reason": t.close_reason,
            "reply_count": t.reply_count,
            "like_count": t.like_count,
            "nurse_answered_at": _when(t.nurse_answered_at),
            "created_at": _when(t.created_at),
            "last_activity_at": _when(t.last_activity_at),
            "following": bool(getattr(t, "following", False)),
        }


class PostSupportSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="`crisis`: the text raised a safeguarding concern.")
    html = serializers.CharField(help_text="Signposting rendered from the live service data.")


class PostOutputSerializer(serializers.Serializer):
    """A post; notices (``kind: system``) have no author.

    ``muted`` and ``support`` depend on who reads: pass ``context={"viewer": user}``. The
    signposting is rendered once per response, however many of the viewer's posts carry it.
    """

    id = serializers.IntegerField()
    thread = serializers.IntegerField(source="thread_id")
    author = AuthorField()
    kind = serializers.CharField()
    body = serializers.CharField()
    body_html = serializers.CharField()
    like_count = serializers.IntegerField()
    liked_by_me = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(choices=Post.Status.choices)
    sensitive = serializers.BooleanField(help_text="Show it behind a content warning.")
    muted = serializers.BooleanField(help_text="You muted its author: show it collapsed.")
    support = PostSupportSerializer(
        allow_null=True, help_text="Signposting for the post's author only; null for anyone else."
    )

    def _support(self, p: Post) -> dict[str, str] | None:
        rendered: dict[str, str | None] = self.context.setdefault("_support_html", {})  # type: ignore[attr-defined]
        html = policy.support_for(p, self.context.get("viewer"), rendered)
        return None if html is None else {"kind": p.support_kind, "html": html}

    def to_representation(self, p: Post) -> dict[str, Any]:
        return {
            "id": p.pk,
            "thread": p.thread_id,
            "author": None if p.kind == Post.Kind.SYSTEM else published_author(p),
            "kind": p.kind,
            "body": p.body,
            "body_html": p.body_html,
            "like_count": p.like_count,
            "liked_by_me": bool(getattr(p, "liked_by_me", False)),
            "created_at": _when(p.created_at),
            "edited_at": _when(p.edited_at),
            "status": p.status,
            "sensitive": p.sensitive,
            "muted": selectors.shown_muted(p),
            "support": self._support(p),
        }


class PostingApi(APIView):
    """Anyone reads; members write, within the per-member posting throttle."""

    permission_classes = [ReadOnlyOrParticipant]
    throttle_scope = "posting"

    def get_throttles(self) -> list[Any]:
        throttles = super().get_throttles()
        return [*throttles, ScopedThrottle()] if self.request.method == "POST" else throttles

    def check_throttles(self, request: Request) -> None:
        """A request a fast path (``threads``, ``thread_posts``) already counted is not
        counted again: its answer stands (a refusal is DRF's own 429)."""
        checked: _Throttled | None = getattr(request._request, "haven_throttled", None)
        if checked is None:
            super().check_throttles(request)
        elif not checked.allowed:
            self.throttled(request, checked.wait)  # type: ignore[arg-type]


class ThreadListApi(GenericAPIView, PostingApi):
    """Filtered by ``forum.filters.ThreadFilter`` through the configured filter backend."""

    filterset_class = ThreadFilter
    pagination_class = ThreadPagination

    class InputSerializer(serializers.Serializer):
        category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())
        title = serializers.CharField(trim_whitespace=False, allow_blank=True)
        body = serializers.CharField(trim_whitespace=False, allow_blank=True)

    class CreatedSerializer(ThreadOutputSerializer):
        first_post = PostOutputSerializer()

        def to_representation(self, t: Thread) -> dict[str, Any]:
            data = super().to_representation(t)
            first_post = t.first_post  # type: ignore[attr-defined]
            data["first_post"] = PostOutputSerializer(first_post, context=self.context).data
            return data

    def get_queryset(self) -> QuerySet[Thread]:
        return selectors.thread_list(viewer=self.request.user)

    def page_keys(self) -> Any:
        """The narrow rows naming the page (``thread_lists.page_keys``), for the paginator.
        A query naming no filter (most requests: the lists' pages) is every visible thread:
        no ``FilterSet`` built (with nothing to filter by it changes nothing) and no
        queryset, but the statement ``selectors.ThreadPageKeys`` writes out."""
        early: _ListRead | None = getattr(self.request._request, "haven_list", None)
        if early is not None:
            return early.keys  # read by ``threads`` for this very query (names no filter)
        if not any(name in self.request.query_params for name in ThreadFilter.base_filters):
            return selectors.ThreadPageKeys(self.request.user, window=self._window())
        return thread_lists.page_keys(self.filter_queryset(self.get_queryset()))

    def _window(self) -> tuple[int, int] | None:
        """The ``(offset, limit)`` of the page asked for by number (not ``last``)."""
        paginator = cast(ThreadPagination, self.paginator)
        try:
            number = paginator.page_number_asked(self.request)
        except ValidationError:
            return None  # not a page: the paginator's 400
        size = paginator.get_page_size(self.request)
        if number is None or not size:
            return None
        offset = (number - 1) * size
        return (offset, size) if offset < _MAX_OFFSET else None

    @extend_schema(responses=ThreadOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        # A page's JSON body is cached exactly (forum.thread_lists): the narrow query names
        # the page; its full rows are read only when it is not cached.
        keys = self.page_keys()
        paginator = cast(ThreadPagination, self.paginator)
        if isinstance(keys, selectors.ThreadPageKeys):
            paginator.count_of = keys.kept_count  # with the page's rows, in one statement
        else:
            paginator.count_of = lambda: thread_lists.known_count(request.query_params)
        page: list[thread_lists.KeyRow] = self.paginate_queryset(keys) or []
        renderer = request.accepted_renderer
        # The browsable API renders per request; a query spelled otherwise than the list's
        # links spell it would only fill the cache with one-off keys (``_list_cache_key``).
        key = _list_cache_key(request._request, request.accepted_media_type)
        if not isinstance(renderer, JSONRenderer) or key is None:
            return Response(thread_lists.with_following(self._page_data(page)[0], page))
        count = paginator.page.paginator.count  # type: ignore[union-attr]
        early: _ListRead | None = getattr(request._request, "haven_list", None)
        stored = early.stored if early is not None and early.key == key else pagecache.get(key)
        body = thread_lists.cached_body(stored, count, page)
        data = None
        if body is None:
            data, exact = self._page_data(page)
            body = self._render(renderer, data)
            if exact:
                stamped = thread_lists.stamped(body, count, page)
                pagecache.set(key, stamped, settings.HAVEN_PAGE_CACHE_SECONDS)
        if thread_lists.followed(page):
            spliced = thread_lists.with_following_body(body, page) if data is None else None
            if spliced is None:
                data = json.loads(body) if data is None else data
                spliced = self._render(renderer, thread_lists.with_following(data, page))
            body = spliced
        return RenderedResponse(body)

    def _page_data(self, page: list[thread_lists.KeyRow]) -> tuple[dict[str, Any], bool]:
        """The page as every viewer sees it (``following`` false), and whether it is exactly
        the page its keys name (so its body may be stored under them)."""
        rows, exact = thread_lists.page_rows(page)
        results = ThreadOutputSerializer(rows, many=True).data
        return self.get_paginated_response(results).data, exact

    def _render(self, renderer: JSONRenderer, data: dict[str, Any]) -> bytes:
        body = renderer.render(data, self.request.accepted_media_type, self.get_renderer_context())
        return body if isinstance(body, bytes) else body.encode()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: CreatedSerializer,
            202: OpenApiResponse(
                CreatedSerializer, description="Held for approval: `visibility` is `pending`."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_create(author=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        thread = selectors.thread_get(thread_id=thread.pk, viewer=request.user)
        first_post = selectors.post_page_queryset(thread=thread, viewer=request.user).first()
        thread.first_post = first_post  # type: ignore[attr-defined]
        held = thread.visibility == Thread.Visibility.PENDING
        return Response(
            self.CreatedSerializer(thread, context={"viewer": request.user}).data,
            status=status.HTTP_202_ACCEPTED if held else status.HTTP_201_CREATED,
        )


# Past any list: a page number beyond it is left to the paginator (a 404), as PostgreSQL's
# OFFSET is a bigint.
_MAX_OFFSET = 2**62


class ThreadDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=ThreadOutputSerializer)
    def get(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_get(thread_id=thread_id, viewer=request.user)
        return Response(ThreadOutputSerializer(thread).data)


class ThreadSimilarApi(APIView):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        title = serializers.CharField()
        category = serializers.SlugField(source="category.slug")
        status = serializers.CharField()
        reply_count = serializers.IntegerField()
        nurse_answered_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "ThreadSimilarResults", {"results": OutputSerializer(many=True)}
        ),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        threads = selectors.thread_similar(title=filters.validated_data["title"])
        return Response({"results": self.OutputSerializer(threads, many=True).data})


class ThreadPostsApi(PostingApi):
    pagination_class = PostCursorPagination

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(trim_whitespace=False, allow_blank=True)

    @extend_schema(responses=PostOutputSerializer(many=True))
    def get(self, request: Request, thread_id: int) -> Response:
        viewer = request.user
        if not posts_cache.enabled() or _may_moderate(viewer):
            return self._uncached(request, thread_id)
        found: posts_cache.Lookup | None = getattr(request._request, "haven_posts", None)
        if found is None:
            found = posts_cache.lookup(request._request, thread_id=thread_id, viewer=viewer)
        if not found.public:  # no such thread, not a visible one, or the viewer's held post
            return self._uncached(request, thread_id)
        liked: Collection[int]
        muted: Collection[int]
        cached = found.hit
        if cached is not None and found.state is not None:
            liked, muted = found.state.liked, found.state.muted
            if _renders_as_stored(request):
                body = posts_cache.overlay_body(
                    cached.body, cached.rows, viewer=viewer, liked=liked, muted=muted
                )
                if body is not None:
                    return RenderedResponse(body)
            data = json.loads(cached.body)
            rows = cached.rows
        else:
            values = selectors.post_page_rows(thread_id=thread_id, viewer=viewer)
            paginator = self.pagination_class()
            page = paginator.paginate_queryset(values, request, view=self) or []
            public = paginator.get_paginated_response([posts_cache.post_row(v) for v in page])
            body = JSONRenderer().render(public.data)
            rows = [posts_cache.row_meta(v) for v in page]
            found.store(body, rows)
            data = public.data  # built for this request: the overlay may write on it
            liked = {v["id"] for v in page if v["liked_by_me"]}
            muted = {v["author_id"] for v in page if v["muted"]}
        return Response(posts_cache.overlay(data, rows, viewer=viewer, liked=liked, muted=muted))

    def _uncached(self, request: Request, thread_id: int) -> Response:
        """The page built for this viewer alone: what the cache must equal, too."""
        thread = selectors.thread_for_posts(thread_id=thread_id, viewer=request.user)
        posts = selectors.post_page_queryset(thread=thread, viewer=request.user)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(posts, request, view=self)
        rows = PostOutputSerializer(page, many=True, context={"viewer": request.user}).data
        return paginator.get_paginated_response(rows)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: PostOutputSerializer,
            202: OpenApiResponse(
                PostOutputSerializer, description="Held for approval: `status` is `pending`."
            ),
        },
    )
    def post(self, request: Request, thread_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = selectors.thread_for_posts(thread_id=thread_id, viewer=request.user)
        post = services.post_create(author=request.user, thread=thread, **serializer.validated_data)  # type: ignore[arg-type]
        post.liked_by_me = post.muted = False  # type: ignore[attr-defined]
        held = post.status == Post.Status.PENDING
        return Response(
            PostOutputSerializer(post, context={"viewer": request.user}).data,
            status=status.HTTP_202_ACCEPTED if held else status.HTTP_201_CREATED,
        )


def _renders_as_stored(request: Request) -> bool:
    """Whether DRF answers this request in compact JSON, as the posts cache stores pages."""
    return (
        type(request.accepted_renderer) is JSONRenderer
        and request.accepted_media_type == JSONRenderer.media_type
    )


def _may_moderate(viewer: Any) -> bool:
    """Whether the viewer may see held and hidden posts: her pages are never the public's.
    By role, without the permission query ``selectors.sees_moderated`` then makes."""
    return bool(viewer.is_authenticated and (viewer.role == Role.MODERATOR or viewer.is_superuser))


class _Throttled(NamedTuple):
    allowed: bool
    wait: float | None


class _ListRead(NamedTuple):
    """What ``threads`` read for a list page it could not answer, passed on to DRF."""

    key: str  # the page's cache key (``_list_cache_key``)
    stored: bytes | None  # the value under it
    keys: selectors.ThreadPageKeys  # the count and the page's rows, read


class _ListQuery(NamedTuple):
    """A list page's query naming no filter, spelled as the list's links spell it."""

    offset: int
    limit: int
    page_size: str | None  # as given: its links repeat it


def _list_query(request: HttpRequest) -> _ListQuery | None:
    """The page a list query naming no filter asks for by number, if it is spelled as the
    list's links spell it (``page`` and ``page_size``, each at most once, each a number as
    Python writes it, the size at most the maximum): else None."""
    params = request.GET
    if not _once_each(params, _PAGE_PARAMS):
        return None
    number = canonical_number(params.get("page", "1"))
    size = params.get("page_size")
    limit = canonical_number(size or str(ThreadPagination.page_size), at_most=_MAX_PAGE_SIZE)
    if number is None or limit is None:
        return None
    offset = (number - 1) * limit
    return _ListQuery(offset, limit, size) if offset < _MAX_OFFSET else None


_MAX_PAGE_SIZE = ThreadPagination.max_page_size
_PAGE_PARAMS = frozenset({"page", "page_size"})
# Every parameter the list knows: its filters and its pagination's.
_LIST_PARAMS = frozenset({*ThreadFilter.base_filters, *_PAGE_PARAMS, "format"})


def _once_each(params: QueryDict, known: frozenset[str]) -> bool:
    """Whether every parameter of ``params`` is one of ``known``, given once."""
    return known.issuperset(params) and all(len(params.getlist(name)) == 1 for name in params)


def _list_cache_key(request: HttpRequest, media_type: str) -> str | None:
    """The key a list page's body is stored under, or None: answered uncached.

    A query naming no filter and spelled as the links spell it (``_list_query``) is keyed by
    its page alone: every spelling of it (``?page=%32``, its parameters in another order)
    has the same links, which DRF writes afresh. A filtered query is keyed by its whole URL,
    which its links repeat. A page or page size spelled otherwise (``page=01``, a size over
    the maximum), a parameter the list does not know or one given twice is answered
    uncached: a crawler inventing URLs cannot fill Redis with copies of the pages.
    """
    query = _list_query(request)
    if query is not None:
        return _list_page_key(request, query, media_type)
    params = request.GET
    if not _once_each(params, _LIST_PARAMS):
        return None
    page, size = params.get("page", "1"), params.get("page_size")
    if page != "last" and canonical_number(page) is None:
        return None
    if size is not None and canonical_number(size, at_most=_MAX_PAGE_SIZE) is None:
        return None
    return thread_lists.page_key("api", (request.build_absolute_uri(), media_type))


def _list_page_key(request: HttpRequest, query: _ListQuery, media_type: str) -> str:
    """The key of the page ``query`` names (``_list_cache_key``)."""
    where = request.build_absolute_uri(request.path)
    return thread_lists.page_key("api", (where, *query, media_type))


def _allow(view: type[APIView]) -> str:
    """``Allow`` as DRF's ``APIView.finalize_response`` sets it for ``view``."""
    return ", ".join(m.upper() for m in view.http_method_names if m == "head" or hasattr(view, m))


_threads_api = ThreadListApi.as_view()
_posts_api = ThreadPostsApi.as_view()
# The ``Accept`` values DRF answers with its JSON renderer, compact, as the cache stores it
# (none at all is ``*/*``; an empty one is DRF's to refuse).
_JSON_ACCEPTS = frozenset({"*/*", "application/json"})


def _fast_read(request: HttpRequest) -> bool:
    """A GET that DRF would answer in compact JSON, with no credentials but, perhaps, an
    app's session token (no session cookie, no Authorization), the page cache on."""
    meta = request.META
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "HTTP_AUTHORIZATION" not in meta
        and meta.get("HTTP_ACCEPT", "*/*") in _JSON_ACCEPTS
        # DRF's test client signs a request in with no credentials (``force_authenticate``).
        and getattr(request, "_force_auth_user", None) is None
        and posts_cache.enabled()
    )


def _token_viewer(request: HttpRequest) -> Any:
    """The member the request's session token signs in (``accounts.tokens.token_user``, read
    once a request, as DRF then reads it), set as ``request.user`` as DRF's authentication
    sets it (responses to her are private); None: the public."""
    signed_in = token_user(request) if "HTTP_X_SESSION_TOKEN" in request.META else None
    if signed_in is None:
        return None
    request.user = signed_in[0]
    return signed_in[0]


def _counted(
    request: HttpRequest, viewer: Any, view: type[APIView], key: str
) -> tuple[bool, bytes | None]:
    """Whether DRF's throttle for ``viewer`` (``AnonThrottle`` for the public, ``UserThrottle``
    for a member) lets the request through, counted (``PostingApi.check_throttles`` keeps
    the answer, so it is counted once), and the value stored under ``key``, read in the same
    round trip to Redis (in one of its own when the throttle counts nothing)."""
    throttle = AnonThrottle() if viewer is None else UserThrottle()
    # UserThrottle reads only the user, and AnonThrottle the request.
    counted = request if viewer is None else SimpleNamespace(user=viewer)
    allowed = throttle.allow_request(counted, view(), read=key)
    request.haven_throttled = _Throttled(allowed, None if allowed else throttle.wait())  # type: ignore[attr-defined]
    if not allowed:
        return False, None
    stored = throttle.read_value
    return True, pagecache.get(key) if stored is READ_NOTHING else cast(bytes | None, stored)


def _as_drf_answers(body: bytes, view: type[APIView]) -> HttpResponse:
    """``body`` with the headers DRF's JSON answer from ``view`` carries: ``Vary: Accept``
    only where it has more than one renderer to choose from (``default_response_headers``;
    production's API renders JSON alone)."""
    response = HttpResponse(body, content_type="application/json")
    if len(view.renderer_classes) > 1:
        patch_vary_headers(response, ("Accept",))
    response["Allow"] = _allow(view)
    return response


@csrf_exempt
def threads(request: HttpRequest) -> HttpResponse:
    """``ThreadListApi``, with cached pages served before DRF's machinery.

    A GET of a list page naming no filter, by the public or by a member signed in with a
    session token, is authenticated and throttled as DRF would, the cached page read in the
    throttle's round trip to Redis (``_counted``); one statement then reads the list's count
    and the page's rows (``selectors.ThreadPageKeys``). When the stored body is that page
    (``thread_lists.cached_body``) it is answered with the member's ``following`` spliced in
    and DRF's headers. Anything else (a refusal, a miss, past the last page, a filter) is
    DRF's, with what was read here passed on rather than read twice.
    """
    query = _list_query(request) if _fast_read(request) else None
    if query is not None and selectors.thread_counts_kept():
        viewer = _token_viewer(request)
        key = _list_page_key(request, query, JSONRenderer.media_type)
        allowed, stored = _counted(request, viewer, ThreadListApi, key)
        if allowed:
            offset, limit, _size = query
            keys = selectors.ThreadPageKeys(viewer, window=(offset, limit))
            count = keys.kept_count() or 0  # kept: thread_counts_kept
            request.haven_list = _ListRead(key, stored, keys)  # type: ignore[attr-defined]
            page = keys[offset : offset + limit]
            body = thread_lists.cached_body(stored, count, page) if page else None
            if body is not None and thread_lists.followed(page):
                body = thread_lists.with_following_body(body, page)
            if body is not None:
                return _as_drf_answers(body, ThreadListApi)
    return _threads_api(request)


@csrf_exempt
def thread_posts(request: HttpRequest, thread_id: int) -> HttpResponse:
    """``ThreadPostsApi``, with cached pages served before DRF's machinery.

    A GET by the public, or by a member signed in with a session token, is authenticated
    (``accounts.tokens.token_user``: the token's session and user, as DRF reads them) and
    throttled as DRF would, counted once, the cached page read in the same round trip
    (``_counted``). On a hit it is answered with the public's cached bytes, the member's
    likes, mutes and signposting spliced in (``posts_cache.overlay_body``), and DRF's
    headers. Anything else (a refusal, a miss, a 404, a bad cursor, a moderator) is DRF's,
    with what was read here passed on rather than read twice.
    """
    key = posts_cache.request_key(request, thread_id) if _fast_read(request) else None
    if key is not None:
        viewer = _token_viewer(request)
        if viewer is None or not _may_moderate(viewer):
            allowed, stored = _counted(request, viewer, ThreadPostsApi, key)
            if allowed:
                response = _posts_hit(request, thread_id, viewer, stored)
                if response is not None:
                    return response
    return _posts_api(request, thread_id=thread_id)


def _posts_hit(
    request: HttpRequest, thread_id: int, viewer: Any, stored: bytes | None
) -> HttpResponse | None:
    """The cached page as ``viewer`` (None: the public) sees it, answered as DRF does; None
    on a miss (the lookup passed on to DRF) or a page the splice cannot overlay."""
    found = posts_cache.lookup(request, thread_id=thread_id, viewer=viewer, stored=stored)
    page = found.hit
    if page is None or found.state is None:
        request.haven_posts = found  # type: ignore[attr-defined]
        return None
    body: bytes | None = page.body
    if viewer is not None:
        state = found.state
        body = posts_cache.overlay_body(
            page.body, page.rows, viewer=viewer, liked=state.liked, muted=state.muted
        )
    if body is None:
        request.haven_posts = found  # type: ignore[attr-defined]
        return None
    return _as_drf_answers(body, ThreadPostsApi)


# The schema (drf-spectacular) reads the view class from the route's callback.
thread_posts.cls = ThreadPostsApi  # type: ignore[attr-defined]
thread_posts.initkwargs = _posts_api.initkwargs  # type: ignore[attr-defined]
threads.cls = ThreadListApi  # type: ignore[attr-defined]
threads.initkwargs = _threads_api.initkwargs  # type: ignore[attr-defined]


class PostDetailApi(APIView):
    permission_classes = [ReadOnlyOrParticipant]

    class DeleteInputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    class InputSerializer(DeleteInputSerializer):
        body = serializers.CharField(trim_whitespace=False, allow_blank=True)

    def _render(self, request: Request, post_id: int) -> Response:
        post = selectors.post_for_viewer(post_id=post_id, viewer=request.user)
        return Response(PostOutputSerializer(post, context={"viewer": request.user}).data)

    @extend_schema(request=InputSerializer, responses=PostOutputSerializer)
    def patch(self, request: Request, post_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
        services.post_edit(user=request.user, post=post, **serializer.validated_data)  # type: ignore[arg-type]
        return self._render(request, post_id)

    @extend_schema(responses={200: PostOutputSerializer})
    def delete(self, request: Request, post_id: int) -> Response:
        serializer = self.DeleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
        services.post_delete(user=request.user, post=post, **serializer.validated_data)  # type: ignore[arg-type]
        return self._render(request, post_id)


class CanModeratePosts(IsParticipant):
    """Signed in (401 otherwise) and a moderator (403 ``not_moderator`` otherwise)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.has_perm("forum.moderate_post"):
            raise Forbidden("not_moderator", "Only moderators see the history of a post.")
        return True


class PostRevisionListApi(APIView):
    """What a post said before each edit by someone else, or a correction: newest first."""

    permission_classes = [CanModeratePosts]
    pagination_class = RevisionCursorPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        body = serializers.CharField(help_text="The text before this change.")
        editor = AuthorField(user_field="editor")
        reason = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, post_id: int) -> Response:
        post = get_object_or_404(Post, pk=post_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.post_revisions(post=post), request, self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class PostLikeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        like_count = serializers.IntegerField()
        liked_by_me = serializers.BooleanField()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, post_id: int) -> Response:
        post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
        post = services.post_like(user=request.user, post=post)  # type: ignore[arg-type]
        return Response({"like_count": post.like_count, "liked_by_me": True})

    @extend_schema(request=None, responses={200: OutputSerializer})
    def delete(self, request: Request, post_id: int) -> Response:
        post = selectors.post_visible_get(post_id=post_id, viewer=request.user)
        post = services.post_unlike(user=request.user, post=post)  # type: ignore[arg-type]
        return Response({"like_count": post.like_count, "liked_by_me": False})


class ThreadFollowApi(APIView):
    class OutputSerializer(serializers.Serializer):
        following = serializers.BooleanField()

    def get_permissions(self) -> Sequence[Any]:
        # Unfollowing only reduces what a member receives: suspended or unverified, they
        # may always do it.
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_for_posts(thread_id=thread_id, viewer=request.user)
        services.thread_follow(user=request.user, thread=thread)  # type: ignore[arg-type]
        return Response({"following": True})

    @extend_schema(request=None, responses={200: OutputSerializer})
    def delete(self, request: Request, thread_id: int) -> Response:
        thread = selectors.thread_for_posts(thread_id=thread_id, viewer=request.user)
        services.thread_unfollow(user=request.user, thread=thread)  # type: ignore[arg-type]
        return Response({"following": False})


class _ActorField(AuthorField):
    """Who acted, as the post the notice is about shows them: the same fixed identity."""

    def get_attribute(self, notification: Any) -> Any:
        return notification.post if notification.actor_id else None


class NotificationListApi(APIView):
    pagination_class = NotificationCursorPagination

    class OutputSerializer(serializers.Serializer):
        class ThreadRef(serializers.Serializer):
            id = serializers.IntegerField()
            title = serializers.CharField()

        id = serializers.IntegerField()
        kind = serializers.CharField()
        priority = serializers.CharField()
        thread = ThreadRef()
        post = serializers.IntegerField(source="post_id")
        actor = _ActorField(allow_null=True)
        note = serializers.CharField(help_text="A moderator's note about your post, or empty.")
        created_at = serializers.DateTimeField()
        read_at = serializers.DateTimeField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        notifications = selectors.notification_list(user=request.user)  # type: ignore[arg-type]
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(notifications, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class NotificationReadApi(APIView):
    # Reading is not posting: suspended or unverified members may clear their notifications.
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=500
        )
        all = serializers.BooleanField(required=False, default=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("all") and not attrs.get("ids"):
                raise serializers.ValidationError('Send "ids": [...] or "all": true.')
            return attrs

    class OutputSerializer(serializers.Serializer):
        marked_read = serializers.IntegerField()
        unread = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(
            user=request.user,  # type: ignore[arg-type]
            ids=serializer.validated_data.get("ids"),
            everything=serializer.validated_data["all"],
        )
        unread = selectors.notification_unread_count(user=request.user)  # type: ignore[arg-type]
        return Response({"marked_read": marked, "unread": unread})
