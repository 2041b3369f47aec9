"""go-micro for Python, on libmicro's Rust engine: services, clients, pub/sub, the registry,
store and broker, the HTTP gateway, the MCP server and its tool catalogue, models and agents
that call the services as tools, all in-process and speaking go-micro v5's protocols.

    import go_micro

    svc = go_micro.Service("greeter")

    @svc.handle("Greeter.Hello")
    def hello(req: dict) -> dict:
        \"\"\"Greets a person by name.

        @example {"name": "Alice"}
        \"\"\"
        return {"msg": f"Hello {req['name']}"}

    svc.run()
"""

from __future__ import annotations

import atexit
import os

from . import _native
from ._ai import (
    Agent,
    ChatMessage,
    DoneEvent,
    Event,
    Events,
    Model,
    Response,
    TextEvent,
    ToolCall,
    ToolCallEvent,
    ToolHandler,
    ToolResultEvent,
    ToolSpec,
    Usage,
)
from ._client import Client, Stream
from ._gateway import Gateway, Server, serve_mcp
from ._native import Broker, Record, Registry, Store, Subscription
from ._service import Context, Message, Service, live
from ._tools import Tools
from .errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InternalServerError,
    MicroError,
    NotFoundError,
    TimeoutError,
    TooManyRequestsError,
    UnauthorizedError,
    UnavailableError,
)

__version__: str = _native.__version__

__all__ = [
    "Agent",
    "BadRequestError",
    "Broker",
    "ChatMessage",
    "Client",
    "ConflictError",
    "Context",
    "DoneEvent",
    "Event",
    "Events",
    "ForbiddenError",
    "Gateway",
    "InternalServerError",
    "Message",
    "MicroError",
    "Model",
    "NotFoundError",
    "Record",
    "Registry",
    "Response",
    "Server",
    "Service",
    "Store",
    "Stream",
    "Subscription",
    "TextEvent",
    "TimeoutError",
    "TooManyRequestsError",
    "ToolCall",
    "ToolCallEvent",
    "ToolHandler",
    "ToolResultEvent",
    "ToolSpec",
    "Tools",
    "UnauthorizedError",
    "UnavailableError",
    "Usage",
    "serve_mcp",
]


def _at_exit() -> None:
    # Deregister what still runs, then stop the engine before the interpreter goes away;
    # requests still in flight get a moment, not a veto.
    for service in list(live):
        try:
            service.stop_now(grace=2.0)
        except MicroError:
            pass
    _native.shutdown()


def _after_fork() -> None:
    # The parent's services are not the child's to stop; the engine starts afresh on use.
    live.clear()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork)
