//! A registry over NATS, speaking go-micro's: nothing is stored on the server. Each process
//! keeps the services it registered and answers the queries published on `micro.nats.query`
//! (`{"Action":"get","Service":{"name":...}}` or `{"Action":"list"}`) with one JSON service
//! per version to the query's reply subject; a lookup gathers the answers that arrive within
//! its timeout (go-micro's 100 ms). Registrations and deregistrations are announced on
//! `micro.nats.watch` as `{"Action":"create"|"delete","Service":...}`, which is what watchers
//! see. A process that dies stops answering, so its nodes leave at once; after NATS comes
//! back, async-nats resubscribes and the process answers again.

use super::{Action, Event, Registry, Service, Watcher};
use crate::errors::{Error, Result};
use crate::nats::Link;
use async_nats::Client;
use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

const ID: &str = "micro.registry.nats";
/// Where lookups are asked, as go-micro's.
pub const QUERY_SUBJECT: &str = "micro.nats.query";
/// Where changes are announced, as go-micro's.
pub const WATCH_SUBJECT: &str = "micro.nats.watch";
/// How long a lookup waits for answers, as go-micro's.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);
/// How late tokio's timers may fire: they round their deadline up to the next millisecond.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// The NATS registry.
pub struct Nats {
    link: Link,
    timeout: Duration,
    /// The services registered here, by name: what this process answers queries with.
    local: Arc<Mutex<HashMap<String, Vec<Service>>>>,
    /// The task answering queries, started by the first registration.
    answering: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(task) = self.answering.get_mut().take() {
            task.abort();
        }
    }
}

/// go-micro's `registry.Result` as its JSON encoder writes it (Go's decoder also takes the
/// lower-case names, so both are read).
#[derive(Serialize, Deserialize)]
struct Message {
    #[serde(rename = "Action", alias = "action")]
    action: String,
    #[serde(
        rename = "Service",
        alias = "service",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    service: Option<Service>,
}

impl Nats {
    /// A registry on the NATS servers at `address` (comma-separated
    /// `[nats://][user:password@]host[:port]`, default `nats://127.0.0.1:4222`; `?timeout=250ms`
    /// sets how long lookups wait for answers); connects on first use.
    pub fn new(address: Option<&str>) -> Result<Nats> {
        let timeout = crate::nats::duration(ID, address, "timeout", DEFAULT_TIMEOUT)?;
        Ok(Nats {
            link: Link::new(ID, "registry", address)?,
            timeout,
            local: Arc::default(),
            answering: tokio::sync::Mutex::default(),
        })
    }

    /// Starts answering queries, once.
    async fn answer_queries(&self, client: &Client) -> Result<()> {
        let mut answering = self.answering.lock().await;
        if answering.is_some() {
            return Ok(());
        }
        let mut queries = client
            .subscribe(QUERY_SUBJECT)
            .await
            .map_err(|e| self.link.unavailable(e))?;
        self.link.settle(client).await?;
        let local = self.local.clone();
        let client = client.clone();
        *answering = Some(tokio::spawn(async move {
            while let Some(query) = queries.next().await {
                let Some(reply) = query.reply else { continue };
                let Ok(asked) = serde_json::from_slice::<Message>(&query.payload) else {
                    continue;
                };
                let answers: Vec<Service> = {
                    let local = local.lock().unwrap();
                    match (asked.action.as_str(), asked.service) {
                        ("get", Some(wanted)) => {
                            local.get(&wanted.name).cloned().unwrap_or_default()
                        }
                        ("list", _) => local.values().flatten().cloned().collect(),
                        _ => continue,
                    }
                };
                for service in answers {
                    if let Ok(body) = serde_json::to_vec(&service) {
                        let _ = client.publish(reply.clone(), body.into()).await;
                    }
                }
            }
        }));
        Ok(())
    }

    async fn announce(&self, client: &Client, action: &str, service: &Service) -> Result<()> {
        let body = serde_json::to_vec(&Message {
            action: action.into(),
            service: Some(service.clone()),
        })
        .map_err(|e| Error::internal(ID, format!("cannot encode the service: {e}")))?;
        client
            .publish(WATCH_SUBJECT, body.into())
            .await
            .map_err(|e| self.link.unavailable(e))?;
        // Sent before we return: a deregistration is often the last thing a process does.
        client.flush().await.map_err(|e| self.link.unavailable(e))
    }

