"""One toolkit tool call in-process (``GoMicroToolkit.local()``: the engine's MCP catalogue,
cached, the engine's client straight to the service) against the same call through the HTTP gateway
(``micro mcp serve``, ``POST /mcp/call``), both against the helloworld process over mDNS.
Also the floors under each: the go_micro client alone, and a bare httpx POST.

Run it with ``scripts/toolkit.sh bench`` (release builds, a network namespace). It measures
whatever this venv has: the plain toolkit always, LangChain and LlamaIndex tools if installed.
Prints a Markdown table: median and p99 latency of sequential calls, and calls per second with
32 calls in flight (asyncio).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from go_micro_toolkit import Toolkit
from go_micro_toolkit.testing import HELLO, binary, start, stop, wait_for_tool

SEQUENTIAL = 3000
CONCURRENT_CALLS = 6000
IN_FLIGHT = 32
ARGS = {"name": "Alice"}


def latency(call) -> tuple[float, float]:
    """Median and p99 of ``SEQUENTIAL`` calls after a warm-up, in microseconds."""
    for _ in range(200):
        call()
    samples = []
    for _ in range(SEQUENTIAL):
        began = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - began) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def throughput(acall) -> float:
    """Calls per second with ``IN_FLIGHT`` calls at once."""

    async def run() -> float:
        async def worker(n: int) -> None:
            for _ in range(n):
                await acall()

        await asyncio.gather(*(worker(20) for _ in range(IN_FLIGHT)))  # warm-up
        began = time.perf_counter()
        await asyncio.gather(*(worker(CONCURRENT_CALLS // IN_FLIGHT) for _ in range(IN_FLIGHT)))
        rate = CONCURRENT_CALLS / (time.perf_counter() - began)
        if hasattr(acall, "close"):
            await acall.close()
        return rate

    return asyncio.run(run())


def cases(gateway: str):
    """(name, sync call or None, async call) for each way of calling helloworld."""
    import go_micro

    client = go_micro.Client(go_micro.Registry("mdns"))
    local = Toolkit.local()
    remote = Toolkit(gateway, retry_count=0)
    plain = httpx.Client(base_url=gateway)

    def post():
        return plain.post("/mcp/call", json={"name": HELLO, "arguments": ARGS})

    yield (
        "in-process: go_micro.Client.call (floor)",
        lambda: client.call("helloworld", "Helloworld.Call", ARGS),
        lambda: client.acall("helloworld", "Helloworld.Call", ARGS),
    )
    yield (
        "in-process: toolkit call_tool",
        lambda: local.call_tool(HELLO, ARGS),
        lambda: local.acall_tool(HELLO, ARGS),
    )
    yield "gateway: httpx POST /mcp/call (floor)", post, lambda: asyncio.to_thread(post)
    try:
        import aiohttp
    except ImportError:
        pass
    else:
        sessions: dict = {}

        async def aiohttp_post():
            loop = asyncio.get_running_loop()
            if loop not in sessions:
                sessions[loop] = aiohttp.ClientSession(gateway)
            async with sessions[loop].post("/mcp/call", json={"name": HELLO, "arguments": ARGS}) as r:
                await r.read()

        async def close():
            await sessions.pop(asyncio.get_running_loop()).close()

        aiohttp_post.close = close

        yield "gateway: aiohttp POST /mcp/call (async only)", None, aiohttp_post
    yield (
        "gateway: toolkit call_tool",
        lambda: remote.call_tool(HELLO, ARGS),
        lambda: remote.acall_tool(HELLO, ARGS),
    )
    try:
        from langchain_go_micro import GoMicroToolkit as LangChain
    except ImportError:
        pass
    else:
        for mode, kit in (("in-process", LangChain.local()), ("gateway", LangChain(gateway, retry_count=0))):
            (tool,) = kit.get_tools(include=[HELLO])
            yield (
                f"{mode}: LangChain tool.invoke",
                lambda t=tool: t.invoke(ARGS),
                lambda t=tool: t.ainvoke(ARGS),
            )
    try:
        from go_micro_llamaindex import GoMicroToolkit as LlamaIndex
    except ImportError:
        pass
    else:
        for mode, kit in (
            ("in-process", LlamaIndex.local()),
            ("gateway", LlamaIndex(gateway, retry_count=0)),
        ):
            (tool,) = kit.to_tool_list(include=[HELLO])
            yield (
                f"{mode}: LlamaIndex FunctionTool.call",
                lambda t=tool: t.call(**ARGS),
                lambda t=tool: t.acall(**ARGS),
            )


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="toolkit-bench-"))
    service = start([binary("HELLOWORLD_BIN", "helloworld")], home / "helloworld", None)
    gateway = start(
        [binary("MICRO_BIN", "micro"), "mcp", "serve", "--address", "127.0.0.1:0"], home / "gateway", "MCP"
    )
    try:
        wait_for_tool(gateway.url)
        print(f"| call ({sys.version.split()[0]}) | median µs | p99 µs | calls/s, {IN_FLIGHT} in flight |")
        print("| --- | ---: | ---: | ---: |")
        for name, call, acall in cases(gateway.url):
            median, p99 = latency(call) if call else (None, None)
            rate = throughput(acall)
            sync = f"{median:.0f} | {p99:.0f}" if call else "- | -"
            print(f"| {name} | {sync} | {rate:,.0f} |", flush=True)
    finally:
        stop(gateway.process)
        stop(service.process)


if __name__ == "__main__":
    main()
