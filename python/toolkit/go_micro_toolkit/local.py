"""The in-process source: services found through the registry and called through the engine
(the ``go-micro`` package, ``go_micro``), with no gateway in between. Tools are built from the
registry as the gateway builds them: one per unary endpoint (not streams, not subscribers),
its JSON Schema from the endpoint's ``request_schema`` metadata, else from go-micro's request
type tree. Calls carry the process's own rights: there are no tokens or scopes here.
"""

from __future__ import annotations

import asyncio
import json
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
            self.client = go_micro.Client(self.registry)
        except go_micro.MicroError as e:
            raise GoMicroConnectionError(f"cannot open the registry {registry!r}: {e.detail or e}") from e
        self.timeout = timeout
        self._endpoints: dict[str, tuple[str, str]] = {}

    def tools(self) -> list[dict[str, Any]]:
        """The tools of every registered service, shaped as ``GET /mcp/tools`` lists them."""
        tools = []
        for name in sorted({s["name"] for s in self._registry_call(self.registry.list_services)}):
            try:
                versions = self._registry_call(self.registry.get_service, name)
            except GoMicroToolError as e:
                if e.status == 404:
                    continue  # deregistered since it was listed
                raise
            if versions:
                service = versions[0]
                tools.extend(_tool(name, e) for e in service.get("endpoints") or () if _callable(e))
        self._endpoints = {t["name"]: (t["service"], t["endpoint"]) for t in tools}
        return tools

    async def atools(self) -> list[dict[str, Any]]:
        """:meth:`tools`, on a worker thread (registry look-ups block)."""
        return await asyncio.to_thread(self.tools)

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Calls the endpoint ``tool`` (``<service>.<Handler.Method>``) with ``arguments``."""
        service, endpoint = self._endpoint(tool)
        try:
            return self.client.call(service, endpoint, arguments, timeout=self.timeout)
        except self._go_micro.MicroError as e:
            raise _error(e, tool) from e

    async def acall(self, tool: str, arguments: dict[str, Any]) -> Any:
        """:meth:`call`, awaited."""
        service, endpoint = self._endpoint(tool)
        try:
            return await self.client.acall(service, endpoint, arguments, timeout=self.timeout)
        except self._go_micro.MicroError as e:
            raise _error(e, tool) from e

    def close(self) -> None:
        """Nothing to release: the engine's connections are shared by the process."""

    def _endpoint(self, tool: str) -> tuple[str, str]:
        """The service and endpoint of ``tool``, looked up (never split: service names may
        hold dots), reloading the tools once if it is new."""
        if tool not in self._endpoints:
            self.tools()
        try:
            return self._endpoints[tool]
        except KeyError:
            raise GoMicroToolError(
                f"unknown tool {tool!r}; list the tools to see what can be called", status=404, tool=tool
            ) from None

    def _registry_call(self, method, *args: Any) -> Any:
        try:
            return method(*args)
        except self._go_micro.MicroError as e:
            raise _error(e, None) from e


def _callable(endpoint: dict[str, Any]) -> bool:
    metadata = endpoint.get("metadata") or {}
    return metadata.get("stream") != "true" and metadata.get("subscriber") != "true"


def _tool(service: str, endpoint: dict[str, Any]) -> dict[str, Any]:
    metadata = dict(endpoint.get("metadata") or {})
    name = endpoint["name"]
    example = _json(metadata.get("example"))
    schema = _json(metadata.get("request_schema"))
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        schema = _from_value(endpoint.get("request"))
    schema.setdefault("type", "object")
    if example is not None:
        schema["examples"] = [example]
    return {
        "name": f"{service}.{name}",
        "description": (metadata.get("description") or "").strip()
        or f"Calls the {name} endpoint of the {service} service.",
        "inputSchema": schema,
        "service": service,
        "endpoint": name,
        "example": example,
        "metadata": metadata,
        "scopes": [],
    }


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        return None


def _from_value(request: dict[str, Any] | None) -> dict[str, Any]:
    """An object schema from go-micro's request type tree, for services that publish no JSON
    Schema (go-micro's own)."""
    fields = (request or {}).get("values") or ()
    return {"type": "object", "properties": {f["name"]: _field(f) for f in fields}}


def _field(value: dict[str, Any]) -> dict[str, Any]:
    kind, fields = value.get("type") or "", value.get("values") or ()
    if kind.startswith("[]"):
        item = kind[2:]
        if item in ("uint8", "byte"):
            return {"type": "string", "contentEncoding": "base64"}
        return (
            {"type": "array", "items": _field({"type": item, "values": fields})}
            if item
            else {"type": "array"}
        )
    if fields:
        return {"type": "object", "properties": {f["name"]: _field(f) for f in fields}}
    if kind == "string":
        return {"type": "string"}
    if kind == "bool":
        return {"type": "boolean"}
    if kind in ("float32", "float64"):
        return {"type": "number"}
    if kind.startswith(("int", "uint")):
        return {"type": "integer"}
    return {}


def _error(error: Any, tool: str | None) -> GoMicroError:
    """A go_micro.MicroError as the toolkit's error."""
    code, where = error.code, f"{tool}: " if tool else ""
    message = f"{where}{error.detail or error}"
    if code in (401, 403):
        return GoMicroAuthError(message, status=code, tool=tool)
    if error.id == _CLIENT_ID and code in (502, 503):
        return GoMicroConnectionError(message, status=code, tool=tool)
    return GoMicroToolError(message, status=code, tool=tool)
