"""GoMicroToolkit.local(): no gateway; services found through the registry and called
through the engine in this process (the go-micro package)."""

import asyncio
import json
import time

import pytest
from go_micro_toolkit.testing import HELLO, ORDER, REFUSE, go_micro_or_skip
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_go_micro import GoMicroConnectionError, GoMicroToolError, GoMicroToolkit

go_micro_or_skip()

SHIPMENT = {"items": ["tea", "cake"], "address": {"city": "Oslo", "lines": ["Storgata 1"]}}


def test_in_process_tools_keep_the_nested_schema_and_call_the_service(memory_registry):
    toolkit = GoMicroToolkit.local(registry=memory_registry)
    tools = {t.name: t for t in toolkit.get_tools()}
    # The engine's own catalogue, as the gateway lists it: the endpoints (one named by its
    # mcp_name), then the framework tools.
    assert set(tools) == {
        "shop_Orders_Create",
        "shop_Orders_Refuse",
        "order_status",
        "micro_registry_list",
        "micro_registry_get",
        "micro_store_list",
        "micro_store_read",
        "micro_store_write",
        "micro_broker_publish",
    }
    assert tools["order_status"].invoke({}) == {"status": "shipped"}
    assert "shop" in json.dumps(tools["micro_registry_list"].invoke({}))
    create = tools["shop_Orders_Create"]
    assert create.metadata["go_micro_name"] == ORDER
    assert create.description.startswith("Places an order")
    address = create.args_schema["$defs"]["Address"]
    assert address["properties"]["lines"] == {"type": "array", "items": {"type": "string"}}
    assert convert_to_openai_tool(create)["function"]["parameters"]["required"] == ["items", "address"]
    assert create.invoke(SHIPMENT) == {"count": 2, "city": "Oslo", "rush": False}
    assert asyncio.run(create.ainvoke({**SHIPMENT, "rush": True}))["rush"] is True


def test_in_process_errors_are_tool_errors_with_the_service_code(memory_registry):
    toolkit = GoMicroToolkit.local(registry=memory_registry)
    with pytest.raises(GoMicroToolError) as refused:
        toolkit.call_tool(REFUSE, {})
    assert refused.value.status == 409 and "the shop is closed" in str(refused.value)
    with pytest.raises(GoMicroToolError) as bad:
        toolkit.call_tool("shop_Orders_Create", {"items": "tea"})
    assert bad.value.status == 400
    with pytest.raises(GoMicroToolError) as unknown:
        asyncio.run(toolkit.acall_tool("shop.Orders.Nothing", {}))
    assert unknown.value.status == 404


def test_in_process_over_mdns_finds_the_helloworld_process(helloworld):
    toolkit = GoMicroToolkit.local()  # mDNS, like every go-micro service by default
    deadline = time.monotonic() + 20  # the helloworld process may have only just started
    while not toolkit.select(service_filter="helloworld") and time.monotonic() < deadline:
        time.sleep(0.2)
        toolkit.refresh()
    (hello,) = toolkit.get_tools(service_filter="helloworld")
    assert hello.metadata["go_micro_name"] == HELLO and hello.args_schema["required"] == ["name"]
    assert hello.invoke({"name": "Alice"}) == {"msg": "Hello Alice"}


def test_an_unknown_registry_is_a_connection_error_naming_the_known_ones():
    with pytest.raises(GoMicroConnectionError, match="known registry names: mdns, memory"):
        GoMicroToolkit.local(registry="bogus")
