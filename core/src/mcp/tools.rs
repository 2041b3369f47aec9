//! Tools from the registry: one per unary endpoint of every registered service, plus the
//! framework tools over the registry, store and broker. Names are go-micro's
//! `<service>.<Handler.Method>`, or with [`Naming::Safe`] names that every model API accepts
//! (`^[a-zA-Z0-9_-]{1,64}$`); either way a name is looked up in the catalogue, never split, so
//! dots and underscores in service names cannot make it ambiguous.
//!
//! An endpoint can choose its tool's name with the metadata `mcp_name` (a safe name, unique
//! among the tools), and with `mcp_result` = `content` answer MCP content itself: its
//! response is the tool result (`content`, `isError`, `structuredContent`), not JSON to wrap.
//!
//! Stream endpoints and broker subscribers are not tools: a tool call is one request and one
//! answer. Publish to a subscriber's topic with `micro_broker_publish` instead.

use crate::registry::{Endpoint, Service, Value};
use crate::server::REQUEST_SCHEMA;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How tools are named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    /// go-micro's `<service>.<Handler.Method>`; dots are valid MCP tool names.
    #[default]
    Dotted,
    /// Only `[a-zA-Z0-9_-]`, at most 64 characters (`helloworld_Helloworld_Call`), for model
    /// APIs that accept nothing else. Names that would collide or run long get a short hash.
    Safe,
}

/// The scope framework tools require when auth is on.
pub const ADMIN_SCOPE: &str = "micro:admin";
/// The longest safe name.
const SAFE_MAX: usize = 64;
/// Endpoint metadata naming the endpoint's tool exactly (a safe name).
const MCP_NAME: &str = "mcp_name";
/// Endpoint metadata saying how the response becomes the tool result: `content` means the
/// response is the MCP tool result itself.
const MCP_RESULT: &str = "mcp_result";

/// A tool as MCP clients and the REST surface see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// The tool's name.
    pub name: String,
    /// What it does: the endpoint's description, or a sentence naming endpoint and service.
    pub description: String,
    /// JSON Schema of the arguments (an object), shared with every listing.
    #[serde(rename = "inputSchema")]
    pub input_schema: Arc<Map<String, Json>>,
    /// The service it calls; empty for framework tools.
    pub service: String,
    /// The endpoint it calls (`Handler.Method`), or the framework tool's own name.
    pub endpoint: String,
    /// An example of the arguments, when the endpoint documents one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub example: Option<Json>,
    /// The endpoint's registry metadata.
    pub metadata: BTreeMap<String, String>,
    /// The scopes a token needs to call it (any one of them, or `*`); empty means any valid
    /// token.
    pub scopes: Vec<String>,
}

impl Tool {
    /// True for the framework tools over the registry, store and broker.
    pub fn is_framework(&self) -> bool {
        self.service.is_empty()
    }

    /// True when the endpoint answers the MCP tool result itself (`mcp_result` = `content`).
    pub fn answers_content(&self) -> bool {
        self.metadata
            .get(MCP_RESULT)
            .is_some_and(|v| v == "content")
    }
}

/// One callable endpoint found in the registry, before its tool is built.
#[derive(Debug, Clone)]
pub(super) struct Found<'a> {
    pub(super) name: String,
    pub(super) service: &'a Service,
    pub(super) endpoint: &'a Endpoint,
}

/// The callable endpoints of `services` (first version of each name wins), named by `naming`.
pub(super) fn found<'a>(
    services: impl Iterator<Item = &'a Service>,
    naming: Naming,
) -> Vec<Found<'a>> {
    let mut found: Vec<Found> = services
        .flat_map(|service| {
            service
                .endpoints
                .iter()
                .filter(|e| callable(e))
                .map(move |endpoint| Found {
                    name: format!("{}.{}", service.name, endpoint.name),
                    service,
                    endpoint,
                })
        })
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.dedup_by(|a, b| a.name == b.name);
    if naming == Naming::Safe {
        let safe = safe_names(found.iter().map(|f| f.name.as_str()));
        for (f, name) in found.iter_mut().zip(safe) {
            f.name = name;
        }
    }
    choose_names(&mut found);
    found
}

