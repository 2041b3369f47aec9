"""go-micro services as LangChain tools."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from go_micro_toolkit import ToolInfo, Toolkit
from langchain_core.tools import BaseTool, StructuredTool


class GoMicroToolkit(Toolkit):
    """go-micro services as LangChain tools, one per endpoint.

    >>> toolkit = GoMicroToolkit("http://localhost:3000", token="Bearer <token>")
    >>> tools = toolkit.get_tools(service_filter="helloworld")
    >>> model.bind_tools(tools)

    Also ``GoMicroToolkit.from_gateway(url, auth_token=...)``,
    ``GoMicroToolkit(GoMicroConfig(...))`` and, with no gateway, ``GoMicroToolkit.local()``.
    """

    def get_tools(
        self,
        service_filter: str | Iterable[str] | None = None,
        name_pattern: str | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> list[BaseTool]:
        """LangChain tools, sync and async, for the tools :meth:`select` picks; each has the
        endpoint's JSON Schema as ``args_schema`` and a name every model API accepts, with
        go-micro's own name in ``metadata["go_micro_name"]``."""
        return [self._tool(info) for info in self.select(service_filter, name_pattern, include, exclude)]

    def _tool(self, info: ToolInfo) -> BaseTool:
        def call(**arguments: Any) -> Any:
            return self.source.call(info.tool, arguments)

        async def acall(**arguments: Any) -> Any:
            return await self.source.acall(info.tool, arguments)

        return StructuredTool(
            name=info.name,
            description=info.description,
            args_schema=info.input_schema,
            func=call,
            coroutine=acall,
            metadata=info.tool_metadata(),
        )
