"""The t4client error classes (no imports: the ``check`` fast path loads this first)."""

from __future__ import annotations


class T4Error(RuntimeError):
    """Base class of every t4client error (a RuntimeError, as the seed's examples expect)."""


class T4ConfigError(T4Error):
    """Missing or invalid client configuration (for example no API key)."""


class T4APIError(T4Error):
    """The T4 API answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str = "",
        detail: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.detail = detail
        self.url = url


class T4APIUnavailable(T4APIError):
    """The T4 API could not be reached or failed (5xx); never to be read as "no data"."""


class PathError(T4Error):
    def __init__(self, message: str, *, code: str = "bad_path") -> None:
        super().__init__(message)
        self.code = code


class RuffError(T4Error):
    """Ruff is missing, crashed or printed something we cannot read (fail closed)."""

    def __init__(self, message: str, *, code: str = "ruff_failed") -> None:
        super().__init__(message)
        self.code = code
