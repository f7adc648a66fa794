"""Django admin for API keys: the secret is shown once after creation or rotation."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from audit.actor import Actor
from audit.middleware import client_ip
from llmgate.models import KeyDailyBudget
from llmgate.selectors import utc_today

from .models import ALL_SCOPES, APIKey, KeyStatus, Scope
from .services import MAX_EXPIRY_DAYS, IssuedKey, apikey_create, apikey_revoke, apikey_rotate

ISSUED_TEMPLATE = "admin/apikeys/apikey/issued.html"


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, remote_addr=client_ip(request))


def _issued_response(
    request: HttpRequest, issued: list[IssuedKey], *, title: str, opts: object
) -> HttpResponse:
    response = TemplateResponse(
        request,
        ISSUED_TEMPLATE,
        {
            **admin.site.each_context(request),
            "title": title,
            "issued": issued,
            "opts": opts,
        },
    )
    # The page carries secrets: no browser or proxy may keep a copy.
    response["Cache-Control"] = "no-store"
    return response


class APIKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may do.",
    )
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        initial=365,
        required=False,
        help_text="Leave empty for a key that never expires.",
    )

    class Meta:
        model = APIKey
        fields = ["agent_id", "owner", "scopes", "daily_limit", "rate_per_minute"]


class APIKeyChangeForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, help_text="What the key may do."
    )

    class Meta:
        model = APIKey
        fields = ["agent_id", "owner", "scopes", "expires_at", "daily_limit", "rate_per_minute"]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return KeyStatus.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == KeyStatus.REVOKED:
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == KeyStatus.EXPIRED:
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == KeyStatus.ACTIVE:
            return queryset.filter(revoked_at__isnull=True).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            )
        return queryset


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = [
        "key_prefix",
        "agent_id",
        "owner",
        "scope_list",
        "status_badge",
        "expires_at",
        "last_used_at",
        "daily_limit",
        "spent_today",
        "remaining_today",
        "rate_per_minute",
    ]
    list_filter = [StatusFilter, "owner", "created_at"]
    search_fields = ["prefix", "agent_id", "owner"]
    ordering = ["-created_at"]
    actions = ["revoke_keys", "rotate_keys"]
    readonly_fields = [
        "key_prefix",
        "status_badge",
        "created_at",
        "created_by",
        "revoked_at",
        "rotated_at",
        "last_used_at",
        "spent_today",
        "remaining_today",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[APIKey]:
        # Today's spend comes from the budget row of the UTC day, in the same query.
        money = DecimalField(max_digits=14, decimal_places=6)
        today = KeyDailyBudget.objects.filter(api_key=OuterRef("pk"), day=utc_today())
        zero = Value(0, output_field=money)
        spent = Coalesce(Subquery(today.values("spent")[:1], output_field=money), zero)
        reserved = Coalesce(Subquery(today.values("reserved")[:1], output_field=money), zero)
        return (
            super()
            .get_queryset(request)
            .annotate(t4_spent_today=spent, t4_reserved_today=reserved)
            .annotate(
                t4_remaining_today=Greatest(
                    F("daily_limit") - F("t4_spent_today") - F("t4_reserved_today"), zero
                )
            )
        )

    @admin.display(description="spent today (USD)", ordering="t4_spent_today")
    def spent_today(self, obj: APIKey) -> str:
        return f"{getattr(obj, 't4_spent_today', 0):.2f}"

    @admin.display(description="remaining today (USD)", ordering="t4_remaining_today")
    def remaining_today(self, obj: APIKey) -> str:
        return f"{getattr(obj, 't4_remaining_today', obj.daily_limit):.2f}"

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = APIKeyChangeForm if obj is not None else APIKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if obj is None:
            return ["agent_id", "owner", "scopes", "expires_in_days", "daily_limit",
                    "rate_per_minute"]  # fmt: skip
        return [*self.readonly_fields, *APIKeyChangeForm.Meta.fields]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: APIKey | None = None) -> bool:
        # Keys are revoked, never deleted: the request log and usage ledger refer to them.
        return False

    @admin.display(description="prefix", ordering="prefix")
    def key_prefix(self, obj: APIKey) -> str:
        return f"{obj.display_prefix}_…"

    @admin.display(description="scopes")
    def scope_list(self, obj: APIKey) -> str:
        return ", ".join(obj.scopes or [])

    @admin.display(description="status")
    def status_badge(self, obj: APIKey) -> str:
        colours = {KeyStatus.ACTIVE: "#2e7d32", KeyStatus.EXPIRED: "#b26a00"}
        status = obj.status
        return format_html(
            '<strong style="color:{}">{}</strong>', colours.get(status, "#c62828"), status
        )

    def save_model(self, request: HttpRequest, obj: APIKey, form: forms.Form, change: bool) -> None:
        if change:
            with _actor(request).audit_context():
                obj.save()
            return
        data = form.cleaned_data
        issued = apikey_create(
            agent_id=data["agent_id"],
            owner=data.get("owner") or "",
            scopes=list(data["scopes"]),
            expires_in_days=data.get("expires_in_days"),
            daily_limit=data["daily_limit"],
            rate_per_minute=data["rate_per_minute"],
            actor=_actor(request),
        )
        # Hand the saved record back to the admin machinery; the secret stays on the request.
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        obj._state.adding = False
        request._t4_issued = [issued]  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: APIKey, post_url_continue=None):  # type: ignore[no-untyped-def]
        issued = getattr(request, "_t4_issued", None)
        if not issued:
            return super().response_add(request, obj, post_url_continue)
        return _issued_response(
            request, issued, title="API key created — copy it now", opts=self.model._meta
        )

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        actor = _actor(request)
        count = 0
        for api_key in queryset:
            if api_key.revoked_at is None:
                apikey_revoke(api_key=api_key, actor=actor)
                count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)

    @admin.action(description="Rotate selected keys (new secret, shown once)")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> HttpResponse | None:
        actor = _actor(request)
        issued: list[IssuedKey] = []
        skipped = 0
        for api_key in queryset:
            if api_key.revoked_at is not None:
                skipped += 1
                continue
            issued.append(apikey_rotate(api_key=api_key, actor=actor))
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} revoked key(s): they cannot be rotated.",
                messages.WARNING,
            )
        if not issued:
            return None
        return _issued_response(
            request, issued, title="API keys rotated — copy the new keys now", opts=self.model._meta
        )
