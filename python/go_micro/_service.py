"""Services: endpoints and subscribers declared with decorators, served by the engine.

Sync handlers run on the engine's worker threads (each takes the GIL while it runs): right on
the worker that read the request, or, declared ``blocking=True``, after that worker hands its
other tasks to another thread. Async handlers run on the asyncio loop that started the service
(``run()``'s loop, or the loop that awaited ``start()``). The engine parses requests and
encodes responses (``_native.parse``, ``_native.encode``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
import sys
import threading
import typing
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import _native
from ._aio import wait
from ._schema import JsonSchema, decoder, docs, encode, parse, schema_of
from .errors import BadRequestError, MicroError, UnavailableError

F = TypeVar("F", bound=Callable[..., Any])

#: Services started and not yet stopped, stopped (deregistered) at interpreter exit.
live: weakref.WeakSet[Service] = weakref.WeakSet()


@dataclass(frozen=True)
class Context:
    """The call a handler is answering: service, endpoint and the caller's metadata (every
    request header). A handler gets it when it takes a second parameter."""

    service: str
    endpoint: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """A message a subscriber receives: topic, payload (parsed JSON, or bytes when it is
    not JSON) and headers."""

    topic: str
    payload: Any
    header: Mapping[str, str] = field(default_factory=dict)


class _Endpoint:
    """One handler with what it takes and returns. The engine parses the request's JSON and
    encodes what the handler returns; this turns the parsed request into the handler's
    arguments, with a decoder made once for the request type."""

    def __init__(self, service: str, name: str, fn: Callable[..., Any]) -> None:
        self.service, self.name, self.fn = service, name, fn
        params = list(inspect.signature(fn).parameters.values())
        if len(params) > 2:
            raise TypeError(f"the handler for {name} takes (request) or (request, context), not {len(params)} parameters")
        hints = typing.get_type_hints(fn)
        self.takes = len(params)
        self.request_type = hints.get(params[0].name, Any) if params else Any
        self.response_type = hints.get("return", Any)
        self.is_async = inspect.iscoroutinefunction(fn)
        self.decode = decoder(self.request_type)

    def args(self, data: Any, metadata: Mapping[str, str] | None) -> tuple[Any, ...]:
        if self.takes == 0:
            return ()
        request = self.decode(data)
        if self.takes == 1:
            return (request,)
        return (request, Context(self.service, self.name, metadata or {}))

    def invoke(self, data: Any, metadata: Mapping[str, str] | None) -> Any:
        if self.takes == 1:  # the usual case, with a call less
            return self.fn(self.decode(data))
        return self.fn(*self.args(data, metadata))

    async def ainvoke(self, data: Any, metadata: Mapping[str, str] | None) -> Any:
        return await self.fn(*self.args(data, metadata))


if sys.version_info >= (3, 12):

    def _start(loop: asyncio.AbstractEventLoop, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Starts ``make()`` as a task on ``loop`` (the running one), taking its first step at
        once rather than on the next turn of the loop."""
        asyncio.Task(make(), loop=loop, eager_start=True)

