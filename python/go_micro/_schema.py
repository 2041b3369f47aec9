"""Request and response types: JSON Schema from type hints (dataclasses, TypedDicts, pydantic
models and the plain types inside them), JSON text in and out of those types, and endpoint
documentation from docstrings (``@example {...}`` as in go-micro)."""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import inspect
import json
import types
import typing
from typing import Any, Callable, Union

from . import _native
from .errors import BadRequestError

JsonSchema = dict[str, Any]


def _is_pydantic(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def is_object_type(tp: Any) -> bool:
    """Whether ``tp`` is a type with named fields (a schema can be published for it)."""
    return _is_pydantic(tp) or _is_typeddict(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp))


def schema_of(tp: Any) -> tuple[str, JsonSchema] | None:
    """``(type name, JSON Schema)`` of a dataclass, TypedDict or pydantic model; ``None`` for
    any other type (nothing is published for it)."""
    if not is_object_type(tp):
        return None
    if _is_pydantic(tp):
        return tp.__name__, dict(tp.model_json_schema())
    defs: dict[str, JsonSchema] = {}
    top = _object(tp, defs)
    if defs:
        top["$defs"] = defs
    return tp.__name__, top


def _object(tp: Any, defs: dict[str, JsonSchema]) -> JsonSchema:
    hints = typing.get_type_hints(tp)
    if dataclasses.is_dataclass(tp):
        required = [
            f.name
            for f in dataclasses.fields(tp)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        names = [f.name for f in dataclasses.fields(tp)]
    else:
        required = sorted(getattr(tp, "__required_keys__", hints))
        names = list(hints)
    schema: JsonSchema = {
        "type": "object",
        "properties": {name: _field(hints[name], defs) for name in names},
    }
    if required:
        schema["required"] = required
    if tp.__doc__ and not tp.__doc__.startswith(tp.__name__ + "("):
        schema["description"] = inspect.cleandoc(tp.__doc__)
    return schema


def _field(tp: Any, defs: dict[str, JsonSchema]) -> JsonSchema:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is object:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if origin is Union or origin is types.UnionType:
        return {"anyOf": [_field(arg, defs) for arg in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is typing.Annotated:
        return _field(args[0], defs)
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64"}
    if tp is float:
        return {"type": "number", "format": "double"}
    if tp is str:
        return {"type": "string"}
    if tp is bytes:
        return {"type": "string", "contentEncoding": "base64"}
    if origin in (list, set, frozenset, tuple) or tp in (list, set, frozenset, tuple):
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            args = args[:1]
        item = _field(args[0], defs) if len(args) == 1 else {}
        return {"type": "array", "items": item}
    if origin is dict or tp is dict:
        value = _field(args[1], defs) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": value}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        defs.setdefault(tp.__name__, {"enum": [member.value for member in tp]})
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if _is_pydantic(tp):
        schema = dict(tp.model_json_schema(ref_template="#/$defs/{model}"))
        defs.update(schema.pop("$defs", {}))
        defs.setdefault(tp.__name__, schema)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if is_object_type(tp):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # placeholder first, so recursive types end
            defs[tp.__name__] = _object(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    return {}


@functools.cache
def _init_fields(tp: type) -> dict[str, Any]:
    """A dataclass's constructor fields and their types, read once per class (resolving
    type hints is slow)."""
    hints = typing.get_type_hints(tp)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(tp) if f.init}


def decoder(tp: Any) -> Callable[[Any], Any]:
    """A function turning parsed JSON into an instance of ``tp``, made once per handler so
    that a call does not look at ``tp`` again; it raises a ``BadRequestError`` saying which
    field is wrong when the data does not fit."""
    convert = _converter(tp)
    if convert is None:
        return _same
    name = getattr(tp, "__name__", str(tp))

    def decode(data: Any) -> Any:
        try:
            return convert(data)
        except BadRequestError:
            raise
        except (TypeError, ValueError, KeyError) as err:
            raise BadRequestError(f"the request does not fit {name}: {err}") from err

    return decode


def _same(data: Any) -> Any:
    return data


Converter = Callable[[Any], Any]


@functools.cache
def _converter(tp: Any) -> Converter | None:
    """What turns parsed JSON into a ``tp``: a function, or ``None`` when the data is taken
    as it is. Each function passes ``None`` through."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is inspect.Parameter.empty:
        return None
    if _is_pydantic(tp):
        return _none_or(tp.model_validate)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if origin is Union or origin is types.UnionType:
        inner = [arg for arg in args if arg is not type(None)]
        return _converter(inner[0]) if len(inner) == 1 else None
    if origin is list and args and (item := _converter(args[0])) is not None:
        return _none_or(lambda data: [item(x) for x in data] if isinstance(data, list) else data)
    if origin is dict and len(args) == 2 and (value := _converter(args[1])) is not None:
        return _none_or(lambda data: {k: value(v) for k, v in data.items()} if isinstance(data, dict) else data)
    if tp is bytes:
        return _none_or(lambda data: base64.b64decode(data) if isinstance(data, str) else data)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _none_or(tp)
    return None


def _none_or(convert: Converter) -> Converter:
    return lambda data: None if data is None else convert(data)


def _dataclass(tp: type) -> Converter:
    """The converter of a dataclass: its fields' converters are made on first use (so
    recursive types end), and a JSON object whose fields all fit as they are is passed
    straight to the constructor."""
    fields: dict[str, Converter | None] = {}
    names: frozenset[str] = frozenset()
    plain = False

    def convert(data: Any) -> Any:
        nonlocal names, plain
        if data is None:
            return None
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        if not names:
            fields.update((k, _converter(t)) for k, t in _init_fields(tp).items())
            names, plain = frozenset(fields), all(c is None for c in fields.values())
        if plain and data.keys() <= names:
            return tp(**data)
        return tp(**{k: v if (c := fields[k]) is None else c(v) for k, v in data.items() if k in fields})

    return convert


@functools.cache
def _fields_of(tp: type) -> tuple[str, ...] | None:
    """The field names of a dataclass, read once per class; ``None`` for any other type. The
    encoder (``_native.encode``) asks it for each value that is not plain JSON data."""
    if not dataclasses.is_dataclass(tp):
        return None
    return tuple(f.name for f in dataclasses.fields(tp))


def _plain(value: Any) -> Any:
    """What JSON cannot hold as it is, as JSON data: pydantic models, enums, bytes (base64)
    and sets. The encoder calls it for values that are neither plain JSON data nor
    dataclasses (which it encodes field by field itself)."""
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: ``value`` as JSON bytes; ``bytes`` and ``str`` are taken as JSON already; ``None`` is
#: ``{}``; a ``TypeError`` when it cannot be encoded.
encode = _native.encode

#: JSON bytes as Python data; an empty body is ``None``; a ``ValueError`` when it is not JSON.
parse = _native.parse


def docs(fn: Any) -> tuple[str, str]:
    """``(description, example)`` from a docstring: the text, and the JSON after an
    ``@example`` line (up to a blank line). A ``ValueError`` if the example is not JSON."""
    text = inspect.getdoc(fn) or ""
    description: list[str] = []
    example: list[str] = []
    in_example = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("@example"):
            in_example = True
            example.append(stripped[len("@example") :])
        elif in_example and stripped:
            example.append(stripped)
        else:
            in_example = False
            description.append(line)
    example_text = " ".join(part.strip() for part in example).strip()
    if example_text:
        try:
            example_text = json.dumps(json.loads(example_text), separators=(",", ":"))
        except json.JSONDecodeError as err:
            name = getattr(fn, "__qualname__", fn)
            raise ValueError(f"the @example of {name} is not JSON ({err}): {example_text}") from None
    return "\n".join(description).strip(), example_text
