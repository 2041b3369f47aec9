//! Service discovery: the [`Registry`] trait, go-micro's data model (`Service`, `Endpoint`,
//! `Value`, `Node`) with its exact JSON, watch events, and the implementations: [`Memory`]
//! (in-process), `Mdns` (go-micro compatible multicast DNS) and a watch-invalidated [`Cache`]
//! over any of them.

mod cache;
#[cfg(feature = "etcd")]
mod etcd;
mod mdns;
mod memory;
#[cfg(feature = "nats")]
mod nats;
mod nullable;

pub use cache::Cache;
#[cfg(feature = "etcd")]
pub use etcd::Etcd;
pub use mdns::{Mdns, MdnsOptions};
pub use memory::Memory;
#[cfg(feature = "nats")]
pub use nats::Nats;

use crate::errors::{Error, Kind, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tokio::sync::broadcast;

/// Metadata on services, endpoints and nodes: string keys to string values.
pub type Metadata = HashMap<String, String>;

/// A service as the registry knows it: one version of it and the nodes that serve it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Service {
    /// The service name, e.g. `helloworld`.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// The version; services of one name and different versions are listed apart.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub version: String,
    /// Free-form service metadata.
    #[serde(default, with = "nullable")]
    pub metadata: Metadata,
    /// The endpoints the service serves.
    #[serde(default, with = "nullable")]
    pub endpoints: Vec<Endpoint>,
    /// The running instances.
    #[serde(default, with = "nullable")]
    pub nodes: Vec<Node>,
}

/// One callable endpoint, named `Handler.Method` (e.g. `Helloworld.Call`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// `Handler.Method`.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// The request type tree, if known.
    #[serde(default)]
    pub request: Option<Value>,
    /// The response type tree, if known.
    #[serde(default)]
    pub response: Option<Value>,
    /// `stream`, `subscriber`, `topic`, `description`, `example`, `scopes`, ...
    #[serde(default, with = "nullable")]
    pub metadata: Metadata,
}

/// A type tree describing a request or response: a field `name`, its `type` (`string`, `int64`,
/// `[]T`, a struct name, ...) and the fields inside it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Value {
    /// The field name.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// The field type.
    #[serde(rename = "type", default, deserialize_with = "nullable::deserialize")]
    pub kind: String,
    /// The fields of a struct type.
    #[serde(default, with = "nullable")]
    pub values: Vec<Value>,
}

/// One running instance of a service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Node {
    /// `<service>-<uuid>`.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// `host:port` where the node listens.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub address: String,
    /// `transport`, `broker`, `server`, `registry`, `protocol`, ...
    #[serde(default, with = "nullable")]
    pub metadata: Metadata,
}

/// What happened to a service in a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A service version appeared.
    Create,
    /// Nodes or endpoints of a known service version changed.
    Update,
    /// Nodes left; the service carries the nodes that left.
    Delete,
}

/// A change seen by a [`Watcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The service it happened to, with the nodes concerned.
    pub service: Service,
    /// When the registry saw it.
    pub timestamp: SystemTime,
}

impl Event {
    /// An event stamped now.
    pub fn new(action: Action, service: Service) -> Self {
        Event {
            action,
            service,
            timestamp: SystemTime::now(),
        }
    }
}

/// A registry of services: where they are and what they serve.
#[async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Adds or refreshes the service's nodes; with a `ttl` they leave unless registered again
    /// within it.
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> Result<()>;
    /// Removes the service's nodes.
    async fn deregister(&self, service: &Service) -> Result<()>;
    /// Every version of the named service with its nodes; a 404 error when none is known.
    async fn get_service(&self, name: &str) -> Result<Vec<Service>>;
    /// Every known service.
    async fn list_services(&self) -> Result<Vec<Service>>;
    /// Watches changes, to one service when `service` is given, else to all.
    async fn watch(&self, service: Option<&str>) -> Result<Watcher>;
    /// The implementation's name, as `MICRO_REGISTRY` spells it.
    fn name(&self) -> &'static str;
}

/// A stream of registry [`Event`]s.
///
/// A watcher that falls behind by more than the registry's buffer is not skipped silently:
/// [`Watcher::next`] returns an error saying how many events it missed, and the caller should
/// re-read the registry before watching on.
pub struct Watcher {
    events: broadcast::Receiver<Event>,
    service: Option<String>,
}

/// The id a lagging [`Watcher`]'s error carries on the wire; decide by its [`Kind::Lagged`].
pub const WATCH_LAGGED: &str = "micro.registry.watch.lagged";

impl Watcher {
    /// A watcher over a registry's event channel, filtered to one service when given.
    pub fn new(events: broadcast::Receiver<Event>, service: Option<&str>) -> Self {
        Watcher {
            events,
            service: service.map(str::to_string),
        }
    }

    /// The next event; an error of kind [`Kind::Lagged`] when events were missed, or when the
    /// registry has gone away.
    pub async fn next(&mut self) -> Result<Event> {
        loop {
            match self.events.recv().await {
                Ok(event) => {
                    if self
                        .service
                        .as_deref()
                        .is_none_or(|s| s == event.service.name)
                    {
                        return Ok(event);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Err(Error::of(
                        Kind::Lagged,
                        WATCH_LAGGED,
                        format!(
                            "watcher fell behind and missed {missed} events; list services again to resync, then keep watching"
                        ),
                    ));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Error::internal(
                        "micro.registry.watch",
                        "the registry was closed; open a new registry and watch again",
                    ));
                }
            }
        }
    }
}

/// How many events a watcher may fall behind before it is told it lagged.
pub(crate) const WATCH_BUFFER: usize = 1024;

/// The 404 every registry returns for an unknown service.
pub(crate) fn not_found(name: &str) -> Error {
    Error::not_found(
        "micro.registry",
        format!("service {name:?} not found in the registry; is it running and registered?"),
    )
}
