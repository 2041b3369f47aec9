//! Looking at and talking to running services: registry, store and broker.

use clap::Subcommand;
use micro::broker::Message;
use micro::config::Config;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};

#[derive(Subcommand)]
pub enum Command {
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
pub enum RegistryCommand {
    /// List the registered services.
    List,
    /// Show a service, its endpoints and nodes, as JSON.
    Get { name: String },
}

#[derive(Subcommand)]
pub enum StoreCommand {
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
pub enum BrokerCommand {
    /// Publish a message to a topic.
    Publish { topic: String, message: String },
}

/// Runs one inspecting command.
pub async fn run(command: Command, config: Config) -> micro::Result<()> {
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
