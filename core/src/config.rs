//! Which registry, broker and store to use, chosen like go-micro chooses them: set a field
//! here (the builder option), or the `MICRO_*` environment variable of the same name.
//! The defaults are go-micro's, embedded: `mdns` registry, `http` broker, `file` store.

use crate::broker::{self, Broker};
use crate::errors::{Error, Result};
use crate::registry::{self, Registry};
use crate::store::{self, Store};
use std::sync::Arc;

/// The registries `MICRO_REGISTRY` may name.
pub const REGISTRIES: &[&str] = &["mdns", "memory", "etcd", "nats"];
/// The brokers `MICRO_BROKER` may name.
pub const BROKERS: &[&str] = &["http", "memory", "nats", "rabbitmq"];
/// The stores `MICRO_STORE` may name.
pub const STORES: &[&str] = &["file", "memory", "mysql", "postgres", "redis", "nats"];

/// Component choices; `None` means the default.
///
/// ```
/// let config = micro::config::Config { registry: Some("memory".into()), ..Default::default() };
/// assert_eq!(config.registry().unwrap().name(), "memory");
/// let err = micro::config::Config { store: Some("bolt".into()), ..Default::default() }.store().err().unwrap();
/// assert!(err.detail.contains("file, memory"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `MICRO_REGISTRY`: `mdns` (default), `memory`, `etcd` or `nats`.
    pub registry: Option<String>,
    /// `MICRO_REGISTRY_ADDRESS`: where the registry is, for registries that need one (etcd:
    /// comma-separated `host[:port]`, default `127.0.0.1:2379`; nats: comma-separated
    /// `nats://[user:password@]host[:port]`, default `nats://127.0.0.1:4222`).
    pub registry_address: Option<String>,
    /// `MICRO_BROKER`: `http` (default), `memory`, `nats` or `rabbitmq`.
    pub broker: Option<String>,
    /// `MICRO_BROKER_ADDRESS`: the HTTP broker's listen address; NATS's servers for `nats`
    /// (`nats://host:4222`, `?jetstream=true` to store messages and deliver them at least once);
    /// the RabbitMQ server's URL for `rabbitmq` (`amqp://user:password@host:5672/vhost`,
    /// default `amqp://guest:guest@127.0.0.1:5672`).
    pub broker_address: Option<String>,
    /// `MICRO_STORE`: `file` (default), `memory`, `mysql`, `postgres`, `redis` or `nats`.
    pub store: Option<String>,
    /// `MICRO_STORE_ADDRESS`: the file store's root directory (default `~/micro/store`), or the
    /// server's URL for `mysql` (`mysql://user:password@host:3306/db`), `postgres`
    /// (`postgres://user:password@host:5432/db`), `redis` (`redis://host:6379/0`) and `nats`
    /// (`nats://host:4222`).
    pub store_address: Option<String>,
    /// `MICRO_STORE_DATABASE`: the default database (default `micro`).
    pub store_database: Option<String>,
    /// `MICRO_STORE_TABLE`: the default table (default `micro`).
    pub store_table: Option<String>,
}

