"""Intent endpoints (SPEC "API"): paths without a trailing slash, JSON in and out."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import AdminAuthentication
from apikeys.permissions import IsT4Admin
from audit.actor import Actor
from audit.middleware import client_ip
from t4site.errors import NotFound

from .reports import report_create
from .selectors import (
    intent_get,
    intent_list,
    intent_list_by_file,
    intent_list_by_owner,
    intent_list_stale,
    metrics_summary,
)
from .serializers import (
    ByFileQuery,
    IntentCreateInput,
    IntentListQuery,
    IntentOutput,
    IntentPatchInput,
    MetricsSummaryOutput,
    PageQuery,
    ReportInput,
    ReportOutput,
    StaleQuery,
)
from .services import intent_create, intent_delete, intent_update

READ = "intents:read"
WRITE = "intents:write"


class IntentPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def _key_actor(request: Request) -> Actor:
    return Actor.for_key(request.user, remote_addr=client_ip(request._request))


def _query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class _PagedListApi(APIView):
    required_scope = READ

    def paginate(self, request: Request, queryset: QuerySet) -> Response:
        paginator = IntentPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(IntentOutput(page, many=True).data)


class IntentListCreateApi(_PagedListApi):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(parameters=[IntentListQuery], responses={200: IntentOutput(many=True)})
    def get(self, request: Request) -> Response:
        query = _query(IntentListQuery, request)
        queryset = intent_list(
            status=query.get("status"),
            owner=query.get("owner"),
            code=query.get("code"),
            file=query.get("file"),
            q=query.get("q"),
            stale=query.get("stale"),
        )
        return self.paginate(request, queryset)

    @extend_schema(request=IntentCreateInput, responses={201: IntentOutput})
    def post(self, request: Request) -> Response:
        data = IntentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        intent = intent_create(
            actor=_key_actor(request), created_by=request.user, **data.validated_data
        )
        intent = intent_get(intent_id=intent.id)
        return Response(IntentOutput(intent).data, status=status.HTTP_201_CREATED)


class IntentStaleApi(_PagedListApi):
    @extend_schema(parameters=[StaleQuery], responses={200: IntentOutput(many=True)})
    def get(self, request: Request) -> Response:
        query = _query(StaleQuery, request)
        return self.paginate(request, intent_list_stale(days=query["days"]))


class IntentByOwnerApi(_PagedListApi):
    @extend_schema(parameters=[PageQuery], responses={200: IntentOutput(many=True)})
    def get(self, request: Request, owner: str) -> Response:
        _query(PageQuery, request)
        return self.paginate(request, intent_list_by_owner(owner=owner))


class IntentByFileApi(_PagedListApi):
    @extend_schema(parameters=[ByFileQuery], responses={200: IntentOutput(many=True)})
    def get(self, request: Request) -> Response:
        query = _query(ByFileQuery, request)
        return self.paginate(request, intent_list_by_file(file=query["file"]))


class IntentDetailApi(APIView):
    """GET/PATCH with an agent key; DELETE with the admin token or a staff session."""

    required_scopes = {"GET": READ, "PATCH": WRITE}

    def _is_delete(self) -> bool:
        # Django's View.setup has set self.request (the HttpRequest) before DRF authenticates.
        return getattr(self, "request", None) is not None and self.request.method == "DELETE"

    def get_authenticators(self) -> list:
        return [AdminAuthentication()] if self._is_delete() else super().get_authenticators()

    def get_permissions(self) -> list:
        return [IsT4Admin()] if self._is_delete() else super().get_permissions()

    @extend_schema(responses={200: IntentOutput})
    def get(self, request: Request, intent_id: str) -> Response:
        intent = intent_get(intent_id=intent_id)
        if intent is None:
            raise NotFound(f"No intent with id '{intent_id}'.")
        return Response(IntentOutput(intent).data)

    @extend_schema(request=IntentPatchInput, responses={200: IntentOutput})
    def patch(self, request: Request, intent_id: str) -> Response:
        data = IntentPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        new_status = changes.pop("status", None)
        intent_update(
            intent_id=intent_id, actor=_key_actor(request), changes=changes, status=new_status
        )
        return Response(IntentOutput(intent_get(intent_id=intent_id)).data)

    @extend_schema(
        request=None,
        responses={204: None},
        auth=[{"T4AdminToken": []}],
    )
    def delete(self, request: Request, intent_id: str) -> Response:
        intent_delete(intent_id=intent_id, actor=request.user.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MetricsSummaryApi(APIView):
    required_scope = ("metrics:read", READ)

    @extend_schema(responses={200: MetricsSummaryOutput})
    def get(self, request: Request) -> Response:
        return Response(MetricsSummaryOutput(metrics_summary()).data)


class ReportCreateApi(APIView):
    """POST /reports: a validator report (``t4client check --upload``)."""

    required_scope = "reports:write"

    @extend_schema(request=ReportInput, responses={201: ReportOutput})
    def post(self, request: Request) -> Response:
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["sync"] and not request.user.has_scope(WRITE):
            # Syncing creates and moves intents: what POST /intents needs, sync needs too.
            raise PermissionDenied(
                f"sync=true changes intents: this API key lacks the '{WRITE}' scope.",
                code="missing_scope",
            )
        report, _ = report_create(
            api_key=request.user, actor=_key_actor(request), **data.validated_data
        )
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)
