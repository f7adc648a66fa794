"""The URL pattern a request matched: the label request activity is grouped by.

Used by the request log (``RequestLog.route``, the hourly roll-up, the dashboard's slowest
endpoints) and by the Prometheus request metrics, so both name an endpoint the same way:
``/intents/<str:intent_id>``, never ``/intents/T4-a``, and one label for every path that no
pattern matches. The set of labels stays bounded whatever clients request, and a label is
code (a pattern), never data a client sent.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import Resolver404, resolve

from .models import ROLLUP_PATH_LENGTH, ROUTE_UNMATCHED


def route_of(request: HttpRequest) -> str:
    """``/`` + the matched pattern (regex anchors dropped), or ``ROUTE_UNMATCHED``.

    A request answered before URL resolution (a 413 from the request log, a redirect from
    a security middleware) has no ``resolver_match`` yet; its path is resolved here, so it
    is counted under the endpoint it was sent to.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return ROUTE_UNMATCHED
    if not match.route:
        return ROUTE_UNMATCHED
    return ("/" + match.route.lstrip("^").rstrip("$"))[:ROLLUP_PATH_LENGTH]
