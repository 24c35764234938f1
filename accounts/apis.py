from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_me
from accounts.services import user_update_profile
from accounts.validators import DISPLAY_NAME_MAX, DISPLAY_NAME_MIN


class MeApi(APIView):
    """The signed-in member's own profile. Only here does a response carry an email.

    Who may change what is ``user_update_profile``'s rule: a suspended or unverified
    member may still turn reply emails off.
    """

    permission_classes = [IsAuthenticated]

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
