//! Request and response schemas, published two ways: as go-micro registry [`Value`] trees (what
//! `micro describe` and go-micro's gateways read from an endpoint) and as JSON Schema (what MCP
//! tools take as `inputSchema`).
//!
//! Rust types get both from `schemars` through [`of`]; bindings that bring a JSON Schema
//! instead of a Rust type (Python, Node, C) use [`from_json_schema`]. Either way the `Value`
//! tree is read off the JSON Schema, and it is the tree go-micro publishes for the equivalent
//! Go struct: the top value named and typed by the struct name, one value per field named by
//! its JSON name, Go type names for the field types, and at most three levels (the top, its
//! fields, their fields), because go-micro stops there.
//!
//! How a JSON Schema type becomes a Go type name in the tree:
//!
//! | JSON Schema                                  | Rust                        | `type` in the tree                    |
//! |----------------------------------------------|-----------------------------|---------------------------------------|
//! | `string`                                     | `String`, `char`            | `string`                              |
//! | `string` with `contentEncoding: base64`      |                             | `[]uint8` (Go's `[]byte`)             |
//! | `integer` with format `int8` … `int64`, `uint8` … `uint64`, `int`, `uint` | `i8` … `u64`, `isize`, `usize` | the format (`int64`, `uint32`, ...) |
//! | `integer`, other or no format                | `i128`, `u128`              | `int64` (`uint64` for `u…` formats)   |
//! | `number` with format `float`                 | `f32`                       | `float32`                             |
//! | `number`, other or no format                 | `f64`                       | `float64`                             |
//! | `boolean`                                    | `bool`                      | `bool`                                |
//! | `array` of `T`                               | `Vec<T>`, `HashSet<T>`      | `[]T`: `[]string`, `[]Item`, `[]uint8`; `[]` when `T` has no name (arrays of arrays or maps), as Go writes `[][]string` |
//! | `T` or `null`                                | `Option<T>`, `Box<T>`       | as `T` (go-micro looks through pointers) |
//! | `$ref` to an object with `properties`        | a struct                    | the definition's name, with its fields |
//! | `$ref` to an array                           | `struct Tags(Vec<String>)`  | `[]T`, as Go writes `type Tags []string` |
//! | `$ref` to anything else                      | an enum, a newtype          | the definition's name, no fields (Go's `type Status string`) |
//! | inline object with `properties`              |                             | empty (Go's anonymous struct), with its fields |
//! | object with only `additionalProperties`      | `HashMap<String, V>`        | empty: go-micro writes map types with no name |
//! | tuple (`prefixItems`), a union of several types, `true`/`{}` | `(A, B)`, data enums inline, `serde_json::Value` | empty |
//!
//! The JSON Schema side is schemars' draft 2020-12 output, self-contained (named types under
//! `$defs`), with `type: object` and `properties` on top so it can serve as an MCP tool's
//! `inputSchema` as it is.
//!
//! ```
//! #[derive(schemars::JsonSchema)]
//! struct Request {
//!     name: String,
//!     tags: Vec<String>,
//! }
//!
//! let schema = micro::schema::of::<Request>();
//! assert_eq!(schema.value.kind, "Request");
//! assert_eq!(schema.value.values[1].kind, "[]string");
//! assert_eq!(schema.json["properties"]["name"]["type"], "string");
//! ```

use crate::errors::{Error, Result};
use crate::registry::Value;
use schemars::JsonSchema;
use serde_json::{Map, Value as Json};

/// The id on errors raised here.
const ID: &str = "micro.schema";

/// How many levels of a type go-micro describes: the top, its fields, their fields.
const MAX_DEPTH: usize = 3;

/// How many `$ref`s and `Option` wrappers one field may pass through before it is given up
/// as a cycle.
const MAX_HOPS: usize = 16;

/// A request or response type described both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// JSON Schema (draft 2020-12), fit to be an MCP tool's `inputSchema`.
    pub json: Json,
    /// The go-micro registry type tree.
    pub value: Value,
}

