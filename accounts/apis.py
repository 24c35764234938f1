from typing import Any

from django.contrib.auth import logout
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.identity import author_public
from accounts.models import Mute, User
from accounts.privacy import (
    ProfileSerializer,
    check_erase_password,
    export_filename,
    export_sections,
    member_erase,
    member_export,
)
from accounts.selectors import member_mutable, mute_exists, mute_list, user_me
from accounts.serializers import AuthorField
from accounts.services import member_mute, member_unmute, user_update_profile
from accounts.validators import DISPLAY_NAME_MAX, DISPLAY_NAME_MIN
from core.api.pagination import MuteCursorPagination
from core.api.throttling import ScopedThrottle


class MeApi(APIView):
    """The signed-in member's own profile. Only here does a response carry an email.

    Who may change what is ``user_update_profile``'s rule: a suspended or unverified
    member may still turn reply emails off. Erasing (``DELETE``) is open to every account
    holder, suspended or unverified too, with her password typed again; it is throttled
    (the ``erase`` rate), so the password cannot be guessed here.
    """

    permission_classes = [IsAuthenticated]
    throttle_scope = "erase"
    delete_reads_body = True  # the OpenAPI schema documents DELETE's body (core.api.schema)

    def get_throttles(self) -> list[Any]:
        throttles = super().get_throttles()
        return [*throttles, ScopedThrottle()] if self.request.method == "DELETE" else throttles

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        email_verified = serializers.BooleanField()
        display_name = serializers.CharField()
        role = serializers.CharField()
        title = serializers.CharField(source="public_title", allow_null=True)
        sign_off = serializers.CharField()
        email_on_reply = serializers.BooleanField()
        unread_notifications = serializers.IntegerField()
        is_suspended = serializers.BooleanField()
        suspended_until = serializers.DateTimeField(allow_null=True)
        date_joined = serializers.DateTimeField()

    class InputSerializer(serializers.Serializer):
        display_name = serializers.CharField(
            required=False, min_length=DISPLAY_NAME_MIN, max_length=DISPLAY_NAME_MAX
        )
        sign_off = serializers.CharField(required=False, allow_blank=True, max_length=200)
        email_on_reply = serializers.BooleanField(required=False)

    def _render(self, user: User) -> Response:
        return Response(self.OutputSerializer(user_me(user=user)).data)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return self._render(request.user)  # type: ignore[arg-type]

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_update_profile(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return self._render(user)

    class EraseInputSerializer(serializers.Serializer):
        password = serializers.CharField(
            max_length=4096, trim_whitespace=False, help_text="The account's password, again."
        )
        delete_posts = serializers.BooleanField(
            default=False,
            help_text="Also delete what I wrote (tombstones); by default it stays, "
            'shown as "Former member".',
        )

    @extend_schema(
        request=EraseInputSerializer,
        responses={204: None},
        description=(
            "Erase my account: email, display name, profile, sessions and sign-in records "
            "removed, the account unusable. A wrong password is a 400 on `password`."
        ),
    )
    def delete(self, request: Request) -> Response:
        serializer = self.EraseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        check_erase_password(user=user, password=serializer.validated_data["password"])
        member_erase(user=user, delete_posts=serializer.validated_data["delete_posts"])
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    """Everything stored about me, as a JSON file to keep (UK GDPR's right of access).

    Throttled (the ``export`` rate): it reads every row of the member's in one go.
    """

    permission_classes = [IsAuthenticated]
    throttle_scope = "export"

    def get_throttles(self) -> list[Any]:
        return [*super().get_throttles(), ScopedThrottle()]

    class OutputSerializer(serializers.Serializer):
        """The sections are those the apps register (``accounts.privacy.register_export``)."""

        def get_fields(self) -> dict[str, serializers.Field]:
            fields: dict[str, serializers.Field] = {
                "exported_at": serializers.DateTimeField(),
                "profile": ProfileSerializer(),
            }
            for section, serializer in export_sections():
                fields[section] = serializer(many=True) if serializer else serializers.JSONField()
            return fields

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        export = member_export(request.user)  # type: ignore[arg-type]
        disposition = f'attachment; filename="{export_filename()}"'
        return Response(export, headers={"Content-Disposition": disposition})


class MemberMuteApi(APIView):
    """Mute a member: her posts come collapsed (``"muted": true``) for me alone. Suspended or
    unverified members may mute and unmute too: it only changes what they see."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        muted = serializers.BooleanField()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Request, member_id: int) -> Response:
        member_mute(user=request.user, muted=member_mutable(member_id=member_id))  # type: ignore[arg-type]
        return Response({"muted": True})

    @extend_schema(request=None, responses={200: OutputSerializer})
    def delete(self, request: Request, member_id: int) -> Response:
        # One muted as a member who has since left or joined the staff can still be unmuted.
        if not mute_exists(user=request.user, muted_id=member_id):  # type: ignore[arg-type]
            member_mutable(member_id=member_id)
        member_unmute(user=request.user, muted_id=member_id)  # type: ignore[arg-type]
        return Response({"muted": False})


class MyMutesApi(APIView):
    """Whom I muted, newest first (cursor-paginated)."""

    permission_classes = [IsAuthenticated]
    pagination_class = MuteCursorPagination

    class OutputSerializer(serializers.Serializer):
        member = AuthorField(user_field="muted")
        created_at = serializers.DateTimeField()

        def to_representation(self, mute: Mute) -> dict[str, Any]:
            # Only members are listed (``mute_list``): shown as on their posts.
            return {
                "member": author_public(mute.muted),
                "created_at": serializers.DateTimeField().to_representation(mute.created_at),
            }

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(mute_list(user=request.user), request, view=self)  # type: ignore[arg-type]
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
