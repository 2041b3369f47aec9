"""asyncio over the engine: a native method given ``done`` returns at once and calls
``done(value, exception)`` from an engine thread when it ends; ``wait`` turns that into an
awaitable settled on the caller's loop."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def wait(method: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
    """Calls ``method(*args, done=..., **kwargs)`` and returns the future its ``done``
    settles on the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def done(value: Any, error: BaseException | None) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(_settle, future, value, error)

    method(*args, done=done, **kwargs)
    return future