/// The schemas of a Rust type, from its `schemars::JsonSchema` implementation.
///
/// The top value is named after the type (`T::schema_name()`), unless it is one schemars
/// always inlines (a `String`, a `Vec`), which go-micro names by its Go type instead.
pub fn of<T: JsonSchema>() -> Schema {
    let mut json = Json::from(schemars::schema_for!(T));
    let name = (!T::inline_schema()).then(|| T::schema_name().into_owned());
    let walker = Walker {
        root: &json,
        root_name: name.as_deref(),
    };
    let value = walker.top();
    let is_struct = matches!(walker.resolve(&json).shape, Shape::Struct(_));
    if is_struct {
        ensure_object_keys(&mut json);
    }
    Schema { json, value }
}

/// The schemas of a type described by a JSON Schema, for bindings that bring one instead of a
/// Rust type. `name` is the type's name, used for the top of the `Value` tree.
///
/// The schema must be a JSON object describing an object (what MCP tools take), and every
/// `$ref` in it must point inside it (`#/$defs/...` or `#/definitions/...`); otherwise it is
/// a 400 saying which. A top-level `$ref` is inlined, and `type: object` and `properties` are
/// added when missing, so the JSON side can be used as an MCP `inputSchema` as it is.
pub fn from_json_schema(name: &str, schema: &Json) -> Result<Schema> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::bad_request(
            ID,
            "a schema needs the name of the type it describes; pass a non-empty name",
        ));
    }
    if !schema.is_object() {
        return Err(Error::bad_request(
            ID,
            format!(
                "the schema for {name} must be a JSON object describing an object type, got {}",
                short(schema)
            ),
        ));
    }
    check_refs(name, schema)?;
    let mut json = schema.clone();
    inline_top_ref(&mut json);
    let walker = Walker {
        root: &json,
        root_name: Some(name),
    };
    if !matches!(walker.resolve(&json).shape, Shape::Struct(_)) {
        return Err(Error::bad_request(
            ID,
            format!(
                "the schema for {name} must describe an object (\"type\": \"object\" with \"properties\"), as request and response types and MCP tool inputs are; got {}",
                short(schema)
            ),
        ));
    }
    let value = walker.top();
    ensure_object_keys(&mut json);
    Ok(Schema { json, value })
}

/// Reads `Value` trees off one JSON Schema document.
struct Walker<'a> {
    /// The whole document, which `$ref`s point into.
    root: &'a Json,
    /// The name of the type the document describes, if it has one.
    root_name: Option<&'a str>,
}

/// The Go shape of a schema once references and `Option`s are looked through.
enum Shape<'a> {
    /// A struct, with its properties when it has any.
    Struct(Option<&'a Map<String, Json>>),
    /// A slice of the given item schema.
    Slice(&'a Json),
    /// Go's `[]byte`.
    Bytes,
    /// A scalar, by its Go name.
    Scalar(&'static str),
    /// A type Go leaves unnamed: a map, an array, an interface.
    Other,
}

/// A schema looked through: the name a `$ref` gave it, and its shape.
struct Resolved<'a> {
    name: Option<String>,
    shape: Shape<'a>,
}

impl Resolved<'_> {
    /// What Go's `reflect.Type.Name()` would say: the type's own name, a scalar's name, or
    /// empty for unnamed composites.
    fn go_name(&self) -> String {
        match (&self.name, &self.shape) {
            (Some(name), _) => name.clone(),
            (None, Shape::Scalar(go)) => go.to_string(),
            _ => String::new(),
        }
    }
}

/// One step of looking through a schema.
enum Step<'a> {
    /// Continue with this schema, named by this `$ref` name when there is one.
    Next(Option<String>, &'a Json),
    /// Nothing more to look through.
    Done,
}

impl<'a> Walker<'a> {
    /// The whole tree, top value first, named after the document's type when it has a name.
    fn top(&self) -> Value {
        let mut top = self.resolve(self.root);
        if top.name.is_none() {
            top.name = self.root_name.map(str::to_string);
        }
        self.build(top.go_name(), top, 0)
    }

