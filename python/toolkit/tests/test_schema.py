"""JSON Schema to pydantic models: the shape survives, and so does the schema models see."""

import pytest
from pydantic import ValidationError

from go_micro_toolkit import model_from_schema

ORDER = {
    "type": "object",
    "description": "An order.",
    "properties": {
        "id": {"type": "string", "description": "The order id."},
        "count": {"type": "integer", "default": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "points": {"type": "array", "items": {"$ref": "#/$defs/Point"}},
            },
            "required": ["city"],
        },
        "first-name": {"type": ["string", "null"]},
        "schema": {"type": "string", "enum": ["fast", "slow"]},
        "prices": {"type": "object", "additionalProperties": {"type": "number"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["id"],
    "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}},
}


def test_nested_objects_arrays_refs_and_odd_names_survive():
    Order = model_from_schema("shop.Orders.Create", ORDER)
    assert Order.__name__ == "ShopOrdersCreate" and Order.__doc__ == "An order."
    order = Order.model_validate(
        {
            "id": "o1",
            "tags": ["a"],
            "address": {"city": "Oslo", "points": [{"x": 1, "y": 2}]},
            "first-name": None,
            "schema": "fast",
            "prices": {"a": 1.5},
            "note": 3,
        }
    )
    assert order.address.points[0].y == 2.0
    assert order.model_dump(by_alias=True, exclude_unset=True)["first-name"] is None
    schema = Order.model_json_schema()
    assert set(schema["properties"]) == set(ORDER["properties"])
    assert schema["required"] == ["id"]
    assert schema["properties"]["id"]["description"] == "The order id."
    assert schema["properties"]["count"]["default"] == 1
    assert schema["properties"]["schema"]["enum"] == ["fast", "slow"]


def test_the_model_refuses_what_the_schema_refuses():
    Order = model_from_schema("order", ORDER)
    with pytest.raises(ValidationError):
        Order.model_validate({"tags": []})  # no id
    with pytest.raises(ValidationError):
        Order.model_validate({"id": "o", "schema": "medium"})
    with pytest.raises(ValidationError):
        Order.model_validate({"id": "o", "address": {"points": []}})  # no city


def test_schemas_without_properties_or_with_unknown_keywords_still_make_models():
    assert model_from_schema("empty", {"type": "object"}).model_json_schema()["properties"] == {}
    Loose = model_from_schema("loose", {"type": "object", "properties": {"x": {"format": "weird"}}})
    assert Loose.model_validate({"x": [1, {"a": 2}]}).x == [1, {"a": 2}]
    Tree = model_from_schema(
        "tree",
        {
            "$ref": "#/$defs/Node",
            "type": "object",
            "properties": {"child": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        },
    )
    assert Tree.model_validate({"child": {"child": {"child": None}}}).child.child == {"child": None}


def test_a_schema_that_is_not_an_object_is_a_clear_error():
    with pytest.raises(TypeError, match="JSON Schema is an object"):
        model_from_schema("bad", ["not", "a", "schema"])
