"""API key endpoints: the admin key management routes and /whoami."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmgate.models import money_text
from llmgate.selectors import key_budget_today
from t4site.errors import NotFound

from .authentication import AdminAuthentication
from .permissions import IsT4Admin
from .selectors import apikey_get_by_reference, apikey_list
from .serializers import ApiKeyCreatedOutput, ApiKeyCreateInput, ApiKeyOutput, WhoAmIOutput
from .services import apikey_create, apikey_revoke

# OpenAPI: these routes take the admin token (or a staff session), not an agent key.
ADMIN_AUTH = [{"T4AdminToken": []}]


class AdminApiView(APIView):
    authentication_classes = [AdminAuthentication]
    permission_classes = [IsT4Admin]


class ApiKeyListCreateApi(AdminApiView):
    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput}, auth=ADMIN_AUTH)
    def post(self, request: Request) -> Response:
        data = ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        issued = apikey_create(actor=request.user.actor, **data.validated_data)
        body = ApiKeyCreatedOutput(issued.api_key, context={"secret": issued.secret}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ApiKeyOutput(many=True)}, auth=ADMIN_AUTH)
    def get(self, request: Request) -> Response:
        keys = apikey_list()
        return Response({"count": len(keys), "results": ApiKeyOutput(keys, many=True).data})


class ApiKeyRevokeApi(AdminApiView):
    @extend_schema(request=None, responses={200: ApiKeyOutput}, auth=ADMIN_AUTH)
    def delete(self, request: Request, reference: str) -> Response:
        api_key = apikey_get_by_reference(reference=reference)
        if api_key is None:
            raise NotFound("No API key matches that key or prefix.")
        api_key = apikey_revoke(api_key=api_key, actor=request.user.actor)
        return Response(ApiKeyOutput(api_key).data)


class WhoAmIApi(APIView):
    @extend_schema(responses={200: WhoAmIOutput})
    def get(self, request: Request) -> Response:
        body = dict(WhoAmIOutput(request.user).data)
        budget = key_budget_today(api_key=request.user)
        body["spent_today"] = money_text(budget.spent)
        body["reserved_today"] = money_text(budget.reserved)
        body["remaining_today"] = money_text(budget.remaining)
        state = request._request.t4_rate
        body["rate"] = {
            "limit": state.limit,
            "remaining": state.remaining,
            "reset_seconds": state.reset_seconds,
        }
        return Response(body)
