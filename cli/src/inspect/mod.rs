//! Looking at and talking to running services, as go-micro's `micro` CLI does: list and
//! describe services, call endpoints, and use the registry, store, broker and configuration
//! from the shell. Output is JSON where go-micro prints JSON; every failure goes to stderr and
//! ends the process with a non-zero exit code.

mod broker;
mod call;
mod config;
mod registry;
mod store;

use clap::Subcommand;
use micro::Error;
use micro::config::Config;
use micro::registry::{Endpoint, Metadata, Service, Value};
use serde_json::json;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;

/// The id of errors raised by these commands.
const ID: &str = "micro.cli";

/// The inspecting and calling commands.
#[derive(Subcommand)]
pub enum Command {
    /// List the names of the registered services, one a line.
    Services,
    /// Show a service's registry record (name, version, endpoints, nodes) as indented JSON.
    Describe {
        /// The service name, e.g. helloworld.
        service: String,
    },
    /// Call an endpoint and print the response JSON; a failure prints the error JSON on stderr.
    Call(call::CallArgs),
    /// Look at the service registry.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Read and write records in the store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Publish to and subscribe to broker topics.
    #[command(subcommand)]
    Broker(broker::BrokerCommand),
    /// Read configuration from the environment.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Runs one inspecting or calling command.
pub async fn run(command: Command, config: Config) -> micro::Result<()> {
    match command {
        Command::Services => call::services(&config).await,
        Command::Describe { service } => call::describe(&config, &service).await,
        Command::Call(args) => call::call(&config, args).await,
        Command::Registry(command) => registry::run(command, &config).await,
        Command::Store(command) => store::run(command, &config).await,
        Command::Broker(command) => broker::run(command, &config).await,
        Command::Config(command) => config::run(command, &config),
    }
}

/// Writes one line to stdout and flushes it, so a reader sees each line as it is made; a
/// closed stdout (`micro registry watch | head -1`) is an error that ends the command.
fn line(text: &str) -> micro::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::internal(ID, format!("cannot write to stdout: {e}")))
}

/// Prints `value` as JSON indented by two spaces, as go-micro's resource commands do.
fn print_json(value: &serde_json::Value) -> micro::Result<()> {
    line(&go_escaped(
        &serde_json::to_string_pretty(value).expect("JSON values serialize"),
    ))
}

/// `value` as JSON indented by four spaces, as go-micro's `describe` prints. serde_json escapes
/// every newline inside strings, so the leading spaces of each line are all indentation.
fn indented_by_four(value: &serde_json::Value) -> String {
    let two = serde_json::to_string_pretty(value).expect("JSON values serialize");
    let lines: Vec<String> = two
        .lines()
        .map(|l| {
            let body = l.trim_start_matches(' ');
            format!("{}{body}", " ".repeat(2 * (l.len() - body.len())))
        })
        .collect();
    go_escaped(&lines.join("\n"))
}

/// JSON text with the characters Go's encoder escapes by default (`<`, `>`, `&`, U+2028,
/// U+2029) escaped the same way, so our output is byte for byte go-micro's. These characters
/// only occur inside JSON strings, where the escape means the same character.
fn go_escaped(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// A registry record laid out as go-micro's encoding/json writes it: fields in the order of
/// go-micro's structs, map keys sorted, empty maps and lists `null`.
fn go_service(service: &Service) -> serde_json::Value {
    json!({
        "name": service.name,
        "version": service.version,
        "metadata": go_map(&service.metadata),
        "endpoints": go_list(&service.endpoints, go_endpoint),
        "nodes": go_list(&service.nodes, |node| json!({
            "metadata": go_map(&node.metadata),
            "id": node.id,
            "address": node.address,
        })),
    })
}

fn go_endpoint(endpoint: &Endpoint) -> serde_json::Value {
    json!({
        "request": endpoint.request.as_ref().map(go_value),
        "response": endpoint.response.as_ref().map(go_value),
        "metadata": go_map(&endpoint.metadata),
        "name": endpoint.name,
    })
}

fn go_value(value: &Value) -> serde_json::Value {
    json!({
        "name": value.name,
        "type": value.kind,
        "values": go_list(&value.values, go_value),
    })
}

fn go_map(map: &Metadata) -> serde_json::Value {
    if map.is_empty() {
        return serde_json::Value::Null;
    }
    json!(map.iter().collect::<BTreeMap<_, _>>())
}

fn go_list<T>(items: &[T], each: impl Fn(&T) -> serde_json::Value) -> serde_json::Value {
    if items.is_empty() {
        return serde_json::Value::Null;
    }
    items.iter().map(each).collect()
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are in place when this returns, so a
/// signal sent after the command has said it is ready is never missed.
#[cfg(unix)]
pub(crate) fn interrupted() -> micro::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let install =
        |kind| signal(kind).map_err(|e| Error::internal(ID, format!("cannot handle signals: {e}")));
    let mut interrupt = install(SignalKind::interrupt())?;
    let mut terminate = install(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub(crate) fn interrupted() -> micro::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
