"""A LangChain agent whose tools are go-micro services, through the MCP gateway.

    micro run examples/helloworld          # or: helloworld & micro mcp serve --address :3000
    pip install -e python/toolkit -e python/langchain
    python examples/python/langchain_agent.py "Say hello to Alice"

Set GATEWAY_URL (default http://localhost:3000) and MICRO_TOKEN when auth is on. With
langchain-openai installed and OPENAI_API_KEY set (OPENAI_BASE_URL for any OpenAI-compatible
server, OPENAI_MODEL for the model), a real model drives the loop; otherwise a scripted model
asks for the first tool with that tool's documented example, so the loop still runs end to end.
"""

from __future__ import annotations

import os
import sys

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langchain_go_micro import GoMicroToolkit


def chat_model(toolkit: GoMicroToolkit):
    """A real chat model when one is configured, else the scripted stand-in."""
    if os.environ.get("OPENAI_API_KEY"):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    first = toolkit.select(service_filter="helloworld")[0]
    call = {"name": first.name, "args": first.example or {}, "id": "call-1"}
    return Scripted(responses=[AIMessage("", tool_calls=[call]), AIMessage("(scripted model) done.")])


class Scripted(FakeMessagesListChatModel):
    """langchain-core's fake chat model, accepting tools like a real one."""

    def bind_tools(self, tools, **kwargs):
        return self


def run(question: str) -> list[BaseMessage]:
    """The agent loop: ask the model, run the tools it calls, repeat until it answers."""
    toolkit = GoMicroToolkit(
        os.environ.get("GATEWAY_URL", "http://localhost:3000"), token=os.environ.get("MICRO_TOKEN")
    )
    tools = toolkit.get_tools(service_filter="helloworld")
    by_name = {tool.name: tool for tool in tools}
    model = chat_model(toolkit).bind_tools(tools)
    messages: list[BaseMessage] = [HumanMessage(question)]
    for _ in range(10):
        reply = model.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            result = by_name[call["name"]].invoke(call)
            print(f"tool {call['name']}({call['args']}) -> {result.content}")
            messages.append(result)
    print(f"answer: {messages[-1].content}")
    return messages


if __name__ == "__main__":
    run(" ".join(sys.argv[1:]) or "Say hello to Alice")
