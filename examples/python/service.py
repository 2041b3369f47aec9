"""helloworld in Python: `Helloworld.Call` greets a person by name, `Helloworld.Later` does the
same from an async handler, `Helloworld.Stream` greets them `count` times as a server stream,
and every `greetings` message is logged.

    pip install ./python
    python examples/python/service.py
    micro call helloworld Helloworld.Call '{"name": "Alice"}'
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import go_micro

service = go_micro.Service("helloworld")


@dataclass
class Request:
    """Whom to greet."""

    name: str


@dataclass
class Response:
    """The greeting."""

    msg: str


@service.handle("Helloworld.Call")
def call(req: Request) -> Response:
    """Greets a person by name.

    @example {"name": "Alice"}
    """
    if not req.name:
        raise go_micro.BadRequestError("name is required")
    return Response(msg=f"Hello {req.name}")


@service.handle("Helloworld.Later")
async def later(req: Request, ctx: go_micro.Context) -> Response:
    """Greets a person by name after a short pause, without blocking other calls.

    @example {"name": "Bob"}
    """
    await asyncio.sleep(0.1)
    return Response(msg=f"Hello {req.name}, from {ctx.service}")


@dataclass
class StreamRequest:
    """Whom to greet, and how many times."""

    name: str
    count: int = 1


@service.stream("Helloworld.Stream")
def stream(req: StreamRequest) -> Iterator[Response]:
    """Greets a person count times, one message each.

    @example {"name": "Alice", "count": 3}
    """
    for i in range(1, min(req.count, 1000) + 1):
        yield Response(msg=f"Hello {req.name} {i}")


@service.subscribe("greetings")
def log_greeting(message: go_micro.Message) -> None:
    print(f"greeting on {message.topic}: {message.payload}", flush=True)


if __name__ == "__main__":
    service.run()
