//! `micro broker publish <topic> <message>|subscribe <topic>` through the broker that
//! `MICRO_BROKER` chooses (go-micro's HTTP broker by default, found through the registry).

use super::{ID, interrupted, line};
use clap::Subcommand;
use micro::broker::{self, Message, SubscribeOptions};
use micro::config::Config;
use micro::transport::Header;
use micro::{Client, Error};
use serde_json::json;
use std::collections::BTreeMap;
use tokio::sync::mpsc;

/// The broker commands.
#[derive(Subcommand)]
pub enum BrokerCommand {
    /// Publish a message to a topic; JSON is sent as application/json, other text as
    /// application/octet-stream.
    Publish {
        /// The topic, e.g. user.created.
        topic: String,
        /// The message body.
        message: String,
    },
    /// Print each message on a topic as a JSON line ({"topic","header","body"}) until Ctrl-C.
    Subscribe {
        /// The topic, e.g. user.created.
        topic: String,
        /// Join this queue group: its members share the messages instead of each getting all.
        #[arg(long)]
        queue: Option<String>,
    },
}

/// Runs one broker command.
pub async fn run(command: BrokerCommand, config: &Config) -> micro::Result<()> {
    match command {
        BrokerCommand::Publish { topic, message } => publish(config, &topic, message).await,
        BrokerCommand::Subscribe { topic, queue } => subscribe(config, &topic, queue).await,
    }
}

/// Publishes with the headers go-micro's client adds (`Content-Type`, `Micro-Topic`,
/// `Micro-Id`), so go-micro subscribers decode the body with the right codec.
async fn publish(config: &Config, topic: &str, message: String) -> micro::Result<()> {
    let content_type = match serde_json::from_str::<serde_json::Value>(&message) {
        Ok(_) => "application/json",
        Err(_) => "application/octet-stream",
    };
    Client::from_config(config)?
        .publish_raw(
            topic,
            content_type,
            message.into_bytes().into(),
            Header::new(),
        )
        .await?;
    line(&format!("Published to {topic:?}"))
}

/// Subscribes, prints messages until SIGINT/SIGTERM or a closed stdout, then unsubscribes.
async fn subscribe(config: &Config, topic: &str, queue: Option<String>) -> micro::Result<()> {
    let broker = config.broker(config.registry()?)?;
    let (sender, mut messages) = mpsc::unbounded_channel();
    let handler = broker::handler(move |topic: String, message: Message| {
        let sent = sender.send(as_line(&topic, message));
        async move {
            sent.map_err(|_| Error::internal(ID, "the subscriber is shutting down; try again"))
        }
    });
    let subscription = broker
        .subscribe(topic, handler, SubscribeOptions { queue })
        .await?;
    let stop = interrupted()?;
    tokio::pin!(stop);
    eprintln!("Subscribed to {topic:?} (Ctrl-C to stop)...");
    let printed = loop {
        tokio::select! {
            _ = &mut stop => break Ok(()),
            Some(text) = messages.recv() => {
                if let Err(err) = line(&text) {
                    break Err(err);
                }
            }
        }
    };
    subscription.unsubscribe().await?;
    printed
}

/// A message as one JSON line: its topic, headers (sorted) and body (JSON when it is JSON,
/// else a string).
fn as_line(topic: &str, message: Message) -> String {
    let header: BTreeMap<String, String> = message.header.into_iter().collect();
    let body = serde_json::from_slice::<serde_json::Value>(&message.body)
        .unwrap_or_else(|_| String::from_utf8_lossy(&message.body).into());
    json!({ "topic": topic, "header": header, "body": body }).to_string()
}