impl Config {
    /// The choices made by `MICRO_*` environment variables; empty ones count as unset.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Config {
            registry: var("MICRO_REGISTRY"),
            registry_address: var("MICRO_REGISTRY_ADDRESS"),
            broker: var("MICRO_BROKER"),
            broker_address: var("MICRO_BROKER_ADDRESS"),
            store: var("MICRO_STORE"),
            store_address: var("MICRO_STORE_ADDRESS"),
            store_database: var("MICRO_STORE_DATABASE"),
            store_table: var("MICRO_STORE_TABLE"),
        }
    }

    /// The chosen registry.
    pub fn registry(&self) -> Result<Arc<dyn Registry>> {
        Ok(
            match choice("registry", "MICRO_REGISTRY", &self.registry, REGISTRIES)? {
                "memory" => Arc::new(registry::Memory::new()),
                #[cfg(feature = "etcd")]
                "etcd" => Arc::new(registry::Etcd::new(self.registry_address.as_deref())?),
                #[cfg(feature = "nats")]
                "nats" => Arc::new(registry::Nats::new(self.registry_address.as_deref())?),
                "mdns" => Arc::new(registry::Mdns::new(registry::MdnsOptions::default())?),
                other => return Err(not_built("registry", other)),
            },
        )
    }

    /// The chosen broker; the HTTP broker finds subscribers through `registry`.
    pub fn broker(&self, registry: Arc<dyn Registry>) -> Result<Arc<dyn Broker>> {
        Ok(
            match choice("broker", "MICRO_BROKER", &self.broker, BROKERS)? {
                "memory" => Arc::new(broker::Memory::new()),
                #[cfg(feature = "nats")]
                "nats" => Arc::new(broker::Nats::new(self.broker_address.as_deref())?),
                "http" => Arc::new(broker::Http::new(registry, self.broker_address.clone())),
                #[cfg(feature = "rabbitmq")]
                "rabbitmq" => Arc::new(broker::Rabbitmq::new(broker::RabbitmqOptions {
                    address: self.broker_address.clone(),
                    ..Default::default()
                })?),
                other => return Err(not_built("broker", other)),
            },
        )
    }

    /// The chosen store.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        let defaults = store::Options::default();
        let options = store::Options {
            database: self.store_database.clone().unwrap_or(defaults.database),
            table: self.store_table.clone().unwrap_or(defaults.table),
            address: self.store_address.clone(),
            ..defaults
        };
        Ok(match choice("store", "MICRO_STORE", &self.store, STORES)? {
            "memory" => Arc::new(store::Memory::new(options)),
            #[cfg(feature = "mysql")]
            "mysql" => Arc::new(store::Mysql::new(options)?),
            #[cfg(feature = "postgres")]
            "postgres" => Arc::new(store::Postgres::new(options)?),
            #[cfg(feature = "redis")]
            "redis" => Arc::new(store::Redis::new(options)?),
            #[cfg(feature = "nats")]
            "nats" => Arc::new(store::Nats::new(options)?),
            "file" => Arc::new(store::File::new(options)?),
            other => return Err(not_built("store", other)),
        })
    }
}

/// The error for a known component this build was made without.
fn not_built(what: &str, name: &str) -> Error {
    Error::bad_request(
        "micro.config",
        format!(
            "this build has no {name} {what}: build libmicro with the cargo feature `{name}` (the micro CLI and the language bindings have it)"
        ),
    )
}

/// The chosen name (the first known one by default), or an error listing the known names.
fn choice<'a>(
    what: &str,
    variable: &str,
    chosen: &Option<String>,
    known: &'a [&'a str],
) -> Result<&'a str> {
    let Some(name) = chosen else {
        return Ok(known[0]);
    };
    known.iter().copied().find(|k| k == name).ok_or_else(|| {
        Error::bad_request(
            "micro.config",
            format!(
                "unknown {what} {name:?}; known {what} names: {} (set {variable} or the option to one of them)",
                known.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let config = Config {
            registry: Some("zookeeper".into()),
            broker: Some("kafka".into()),
            ..Default::default()
        };
        let err = config.registry().err().unwrap();
        assert_eq!(err.code, 400);
        assert!(
            err.detail.contains("unknown registry \"zookeeper\""),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("mdns, memory"), "{}", err.detail);
        assert!(err.detail.contains("MICRO_REGISTRY"), "{}", err.detail);
        let err = config
            .broker(Arc::new(registry::Memory::new()))
            .err()
            .unwrap();
        assert!(err.detail.contains("http, memory"), "{}", err.detail);
    }

    #[tokio::test]
    async fn store_takes_database_and_table_defaults() {
        let config = Config {
            store: Some("memory".into()),
            store_database: Some("shop".into()),
            store_table: Some("orders".into()),
            ..Default::default()
        };
        let store = config.store().unwrap();
        assert_eq!(store.name(), "memory");
        store
            .write(store::Record::new("k", "v"), &Default::default())
            .await
            .unwrap();
        let at = store::ReadOptions {
            database: Some("shop".into()),
            table: Some("orders".into()),
            ..Default::default()
        };
        assert_eq!(store.read("k", &at).await.unwrap()[0].value, "v");
    }
}
