"""Every registered endpoint as an MCP tool, in-process: the catalogue ``serve_mcp`` serves,
listed and called through the engine with no server in between."""

from __future__ import annotations

import builtins
from typing import Any

from . import _native
from ._aio import wait


class Tools:
    """The tools of the services in ``registry`` (default: the process's shared one), plus the
    framework tools over the registry, ``store`` and ``broker``, named, described and called
    as ``serve_mcp`` and the gateway's ``/mcp`` do: ``<service>.<Handler.Method>`` or the
    endpoint's ``mcp_name``, the endpoint's description and JSON Schema. Each call may take
    ``timeout`` seconds (default go-micro's 30). Calls carry the process's own rights: there
    are no tokens or scopes in-process."""

    def __init__(
        self,
        *,
        registry: _native.Registry | None = None,
        store: _native.Store | None = None,
        broker: _native.Broker | None = None,
        timeout: float | None = None,
    ) -> None:
        self._native = _native.Tools(registry=registry, store=store, broker=broker, timeout=timeout)

    def list(self) -> list[dict[str, Any]]:
        """Every tool as ``GET /mcp/tools`` lists it (``name``, ``description``,
        ``inputSchema``, ``service``, ``endpoint``, ``example``, ``metadata``, ``scopes``), in
        name order, the framework tools last."""
        return self._native.list()

    # `list` below means the builtin, not the method above.
    async def alist(self) -> builtins.list[dict[str, Any]]:
        """``list``, awaited."""
        tools: builtins.list[dict[str, Any]] = await wait(self._native.list)
        return tools

    def call(self, name: str, arguments: Any = None) -> Any:
        """Calls tool ``name`` with ``arguments`` (a dict, dataclass, pydantic model or JSON
        text) and returns the service's answer, parsed. Raises the service's ``MicroError``,
        or ``NotFoundError`` for an unknown tool."""
        return self._native.call(name, arguments)

    async def acall(self, name: str, arguments: Any = None) -> Any:
        """``call``, awaited."""
        return await wait(self._native.call, name, arguments)
