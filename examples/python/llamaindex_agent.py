"""A LlamaIndex FunctionAgent whose tools are go-micro services, through the MCP gateway.

    micro run examples/helloworld          # or: helloworld & micro mcp serve --address :3000
    pip install -e python/toolkit -e python/llamaindex
    python examples/python/llamaindex_agent.py "Say hello to Alice"

Set GATEWAY_URL (default http://localhost:3000) and MICRO_TOKEN when auth is on. With
llama-index-llms-openai installed and OPENAI_API_KEY set (OPENAI_MODEL for the model), a real
model drives the agent; otherwise a scripted function-calling LLM asks for the first tool with
that tool's documented example and answers with what the service said.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, LLMMetadata, MessageRole
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from go_micro_llamaindex import GoMicroToolkit


class Scripted(FunctionCallingLLM):
    """Calls the first tool offered with its example arguments, then answers with its output."""

    examples: dict

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_function_calling_model=True, model_name="scripted")

    def _prepare_chat_with_tools(self, tools, user_msg=None, chat_history=None, **kwargs: Any):
        messages = list(chat_history or [])
        if user_msg is not None:
            messages.append(user_msg if isinstance(user_msg, ChatMessage) else ChatMessage(content=user_msg))
        return {"messages": messages, "tool_names": [t.metadata.name for t in tools]}

    def get_tool_calls_from_response(self, response, error_on_no_tool_call=True, **kwargs: Any):
        return response.message.additional_kwargs.get("tool_calls", [])

    async def achat(self, messages, tool_names=(), **kwargs: Any) -> ChatResponse:
        answered = [m for m in messages if m.role == MessageRole.TOOL]
        if answered:
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=answered[-1].content))
        name = tool_names[0]
        call = ToolSelection(tool_id="call-1", tool_name=name, tool_kwargs=self.examples.get(name) or {})
        return ChatResponse(
            message=ChatMessage(
                role=MessageRole.ASSISTANT, content="", additional_kwargs={"tool_calls": [call]}
            )
        )

    def chat(self, messages, **kwargs: Any) -> ChatResponse:
        return asyncio.run(self.achat(messages, **kwargs))

    def complete(self, *args: Any, **kwargs: Any):
        raise NotImplementedError("the scripted LLM only chats")

    acomplete = stream_complete = astream_complete = stream_chat = astream_chat = complete


def llm(toolkit: GoMicroToolkit):
    """A real LLM when one is configured, else the scripted stand-in."""
    if os.environ.get("OPENAI_API_KEY"):
        from llama_index.llms.openai import OpenAI

        return OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    return Scripted(examples={t.name: t.example for t in toolkit.list_tools()})


async def run(question: str) -> str:
    """Runs the agent on ``question``, printing each tool call, and returns its answer."""
    toolkit = GoMicroToolkit(
        os.environ.get("GATEWAY_URL", "http://localhost:3000"), token=os.environ.get("MICRO_TOKEN")
    )
    agent = FunctionAgent(
        tools=toolkit.to_tool_list(service_filter="helloworld"), llm=llm(toolkit), streaming=False
    )
    handler = agent.run(user_msg=question)
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            print(f"tool {event.tool_name}({event.tool_kwargs}) -> {event.tool_output.content}")
    answer = str((await handler).response.content)
    print(f"answer: {answer}")
    return answer


if __name__ == "__main__":
    asyncio.run(run(" ".join(sys.argv[1:]) or "Say hello to Alice"))
