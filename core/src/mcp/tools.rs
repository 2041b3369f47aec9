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
//! Every name belongs to one tool. The framework tools' names are reserved; when endpoints
//! want one name, a fixed rule settles it whatever order the registry lists them in, and a
//! [`Conflict`] says who has the name and what the others are called instead.
//!
//! Stream endpoints and broker subscribers are not tools: a tool call is one request and one
//! answer. Publish to a subscriber's topic with `micro_broker_publish` instead.

use crate::registry::{Endpoint, Service, Value};
use crate::server::REQUEST_SCHEMA;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;
use std::fmt;
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

/// Endpoints that wanted one tool name, and how that was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The name wanted more than once.
    pub name: String,
    /// Who wanted it: `Handler.Method of service`, or the framework tool.
    pub claimants: Vec<String>,
    /// Who has the name, what the others are called instead, and why.
    pub outcome: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tool name {:?} is wanted by {}: {}",
            self.name,
            self.claimants.join(" and "),
            self.outcome
        )
    }
}

/// How the framework tools appear among claimants.
const FRAMEWORK: &str = "the framework tool";

/// One callable endpoint found in the registry, before its tool is built.
#[derive(Debug, Clone)]
pub(super) struct Found<'a> {
    pub(super) name: String,
    pub(super) service: &'a Service,
    pub(super) endpoint: &'a Endpoint,
}

/// The callable endpoints of `services` (first version of each name wins), named by `naming`,
/// and the name conflicts found on the way, in name order.
pub(super) fn found<'a>(
    services: impl Iterator<Item = &'a Service>,
    naming: Naming,
) -> (Vec<Found<'a>>, Vec<Conflict>) {
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
    // By name, then service name: which endpoint comes first never depends on the registry.
    found.sort_by(|a, b| (&a.name, &a.service.name).cmp(&(&b.name, &b.service.name)));
    let mut conflicts = keep_first_of_each_name(&mut found);
    if naming == Naming::Safe {
        conflicts.extend(name_safely(&mut found));
    }
    conflicts.extend(choose_names(&mut found));
    conflicts.sort_by(|a, b| a.name.cmp(&b.name));
    (found, conflicts)
}

/// How a found endpoint is named in conflicts: unambiguous even where dotted names are not.
fn label(found: &Found) -> String {
    format!("{} of {}", found.endpoint.name, found.service.name)
}

/// Keeps the first endpoint of each dotted name (sorted by service name, so `a`'s `b.C.D`
/// before `a.b`'s `C.D`); names shared by endpoints of different services are conflicts.
fn keep_first_of_each_name(found: &mut Vec<Found>) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for same in found.chunk_by(|a, b| a.name == b.name) {
        let mut claimants: Vec<String> = same.iter().map(label).collect();
        // One service listing an endpoint twice is one endpoint.
        claimants.dedup();
        if claimants.len() > 1 {
            conflicts.push(Conflict {
                name: same[0].name.clone(),
                outcome: format!(
                    "{} has it, being first by service name; {} {} no tool, so rename a \
                     service or endpoint to offer both",
                    claimants[0],
                    claimants[1..].join(" and "),
                    if claimants.len() > 2 { "get" } else { "gets" },
                ),
                claimants,
            });
        }
    }
    found.dedup_by(|a, b| a.name == b.name);
    conflicts
}

/// Gives each endpoint a safe name: characters outside `[a-zA-Z0-9_-]` become `_`; a name
/// that then collides with another or with a framework tool's, runs over 64 characters, or
/// already ends like a hashed name ends in `_` and 8 hex digits of a hash of the dotted name
/// instead, so each stays unique and stable. Collisions are conflicts; the framework tool
/// keeps its name.
fn name_safely(found: &mut [Found]) -> Vec<Conflict> {
    let plain: Vec<String> = found.iter().map(|f| sanitize(&f.name)).collect();
    let mut wanted: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, name) in plain.iter().enumerate() {
        wanted.entry(name).or_default().push(i);
    }
    let reserved = framework_names();
    let safe: Vec<String> = found
        .iter()
        .zip(&plain)
        .map(|(f, name)| {
            let alone = wanted[name.as_str()].len() == 1 && !reserved.contains(name);
            if alone && name.len() <= SAFE_MAX && !looks_hashed(name) {
                return name.clone();
            }
            let suffix = format!("_{:08x}", fnv1a(&f.name) as u32);
            let keep = name.len().min(SAFE_MAX - suffix.len());
            format!("{}{suffix}", &name[..keep])
        })
        .collect();
    let mut conflicts = Vec::new();
    for (name, claimants) in &wanted {
        let framework = reserved.iter().any(|r| r == name);
        if claimants.len() + usize::from(framework) < 2 {
            continue;
        }
        let renamed = claimants
            .iter()
            .map(|&i| format!("{} is {}", label(&found[i]), safe[i]))
            .collect::<Vec<_>>()
            .join(", ");
        conflicts.push(Conflict {
            name: name.to_string(),
            claimants: framework
                .then(|| FRAMEWORK.to_string())
                .into_iter()
                .chain(claimants.iter().map(|&i| label(&found[i])))
                .collect(),
            outcome: if framework {
                format!("{FRAMEWORK} keeps it; {renamed}")
            } else {
                format!("none has it, each is named with a hash of its dotted name: {renamed}")
            },
        });
    }
    for (f, name) in found.iter_mut().zip(safe) {
        f.name = name;
    }
    conflicts
}

