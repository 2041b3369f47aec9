"""A LangChain tool-calling loop: langchain-core's fake chat model asks for the helloworld
tool, the loop runs it against the live gateway, and the service's answer goes back to the
model, which answers with it."""

import asyncio

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_go_micro import GoMicroToolkit


class ScriptedModel(FakeMessagesListChatModel):
    """The fake chat model, taking tools as a real one does and remembering what it was sent."""

    seen: list = []

    def bind_tools(self, tools, **kwargs):
        self.seen.append([t.name for t in tools])
        return self

    def _generate(self, messages, *args, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def run_loop(model, tools, question, use_async=False):
    """The usual agent loop: call the model; run every tool it asks for; stop at an answer."""
    by_name = {t.name: t for t in tools}
    model = model.bind_tools(tools)
    messages = [HumanMessage(question)]
    for _ in range(5):
        reply = asyncio.run(model.ainvoke(messages)) if use_async else model.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return messages
        for call in reply.tool_calls:
            tool = by_name[call["name"]]
            messages.append(asyncio.run(tool.ainvoke(call)) if use_async else tool.invoke(call))
    raise AssertionError("the model never answered")


def script(name):
    return [
        AIMessage(
            "", tool_calls=[{"name": "helloworld_Helloworld_Call", "args": {"name": name}, "id": "c1"}]
        ),
        AIMessage(f"The service said hello to {name}."),
    ]


def test_the_fake_model_calls_the_tool_and_gets_the_service_answer(gateway):
    tools = GoMicroToolkit(gateway).get_tools(service_filter="helloworld")
    model = ScriptedModel(responses=script("Alice"), seen=[])
    messages = run_loop(model, tools, "Say hello to Alice")
    assert model.seen[0] == ["helloworld_Helloworld_Call"]
    tool_message = messages[2]
    assert isinstance(tool_message, ToolMessage) and tool_message.tool_call_id == "c1"
    assert tool_message.content == '{"msg": "Hello Alice"}'
    assert model.seen[-1][-1] == tool_message, "the answer went back to the model"
    assert messages[-1].content == "The service said hello to Alice."


def test_the_loop_runs_async_too(gateway):
    tools = GoMicroToolkit(gateway).get_tools(include=["helloworld.Helloworld.Call"])
    model = ScriptedModel(responses=script("Bob"), seen=[])
    messages = run_loop(model, tools, "Say hello to Bob", use_async=True)
    assert messages[2].content == '{"msg": "Hello Bob"}'
