"""Models and agents from Python: against a scripted provider speaking OpenAI's wire format on
loopback (tests/provider.py: answers whole and as server-sent events, tool calls included),
the tool loop with sync and async Python tool handlers and with a service's endpoint as the
tool; errors as go_micro's exceptions; a real streamed answer from SmolLM2-135M-Instruct
(scripts/servers.sh llm); and the three AI examples (patterns 3, 4 and 5) run against the
scripted provider."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import go_micro
from conftest import REPO, Processes, eventually, needs_netns, run
from provider import USAGE, Provider

EXAMPLES = REPO / "examples" / "python"
KEY = "sk-test-5ecret"

ADD: go_micro.ToolSpec = {
    "name": "add",
    "description": "Adds a and b.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
}


@pytest.fixture
def provider() -> Iterator[Provider]:
    scripted = Provider()
    yield scripted
    scripted.close()


def model_of(provider: Provider) -> go_micro.Model:
    return go_micro.Model("openai", "test-model", api_key=KEY, base_url=provider.url)


def ai_env(provider: Provider) -> dict[str, str]:
    """The environment that points a program's ``go_micro.Model()`` at ``provider``."""
    return {
        "MICRO_AI_PROVIDER": "openai",
        "MICRO_AI_MODEL": "test-model",
        "MICRO_AI_API_KEY": KEY,
        "MICRO_AI_BASE_URL": provider.url,
    }


def adder(seen: list[Any]) -> Callable[[go_micro.ToolCall], Any]:
    def add(call: go_micro.ToolCall) -> Any:
        seen.append(call["arguments"])
        return {"sum": call["arguments"]["a"] + call["arguments"]["b"]}

    return add


