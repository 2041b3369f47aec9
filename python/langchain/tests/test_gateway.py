"""GoMicroToolkit against a live gateway: `micro mcp serve` and `micro server` (auth on) in
front of the real helloworld service."""

import asyncio
import re
import socket

import pytest
from go_micro_toolkit.testing import HELLO
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_go_micro import (
    GoMicroAuthError,
    GoMicroConfig,
    GoMicroConnectionError,
    GoMicroError,
    GoMicroToolError,
    GoMicroToolkit,
)

SAFE = "helloworld_Helloworld_Call"


def test_tools_have_safe_names_the_endpoint_schema_and_the_real_name_in_metadata(gateway):
    tools = GoMicroToolkit(base_url=gateway).get_tools()
    names = [t.name for t in tools]
    assert SAFE in names and "micro_registry_list" in names
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    hello = next(t for t in tools if t.name == SAFE)
    assert hello.metadata["go_micro_name"] == HELLO
    assert (hello.metadata["service"], hello.metadata["endpoint"]) == ("helloworld", "Helloworld.Call")
    assert hello.description == "Greets a person by name"
    assert hello.args_schema["properties"]["name"]["type"] == "string"
    assert hello.args_schema["required"] == ["name"]
    spec = convert_to_openai_tool(hello)["function"]
    assert spec["name"] == SAFE and spec["parameters"]["required"] == ["name"]


def test_tools_call_the_service_sync_and_async(gateway):
    (hello,) = GoMicroToolkit(gateway).get_tools(include=[SAFE])
    assert hello.invoke({"name": "Alice"}) == {"msg": "Hello Alice"}
    assert asyncio.run(hello.ainvoke({"name": "Bob"})) == {"msg": "Hello Bob"}


def test_a_tool_call_from_a_model_becomes_a_tool_message_with_the_answer(gateway):
    (hello,) = GoMicroToolkit(gateway).get_tools(service_filter="helloworld")
    call = {"name": SAFE, "args": {"name": "Carol"}, "id": "call-1", "type": "tool_call"}
    message = hello.invoke(call)
    assert message.tool_call_id == "call-1"
    assert '"msg": "Hello Carol"' in message.content


def test_every_construction_form_reaches_the_gateway(gateway):
    forms = [
        GoMicroToolkit(gateway),
        GoMicroToolkit(base_url=gateway, token=None),
        GoMicroToolkit.from_gateway(gateway),
        GoMicroToolkit(GoMicroConfig(gateway, None, 10.0, 1, 0.1)),
    ]
    for toolkit in forms:
        with toolkit:
            assert toolkit.call_tool(HELLO, {"name": "Dan"}) == {"msg": "Hello Dan"}


def test_filters_pick_tools_by_service_pattern_include_and_exclude(gateway):
    toolkit = GoMicroToolkit(gateway)
    everything = {t.name for t in toolkit.get_tools()}
    assert {t.name for t in toolkit.get_tools(service_filter="helloworld")} == {SAFE}
    assert {t.name for t in toolkit.get_tools(service_filter="nothing")} == set()
    store = {t.name for t in toolkit.get_tools(name_pattern=r"^micro_store_")}
    assert store == {"micro_store_list", "micro_store_read", "micro_store_write"}
    assert {t.name for t in toolkit.get_tools(include=[HELLO, "micro_store_read"])} == {
        SAFE,
        "micro_store_read",
    }
    assert {t.name for t in toolkit.get_tools(exclude=[SAFE])} == everything - {SAFE}


def test_list_tools_refresh_and_call_tool_by_either_name(gateway):
    toolkit = GoMicroToolkit(gateway)
    listed = {t.name: t for t in toolkit.list_tools()}
    assert listed[SAFE].qualified_name == HELLO and listed[SAFE].example == {"name": "Alice"}
    assert [t.name for t in toolkit.refresh()] == list(listed)
    assert toolkit.call_tool(SAFE, {"name": "Eve"}) == {"msg": "Hello Eve"}
    assert toolkit.call_tool(HELLO, '{"name": "Fay"}') == {"msg": "Hello Fay"}
    assert asyncio.run(toolkit.acall_tool(SAFE, {"name": "Gus"})) == {"msg": "Hello Gus"}


