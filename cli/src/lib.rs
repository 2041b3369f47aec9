//! The `micro` command line over the libmicro engine, and `micro-mcp-gateway`, the standalone
//! MCP gateway made of its `micro mcp serve`. Components are chosen with the same `MICRO_*`
//! variables as every libmicro and go-micro program.

mod ai;
mod api;
mod build;
mod chat;
mod flow;
mod git;
mod init;
mod inspect;
mod lang;
mod manage;
mod mcp;
mod new;
mod project;
mod run;
mod server;
mod status;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "micro",
    version,
    about = "libmicro: go-micro compatible microservices"
)]
struct Cli {
    #[command(flatten)]
    components: server::Components,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Inspect(inspect::Command),
    /// Serve the HTTP API gateway in front of the registered services.
    Api(api::Args),
    /// Serve the gateway with the web dashboard and auth in front of the running services.
    #[command(alias = "gateway")]
    Server(server::Args),
    /// Create a service project from a template, build it and print its tree.
    New(new::Args),
    /// Build release binaries of a project's services into one directory.
    Build(build::Args),
    /// Build and run the project's services with the API gateway, restarting them on change.
    Run(run::Args),
    /// Prepare this Linux host for `micro deploy`: /opt/micro, systemd units, the gateway.
    Init(init::Args),
    /// Each service and whether it runs: those `micro run` started here, or on --remote.
    Status {
        #[command(flatten)]
        at: manage::At,
    },
    /// A service's log (every service's without one).
    Logs {
        /// The service.
        service: Option<String>,
        /// Keep printing what is written.
        #[arg(short, long)]
        follow: bool,
        /// How many of the last lines to print first.
        #[arg(short = 'n', long, default_value_t = 100)]
        lines: usize,
        #[command(flatten)]
        at: manage::At,
    },
    /// Stop a service (on a host, `gateway` is the gateway).
    Stop {
        /// The service.
        service: String,
        #[command(flatten)]
        at: manage::At,
    },
    /// The services as MCP tools for AI agents: serve, list, test, docs, export.
    Mcp(mcp::Args),
    /// Talk with a model that calls the running services as tools.
    Chat(chat::Args),
    /// Run a model on events: `run` for each message on a topic, `exec` once.
    #[command(subcommand)]
    Flow(flow::Command),
    /// Print a shell completion script: `micro completion bash > /etc/bash_completion.d/micro`.
    Completion {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// Runs the `micro` command line on the process's arguments.
#[tokio::main]
pub async fn micro() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let config = cli.components.config();
    let result = match cli.command {
        Command::Inspect(command) => inspect::run(command, config).await,
        Command::Api(args) => api::run(args, config).await,
        Command::Server(args) => server::run(args, config).await,
        Command::New(args) => new::run(args),
        Command::Build(args) => build::run(args),
        Command::Run(args) => run::run(args, config).await,
        Command::Init(args) => init::run(args),
        Command::Status { at } => manage::status(at).await,
        Command::Logs {
            service,
            follow,
            lines,
            at,
        } => manage::logs(at, service, follow, lines).await,
        Command::Stop { service, at } => manage::stop(at, service).await,
        Command::Mcp(args) => mcp::run(args, config).await,
        Command::Chat(args) => chat::run(args, config).await,
        Command::Flow(command) => flow::run(command, config).await,
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "micro", &mut std::io::stdout());
            Ok(())
        }
    };
    exit("micro", result)
}

/// `micro-mcp-gateway`: `micro mcp serve` as a binary of its own, for production agents.
#[derive(Parser)]
#[command(
    name = "micro-mcp-gateway",
    version,
    about = "The registered services as MCP tools over Streamable HTTP: /mcp, /mcp/tools, /mcp/call",
    after_help = "Without --address it listens on $MCP_ADDRESS, else :3000 (127.0.0.1:3000; \
                  0.0.0.0:3000 for every interface)."
)]
struct McpGateway {
    #[command(flatten)]
    components: server::Components,
    #[command(flatten)]
    serve: mcp::Serve,
}

/// Runs `micro-mcp-gateway` on the process's arguments.
#[tokio::main]
pub async fn mcp_gateway() -> ExitCode {
    init_logging();
    let gateway = McpGateway::parse();
    let address = std::env::var("MCP_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| ":3000".into());
    let serve = gateway.serve.http_by_default(address);
    let config = gateway.components.config();
    exit(
        "micro-mcp-gateway",
        mcp::serve(serve, config, "micro-mcp-gateway").await,
    )
}

/// Logs to stderr, filtered by `MICRO_LOG`.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MICRO_LOG"))
        .with_writer(std::io::stderr)
        .init();
}

/// The exit code for `result`, its error printed after the program's name.
fn exit(program: &str, result: micro::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{program}: {}", err.detail);
            ExitCode::FAILURE
        }
    }
}
