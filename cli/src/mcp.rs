//! `micro mcp`: every endpoint of the registered services as an MCP tool for AI agents.
//! `serve` speaks MCP over stdio (or Streamable HTTP with `--address`); `list`, `test`,
//! `docs` and `export` show, call, document and export the tools from the shell. `serve` is
//! also the `micro-mcp-gateway` binary ([`Serve`], [`serve`]).

use crate::status::RunFiles;
use micro::config::Config;
use micro::mcp::control::Audit;
use micro::mcp::{Caller, Conflict, Mcp, Naming, Tool};
use micro::server::RESPONSE_SCHEMA;
use micro::{Error, Result};
use serde_json::{Map, Value as Json, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const ID: &str = "micro.mcp";
/// The audit log `--audit` without a file writes, under `~/micro/logs`.
const DEFAULT_AUDIT_FILE: &str = "mcp-audit.jsonl";

/// The services as MCP tools: serve them to agents, list, call, document or export them.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve the tools over MCP: stdio by default (for `"command": "micro", "args": ["mcp",
    /// "serve"]`), Streamable HTTP at /mcp with --address.
    Serve(Serve),
    /// List the tools: name and description.
    List {
        #[command(flatten)]
        catalogue: Catalogue,
        /// Print `{"tools": [...]}` as `GET /mcp/tools` answers.
        #[arg(long)]
        json: bool,
    },
    /// Call a tool and print its JSON answer: `micro mcp test helloworld.Helloworld.Call
    /// '{"name":"Alice"}'`.
    Test {
        /// The tool's name, as `micro mcp list` shows it.
        tool: String,
        /// The arguments, a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        #[command(flatten)]
        catalogue: Catalogue,
    },
    /// Document every tool (description, scopes, input schema and example) and any tool
    /// names that endpoints wanted more than once.
    Docs {
        /// markdown or json.
        #[arg(long, value_enum, default_value_t = DocsFormat::Markdown)]
        format: DocsFormat,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        catalogue: Catalogue,
    },
    /// Print the tools for other tool kits: langchain (OpenAI function specs with safe
    /// names), openapi (3.1, one POST per endpoint under /api/) or json (`GET /mcp/tools`).
    Export {
        #[arg(value_enum)]
        format: ExportFormat,
        #[command(flatten)]
        catalogue: Catalogue,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DocsFormat {
    Markdown,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Langchain,
    Openapi,
    Json,
}

/// Where the tools come from and how they are named and guarded: every subcommand takes it.
#[derive(clap::Args)]
struct Catalogue {
    /// Name tools with only [a-zA-Z0-9_-] (helloworld_Helloworld_Call), for model APIs that
    /// accept nothing else.
    #[arg(long)]
    safe_names: bool,
    /// The scopes a tool requires, over stored and published ones: `--scope tool=s1,s2`
    /// (repeatable; `serve --auth` enforces them). Checked at start: each must name a tool
    /// found then.
    #[arg(long = "scope", value_name = "TOOL=SCOPES", value_parser = parse_scope)]
    scopes: Vec<(String, Vec<String>)>,
}

/// The flags of `micro mcp serve` and of `micro-mcp-gateway`, spelled as go-micro's standalone
/// gateway spells them (`--auth jwt`, `--audit` without a file, `--circuit-breaker-timeout 30s`).
#[derive(clap::Args)]
pub struct Serve {
    /// Serve Streamable HTTP here (`:3000` means 127.0.0.1:3000, `0.0.0.0:3000` every
    /// interface); without it `micro mcp serve` speaks MCP over stdio.
    #[arg(long)]
    address: Option<String>,
    #[command(flatten)]
    catalogue: Catalogue,
    /// Require Bearer tokens (the gateway's accounts and keys); over stdio the token is
    /// MICRO_TOKEN. `--auth` and `--auth jwt` say the same: the tokens are JWTs.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "jwt")]
    auth: Option<AuthKind>,
    /// Where the token signing keys live (with --auth).
    #[arg(long, env = "MICRO_AUTH_KEYS", default_value_os_t = micro::auth::default_keys_dir())]
    keys: PathBuf,
    /// Append an audit record (JSON line) per tool call to this file; without one, to
    /// ~/micro/logs/mcp-audit.jsonl.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    audit: Option<Option<PathBuf>>,
    /// Calls allowed per second, per tool and per account.
    #[arg(long, value_name = "PER_SECOND")]
    rate_limit: Option<f64>,
    /// Calls allowed at once above the rate (with --rate-limit).
    #[arg(long, default_value_t = 10, requires = "rate_limit")]
    rate_burst: u32,
    /// Pause a tool after this many failed calls in a row.
    #[arg(long, value_name = "FAILURES")]
    circuit_breaker: Option<u32>,
    /// How long a paused tool stays paused (with --circuit-breaker): seconds, or a duration
    /// such as 30s, 1m30s or 500ms.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_duration,
        requires = "circuit_breaker"
    )]
    circuit_breaker_timeout: Duration,
    /// A host name the HTTP server answers to, against DNS rebinding (repeatable; default
    /// localhost, 127.0.0.1 and [::1]).
    #[arg(long = "allowed-host", value_name = "HOST")]
    allowed_hosts: Vec<String>,
}

