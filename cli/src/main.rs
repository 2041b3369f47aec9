//! `micro`: the command line over the libmicro engine. Components are chosen with the same
//! `MICRO_*` variables as every libmicro and go-micro program.

mod ai;
mod api;
mod build;
mod chat;
mod flow;
mod git;
mod inspect;
mod lang;
mod mcp;
mod new;
mod project;
mod run;
mod server;
mod status;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

// The gateways allocate a little for every request on every worker thread; mimalloc's
// per-thread heaps serve that with less time and no lock between threads, where glibc's
// arenas spent a fifth of the gateway's CPU (profile in bench/results/gateway.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MICRO_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = cli.components.config();
    let result = match cli.command {
        Command::Inspect(command) => inspect::run(command, config).await,
        Command::Api(args) => api::run(args, config).await,
        Command::Server(args) => server::run(args, config).await,
        Command::New(args) => new::run(args),
        Command::Build(args) => build::run(args),
        Command::Run(args) => run::run(args, config).await,
        Command::Mcp(args) => mcp::run(args, config).await,
        Command::Chat(args) => chat::run(args, config).await,
        Command::Flow(command) => flow::run(command, config).await,
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "micro", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("micro: {}", err.detail);
            ExitCode::FAILURE
        }
    }
}
