"""The site's URLs plus the root ``/metrics`` route (t4site/urls.py includes it in production)."""

from __future__ import annotations

from django.urls import include, path

from dashboard.urls import metrics_urlpatterns

urlpatterns = [
    path("", include(metrics_urlpatterns)),
    path("", include("t4site.urls")),
]

handler400 = "t4site.errors.json_400"
handler403 = "t4site.errors.json_403"
handler404 = "t4site.errors.json_404"
handler500 = "t4site.errors.json_500"