def test_bad_calls_raise_tool_errors_that_say_what_was_wrong(gateway):
    toolkit = GoMicroToolkit(gateway)
    with pytest.raises(GoMicroToolError) as refused:
        toolkit.call_tool(HELLO, {"name": 3})
    assert refused.value.status == 400 and "expected a string" in str(refused.value)
    assert refused.value.trace_id
    with pytest.raises(GoMicroToolError) as unknown:
        toolkit.call_tool("no_such_tool", {})
    assert unknown.value.status == 404 and "unknown tool" in str(unknown.value)
    with pytest.raises(GoMicroToolError, match="not JSON"):
        toolkit.call_tool(HELLO, "{name")
    with pytest.raises(GoMicroToolError, match="must be a JSON object"):
        toolkit.call_tool(HELLO, [1, 2])
    (hello,) = toolkit.get_tools(include=[SAFE])
    with pytest.raises(GoMicroToolError):
        hello.invoke({"name": 3})
    assert issubclass(GoMicroToolError, GoMicroError)


def test_an_unreachable_gateway_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    toolkit = GoMicroToolkit(f"http://127.0.0.1:{port}", retry_count=1, retry_delay=0.01)
    with pytest.raises(GoMicroConnectionError, match="check that `micro mcp serve"):
        toolkit.get_tools()
    with pytest.raises(GoMicroConnectionError):
        asyncio.run(toolkit.acall_tool(HELLO, {"name": "x"}))


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="not an http"):
        GoMicroToolkit("localhost:3000")
    with pytest.raises(ValueError, match="timeout"):
        GoMicroConfig("http://localhost:3000", timeout=0)


def test_auth_wants_a_token_and_takes_it_with_or_without_bearer(server):
    with pytest.raises(GoMicroAuthError) as missing:
        GoMicroToolkit(server.url).get_tools()
    assert missing.value.status == 401 and "token" in str(missing.value)
    with pytest.raises(GoMicroAuthError):
        GoMicroToolkit(server.url, token="not-a-token").get_tools()
    for token in (server.admin, f"Bearer {server.admin}"):
        toolkit = GoMicroToolkit(server.url, token=token)
        assert SAFE in {t.name for t in toolkit.get_tools()}
        assert toolkit.call_tool(SAFE, {"name": "Ann"}) == {"msg": "Hello Ann"}
    toolkit = GoMicroToolkit.from_gateway(server.url, auth_token=server.admin)
    assert toolkit.call_tool(HELLO, {"name": "Ben"}) == {"msg": "Hello Ben"}


def test_scopes_decide_which_tools_a_token_sees_and_calls(server):
    server.form("/auth/scopes", endpoint=HELLO, scopes="greeter")
    greeter = GoMicroToolkit(server.url, token=server.user("lc-greeter", "pw-greeter-1", "greeter"))
    other = GoMicroToolkit(server.url, token=server.user("lc-other", "pw-other-1", "reader"))
    assert [t.name for t in greeter.get_tools()] == [SAFE]
    assert greeter.list_tools()[0].scopes == ("greeter",)
    assert greeter.call_tool(SAFE, {"name": "Cy"}) == {"msg": "Hello Cy"}
    assert other.get_tools() == []
    with pytest.raises(GoMicroAuthError) as forbidden:
        other.call_tool(HELLO, {"name": "Cy"})
    assert forbidden.value.status == 403 and forbidden.value.required_scopes == ["greeter"]


def test_rate_limited_calls_are_retried_after_the_wait_or_raise_with_it(rate_limited_gateway):
    patient = GoMicroToolkit(rate_limited_gateway, retry_count=3, retry_delay=0.1)
    hasty = GoMicroToolkit(rate_limited_gateway, retry_count=0)
    assert patient.call_tool(HELLO, {"name": "A"}) == {"msg": "Hello A"}
    with pytest.raises(GoMicroToolError) as limited:
        hasty.call_tool(HELLO, {"name": "B"})
    assert limited.value.status == 429 and limited.value.retry_after >= 1
    assert patient.call_tool(HELLO, {"name": "C"}) == {"msg": "Hello C"}