    /// The services every process answers `asked` with, their nodes joined per version.
    async fn query(&self, asked: Message) -> Result<Vec<Service>> {
        // The answers that come within the timeout from now; the timer is set a tick early so
        // that the lookup ends at its timeout, not up to a tick after (as go-micro's, on Go's
        // finer timers).
        let deadline =
            tokio::time::Instant::now() + self.timeout.saturating_sub(TIMER_TICK).max(TIMER_TICK);
        let client = self.link.client().await?;
        let inbox = client.new_inbox();
        let mut answers = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| self.link.unavailable(e))?;
        let body = serde_json::to_vec(&asked).expect("a query encodes");
        client
            .publish_with_reply(QUERY_SUBJECT, inbox, body.into())
            .await
            .map_err(|e| self.link.unavailable(e))?;
        let mut services: BTreeMap<(String, String), Service> = BTreeMap::new();
        while let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.next()).await {
            let Ok(service) = serde_json::from_slice::<Service>(&answer.payload) else {
                continue;
            };
            match services.entry((service.name.clone(), service.version.clone())) {
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(service);
                }
                std::collections::btree_map::Entry::Occupied(mut entry) => {
                    let known = entry.get_mut();
                    for node in service.nodes {
                        if !known.nodes.iter().any(|n| n.id == node.id) {
                            known.nodes.push(node);
                        }
                    }
                }
            }
        }
        let _ = answers.unsubscribe().await;
        Ok(services.into_values().collect())
    }
}

#[async_trait]
impl Registry for Nats {
    /// Keeps `service` here to answer queries with (no TTL: a process that is gone stops
    /// answering) and announces it.
    async fn register(&self, service: &Service, _ttl: Option<Duration>) -> Result<()> {
        let client = self.link.client().await?;
        {
            let mut local = self.local.lock().unwrap();
            let versions = local.entry(service.name.clone()).or_default();
            match versions.iter_mut().find(|s| s.version == service.version) {
                Some(known) => {
                    for node in &service.nodes {
                        known.nodes.retain(|n| n.id != node.id);
                        known.nodes.push(node.clone());
                    }
                    let nodes = std::mem::take(&mut known.nodes);
                    *known = Service {
                        nodes,
                        ..service.clone()
                    };
                }
                None => versions.push(service.clone()),
            }
        }
        self.answer_queries(&client).await?;
        self.announce(&client, "create", service).await
    }

    async fn deregister(&self, service: &Service) -> Result<()> {
        {
            let mut local = self.local.lock().unwrap();
            if let Some(versions) = local.get_mut(&service.name) {
                for known in versions.iter_mut().filter(|s| s.version == service.version) {
                    known
                        .nodes
                        .retain(|n| !service.nodes.iter().any(|gone| gone.id == n.id));
                }
                versions.retain(|s| !s.nodes.is_empty());
                if versions.is_empty() {
                    local.remove(&service.name);
                }
            }
        }
        let client = self.link.client().await?;
        self.announce(&client, "delete", service).await
    }

    async fn get_service(&self, name: &str) -> Result<Vec<Service>> {
        let services = self
            .query(Message {
                action: "get".into(),
                service: Some(Service {
                    name: name.into(),
                    ..Service::default()
                }),
            })
            .await?;
        if services.is_empty() {
            return Err(Error::not_found(
                ID,
                format!(
                    "service {name} not found on NATS: no process answered within {:?}; is it running and registered?",
                    self.timeout
                ),
            ));
        }
        Ok(services)
    }

    async fn list_services(&self) -> Result<Vec<Service>> {
        self.query(Message {
            action: "list".into(),
            service: None,
        })
        .await
    }

    async fn watch(&self, service: Option<&str>) -> Result<Watcher> {
        let client = self.link.client().await?;
        let mut changes = client
            .subscribe(WATCH_SUBJECT)
            .await
            .map_err(|e| self.link.unavailable(e))?;
        self.link.settle(&client).await?;
        let (events, receiver) = broadcast::channel(super::WATCH_BUFFER);
        tokio::spawn(async move {
            while let Some(change) = changes.next().await {
                let Ok(Message {
                    action,
                    service: Some(service),
                }) = serde_json::from_slice(&change.payload)
                else {
                    continue;
                };
                let action = match action.as_str() {
                    "create" => Action::Create,
                    "update" => Action::Update,
                    "delete" => Action::Delete,
                    _ => continue,
                };
                if events.send(Event::new(action, service)).is_err() {
                    return; // every watcher is gone
                }
            }
        });
        Ok(Watcher::new(receiver, service))
    }

    fn name(&self) -> &'static str {
        "nats"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_go_micros_json_in_either_case() {
        let go = r#"{"Service":{"name":"greeter","version":"1","nodes":null},"Action":"create"}"#;
        let read: Message = serde_json::from_str(go).unwrap();
        assert_eq!(read.action, "create");
        assert_eq!(read.service.unwrap().name, "greeter");
        let lower: Message = serde_json::from_str(r#"{"action":"list"}"#).unwrap();
        assert_eq!(lower.action, "list");
        assert!(lower.service.is_none());
        let written = serde_json::to_string(&Message {
            action: "list".into(),
            service: None,
        })
        .unwrap();
        assert_eq!(written, r#"{"Action":"list"}"#);
    }
}