/// Gives each endpoint with an `mcp_name` that name, when it is a safe name that no other
/// endpoint chose and no other tool has; otherwise the endpoint keeps its default name and a
/// warning says why. Re-sorts by name.
fn choose_names(found: &mut [Found]) {
    let chosen = |f: &Found| f.endpoint.metadata.get(MCP_NAME).cloned();
    let label = |f: &Found| format!("{}.{}", f.service.name, f.endpoint.name);
    let mut owners: HashMap<String, Vec<String>> = HashMap::new();
    for f in found.iter() {
        owners.entry(f.name.clone()).or_default().push(label(f));
        if let Some(name) = chosen(f).filter(|n| n != &f.name) {
            owners.entry(name).or_default().push(label(f));
        }
    }
    for tool in framework(&|_| Vec::new()) {
        owners
            .entry(tool.name)
            .or_default()
            .push("the framework".into());
    }
    for f in found.iter_mut() {
        let Some(name) = chosen(f) else { continue };
        let endpoint = label(f);
        if !is_safe(&name) {
            tracing::warn!(
                endpoint,
                mcp_name = name,
                default = f.name,
                "mcp_name must match ^[a-zA-Z0-9_-]{{1,64}}$; the tool keeps its default name"
            );
        } else if let Some(other) = owners[&name].iter().find(|o| **o != endpoint) {
            tracing::warn!(
                endpoint,
                other,
                mcp_name = name,
                default = f.name,
                "mcp_name is taken by another endpoint or tool; both need different names, \
                 so the tool keeps its default name"
            );
        } else {
            f.name = name;
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
}

/// True for a name every model API accepts: `^[a-zA-Z0-9_-]{1,64}$`.
fn is_safe(name: &str) -> bool {
    (1..=SAFE_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Unary request/response endpoints; not streams, not broker subscribers.
fn callable(endpoint: &Endpoint) -> bool {
    let flag = |key: &str| endpoint.metadata.get(key).is_some_and(|v| v == "true");
    !flag("stream") && !flag("subscriber")
}

/// Safe names for dotted ones, in the same order: characters outside `[a-zA-Z0-9_-]` become
/// `_`; a name that then collides with another, runs over 64 characters, or already ends like
/// a hashed name ends in `_` and 8 hex digits of a hash of the dotted name instead, so each
/// stays unique and stable.
fn safe_names<'a>(dotted: impl Iterator<Item = &'a str> + Clone) -> Vec<String> {
    let plain: Vec<String> = dotted.clone().map(sanitize).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for name in &plain {
        *counts.entry(name).or_default() += 1;
    }
    dotted
        .zip(&plain)
        .map(|(original, name)| {
            if counts[name.as_str()] == 1 && name.len() <= SAFE_MAX && !looks_hashed(name) {
                return name.clone();
            }
            let suffix = format!("_{:08x}", fnv1a(original) as u32);
            let keep = name.len().min(SAFE_MAX - suffix.len());
            format!("{}{suffix}", &name[..keep])
        })
        .collect()
}

/// True when `name` ends like a hashed name (`_` and 8 hex digits).
fn looks_hashed(name: &str) -> bool {
    name.rsplit_once('_')
        .is_some_and(|(_, tail)| tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `name` with characters outside `[a-zA-Z0-9_-]` as `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable hash for name suffixes.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The tool for one found endpoint, requiring `scopes`.
pub(super) fn tool(found: &Found, scopes: Vec<String>) -> Tool {
    let endpoint = found.endpoint;
    let metadata: BTreeMap<String, String> = endpoint
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let example = metadata
        .get("example")
        .and_then(|e| serde_json::from_str::<Json>(e).ok());
    let description = metadata
        .get("description")
        .filter(|d| !d.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| {
            format!(
                "Calls the {} endpoint of the {} service.",
                endpoint.name, found.service.name
            )
        });
    let mut input_schema = metadata
        .get(REQUEST_SCHEMA)
        .and_then(|s| serde_json::from_str::<Map<String, Json>>(s).ok())
        .filter(|s| s.get("type").is_none_or(|t| t == "object"))
        .unwrap_or_else(|| from_value(endpoint.request.as_ref()));
    // MCP wants an object schema; a request typed as "any JSON" publishes `{}` or `true`.
    input_schema
        .entry("type")
        .or_insert_with(|| json!("object"));
    if let Some(example) = &example {
        input_schema.insert("examples".into(), json!([example]));
    }
    Tool {
        name: found.name.clone(),
        description,
        input_schema: Arc::new(input_schema),
        service: found.service.name.clone(),
        endpoint: endpoint.name.clone(),
        example,
        metadata,
        scopes,
    }
}

/// An object schema from a go-micro `Value` tree, for services that publish no JSON Schema
/// (go-micro's own): fields typed from Go type names, nested structs as objects, `[]T` as
/// arrays.
fn from_value(request: Option<&Value>) -> Map<String, Json> {
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    let properties: Map<String, Json> = request
        .map(|r| {
            r.values
                .iter()
                .map(|v| (v.name.clone(), field_schema(&v.kind, &v.values)))
                .collect()
        })
        .unwrap_or_default();
    schema.insert("properties".into(), Json::Object(properties));
    schema
}

fn field_schema(kind: &str, fields: &[Value]) -> Json {
    if let Some(item) = kind.strip_prefix("[]") {
        return match item {
            "uint8" | "byte" => json!({"type": "string", "contentEncoding": "base64"}),
            "" => json!({"type": "array"}),
            _ => json!({"type": "array", "items": field_schema(item, fields)}),
        };
    }
    if !fields.is_empty() {
        let properties: Map<String, Json> = fields
            .iter()
            .map(|v| (v.name.clone(), field_schema(&v.kind, &v.values)))
            .collect();
        return json!({"type": "object", "properties": properties});
    }
    match kind {
        "string" => json!({"type": "string"}),
        "bool" => json!({"type": "boolean"}),
        "float32" | "float64" => json!({"type": "number"}),
        k if k.starts_with("int") || k.starts_with("uint") => json!({"type": "integer"}),
        _ => json!({}),
    }
}

/// The framework tools, each requiring `scopes`.
pub(super) fn framework(scopes: &dyn Fn(&str) -> Vec<String>) -> Vec<Tool> {
    let string = json!({"type": "string"});
    let object = |properties: Json, required: &[&str]| {
        Map::from_iter([
            ("type".to_string(), json!("object")),
            ("properties".to_string(), properties),
            ("required".to_string(), json!(required)),
        ])
    };
    let specs: [(&str, &str, Map<String, Json>); 6] = [
        (
            "micro_registry_list",
            "Lists the registered services with their endpoints.",
            object(json!({}), &[]),
        ),
        (
            "micro_registry_get",
            "Describes one registered service: versions, endpoints, nodes.",
            object(json!({"name": string}), &["name"]),
        ),
        (
            "micro_store_list",
            "Lists the keys in the store.",
            object(json!({}), &[]),
        ),
        (
            "micro_store_read",
            "Reads the record at a key in the store.",
            object(json!({"key": string}), &["key"]),
        ),
        (
            "micro_store_write",
            "Writes a value (text) at a key in the store.",
            object(json!({"key": string, "value": string}), &["key", "value"]),
        ),
        (
            "micro_broker_publish",
            "Publishes a message (text, or JSON written as text) on a broker topic.",
            object(
                json!({"topic": string, "message": {}}),
                &["topic", "message"],
            ),
        ),
    ];
    specs
        .into_iter()
        .map(|(name, description, input_schema)| Tool {
            name: name.to_string(),
            description: description.to_string(),
            input_schema: Arc::new(input_schema),
            service: String::new(),
            endpoint: name.to_string(),
            example: None,
            metadata: BTreeMap::new(),
            scopes: scopes(name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_are_plain_unique_and_short() {
        let dotted = [
            "helloworld.Helloworld.Call",
            "a.b.C.D",
            "a_b.C.D",
            &format!("{}.H.M", "x".repeat(80)),
        ];
        let safe = safe_names(dotted.iter().copied());
        assert_eq!(safe[0], "helloworld_Helloworld_Call");
        assert_ne!(safe[1], safe[2], "collisions are told apart");
        for name in &safe {
            assert!(is_safe(name), "{name}");
        }
        // Stable: the same input names the same way again.
        assert_eq!(safe, safe_names(dotted.iter().copied()));
    }

    #[test]
    fn a_value_tree_becomes_an_object_schema() {
        let value = |name: &str, kind: &str, values: Vec<Value>| Value {
            name: name.into(),
            kind: kind.into(),
            values,
        };
        let request = value(
            "Request",
            "Request",
            vec![
                value("name", "string", vec![]),
                value("age", "int64", vec![]),
                value("tags", "[]string", vec![]),
                value(
                    "address",
                    "Address",
                    vec![value("street", "string", vec![])],
                ),
            ],
        );
        assert_eq!(
            Json::Object(from_value(Some(&request))),
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "address": {"type": "object", "properties": {"street": {"type": "string"}}},
            }})
        );
    }
}
