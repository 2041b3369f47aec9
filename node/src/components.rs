//! The pluggable components, as JS classes: [`Registry`], [`Store`] and [`Broker`]. Each is
//! chosen by name like go-micro's (`mdns`/`memory`, `file`/`memory`, `http`/`memory`), or by
//! the `MICRO_*` environment variable of the same name when no name is given. One instance
//! can be shared by services, clients, a gateway and MCP in the same process.

use crate::error::{OrThrow, bad_input};
use crate::handlers::{self, EventFn};
use micro::config::Config;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};
use napi::bindgen_prelude::{Buffer, within_runtime_if_available};
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ID: &str = "go-micro.node";

/// The environment's choices with `set` applied, for one component.
fn config(set: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::from_env();
    set(&mut config);
    config
}

/// A service registry: `mdns` (default, go-micro compatible, across processes), `memory`
/// (this process only), or `etcd` and `nats` (across hosts).
#[napi]
pub struct Registry {
    pub(crate) inner: Arc<dyn micro::registry::Registry>,
}

#[napi]
impl Registry {
    /// The registry named `kind` (`mdns`, `memory`, `etcd` or `nats`); `MICRO_REGISTRY` (default
    /// `mdns`) when omitted. `address` is where it is, for registries that need one (etcd:
    /// `host:port`, nats: `nats://host:4222`; default `MICRO_REGISTRY_ADDRESS`).
    #[napi(constructor)]
    pub fn new(kind: Option<String>, address: Option<String>) -> napi::Result<Self> {
        let config = config(|c| {
            c.registry = kind.or(c.registry.take());
            c.registry_address = address.or(c.registry_address.take());
        });
        let inner = within_runtime_if_available(|| config.registry()).or_throw()?;
        Ok(Registry { inner })
    }

    /// The registry's kind: `mdns`, `memory`, `etcd` or `nats`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.inner.name().to_string()
    }

    /// Every registered service, as JSON text (name, version, endpoints, nodes).
    #[napi]
    pub async fn list_services(&self) -> napi::Result<String> {
        let services = self.inner.list_services().await.or_throw()?;
        Ok(json(&services))
    }

    /// Every registered version of the service `name`, as JSON text; a 404 when none is.
    #[napi]
    pub async fn get_service(&self, name: String) -> napi::Result<String> {
        let services = self.inner.get_service(&name).await.or_throw()?;
        Ok(json(&services))
    }

    /// Registers a service given as JSON text in the registry's shape, for `ttl_ms`
    /// milliseconds (none: until deregistered).
    #[napi]
    pub async fn register(&self, service_json: String, ttl_ms: Option<f64>) -> napi::Result<()> {
        let service = registry_service(&service_json)?;
        let ttl = ttl(ttl_ms)?;
        self.inner.register(&service, ttl).await.or_throw()
    }

    /// Removes the nodes of a service given as JSON text in the registry's shape.
    #[napi]
    pub async fn deregister(&self, service_json: String) -> napi::Result<()> {
        let service = registry_service(&service_json)?;
        self.inner.deregister(&service).await.or_throw()
    }
}

/// A TTL given in milliseconds (none: no expiry).
fn ttl(ms: Option<f64>) -> napi::Result<Option<Duration>> {
    match ms {
        Some(ms) if !(ms.is_finite() && ms > 0.0) => Err(bad_input(
            ID,
            format!("ttl must be a positive number of milliseconds, got {ms}"),
        )),
        ms => Ok(ms.map(|ms| Duration::from_secs_f64(ms / 1000.0))),
    }
}

/// A service in go-micro's registry shape, from its JSON text.
fn registry_service(json: &str) -> napi::Result<micro::registry::Service> {
    serde_json::from_str(json).map_err(|e| {
        bad_input(
            ID,
            format!("a service is an object shaped as getService's items (name, version, endpoints, nodes): {e}"),
        )
    })
}

/// Registry records as JSON text.
fn json(services: &[micro::registry::Service]) -> String {
    serde_json::to_string(services).expect("registry records always serialize")
}

/// Where a store keeps its data and which database and table calls use by default.
#[napi(object)]
pub struct StoreOptions {
    /// The default database (`MICRO_STORE_DATABASE`, default `micro`).
    pub database: Option<String>,
    /// The default table (`MICRO_STORE_TABLE`, default `micro`).
    pub table: Option<String>,
    /// For `file` the root directory (`MICRO_STORE_ADDRESS`, default `~/micro/store`), for
    /// `mysql`, `postgres`, `redis` and `nats` the server's URL.
    pub address: Option<String>,
}

/// One stored record.
#[napi(object)]
pub struct StoreRecord {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Buffer,
}

/// A key-value store: `file` (default, embedded, durable), `memory`, `mysql`, `postgres`,
/// `redis` or `nats`.
#[napi]
pub struct Store {
    pub(crate) inner: Arc<dyn micro::store::Store>,
}