/// How `--auth` checks callers.
#[derive(Clone, Copy, clap::ValueEnum)]
enum AuthKind {
    /// Bearer JWTs signed with the gateway's keys, for its accounts.
    Jwt,
}

impl Serve {
    /// These flags serving Streamable HTTP on `address` unless `--address` gave one: the
    /// standalone gateway has no stdio face.
    pub fn http_by_default(mut self, address: String) -> Serve {
        self.address.get_or_insert(address);
        self
    }
}

/// Seconds (`30`), or a Go duration (`30s`, `1m30s`, `500ms`, `1h`).
fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration: give seconds (30) or 30s, 1m30s, 500ms");
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        // A number, then its unit.
        let unit_at = rest.find(|c: char| !c.is_ascii_digit() && c != '.');
        let (number, tail) = rest.split_at(unit_at.ok_or_else(invalid)?);
        let number: f64 = number.parse().map_err(|_| invalid())?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let seconds = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(invalid()),
        };
        total += Duration::try_from_secs_f64(number * seconds).map_err(|_| invalid())?;
        rest = tail;
    }
    Ok(total)
}

/// `tool=s1,s2` as the tool and its scopes.
fn parse_scope(text: &str) -> std::result::Result<(String, Vec<String>), String> {
    let (tool, scopes) = text
        .split_once('=')
        .filter(|(tool, _)| !tool.trim().is_empty())
        .ok_or_else(|| format!("{text:?} is not tool=scope1,scope2"))?;
    let scopes = scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok((tool.trim().to_string(), scopes))
}

impl Catalogue {
    /// The tool catalogue over `config`'s components, named and scoped by the flags.
    fn mcp(&self, config: &Config) -> Result<Mcp> {
        let registry = config.registry()?;
        let store = config.store()?;
        let broker = config.broker(registry.clone())?;
        let mut mcp = Mcp::new(registry, store, broker);
        if self.safe_names {
            mcp = mcp.naming(Naming::Safe);
        }
        for (tool, scopes) in &self.scopes {
            mcp = mcp.scope(tool, scopes);
        }
        Ok(mcp)
    }

    /// The catalogue over `config`'s components, checked.
    async fn open(&self, config: &Config) -> Result<Mcp> {
        let mcp = self.mcp(config)?;
        self.check(&mcp).await?;
        Ok(mcp)
    }

    /// Refuses `--scope` for a tool not found now, and notes on stderr each tool name that
    /// endpoints wanted more than once. Run it on the finished catalogue, as it builds the
    /// tool list.
    async fn check(&self, mcp: &Mcp) -> Result<()> {
        let tools = mcp.tools().await?;
        let unknown: Vec<String> = self
            .scopes
            .iter()
            .map(|(tool, _)| tool)
            .filter(|name| !tools.iter().any(|t| &t.name == *name))
            .map(|name| format!("{name:?}"))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::bad_request(
                ID,
                format!(
                    "--scope names no tool: {}. The tools found now are {}; `micro mcp list{}` \
                     lists them. --scope is checked at start, so start the service first",
                    unknown.join(", "),
                    some_names(&tools),
                    if self.safe_names { " --safe-names" } else { "" },
                ),
            ));
        }
        for conflict in mcp.conflicts().await? {
            eprintln!("micro mcp: note: {conflict}");
        }
        Ok(())
    }
}

/// The first few tool names, and how many more there are.
fn some_names(tools: &[Arc<Tool>]) -> String {
    const SHOWN: usize = 12;
    let mut text = tools
        .iter()
        .take(SHOWN)
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if tools.len() > SHOWN {
        text.push_str(&format!(" and {} more", tools.len() - SHOWN));
    }
    text
}

