"""An external MCP client (the official Python `mcp` SDK) driving a micro MCP server.

    tests/mcp/.venv/bin/python py_client.py stdio <micro binary> [extra `mcp serve` flags...]
    tests/mcp/.venv/bin/python py_client.py http  <url, e.g. http://127.0.0.1:3000/mcp> [bearer token]

It lists the tools, calls helloworld and checks the spec's two kinds of error. It prints one line
per check and exits non-zero when any check fails. The venv is made by scripts/setup.sh.
"""

import json
import os
import sys
from contextlib import asynccontextmanager

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

TOOL = "helloworld.Helloworld.Call"
MISSING_TOOL = "helloworld.Helloworld.NoSuchMethod"
INVALID_PARAMS = -32602
DEADLINE_SECONDS = 60

USAGE = (
    "usage: py_client.py stdio <micro binary> [serve flags...]\n"
    "       py_client.py http <url of /mcp> [bearer token]"
)


@asynccontextmanager
async def open_session(mode, target, rest):
    """Yields an initialized ClientSession over stdio (spawning `<target> mcp serve`) or HTTP."""
    if mode == "stdio":
        # The server inherits the whole environment (MICRO_REGISTRY and friends).
        params = StdioServerParameters(command=target, args=["mcp", "serve", *rest], env=dict(os.environ))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            yield session
        return
    headers = {"Authorization": f"Bearer {rest[0]}"} if rest else {}
    timeout = httpx2.Timeout(30.0, read=DEADLINE_SECONDS)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(target, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        yield session


class CheckFailed(Exception):
    """A check found the server's answer wrong."""


def expect(condition, message):
    """Fails the current check with `message` unless `condition` holds (unlike assert, also under -O)."""
    if not condition:
        raise CheckFailed(message)


def texts(result):
    """The text of every text item in a tool result's content."""
    return [c.text for c in result.content if c.type == "text"]


def dump(result):
    return json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))


async def list_all_tools(session):
    tools, cursor = [], None
    while True:
        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


async def check_initialize(session, init):
    expect(init.server_info.name, f"initialize result has no serverInfo.name: {init.server_info}")
    expect(init.capabilities.tools is not None, "server capabilities do not include tools")


async def check_ping(session, _init):
    await session.send_ping()


async def check_list(session, _init):
    tools = await list_all_tools(session)
    tool = next((t for t in tools if t.name == TOOL), None)
    names = ", ".join(t.name for t in tools) or "(none)"
    expect(tool is not None, f"{TOOL} is not listed; tools: {names}")
    schema = tool.input_schema
    expect(schema.get("type") == "object", f"inputSchema is not an object schema: {schema}")
    prop = (schema.get("properties") or {}).get("name") or {}
    expect(prop.get("type") == "string", f'inputSchema has no string property "name": {schema}')


async def check_call(session, _init):
    result = await session.call_tool(TOOL, {"name": "Alice"})
    expect(result.is_error is not True, f"the call failed: {dump(result)}")
    expect(any("Hello Alice" in t for t in texts(result)), f'no text content contains "Hello Alice": {dump(result)}')
    if result.structured_content is not None:
        msg = result.structured_content.get("msg")
        expect(msg == "Hello Alice", f'structuredContent.msg is not "Hello Alice": {result.structured_content}')


# The spec (server/tools, "Error Handling"): an unknown tool is a protocol error (JSON-RPC error,
# InvalidParams), while invalid arguments are a tool execution error (isError: true).
async def check_unknown_tool(session, _init):
    try:
        result = await session.call_tool(MISSING_TOOL, {})
    except MCPError as err:
        expect(err.code == INVALID_PARAMS, f"expected code -32602, got {err.code}: {err.message}")
        return
    raise CheckFailed(f"expected a JSON-RPC error, got a result: {dump(result)}")


async def check_bad_input(session, _init):
    result = await session.call_tool(TOOL, {"name": 42})
    expect(result.is_error is True, f"expected isError: true, got {dump(result)}")
    expect(any(texts(result)), f"the error result has no text saying why: {dump(result)}")


CHECKS = [
    ("initialize: server names itself and offers tools", check_initialize),
    ("ping", check_ping),
    (f'tools/list has {TOOL} with a "name" property', check_list),
    (f'tools/call {TOOL} {{"name":"Alice"}} says Hello Alice', check_call),
    ("tools/call of an unknown tool is a JSON-RPC InvalidParams error", check_unknown_tool),
    (f'tools/call {TOOL} with a number for "name" is a result with isError', check_bad_input),
]


async def run(mode, target, rest):
    """Runs every check in one session; returns the names of the failed ones."""
    failures = []
    async with open_session(mode, target, rest) as session:
        init = await session.initialize()
        for name, check in CHECKS:
            try:
                await check(session, init)
                print(f"ok   {name}", flush=True)
            except (CheckFailed, MCPError) as err:
                failures.append(name)
                print(f"FAIL {name}: {err}", flush=True)
    return failures


def root_cause(err):
    """The first error inside (possibly nested) task-group exception groups."""
    while isinstance(err, BaseExceptionGroup) and err.exceptions:
        err = err.exceptions[0]
    return err


async def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("stdio", "http"):
        print(USAGE, file=sys.stderr)
        return 2
    mode, target, rest = args[0], args[1], args[2:]
    try:
        with anyio.fail_after(DEADLINE_SECONDS):
            failures = await run(mode, target, rest)
    except TimeoutError:
        print(f"py_client: FAILED: no answer within {DEADLINE_SECONDS}s from {target}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - any transport failure is reported, not traced
        print(f"py_client: FAILED: could not talk MCP with {target}: {root_cause(err)!r}", file=sys.stderr)
        return 1
    print(f"py_client: {len(CHECKS) - len(failures)} passed, {len(failures)} failed")
    if failures:
        print(f"py_client: FAILED against {mode} {target}: {'; '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
