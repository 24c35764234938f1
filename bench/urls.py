"""The app's URLs plus ``/bench/ceiling/``: what the same stack serves with no work to do.

The ceiling is a bare DRF view (no authentication, no permission checks, no throttles, no
database) that renders a fixed posts page built once at import, of the same shape and
weight as a real ``GET /api/v1/threads/{id}/posts/`` page. Every endpoint's throughput is
reported as a fraction of it.
"""

from typing import Any

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.corpus import ceiling_page
from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as app_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

CEILING_PAGE: dict[str, Any] = ceiling_page()


class CeilingApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def get(self, request: Request) -> Response:
        return Response(CEILING_PAGE)


urlpatterns = [
    *app_urlpatterns,
    path("bench/ceiling/", CeilingApi.as_view(), name="bench-ceiling"),
]
