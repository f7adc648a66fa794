from __future__ import annotations

from django.urls import path

from . import views
from .metrics import metrics_view

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("overview/", views.overview, name="overview"),
    path("intents/", views.intents, name="intents"),
    path("llm/", views.llm_spend, name="llm"),
    path("api/", views.api_activity, name="api"),
]

# Included at the site root by t4site/urls.py: ``path("", include(metrics_urlpatterns))``.
metrics_urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
]
