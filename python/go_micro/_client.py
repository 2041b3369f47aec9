"""The client: call endpoints with JSON-able requests, open streams, publish messages, each
blocking (the GIL released) or awaitable."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from . import _native
from ._aio import wait
from ._schema import encode, parse
from .errors import BadRequestError


def _body(request: Any) -> bytes:
    """The request as JSON bytes; a ``BadRequestError`` when it cannot be encoded."""
    try:
        return encode(request)
    except TypeError as err:
        raise BadRequestError(str(err), id="go_micro") from None


def _options(
    timeout: float | None,
    metadata: Mapping[str, str] | None,
) -> dict[str, Any]:
    return {"timeout": timeout, "metadata": dict(metadata) if metadata else None}


class Client:
    """Calls services found in a registry (default: ``MICRO_REGISTRY``, else mDNS) and
    publishes through a broker (default: ``MICRO_BROKER``, else http).

    Requests are dicts, dataclasses, pydantic models or JSON text; responses come back as
    parsed JSON. Failures raise ``MicroError`` subclasses carrying the remote code."""

    def __init__(
        self,
        registry: _native.Registry | None = None,
        broker: _native.Broker | None = None,
    ) -> None:
        self._native = _native.Client(registry, broker)

    def call(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        retries: int | None = None,
        address: Sequence[str] | None = None,
    ) -> Any:
        """Calls ``endpoint`` (``Handler.Method``) of ``service`` and returns the response.
        ``timeout`` is in seconds (default 5); ``metadata`` goes as headers; ``address``
        names nodes to call instead of looking the service up."""
        body = self._native.call(
            service,
            endpoint,
            _body(request),
            retries=retries,
            address=list(address) if address else None,
            **_options(timeout, metadata),
        )
        return parse(body)

    async def acall(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        retries: int | None = None,
        address: Sequence[str] | None = None,
    ) -> Any:
        """``call``, awaited."""
        body = await wait(
            self._native.call,
            service,
            endpoint,
            _body(request),
            retries=retries,
            address=list(address) if address else None,
            **_options(timeout, metadata),
        )
        return parse(body)

    def stream(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Stream:
        """Opens a stream and sends ``request`` first if given; iterate it for the replies."""
        stream = Stream(self._native.stream(service, endpoint, **_options(timeout, metadata)))
        if request is not None:
            stream.send(request)
        return stream

    async def astream(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Stream:
        """``stream``, awaited; iterate the result with ``async for``."""
        native = await wait(self._native.stream, service, endpoint, **_options(timeout, metadata))
        stream = Stream(native)
        if request is not None:
            await stream.asend(request)
        return stream

    def publish(self, topic: str, message: Any, *, metadata: Mapping[str, str] | None = None) -> None:
        """Publishes ``message`` as JSON on ``topic``."""
        self._native.publish(topic, _body(message), metadata=dict(metadata) if metadata else None)

    async def apublish(self, topic: str, message: Any, *, metadata: Mapping[str, str] | None = None) -> None:
        """``publish``, awaited."""
        await wait(self._native.publish, topic, _body(message), metadata=dict(metadata) if metadata else None)


class Stream:
    """One stream to a service: ``send``/``recv`` JSON messages, iterate the replies with
    ``for`` or ``async for`` until the service ends the stream, ``close`` to stop sending."""

    def __init__(self, native: _native.Stream) -> None:
        self._native = native

    def send(self, message: Any) -> None:
        """Sends one message."""
        self._native.send(_body(message))

    async def asend(self, message: Any) -> None:
        """``send``, awaited."""
        await wait(self._native.send, _body(message))

    def recv(self) -> Any:
        """The next reply, or ``None`` once the service has ended the stream."""
        body = self._native.recv()
        return None if body is None else parse(body)

    async def arecv(self) -> Any:
        """``recv``, awaited."""
        body = await wait(self._native.recv)
        return None if body is None else parse(body)

    def close(self) -> None:
        """Tells the service nothing more will be sent."""
        self._native.close()

    async def aclose(self) -> None:
        """``close``, awaited."""
        await wait(self._native.close)

    def __iter__(self) -> Iterator[Any]:
        while True:
            body = self._native.recv()
            if body is None:
                return
            yield parse(body)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            body = await wait(self._native.recv)
            if body is None:
                return
            yield parse(body)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
