"""Pure parts: the least-squares ETA, the SVG renderer and CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.charts import bar_chart, line_chart
from dashboard.tables import Link, Table, csv_cell, csv_response
from dashboard.trend import eta_to_target, least_squares

from .conftest import XSS

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_least_squares_exact_line() -> None:
    intercept, slope = least_squares([(0, 10), (1, 8), (2, 6)])
    assert intercept == pytest.approx(10)
    assert slope == pytest.approx(-2)
    assert least_squares([(1, 1)]) is None
    assert least_squares([(1, 1), (1, 2)]) is None


def test_eta_on_a_decreasing_trend() -> None:
    series = [(T0 + timedelta(days=d), 100 - 10 * d) for d in range(4)]  # 100, 90, 80, 70
    eta = eta_to_target(series, target=0)
    assert eta.state == "eta"
    assert eta.slope_per_day == pytest.approx(-10)
    assert eta.eta == T0 + timedelta(days=10)
    assert eta.message == "target expected around 2025-01-11"


def test_eta_with_noise_uses_least_squares() -> None:
    series = [(T0, 50.0), (T0 + timedelta(days=1), 46.0), (T0 + timedelta(days=2), 44.0)]
    # slope = -3, intercept = 49.667 -> reaches 20 after 9.888 days
    eta = eta_to_target(series, target=20)
    assert eta.slope_per_day == pytest.approx(-3)
    assert eta.eta == T0 + timedelta(days=(20 - 49 - 2 / 3) / -3)


@pytest.mark.parametrize("values", [[10, 10, 10], [10, 12, 11], [5, 6, 9]])
def test_flat_or_growing_trend_is_not_decreasing(values: list[int]) -> None:
    series = [(T0 + timedelta(days=i), v) for i, v in enumerate(values)]
    eta = eta_to_target(series, target=0)
    assert eta.state == "not_decreasing"
    assert eta.message == "not decreasing"


def test_eta_edge_cases() -> None:
    assert eta_to_target([(T0, 5)], target=0).state == "insufficient"
    assert eta_to_target([(T0, 5), (T0, 3)], target=0).state == "insufficient"
    reached = eta_to_target([(T0, 5), (T0 + timedelta(days=1), 0)], target=0)
    assert reached.message == "target reached"


def test_charts_escape_labels_and_make_no_external_reference() -> None:
    svg = str(bar_chart([XSS, "b"], [3, Decimal("1.5")], title=XSS))
    assert XSS not in svg
    assert "&lt;script&gt;" in svg
    assert "<script" not in svg
    assert "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert svg.count("<rect") == 2
    line = str(line_chart(["a", "b", "c"], {XSS: [1, None, 3]}, title="t"))
    assert XSS not in line and line.count("<circle") == 2
    assert "no data" in str(bar_chart([], [], title="empty"))


def test_csv_cells() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(Decimal("1.50")) == "1.50"
    assert csv_cell(3) == 3
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("-x") == "'-x"
    assert csv_cell(Link("T4-1", "/admin/x")) == "T4-1"
    assert csv_cell("plain") == "plain"


def test_csv_response_quotes() -> None:
    table = Table("t", "T", ["a", "b"], rows=[['x, "y"', "line\nbreak"]])
    body = csv_response(table, filename_prefix="p").content.decode()
    assert body == 'a,b\r\n"x, ""y""","line\nbreak"\r\n'