/// Runs a `micro mcp` subcommand.
pub async fn run(args: Args, config: Config) -> Result<()> {
    match args.command {
        Command::Serve(flags) => serve(flags, config, "micro mcp").await,
        Command::List { catalogue, json } => {
            let tools = catalogue.open(&config).await?.tools().await?;
            if json {
                print_json(&rest(&tools));
            } else {
                print!("{}", table(&tools));
            }
            Ok(())
        }
        Command::Test {
            tool,
            arguments,
            catalogue,
        } => {
            let arguments: Json = serde_json::from_str(&arguments).map_err(|e| {
                Error::bad_request(
                    ID,
                    format!("the arguments are not JSON ({e}); give an object like '{{\"name\":\"Alice\"}}'"),
                )
            })?;
            let answer = catalogue
                .open(&config)
                .await?
                .call(&Caller::new(None), &tool, arguments)
                .await
                .map_err(|e| Error::new(ID, e.message(), i32::from(e.status())))?;
            print_json(&answer);
            Ok(())
        }
        Command::Docs {
            format,
            output,
            catalogue,
        } => {
            let mcp = catalogue.open(&config).await?;
            let (tools, conflicts) = (mcp.tools().await?, mcp.conflicts().await?);
            let text = match format {
                DocsFormat::Markdown => markdown(&tools, &conflicts),
                DocsFormat::Json => pretty(&json!({ "tools": tools, "conflicts": conflicts })),
            };
            match output {
                Some(path) => std::fs::write(&path, text).map_err(|e| {
                    Error::internal(ID, format!("cannot write {}: {e}", path.display()))
                }),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        Command::Export { format, catalogue } => {
            let document = match format {
                ExportFormat::Langchain => {
                    // OpenAI's function names allow no dots.
                    let mut catalogue = catalogue;
                    catalogue.safe_names = true;
                    langchain(&catalogue.open(&config).await?.tools().await?)
                }
                ExportFormat::Openapi => openapi(&catalogue.open(&config).await?.tools().await?),
                ExportFormat::Json => rest(&catalogue.open(&config).await?.tools().await?),
            };
            print_json(&document);
            Ok(())
        }
    }
}

/// Serves the tools as `serve`'s flags say, until a signal (HTTP) or the end of stdin (stdio);
/// `program` names the server in what it prints.
pub async fn serve(serve: Serve, config: Config, program: &str) -> Result<()> {
    if serve.address.is_none() && !serve.allowed_hosts.is_empty() {
        return Err(Error::bad_request(
            ID,
            "--allowed-host is for the HTTP server: give --address too",
        ));
    }
    if serve.auth.is_none() {
        let token = std::env::var_os("MICRO_TOKEN").is_some();
        let scoped = !serve.catalogue.scopes.is_empty();
        let ignored = match (token, scoped) {
            (true, true) => Some("MICRO_TOKEN and --scope do"),
            (true, false) => Some("MICRO_TOKEN does"),
            (false, true) => Some("--scope does"),
            (false, false) => None,
        };
        if let Some(ignored) = ignored {
            eprintln!(
                "{program}: warning: {ignored} nothing without --auth: every caller may call \
                 every tool. Add --auth to require tokens and scopes"
            );
        }
    }
    let mut mcp = serve.catalogue.mcp(&config)?;
    if let Some(AuthKind::Jwt) = serve.auth {
        mcp = mcp.auth(crate::server::open_auth(&config, &serve.keys).await?);
    }
    if let Some(path) = serve.audit {
        let path = match path {
            Some(path) => path,
            None => RunFiles::in_home()?.logs_dir().join(DEFAULT_AUDIT_FILE),
        };
        mcp = mcp.audit(Audit::new(Some(&path))?);
        eprintln!("{program}: audit log {}", path.display());
    }
    if let Some(per_second) = serve.rate_limit {
        mcp = mcp.rate_limit(per_second, serve.rate_burst);
    }
    if let Some(failures) = serve.circuit_breaker {
        mcp = mcp.circuit_breaker(failures, serve.circuit_breaker_timeout);
    }
    serve.catalogue.check(&mcp).await?;
    let mcp = Arc::new(mcp);
    let Some(address) = serve.address else {
        // stdout carries JSON-RPC only; anything for people goes to stderr.
        eprintln!("{program}: serving MCP over stdio");
        return micro::mcp::serve_stdio(mcp, std::env::var("MICRO_TOKEN").ok()).await;
    };
    let signal = micro::service::shutdown_signal();
    let running = micro::mcp::http::start(mcp, &address, serve.allowed_hosts).await?;
    println!("\n  {program}\n");
    println!("  MCP          http://{}/mcp", running.address());
    println!("  Tools        http://{}/mcp/tools", running.address());
    println!("  Call         http://{}/mcp/call\n", running.address());
    signal.await;
    println!("shutting down");
    running.stop().await;
    Ok(())
}

/// The REST surface's shape: `{"tools": [...]}`.
fn rest(tools: &[Arc<Tool>]) -> Json {
    json!({ "tools": tools })
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn print_json(value: &Json) {
    print!("{}", pretty(value));
}

/// Two columns: name and description.
fn table(tools: &[Arc<Tool>]) -> String {
    let width = tools
        .iter()
        .map(|t| t.name.len())
        .chain(["NAME".len()])
        .max()
        .unwrap_or_default();
    let mut text = format!("{:width$}  DESCRIPTION\n", "NAME");
    for tool in tools {
        text.push_str(&format!("{:width$}  {}\n", tool.name, tool.description));
    }
    text
}

/// A readable document: the name conflicts, if any, then one section per tool.
fn markdown(tools: &[Arc<Tool>], conflicts: &[Conflict]) -> String {
    let mut text = format!("# MCP tools\n\n{} tools.\n", tools.len());
    if !conflicts.is_empty() {
        text.push_str("\n## Name conflicts\n\n");
        for conflict in conflicts {
            text.push_str(&format!("- {conflict}\n"));
        }
    }
    for tool in tools {
        text.push_str(&format!("\n## `{}`\n\n{}\n\n", tool.name, tool.description));
        if tool.is_framework() {
            text.push_str("- Framework tool\n");
        } else {
            text.push_str(&format!(
                "- Service: `{}`, endpoint `{}`\n",
                tool.service, tool.endpoint
            ));
        }
        let scopes = if tool.scopes.is_empty() {
            "none (any valid token when auth is on)".to_string()
        } else {
            tool.scopes
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        text.push_str(&format!("- Scopes: {scopes}\n"));
        text.push_str(&format!(
            "\nInput schema:\n\n```json\n{}```\n",
            pretty(&tool.input_schema)
        ));
        if let Some(example) = &tool.example {
            text.push_str(&format!("\nExample:\n\n```json\n{}```\n", pretty(example)));
        }
    }
    text
}

/// LangChain `StructuredTool` / OpenAI function specs: name, description, parameters.
fn langchain(tools: &[Arc<Tool>]) -> Json {
    tools
        .iter()
        .map(|tool| {
            json!({
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.input_schema,
            })
        })
        .collect()
}

/// An OpenAPI 3.1 document with one `POST /api/{service}/{Handler.Method}` per endpoint
/// tool. Framework tools are left out: the gateway serves the registry, store and broker
/// under `/micro/` with shapes of their own.
fn openapi(tools: &[Arc<Tool>]) -> Json {
    let mut paths = Map::new();
    for tool in tools.iter().filter(|t| !t.is_framework()) {
        let response = tool
            .metadata
            .get(RESPONSE_SCHEMA)
            .and_then(|s| serde_json::from_str::<Json>(s).ok())
            .unwrap_or_else(|| json!({}));
        let operation = json!({
            "operationId": tool.name,
            "summary": tool.endpoint,
            "description": tool.description,
            "tags": [tool.service],
            "security": [{ "bearer": tool.scopes }],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": tool.input_schema } },
            },
            "responses": {
                "200": {
                    "description": "The service's answer.",
                    "content": { "application/json": { "schema": response } },
                },
                "default": {
                    "description": "An error: {\"id\",\"code\",\"detail\",\"status\"} from the service, or {\"error\"} from the gateway.",
                    "content": { "application/json": { "schema": { "type": "object" } } },
                },
            },
        });
        paths.insert(
            format!("/api/{}/{}", tool.service, tool.endpoint),
            json!({ "post": operation }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "micro services",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The registered services' endpoints through the micro gateway's JSON API.",
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
        },
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_are_seconds_or_go_durations() {
        for (text, expected) in [
            ("30", Duration::from_secs(30)),
            ("30s", Duration::from_secs(30)),
            ("1m30s", Duration::from_secs(90)),
            ("500ms", Duration::from_millis(500)),
            ("1.5h", Duration::from_secs(5400)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for text in ["", "s", "30x", "1m30", "-1s"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("is not a duration"), "{text}: {err}");
        }
    }
}
