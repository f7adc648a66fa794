"""The API's JSON parser: DRF's, with a nesting limit that answers 400 instead of 500."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """``json`` gives up on very deep documents with RecursionError, which DRF does not turn
    into a parse error: a request body of ~1,000 nested brackets would be a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
