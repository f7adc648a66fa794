from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dashboard.urls import metrics_urlpatterns

from .views import HealthApi

# The API's /admin/api_keys routes come before Django's admin, which lives at /admin/.
urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("", include(metrics_urlpatterns)),
    path("", include("apikeys.urls")),
    path("", include("intents.urls")),
    path("", include("llmgate.urls")),
    path("dashboard/", include("dashboard.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler400 = "t4site.errors.json_400"
handler403 = "t4site.errors.json_403"
handler404 = "t4site.errors.json_404"
handler500 = "t4site.errors.json_500"
