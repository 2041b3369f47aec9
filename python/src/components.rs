//! `Registry`, `Store` and `Broker`: the engine's components, chosen as Rust chooses them
//! (a name given here, else the `MICRO_*` environment, else go-micro's default). Objects made
//! without a name share one instance per process, so a service, a client and a gateway in one
//! process see the same memory registry and broker.

use crate::error;
use crate::runtime::{self, run};
use bytes::Bytes;
use micro::broker::{self, SubscribeOptions};
use micro::config::Config;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, WriteOptions};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The shared instances of this process (made again in a forked child).
struct Shared {
    pid: u32,
    registry: Option<Arc<dyn micro::registry::Registry>>,
    broker: Option<Arc<dyn micro::broker::Broker>>,
    store: Option<Arc<dyn micro::store::Store>>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    pid: 0,
    registry: None,
    broker: None,
    store: None,
});

/// The shared instance of one kind, made with `make` on first use in this process (with the
/// GIL released: opening a store touches the disk).
fn shared<T: Clone + Send>(
    py: Python<'_>,
    pick: impl Fn(&mut Shared) -> &mut Option<T>,
    make: impl FnOnce() -> micro::Result<T> + Send,
) -> PyResult<T> {
    let current = |pick: &dyn Fn(&mut Shared) -> &mut Option<T>| {
        let mut state = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if state.pid != std::process::id() {
            *state = Shared {
                pid: std::process::id(),
                registry: None,
                broker: None,
                store: None,
            };
        }
        pick(&mut state).clone()
    };
    if let Some(value) = current(&pick) {
        return Ok(value);
    }
    let made = detached(py, make)?;
    // Another thread may have made one meanwhile; the first one kept wins.
    let mut state = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    Ok(pick(&mut state).get_or_insert(made).clone())
}

/// Runs `make` inside the runtime with the GIL released.
fn detached<T: Send>(
    py: Python<'_>,
    make: impl FnOnce() -> micro::Result<T> + Send,
) -> PyResult<T> {
    let handle = runtime::handle(py)?;
    py.detach(|| {
        let _inside = handle.enter();
        make()
    })
    .map_err(|e| error::to_py(py, &e))
}

/// Python's `json.loads` of engine JSON, for registry records.
pub fn json_to_py(py: Python<'_>, value: &impl serde::Serialize) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| error::usage(py, &e.to_string()))?;
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Service discovery: `Registry()` is the configured one (`MICRO_REGISTRY`, default mdns),
/// `Registry("memory")` a new in-process one.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Registry {
    pub(crate) inner: Arc<dyn micro::registry::Registry>,
    pid: u32,
}

impl Registry {
    /// The registry to use: the one given, else the process's shared one.
    pub fn or_shared(
        py: Python<'_>,
        given: Option<&Registry>,
    ) -> PyResult<Arc<dyn micro::registry::Registry>> {
        match given {
            Some(registry) => {
                runtime::same_process(py, registry.pid, "Registry")?;
                Ok(registry.inner.clone())
            }
            None => shared(py, |s| &mut s.registry, || Config::from_env().registry()),
        }
    }
}

#[pymethods]
impl Registry {
    /// `name` is `mdns`, `memory`, `etcd` or `nats` (default: `MICRO_REGISTRY`, else mdns);
    /// `address` is `MICRO_REGISTRY_ADDRESS` for registries that need one (etcd: `host:port`,
    /// nats: `nats://host:4222`).
    #[new]
    #[pyo3(signature = (name=None, address=None))]
    fn new(py: Python<'_>, name: Option<String>, address: Option<String>) -> PyResult<Self> {
        let inner = if name.is_none() && address.is_none() {
            Registry::or_shared(py, None)?
        } else {
            let mut config = Config::from_env();
            config.registry = name.or(config.registry);
            config.registry_address = address.or(config.registry_address);
            detached(py, || config.registry())?
        };
        Ok(Registry {
            inner,
            pid: std::process::id(),
        })
    }

    /// The registry's name, as `MICRO_REGISTRY` spells it.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// Every registered service, as go-micro's registry JSON (name, version, endpoints, nodes).
    fn list_services(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Registry")?;
        let registry = self.inner.clone();
        run(
            py,
            None,
            async move { registry.list_services().await },
            |py, services| json_to_py(py, &services),
        )
    }

