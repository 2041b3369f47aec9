"""The in-process source: services found through the registry and called through the engine
(the ``go-micro`` package, ``go_micro``), with no gateway in between. The tools are the engine's
own MCP catalogue (``go_micro.Tools``), the one the gateway's ``/mcp/tools`` lists: one per
unary endpoint (named by ``mcp_name`` when it has one, never streams or subscribers), plus the
framework tools over the registry, store and broker. Calls carry the process's own rights:
there are no tokens or scopes here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import GoMicroAuthError, GoMicroConnectionError, GoMicroError, GoMicroToolError

_CLIENT_ID = "go.micro.client"


class Local:
    """Tools of the services in ``registry`` (a ``go_micro.Registry``, or its name: ``mdns``,
    ``memory``; default ``MICRO_REGISTRY``, else mDNS), each call timing out after ``timeout``
    seconds (default the client's)."""

    def __init__(self, registry: Any = None, timeout: float | None = None) -> None:
        try:
            import go_micro
        except ImportError as e:
            raise GoMicroConnectionError(
                "the in-process mode needs the go-micro package (import go_micro): "
                "pip install go-micro, or use a gateway URL instead"
            ) from e
        self._go_micro = go_micro
        try:
            self.registry = (
                registry if isinstance(registry, go_micro.Registry) else go_micro.Registry(registry)
            )
            self.catalogue = go_micro.Tools(registry=self.registry, timeout=timeout)
        except go_micro.MicroError as e:
            raise GoMicroConnectionError(f"cannot open the registry {registry!r}: {e.detail or e}") from e

    def tools(self) -> list[dict[str, Any]]:
        """The tools of every registered service, shaped as ``GET /mcp/tools`` lists them."""
        with self._errors(None):
            return self.catalogue.list()

    async def atools(self) -> list[dict[str, Any]]:
        """:meth:`tools`, awaited."""
        with self._errors(None):
            return await self.catalogue.alist()

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Calls ``tool`` with ``arguments``."""
        with self._errors(tool):
            return self.catalogue.call(tool, arguments)

    async def acall(self, tool: str, arguments: dict[str, Any]) -> Any:
        """:meth:`call`, awaited."""
        with self._errors(tool):
            return await self.catalogue.acall(tool, arguments)

    @contextmanager
    def _errors(self, tool: str | None) -> Iterator[None]:
        """Raises a ``go_micro.MicroError`` met inside as the toolkit's error."""
        try:
            yield
        except self._go_micro.MicroError as e:
            raise _error(e, tool) from e

    def close(self) -> None:
        """Nothing to release: the engine's connections are shared by the process."""


def _error(error: Any, tool: str | None) -> GoMicroError:
    """A go_micro.MicroError as the toolkit's error."""
    code, where = error.code, f"{tool}: " if tool else ""
    message = f"{where}{error.detail or error}"
    if code in (401, 403):
        return GoMicroAuthError(message, status=code, tool=tool)
    if error.id == _CLIENT_ID and code in (502, 503):
        return GoMicroConnectionError(message, status=code, tool=tool)
    return GoMicroToolError(message, status=code, tool=tool)
