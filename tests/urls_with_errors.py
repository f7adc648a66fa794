"""The real URLconf plus views that fail on purpose, for error-path tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from t4site.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom t4_abcdefgh_" + "s" * 40)


class NeedsIntentsWrite(APIView):
    required_scope = "intents:write"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("test/boom", boom),
    path("test/needs-intents-write", NeedsIntentsWrite.as_view()),
    *urlpatterns,
]
