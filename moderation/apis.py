"""The nurses' API: signposts, answers, closing and the unanswered queue. Thin views."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsParticipant
from accounts.serializers import AuthorField
from core.api.pagination import ThreadPagination
from core.api.schema import conflict
from forum.apis import PostOutputSerializer, ThreadOutputSerializer
from forum.models import Thread
from forum.selectors import post_for_viewer, post_get, post_page_queryset, thread_get
from forum.services import thread_close, thread_reopen
from moderation.answers import (
    check_is_nurse,
    nurse_answer_correct,
    nurse_answer_create,
    nurse_answer_preview,
    nurse_queue,
    resource_markdown,
    unanswered_questions,
)
from moderation.models import InformationResource, SignpostingTemplate
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
        rows = [
            {
                "key": t.key,
                "name": t.name,
                "kind": t.kind,
                "preview": _preview(t.body, context),
                "review_overdue": False,
            }
            for t in SignpostingTemplate.objects.filter(
                kind__in=[SignpostingTemplate.Kind.SERVICE, SignpostingTemplate.Kind.INFORMATION],
                is_active=True,
            )
        ]
        rows += [
            {
                "key": r.key,
                "name": r.title,
                "kind": SignpostingTemplate.Kind.INFORMATION.value,
                "preview": resource_markdown(r),
                "review_overdue": r.is_overdue(today),
            }
            for r in InformationResource.objects.all()
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class _AnswerInput(serializers.Serializer):
    """What a nurse composes: her text and the signposts (an answer or its correction)."""

    body = serializers.CharField(trim_whitespace=False, allow_blank=True)
    signposts = serializers.ListField(
        child=serializers.SlugField(), required=False, default=list, max_length=20
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
