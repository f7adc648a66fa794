"""LLM gate endpoints: /llm/chat, /llm/usage and the OpenAI-compatible /v1 routes.

Errors on /llm/* use the project's ``{"error": code, "detail": text}`` body. Errors on /v1/*
use OpenAI's ``{"error": {"message", "type", "code", "param"}}`` so that the official SDKs
raise their usual exceptions; both come from the one exception handler in t4site.errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.models import Scope
from t4site.errors import exception_handler

from .gate import chat_complete, chat_stream
from .models import money_text
from .selectors import key_budget_today, price_list, usage_recent
from .serializers import (
    ChatCompletionsInput,
    ChatInput,
    ChatOutput,
    UsageOutput,
    UsageQuery,
)

OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_timeout",
}


def openai_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The project's handler, with the body reshaped the way OpenAI clients expect."""
    response = exception_handler(exc, context)
    if response is None or not isinstance(response.data, dict):
        return response
    body = dict(response.data)
    code = body.pop("error", "error")
    message = body.pop("detail", "")
    error = {
        "message": str(message),
        "type": OPENAI_ERROR_TYPES.get(response.status_code, "api_error"),
        "code": code,
        "param": None,
    }
    fields = body.pop("fields", None)
    if isinstance(fields, dict) and fields:
        error["param"] = next(iter(fields))
    error.update(body)  # e.g. remaining_today, request_id, upstream_status
    response.data = {"error": error}
    return response


class AnyAcceptNegotiation(BaseContentNegotiation):
    """OpenAI clients send ``Accept: text/event-stream`` or ``*/*``; the body is JSON or SSE
    whatever they ask for, so Accept never yields 406 here."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class OpenAICompatibleView(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    def get_exception_handler(self) -> Callable[[Exception, dict], Response | None]:
        return openai_exception_handler


class ChatApi(APIView):
    required_scope = Scope.LLM_CALL

    @extend_schema(request=ChatInput, responses={200: ChatOutput})
    def post(self, request: Request) -> Response:
        data = ChatInput(data=request.data)
        data.is_valid(raise_exception=True)
        completion = chat_complete(api_key=request.user, params=data.to_params())
        usage = completion.usage
        body = {
            "text": completion.text,
            "model": usage.model,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost": usage.cost,
            "estimated_cost": usage.estimated_cost,
            "remaining_today": key_budget_today(api_key=request.user).remaining,
            "request_id": usage.request_id,
        }
        return Response(ChatOutput(body).data)


class ChatCompletionsApi(OpenAICompatibleView):
    required_scope = Scope.LLM_CALL

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        data = ChatCompletionsInput(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.to_params(request.data)
        if params.stream:
            stream = chat_stream(api_key=request.user, params=params)
            response = StreamingHttpResponse(stream, content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            response["X-T4-Request-Id"] = stream.reservation.request_id
            return response
        completion = chat_complete(api_key=request.user, params=params)
        # The provider's body is returned verbatim: nothing is lost or re-serialised.
        response = HttpResponse(completion.body, content_type="application/json")
        response["X-T4-Request-Id"] = completion.usage.request_id
        response["X-T4-Cost"] = money_text(completion.usage.cost)
        return response


class ModelListApi(OpenAICompatibleView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        models = [
            {"id": model, "object": "model", "created": 0, "owned_by": "t4"}
            for model in price_list()
        ]
        return Response({"object": "list", "data": models})


class UsageApi(APIView):
    @extend_schema(parameters=[UsageQuery], responses={200: UsageOutput})
    def get(self, request: Request) -> Response:
        query = UsageQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        api_key = request.user
        budget = key_budget_today(api_key=api_key)
        body = {
            "day": budget.day,
            "agent_id": api_key.agent_id,
            "daily_limit": budget.limit,
            "spent": budget.spent,
            "reserved": budget.reserved,
            "remaining": budget.remaining,
            "calls": budget.calls,
            "refusals": budget.refusals,
            "recent": usage_recent(api_key=api_key, limit=query.validated_data["limit"]),
        }
        return Response(UsageOutput(body).data)
