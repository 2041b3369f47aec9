//! The dashboard: home, services, a service, an endpoint with its form, the API docs, and the
//! logs and status of services started by `micro run`, asked of the gateway's [`RunStatus`].
//!
//! Everything about a service comes from the registry: its versions and nodes, and per
//! endpoint the go-micro type trees of the request and response. The endpoint form has one
//! input per request field, typed by the tree (text, number, checkbox, or JSON text for lists,
//! maps and nested structs); a posted form becomes a JSON body and is called through
//! [`routes::invoke`], the same scope check as `/api`.

use super::{Form, Visit};
use crate::gateway::RunStatus;
use crate::gateway::routes::{self, Reply};
use crate::registry::{Endpoint, Service, Value as Tree};
use axum::http::StatusCode;
use axum::http::header;
use bytes::Bytes;
use http_body_util::BodyExt;
use minijinja::context;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How many lines of a log the log page shows.
const LOG_LINES: usize = 200;
/// The form field holding a raw JSON body, which overrides the per-field inputs.
const RAW_JSON: &str = "_json";

/// Answers a dashboard page.
pub(super) async fn page(visit: &Visit<'_>) -> Reply {
    let Some(run) = &visit.shared.pages.dashboard else {
        return visit.error_page(StatusCode::NOT_FOUND, "no such page");
    };
    let run = run.as_deref();
    let path = visit.path.trim_matches('/');
    #[cfg(feature = "ai")]
    if path == "agent" {
        return super::agent::page(visit).await;
    }
    let target = endpoint_target(path);
    if visit.form.is_some() && target.is_none() {
        return visit.error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "only endpoint pages take a form post; open the page with GET",
        );
    }
    let run_status = path == "logs" || path == "status" || path.starts_with("logs/");
    if run_status && !visit.is_admin() {
        // Logs and process lists tell more about the machine than any one endpoint does.
        return visit.error_page(
            StatusCode::FORBIDDEN,
            "only administrators (scope * or micro:admin) see logs and status",
        );
    }
    match path {
        "" => home(visit).await,
        "services" => services(visit).await,
        "api" => api(visit).await,
        "logs" => logs(visit, run).await,
        "status" => status(visit, run).await,
        _ => {
            if let Some(name) = path.strip_prefix("logs/") {
                log(visit, run, name).await
            } else if let Some((service, endpoint)) = target {
                endpoint_page(visit, service, &endpoint).await
            } else if !path.contains('/') {
                service(visit, path).await
            } else {
                visit.error_page(StatusCode::NOT_FOUND, "no such page")
            }
        }
    }
}

/// `service/Handler.Method` or `service/Handler/Method` as the service and `Handler.Method`.
fn endpoint_target(path: &str) -> Option<(&str, String)> {
    if path.starts_with("logs/") {
        return None;
    }
    let (service, endpoint) = path.split_once('/')?;
    let endpoint = match endpoint.split_once('/') {
        None => endpoint.to_string(),
        Some((handler, method)) if !method.contains('/') => format!("{handler}.{method}"),
        Some(_) => return None,
    };
    (!service.is_empty() && !endpoint.is_empty()).then_some((service, endpoint))
}

// ---- the registry's view ----

/// Every registered service with all its versions, in name order; an error page when the
/// registry does not answer.
async fn catalog(visit: &Visit<'_>) -> Result<Vec<Arc<Vec<Service>>>, Reply> {
    let listed = visit
        .shared
        .cache
        .registry()
        .list_services()
        .await
        .map_err(|err| {
            visit.error_page(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "the registry does not answer ({}); check that it runs and MICRO_REGISTRY names it",
                    err.detail
                ),
            )
        })?;
    let names: BTreeSet<String> = listed.into_iter().map(|s| s.name).collect();
    let mut found = Vec::with_capacity(names.len());
    for name in &names {
        if let Some(versions) = versions(visit, name).await {
            found.push(versions);
        }
    }
    Ok(found)
}

/// The versions of service `name`, or `None` when the registry knows none.
async fn versions(visit: &Visit<'_>, name: &str) -> Option<Arc<Vec<Service>>> {
    visit
        .shared
        .cache
        .lookup(name)
        .await
        .ok()
        .filter(|v| !v.is_empty())
}

