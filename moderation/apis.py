"""The moderation API: nurses (signposts, answers, closing, the unanswered queue) and
moderators (flags, the review queue, hiding, moving, suspending). Thin views."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.identity import published_author
from accounts.models import User
from accounts.permissions import IsParticipant
from accounts.serializers import AuthorField
from accounts.services import (
    SUSPEND_PERMISSION,
    member_premoderate,
    member_release,
    member_suspend,
    member_unsuspend,
)
from core.api.pagination import ThreadPagination
from core.api.schema import conflict
from core.api.throttling import ScopedThrottle
from core.errors import Forbidden
from forum.apis import PostOutputSerializer, ThreadOutputSerializer
from forum.models import Category, Post, Thread
from forum.selectors import post_for_viewer, post_get, post_page_queryset, thread_get
from forum.services import post_hide, post_restore, thread_close, thread_move, thread_reopen
from moderation.answers import (
    MAX_SIGNPOSTS,
    check_is_nurse,
    nurse_answer_correct,
    nurse_answer_create,
    nurse_answer_preview,
    nurse_queue,
    resource_markdown,
    signpost_choices,
    unanswered_questions,
)
from moderation.filters import ReviewItemFilter
from moderation.flags import flag_create
from moderation.models import FLAG_REASONS, ReviewItem, SignpostingTemplate
from moderation.queue import (
    ACTIONS,
    claim_is_live,
    flagger_public,
    review_claim,
    review_item_get,
    review_queue,
    review_resolve,
)
from moderation.services import signposting_context
from moderation.signposting import render_template


class IsNurse(IsParticipant):
    """Signed in (401 otherwise) and on the nursing team (403 ``not_nurse`` otherwise)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        check_is_nurse(request.user)  # type: ignore[arg-type]
        return True


class CanSeeNurseQueue(IsNurse):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.has_perm("moderation.view_nurse_queue"):
            raise PermissionDenied("Only the nursing team sees the queue.")
        return True


def _preview(body: str, context: dict[str, Any]) -> str:
    try:
        return render_template(body, context)
    except ValidationError as exc:  # a broken row: say so in the picker, list the rest
        return "This template is broken. " + " ".join(exc.messages)


class SignpostListApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsNurse]

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()
        preview = serializers.CharField()
        review_overdue = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        context = signposting_context(now=timezone.now(), nurse=request.user)  # type: ignore[arg-type]
        today = timezone.localdate()
        templates, resources = signpost_choices()
        rows = [
            {
                "key": t.key,
                "name": t.name,
                "kind": t.kind,
                "preview": _preview(t.body, context),
                "review_overdue": False,
            }
            for t in templates
        ]
        rows += [
            {
                "key": r.key,
                "name": r.title,
                "kind": SignpostingTemplate.Kind.INFORMATION.value,
                "preview": resource_markdown(r),
                "review_overdue": r.is_overdue(today),
            }
            for r in resources
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class _AnswerInput(serializers.Serializer):
    """What a nurse composes: her text and the signposts (an answer or its correction)."""

    body = serializers.CharField(trim_whitespace=False, allow_blank=True)
    signposts = serializers.ListField(
        child=serializers.SlugField(), required=False, default=list, max_length=MAX_SIGNPOSTS
    )


class _NewAnswerInput(_AnswerInput):
    close = serializers.BooleanField(required=False, default=False)
    follow_up = serializers.BooleanField(required=False, default=False)


class NurseAnswerPreviewApi(APIView):
    """The answer exactly as it would publish now (signposts, sign-off, disclaimer, and the
    closing notice when closing), with the digest that publishing it unchanged accepts.
    Nothing is saved."""

    permission_classes: list[type[BasePermission]] = [IsNurse]

    class InputSerializer(_NewAnswerInput):
        pass

    class OutputSerializer(serializers.Serializer):
        body = serializers.CharField()
        body_html = serializers.CharField()
        closing_notice = serializers.CharField(allow_null=True)
        preview_digest = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 409: conflict("already_answered")},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = get_object_or_404(Thread, pk=thread_id)
        nurse: Any = request.user
        composed = nurse_answer_preview(nurse=nurse, thread=thread, **serializer.validated_data)
        return Response(
            {
                "body": composed.text,
                "body_html": composed.html,
                "closing_notice": composed.closing_notice,
                "preview_digest": composed.digest(thread=thread, nurse=nurse),
            }
        )


