"""go-micro services as LlamaIndex tools."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from go_micro_toolkit import ToolInfo, Toolkit, model_from_schema
from llama_index.core.tools import FunctionTool, ToolMetadata


@dataclass
class GoMicroToolMetadata(ToolMetadata):
    """``ToolMetadata`` that also keeps go-micro's names and scopes: ``go_micro["go_micro_name"]``
    is ``<service>.<Handler.Method>``, ``go_micro["go_micro_tool"]`` the gateway's tool name."""

    go_micro: dict[str, Any] = field(default_factory=dict)


class GoMicroToolkit(Toolkit):
    """go-micro services as LlamaIndex tools, one per endpoint.

    >>> toolkit = GoMicroToolkit("http://localhost:3000", token="Bearer <token>")
    >>> agent = FunctionAgent(tools=toolkit.to_tool_list(), llm=llm)

    Also ``GoMicroToolkit.from_gateway(url, auth_token=...)``,
    ``GoMicroToolkit(GoMicroConfig(...))`` and, with no gateway, ``GoMicroToolkit.local()``.
    """

    def to_tool_list(
        self,
        service_filter: str | Iterable[str] | None = None,
        name_pattern: str | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> list[FunctionTool]:
        """``FunctionTool``s, sync and async, for the tools :meth:`select` picks; each
        ``fn_schema`` is a pydantic model built from the endpoint's JSON Schema, each name one
        every model API accepts. A tool's output is the service's JSON: ``raw_output`` parsed,
        ``content`` as text."""
        return [self._tool(info) for info in self.select(service_filter, name_pattern, include, exclude)]

    def _tool(self, info: ToolInfo) -> FunctionTool:
        def call(**arguments: Any) -> Any:
            return self.source.call(info.tool, arguments)

        async def acall(**arguments: Any) -> Any:
            return await self.source.acall(info.tool, arguments)

        metadata = GoMicroToolMetadata(
            name=info.name,
            description=info.description,
            fn_schema=model_from_schema(info.name, info.input_schema),
            go_micro=info.tool_metadata(),
        )
        return FunctionTool(fn=call, async_fn=acall, metadata=metadata, callback=_as_text)


def _as_text(result: Any) -> str:
    """The tool output's text: the service's JSON as JSON, not Python's repr."""
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
