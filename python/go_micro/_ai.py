"""Models and agents: ask a model whole or streamed, or let it call tools (the registry's
services, or a handler of your own) until it answers.

    model = go_micro.Model()                         # MICRO_AI_PROVIDER, MICRO_AI_API_KEY, ...
    print(model.generate("Say hello")["text"])
    for event in model.stream("Count to five"):
        if event["type"] == "text":
            print(event["text"], end="")

    agent = go_micro.Agent(model)                    # every endpoint in the registry a tool
    answer = agent.generate("Greet Alice with the helloworld service")

Requests, answers, tool calls and events are plain dicts in the engine's JSON shapes, typed
here as ``TypedDict``s."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Union, cast

from . import _native
from ._aio import wait
from ._tools import Tools
from .errors import BadRequestError, UnavailableError

if TYPE_CHECKING:
    from typing_extensions import NotRequired


class ToolSpec(TypedDict):
    """A tool as a model sees it."""

    #: Its name: letters, digits, ``_`` and ``-``, at most 64 (what every provider accepts).
    name: str
    #: What it does, for the model to choose it.
    description: NotRequired[str]
    #: The JSON Schema of its arguments (an object schema).
    parameters: NotRequired[dict[str, Any]]


class ToolCall(TypedDict):
    """A tool the model asked for, and once run, its result or error."""

    #: The provider's id for the call, which the result answers.
    id: str
    #: The tool's name, as offered.
    name: str
    #: The arguments the model gave (a JSON object).
    arguments: Any
    #: The tool's answer, once it ran and succeeded.
    result: NotRequired[Any]
    #: Why it failed or did not run.
    error: NotRequired[str]


class ChatMessage(TypedDict):
    """One message of a conversation."""

    #: Who said it.
    role: Literal["system", "user", "assistant", "tool"]
    #: What was said; for a tool message the tool's result (JSON text).
    content: str
    #: The tools an assistant message asked for.
    tool_calls: NotRequired[list[ToolCall]]
    #: The tool call a tool message answers.
    tool_call_id: NotRequired[str]


class Usage(TypedDict):
    """Tokens a model read and wrote, as the provider counted them (0 when it did not say)."""

    input_tokens: int
    output_tokens: int


class Response(TypedDict):
    """A model's answer."""

    #: The answer's text.
    text: str
    #: From ``Model``: the tools asked for, not run. From ``Agent``: every call made, each
    #: with its ``result`` or ``error``.
    tool_calls: list[ToolCall]
    #: Tokens used, over every step.
    usage: Usage
    #: The messages this exchange added (the prompt, tool calls and results, the answer):
    #: pass them as ``messages`` next time to keep the conversation.
    messages: list[ChatMessage]


class TextEvent(TypedDict):
    """A piece of the answer's text."""

    type: Literal["text"]
    text: str


class ToolCallEvent(TypedDict):
    """The model asked for a tool (an agent runs it next)."""

    type: Literal["tool_call"]
    call: ToolCall


class ToolResultEvent(TypedDict):
    """A tool ran, or was refused: the call with its ``result`` or ``error``."""

    type: Literal["tool_result"]
    call: ToolCall


class DoneEvent(TypedDict):
    """The end: the whole answer."""

    type: Literal["done"]
    response: Response


#: What a stream reports, in order: text pieces and tool calls and results, then ``done``.
Event = Union[TextEvent, ToolCallEvent, ToolResultEvent, DoneEvent]

#: Runs a tool call: its result (anything JSON-encodable), or an exception the model is told
#: about. On the asyncio side it may be ``async``.
ToolHandler = Callable[[ToolCall], Union[Any, Awaitable[Any]]]


def _request(
    prompt: str,
    system: str,
    messages: Sequence[ChatMessage] | None,
    tools: Sequence[ToolSpec] | None = None,
) -> dict[str, Any]:
    return {"prompt": prompt, "system": system, "messages": list(messages or ()), "tools": list(tools or ())}


class Events:
    """A streamed answer: iterate it with ``for`` (blocking, the GIL released) or
    ``async for``. Each iteration asks anew; an error (the provider's, a step limit) raises
    its ``MicroError`` where it happens."""

    def __init__(self, start: Callable[[asyncio.AbstractEventLoop | None], _native.Events]) -> None:
        self._start = start

    def __iter__(self) -> Iterator[Event]:
        events = self._start(None)
        while (event := events.recv()) is not None:
            yield cast(Event, event)

    async def __aiter__(self) -> AsyncIterator[Event]:
        events = self._start(asyncio.get_running_loop())
        while (event := await wait(events.recv)) is not None:
            yield cast(Event, event)