/// The endpoints of every version, each name once, in name order.
fn endpoints(versions: &[Service]) -> Vec<&Endpoint> {
    let mut seen = BTreeSet::new();
    let mut found: Vec<&Endpoint> = versions
        .iter()
        .flat_map(|s| &s.endpoints)
        .filter(|e| seen.insert(e.name.as_str()))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// The dashboard path of `segments`, each percent-encoded.
fn href(segments: &[&str]) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    segments
        .iter()
        .map(|s| format!("/{}", utf8_percent_encode(s, SEGMENT)))
        .collect()
}

fn is_stream(endpoint: &Endpoint) -> bool {
    endpoint.metadata.get("stream").is_some_and(|v| v == "true")
}

fn service_not_found(visit: &Visit<'_>, name: &str) -> Reply {
    visit.error_page(
        StatusCode::NOT_FOUND,
        &format!("service {name} is not registered; the Services page lists those that are"),
    )
}

/// A service as the home and services pages list it.
#[derive(Serialize)]
struct Summary {
    name: String,
    /// Its page.
    href: String,
    versions: Vec<String>,
    nodes: usize,
    endpoints: usize,
}

fn summary(versions: &[Service]) -> Summary {
    Summary {
        name: versions[0].name.clone(),
        href: href(&[&versions[0].name]),
        versions: versions.iter().map(|s| s.version.clone()).collect(),
        nodes: versions.iter().map(|s| s.nodes.len()).sum(),
        endpoints: endpoints(versions).len(),
    }
}

/// One line of a type tree: a field's dotted path, its type and how deep it sits.
#[derive(Serialize)]
struct Row {
    name: String,
    kind: String,
    depth: usize,
}

/// Every field under `fields`, depth first, named by its dotted path.
fn rows(fields: &[Tree], prefix: &str, depth: usize, out: &mut Vec<Row>) {
    for field in fields {
        let name = format!("{prefix}{}", field.name);
        out.push(Row {
            name: name.clone(),
            kind: field.kind.clone(),
            depth,
        });
        rows(&field.values, &format!("{name}."), depth + 1, out);
    }
}

/// An endpoint as the service and API pages describe it.
#[derive(Serialize)]
struct Doc {
    name: String,
    /// Its page.
    href: String,
    /// The element id on the API page.
    anchor: String,
    /// The HTTP path that calls it.
    path: String,
    stream: bool,
    description: Option<String>,
    request_type: String,
    response_type: String,
    /// `name string, age int32`: the top-level request fields.
    request_summary: String,
    response_summary: String,
    request: Vec<Row>,
    response: Vec<Row>,
    /// A request body, pretty-printed: the published example or one made from the tree.
    example: String,
}

