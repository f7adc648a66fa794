from __future__ import annotations

from django.urls import path

from .api import ChatApi, ChatCompletionsApi, ModelListApi, UsageApi

urlpatterns = [
    path("llm/chat", ChatApi.as_view(), name="llm-chat"),
    path("llm/usage", UsageApi.as_view(), name="llm-usage"),
    path("v1/chat/completions", ChatCompletionsApi.as_view(), name="llm-v1-chat-completions"),
    path("v1/models", ModelListApi.as_view(), name="llm-v1-models"),
]