else:

    def _start(loop: asyncio.AbstractEventLoop, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Starts ``make()`` as a task on ``loop`` (the running one)."""
        loop.create_task(make())


def _on_loop(
    service: Service,
    run: Callable[[], Coroutine[Any, Any, Any]],
    reply: Callable[[Any, BaseException | None], None],
) -> None:
    """Runs the coroutine ``run()`` as a task on the service's loop and calls ``reply`` with
    its outcome from that task (so it costs no further turn of the loop)."""

    async def task() -> None:
        try:
            value = await run()
        except asyncio.CancelledError:
            reply(None, UnavailableError("the handler was cancelled"))
            raise
        except BaseException as error:  # noqa: BLE001 - it is the handler's outcome
            reply(None, error)
            if not isinstance(error, Exception):
                raise
        else:
            reply(value, None)

    loop = service._loop
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_start, loop, task)
            return
        except RuntimeError:  # the loop has closed
            pass
    reply(None, UnavailableError(f"{service.name} has no running event loop for its async handlers"))


class Service:
    """A go-micro service. Declare endpoints with ``@svc.handle("Handler.Method")`` and
    subscribers with ``@svc.subscribe(topic)``, then ``svc.run()`` (blocks until Ctrl-C or
    SIGTERM) or ``await svc.start()`` / ``await svc.stop()``.

    Options left unset come from the ``MICRO_*`` environment; ``registry``, ``broker`` and
    ``store`` default to the process's shared ones."""

    def __init__(
        self,
        name: str,
        *,
        version: str | None = None,
        address: str | None = None,
        registry: _native.Registry | None = None,
        broker: _native.Broker | None = None,
        store: _native.Store | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self._native = _native.Service(
            name,
            version=version,
            address=address,
            registry=registry,
            broker=broker,
            store=store,
            metadata=dict(metadata) if metadata else None,
        )
        self._running: _native.Running | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def name(self) -> str:
        """The service's name."""
        return self._native.name

    @property
    def address(self) -> str | None:
        """Where the service listens once started (``host:port``), else ``None``."""
        return self._running.address if self._running else None

    def handle(
        self,
        endpoint: str,
        *,
        description: str | None = None,
        example: Any = None,
        request_schema: JsonSchema | None = None,
        response_schema: JsonSchema | None = None,
        scopes: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        blocking: bool = False,
    ) -> Callable[[F], F]:
        """Serves ``endpoint`` (``Handler.Method``) with the decorated function, sync or
        async, taking ``(request)`` or ``(request, context)``.

        A sync handler runs right on the engine worker thread the request arrived on, the
        cheapest way to call it. A handler that may block for a while (``time.sleep``,
        network or disk I/O other than go_micro's own calls, which step aside by themselves)
        must say ``blocking=True``: it then runs after the worker hands its other work to
        another thread, so nothing waits on it (at some 25 µs more per call).

        The description and example come from the docstring (an ``@example {...}`` line
        gives the example) unless given here. Request and response schemas come from the
        type hints of the request parameter and the return value (dataclass, TypedDict or
        pydantic model) unless given here as JSON Schema. ``scopes`` are the scopes a
        caller's token needs; ``metadata`` sets endpoint metadata (e.g. ``mcp_name``)."""

        def register(fn: F) -> F:
            handler = _Endpoint(self.name, endpoint, fn)
            context = handler.takes == 2
            if handler.is_async:
                if blocking:
                    raise TypeError(f"blocking=True is for sync handlers; {endpoint}'s handler is async")

                def invoke_async(data: Any, md: Mapping[str, str] | None, reply: Callable[..., None]) -> None:
                    _on_loop(self, lambda: handler.ainvoke(data, md), reply)

                self._native.handle(endpoint, invoke_async, is_async=True, context=context)
            else:
                self._native.handle(endpoint, handler.invoke, blocking=blocking, context=context)
            self._document(endpoint, fn, description, example)
            self._publish_schemas(endpoint, handler, request_schema, response_schema)
            if scopes:
                self._native.endpoint_metadata(endpoint, "scopes", ",".join(scopes))
            for key, value in (metadata or {}).items():
                self._native.endpoint_metadata(endpoint, key, value)
            return fn

        return register

    def _document(self, endpoint: str, fn: Callable[..., Any], description: str | None, example: Any) -> None:
        text, example_text = docs(fn)
        if example is not None:
            example_text = example if isinstance(example, str) else encode(example).decode()
        description = text if description is None else description
        if description or example_text:
            self._native.describe(endpoint, description, example_text)

    def _publish_schemas(
        self,
        endpoint: str,
        handler: _Endpoint,
        request_schema: JsonSchema | None,
        response_schema: JsonSchema | None,
    ) -> None:
        def side(given: JsonSchema | None, tp: Any, default_name: str) -> tuple[str, str] | None:
            if given is not None:
                return str(given.get("title") or default_name), json.dumps(given)
            found = schema_of(tp)
            return (found[0], json.dumps(found[1])) if found else None

        method = endpoint.rsplit(".", 1)[-1]
        request = side(request_schema, handler.request_type, f"{method}Request")
        response = side(response_schema, handler.response_type, f"{method}Response")
        if request or response:
            self._native.schemas(endpoint, request, response)

    def stream(
        self,
        endpoint: str,
        *,
        description: str | None = None,
        example: Any = None,
        request_schema: JsonSchema | None = None,
        response_schema: JsonSchema | None = None,
    ) -> Callable[[F], F]:
        """Serves the server-stream ``endpoint`` with the decorated generator (``def`` with
        ``yield``, or ``async def`` with ``yield``) taking ``(request)`` or
        ``(request, context)``: each value it yields is sent to the caller, and the stream
        ends when it returns. Documentation and schemas as for ``handle`` (the response
        type is the generator's item type)."""

        def register(fn: F) -> F:
            handler = _Endpoint(self.name, endpoint, fn)
            item = typing.get_args(handler.response_type)
            handler.response_type = item[0] if item else Any
            if inspect.isasyncgenfunction(fn):

                def invoke(data: Any, md: Mapping[str, str], emit: _native.Emit) -> None:
                    async def pump() -> None:
                        async for reply in fn(*handler.args(data, md)):
                            emit.send(encode(reply))

                    _on_loop(self, pump, lambda _, error: emit.end(error))

            elif inspect.isgeneratorfunction(fn):

                def invoke(data: Any, md: Mapping[str, str], emit: _native.Emit) -> None:
                    try:
                        for reply in fn(*handler.args(data, md)):
                            emit.send(encode(reply))
                    except BaseException as error:  # noqa: BLE001 - it is the stream's outcome
                        emit.end(error)
                    else:
                        emit.end(None)

            else:
                raise TypeError(f"the handler for the stream {endpoint} must be a generator (use yield)")
            self._native.stream(endpoint, invoke)
            self._document(endpoint, fn, description, example)
            self._publish_schemas(endpoint, handler, request_schema, response_schema)
            return fn

        return register

    def subscribe(self, topic: str, *, queue: str | None = None) -> Callable[[F], F]:
        """Runs the decorated function (sync or async) for each message on ``topic``, with a
        ``Message``; with ``queue``, the service's instances share the messages."""

        def register(fn: F) -> F:
            is_async = inspect.iscoroutinefunction(fn)

            def invoke(topic: str, body: bytes, header: Mapping[str, str]) -> None:
                try:
                    payload: Any = parse(body)
                except ValueError:
                    payload = body
                message = Message(topic, payload, dict(header))
                if not is_async:
                    fn(message)
                    return
                loop = self._loop
                if loop is None or loop.is_closed():
                    raise UnavailableError(f"{self.name} has no running event loop for its async subscribers")
                asyncio.run_coroutine_threadsafe(fn(message), loop).result()

            self._native.subscribe(topic, invoke, queue)
            return fn

        return register

    async def start(self) -> None:
        """Listens, subscribes and registers; async handlers will run on the running loop."""
        if self._running is not None:
            raise MicroError(f"the service {self.name} is already running", 400, "go_micro")
        self._loop = asyncio.get_running_loop()
        self._running = await wait(self._native.start)
        live.add(self)

    async def stop(self) -> None:
        """Deregisters, unsubscribes and waits for requests in flight."""
        running, self._running = self._running, None
        live.discard(self)
        if running is not None:
            await wait(running.stop)

    def stop_now(self, grace: float | None = None) -> None:
        """``stop``, blocking, waiting at most ``grace`` seconds for requests in flight."""
        running, self._running = self._running, None
        live.discard(self)
        if running is not None:
            running.stop(grace=grace)

    def run(self) -> None:
        """Starts the service and serves until SIGINT (Ctrl-C) or SIGTERM, then stops it
        cleanly: deregistered, in-flight requests finished."""
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stopping.set)
        await self.start()
        print(f"go_micro: {self.name} serving on {self.address}", file=sys.stderr, flush=True)
        try:
            await stopping.wait()
        finally:
            await self.stop()
            print(f"go_micro: {self.name} stopped", file=sys.stderr, flush=True)