fn doc(service: &str, endpoint: &Endpoint) -> Doc {
    let tree_rows = |tree: &Option<Tree>| {
        let mut out = Vec::new();
        if let Some(tree) = tree {
            rows(&tree.values, "", 0, &mut out);
        }
        out
    };
    let anchor: String = format!("{service}-{}", endpoint.name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Doc {
        name: endpoint.name.clone(),
        href: href(&[service, &endpoint.name]),
        anchor,
        path: format!("/api/{service}/{}", endpoint.name),
        stream: is_stream(endpoint),
        description: endpoint
            .metadata
            .get("description")
            .filter(|d| !d.is_empty())
            .cloned(),
        request_type: type_name(&endpoint.request),
        response_type: type_name(&endpoint.response),
        request_summary: fields_summary(&endpoint.request),
        response_summary: fields_summary(&endpoint.response),
        request: tree_rows(&endpoint.request),
        response: tree_rows(&endpoint.response),
        example: pretty(&example(endpoint)),
    }
}

fn type_name(tree: &Option<Tree>) -> String {
    match tree {
        Some(tree) if !tree.kind.is_empty() => tree.kind.clone(),
        Some(_) => "object".to_string(),
        None => "not described".to_string(),
    }
}

/// The top-level fields as `name string, age int32`; empty when the type is not described.
fn fields_summary(tree: &Option<Tree>) -> String {
    match tree {
        None => String::new(),
        Some(tree) if tree.values.is_empty() => "no fields".to_string(),
        Some(tree) => tree
            .values
            .iter()
            .map(|f| format!("{} {}", f.name, f.kind))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A request body for `endpoint`: its published example, else one made from its request
/// tree, else `{}`.
fn example(endpoint: &Endpoint) -> Json {
    endpoint
        .metadata
        .get("example")
        .and_then(|e| serde_json::from_str(e).ok())
        .or_else(|| endpoint.request.as_ref().map(sample))
        .unwrap_or_else(|| Json::Object(Map::new()))
}

/// A value of the tree's type: its fields' samples for a struct, zero values otherwise.
fn sample(tree: &Tree) -> Json {
    if !tree.values.is_empty() {
        return Json::Object(
            tree.values
                .iter()
                .map(|f| (f.name.clone(), sample(f)))
                .collect(),
        );
    }
    match input_of(tree) {
        Input::Text | Input::Loose => Json::String(String::new()),
        Input::Integer { .. } => Json::from(0),
        Input::Float => Json::from(0.0),
        Input::Bool => Json::Bool(false),
        Input::Json if tree.kind.starts_with("[]") => Json::Array(Vec::new()),
        Input::Json => Json::Object(Map::new()),
    }
}

fn pretty(json: &Json) -> String {
    serde_json::to_string_pretty(json).unwrap_or_default()
}

// ---- pages ----

async fn home(visit: &Visit<'_>) -> Reply {
    let catalog = match catalog(visit).await {
        Ok(catalog) => catalog,
        Err(reply) => return reply,
    };
    let services: Vec<Summary> = catalog.iter().map(|v| summary(v)).collect();
    let endpoint_count: usize = services.iter().map(|s| s.endpoints).sum();
    let try_it = catalog.iter().find_map(|versions| {
        let endpoint = endpoints(versions).into_iter().find(|e| !is_stream(e))?;
        Some(curl(
            visit,
            &versions[0].name,
            &endpoint.name,
            &example(endpoint),
        ))
    });
    visit.render(
        "home.html",
        context! {
            title => "Dashboard",
            services => services,
            endpoint_count => endpoint_count,
            try_it => try_it,
            host => host(visit),
        },
    )
}

async fn services(visit: &Visit<'_>) -> Reply {
    match catalog(visit).await {
        Ok(catalog) => {
            let services: Vec<Summary> = catalog.iter().map(|v| summary(v)).collect();
            visit.render(
                "services.html",
                context! { title => "Services", services => services },
            )
        }
        Err(reply) => reply,
    }
}

/// A node as the service page lists it.
#[derive(Serialize)]
struct NodeView<'a> {
    id: &'a str,
    address: &'a str,
    version: &'a str,
}

async fn service(visit: &Visit<'_>, name: &str) -> Reply {
    let Some(versions) = versions(visit, name).await else {
        return service_not_found(visit, name);
    };
    let nodes: Vec<NodeView> = versions
        .iter()
        .flat_map(|s| {
            s.nodes.iter().map(|n| NodeView {
                id: &n.id,
                address: &n.address,
                version: &s.version,
            })
        })
        .collect();
    let docs: Vec<Doc> = endpoints(&versions)
        .into_iter()
        .map(|e| doc(name, e))
        .collect();
    visit.render(
        "service.html",
        context! {
            title => name,
            name => name,
            versions => versions.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(),
            nodes => nodes,
            endpoints => docs,
        },
    )
}

/// One service's endpoints on the API page.
#[derive(Serialize)]
struct ApiService {
    name: String,
    href: String,
    endpoints: Vec<Doc>,
}

async fn api(visit: &Visit<'_>) -> Reply {
    let catalog = match catalog(visit).await {
        Ok(catalog) => catalog,
        Err(reply) => return reply,
    };
    let services: Vec<ApiService> = catalog
        .iter()
        .map(|versions| {
            let name = &versions[0].name;
            ApiService {
                name: name.clone(),
                href: href(&[name]),
                endpoints: endpoints(versions)
                    .into_iter()
                    .map(|e| doc(name, e))
                    .collect(),
            }
        })
        .collect();
    visit.render(
        "api.html",
        context! { title => "API", services => services, host => host(visit) },
    )
}

// ---- the endpoint page and its form ----

/// How a request field is entered on the form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    /// A string (or Go's `[]byte`, as base64): sent as typed.
    Text,
    /// A whole number; `unsigned` refuses a minus sign.
    Integer { unsigned: bool },
    /// A floating-point number.
    Float,
    /// A checkbox: checked is `true`, unchecked `false`.
    Bool,
    /// JSON text: lists, maps, structs.
    Json,
    /// A named type without fields (an enum, a newtype): JSON if it parses, else a string.
    Loose,
}

fn input_of(field: &Tree) -> Input {
    if !field.values.is_empty() {
        return Input::Json;
    }
    match field.kind.as_str() {
        "string" | "[]uint8" => Input::Text,
        "int" | "int8" | "int16" | "int32" | "int64" => Input::Integer { unsigned: false },
        "uint" | "uint8" | "uint16" | "uint32" | "uint64" | "uintptr" => {
            Input::Integer { unsigned: true }
        }
        "float32" | "float64" => Input::Float,
        "bool" => Input::Bool,
        kind if kind.is_empty() || kind.starts_with("[]") || kind.starts_with("map[") => {
            Input::Json
        }
        _ => Input::Loose,
    }
}

/// One input of the endpoint form, with what was posted in it.
#[derive(Serialize)]
struct Field {
    name: String,
    kind: String,
    /// `text`, `number`, `checkbox` or `json` (a textarea).
    control: &'static str,
    /// The number input's step: `1` or `any`.
    step: &'static str,
    value: String,
    checked: bool,
    placeholder: String,
}

fn field(tree: &Tree, form: Option<&Form>) -> Field {
    let input = input_of(tree);
    let (control, step) = match input {
        Input::Text | Input::Loose => ("text", ""),
        Input::Integer { .. } => ("number", "1"),
        Input::Float => ("number", "any"),
        Input::Bool => ("checkbox", ""),
        Input::Json => ("json", ""),
    };
    let posted = form.and_then(|f| f.get(&tree.name));
    Field {
        name: tree.name.clone(),
        kind: tree.kind.clone(),
        control,
        step,
        value: posted.unwrap_or_default().to_string(),
        checked: posted.is_some(),
        placeholder: match input {
            Input::Json => sample(tree).to_string(),
            _ => String::new(),
        },
    }
}

/// The JSON body a posted form asks for: its raw JSON when not empty, else one member per
/// request field (unchecked checkboxes as `false`, empty non-text fields left out); an error
/// naming the field that does not parse.
fn request_body(fields: &[Tree], form: &Form) -> Result<Json, String> {
    if let Some(raw) = form.get(RAW_JSON).filter(|r| !r.trim().is_empty()) {
        return serde_json::from_str(raw).map_err(|e| {
            format!(
                "the raw JSON body is not valid JSON ({e}); fix it, or empty it to use the fields"
            )
        });
    }
    let mut body = Map::new();
    for tree in fields {
        let input = input_of(tree);
        let posted = form.get(&tree.name);
        let value = match (input, posted) {
            (Input::Bool, posted) => Some(Json::Bool(posted.is_some())),
            (Input::Text, Some(text)) => Some(Json::String(text.to_string())),
            (_, Some(text)) if !text.trim().is_empty() => Some(
                parse(input, &tree.kind, text.trim())
                    .map_err(|e| format!("field {}: {e}", tree.name))?,
            ),
            _ => None,
        };
        if let Some(value) = value {
            body.insert(tree.name.clone(), value);
        }
    }
    Ok(Json::Object(body))
}

/// `text` as the JSON value of a field entered as `input`, of Go type `kind`.
fn parse(input: Input, kind: &str, text: &str) -> Result<Json, String> {
    match input {
        Input::Integer { unsigned: true } => text.parse::<u64>().map(Json::from).map_err(|_| {
            format!("{text:?} is not a whole number of 0 or more ({kind}); enter digits such as 42")
        }),
        Input::Integer { unsigned: false } => text.parse::<i64>().map(Json::from).map_err(|_| {
            format!("{text:?} is not a whole number ({kind}); enter digits such as 42 or -7")
        }),
        Input::Float => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| format!("{text:?} is not a number ({kind}); enter one such as 1.5")),
        Input::Json => serde_json::from_str(text)
            .map_err(|e| format!("not valid JSON ({e}); enter {kind} as JSON text")),
        Input::Loose => {
            Ok(serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string())))
        }
        Input::Text | Input::Bool => Ok(Json::String(text.to_string())),
    }
}

