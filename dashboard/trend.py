"""The least-squares trend of the stored reports and the ETA to a target count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Eta:
    state: str  # "insufficient" | "not_decreasing" | "reached" | "eta"
    slope_per_day: float | None = None
    eta: datetime | None = None

    @property
    def message(self) -> str:
        if self.state == "insufficient":
            return "not enough reports for a trend (two reports on different times are needed)"
        if self.state == "not_decreasing":
            return "not decreasing"
        if self.state == "reached":
            return "target reached"
        assert self.eta is not None
        return f"target expected around {self.eta:%Y-%m-%d}"


def least_squares(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """``(intercept, slope)`` of the ordinary least-squares line, or None if undetermined."""
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return mean_y - slope * mean_x, slope


def eta_to_target(series: Sequence[tuple[datetime, float]], *, target: float) -> Eta:
    """When the fitted line reaches ``target``; "not decreasing" when the slope is >= 0.

    x is measured in days since the first report, so the slope reads "findings per day".
    """
    if len(series) < 2:
        return Eta("insufficient")
    origin = series[0][0]
    points = [((t - origin).total_seconds() / 86400.0, float(y)) for t, y in series]
    fit = least_squares(points)
    if fit is None:
        return Eta("insufficient")
    intercept, slope = fit
    if slope >= 0:
        return Eta("not_decreasing", slope_per_day=slope)
    if series[-1][1] <= target:
        return Eta("reached", slope_per_day=slope)
    days = (target - intercept) / slope
    # The fitted line may already be past the target while the last report is not: the
    # estimate is then "now", never a date in the past.
    when = max(origin + timedelta(days=days), series[-1][0])
    return Eta("eta", slope_per_day=slope, eta=when)
