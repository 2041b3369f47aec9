"""The errors every go-micro toolkit raises, under one base, :class:`GoMicroError`."""

from __future__ import annotations


class GoMicroError(Exception):
    """Something went wrong reaching or calling go-micro services.

    ``status`` is the HTTP status (or the engine's error code) when there was one, ``tool``
    the tool being called, ``trace_id`` the gateway's trace id for the call.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        tool: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.tool = tool
        self.trace_id = trace_id


class GoMicroConnectionError(GoMicroError):
    """The gateway or registry could not be reached, or did not answer like a go-micro gateway."""


class GoMicroAuthError(GoMicroError):
    """The token was missing or refused (401), or lacks the scopes a tool needs (403).

    ``required_scopes`` lists the scopes the tool asks for, when the gateway said.
    """

    def __init__(self, message: str, *, required_scopes: list[str] | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.required_scopes = required_scopes or []


class GoMicroToolError(GoMicroError):
    """A tool call failed: no such tool, bad arguments, the service's own error, or the tool
    is rate limited or paused (``retry_after`` then says how many seconds to wait)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
