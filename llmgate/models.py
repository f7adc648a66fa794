"""LLM gate data: model prices, per-key daily budgets and the usage ledger."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

# Prices are USD per 1K tokens; a per-token cost therefore needs three more decimal places
# than the price. Ten places keep every product of a 6-place price exact.
PRICE_PLACES = 6
COST_PLACES = 10
ZERO = Decimal("0")
COST_QUANTUM = Decimal(1).scaleb(-COST_PLACES)  # one unit of the last cost place


def money_text(amount: Decimal) -> str:
    """A money amount as the API writes it everywhere: plain digits, ``COST_PLACES``
    decimals (``0.0000001500``), never an exponent (``str()`` gives ``1.5E-7``)."""
    return format(amount.quantize(COST_QUANTUM), "f")


class ModelPrice(models.Model):
    """What one model costs. Only an active, priced model may be called."""

    model = models.CharField(max_length=128, unique=True)
    prompt_per_1k = models.DecimalField(
        max_digits=14,
        decimal_places=PRICE_PLACES,
        validators=[MinValueValidator(ZERO)],
        help_text="USD per 1,000 prompt tokens.",
    )
    completion_per_1k = models.DecimalField(
        max_digits=14,
        decimal_places=PRICE_PLACES,
        validators=[MinValueValidator(ZERO)],
        help_text="USD per 1,000 completion tokens.",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]
        verbose_name = "model price"

    def __str__(self) -> str:
        return f"{self.model} ({self.prompt_per_1k}/{self.completion_per_1k} per 1K)"


class KeyDailyBudget(models.Model):
    """One key's LLM money for one UTC day.

    ``reserved`` holds the worst-case cost of calls in flight; ``spent`` the settled cost.
    A reservation succeeds only through one conditional UPDATE (see ``services``), so
    ``spent + reserved`` never exceeds the key's ``daily_limit`` whatever the concurrency.
    A new day is a new row: yesterday's spend cannot count against today.
    """

    # No index of its own: the (api_key, day) unique constraint's index serves lookups by key.
    api_key = models.ForeignKey(
        "apikeys.APIKey", on_delete=models.CASCADE, related_name="llm_budgets", db_index=False
    )
    day = models.DateField(help_text="UTC day.")
    spent = models.DecimalField(max_digits=24, decimal_places=COST_PLACES, default=ZERO)
    reserved = models.DecimalField(max_digits=24, decimal_places=COST_PLACES, default=ZERO)
    calls = models.PositiveIntegerField(default=0, help_text="Reservations granted.")
    refusals = models.PositiveIntegerField(default=0, help_text="Calls refused for budget.")

    class Meta:
        verbose_name = "daily LLM budget"
        ordering = ["-day", "api_key_id"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "day"], name="llm_budget_key_day"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} {self.day}: {self.spent} spent, {self.reserved} reserved"


class UsageStatus(models.TextChoices):
    OK = "ok", "OK"
    REFUSED = "refused", "Refused"
    ERROR = "error", "Error"


class LLMUsage(models.Model):
    """The ledger: one row per call that reached the gate with a valid key."""

    # No index of its own: "llmusage_key_day" starts with the key and serves lookups by key
    # (one index less to update on every call).
    api_key = models.ForeignKey(
        "apikeys.APIKey", on_delete=models.PROTECT, related_name="llm_usage", db_index=False
    )
    # Copied from the key at call time, never taken from the caller.
    agent_id = models.CharField(max_length=128)
    model = models.CharField(max_length=128)
    day = models.DateField(help_text="UTC day the cost counts against.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=UsageStatus.choices)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    estimated_cost = models.DecimalField(
        max_digits=24, decimal_places=COST_PLACES, default=ZERO, help_text="Reserved worst case."
    )
    cost = models.DecimalField(
        max_digits=24, decimal_places=COST_PLACES, default=ZERO, help_text="Settled cost."
    )
    latency_ms = models.PositiveIntegerField(default=0)
    streamed = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, db_index=True)
    upstream_id = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name = "LLM usage"
        verbose_name_plural = "LLM usage"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["api_key", "day"], name="llmusage_key_day"),
            models.Index(fields=["agent_id", "day"], name="llmusage_agent_day"),
            models.Index(fields=["day", "model"], name="llmusage_day_model"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model} {self.status} {self.cost}"


class DailySpend(models.Model):
    """The midnight roll-up: one row per key, model and closed UTC day.

    Written only by ``llmgate.daily.llm_close_day``, which recomputes a day from the ledger,
    so re-running it (late, twice, after a missed night) converges on the same figures.
    Dashboards read these rows instead of scanning the ledger.
    """

    # No index of its own: the (api_key, model, day) unique constraint's index serves it.
    api_key = models.ForeignKey(
        "apikeys.APIKey", on_delete=models.PROTECT, related_name="daily_spend", db_index=False
    )
    agent_id = models.CharField(max_length=128)
    model = models.CharField(max_length=128)
    day = models.DateField(help_text="UTC day.")
    calls = models.PositiveIntegerField(default=0, help_text="Calls that reached the provider.")
    refusals = models.PositiveIntegerField(default=0, help_text="Calls refused by the budget.")
    errors = models.PositiveIntegerField(default=0, help_text="Calls that failed upstream.")
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=24, decimal_places=COST_PLACES, default=ZERO)
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "daily spend"
        verbose_name_plural = "daily spend"
        ordering = ["-day", "agent_id", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "model", "day"], name="dailyspend_key_model_day"
            )
        ]
        indexes = [
            models.Index(fields=["day", "agent_id"], name="dailyspend_day_agent"),
            models.Index(fields=["day", "model"], name="dailyspend_day_model"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.agent_id} {self.model}: {self.cost}"
