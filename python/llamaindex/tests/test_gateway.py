"""GoMicroToolkit's LlamaIndex tools against a live gateway: `micro mcp serve` and `micro
server` (auth on) in front of the real helloworld service."""

import asyncio
import json
import re

import pytest
from go_micro_toolkit.testing import HELLO
from llama_index.core.tools import FunctionTool

from go_micro_llamaindex import GoMicroAuthError, GoMicroConfig, GoMicroToolError, GoMicroToolkit

SAFE = "helloworld_Helloworld_Call"


def hello_tool(toolkit: GoMicroToolkit) -> FunctionTool:
    (tool,) = toolkit.to_tool_list(include=[HELLO])
    return tool


def test_tools_have_safe_names_a_schema_model_and_the_real_name(gateway):
    tools = GoMicroToolkit(gateway).to_tool_list()
    names = [t.metadata.name for t in tools]
    assert SAFE in names and "micro_store_write" in names
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    hello = next(t for t in tools if t.metadata.name == SAFE)
    assert hello.metadata.go_micro["go_micro_name"] == HELLO
    assert hello.metadata.description == "Greets a person by name"
    schema = hello.metadata.fn_schema.model_json_schema()
    assert schema["properties"]["name"]["type"] == "string"
    assert schema["properties"]["name"]["description"] == "The person's name."
    assert schema["required"] == ["name"]
    assert hello.metadata.to_openai_tool()["function"]["name"] == SAFE
    assert hello.metadata.fn_schema(name="Alice").name == "Alice"


def test_tools_call_the_service_sync_and_async(gateway):
    hello = hello_tool(GoMicroToolkit(gateway))
    output = hello.call(name="Alice")
    assert output.raw_output == {"msg": "Hello Alice"}
    assert json.loads(output.content) == {"msg": "Hello Alice"}
    output = asyncio.run(hello.acall(name="Bob"))
    assert output.raw_output == {"msg": "Hello Bob"} and output.tool_name == SAFE


def test_config_and_from_gateway_and_filters(gateway):
    for toolkit in (
        GoMicroToolkit(GoMicroConfig(gateway, timeout=5.0, retry_count=0)),
        GoMicroToolkit.from_gateway(gateway),
    ):
        assert [t.metadata.name for t in toolkit.to_tool_list(service_filter="helloworld")] == [SAFE]
        assert {t.metadata.name for t in toolkit.to_tool_list(name_pattern="^micro_registry")} == {
            "micro_registry_get",
            "micro_registry_list",
        }
        assert SAFE not in {t.metadata.name for t in toolkit.to_tool_list(exclude=[SAFE])}


def test_a_failing_call_raises_a_tool_error(gateway):
    hello = hello_tool(GoMicroToolkit(gateway))
    with pytest.raises(GoMicroToolError) as refused:
        hello.call(name=7)
    assert refused.value.status == 400 and refused.value.tool == HELLO


def test_auth_and_scopes_decide_what_a_token_sees_and_calls(server):
    with pytest.raises(GoMicroAuthError) as missing:
        GoMicroToolkit(server.url).to_tool_list()
    assert missing.value.status == 401
    admin = GoMicroToolkit(server.url, token=f"Bearer {server.admin}")
    assert hello_tool(admin).call(name="Ann").raw_output == {"msg": "Hello Ann"}

    server.form("/auth/scopes", endpoint=HELLO, scopes="li-greeter")
    greeter = GoMicroToolkit(server.url, token=server.user("li-greeter", "pw-greeter-2", "li-greeter"))
    other = GoMicroToolkit(server.url, token=server.user("li-other", "pw-other-2", "nothing"))
    assert [t.metadata.name for t in greeter.to_tool_list()] == [SAFE]
    assert hello_tool(greeter).call(name="Cy").raw_output == {"msg": "Hello Cy"}
    assert other.to_tool_list() == []
    with pytest.raises(GoMicroAuthError) as forbidden:
        asyncio.run(other.acall_tool(HELLO, {"name": "Cy"}))
    assert forbidden.value.status == 403 and forbidden.value.required_scopes == ["li-greeter"]
