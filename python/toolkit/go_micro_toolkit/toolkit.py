"""The toolkit both framework packages build on: where the tools come from (a gateway, or the
engine in-process), the catalogue with safe names, filters, and calling a tool by either name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .config import DEFAULT_GATEWAY_URL, GoMicroConfig
from .errors import GoMicroToolError
from .gateway import Gateway
from .names import safe_names


@dataclass(frozen=True)
class ToolInfo:
    """One tool: ``name`` is safe for every model API, ``tool`` the name the gateway or engine
    calls it by; ``qualified_name`` is go-micro's ``<service>.<Handler.Method>``."""

    name: str
    tool: str
    description: str
    input_schema: dict[str, Any]
    service: str = ""
    endpoint: str = ""
    example: Any = None
    scopes: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        """``<service>.<Handler.Method>``, or the framework tool's own name."""
        return f"{self.service}.{self.endpoint}" if self.service else self.tool

    def tool_metadata(self) -> dict[str, Any]:
        """What a LangChain or LlamaIndex tool keeps in its metadata: the real names and scopes."""
        return {
            "go_micro_name": self.qualified_name,
            "go_micro_tool": self.tool,
            "service": self.service,
            "endpoint": self.endpoint,
            "scopes": list(self.scopes),
        }


class Source(Protocol):
    """Where tools come from and calls go: :class:`Gateway`, or the engine in-process."""

    def tools(self) -> list[dict[str, Any]]: ...
    async def atools(self) -> list[dict[str, Any]]: ...
    def call(self, tool: str, arguments: dict[str, Any]) -> Any: ...
    async def acall(self, tool: str, arguments: dict[str, Any]) -> Any: ...
    def close(self) -> None: ...


class Toolkit:
    """go-micro services as tools, through a gateway or in-process.

    ``Toolkit("http://localhost:3000", token="Bearer ...")``, ``Toolkit(base_url=...,
    token=...)`` or ``Toolkit(GoMicroConfig(...))`` reach a gateway; :meth:`local` finds the
    services through the registry instead. The catalogue loads on first use; :meth:`refresh`
    reloads it.
    """

    def __init__(
        self,
        config: GoMicroConfig | str | None = None,
        token: str | None = None,
        *,
        base_url: str | None = None,
        source: Source | None = None,
        **options: Any,
    ) -> None:
        if source is None:
            if isinstance(config, GoMicroConfig):
                if token is not None or base_url is not None or options:
                    raise TypeError("give either a GoMicroConfig or url/token/options, not both")
            else:
                url = base_url or config or DEFAULT_GATEWAY_URL
                config = GoMicroConfig(gateway_url=url, auth_token=token, **options)
            source = Gateway(config)
        self.config = config if isinstance(config, GoMicroConfig) else None
        self.source = source
        self._tools: list[ToolInfo] | None = None

    @classmethod
    def from_gateway(cls, url: str = DEFAULT_GATEWAY_URL, auth_token: str | None = None, **options: Any):
        """A toolkit over the gateway at ``url``; ``options`` are :class:`GoMicroConfig`'s."""
        return cls(GoMicroConfig(gateway_url=url, auth_token=auth_token, **options))

    @classmethod
    def local(cls, registry: Any = "mdns", timeout: float | None = None):
        """A toolkit with no gateway: services found through ``registry`` (a
        ``go_micro.Registry`` or its name, ``mdns`` or ``memory``) and called through the
        engine in this process. Needs the ``go-micro`` package."""
        from .local import Local

        return cls(source=Local(registry, timeout))

    def refresh(self) -> list[ToolInfo]:
        """Reloads the tools (after services come or go) and returns them."""
        self._tools = _catalogue(self.source.tools())
        return self._tools

    async def arefresh(self) -> list[ToolInfo]:
        """:meth:`refresh`, without blocking the event loop."""
        self._tools = _catalogue(await self.source.atools())
        return self._tools

    def list_tools(self) -> list[ToolInfo]:
        """Every tool the token (or the process) may call."""
        return self._tools if self._tools is not None else self.refresh()

    def select(
        self,
        service_filter: str | Iterable[str] | None = None,
        name_pattern: str | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> list[ToolInfo]:
        """The tools of the service(s) ``service_filter`` whose name (safe or qualified)
        matches the regular expression ``name_pattern`` (searched), is in ``include`` if given,
        and is not in ``exclude``."""
        tools = self.list_tools()
        if service_filter is not None:
            services = {service_filter} if isinstance(service_filter, str) else set(service_filter)
            tools = [t for t in tools if t.service in services]
        if name_pattern is not None:
            pattern = re.compile(name_pattern)
            tools = [t for t in tools if pattern.search(t.name) or pattern.search(t.qualified_name)]
        if include is not None:
            wanted = _names(include)
            tools = [t for t in tools if wanted & {t.name, t.qualified_name, t.tool}]
        if exclude is not None:
            unwanted = _names(exclude)
            tools = [t for t in tools if not unwanted & {t.name, t.qualified_name, t.tool}]
        return tools

    def call_tool(self, name: str, args: dict[str, Any] | str | None = None) -> Any:
        """Calls a tool by its safe or qualified name with ``args`` (a dict or a JSON object
        text) and returns the service's JSON answer."""
        return self.source.call(self._target(name), _arguments(name, args))

    async def acall_tool(self, name: str, args: dict[str, Any] | str | None = None) -> Any:
        """:meth:`call_tool`, without blocking the event loop."""
        return await self.source.acall(self._target(name), _arguments(name, args))

    def close(self) -> None:
        """Releases the connections."""
        self.source.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def _target(self, name: str) -> str:
        """The name the source calls the tool by (loading the tools once to know); names it
        does not list go as they are, for the source to refuse."""
        for tool in self.list_tools():
            if name in (tool.name, tool.qualified_name):
                return tool.tool
        return name


def _names(names: Iterable[str]) -> set[str]:
    return {names} if isinstance(names, str) else set(names)


def _arguments(name: str, args: dict[str, Any] | str | None) -> dict[str, Any]:
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else None
        except json.JSONDecodeError as e:
            raise GoMicroToolError(f"{name}: the arguments are not JSON ({e})", tool=name) from e
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise GoMicroToolError(
            f'{name}: the arguments must be a JSON object like {{"name": "Alice"}}, '
            f"not {type(args).__name__}",
            tool=name,
        )
    return args


def _catalogue(listed: list[dict[str, Any]]) -> list[ToolInfo]:
    """Tools as listed (gateway JSON) with safe names."""
    listed = list({t["name"]: t for t in listed}.values())
    names = safe_names(t["name"] for t in listed)
    return [
        ToolInfo(
            name=safe,
            tool=t["name"],
            description=str(t.get("description") or f"Calls {t['name']}."),
            input_schema=_object_schema(t.get("inputSchema")),
            service=str(t.get("service") or ""),
            endpoint=str(t.get("endpoint") or ""),
            example=t.get("example"),
            scopes=tuple(t.get("scopes") or ()),
            metadata=dict(t.get("metadata") or {}),
        )
        for safe, t in zip(names, listed, strict=True)
    ]


def _object_schema(schema: Any) -> dict[str, Any]:
    if isinstance(schema, dict) and schema.get("type", "object") == "object":
        return {"type": "object", **schema}
    return {"type": "object", "properties": {}}