/// The outcome of calling an endpoint from its form.
#[derive(Serialize)]
struct Called {
    status: u16,
    ok: bool,
    /// The answer, pretty-printed when it is JSON.
    response: String,
    /// The same call from a shell.
    curl: String,
}

/// Calls the endpoint with `body` through the gateway's guard, as the visitor.
async fn call(visit: &Visit<'_>, service: &str, endpoint: &str, body: &Json) -> Called {
    let metadata = routes::metadata(&visit.parts.headers);
    let reply = routes::invoke(
        visit.shared,
        &visit.caller,
        service,
        endpoint,
        metadata,
        Bytes::from(body.to_string()),
    )
    .await;
    let status = reply.status();
    let answer = match reply.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => Bytes::from(format!("cannot read the answer: {err}")),
    };
    let response = match serde_json::from_slice::<Json>(&answer) {
        Ok(json) => pretty(&json),
        Err(_) => String::from_utf8_lossy(&answer).into_owned(),
    };
    Called {
        status: status.as_u16(),
        ok: status.is_success(),
        response,
        curl: curl(visit, service, endpoint, body),
    }
}

async fn endpoint_page(visit: &Visit<'_>, service: &str, name: &str) -> Reply {
    let Some(versions) = versions(visit, service).await else {
        return service_not_found(visit, service);
    };
    let Some(endpoint) = endpoints(&versions).into_iter().find(|e| e.name == name) else {
        return visit.error_page(
            StatusCode::NOT_FOUND,
            &format!(
                "service {service} has no endpoint {name}; its page lists the endpoints it has"
            ),
        );
    };
    let doc = doc(service, endpoint);
    let trees: &[Tree] = endpoint
        .request
        .as_ref()
        .map(|r| r.values.as_slice())
        .unwrap_or_default();
    let form = visit.form.as_ref();
    let mut status = StatusCode::OK;
    let mut problem = None;
    let mut called = None;
    if let Some(form) = form {
        let body = if doc.stream {
            Err(stream_note(service, name))
        } else {
            request_body(trees, form)
        };
        match body {
            Ok(body) => called = Some(call(visit, service, name, &body).await),
            Err(message) => {
                status = StatusCode::BAD_REQUEST;
                problem = Some(message);
            }
        }
    }
    let scopes = match &visit.shared.auth {
        Some(auth) => Some(auth.scopes_for(service, name).await.unwrap_or_default()),
        None => None,
    };
    visit.render_with(
        status,
        "endpoint.html",
        context! {
            title => format!("{service} {name}"),
            service => service,
            service_href => href(&[service]),
            endpoint => doc,
            fields => trees.iter().map(|t| field(t, form)).collect::<Vec<_>>(),
            raw => form.and_then(|f| f.get(RAW_JSON)).unwrap_or_default(),
            scopes => scopes,
            stream_note => stream_note(service, name),
            problem => problem,
            called => called,
        },
    )
}

