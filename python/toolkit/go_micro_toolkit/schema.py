"""JSON Schema to pydantic models, for toolkits whose tools need a model class.

Nested objects become nested models and arrays keep their item type, so a model sees the
same shape the service documents. Property names that are not Python identifiers (or clash
with pydantic's own attributes) get a field name of their own and keep theirs as the alias,
which is what the model's JSON Schema shows. Unknown keywords widen to ``Any``, never fail.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

_SCALARS: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "null": type(None),
}


def model_from_schema(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model for the object ``schema`` describes, named ``name``."""
    if not isinstance(schema, dict):
        raise TypeError(f"a JSON Schema is an object, not {type(schema).__name__}")
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return _Builder(defs).model(_class_name(name), schema)


class _Builder:
    """Builds models for one schema, resolving its ``$ref``s into ``$defs`` once each."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.built: dict[str, Any] = {}
        self.building: set[str] = set()

    def model(self, name: str, schema: dict[str, Any]) -> type[BaseModel]:
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        fields: dict[str, Any] = {}
        for key, prop in properties.items():
            prop = prop if isinstance(prop, dict) else {}
            annotation = self.annotation(name + _class_name(key), prop)
            # Left out means "not sent": the default is the service's, null only if allowed.
            default = ... if key in required else prop.get("default")
            field = _field_name(key, fields)
            fields[field] = (
                annotation,
                Field(
                    default,
                    alias=key if field != key else None,
                    description=prop.get("description"),
                    examples=prop.get("examples"),
                ),
            )
        extra = {False: "forbid", True: "allow"}.get(schema.get("additionalProperties"), "ignore")
        config = ConfigDict(populate_by_name=True, protected_namespaces=(), extra=extra)
        return create_model(name, __config__=config, __doc__=schema.get("description"), **fields)

    def annotation(self, name: str, schema: dict[str, Any]) -> Any:
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        if "const" in schema:
            return Literal[schema["const"]]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return Literal[tuple(schema["enum"])]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return _union(self.annotation(f"{name}{i}", s) for i, s in enumerate(schema[key]))
        kinds = schema.get("type")
        if isinstance(kinds, list):
            return _union(self.annotation(name, {**schema, "type": k}) for k in kinds)
        if kinds in _SCALARS:
            return _SCALARS[kinds]
        if kinds == "array":
            items = schema.get("items")
            return list[self.annotation(name + "Item", items)] if isinstance(items, dict) else list
        if kinds == "object" or "properties" in schema:
            if schema.get("properties"):
                return self.model(name, schema)
            values = schema.get("additionalProperties")
            if isinstance(values, dict):
                return dict[str, self.annotation(name + "Value", values)]
            return dict[str, Any]
        return Any

    def ref(self, ref: str) -> Any:
        key = ref.rsplit("/", 1)[-1]
        target = self.defs.get(key) if ref.startswith(("#/$defs/", "#/definitions/")) else None
        if not isinstance(target, dict) or key in self.building:
            return Any  # a remote or recursive reference: accept what the service accepts
        if key not in self.built:
            self.building.add(key)
            self.built[key] = self.annotation(_class_name(key), target)
            self.building.discard(key)
        return self.built[key]


def _union(annotations) -> Any:
    members = tuple(dict.fromkeys(annotations))
    return members[0] if len(members) == 1 else Union[members]


def _class_name(text: str) -> str:
    words = re.split(r"[^a-zA-Z0-9]+", text)
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    return name if name[:1].isalpha() else "Model" + name


def _field_name(key: str, taken: dict[str, Any]) -> str:
    """``key`` when it can be a pydantic field name, else a safe name not yet ``taken``."""
    if (
        key.isidentifier()
        and not keyword.iskeyword(key)
        and not key.startswith("_")
        and not hasattr(BaseModel, key)
        and key not in taken
    ):
        return key
    base = "field_" + (re.sub(r"\W", "_", key).strip("_") or "value")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name
