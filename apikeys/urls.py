from __future__ import annotations

from django.urls import path

from .api import ApiKeyListCreateApi, ApiKeyRevokeApi, WhoAmIApi

urlpatterns = [
    path("whoami", WhoAmIApi.as_view(), name="whoami"),
    path("admin/api_keys", ApiKeyListCreateApi.as_view(), name="admin-api-keys"),
    path("admin/api_keys/<path:reference>", ApiKeyRevokeApi.as_view(), name="admin-api-key"),
]
