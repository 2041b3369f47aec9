"""GoMicroToolkit.local()'s LlamaIndex tools: no gateway, the engine in this process."""

import asyncio

import pytest
from go_micro_toolkit.testing import ORDER, REFUSE, go_micro_or_skip

from go_micro_llamaindex import GoMicroToolError, GoMicroToolkit

go_micro_or_skip()


def test_in_process_tools_have_nested_models_and_call_the_service(memory_registry):
    tools = {t.metadata.name: t for t in GoMicroToolkit.local(registry=memory_registry).to_tool_list()}
    create = tools["shop_Orders_Create"]
    assert create.metadata.go_micro["go_micro_name"] == ORDER
    Order = create.metadata.fn_schema
    order = Order.model_validate({"items": ["tea"], "address": {"city": "Oslo", "lines": ["Storgata 1"]}})
    assert order.address.lines == ["Storgata 1"]
    assert Order.model_json_schema()["required"] == ["items", "address"]
    output = create.call(**order.model_dump(by_alias=True, exclude_unset=True))
    assert output.raw_output == {"count": 1, "city": "Oslo", "rush": False}
    output = asyncio.run(create.acall(items=["a", "b"], address={"city": "Bergen", "lines": []}))
    assert output.raw_output["city"] == "Bergen"
    with pytest.raises(GoMicroToolError) as refused:
        tools["shop_Orders_Refuse"].call()
    assert refused.value.status == 409 and refused.value.tool == REFUSE
