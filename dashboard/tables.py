"""Dashboard tables: one structure rendered both as HTML and as CSV.

A page builds ``Table`` objects; the template renders them (autoescaped) and ``?format=csv&
table=<name>`` streams the same rows through the ``csv`` module, so the export always matches
what the page shows.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Spreadsheet applications run a cell that starts with one of these as a formula ("CSV
# injection"); such text cells are prefixed with a quote so they stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Link:
    """A cell that links somewhere (for example an intent's admin page)."""

    text: str
    url: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Table:
    name: str
    title: str
    columns: Sequence[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    @property
    def body_html(self) -> SafeString:
        """The ``<tbody>`` rows, built in Python: a template loop costs ~25 us per cell, which
        dominated the page time for a few hundred rows. Every text goes through ``escape``."""
        out = []
        for row in self.rows:
            out.append("<tr>")
            for cell in row:
                text, url, numeric = display_cell(cell)
                td = '<td class="num">' if numeric else "<td>"
                if url:
                    out.append(f'{td}<a href="{escape(url)}">{escape(text)}</a></td>')
                else:
                    out.append(f"{td}{escape(text)}</td>")
            out.append("</tr>\n")
        return mark_safe("".join(out))  # noqa: S308 - every text and url is escaped above

    @property
    def display_rows(self) -> list[list[tuple[str, str, bool]]]:
        """``(text, url, numeric)`` per cell, for the template (which escapes the text)."""
        return [[display_cell(cell) for cell in row] for row in self.rows]


def display_cell(value: Any) -> tuple[str, str, bool]:
    if isinstance(value, Link):
        return value.text, value.url, False
    if value is None:
        return "", "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), "", False
    if isinstance(value, int | float | Decimal):
        return (f"{value:,}" if isinstance(value, int) else str(value)), "", True
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M"), "", False
    if isinstance(value, date):
        return value.isoformat(), "", False
    return str(value), "", False


def csv_cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_response(table: Table, *, filename_prefix: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename_prefix}-{table.name}.csv"'
    writer = csv.writer(response, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(list(table.columns))
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response