class Model:
    """A model of one provider: ``anthropic``, ``openai``, ``gemini``, ``groq``, ``mistral``,
    ``together``, ``atlascloud``, ``ollama`` or ``minimax``, each spoken to in its own API.

    What is not given comes from ``MICRO_AI_PROVIDER`` (default ``openai``),
    ``MICRO_AI_MODEL`` (default: the provider's), ``MICRO_AI_API_KEY`` (or the provider's own
    variable, such as ``ANTHROPIC_API_KEY``) and ``MICRO_AI_BASE_URL`` (any server speaking
    the provider's API, e.g. ``http://127.0.0.1:8080/v1`` for a local OpenAI-compatible one).
    Raises ``BadRequestError`` for an unknown provider or a missing key. The key is never
    printed."""

    def __init__(
        self,
        provider: str | None = None,
        model: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self._native = _native.Model(provider, model, api_key, base_url)

    @property
    def provider(self) -> str:
        """The provider's name."""
        return self._native.provider

    @property
    def name(self) -> str:
        """The model's name."""
        return self._native.name

    def __repr__(self) -> str:
        return f"Model(provider={self.provider!r}, model={self.name!r})"

    def generate(
        self,
        prompt: str = "",
        *,
        system: str = "",
        messages: Sequence[ChatMessage] | None = None,
        tools: Sequence[ToolSpec] | None = None,
    ) -> Response:
        """Asks ``prompt`` (after ``messages``, the conversation so far, with ``system`` as
        instructions) and returns the whole answer. The ``tools`` offered come back in
        ``tool_calls`` when the model asks for them, not run: an ``Agent`` runs them."""
        return cast(Response, self._native.generate(_request(prompt, system, messages, tools)))

    async def agenerate(
        self,
        prompt: str = "",
        *,
        system: str = "",
        messages: Sequence[ChatMessage] | None = None,
        tools: Sequence[ToolSpec] | None = None,
    ) -> Response:
        """``generate``, awaited."""
        return cast(Response, await wait(self._native.generate, _request(prompt, system, messages, tools)))

    def stream(
        self,
        prompt: str = "",
        *,
        system: str = "",
        messages: Sequence[ChatMessage] | None = None,
        tools: Sequence[ToolSpec] | None = None,
    ) -> Events:
        """Asks as ``generate`` does and streams the answer as it comes: ``text`` events,
        then a ``tool_call`` event for each tool asked for (not run), then ``done`` with the
        whole answer. Iterate with ``for`` or ``async for``."""
        request = _request(prompt, system, messages, tools)
        return Events(lambda _loop: self._native.stream(request))


class Agent:
    """A model with tools, running the tool loop: it asks the model, runs the tools the model
    asks for (in parallel when it asks for several), gives it the results, and repeats until
    the model answers or has asked ``max_steps`` times (default 10; then ``BadRequestError``).

    ``tools`` is what the model may call: the endpoints of the services in a registry
    (a ``Tools``, default ``Tools()`` over the process's registry), called through the client;
    or a list of ``ToolSpec`` dicts run by ``handler``. ``handler(call)`` gets each ``ToolCall``
    and returns the result (anything JSON-encodable); with registry tools it runs them in the
    client's place. What it raises is told to the model as the call's error, which the model
    may take into account; nothing crashes. On the asyncio side (``agenerate``, ``async
    for``) it may be ``async``, and runs on the caller's loop."""

    def __init__(
        self,
        model: Model,
        tools: Tools | Sequence[ToolSpec] | None = None,
        *,
        handler: ToolHandler | None = None,
        max_steps: int | None = None,
    ) -> None:
        if tools is None:
            tools = Tools()
        if isinstance(tools, Tools):
            self._native = _native.Agent(model._native, tools=tools._native, max_steps=max_steps)
        elif handler is None:
            raise BadRequestError("tool specs need a handler to run them: Agent(model, specs, handler=...)", id="go_micro")
        else:
            self._native = _native.Agent(model._native, specs=list(tools), max_steps=max_steps)
        self._handler = handler

    def _invoke(self, loop: asyncio.AbstractEventLoop | None) -> Callable[[Any, _native.Reply], None] | None:
        """The native tool handler for one request: ``handler`` called on an engine thread,
        an awaitable it returns run on ``loop``."""
        handler = self._handler
        if handler is None:
            return None
        if loop is None and inspect.iscoroutinefunction(handler):
            raise BadRequestError(
                "the tool handler is async: use agenerate() or async for, or pass a plain function",
                id="go_micro",
            )

        def invoke(call: Any, reply: _native.Reply) -> None:
            try:
                result = handler(call)
            except Exception as error:  # noqa: BLE001 - told to the model
                reply(None, error)
                return
            if not inspect.isawaitable(result):
                reply(result, None)
                return
            if loop is None:
                getattr(result, "close", lambda: None)()
                reply(None, BadRequestError("the tool handler returned an awaitable; use agenerate() or async for"))
                return

            async def run() -> Any:
                return await result

            def settle(done: concurrent.futures.Future[Any]) -> None:
                if done.cancelled():
                    reply(None, UnavailableError("the tool handler was cancelled"))
                elif (error := done.exception()) is not None:
                    reply(None, error)
                else:
                    reply(done.result(), None)

            asyncio.run_coroutine_threadsafe(run(), loop).add_done_callback(settle)

        return invoke

    def generate(self, prompt: str = "", *, system: str = "", messages: Sequence[ChatMessage] | None = None) -> Response:
        """Runs the loop for ``prompt`` (after ``messages``, with ``system`` as instructions)
        and returns the answer, with every tool call made in ``tool_calls``."""
        request = _request(prompt, system, messages)
        return cast(Response, self._native.generate(request, self._invoke(None)))

    async def agenerate(
        self, prompt: str = "", *, system: str = "", messages: Sequence[ChatMessage] | None = None
    ) -> Response:
        """``generate``, awaited."""
        request = _request(prompt, system, messages)
        invoke = self._invoke(asyncio.get_running_loop())
        return cast(Response, await wait(self._native.generate, request, invoke))

    def stream(self, prompt: str = "", *, system: str = "", messages: Sequence[ChatMessage] | None = None) -> Events:
        """Runs the loop as ``generate`` does, reporting as it goes: ``text`` pieces, a
        ``tool_call`` event as the model asks for each tool and a ``tool_result`` event once
        it ran, then ``done`` with the whole answer. Iterate with ``for`` or ``async for``."""
        request = _request(prompt, system, messages)
        return Events(lambda loop: self._native.stream(request, self._invoke(loop)))