fn stream_note(service: &str, name: &str) -> String {
    format!(
        "{name} of {service} is a stream endpoint: the form and the HTTP API call unary endpoints \
         only; stream from a micro client instead"
    )
}

// ---- curl ----

/// The host the visitor reached the gateway by.
fn host(visit: &Visit<'_>) -> String {
    visit
        .parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| visit.parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost:8080".to_string())
}

/// The curl command making the same call through `/api`.
fn curl(visit: &Visit<'_>, service: &str, endpoint: &str, body: &Json) -> String {
    let url = format!("http://{}/api/{service}/{endpoint}", host(visit));
    let mut command = format!(
        "curl -X POST {} -H 'Content-Type: application/json'",
        shell_quote(&url)
    );
    if visit.shared.auth.is_some() {
        command.push_str(" -H \"Authorization: Bearer $MICRO_TOKEN\"");
    }
    command.push_str(" -d ");
    command.push_str(&shell_quote(&body.to_string()));
    command
}

/// `text` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

// ---- logs and status of `micro run` ----

/// A log on the logs page.
#[derive(Serialize)]
struct LogView {
    name: String,
    size: String,
    modified: String,
}

async fn logs(visit: &Visit<'_>, run: Option<&dyn RunStatus>) -> Reply {
    let Some(run) = run else {
        return visit.render("logs.html", context! { title => "Logs", runner => false });
    };
    let listed = match run.logs().await {
        Ok(listed) => listed,
        Err(err) => {
            return visit.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot list the logs in {}: {err}", run.logs_place()),
            );
        }
    };
    let logs: Vec<LogView> = listed
        .into_iter()
        .map(|log| LogView {
            name: log.name,
            size: human_size(log.size),
            modified: log.modified.map(ago).unwrap_or_default(),
        })
        .collect();
    visit.render(
        "logs.html",
        context! { title => "Logs", runner => true, dir => run.logs_place(), logs => logs },
    )
}

/// True for a service name fit to be a file name: no path separators, not hidden, not `..`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

