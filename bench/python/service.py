"""The benchmark's Python helloworld: `Helloworld.Call` as the Rust one answers it, served by
a sync handler, or by an async one with --async (registered as pyhello-async)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import go_micro

asynchronous = "--async" in sys.argv
service = go_micro.Service("pyhello-async" if asynchronous else "pyhello")


@dataclass
class Request:
    name: str


@dataclass
class Response:
    msg: str


if asynchronous:

    @service.handle("Helloworld.Call")
    async def call_async(req: Request) -> Response:
        return Response(msg=f"Hello {req.name}")

else:

    @service.handle("Helloworld.Call")
    def call(req: Request) -> Response:
        return Response(msg=f"Hello {req.name}")


if __name__ == "__main__":
    service.run()
