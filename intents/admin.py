"""Intent admin: browse, filter and edit, with every change going through the services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.actor import Actor
from audit.middleware import client_ip
from t4site.errors import DomainError

from .models import OPEN_STATUSES, Intent, IntentStatus, QualityReport
from .services import (
    EDITABLE_FIELDS,
    check_values,
    expiry_refusal,
    intent_create,
    intent_delete,
    intent_transition,
    intent_update,
    missing_for_status,
    past_expiry_refusal,
    transition_allowed,
)

EXPIRING_DAYS = 14
MAX_REPORTED_REFUSALS = 20


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, remote_addr=client_ip(request))


class ExpiringFilter(admin.SimpleListFilter):
    title = "waiver expiry"
    parameter_name = "expiring"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("soon", f"Expiring within {EXPIRING_DAYS} days"), ("past", "Past expiry")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "soon":
            return queryset.filter(
                status=IntentStatus.ACCEPTED,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=EXPIRING_DAYS),
            )
        if self.value() == "past":
            return queryset.filter(status=IntentStatus.ACCEPTED, expires_at__lte=now)
        return queryset


class StaleFilter(admin.SimpleListFilter):
    title = "stale"
    parameter_name = "stale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("flagged", "Flagged by the stale job"),
            ("untouched", f"Open, untouched for {settings.T4_STALE_DAYS}+ days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "flagged":
            return queryset.filter(stale_since__isnull=False)
        if self.value() == "untouched":
            cutoff = timezone.now() - timedelta(days=settings.T4_STALE_DAYS)
            return queryset.filter(status__in=OPEN_STATUSES, modified_at__lt=cutoff)
        return queryset


class IntentActionForm(ActionForm):
    owner = forms.CharField(required=False, max_length=128)
    ticket = forms.CharField(required=False, max_length=128)
    days = forms.IntegerField(required=False, min_value=1, max_value=3650, initial=90)


class IntentAdminForm(forms.ModelForm):
    """Checks the lifecycle before save so a refusal shows on the form, not as an error page."""

    class Meta:
        model = Intent
        fields = ["id", *EDITABLE_FIELDS, "status"]

    def clean(self) -> dict[str, Any]:
        # The same checks the services make, so that a refusal is shown on the form (adding
        # included) instead of a "Not saved" next to Django's "added successfully".
        data = super().clean()
        adding = self.instance._state.adding
        checked = ("id", "code", "file", "line") if adding else ("code", "file", "line")
        try:
            check_values({name: data[name] for name in checked if data.get(name) is not None})
        except DomainError as exc:
            raise ValidationError(exc.detail) from exc
        if adding:
            old: str | None = IntentStatus.RESERVED  # a new intent starts reserved
        else:
            old = (
                Intent.objects.filter(pk=self.instance.pk).values_list("status", flat=True).first()
            )
        new = data.get("status")
        if old and new and new != old:
            if not transition_allowed(old, new):
                raise ValidationError(f"An intent cannot go from {old} to {new}.")
            probe = Intent(**{name: data.get(name) for name in EDITABLE_FIELDS if name in data})
            missing = [m for m in missing_for_status(probe, new) if m != "expires_at"]
            if missing:
                raise ValidationError(f"Status {new} needs: {', '.join(missing)}.")
            now = timezone.now()
            refusal = past_expiry_refusal(new, probe.expires_at, now) or expiry_refusal(
                new, probe.expires_at, now
            )
            if refusal:
                raise ValidationError(refusal)
        return data


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    form = IntentAdminForm
    action_form = IntentActionForm
    list_display = [
        "id",
        "status",
        "code",
        "owner",
        "ticket",
        "file_line",
        "age",
        "expires_at",
    ]
    list_filter = [
        "status",
        "code",
        "reason_category",
        "owner",
        ExpiringFilter,
        StaleFilter,
    ]
    search_fields = ["id", "file", "owner", "ticket"]
    readonly_fields = [
        "created_at",
        "modified_at",
        "resolved_at",
        "created_by",
        "stale_since",
    ]
    list_select_related = ["created_by"]
    ordering = ["-created_at"]
    actions = [
        "assign_owner_ticket",
        "move_to_planned",
        "move_to_implemented",
        "accept_as_waiver",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Intent | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "id"] if obj is not None else fields

    @admin.display(description="file:line")
    def file_line(self, obj: Intent) -> str:
        return f"{obj.file}:{obj.line}"

    @admin.display(description="age (days)", ordering="created_at")
    def age(self, obj: Intent) -> int:
        return (timezone.now() - obj.created_at).days

    # --- single-object saves go through the services ----------------------------------------
    def save_model(self, request: HttpRequest, obj: Intent, form: Any, change: bool) -> None:
        actor = _actor(request)
        data = form.cleaned_data
        try:
            if not change:
                fields = {
                    name: data[name]
                    for name in EDITABLE_FIELDS
                    if name in data and name not in ("code", "file", "line")
                }
                created = intent_create(
                    id=data["id"],
                    code=data["code"],
                    file=data["file"],
                    line=data["line"],
                    status=data.get("status"),
                    actor=actor,
                    **fields,
                )
            else:
                changes = {
                    name: data[name] for name in form.changed_data if name in EDITABLE_FIELDS
                }
                created = intent_update(
                    intent_id=obj.pk, actor=actor, changes=changes, status=data.get("status")
                )
        except DomainError as exc:
            # The form's clean() catches the usual refusals; this covers races.
            self.message_user(request, f"Not saved: {exc.detail}", level=messages.ERROR)
            return
        obj.__dict__.update(created.__dict__)

    def delete_model(self, request: HttpRequest, obj: Intent) -> None:
        intent_delete(intent_id=obj.pk, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _actor(request)
        for pk in queryset.values_list("pk", flat=True):
            try:
                intent_delete(intent_id=pk, actor=actor)
            except DomainError:
                continue  # already gone

    # --- bulk actions -----------------------------------------------------------------------
    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        verb: str,
        change: Callable[[str, Actor], Any],
    ) -> None:
        """Apply ``change`` row by row through the service; report refusals per row."""
        actor = _actor(request)
        done, refused = 0, []
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                change(pk, actor)
            except DomainError as exc:
                refused.append(f"{pk}: {exc.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, f"{verb}: {done} intent(s).", level=messages.SUCCESS)
        if refused:
            shown = "; ".join(refused[:MAX_REPORTED_REFUSALS])
            more = len(refused) - MAX_REPORTED_REFUSALS
            suffix = f" … and {more} more" if more > 0 else ""
            self.message_user(
                request, f"Refused {len(refused)}: {shown}{suffix}", level=messages.WARNING
            )

    @admin.action(description="Assign owner / ticket (fields above)")
    def assign_owner_ticket(self, request: HttpRequest, queryset: QuerySet) -> None:
        changes = {
            name: request.POST.get(name, "").strip()
            for name in ("owner", "ticket")
            if request.POST.get(name, "").strip()
        }
        if not changes:
            self.message_user(request, "Enter an owner and/or a ticket.", level=messages.ERROR)
            return
        self._each(
            request,
            queryset,
            "Assigned",
            lambda pk, actor: intent_update(intent_id=pk, actor=actor, changes=changes),
        )

    @admin.action(description="Move to planned")
    def move_to_planned(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            "Moved to planned",
            lambda pk, actor: intent_transition(
                intent_id=pk, to_status=IntentStatus.PLANNED, actor=actor
            ),
        )

    @admin.action(description="Move to implemented")
    def move_to_implemented(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            "Moved to implemented",
            lambda pk, actor: intent_transition(
                intent_id=pk, to_status=IntentStatus.IMPLEMENTED, actor=actor
            ),
        )

    @admin.action(description="Accept as waiver for N days (days above)")
    def accept_as_waiver(self, request: HttpRequest, queryset: QuerySet) -> None:
        try:
            days = int(request.POST.get("days") or 90)
        except ValueError:
            days = 0
        if not 1 <= days <= 3650:
            self.message_user(request, "days must be between 1 and 3650.", level=messages.ERROR)
            return
        expires_at = timezone.now() + timedelta(days=days)
        self._each(
            request,
            queryset,
            f"Accepted as waiver for {days} days",
            lambda pk, actor: intent_transition(
                intent_id=pk,
                to_status=IntentStatus.ACCEPTED,
                actor=actor,
                changes={"expires_at": expires_at},
            ),
        )


@admin.register(QualityReport)
class QualityReportAdmin(admin.ModelAdmin):
    """Uploaded validator reports: evidence for the trend, read-only."""

    list_display = [
        "created_at",
        "repository",
        "commit",
        "status",
        "total_findings",
        "annotated",
        "unannotated",
        "legacy_format",
        "waived",
        "quality_issues",
        "quality_score",
        "uploaded_by",
    ]
    list_filter = ["status", "repository", "created_at"]
    search_fields = ["repository", "commit"]
    date_hierarchy = "created_at"
    list_select_related = ["uploaded_by"]
    readonly_fields = [f.name for f in QualityReport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
