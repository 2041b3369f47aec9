//! `micro`: the command line over the libmicro engine. Components are chosen with the same
//! `MICRO_*` variables as every libmicro and go-micro program.

use clap::{Parser, Subcommand};
use micro::broker::Message;
use micro::config::Config;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "micro",
    version,
    about = "libmicro: go-micro compatible microservices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Look at the service registry.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Read and write records in the store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Publish to the broker.
    #[command(subcommand)]
    Broker(BrokerCommand),
}

#[derive(Subcommand)]
enum RegistryCommand {
    /// List the registered services.
    List,
    /// Show a service, its endpoints and nodes, as JSON.
    Get { name: String },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Print the value at a key (or every record under a prefix, as JSON lines).
    Read {
        key: String,
        #[arg(long)]
        prefix: bool,
        #[arg(long)]
        table: Option<String>,
    },
    /// Write a value at a key.
    Write {
        key: String,
        value: String,
        #[arg(long)]
        table: Option<String>,
    },
    /// Delete a key.
    Delete {
        key: String,
        #[arg(long)]
        table: Option<String>,
    },
    /// List keys.
    List {
        #[arg(long, default_value = "")]
        prefix: String,
        #[arg(long)]
        table: Option<String>,
    },
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Publish a message to a topic.
    Publish { topic: String, message: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MICRO_LOG"))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse().command, Config::from_env()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("micro: {}", err.detail);
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> micro::Result<()> {
    match command {
        Command::Registry(command) => registry(command, &config).await,
        Command::Store(command) => store(command, &config).await,
        Command::Broker(BrokerCommand::Publish { topic, message }) => {
            let broker = config.broker(config.registry()?)?;
            broker.publish(&topic, Message::new(message)).await
        }
    }
}

async fn registry(command: RegistryCommand, config: &Config) -> micro::Result<()> {
    let registry = config.registry()?;
    match command {
        RegistryCommand::List => {
            let mut names: Vec<String> = registry
                .list_services()
                .await?
                .into_iter()
                .map(|s| s.name)
                .collect();
            names.sort();
            names.dedup();
            for name in names {
                println!("{name}");
            }
        }
        RegistryCommand::Get { name } => {
            let services = registry.get_service(&name).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&services).expect("services serialize")
            );
        }
    }
    Ok(())
}

async fn store(command: StoreCommand, config: &Config) -> micro::Result<()> {
    let store = config.store()?;
    match command {
        StoreCommand::Read { key, prefix, table } => {
            let records = store
                .read(
                    &key,
                    &ReadOptions {
                        prefix,
                        table,
                        ..Default::default()
                    },
                )
                .await?;
            for record in records {
                let value = String::from_utf8_lossy(&record.value);
                if prefix {
                    println!(
                        "{}",
                        serde_json::json!({ "key": record.key, "value": value })
                    );
                } else {
                    println!("{value}");
                }
            }
        }
        StoreCommand::Write { key, value, table } => {
            store
                .write(
                    Record::new(key, value),
                    &WriteOptions {
                        table,
                        ..Default::default()
                    },
                )
                .await?;
        }
        StoreCommand::Delete { key, table } => {
            store
                .delete(
                    &key,
                    &DeleteOptions {
                        table,
                        ..Default::default()
                    },
                )
                .await?;
        }
        StoreCommand::List { prefix, table } => {
            for key in store
                .list(&ListOptions {
                    prefix,
                    table,
                    ..Default::default()
                })
                .await?
            {
                println!("{key}");
            }
        }
    }
    Ok(())
}
