"""Reading inline T4 annotations (SPEC "The inline annotation").

Unified form, on the finding's own line::

    x = Depends(db)  # TODO[T4-ISSUE]: {"id":"T4-…","code":"B008","owner":"@team", ...}

The JSON object runs from the first ``{`` after the tag to the end of the line. Several
annotations may share a line (one per code); a single one may cover several codes with
``"code": "F401,F821"`` (or a list). Legacy forms, still read and reported as legacy:
``# TODO[T4-UNUSED-IMPORT]: free text`` and ``# TODO[T4-LINT-ISSUE]: {json}``.
"""

from __future__ import annotations

import functools

from t4client.jsonfast import decode_at, decode_quick

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

    # (id, status, quality problems) of one unified annotation
    Fact = tuple[str | None, str, list[str]]

UNIFIED_TAG = "T4-ISSUE"
LEGACY_TAGS = ("T4-UNUSED-IMPORT", "T4-LINT-ISSUE")


# The patterns are compiled on first use: ``check`` reads canonical annotations without them
# and never imports ``re`` for the common run (see t4client.jsonfast for why that matters).
@functools.cache
def tag_re() -> re.Pattern[str]:
    """Any T4 tag, unified or legacy; group 1 is the tag's name."""
    import re

    return re.compile(r"#\s*TODO\[(T4-ISSUE|T4-UNUSED-IMPORT|T4-LINT-ISSUE)\]:?")


@functools.cache
def noqa_re() -> re.Pattern[str]:
    import re

    return re.compile(r"#\s*noqa\b", re.IGNORECASE)


@functools.cache
def code_re() -> re.Pattern[str]:
    """A ruff rule code in free text (legacy annotations)."""
    import re

    return re.compile(r"\b[A-Z]{1,6}[0-9]{3,4}\b")


STATUSES = ("reserved", "planned", "committed", "accepted", "expired", "implemented")
_NO_TICKET_NEEDED = frozenset({"reserved", "implemented"})
GENERIC_REASONS = frozenset(
    {"", "todo", "fixme", "fix me", "kept for future", "kept for future use", "placeholder"}
)
# SPEC quality-score weights; every other code weighs 1.
WEIGHTS = {"F821": 3, "F401": 3, "B904": 2, "B008": 2, "RUF006": 2}


def _decode_value(text: str, start: int) -> tuple[object, int] | None:
    """The JSON value starting at ``start`` and where it ends, or None if there is none."""
    try:
        return decode_at(text, start)
    except (ValueError, RecursionError):
        return None


def weight(code: str) -> int:
    return WEIGHTS.get(code, 1)


def split_codes(value: Any) -> list[str]:
    """``"F401,F821"``, ``"F401 F821"`` or ``["F401", "F821"]`` → ``["F401", "F821"]``."""
    if isinstance(value, str):
        if value.isalnum():  # one code, nothing to split (the common case)
            return [value.upper()]
        # Commas and runs of whitespace separate codes; str.split() drops the empty parts.
        return [p.upper() for p in value.replace(",", " ").split()]
    if isinstance(value, list):
        parts = [str(v) for v in value if isinstance(v, str | int)]
        return [p.strip().upper() for p in parts if p.strip()]
    return []


class Annotation:
    """One T4 annotation on one physical line (a plain class: ``dataclasses`` is slow to load).

    ``tag``: T4-ISSUE or a legacy tag; ``column``: character offset of the ``#`` that starts
    the tag; ``text``: everything from the tag to the end of the line; ``parse_error``:
    malformed JSON / not an object / missing JSON; ``codes``: empty means unknown (the
    annotation then covers any code).
    """

    __slots__ = ("code_slot", "codes", "column", "data", "line", "parse_error", "tag", "text")

    def __init__(
        self,
        tag: str,
        line: int,
        column: int,
        text: str,
        data: dict[str, Any] | None = None,
        parse_error: str | None = None,
        codes: list[str] | None = None,
    ) -> None:
        self.tag = tag
        self.line = line
        self.column = column
        self.text = text
        self.data = data
        self.parse_error = parse_error
        self.codes = [] if codes is None else codes
        # Where this annotation's codes start in the run's CodeSlots (t4client.scanning): the
        # filing marks there which of its codes ruff reported. -1 until it is numbered.
        self.code_slot = -1

    def _key(self) -> tuple[Any, ...]:
        return (
            self.tag,
            self.line,
            self.column,
            self.text,
            self.data,
            self.parse_error,
            self.codes,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(_FIELDS, self._key(), strict=True)
        )
        return f"Annotation({fields})"

    @property
    def legacy(self) -> bool:
        return self.tag != UNIFIED_TAG

    @property
    def id(self) -> str | None:
        if self.data is None:
            return None
        value = self.data.get("id")
        return value if isinstance(value, str) and value.strip() else None

    def covers(self, code: str) -> bool:
        return not self.codes or code in self.codes


_FIELDS = ("tag", "line", "column", "text", "data", "parse_error", "codes")


# The spelling of nearly every annotation: one tag, written as the SPEC writes it, followed by
# one JSON object that ends the line. parse_line reads it without the regular expression.
_CANONICAL = "# TODO[T4-ISSUE]: {"
_CANONICAL_BRACE = len(_CANONICAL) - 1


