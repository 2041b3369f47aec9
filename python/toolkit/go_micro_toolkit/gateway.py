"""The go-micro MCP gateway's REST surface over HTTP: ``GET /mcp/tools`` lists the tools the
token may call, ``POST /mcp/call`` calls one. Served by ``micro mcp serve --address``,
``micro server`` and ``micro run``. Sync and async (on worker threads), with retries where a
retry is safe: a refused connection, a 429 (rate limited) or a 503 (tool paused) never ran
the call.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx

from .config import GoMicroConfig
from .errors import GoMicroAuthError, GoMicroConnectionError, GoMicroError, GoMicroToolError

_RETRIED_STATUSES = (429, 503)


class Gateway:
    """A client of one gateway; reuses its connections until :meth:`close`. Safe to share
    between threads."""

    def __init__(self, config: GoMicroConfig) -> None:
        self.config = config
        headers = {"Accept": "application/json"}
        if config.authorization:
            headers["Authorization"] = config.authorization
        self._options = {"base_url": config.gateway_url, "headers": headers, "timeout": config.timeout}
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def tools(self) -> list[dict[str, Any]]:
        """The tools the token may call, as the gateway lists them."""
        return _tools(self._send("GET", "/mcp/tools", None), self.config)

    async def atools(self) -> list[dict[str, Any]]:
        """:meth:`tools` on a worker thread (see :meth:`acall`)."""
        return await asyncio.to_thread(self.tools)

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Calls ``tool`` (its gateway name) and returns the service's JSON answer."""
        body = {"name": tool, "arguments": arguments}
        return _result(self._send("POST", "/mcp/call", body), tool)

    async def acall(self, tool: str, arguments: dict[str, Any]) -> Any:
        """:meth:`call` on a worker thread, leaving the event loop free: httpx's own async
        client made calls 2-3x slower here (bench/results/toolkits.md)."""
        return await asyncio.to_thread(self.call, tool, arguments)

    def close(self) -> None:
        """Closes the connections; a later call opens new ones."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _send(self, method: str, path: str, body: Any) -> httpx.Response:
        for attempt in range(self.config.retry_count + 1):
            try:
                response = self._http().request(method, path, json=body)
            except httpx.HTTPError as e:
                if attempt < self.config.retry_count and _retried(e):
                    time.sleep(self.config.retry_delay)
                    continue
                raise self._unreachable(e) from e
            if attempt < self.config.retry_count and response.status_code in _RETRIED_STATUSES:
                time.sleep(_wait(response, self.config.retry_delay))
                continue
            return response
        raise AssertionError("the loop returns or raises")

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(**self._options)
            return self._client

    def _unreachable(self, error: httpx.HTTPError) -> GoMicroConnectionError:
        kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
        return GoMicroConnectionError(
            f"the request to the go-micro gateway at {self.config.gateway_url} {kind} "
            f"({type(error).__name__}: {error}); check that `micro mcp serve --address ...` "
            "or `micro server` is running there"
        )


def _retried(error: httpx.HTTPError) -> bool:
    """True when the request never reached the gateway, so sending it again is safe."""
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))


def _wait(response: httpx.Response, default: float) -> float:
    retry_after = _retry_after(response)
    return default if retry_after is None else max(default, retry_after)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise GoMicroConnectionError(
            f"{response.request.url} answered {response.status_code} without a JSON object; "
            "is this a go-micro gateway (micro mcp serve, micro server, micro run)?",
            status=response.status_code,
        )
    return body


def _refused(response: httpx.Response, body: dict[str, Any], tool: str | None) -> GoMicroError:
    """The error for a 401 or 403 answer."""
    status = response.status_code
    message = str(body.get("error") or "refused")
    trace_id = body.get("trace_id")
    if status == 401:
        return GoMicroAuthError(
            f"the gateway wants a valid token: {message}; pass token=... (or auth_token=...)",
            status=status,
            tool=tool,
            trace_id=trace_id,
        )
    required = [s for s in str(body.get("required_scopes") or "").split(",") if s]
    return GoMicroAuthError(message, required_scopes=required, status=status, tool=tool, trace_id=trace_id)


def _tools(response: httpx.Response, config: GoMicroConfig) -> list[dict[str, Any]]:
    body = _body(response)
    if response.status_code in (401, 403):
        raise _refused(response, body, None)
    tools = body.get("tools")
    if response.status_code != 200 or not isinstance(tools, list):
        raise GoMicroConnectionError(
            f"GET {config.gateway_url}/mcp/tools answered {response.status_code}: "
            f"{body.get('error') or body}; is this a go-micro MCP gateway?",
            status=response.status_code,
        )
    return [t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def _result(response: httpx.Response, tool: str) -> Any:
    body = _body(response)
    if response.status_code == 200 and "result" in body:
        return body["result"]
    if response.status_code in (401, 403):
        raise _refused(response, body, tool)
    raise GoMicroToolError(
        f"{tool}: {body.get('error') or body}",
        status=response.status_code,
        tool=tool,
        trace_id=body.get("trace_id"),
        retry_after=_retry_after(response),
    )