#[napi]
impl Store {
    /// The store named `kind` (`file`, `memory`, `mysql`, `postgres`, `redis` or `nats`);
    /// `MICRO_STORE` (default `file`) when omitted.
    #[napi(constructor)]
    pub fn new(kind: Option<String>, options: Option<StoreOptions>) -> napi::Result<Self> {
        let options = options.unwrap_or(StoreOptions {
            database: None,
            table: None,
            address: None,
        });
        let config = config(|c| {
            c.store = kind.or(c.store.take());
            c.store_database = options.database.or(c.store_database.take());
            c.store_table = options.table.or(c.store_table.take());
            c.store_address = options.address.or(c.store_address.take());
        });
        let inner = within_runtime_if_available(|| config.store()).or_throw()?;
        Ok(Store { inner })
    }

    /// The value at `key`, or with `prefix` every record whose key starts with `key`; a
    /// missing key is a 404.
    #[napi]
    pub async fn read(&self, key: String, prefix: Option<bool>) -> napi::Result<Vec<StoreRecord>> {
        let options = ReadOptions {
            prefix: prefix.unwrap_or(false),
            ..Default::default()
        };
        let records = self.inner.read(&key, &options).await.or_throw()?;
        Ok(records
            .into_iter()
            .map(|r| StoreRecord {
                key: r.key,
                value: r.value.to_vec().into(),
            })
            .collect())
    }

    /// Writes `value` at `key`, expiring after `ttl_ms` milliseconds when given.
    #[napi]
    pub async fn write(&self, key: String, value: Buffer, ttl_ms: Option<f64>) -> napi::Result<()> {
        let options = WriteOptions {
            ttl: ttl(ttl_ms)?,
            ..Default::default()
        };
        let record = Record::new(key, value.to_vec());
        self.inner.write(record, &options).await.or_throw()
    }

    /// Deletes the record at `key`.
    #[napi]
    pub async fn delete(&self, key: String) -> napi::Result<()> {
        self.inner
            .delete(&key, &DeleteOptions::default())
            .await
            .or_throw()
    }

    /// The keys, in order; only those starting with `prefix` when given.
    #[napi]
    pub async fn list(&self, prefix: Option<String>) -> napi::Result<Vec<String>> {
        let options = ListOptions {
            prefix: prefix.unwrap_or_default(),
            ..Default::default()
        };
        self.inner.list(&options).await.or_throw()
    }
}

/// A message broker: `http` (default, go-micro compatible, finds subscribers through a
/// registry), `memory` (this process only), `nats` or `rabbitmq` (go-micro's brokers on those
/// servers).
#[napi]
pub struct Broker {
    pub(crate) inner: Arc<dyn micro::broker::Broker>,
}

#[napi]
impl Broker {
    /// The broker named `kind` (`http`, `memory`, `nats` or `rabbitmq`); `MICRO_BROKER`
    /// (default `http`) when omitted. The `http` broker finds subscribers through `registry` (by
    /// default the one `MICRO_REGISTRY` names). `address` is `MICRO_BROKER_ADDRESS`: the HTTP
    /// broker's listen address, NATS's (`nats://host:4222`, `?jetstream=true` for at-least-once
    /// delivery) or RabbitMQ's URL (`amqp://user:password@host:5672/vhost`).
    #[napi(constructor)]
    pub fn new(
        kind: Option<String>,
        registry: Option<&Registry>,
        address: Option<String>,
    ) -> napi::Result<Self> {
        let config = config(|c| {
            c.broker = kind.or(c.broker.take());
            c.broker_address = address.or(c.broker_address.take());
        });
        let inner = within_runtime_if_available(|| {
            let registry = match registry {
                Some(r) => r.inner.clone(),
                None => config.registry()?,
            };
            config.broker(registry)
        })
        .or_throw()?;
        Ok(Broker { inner })
    }

    /// The broker's kind: `http`, `memory`, `nats` or `rabbitmq`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.inner.name().to_string()
    }

    /// Publishes `body` on `topic` with `header` as message headers.
    #[napi]
    pub async fn publish(
        &self,
        topic: String,
        body: Buffer,
        header: Option<HashMap<String, String>>,
    ) -> napi::Result<()> {
        let message = micro::broker::Message {
            header: header.unwrap_or_default(),
            body: body.to_vec().into(),
        };
        self.inner.publish(&topic, message).await.or_throw()
    }

    /// Calls `handler` for each message on `topic`; with a `queue`, subscribers of that queue
    /// share the messages. The handler does not keep Node alive.
    #[napi(
        ts_args_type = "topic: string, handler: (event: Event) => Promise<Reply>, queue?: string | undefined | null"
    )]
    pub async fn subscribe(
        &self,
        topic: String,
        handler: EventFn,
        queue: Option<String>,
    ) -> napi::Result<Subscription> {
        let options = micro::broker::SubscribeOptions { queue };
        let handler = handlers::subscriber(handler);
        let subscription = self
            .inner
            .subscribe(&topic, handler, options)
            .await
            .or_throw()?;
        Ok(Subscription {
            inner: Mutex::new(Some(subscription)),
        })
    }
}

/// A broker subscription; [`Subscription::unsubscribe`] ends it.
#[napi]
pub struct Subscription {
    inner: Mutex<Option<micro::broker::Subscription>>,
}

#[napi]
impl Subscription {
    /// Stops delivery; unsubscribing twice does nothing.
    #[napi]
    pub async fn unsubscribe(&self) -> napi::Result<()> {
        let subscription = self.inner.lock().expect("not poisoned").take();
        match subscription {
            Some(s) => s.unsubscribe().await.or_throw(),
            None => Ok(()),
        }
    }
}