    /// The value for one field, or `None` below the depth go-micro describes.
    fn value(&self, name: String, schema: &'a Json, depth: usize) -> Option<Value> {
        if depth == MAX_DEPTH {
            return None;
        }
        Some(self.build(name, self.resolve(schema), depth))
    }

    /// The value for a resolved schema at `depth`, with the fields of a struct.
    fn build(&self, name: String, resolved: Resolved<'a>, depth: usize) -> Value {
        let kind = self.kind(&resolved);
        let values = match resolved.shape {
            Shape::Struct(Some(properties)) => properties
                .iter()
                .filter_map(|(field, schema)| self.value(field.clone(), schema, depth + 1))
                .collect(),
            _ => Vec::new(),
        };
        Value { name, kind, values }
    }

    /// The Go type name go-micro writes for a resolved schema.
    fn kind(&self, resolved: &Resolved<'a>) -> String {
        match resolved.shape {
            Shape::Slice(items) => format!("[]{}", self.resolve(items).go_name()),
            Shape::Bytes => "[]uint8".to_string(),
            _ => resolved.go_name(),
        }
    }

    /// Looks through `$ref`s, `Option`s and one-element `allOf`s to the schema that says what
    /// the type is; the first `$ref` passed names it.
    fn resolve(&self, mut schema: &'a Json) -> Resolved<'a> {
        let mut name = None;
        for _ in 0..MAX_HOPS {
            match self.step(schema) {
                Step::Next(next_name, next) => {
                    if name.is_none() {
                        name = next_name;
                    }
                    schema = next;
                }
                Step::Done => {
                    return Resolved {
                        name,
                        shape: shape(schema),
                    };
                }
            }
        }
        Resolved {
            name,
            shape: Shape::Other,
        }
    }

    /// One step of [`Walker::resolve`].
    fn step(&self, schema: &'a Json) -> Step<'a> {
        let Some(object) = schema.as_object() else {
            return Step::Done;
        };
        if let Some(reference) = object.get("$ref").and_then(Json::as_str) {
            return match self.follow(reference) {
                Some((name, target)) => Step::Next(name, target),
                None => Step::Done,
            };
        }
        if object.contains_key("type") || object.contains_key("properties") {
            return Step::Done;
        }
        for union in ["anyOf", "oneOf"] {
            if let Some(choices) = object.get(union).and_then(Json::as_array) {
                let mut non_null = choices.iter().filter(|c| !is_null_schema(c));
                return match (non_null.next(), non_null.next()) {
                    (Some(only), None) => Step::Next(None, only),
                    _ => Step::Done,
                };
            }
        }
        match object
            .get("allOf")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
        {
            Some([only]) => Step::Next(None, only),
            _ => Step::Done,
        }
    }

    /// The target of a local `$ref` and the name it gives: its last path segment, or the
    /// document's own name for `#`.
    fn follow(&self, reference: &str) -> Option<(Option<String>, &'a Json)> {
        if reference == "#" {
            return Some((self.root_name.map(str::to_string), self.root));
        }
        let pointer = reference.strip_prefix('#')?;
        let target = self.root.pointer(pointer)?;
        let last = pointer.rsplit('/').next().unwrap_or("");
        let name = last.replace("~1", "/").replace("~0", "~");
        Some((Some(name), target))
    }
}

/// The Go shape of a schema that has been looked through.
fn shape(schema: &Json) -> Shape<'_> {
    let Some(object) = schema.as_object() else {
        return Shape::Other;
    };
    let kind = match type_of(object) {
        Some(kind) => kind,
        None => return Shape::Other,
    };
    match kind {
        "object" => {
            if let Some(properties) = object.get("properties").and_then(Json::as_object) {
                Shape::Struct(Some(properties))
            } else if is_map(object) {
                Shape::Other
            } else {
                Shape::Struct(None)
            }
        }
        "array" => match object.get("items") {
            Some(items) if !items.is_array() => Shape::Slice(items),
            _ => Shape::Other,
        },
        "string" if object.get("contentEncoding").and_then(Json::as_str) == Some("base64") => {
            Shape::Bytes
        }
        "string" => Shape::Scalar("string"),
        "integer" => Shape::Scalar(integer(object.get("format").and_then(Json::as_str))),
        "number" => match object.get("format").and_then(Json::as_str) {
            Some("float") => Shape::Scalar("float32"),
            _ => Shape::Scalar("float64"),
        },
        "boolean" => Shape::Scalar("bool"),
        _ => Shape::Other,
    }
}

/// The one JSON type a schema allows besides `null`, stated or implied by its keywords.
fn type_of(object: &Map<String, Json>) -> Option<&str> {
    match object.get("type") {
        Some(Json::String(kind)) => return Some(kind),
        Some(Json::Array(kinds)) => {
            let mut non_null = kinds
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| *k != "null");
            return match (non_null.next(), non_null.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            };
        }
        _ => {}
    }
    if object.contains_key("properties") || object.contains_key("additionalProperties") {
        return Some("object");
    }
    if object.contains_key("items") {
        return Some("array");
    }
    let first = match (object.get("const"), object.get("enum")) {
        (Some(value), _) => value,
        (None, Some(Json::Array(values))) => values.first()?,
        _ => return None,
    };
    match first {
        Json::String(_) => Some("string"),
        Json::Bool(_) => Some("boolean"),
        Json::Number(n) if n.is_f64() => Some("number"),
        Json::Number(_) => Some("integer"),
        _ => None,
    }
}