    /// Every version of the service `name`, with its nodes; a `NotFoundError` if none.
    fn get_service(&self, py: Python<'_>, name: String) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Registry")?;
        let registry = self.inner.clone();
        run(
            py,
            None,
            async move { registry.get_service(&name).await },
            |py, services| json_to_py(py, &services),
        )
    }

    /// Registers `service`, a dict shaped as one item of `get_service`'s list (name, version,
    /// endpoints, nodes), for `ttl` seconds (None: until deregistered). For services running
    /// elsewhere: a `Service` registers itself.
    #[pyo3(signature = (service, *, ttl=None))]
    fn register(
        &self,
        py: Python<'_>,
        service: &Bound<'_, PyAny>,
        ttl: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Registry")?;
        let service = registry_service(py, service)?;
        let ttl = ttl.map(|t| seconds(py, t, "ttl")).transpose()?;
        let registry = self.inner.clone();
        run(
            py,
            None,
            async move { registry.register(&service, ttl).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// Removes the nodes of `service` (shaped as for `register`) from the registry.
    fn deregister(&self, py: Python<'_>, service: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        runtime::same_process(py, self.pid, "Registry")?;
        let service = registry_service(py, service)?;
        let registry = self.inner.clone();
        run(
            py,
            None,
            async move { registry.deregister(&service).await },
            |py, ()| Ok(py.None()),
        )
    }
}

/// A service in go-micro's registry shape, from a Python dict.
fn registry_service(
    py: Python<'_>,
    service: &Bound<'_, PyAny>,
) -> PyResult<micro::registry::Service> {
    let text = crate::json::to_bytes(service)?;
    serde_json::from_slice(&text).map_err(|e| {
        error::usage(
            py,
            &format!("service must be a dict shaped as get_service's items (name, version, endpoints, nodes): {e}"),
        )
    })
}

/// One stored record.
#[pyclass(module = "go_micro._native", frozen, get_all)]
pub struct Record {
    /// The key.
    key: String,
    /// The value.
    value: Py<PyBytes>,
    /// Seconds left before it expires, if it does.
    expiry: Option<f64>,
}

#[pymethods]
impl Record {
    fn __repr__(&self) -> String {
        format!("Record(key={:?})", self.key)
    }
}

/// Records by key: `Store()` is the configured one (`MICRO_STORE`, default file),
/// `Store("memory")` a new in-process one.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Store {
    pub(crate) inner: Arc<dyn micro::store::Store>,
    pid: u32,
}

impl Store {
    /// The store to use: the one given, else the process's shared one.
    pub fn or_shared(
        py: Python<'_>,
        given: Option<&Store>,
    ) -> PyResult<Arc<dyn micro::store::Store>> {
        match given {
            Some(store) => {
                runtime::same_process(py, store.pid, "Store")?;
                Ok(store.inner.clone())
            }
            None => shared(py, |s| &mut s.store, || Config::from_env().store()),
        }
    }

    fn inner(&self, py: Python<'_>) -> PyResult<Arc<dyn micro::store::Store>> {
        runtime::same_process(py, self.pid, "Store")?;
        Ok(self.inner.clone())
    }
}

#[pymethods]
impl Store {
    /// `name` is `file`, `memory`, `mysql`, `postgres`, `redis` or `nats` (default:
    /// `MICRO_STORE`, else file);
    /// `address` is the file store's directory or the server's URL; `database` and `table`
    /// the defaults for calls naming none.
    #[new]
    #[pyo3(signature = (name=None, address=None, database=None, table=None))]
    fn new(
        py: Python<'_>,
        name: Option<String>,
        address: Option<String>,
        database: Option<String>,
        table: Option<String>,
    ) -> PyResult<Self> {
        let inner = if name.is_none() && address.is_none() && database.is_none() && table.is_none()
        {
            Store::or_shared(py, None)?
        } else {
            let mut config = Config::from_env();
            config.store = name.or(config.store);
            config.store_address = address.or(config.store_address);
            config.store_database = database.or(config.store_database);
            config.store_table = table.or(config.store_table);
            detached(py, || config.store())?
        };
        Ok(Store {
            inner,
            pid: std::process::id(),
        })
    }

    /// The record at `key` (a `NotFoundError` if none), or with `prefix`/`suffix` every
    /// matching record, in key order.
    #[pyo3(signature = (key, *, prefix=false, suffix=false, limit=0, offset=0, database=None, table=None))]
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        py: Python<'_>,
        key: String,
        prefix: bool,
        suffix: bool,
        limit: usize,
        offset: usize,
        database: Option<String>,
        table: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let store = self.inner(py)?;
        let options = ReadOptions {
            database,
            table,
            prefix,
            suffix,
            limit,
            offset,
        };
        run(
            py,
            None,
            async move { store.read(&key, &options).await },
            |py, records| {
                let records = records
                    .into_iter()
                    .map(|r| Record {
                        key: r.key,
                        value: PyBytes::new(py, &r.value).unbind(),
                        expiry: r.expiry.map(|e| e.as_secs_f64()),
                    })
                    .collect::<Vec<_>>();
                Ok(records.into_pyobject(py)?.into_any().unbind())
            },
        )
    }

    /// Writes `value` (bytes, or str as UTF-8) at `key`, expiring after `ttl` seconds if given.
    #[pyo3(signature = (key, value, *, ttl=None, database=None, table=None))]
    fn write(
        &self,
        py: Python<'_>,
        key: String,
        value: &Bound<'_, PyAny>,
        ttl: Option<f64>,
        database: Option<String>,
        table: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let store = self.inner(py)?;
        let ttl = ttl.map(|t| seconds(py, t, "ttl")).transpose()?;
        let options = WriteOptions {
            database,
            table,
            ttl,
            ..Default::default()
        };
        let record = micro::store::Record::new(key, payload(py, value, "the value")?);
        run(
            py,
            None,
            async move { store.write(record, &options).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// Deletes the record at `key`; a missing key is not an error.
    #[pyo3(signature = (key, *, database=None, table=None))]
    fn delete(
        &self,
        py: Python<'_>,
        key: String,
        database: Option<String>,
        table: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let store = self.inner(py)?;
        let options = DeleteOptions { database, table };
        run(
            py,
            None,
            async move { store.delete(&key, &options).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// The keys, in order, optionally only those with `prefix` / `suffix`.
    #[pyo3(signature = (*, prefix=String::new(), suffix=String::new(), limit=0, offset=0, database=None, table=None))]
    #[allow(clippy::too_many_arguments)]
    fn list(
        &self,
        py: Python<'_>,
        prefix: String,
        suffix: String,
        limit: usize,
        offset: usize,
        database: Option<String>,
        table: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let store = self.inner(py)?;
        let options = ListOptions {
            database,
            table,
            prefix,
            suffix,
            limit,
            offset,
        };
        run(
            py,
            None,
            async move { store.list(&options).await },
            |py, keys| Ok(keys.into_pyobject(py)?.into_any().unbind()),
        )
    }
}

/// A duration in seconds, refusing negative and non-finite values.
pub fn seconds(py: Python<'_>, value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        error::usage(
            py,
            &format!("{what} must be a non-negative number of seconds, got {value}"),
        )
    })
}

/// Publish and subscribe on raw bytes: `Broker()` is the configured one (`MICRO_BROKER`,
/// default http), `Broker("memory")` a new in-process one.
#[pyclass(module = "go_micro._native", frozen)]
pub struct Broker {
    pub(crate) inner: Arc<dyn micro::broker::Broker>,
    pid: u32,
}

impl Broker {
    /// The broker to use: the one given, else the process's shared one over `registry`.
    pub fn or_shared(
        py: Python<'_>,
        given: Option<&Broker>,
        registry: Arc<dyn micro::registry::Registry>,
    ) -> PyResult<Arc<dyn micro::broker::Broker>> {
        match given {
            Some(broker) => {
                runtime::same_process(py, broker.pid, "Broker")?;
                Ok(broker.inner.clone())
            }
            None => shared(
                py,
                |s| &mut s.broker,
                || Config::from_env().broker(registry),
            ),
        }
    }

    fn inner(&self, py: Python<'_>) -> PyResult<Arc<dyn micro::broker::Broker>> {
        runtime::same_process(py, self.pid, "Broker")?;
        Ok(self.inner.clone())
    }
}

#[pymethods]
impl Broker {
    /// `name` is `http`, `memory`, `nats` or `rabbitmq` (default: `MICRO_BROKER`, else http);
    /// the http broker finds subscribers through `registry` (default: the shared one).
    /// `address` is `MICRO_BROKER_ADDRESS`: the HTTP broker's listen address, NATS's
    /// (`nats://host:4222`, `?jetstream=true` for at-least-once delivery) or RabbitMQ's URL
    /// (`amqp://user:password@host:5672/vhost`).
    #[new]
    #[pyo3(signature = (name=None, registry=None, address=None))]
    fn new(
        py: Python<'_>,
        name: Option<String>,
        registry: Option<PyRef<'_, Registry>>,
        address: Option<String>,
    ) -> PyResult<Self> {
        let registry_given = registry.is_some();
        let registry = Registry::or_shared(py, registry.as_deref())?;
        let inner = if name.is_none() && address.is_none() && !registry_given {
            Broker::or_shared(py, None, registry)?
        } else {
            let mut config = Config::from_env();
            config.broker = name.or(config.broker);
            config.broker_address = address.or(config.broker_address);
            detached(py, || config.broker(registry))?
        };
        Ok(Broker {
            inner,
            pid: std::process::id(),
        })
    }

    /// The broker's name, as `MICRO_BROKER` spells it.
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// Sends `body` to the topic's subscribers, with `header` as message headers.
    #[pyo3(signature = (topic, body, header=None))]
    fn publish(
        &self,
        py: Python<'_>,
        topic: String,
        body: &Bound<'_, PyAny>,
        header: Option<HashMap<String, String>>,
    ) -> PyResult<Py<PyAny>> {
        let broker = self.inner(py)?;
        let message = broker::Message {
            header: header.unwrap_or_default(),
            body: payload(py, body, "the message")?,
        };
        run(
            py,
            None,
            async move { broker.publish(&topic, message).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// Calls `handler(topic, body, header)` for each message on `topic` (on a worker thread)
    /// until the returned subscription is unsubscribed; with `queue`, subscribers sharing it
    /// share the messages.
    #[pyo3(signature = (topic, handler, queue=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topic: String,
        handler: Py<PyAny>,
        queue: Option<String>,
    ) -> PyResult<Subscription> {
        let broker = self.inner(py)?;
        let handler = subscriber(handler, topic.clone());
        let options = SubscribeOptions { queue };
        let subscribing = async move { broker.subscribe(&topic, handler, options).await };
        let subscription = runtime::wait(py, subscribing)?;
        Ok(Subscription {
            inner: Mutex::new(Some(subscription)),
        })
    }
}

/// A broker handler calling `callable(topic, body, header)` with the GIL, off the runtime's
/// workers; what it raises is the message's error, with `id` (the subscriber) as its source.
pub fn subscriber(callable: Py<PyAny>, id: String) -> broker::Handler {
    let callable = Arc::new(callable);
    broker::handler(move |topic, message| {
        let (callable, id) = (callable.clone(), id.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                Python::attach(|py| {
                    let called = message.header.into_pyobject(py).and_then(|header| {
                        let body = PyBytes::new(py, &message.body);
                        callable.call1(py, (topic, body, header))
                    });
                    called.map(drop).map_err(|err| error::from_py(py, err, &id))
                })
            })
            .await
            .map_err(|e| micro::Error::internal("go_micro", format!("a subscriber stopped: {e}")))?
        }
    })
}

/// A live subscription of [`Broker::subscribe`].
#[pyclass(module = "go_micro._native", frozen)]
pub struct Subscription {
    inner: Mutex<Option<micro::broker::Subscription>>,
}

#[pymethods]
impl Subscription {
    /// Stops delivery; calling it again does nothing.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(subscription) = taken else {
            return Ok(());
        };
        runtime::wait(py, subscription.unsubscribe())
    }
}

/// The bytes of a payload given as `bytes` (or `bytearray`/`memoryview`) or `str` (as UTF-8).
pub fn payload(py: Python<'_>, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Bytes> {
    if let Ok(text) = value.cast::<pyo3::types::PyString>() {
        return Ok(Bytes::copy_from_slice(text.to_str()?.as_bytes()));
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(Bytes::copy_from_slice(bytes.as_bytes()));
    }
    match value.extract::<Vec<u8>>() {
        Ok(bytes) if !value.is_instance_of::<pyo3::types::PyList>() => Ok(Bytes::from(bytes)),
        _ => Err(error::usage(
            py,
            &format!(
                "{what} must be bytes or str, got {}",
                value
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ),
        )),
    }
}
