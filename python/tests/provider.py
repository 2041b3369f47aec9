"""A scripted model provider on loopback speaking OpenAI's chat-completions wire format, for
the AI tests: it answers each request with the next reply of its script (text, or tool calls),
whole or as server-sent events as the request asks, and keeps every request it got. A model
this small could not be trusted to call tools; a script can."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


@dataclass
class Reply:
    """One scripted answer: ``text``, and the tool ``calls`` (name, arguments) asked for."""

    text: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Seen:
    """A request the provider got."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def tool_results(self) -> dict[str, Any]:
        """The tool results the request carries back, by the id of the call each answers."""
        return {
            m["tool_call_id"]: json.loads(m["content"]) for m in self.body["messages"] if m["role"] == "tool"
        }


def _calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(reply.calls)
    ]


def _whole(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.calls:
        message["tool_calls"] = _calls(reply)
    finish = "tool_calls" if reply.calls else "stop"
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": USAGE,
    }


def _chunks(reply: Reply, model: str) -> Iterator[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    words = reply.text.split(" ")
    for piece in [word + " " for word in words[:-1]] + words[-1:]:
        if piece:
            yield chunk({"content": piece})
    for i, call in enumerate(_calls(reply)):
        arguments = call["function"]["arguments"]
        head, tail = arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]
        yield chunk({"tool_calls": [{**call, "index": i, "function": {"name": call["function"]["name"], "arguments": ""}}]})
        yield chunk({"tool_calls": [{"index": i, "function": {"arguments": head}}]})
        yield chunk({"tool_calls": [{"index": i, "function": {"arguments": tail}}]})
    yield chunk({}, "tool_calls" if reply.calls else "stop")
    yield {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [], "usage": USAGE}


class Provider:
    """The provider, listening on 127.0.0.1 until ``close``; ``url`` is its base URL (``.../v1``)."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with provider._lock:
                    provider.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    reply = provider.script.pop(0) if provider.script else None
                if reply is None:
                    error = {"error": {"message": "the script has ended", "type": "server_error", "code": None}}
                    self._send(500, "application/json", json.dumps(error).encode())
                elif body.get("stream"):
                    events = "".join(f"data: {json.dumps(c)}\n\n" for c in _chunks(reply, body["model"]))
                    self._send(200, "text/event-stream", (events + "data: [DONE]\n\n").encode())
                else:
                    self._send(200, "application/json", json.dumps(_whole(reply, body["model"])).encode())

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, text: str = "", *calls: tuple[str, dict[str, Any]]) -> None:
        """Adds an answer to the script: ``text``, or the tool ``calls`` (name, arguments)."""
        with self._lock:
            self.script.append(Reply(text, list(calls)))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