def parse_line(text: str, lineno: int) -> list[Annotation]:
    """Every T4 annotation on one physical line (without its line ending)."""
    column = text.find(_CANONICAL)
    if column >= 0 and text.count("TODO[T4-") == 1:
        try:
            value, end = decode_quick(text, column + _CANONICAL_BRACE)
        except Exception:  # the general path below words the error
            value = None
        if value.__class__ is dict and (end == len(text) or text[end:].isspace()):
            code = value.get("code")  # type: ignore[union-attr]
            # split_codes' common case inline: one code, nothing to split
            codes = (
                [code.upper()] if code.__class__ is str and code.isalnum() else split_codes(code)
            )
            return [Annotation(UNIFIED_TAG, lineno, column, text[column:end], value, None, codes)]  # type: ignore[arg-type]
    found: list[Annotation] = []
    pos = 0
    tag_pattern = tag_re()
    while True:
        m = tag_pattern.search(text, pos)
        if m is None:
            return found
        tag = m.group(1)
        ann = Annotation(tag=tag, line=lineno, column=m.start(), text=text[m.start() :].rstrip())
        found.append(ann)
        rest_start = m.end()
        if tag == "T4-UNUSED-IMPORT":
            # Free text to the end of the line; it always means an unused import.
            ann.codes = ["F401"]
            nxt = tag_pattern.search(text, rest_start)
            ann.data = {"reason": text[rest_start : nxt.start() if nxt else None].strip()}
            if nxt is None:
                return found
            ann.text = text[m.start() : nxt.start()].rstrip()
            pos = nxt.start()
            continue
        start = len(text) - len(text[rest_start:].lstrip())
        if start < len(text) and text[start] != "{":
            # A JSON value that is not an object (a list, a string, a number) right after the tag.
            decoded = _decode_value(text, start)
            if decoded is not None:
                value, end = decoded
                ann.parse_error = f"annotation JSON is not an object (got {type(value).__name__})"
                ann.text = text[m.start() : end]
                pos = end
                continue
        brace = text.find("{", rest_start)
        # A tag has no "{", so one that starts before the brace also ends before it.
        nxt = (
            tag_pattern.search(text, rest_start, brace)
            if brace >= 0
            else tag_pattern.search(text, rest_start)
        )
        if brace < 0 or (nxt is not None and nxt.start() < brace):
            ann.parse_error = "no JSON object after the tag"
            if tag == "T4-LINT-ISSUE":
                ann.codes = code_re().findall(text[rest_start : nxt.start() if nxt else None])
            if nxt is None:
                return found
            pos = nxt.start()
            continue
        try:
            value, end = decode_at(text, brace)
        except (ValueError, RecursionError) as exc:  # nested too deep counts as malformed
            # The object should run to the end of the line, so nothing after it is trusted.
            ann.parse_error = f"malformed JSON: {exc}"
            return found
        trailing = text[end:].strip()
        if not isinstance(value, dict):
            ann.parse_error = f"annotation JSON is not an object (got {type(value).__name__})"
        else:
            ann.data = value
            ann.codes = split_codes(value.get("code"))
        ann.text = text[m.start() : end]
        if trailing and tag_pattern.match(trailing) is None:
            ann.parse_error = ann.parse_error or "unexpected text after the JSON object"
            return found
        pos = end


def has_noqa(text: str) -> bool:
    return noqa_re().search(text) is not None


_PARSE_ERROR_PROBLEMS = (
    ("malformed JSON", "malformed_json"),
    ("annotation JSON is not an object", "not_an_object"),
    ("no JSON", "missing_json"),
)


def annotation_facts(ann: Annotation) -> Fact:
    """``(id, status, quality problems)`` of a unified annotation, in one pass.

    ``status`` is the annotation's lifecycle status, or "unknown" when it has none that
    SPEC knows; the problems are the names of the quality rules it breaks (none: it passes).
    """
    data = ann.data
    if data is None:
        ident, status = None, "unknown"
    else:
        ident = data.get("id")
        if not isinstance(ident, str) or not ident.strip():
            ident = None
        status = data.get("status")
        status = status.strip().lower() if isinstance(status, str) else ""
        if status not in STATUSES:
            status = "unknown"
    error = ann.parse_error
    if error is not None:
        problem = next((p for prefix, p in _PARSE_ERROR_PROBLEMS if error.startswith(prefix)), None)
        return ident, status, [problem or "trailing_text"]
    data = data or {}
    problems = []
    if ident is None:
        problems.append("missing_id")
    if not ann.codes:
        problems.append("missing_code")
    if status == "unknown":
        problems.append("invalid_status")
    if not _filled(data.get("owner")):
        problems.append("missing_owner")
    # The registry's rule (intents.models.TICKET_REQUIRED), so that the validator and
    # /metrics/summary agree (SPEC): a bare reservation needs no ticket yet, and an implemented
    # intent is not scored; every other annotation, a waiver included, tracks a ticket.
    if status not in _NO_TICKET_NEEDED and not _filled(data.get("ticket")):
        problems.append("missing_ticket")
    reason = data.get("reason")
    if not isinstance(reason, str) or reason.strip().lower() in GENERIC_REASONS:
        problems.append("missing_or_generic_reason")
    return ident, status, problems


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