async fn log(visit: &Visit<'_>, run: Option<&dyn RunStatus>, name: &str) -> Reply {
    if !plain_name(name) {
        return visit.error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "{name:?} is not a service name (letters, digits, '-', '_' and '.' only); pick one from the Logs page"
            ),
        );
    }
    let Some(run) = run else {
        return visit.error_page(
            StatusCode::NOT_FOUND,
            &format!(
                "no log for {name}: this gateway runs without micro run, which keeps the logs"
            ),
        );
    };
    match run.tail(name, LOG_LINES).await {
        Ok(tail) => visit.render(
            "log.html",
            context! {
                title => format!("{name} log"),
                name => name,
                file => tail.place,
                size => human_size(tail.size),
                lines => LOG_LINES,
                // Colour codes mean nothing in a page.
                text => strip_ansi(&tail.text),
            },
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => visit.error_page(
            StatusCode::NOT_FOUND,
            &format!(
                "no log for {name} in {}; services started with micro run log there",
                run.logs_place()
            ),
        ),
        Err(err) => visit.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "cannot read the log of {name} in {}: {err}",
                run.logs_place()
            ),
        ),
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

/// A service on the status page.
#[derive(Serialize)]
struct ProcessView {
    name: String,
    pid: Option<i32>,
    running: bool,
    uptime: String,
}

async fn status(visit: &Visit<'_>, run: Option<&dyn RunStatus>) -> Reply {
    let Some(run) = run else {
        return visit.render(
            "status.html",
            context! { title => "Status", runner => false },
        );
    };
    let listed = match run.processes().await {
        Ok(listed) => listed,
        Err(err) => {
            return visit.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "cannot list the processes in {}: {err}",
                    run.processes_place()
                ),
            );
        }
    };
    let processes: Vec<ProcessView> = listed
        .into_iter()
        .map(|process| ProcessView {
            uptime: match process.since {
                Some(since) if process.running => {
                    human_duration(since.elapsed().unwrap_or_default())
                }
                _ => String::new(),
            },
            name: process.name,
            pid: process.pid,
            running: process.running,
        })
        .collect();
    visit.render(
        "status.html",
        context! {
            title => "Status",
            runner => true,
            dir => run.processes_place(),
            processes => processes,
        },
    )
}

/// `3d 4h`, `2h 5m`, `5m 3s` or `12s`. By hand: humantime prints every unit (`3days 4h 5m 1s`),
/// too wide for a table cell, and these are ages, not dates.
fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (days, hours, minutes, seconds) =
        (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// How long ago `time` was, e.g. `5m 3s ago`.
fn ago(time: SystemTime) -> String {
    format!("{} ago", human_duration(time.elapsed().unwrap_or_default()))
}

/// `512 B`, `12.3 KiB`, `4.0 MiB`. By hand: ten lines, not worth a crate in every build.
fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str, kind: &str, values: Vec<Tree>) -> Tree {
        Tree {
            name: name.to_string(),
            kind: kind.to_string(),
            values,
        }
    }

    #[test]
    fn endpoint_paths_take_both_spellings() {
        assert_eq!(
            endpoint_target("greeter/Greeter.Hello"),
            Some(("greeter", "Greeter.Hello".to_string()))
        );
        assert_eq!(
            endpoint_target("greeter/Greeter/Hello"),
            Some(("greeter", "Greeter.Hello".to_string()))
        );
        assert_eq!(endpoint_target("greeter"), None);
        assert_eq!(endpoint_target("greeter/a/b/c"), None);
        assert_eq!(endpoint_target("logs/greeter"), None);
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("http://h:1/api/x/A.B"), "http://h:1/api/x/A.B");
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn samples_follow_the_types() {
        let request = tree(
            "Request",
            "Request",
            vec![
                tree("name", "string", vec![]),
                tree("count", "int64", vec![]),
                tree("ratio", "float64", vec![]),
                tree("on", "bool", vec![]),
                tree("tags", "[]string", vec![]),
                tree("labels", "", vec![]),
                tree("inner", "Inner", vec![tree("id", "uint32", vec![])]),
            ],
        );
        assert_eq!(
            sample(&request),
            serde_json::json!({
                "name": "", "count": 0, "ratio": 0.0, "on": false, "tags": [],
                "labels": {}, "inner": {"id": 0}
            })
        );
    }

    #[test]
    fn ansi_colour_codes_are_removed() {
        assert_eq!(strip_ansi("\x1b[32mINFO\x1b[0m ready"), "INFO ready");
    }

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_secs(3 * 60 + 5)), "3m 5s");
        assert_eq!(human_duration(Duration::from_secs(2 * 3600 + 60)), "2h 1m");
        assert_eq!(human_duration(Duration::from_secs(86400 + 3600)), "1d 1h");
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
    }
}
