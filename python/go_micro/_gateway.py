"""The HTTP gateway and the MCP server, run in-process beside the services."""

from __future__ import annotations

from . import _native
from ._aio import wait


class Server:
    """A gateway or MCP server running in the background; ``stop()`` ends it."""

    def __init__(self, native: _native.Server) -> None:
        self._native = native

    @property
    def address(self) -> str:
        """Where it listens, ``host:port``."""
        return self._native.address

    def stop(self) -> None:
        """Stops accepting and lets requests in flight finish."""
        self._native.stop()

    async def astop(self) -> None:
        """``stop``, awaited."""
        await wait(self._native.stop)


class Gateway:
    """go-micro's HTTP API gateway over the registry: ``POST /api/{service}/{Handler.Method}``,
    ``/micro/registry``, ``/micro/store``, ``/micro/broker``, and with ``mcp`` (the default)
    the MCP gateway at ``/mcp``, ``/mcp/tools`` and ``/mcp/call``."""

    def __init__(
        self,
        *,
        registry: _native.Registry | None = None,
        store: _native.Store | None = None,
        broker: _native.Broker | None = None,
        mcp: bool = True,
        max_body_size: int | None = None,
    ) -> None:
        self._native = _native.Gateway(
            registry=registry, store=store, broker=broker, mcp=mcp, max_body_size=max_body_size
        )

    def start(self, address: str = ":8080") -> Server:
        """Serves on ``address`` (``:8080`` is 127.0.0.1:8080; port 0 picks a free one)."""
        return Server(self._native.start(address))

    async def astart(self, address: str = ":8080") -> Server:
        """``start``, awaited."""
        return Server(await wait(self._native.start, address))


def serve_mcp(
    address: str | None = None,
    *,
    registry: _native.Registry | None = None,
    store: _native.Store | None = None,
    broker: _native.Broker | None = None,
) -> Server | None:
    """Serves every registered endpoint as an MCP tool. With ``address`` (e.g. ``:3000``):
    Streamable HTTP at ``/mcp`` in the background, returning the server. Without: MCP over
    stdin and stdout, blocking until stdin ends (``MICRO_TOKEN`` is the token when auth is on)."""
    native = _native.serve_mcp(address, registry=registry, store=store, broker=broker)
    return None if native is None else Server(native)
