"""The two JSON operations ``check`` needs, without importing :mod:`json`.

``import json`` also imports ``re`` (and with it ``enum``) and compiles six regular
expressions. ``check`` does that work while ruff runs, and on the benchmark dropping it made
the whole command end 6-10 ms sooner (docs/t4client.md, "Benchmark"). What ``check`` needs
is small: one value decoded at a position (an annotation's JSON) and the report encoded
compactly. Both are done by ``_json``, the C accelerator behind :mod:`json` itself, called
with exactly the arguments :mod:`json` passes it, so the results are the same.

Where the accelerator is missing (another Python implementation) or does not give the
expected answer to a small check at import, :mod:`json` is used instead. Errors are always
raised by :mod:`json` itself, so their wording never differs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["decode_at", "decode_quick", "dumps_compact"]


class _DecoderContext:
    """The settings ``json.JSONDecoder()`` hands its scanner: strict, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


class _Probe:
    def __str__(self) -> str:
        return "probe"


def _refuses(encode: Callable[..., Any], value: Any) -> bool:
    try:
        encode(value, 0)
    except TypeError:
        return True
    return False


def _accelerated() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """``(scan_once, encode)`` from ``_json``, or None when it cannot be trusted here."""
    try:
        import _json

        scan_once = _json.make_scanner(_DecoderContext())
        # json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str,
        # check_circular=False) builds this very encoder for a one-shot encode.
        encode = _json.make_encoder(
            None, str, _json.encode_basestring, None, ":", ",", False, False, True
        )
        # Samples that tell every setting apart: keys in their order (no sort_keys), an int
        # key written as a string, default=str, infinity written (allow_nan), and a key
        # JSON cannot hold refused (no skipkeys).
        sample = {"b": [1, -2.5, None, True, 'é\n"\\'], "a": {}, 3: _Probe()}
        text = '{"b":[1,-2.5,null,true,"é\\n\\"\\\\"],"a":{},"3":"probe"}'
        if "".join(encode(sample, 0)) != text:
            return None
        decoded = {"b": [1, -2.5, None, True, 'é\n"\\'], "a": {}, "3": "probe"}
        if scan_once(text, 0) != (decoded, len(text)):
            return None
        if "".join(encode([float("inf")], 0)) != "[Infinity]":
            return None
        if not _refuses(encode, {(1,): 1}):  # a key JSON cannot hold
            return None
    except Exception:  # no accelerator, or another interface: use json
        return None
    return scan_once, encode


_FAST = _accelerated()


def decode_at(text: str, index: int) -> tuple[Any, int]:
    """``json.JSONDecoder().raw_decode(text, index)``: the value at ``index`` and its end."""
    if _FAST is not None:
        try:
            return _FAST[0](text, index)
        except Exception:  # json raises the error, in its own words
            return _decode_with_json(text, index)
    return _decode_with_json(text, index)


# ``decode_at`` without the error handling, for callers that only ask whether a value is
# there (any exception: no): the accelerator's scanner itself, one call less per value. On
# bad input it raises StopIteration, ValueError or RecursionError; ``decode_at`` words them.
decode_quick: Callable[[str, int], tuple[Any, int]] = (
    _FAST[0] if _FAST is not None else decode_at  # type: ignore[assignment]
)


def _decode_with_json(text: str, index: int) -> tuple[Any, int]:
    import json

    return json.JSONDecoder().raw_decode(text, index)


def dumps_compact(data: Any) -> str:
    """``json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)``.

    Without the cycle check (``check_circular=False``): the callers encode trees.
    """
    if _FAST is not None:
        return "".join(_FAST[1](data, 0))
    import json

    return json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), default=str, check_circular=False
    ).encode(data)
