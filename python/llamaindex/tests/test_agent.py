"""A LlamaIndex FunctionAgent loop: a scripted function-calling LLM asks for the helloworld
tool, the agent runs it against the live gateway, and the LLM answers with what the service
said."""

import asyncio
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from go_micro_llamaindex import GoMicroToolkit


class ScriptedLLM(FunctionCallingLLM):
    """Asks for the first tool it is given with ``arguments``; once a tool answered, answers
    with the tool's output. Records the tool specs it was offered."""

    arguments: dict
    offered: list = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_function_calling_model=True, model_name="scripted")

    def _prepare_chat_with_tools(self, tools, user_msg=None, chat_history=None, **kwargs: Any):
        self.offered.extend(t.metadata.to_openai_tool() for t in tools)
        messages = list(chat_history or [])
        if user_msg is not None:
            messages.append(user_msg if isinstance(user_msg, ChatMessage) else ChatMessage(content=user_msg))
        return {"messages": messages}

    def get_tool_calls_from_response(self, response, error_on_no_tool_call=True, **kwargs: Any):
        return response.message.additional_kwargs.get("tool_calls", [])

    def chat(self, messages, **kwargs: Any) -> ChatResponse:
        answered = [m for m in messages if m.role == MessageRole.TOOL]
        if answered:
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=answered[-1].content))
        name = self.offered[-1]["function"]["name"]
        call = ToolSelection(tool_id="call-1", tool_name=name, tool_kwargs=self.arguments)
        message = ChatMessage(
            role=MessageRole.ASSISTANT, content="", additional_kwargs={"tool_calls": [call]}
        )
        return ChatResponse(message=message)

    async def achat(self, messages, **kwargs: Any) -> ChatResponse:
        return self.chat(messages, **kwargs)

    def complete(self, prompt, formatted=False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError("the agent only chats")

    async def acomplete(self, prompt, formatted=False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError("the agent only chats")

    def stream_chat(self, messages, **kwargs: Any):
        raise NotImplementedError("the agent runs with streaming=False")

    async def astream_chat(self, messages, **kwargs: Any):
        raise NotImplementedError("the agent runs with streaming=False")

    def stream_complete(self, prompt, formatted=False, **kwargs: Any):
        raise NotImplementedError("the agent only chats")

    async def astream_complete(self, prompt, formatted=False, **kwargs: Any):
        raise NotImplementedError("the agent only chats")


def test_the_agent_calls_the_tool_and_answers_with_the_service_reply(gateway):
    tools = GoMicroToolkit(gateway).to_tool_list(service_filter="helloworld")
    llm = ScriptedLLM(arguments={"name": "Alice"}, offered=[])
    agent = FunctionAgent(tools=tools, llm=llm, streaming=False)

    async def run():
        handler = agent.run(user_msg="Say hello to Alice")
        calls = []
        async for event in handler.stream_events():
            if type(event).__name__ == "ToolCallResult":
                calls.append(event)
        return await handler, calls

    answer, calls = asyncio.run(run())
    offered = llm.offered[0]["function"]
    assert offered["name"] == "helloworld_Helloworld_Call"
    assert offered["parameters"]["required"] == ["name"]
    assert [c.tool_name for c in calls] == ["helloworld_Helloworld_Call"]
    assert calls[0].tool_output.raw_output == {"msg": "Hello Alice"}
    assert str(answer.response.content) == '{"msg": "Hello Alice"}'
