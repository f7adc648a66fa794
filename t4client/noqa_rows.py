"""Ruff's ``noqa_row``, worked out here for the findings of the concise output.

Ruff accepts a ``# noqa`` for a finding on the *last* line of the construct the finding starts
in when that construct spans lines: a multi-line string (triple-quoted, or an f-string whose
replacement field spans lines) or a chain of backslash continuations. Constructs that share a
line are merged (``\"\"\"…\"\"\" + x + \"\"\"…\"\"\"``), and brackets do not count. The
JSON output carries that row as ``noqa_row``; the concise output, which ``check`` reads
because ruff prints it several times faster, does not. The validator needs it only to match an
annotation on such a last line, so it is computed only for files with annotations, and only
up to the last annotated line.

:func:`noqa_rows` answers with a mapping ``row -> noqa_row`` for the rows that differ, or
``None`` when it cannot be sure (the file does not tokenize on this Python: a syntax error, or
syntax newer than the running interpreter). The caller then asks ruff for JSON instead.
``tests/t4client/test_concise.py`` compares the result with ruff's own ``noqa_row``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def noqa_rows(data: bytes, upto: int, plain_lines: Iterable[int] = ()) -> dict[int, int] | None:
    """``{row: noqa_row}`` for rows 1..``upto`` of the file ``data`` whose noqa row differs.

    ``plain_lines`` (optional) are rows whose T4 comment the caller has already parsed; the
    comment is ignored by the quick test below. That test settles the common case without
    decoding or tokenizing: when no line up to ``upto`` holds a quote outside a T4 comment or
    ends with a backslash, there is no string and no continuation, so every row is its own.
    """
    if b"\r" in data:  # ruff numbers rows at \n, \r\n and \r alike; so does all of t4client
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    head = data.split(b"\n", upto)[:upto]
    if _obviously_flat(head, plain_lines):
        return {}
    text = data.decode("utf-8", "replace")
    mapping = _from_tokens("\n".join(text.split("\n", upto)[:upto]) + "\n")
    if mapping is None or (mapping and max(mapping.values()) > upto) or head[-1].endswith(b"\\"):
        # A construct runs past ``upto`` (or the prefix ended inside one): read it all.
        mapping = _from_tokens(text)
    return mapping


def _obviously_flat(head: list[bytes], plain_lines: Iterable[int]) -> bool:
    cut = set(plain_lines)
    for number, line in enumerate(head, start=1):
        code = line
        if number in cut:
            tag = line.find(b"# TODO[T4-")
            if tag < 0:
                tag = line.find(b"#TODO[T4-")
            if tag >= 0:
                code = line[:tag]
        if b'"' in code or b"'" in code or code.endswith(b"\\"):
            return False
    return True


def _from_tokens(source: str) -> dict[int, int] | None:
    import io
    import tokenize

    spans: list[tuple[int, int]] = []
    ends: set[int] = set()  # rows where a physical line ends outside a string
    fstring_starts: list[int] = []
    # f-strings (3.12+) and t-strings (3.14+) come as START … END tokens, not one STRING.
    opens = {
        getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)
    }
    closes = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, (srow, _), (erow, _) = tok.type, tok.start, tok.end
            if kind == tokenize.ERRORTOKEN:
                return None
            if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                ends.add(srow)
            elif kind == tokenize.STRING and erow > srow:
                spans.append((srow, erow))
            elif kind in opens:
                fstring_starts.append(srow)
            elif kind in closes and fstring_starts:
                first = fstring_starts.pop()
                if erow > first:
                    spans.append((first, erow))
    except (tokenize.TokenError, SyntaxError):
        return None
    # Backslash continuations: a row that ends neither a line nor inside a string.
    inside = set()
    for first, last in spans:
        inside.update(range(first, last))
    rows = source.split("\n")
    row = 1
    while row < len(rows):
        if row not in ends and row not in inside and rows[row - 1].endswith("\\"):
            first = row
            while row < len(rows) and row not in ends and rows[row - 1].endswith("\\"):
                row += 1
            spans.append((first, row))
        row += 1
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    if not spans:
        return mapping
    spans.sort()
    merged = [list(spans[0])]
    for first, last in spans[1:]:
        if first <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    for first, last in merged:
        for row in range(first, last):
            mapping[row] = last
    return mapping