/// Gives each endpoint with an `mcp_name` that name when it is safe and no one else has or
/// chose it: not another endpoint's name, not a framework tool's, not another `mcp_name`. An
/// endpoint that cannot have its `mcp_name` keeps its name, and the conflict says why.
/// Re-sorts by name.
fn choose_names(found: &mut [Found]) -> Vec<Conflict> {
    /// Who has a name, and which endpoints chose it.
    #[derive(Default)]
    struct Claims {
        holder: Option<String>,
        choosers: Vec<usize>,
    }
    let mut names: BTreeMap<String, Claims> = BTreeMap::new();
    for f in found.iter() {
        names.entry(f.name.clone()).or_default().holder = Some(label(f));
    }
    for name in framework_names() {
        names.entry(name).or_default().holder = Some(FRAMEWORK.to_string());
    }
    for (i, f) in found.iter().enumerate() {
        let Some(name) = f.endpoint.metadata.get(MCP_NAME).filter(|n| **n != f.name) else {
            continue;
        };
        if is_safe(name) {
            names.entry(name.clone()).or_default().choosers.push(i);
        } else {
            tracing::warn!(
                endpoint = label(f),
                mcp_name = name,
                default = f.name,
                "mcp_name must match ^[a-zA-Z0-9_-]{{1,64}}$; the tool keeps its default name"
            );
        }
    }
    let mut conflicts = Vec::new();
    for (name, claims) in names {
        match (claims.holder, claims.choosers.as_slice()) {
            (_, []) => {}
            (None, [only]) => found[*only].name = name,
            (holder, choosers) => {
                let kept = choosers
                    .iter()
                    .map(|&i| format!("{} keeps {}", label(&found[i]), found[i].name))
                    .collect::<Vec<_>>()
                    .join(", ");
                let outcome = match &holder {
                    Some(holder) => format!("{holder} has it; {kept}"),
                    None => format!("chosen more than once, it is no one's: {kept}"),
                };
                conflicts.push(Conflict {
                    claimants: holder
                        .into_iter()
                        .chain(choosers.iter().map(|&i| label(&found[i])))
                        .collect(),
                    name,
                    outcome,
                });
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    conflicts
}

/// The framework tools' names, which no endpoint may have.
fn framework_names() -> Vec<String> {
    framework(&|_| Vec::new())
        .into_iter()
        .map(|tool| tool.name)
        .collect()
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

    /// A service with these endpoints, each with its `mcp_name` if given.
    fn service(name: &str, endpoints: &[(&str, Option<&str>)]) -> Service {
        Service {
            name: name.into(),
            endpoints: endpoints
                .iter()
                .map(|(endpoint, mcp_name)| Endpoint {
                    name: endpoint.to_string(),
                    metadata: mcp_name
                        .map(|n| [(MCP_NAME.to_string(), n.to_string())].into())
                        .unwrap_or_default(),
                    ..Endpoint::default()
                })
                .collect(),
            ..Service::default()
        }
    }

    /// Each tool's name, service and endpoint, and the conflicts, for `services` in the order
    /// given and in reverse: both must come out the same.
    fn named(services: &[Service], naming: Naming) -> (Vec<[String; 3]>, Vec<Conflict>) {
        let name = |services: &mut dyn Iterator<Item = &Service>| {
            let (found, conflicts) = found(services, naming);
            let tools = found
                .iter()
                .map(|f| {
                    [
                        f.name.clone(),
                        f.service.name.clone(),
                        f.endpoint.name.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            (tools, conflicts)
        };
        let forwards = name(&mut services.iter());
        assert_eq!(
            forwards,
            name(&mut services.iter().rev()),
            "the registry's order changed the names"
        );
        forwards
    }

    fn names(tools: &[[String; 3]]) -> Vec<&str> {
        tools.iter().map(|[name, ..]| name.as_str()).collect()
    }

    #[test]
    fn safe_names_are_plain_unique_and_short_and_collisions_are_reported() {
        let services = [
            service("helloworld", &[("Helloworld.Call", None)]),
            service("a.b", &[("C.D", None)]),
            service("a_b", &[("C.D", None)]),
            service(&"x".repeat(80), &[("H.M", None)]),
        ];
        let (tools, conflicts) = named(&services, Naming::Safe);
        let by_service = |service: &str| {
            tools
                .iter()
                .find(|[_, s, _]| s == service)
                .map(|[name, ..]| name.clone())
                .unwrap()
        };
        assert_eq!(by_service("helloworld"), "helloworld_Helloworld_Call");
        let (dots, underscores) = (by_service("a.b"), by_service("a_b"));
        assert_ne!(dots, underscores, "collisions are told apart");
        for name in names(&tools) {
            assert!(is_safe(name), "{name}");
        }
        // Only the collision is a conflict, not the long name's hash.
        assert_eq!(
            conflicts,
            [Conflict {
                name: "a_b_C_D".into(),
                claimants: vec!["C.D of a.b".into(), "C.D of a_b".into()],
                outcome: format!(
                    "none has it, each is named with a hash of its dotted name: C.D of a.b is \
                     {dots}, C.D of a_b is {underscores}"
                ),
            }]
        );
        assert_eq!(
            conflicts[0].to_string(),
            format!(
                "tool name \"a_b_C_D\" is wanted by C.D of a.b and C.D of a_b: {}",
                conflicts[0].outcome
            )
        );
    }

    #[test]
    fn no_endpoint_takes_a_framework_tools_name() {
        let services = [service(
            "micro",
            &[
                ("store.list", None),
                ("Registry.Get", Some("micro_registry_get")),
            ],
        )];
        let (tools, conflicts) = named(&services, Naming::Safe);
        let [store, get] = [&tools[1][0], &tools[0][0]];
        assert!(store.starts_with("micro_store_list_"), "{tools:?}");
        assert_eq!(get, "micro_Registry_Get");
        assert_eq!(
            conflicts,
            [
                Conflict {
                    name: "micro_registry_get".into(),
                    claimants: vec![FRAMEWORK.into(), "Registry.Get of micro".into()],
                    outcome: format!(
                        "{FRAMEWORK} has it; Registry.Get of micro keeps micro_Registry_Get"
                    ),
                },
                Conflict {
                    name: "micro_store_list".into(),
                    claimants: vec![FRAMEWORK.into(), "store.list of micro".into()],
                    outcome: format!("{FRAMEWORK} keeps it; store.list of micro is {store}"),
                },
            ]
        );
    }

    #[test]
    fn a_dotted_name_two_services_share_goes_to_the_first_by_service_name() {
        let services = [
            service("a.b", &[("C.D", None)]),
            service("a", &[("b.C.D", None), ("b.C.D", None)]),
        ];
        for naming in [Naming::Dotted, Naming::Safe] {
            let (tools, conflicts) = named(&services, naming);
            assert_eq!(tools.len(), 1, "{tools:?}");
            assert_eq!((&tools[0][1], &tools[0][2]), (&"a".into(), &"b.C.D".into()));
            assert_eq!(
                conflicts,
                [Conflict {
                    name: "a.b.C.D".into(),
                    claimants: vec!["b.C.D of a".into(), "C.D of a.b".into()],
                    outcome: "b.C.D of a has it, being first by service name; C.D of a.b gets \
                              no tool, so rename a service or endpoint to offer both"
                        .into(),
                }],
                "{naming:?}"
            );
        }
    }

    #[test]
    fn an_mcp_name_chosen_twice_or_already_held_is_refused_and_reported() {
        let services = [
            service(
                "one",
                &[("H.Twin", Some("twin")), ("H.Take", Some("two_H_Mine"))],
            ),
            service("two", &[("H.Twin", Some("twin")), ("H.Mine", None)]),
            service(
                "three",
                &[("H.Own", Some("own")), ("H.Bad", Some("has.dots"))],
            ),
        ];
        let (tools, conflicts) = named(&services, Naming::Safe);
        assert_eq!(
            names(&tools),
            [
                "one_H_Take",
                "one_H_Twin",
                "own",
                "three_H_Bad",
                "two_H_Mine",
                "two_H_Twin"
            ]
        );
        // An unsafe mcp_name is no conflict: it is refused with a warning in the log.
        assert_eq!(
            conflicts
                .iter()
                .map(|c| (c.name.as_str(), c.outcome.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "twin",
                    "chosen more than once, it is no one's: H.Twin of one keeps one_H_Twin, \
                     H.Twin of two keeps two_H_Twin"
                ),
                (
                    "two_H_Mine",
                    "H.Mine of two has it; H.Take of one keeps one_H_Take"
                ),
            ]
        );
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