def test_a_model_answers_whole_and_streamed_with_settings_from_the_environment(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ai_env(provider).items():
        monkeypatch.setenv(name, value)
    model = go_micro.Model()
    assert (model.provider, model.name) == ("openai", "test-model")
    assert KEY not in repr(model)

    provider.reply("Hello from the model.")
    answer = model.generate("Say hello", system="Be brief.")
    assert answer["text"] == "Hello from the model."
    assert answer["usage"] == {"input_tokens": USAGE["prompt_tokens"], "output_tokens": USAGE["completion_tokens"]}
    assert [m["role"] for m in answer["messages"]] == ["user", "assistant"]
    seen = provider.seen[0]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.body["model"] == "test-model"
    assert seen.body["messages"][0] == {"role": "system", "content": "Be brief."}

    provider.reply("One two three four five.")
    events = list(model.stream("Count", messages=answer["messages"]))
    pieces = [e["text"] for e in events if e["type"] == "text"]
    assert len(pieces) > 1 and "".join(pieces) == "One two three four five."
    assert events[-1]["type"] == "done" and events[-1]["response"]["text"] == "One two three four five."
    assert provider.seen[1].body["stream"] is True
    assert [m["content"] for m in provider.seen[1].body["messages"]] == ["Say hello", "Hello from the model.", "Count"]

    async def asynchronously() -> tuple[str, list[str]]:
        provider.reply("Awaited.")
        provider.reply("Streamed in pieces.")
        whole = await model.agenerate("Again")
        return whole["text"], [e["text"] async for e in model.stream("More") if e["type"] == "text"]

    whole, streamed = run(asynchronously())
    assert whole == "Awaited."
    assert len(streamed) > 1 and "".join(streamed) == "Streamed in pieces."


def test_a_model_returns_the_tool_calls_it_asks_for_unrun(provider: Provider) -> None:
    model = model_of(provider)
    provider.reply("", ("add", {"a": 2, "b": 3}))
    answer = model.generate("What is 2+3?", tools=[ADD])
    assert answer["tool_calls"] == [{"id": "call_0", "name": "add", "arguments": {"a": 2, "b": 3}}]
    [offered] = provider.seen[0].body["tools"]
    assert offered["type"] == "function"
    assert {k: offered["function"][k] for k in ADD} == ADD

    provider.reply("", ("add", {"a": 4, "b": 5}))
    events = list(model.stream("What is 4+5?", tools=[ADD]))
    assert events[0] == {"type": "tool_call", "call": {"id": "call_0", "name": "add", "arguments": {"a": 4, "b": 5}}}
    assert events[-1]["type"] == "done"


def test_an_agent_runs_a_python_tool_handler_and_gives_the_model_its_result(provider: Provider) -> None:
    seen: list[Any] = []
    agent = go_micro.Agent(model_of(provider), [ADD], handler=adder(seen))
    provider.reply("", ("add", {"a": 2, "b": 3}))
    provider.reply("The sum is 5.")
    answer = agent.generate("What is 2+3?")
    assert seen == [{"a": 2, "b": 3}]
    assert answer["text"] == "The sum is 5."
    assert answer["tool_calls"][0]["result"] == {"sum": 5}
    assert answer["usage"]["output_tokens"] == 2 * USAGE["completion_tokens"]
    assert [m["role"] for m in answer["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert provider.seen[1].tool_results() == {"call_0": {"sum": 5}}

    provider.reply("", ("add", {"a": 1, "b": 1}))
    provider.reply("Two.")
    events = list(agent.stream("What is 1+1?"))
    assert [e["type"] for e in events][0:2] == ["tool_call", "tool_result"]
    assert events[1]["type"] == "tool_result" and events[1]["call"]["result"] == {"sum": 2}
    assert "".join(e["text"] for e in events if e["type"] == "text") == "Two."
    assert events[-1]["type"] == "done"


def test_an_async_tool_handler_runs_on_the_callers_loop(provider: Provider) -> None:
    threads: list[int] = []

    async def add(call: go_micro.ToolCall) -> Any:
        await asyncio.sleep(0.01)
        threads.append(threading.get_ident())
        return {"sum": call["arguments"]["a"] + call["arguments"]["b"]}

    agent = go_micro.Agent(model_of(provider), [ADD], handler=add)

    async def asynchronously() -> tuple[go_micro.Response, list[go_micro.Event]]:
        provider.reply("", ("add", {"a": 2, "b": 3}))
        provider.reply("Five.")
        whole = await agent.agenerate("What is 2+3?")
        provider.reply("", ("add", {"a": 3, "b": 4}))
        provider.reply("Seven.")
        events = [e async for e in agent.stream("What is 3+4?")]
        return whole, events

    whole, events = run(asynchronously())
    assert whole["tool_calls"][0]["result"] == {"sum": 5} and whole["text"] == "Five."
    results = [e["call"].get("result") for e in events if e["type"] == "tool_result"]
    assert results == [{"sum": 7}]
    assert threads == [threading.get_ident()] * 2, "the handler ran on the loop's thread"
    with pytest.raises(go_micro.BadRequestError, match="async"):
        agent.generate("not without a loop")


def test_a_handler_that_raises_tells_the_model_the_error(provider: Provider) -> None:
    def lookup(call: go_micro.ToolCall) -> Any:
        raise ValueError(f"no city called {call['arguments']['city']}")

    spec: go_micro.ToolSpec = {"name": "lookup", "parameters": {"type": "object"}}
    agent = go_micro.Agent(model_of(provider), [spec], handler=lookup)
    provider.reply("", ("lookup", {"city": "Atlantis"}))
    provider.reply("I could not find it.")
    answer = agent.generate("Where is Atlantis?")
    assert answer["text"] == "I could not find it."
    error = answer["tool_calls"][0]["error"]
    assert "ValueError: no city called Atlantis" in error
    assert provider.seen[1].tool_results() == {"call_0": {"error": error}}

    async def raises_later(call: go_micro.ToolCall) -> Any:
        raise go_micro.ForbiddenError("not for you")

    provider.reply("", ("lookup", {"city": "Rome"}))
    provider.reply("Refused.")
    agent = go_micro.Agent(model_of(provider), [spec], handler=raises_later)
    answer = run(agent.agenerate("Where is Rome?"))
    assert answer["tool_calls"][0]["error"] == "not for you"


def test_a_service_answers_the_tool_call_a_model_makes_through_the_registry(provider: Provider) -> None:
    registry, broker = go_micro.Registry("memory"), go_micro.Broker("memory")
    calc = go_micro.Service("calc", registry=registry, broker=broker)
    added: list[Any] = []

    @calc.handle("Calc.Add", request_schema={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})
    def add(req: dict[str, int]) -> dict[str, int]:
        """Adds a and b."""
        added.append(req)
        return {"sum": req["a"] + req["b"]}

    async def scenario() -> go_micro.Response:
        await calc.start()
        try:
            tools = go_micro.Tools(registry=registry, broker=broker, store=go_micro.Store("memory"))
            agent = go_micro.Agent(model_of(provider), tools)
            provider.reply("", ("calc_Calc_Add", {"a": 20, "b": 22}))
            provider.reply("It is 42.")
            return await agent.agenerate("What is 20+22?")
        finally:
            await calc.stop()

    answer = run(scenario())
    assert added == [{"a": 20, "b": 22}]
    assert answer["text"] == "It is 42."
    assert answer["tool_calls"][0]["result"] == {"sum": 42}
    offered = {t["function"]["name"]: t["function"] for t in provider.seen[0].body["tools"]}
    assert offered["calc_Calc_Add"]["description"] == "Adds a and b."
    assert offered["calc_Calc_Add"]["parameters"]["properties"]["a"] == {"type": "integer"}
    assert provider.seen[1].tool_results() == {"call_0": {"sum": 42}}


def test_failures_are_go_micro_errors_that_say_what_to_do(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(go_micro.BadRequestError, match='unknown AI provider "nope"'):
        go_micro.Model("nope")
    monkeypatch.delenv("MICRO_AI_API_KEY", raising=False)
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(go_micro.BadRequestError, match="MISTRAL_API_KEY"):
        go_micro.Model("mistral")
    model = model_of(provider)
    with pytest.raises(go_micro.BadRequestError, match="handler"):
        go_micro.Agent(model, [ADD])
    with pytest.raises(go_micro.InternalServerError, match="the script has ended") as failed:
        model.generate("Nothing scripted")
    assert KEY not in str(failed.value)
    with pytest.raises(go_micro.InternalServerError, match="the script has ended"):
        list(model.stream("Nothing scripted"))

    agent = go_micro.Agent(model, [ADD], handler=adder([]), max_steps=2)
    for _ in range(2):
        provider.reply("", ("add", {"a": 1, "b": 1}))
    with pytest.raises(go_micro.BadRequestError, match="2 times"):
        agent.generate("Loop")


def test_smollm2_streams_a_real_answer_in_pieces(server: Callable[[str], str]) -> None:
    model = go_micro.Model("openai", "SmolLM2-135M-Instruct", api_key="none", base_url=server("llm"))
    prompt = "Name three colours."

    def check(events: list[go_micro.Event]) -> None:
        pieces = [e["text"] for e in events if e["type"] == "text"]
        assert len(pieces) > 3, pieces
        assert events[-1]["type"] == "done"
        answer = events[-1]["response"]
        assert answer["text"] == "".join(pieces) and answer["text"].strip()

    check(list(model.stream(prompt, system="Answer in one short sentence.")))

    async def asynchronously() -> list[go_micro.Event]:
        return [e async for e in model.stream(prompt, system="Answer in one short sentence.")]

    check(run(asynchronously()))


def test_the_tool_example_runs_its_handler_for_the_model(provider: Provider) -> None:
    provider.reply("", ("get_weather", {"city": "Rome"}))
    provider.reply("It is sunny and 21 degrees in Rome.")
    example = subprocess.run(
        [sys.executable, str(EXAMPLES / "ai_tools.py"), "Is it warm in Rome?"],
        env={**os.environ, **ai_env(provider)},
        capture_output=True, text=True, timeout=60,
    )
    assert example.returncode == 0, example.stderr
    assert "[get_weather({'city': 'Rome'}) -> {'city': 'Rome', 'sky': 'sunny', 'celsius': 21}]" in example.stdout
    assert "It is sunny and 21 degrees in Rome." in example.stdout
    assert provider.seen[0].body["messages"][-1]["content"] == "Is it warm in Rome?"
    assert provider.seen[1].tool_results() == {"call_0": {"city": "Rome", "sky": "sunny", "celsius": 21}}


def registered(name: str) -> bool:
    try:
        return any(s["nodes"] for s in go_micro.Registry().get_service(name))
    except go_micro.NotFoundError:
        return False


@needs_netns
def test_the_service_example_asks_the_model_in_its_handler(provider: Provider, processes: Processes) -> None:
    processes.python(EXAMPLES / "ai_service.py", env=ai_env(provider))
    eventually(lambda: registered("assistant"), "the assistant registering")
    provider.reply("A mesh of sidecars.")
    answer = go_micro.Client().call("assistant", "Assistant.Ask", {"question": "What is a service mesh?"})
    assert answer == {"answer": "A mesh of sidecars."}
    messages = provider.seen[0].body["messages"]
    assert messages[0]["role"] == "system" and messages[-1]["content"] == "What is a service mesh?"


@needs_netns
def test_the_event_example_runs_the_model_on_each_message_and_it_calls_a_service(
    provider: Provider, processes: Processes
) -> None:
    mailer = go_micro.Service("mailer")
    sent: list[Any] = []

    @mailer.handle("Mailer.Send")
    def send(req: dict[str, str]) -> dict[str, bool]:
        """Sends an email: to, subject."""
        sent.append(req)
        return {"sent": True}

    async def scenario() -> None:
        await mailer.start()
        try:
            example = processes.python(EXAMPLES / "ai_events.py", env=ai_env(provider))
            await asyncio.to_thread(eventually, lambda: registered("onboarding"), "onboarding registering")
            provider.reply("", ("mailer_Mailer_Send", {"to": "ada@example.com", "subject": "Welcome"}))
            provider.reply("Welcomed Ada.")
            await go_micro.Client().apublish("signups", {"name": "Ada", "email": "ada@example.com"})
            await asyncio.to_thread(eventually, lambda: sent, "the model's call reaching the mailer")
            example.terminate()
            output, _ = await asyncio.to_thread(example.communicate, timeout=30)
            assert "signups: Welcomed Ada." in output, output
        finally:
            await mailer.stop()

    run(scenario())
    assert sent == [{"to": "ada@example.com", "subject": "Welcome"}]
    prompt = provider.seen[0].body["messages"][-1]["content"]
    assert json.dumps({"name": "Ada", "email": "ada@example.com"}) in prompt
    assert "mailer_Mailer_Send" in {t["function"]["name"] for t in provider.seen[0].body["tools"]}
