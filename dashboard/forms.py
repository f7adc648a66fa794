"""The filter bar shared by every page: an inclusive UTC date range and an owner."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.http import QueryDict

from .selectors.common import Filters, utc_today

MAX_SPAN_DAYS = 366


class FilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.CharField(required=False, max_length=128, strip=True)

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if start and end and (end - start).days > MAX_SPAN_DAYS:
            raise forms.ValidationError(f"The range is limited to {MAX_SPAN_DAYS} days.")
        return data


def parse_filters(query: QueryDict, *, default_days: int) -> tuple[FilterForm, Filters, bool]:
    """The bound form, the effective filters and whether a date range was given explicitly.

    Invalid input falls back to the defaults; the form carries the errors to show.
    """
    form = FilterForm(query)
    today = utc_today()
    start = end = None
    owner = ""
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        owner = form.cleaned_data["owner"] or ""
    explicit = bool(start or end)
    end = end or today
    start = start or (end - timedelta(days=default_days - 1))
    if (end - start).days > MAX_SPAN_DAYS:
        start = end - timedelta(days=MAX_SPAN_DAYS)
    return form, Filters(start=start, end=end, owner=owner), explicit
