"""Errors as go-micro carries them: every failure is a ``MicroError`` with the ``id`` of who
raised it, an HTTP-like ``code`` and a ``detail``. Subclasses name the common codes, so
``except go_micro.NotFoundError`` works, and a handler raising one answers with its code."""

from __future__ import annotations

import builtins
from typing import ClassVar

_STATUS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class MicroError(Exception):
    """A go-micro error: ``id`` (who raised it), ``code`` (400, 404, 500, ...), ``detail``
    (what went wrong) and ``status`` (the code's HTTP text)."""

    default_code: ClassVar[int] = 500

    def __init__(self, detail: str = "", code: int | None = None, id: str = "") -> None:
        self.detail = detail
        self.code = self.default_code if code is None else int(code)
        self.id = id
        self.status = _STATUS.get(self.code, "")
        super().__init__(detail)

    def __str__(self) -> str:
        where = f"{self.id}: " if self.id else ""
        return f"{where}{self.detail} ({self.code} {self.status})".replace(" )", ")")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(detail={self.detail!r}, code={self.code}, id={self.id!r})"


class BadRequestError(MicroError):
    """400: the request was wrong."""

    default_code = 400


class UnauthorizedError(MicroError):
    """401: the caller is not authenticated."""

    default_code = 401


class ForbiddenError(MicroError):
    """403: the caller may not do this."""

    default_code = 403


class NotFoundError(MicroError):
    """404: no such service, endpoint or record."""

    default_code = 404


class TimeoutError(MicroError, builtins.TimeoutError):  # noqa: A001 - go_micro.TimeoutError
    """408: the call ran out of time."""

    default_code = 408


class ConflictError(MicroError):
    """409: the request conflicts with the current state."""

    default_code = 409


class TooManyRequestsError(MicroError):
    """429: rate limited; try again later."""

    default_code = 429


class InternalServerError(MicroError):
    """500: something failed inside the service."""

    default_code = 500


class UnavailableError(MicroError):
    """503: the service cannot answer now."""

    default_code = 503


def from_parts(id: str, code: int, detail: str, status: str = "") -> MicroError:
    """The exception for an engine error given by its parts: the subclass the engine gives
    that code when it reads it off the wire (502 and 504 are ``UnavailableError``, 413 a
    ``BadRequestError``)."""
    from . import _native

    return _native.error_from_parts(id, code, detail, status)