class NurseAnswerApi(APIView):
    permission_classes: list[type[BasePermission]] = [IsNurse]

    class InputSerializer(_NewAnswerInput):
        preview_digest = serializers.CharField(
            required=False,
            max_length=128,
            help_text="From the preview: publish only if the answer is still what it showed.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            201: PostOutputSerializer,
            409: conflict("already_answered", "preview_outdated"),
        },
    )
    def post(self, request: Request, thread_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = get_object_or_404(Thread, pk=thread_id)
        post = nurse_answer_create(nurse=request.user, thread=thread, **serializer.validated_data)  # type: ignore[arg-type]
        post = post_page_queryset(thread=thread, viewer=request.user).get(pk=post.pk)
        return Response(PostOutputSerializer(post).data, status=status.HTTP_201_CREATED)


class NurseAnswerCorrectionApi(APIView):
    """A nurse publishes a correction of a nurse answer: a new version, audited, shown as
    edited. Nurse answers change no other way."""

    permission_classes: list[type[BasePermission]] = [IsNurse]

    class InputSerializer(_AnswerInput):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses=PostOutputSerializer)
    def post(self, request: Request, post_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = post_get(post_id=post_id)
        nurse_answer_correct(nurse=request.user, post=post, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(
            PostOutputSerializer(post_for_viewer(post_id=post_id, viewer=request.user)).data
        )


class ThreadCloseApi(APIView):
    """Nurses and moderators close a thread to replies, with a reason (a notice is posted)."""

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def _change(self, request: Request, thread_id: int, service: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = get_object_or_404(Thread, pk=thread_id)
        service(actor=request.user, thread=thread, **serializer.validated_data)
        thread = thread_get(thread_id=thread_id, viewer=request.user)
        return Response(ThreadOutputSerializer(thread).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: ThreadOutputSerializer, 409: conflict("already_closed")},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        return self._change(request, thread_id, thread_close)


class ThreadReopenApi(ThreadCloseApi):
    @extend_schema(
        request=ThreadCloseApi.InputSerializer,
        responses={200: ThreadOutputSerializer, 409: conflict("already_open")},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        return self._change(request, thread_id, thread_reopen)


class NurseQueueApi(APIView):
    permission_classes: list[type[BasePermission]] = [CanSeeNurseQueue]
    pagination_class = ThreadPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="thread.id")
        title = serializers.CharField(source="thread.title")
        category = serializers.SlugField(source="thread.category.slug")
        author = AuthorField(source="thread")
        created_at = serializers.DateTimeField(source="thread.created_at")
        age_working_hours = serializers.FloatField()
        overdue = serializers.BooleanField()
        member_replies = serializers.IntegerField(source="thread.reply_count")

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(unanswered_questions(), request, view=self)
        entries = nurse_queue(threads=page)
        return paginator.get_paginated_response(self.OutputSerializer(entries, many=True).data)


# --- Flags, the review queue and moderators' actions --------------------------------------------


class _HasPermission(IsParticipant):
    """Signed in (401 otherwise) and holding ``perm`` (403 ``not_moderator`` otherwise)."""

    perm = ""
    message = "Only moderators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if not request.user.has_perm(self.perm):
            raise Forbidden("not_moderator", self.message)
        return True


class CanReview(_HasPermission):
    perm = "moderation.review"
    message = "Only moderators work the review queue."


class CanModeratePost(_HasPermission):
    perm = "forum.moderate_post"
    message = "Only moderators hide or restore posts."


class CanMoveThread(_HasPermission):
    perm = "forum.move_thread"
    message = "Only moderators move threads."


class CanRestrictMember(_HasPermission):
    perm = SUSPEND_PERMISSION
    message = "Only moderators suspend or pre-moderate members."


class PostFlagApi(APIView):
    """A member reports a post; the ``flagging`` throttle counts her reports."""

    throttle_scope = "flagging"

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedThrottle()]

    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=FLAG_REASONS)
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")

    class OutputSerializer(serializers.Serializer):
        class SupportSerializer(serializers.Serializer):
            kind = serializers.CharField()
            html = serializers.CharField()

        id = serializers.IntegerField()
        post = serializers.IntegerField()
        reason = serializers.CharField()
        note = serializers.CharField()
        created_at = serializers.DateTimeField()
        support = SupportSerializer(
            allow_null=True,
            help_text="Crisis signposting for a safeguarding flag: where to get help now.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 409: conflict("already_flagged")},
    )
    def post(self, request: Request, post_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = flag_create(
            flagger=request.user,  # type: ignore[arg-type]
            post=post_get(post_id=post_id),
            **serializer.validated_data,
        )
        flag = result.flag
        data = {
            "id": flag.pk,
            "post": flag.post_id,
            "reason": flag.reason,
            "note": flag.note,
            "created_at": flag.created_at,
            "support": result.support,
        }
        return Response(self.OutputSerializer(data).data, status=status.HTTP_201_CREATED)


class ReviewItemOutputSerializer(serializers.Serializer):
    """A review item as moderators see it: the post whatever its status, and each flag with
    the member who raised it (moderators only; staff flaggers by their title)."""

    class PostSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        thread = serializers.IntegerField()
        thread_title = serializers.CharField()
        kind = serializers.CharField()
        status = serializers.CharField()
        body_html = serializers.CharField()
        author = AuthorField(allow_null=True)
        created_at = serializers.DateTimeField()

    class FlagSerializer(serializers.Serializer):
        reason = serializers.CharField()
        note = serializers.CharField()
        created_at = serializers.DateTimeField()
        flagger = AuthorField(
            allow_null=True, help_text="Null once the flagger erased her account."
        )

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ReviewItem.Status.choices)
    urgent = serializers.BooleanField()
    held = serializers.BooleanField()
    score = serializers.IntegerField()
    reasons = serializers.DictField(child=serializers.IntegerField(), help_text="Counts by reason.")
    created_at = serializers.DateTimeField()
    claimed = serializers.BooleanField(help_text="A moderator's claim is in force.")
    claimed_by_me = serializers.BooleanField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    post = PostSerializer()
    flags = FlagSerializer(many=True)

    def to_representation(self, item: ReviewItem) -> dict[str, Any]:
        viewer = self.context["viewer"]
        now = self.context["now"]
        post = item.post
        claimed = claim_is_live(item, now=now)
        return {
            "id": item.pk,
            "status": item.status,
            "urgent": item.urgent,
            "held": item.held,
            "score": item.score,
            "reasons": item.reasons,
            "created_at": _when(item.created_at),
            "claimed": claimed,
            "claimed_by_me": claimed and item.claimed_by_id == viewer.pk,
            "resolved_at": _when(item.resolved_at),
            "note": item.note,
            "post": {
                "id": post.pk,
                "thread": post.thread_id,
                "thread_title": item.thread.title,
                "kind": post.kind,
                "status": post.status,
                "body_html": post.body_html,
                "author": None if post.kind == Post.Kind.SYSTEM else published_author(post),
                "created_at": _when(post.created_at),
            },
            "flags": [
                {
                    "reason": flag.reason,
                    "note": flag.note,
                    "created_at": _when(flag.created_at),
                    "flagger": flagger_public(flag.flagger),
                }
                for flag in item.flags.all()
            ],
        }


def _when(value: Any) -> str | None:
    return None if value is None else serializers.DateTimeField().to_representation(value)


def _item_response(request: Request, item_id: int) -> Response:
    item = review_item_get(item_id=item_id)
    context = {"viewer": request.user, "now": timezone.now()}
    return Response(ReviewItemOutputSerializer(item, context=context).data)


class ReviewQueueApi(GenericAPIView):
    """Pending items, urgent first then oldest; ``status`` shows resolved ones, newest first."""

    permission_classes: list[type[BasePermission]] = [CanReview]
    filterset_class = ReviewItemFilter
    pagination_class = ThreadPagination

    def get_queryset(self) -> QuerySet[ReviewItem]:
        return review_queue()

    @extend_schema(responses=ReviewItemOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        items = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(items)
        context = {"viewer": request.user, "now": timezone.now()}
        data = ReviewItemOutputSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


class ReviewClaimApi(APIView):
    """Take an item (409 ``claimed_by_other`` while another moderator's claim is in force),
    or give it back with ``{"release": true}``."""

    permission_classes: list[type[BasePermission]] = [CanReview]

    class InputSerializer(serializers.Serializer):
        release = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ReviewItemOutputSerializer,
            409: conflict("already_resolved", "claimed_by_other"),
        },
    )
    def post(self, request: Request, item_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = get_object_or_404(ReviewItem, pk=item_id)
        review_claim(moderator=request.user, item=item, **serializer.validated_data)  # type: ignore[arg-type]
        return _item_response(request, item_id)


class ReviewResolveApi(APIView):
    permission_classes: list[type[BasePermission]] = [CanReview]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=[(a, a) for a in ACTIONS])
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=1000,
            default="",
            help_text="Sent to the author when her post is rejected or hidden.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: ReviewItemOutputSerializer,
            409: conflict(
                "already_resolved",
                "claimed_by_other",
                "still_held",
                "not_hidden",
                "post_deleted",
            ),
        },
    )
    def post(self, request: Request, item_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = get_object_or_404(ReviewItem, pk=item_id)
        review_resolve(moderator=request.user, item=item, **serializer.validated_data)  # type: ignore[arg-type]
        return _item_response(request, item_id)


class _ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class PostHideApi(APIView):
    """A moderator hides a post (its author is told, with ``note``), whatever its thread."""

    permission_classes: list[type[BasePermission]] = [CanModeratePost]

    class InputSerializer(_ReasonInput):
        note = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=1000,
            default="",
            help_text="Sent to the author with the notice.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: PostOutputSerializer, 409: conflict("already_hidden", "post_deleted")},
    )
    def post(self, request: Request, post_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = get_object_or_404(Post, pk=post_id)
        post_hide(actor=request.user, post=post, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(
            PostOutputSerializer(post_for_viewer(post_id=post_id, viewer=request.user)).data
        )


class PostRestoreApi(APIView):
    permission_classes: list[type[BasePermission]] = [CanModeratePost]

    @extend_schema(
        request=_ReasonInput,
        responses={200: PostOutputSerializer, 409: conflict("not_hidden", "post_deleted")},
    )
    def post(self, request: Request, post_id: int) -> Response:
        serializer = _ReasonInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = get_object_or_404(Post, pk=post_id)
        post_restore(actor=request.user, post=post, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(
            PostOutputSerializer(post_for_viewer(post_id=post_id, viewer=request.user)).data
        )


class ThreadMoveApi(APIView):
    permission_classes: list[type[BasePermission]] = [CanMoveThread]

    class InputSerializer(_ReasonInput):
        category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())

    @extend_schema(
        request=InputSerializer,
        responses={200: ThreadOutputSerializer, 409: conflict("same_category")},
    )
    def post(self, request: Request, thread_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = get_object_or_404(Thread, pk=thread_id)
        thread_move(actor=request.user, thread=thread, **serializer.validated_data)  # type: ignore[arg-type]
        moved = Thread.objects.select_related("category", "author").get(pk=thread_id)
        return Response(ThreadOutputSerializer(moved).data)


class MemberRestrictionOutputSerializer(serializers.Serializer):
    """A member's standing: suspended (reads, cannot write) or pre-moderated (posts held)."""

    id = serializers.IntegerField()
    display_name = serializers.CharField()
    suspended = serializers.BooleanField()
    suspended_until = serializers.DateTimeField(allow_null=True)
    suspension_reason = serializers.CharField()
    premoderated = serializers.BooleanField()
    premoderated_until = serializers.DateTimeField(allow_null=True)
    premoderation_reason = serializers.CharField()

    def to_representation(self, user: User) -> dict[str, Any]:
        return {
            "id": user.pk,
            "display_name": user.display_name,
            "suspended": user.is_suspended,
            "suspended_until": _when(user.suspended_until),
            "suspension_reason": user.suspension_reason,
            "premoderated": user.is_premoderated,
            "premoderated_until": _when(user.premoderated_until),
            "premoderation_reason": user.premoderation_reason,
        }


class _UntilInput(_ReasonInput):
    until = serializers.DateTimeField(
        allow_null=True, help_text="When it ends (in the future); null: until lifted."
    )


class _MemberRestrictionApi(APIView):
    permission_classes: list[type[BasePermission]] = [CanRestrictMember]
    input_serializer: type[serializers.Serializer] = _ReasonInput
    service: Any = None

    def post(self, request: Request, member_id: int) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = get_object_or_404(User, pk=member_id, erased_at__isnull=True)
        member = type(self).service(actor=request.user, member=member, **serializer.validated_data)
        return Response(MemberRestrictionOutputSerializer(member).data)


class MemberSuspendApi(_MemberRestrictionApi):
    """Suspend a member until a date, or until lifted: she reads but cannot write."""

    input_serializer = _UntilInput
    service = member_suspend

    @extend_schema(request=_UntilInput, responses=MemberRestrictionOutputSerializer)
    def post(self, request: Request, member_id: int) -> Response:
        return super().post(request, member_id)


class MemberUnsuspendApi(_MemberRestrictionApi):
    service = member_unsuspend

    @extend_schema(
        request=_ReasonInput,
        responses={200: MemberRestrictionOutputSerializer, 409: conflict("not_suspended")},
    )
    def post(self, request: Request, member_id: int) -> Response:
        return super().post(request, member_id)


class MemberPremoderateApi(_MemberRestrictionApi):
    """Hold everything a member posts for approval until a date, or until released."""

    input_serializer = _UntilInput
    service = member_premoderate

    @extend_schema(request=_UntilInput, responses=MemberRestrictionOutputSerializer)
    def post(self, request: Request, member_id: int) -> Response:
        return super().post(request, member_id)


class MemberReleaseApi(_MemberRestrictionApi):
    service = member_release

    @extend_schema(
        request=_ReasonInput,
        responses={200: MemberRestrictionOutputSerializer, 409: conflict("not_premoderated")},
    )
    def post(self, request: Request, member_id: int) -> Response:
        return super().post(request, member_id)
