//! `micro store list [prefix]|read <key>|write <key> <value>|delete <key>`, in the store that
//! `MICRO_STORE` and `MICRO_STORE_ADDRESS` choose.

use super::{line, print_json};
use clap::Subcommand;
use micro::config::Config;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};
use serde_json::json;

/// The store commands.
#[derive(Subcommand)]
pub enum StoreCommand {
    /// List the keys (those starting with a prefix, when given) as a JSON array.
    List {
        /// Only keys starting with this.
        prefix: Option<String>,
        /// The table to use instead of the default (MICRO_STORE_TABLE, else micro).
        #[arg(long)]
        table: Option<String>,
    },
    /// Print the value at a key; with --prefix, every record under it as JSON.
    Read {
        /// The key, e.g. user/1.
        key: String,
        /// Read every record whose key starts with KEY.
        #[arg(long)]
        prefix: bool,
        /// The table to use instead of the default (MICRO_STORE_TABLE, else micro).
        #[arg(long)]
        table: Option<String>,
    },
    /// Write a value at a key.
    Write {
        /// The key, e.g. user/1.
        key: String,
        /// The value, stored as its UTF-8 bytes.
        value: String,
        /// The table to use instead of the default (MICRO_STORE_TABLE, else micro).
        #[arg(long)]
        table: Option<String>,
    },
    /// Delete the record at a key.
    Delete {
        /// The key, e.g. user/1.
        key: String,
        /// The table to use instead of the default (MICRO_STORE_TABLE, else micro).
        #[arg(long)]
        table: Option<String>,
    },
}

/// Runs one store command.
pub async fn run(command: StoreCommand, config: &Config) -> micro::Result<()> {
    let store = config.store()?;
    match command {
        StoreCommand::List { prefix, table } => {
            let options = ListOptions {
                prefix: prefix.unwrap_or_default(),
                table,
                ..Default::default()
            };
            print_json(&json!(store.list(&options).await?))
        }
        StoreCommand::Read { key, prefix, table } => {
            let options = ReadOptions {
                prefix,
                table,
                ..Default::default()
            };
            let records = store.read(&key, &options).await?;
            // One record prints its bare value, several a JSON array, as go-micro's read.
            match records.as_slice() {
                [one] if !prefix => line(&String::from_utf8_lossy(&one.value)),
                _ => print_json(&json!(
                    records
                        .iter()
                        .map(
                            |r| json!({ "key": r.key, "value": String::from_utf8_lossy(&r.value) })
                        )
                        .collect::<Vec<_>>()
                )),
            }
        }
        StoreCommand::Write { key, value, table } => {
            let options = WriteOptions {
                table,
                ..Default::default()
            };
            store
                .write(Record::new(key.clone(), value), &options)
                .await?;
            line(&format!("Wrote {key:?}"))
        }
        StoreCommand::Delete { key, table } => {
            let options = DeleteOptions {
                table,
                ..Default::default()
            };
            store.delete(&key, &options).await?;
            line(&format!("Deleted {key:?}"))
        }
    }
}