/// Whether an object schema without properties is a map (string keys to some value type).
fn is_map(object: &Map<String, Json>) -> bool {
    let additional = object.get("additionalProperties");
    object.contains_key("patternProperties")
        || matches!(additional, Some(v) if v != &Json::Bool(false))
}

/// The Go integer type for a JSON Schema integer format.
fn integer(format: Option<&str>) -> &'static str {
    match format {
        Some("int8") => "int8",
        Some("int16") => "int16",
        Some("int32") => "int32",
        Some("int64") => "int64",
        Some("int") => "int",
        Some("uint8") => "uint8",
        Some("uint16") => "uint16",
        Some("uint32") => "uint32",
        Some("uint64") => "uint64",
        Some("uint") => "uint",
        Some(other) if other.starts_with('u') => "uint64",
        _ => "int64",
    }
}

/// Whether a schema is `{"type": "null"}`.
fn is_null_schema(schema: &Json) -> bool {
    schema.get("type").and_then(Json::as_str) == Some("null")
}

/// Every `$ref` in the document must point inside it; a 400 naming the first that does not.
fn check_refs(name: &str, root: &Json) -> Result<()> {
    let walker = Walker {
        root,
        root_name: Some(name),
    };
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        match node {
            Json::Object(object) => {
                if let Some(reference) = object.get("$ref").and_then(Json::as_str)
                    && walker.follow(reference).is_none()
                {
                    return Err(Error::bad_request(
                        ID,
                        format!(
                            "the schema for {name} has \"$ref\": {reference:?}, which does not point inside it; put referenced definitions under \"$defs\" and refer to them as \"#/$defs/Name\""
                        ),
                    ));
                }
                // Literal data, not schemas: a "$ref" key inside it is no reference.
                let data = ["const", "enum", "default", "examples", "example"];
                pending.extend(
                    object
                        .iter()
                        .filter(|(key, _)| !data.contains(&key.as_str()))
                        .map(|(_, value)| value),
                );
            }
            Json::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    Ok(())
}

/// Replaces a top-level `$ref` with the definition it points to, keeping the top's own keys
/// (`$defs`, `title`, ...), so the top itself says `type: object` and lists `properties`.
fn inline_top_ref(json: &mut Json) {
    let Some(reference) = json.get("$ref").and_then(Json::as_str) else {
        return;
    };
    let Some(Json::Object(target)) = reference
        .strip_prefix('#')
        .and_then(|pointer| json.pointer(pointer))
        .cloned()
    else {
        return;
    };
    if let Some(top) = json.as_object_mut() {
        top.remove("$ref");
        for (key, value) in target {
            top.entry(key).or_insert(value);
        }
    }
}

/// Adds `type: object` and `properties: {}` to the top when missing, as MCP clients expect.
fn ensure_object_keys(json: &mut Json) {
    if let Some(top) = json.as_object_mut() {
        top.entry("type").or_insert_with(|| Json::from("object"));
        top.entry("properties")
            .or_insert_with(|| Json::Object(Map::new()));
    }
}

/// A JSON value cut short for an error message.
fn short(value: &Json) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use std::collections::HashMap;

    #[derive(Serialize, Deserialize, JsonSchema)]
    enum Status {
        Active,
        Blocked,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Deeper {
        x: i32,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Inner {
        deep: Deeper,
        label: String,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Tags(Vec<String>);

    /// The Rust twin of this Go struct, whose tree was checked against go-micro v5.30.0's
    /// `server.NewHandler(...).Endpoints()`:
    ///
    /// ```go
    /// type Status string
    /// type Deeper struct { X int32 `json:"x"` }
    /// type Inner struct { Deep Deeper `json:"deep"`; Label string `json:"label"` }
    /// type Tags []string
    /// type Request struct {
    ///     Name       string            `json:"name"`
    ///     Age        int64             `json:"age"`
    ///     Count      int32             `json:"count"`
    ///     Small      uint8             `json:"small"`
    ///     Size       uint              `json:"size"`
    ///     Ratio      float64           `json:"ratio"`
    ///     F          float32           `json:"f"`
    ///     Ok         bool              `json:"ok"`
    ///     Tags       []string          `json:"tags"`
    ///     Data       []byte            `json:"data"`
    ///     Nick       *string           `json:"nick,omitempty"`
    ///     Labels     map[string]string `json:"labels"`
    ///     Inner      Inner             `json:"inner"`
    ///     MaybeInner *Inner            `json:"maybe_inner"`
    ///     Items      []*Inner          `json:"items"`
    ///     Status     Status            `json:"status"`
    ///     Any        interface{}       `json:"any"`
    ///     Nested     [][]string        `json:"nested"`
    ///     Named      Tags              `json:"named"`
    ///     Pair       [2]int            `json:"pair"`
    ///     NoTag      string
    /// }
    /// ```
    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Request {
        name: String,
        age: i64,
        count: i32,
        small: u8,
        size: usize,
        ratio: f64,
        f: f32,
        ok: bool,
        tags: Vec<String>,
        data: Vec<u8>,
        nick: Option<String>,
        labels: HashMap<String, String>,
        inner: Inner,
        maybe_inner: Option<Box<Inner>>,
        items: Vec<Inner>,
        status: Status,
        any: serde_json::Value,
        nested: Vec<Vec<String>>,
        named: Tags,
        pair: (i64, i64),
        #[serde(rename = "NoTag")]
        no_tag: String,
    }

    fn v(name: &str, kind: &str, values: Vec<Value>) -> Value {
        Value {
            name: name.into(),
            kind: kind.into(),
            values,
        }
    }

    fn leaf(name: &str, kind: &str) -> Value {
        v(name, kind, vec![])
    }

    /// The tree go-micro v5.30.0 publishes for the Go struct above.
    fn go_micro_request_tree() -> Value {
        let inner = || vec![leaf("deep", "Deeper"), leaf("label", "string")];
        v(
            "Request",
            "Request",
            vec![
                leaf("name", "string"),
                leaf("age", "int64"),
                leaf("count", "int32"),
                leaf("small", "uint8"),
                leaf("size", "uint"),
                leaf("ratio", "float64"),
                leaf("f", "float32"),
                leaf("ok", "bool"),
                leaf("tags", "[]string"),
                leaf("data", "[]uint8"),
                leaf("nick", "string"),
                leaf("labels", ""),
                v("inner", "Inner", inner()),
                v("maybe_inner", "Inner", inner()),
                leaf("items", "[]Inner"),
                leaf("status", "Status"),
                leaf("any", ""),
                leaf("nested", "[]"),
                leaf("named", "[]string"),
                leaf("pair", ""),
                leaf("NoTag", "string"),
            ],
        )
    }

    #[test]
    fn rust_struct_publishes_the_tree_go_micro_publishes_for_its_go_twin() {
        assert_eq!(of::<Request>().value, go_micro_request_tree());
    }

    #[test]
    fn registry_json_of_the_tree_matches_go_micro() {
        let json = serde_json::to_value(of::<Inner>().value).unwrap();
        assert_eq!(
            json,
            json!({"name": "Inner", "type": "Inner", "values": [
                {"name": "deep", "type": "Deeper", "values": [
                    {"name": "x", "type": "int32", "values": null}
                ]},
                {"name": "label", "type": "string", "values": null}
            ]})
        );
    }

    #[test]
    fn tree_stops_at_three_levels_even_for_recursive_types() {
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Node {
            id: String,
            next: Option<Box<Node>>,
        }
        let node = of::<Node>().value;
        assert_eq!(
            node,
            v(
                "Node",
                "Node",
                vec![
                    leaf("id", "string"),
                    v(
                        "next",
                        "Node",
                        vec![leaf("id", "string"), leaf("next", "Node")]
                    ),
                ]
            )
        );
    }

    #[test]
    fn json_schema_is_a_self_contained_object_schema() {
        let json = of::<Request>().json;
        assert_eq!(json["type"], "object");
        assert_eq!(json["properties"]["name"], json!({"type": "string"}));
        assert_eq!(
            json["properties"]["inner"],
            json!({"$ref": "#/$defs/Inner"})
        );
        assert_eq!(
            json["$defs"]["Inner"]["properties"]["label"]["type"],
            "string"
        );
        let required = json["required"].as_array().unwrap();
        assert!(required.contains(&json!("name")));
        assert!(!required.contains(&json!("nick")));
        let keys: Vec<&String> = json["properties"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys[..3],
            ["name", "age", "count"],
            "fields keep declaration order"
        );
    }

    #[test]
    fn empty_struct_still_lists_properties() {
        #[derive(JsonSchema)]
        struct Empty {}
        let schema = of::<Empty>();
        assert_eq!(schema.json["type"], "object");
        assert_eq!(schema.json["properties"], json!({}));
        assert_eq!(schema.value, leaf("Empty", "Empty"));
    }

    #[test]
    fn serde_renames_name_the_fields() {
        #[derive(Serialize, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        struct Call {
            user_id: String,
            #[serde(skip)]
            #[allow(dead_code)]
            secret: String,
        }
        let tree = of::<Call>().value;
        assert_eq!(tree, v("Call", "Call", vec![leaf("userId", "string")]));
    }

    #[test]
    fn unnamed_top_types_take_their_go_name() {
        assert_eq!(of::<String>().value, leaf("string", "string"));
        assert_eq!(of::<Vec<Inner>>().value, leaf("", "[]Inner"));
    }

    /// What pydantic v2 writes for the Python twin of `Request`'s first fields.
    fn pydantic_schema() -> Json {
        json!({
            "title": "Request",
            "type": "object",
            "properties": {
                "name": {"title": "Name", "type": "string"},
                "age": {"title": "Age", "type": "integer"},
                "ratio": {"title": "Ratio", "type": "number"},
                "ok": {"title": "Ok", "type": "boolean"},
                "tags": {"title": "Tags", "type": "array", "items": {"type": "string"}},
                "nick": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "inner": {"$ref": "#/$defs/Inner"},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Inner"}},
                "status": {"$ref": "#/$defs/Status"},
                "blob": {"type": "string", "contentEncoding": "base64"},
                "anon": {"type": "object", "properties": {"a": {"type": "string"}}}
            },
            "required": ["name", "age"],
            "$defs": {
                "Inner": {
                    "title": "Inner",
                    "type": "object",
                    "properties": {
                        "deep": {"$ref": "#/$defs/Deeper"},
                        "label": {"type": "string"}
                    }
                },
                "Deeper": {"type": "object", "properties": {"x": {"type": "integer"}}},
                "Status": {"enum": ["active", "blocked"], "title": "Status", "type": "string"}
            }
        })
    }

    #[test]
    fn binding_json_schema_publishes_the_go_micro_tree() {
        let schema = from_json_schema("Request", &pydantic_schema()).unwrap();
        let inner = vec![leaf("deep", "Deeper"), leaf("label", "string")];
        assert_eq!(
            schema.value,
            v(
                "Request",
                "Request",
                vec![
                    leaf("name", "string"),
                    leaf("age", "int64"),
                    leaf("ratio", "float64"),
                    leaf("ok", "bool"),
                    leaf("tags", "[]string"),
                    leaf("nick", "string"),
                    leaf("labels", ""),
                    v("inner", "Inner", inner),
                    leaf("items", "[]Inner"),
                    leaf("status", "Status"),
                    leaf("blob", "[]uint8"),
                    v("anon", "", vec![leaf("a", "string")]),
                ]
            )
        );
        assert_eq!(
            schema.json,
            pydantic_schema(),
            "a complete schema is kept as given"
        );
    }

    #[test]
    fn binding_schema_with_top_ref_and_draft7_definitions_is_inlined() {
        let given = json!({
            "$ref": "#/definitions/Greet",
            "definitions": {"Greet": {"properties": {"who": {"type": "string"}}, "required": ["who"]}}
        });
        let schema = from_json_schema("Greet", &given).unwrap();
        assert_eq!(
            schema.value,
            v("Greet", "Greet", vec![leaf("who", "string")])
        );
        assert_eq!(schema.json["type"], "object");
        assert_eq!(schema.json["properties"]["who"]["type"], "string");
        assert_eq!(schema.json["required"], json!(["who"]));
        assert!(schema.json.get("$ref").is_none());
    }

    #[test]
    fn binding_schema_without_properties_gets_an_empty_list() {
        let schema = from_json_schema("Ping", &json!({"type": "object"})).unwrap();
        assert_eq!(schema.json, json!({"type": "object", "properties": {}}));
        assert_eq!(schema.value, leaf("Ping", "Ping"));
    }

    #[test]
    fn binding_schema_that_is_not_an_object_is_400() {
        let err = from_json_schema("Name", &json!({"type": "string"})).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.detail.contains("must describe an object"),
            "{}",
            err.detail
        );
        let err = from_json_schema("Name", &json!("string")).unwrap_err();
        assert!(
            err.detail.contains("must be a JSON object"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn binding_schema_with_outside_ref_is_400_naming_it() {
        let given = json!({"type": "object", "properties": {
            "a": {"$ref": "https://example.com/a.json"},
            "b": {"$ref": "#/$defs/Missing"}
        }});
        let err = from_json_schema("Request", &given).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.detail.contains("does not point inside it"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn binding_schema_needs_a_name() {
        let err = from_json_schema(" ", &json!({"type": "object"})).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.detail.contains("non-empty name"), "{}", err.detail);
    }

    #[test]
    fn self_referencing_binding_schema_stops_at_three_levels() {
        let given = json!({"type": "object", "properties": {
            "child": {"$ref": "#"},
            "loop": {"$ref": "#/$defs/A"}
        }, "$defs": {"A": {"$ref": "#/$defs/A"}}});
        let tree = from_json_schema("Tree", &given).unwrap().value;
        let child = v(
            "child",
            "Tree",
            vec![leaf("child", "Tree"), leaf("loop", "A")],
        );
        assert_eq!(tree, v("Tree", "Tree", vec![child, leaf("loop", "A")]));
    }
}
