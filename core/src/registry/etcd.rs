//! A registry on etcd, in go-micro's layout so that go-micro and libmicro services find each
//! other: each node is a key `/micro/registry/<service>/<node id>` (a `/` in either becomes
//! `-`) holding the go-micro JSON of its service with that one node, attached to a lease of
//! the registration's TTL that a task keeps alive with etcd's keep-alive stream. When a lease
//! is lost (etcd restarted, or the keep-alive failed for longer than the TTL) the next
//! registration, which services repeat every register interval, grants a new one.
//!
//! TLS with `https://` endpoints, the server's certificate checked against the system's roots,
//! or with `?ca=/path/ca.pem` after the addresses (which asks for TLS too) against the CA
//! certificates of that file instead.

use super::{Action, Event, Registry, Service, Watcher};
use crate::backend::{Server, option};
use crate::errors::{Error, Result};
use crate::reconnect::Reconnecting;
use crate::tls;
use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, ConnectOptions, EventType, GetOptions, PutOptions, TlsOptions,
    WatchOptions,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

const ID: &str = "micro.registry.etcd";
const ETCD: Server = Server {
    id: ID,
    component: "registry",
    name: "etcd",
    example: "127.0.0.1:2379",
};
/// Where go-micro keeps its registry in etcd.
pub const PREFIX: &str = "/micro/registry/";
/// etcd's address when none is given, as go-micro's.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:2379";
/// How long one request to etcd may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How many watch events a slow watcher may fall behind by.
const WATCH_BUFFER: usize = 1024;

/// The etcd registry.
pub struct Etcd {
    endpoints: Vec<String>,
    options: ConnectOptions,
    /// The TLS settings, when the endpoints take TLS.
    tls: Option<TlsOptions>,
    link: Reconnecting<Client>,
    /// The lease and its keep-alive task of each registered node, by node key.
    leases: Arc<Mutex<HashMap<String, Lease>>>,
}

struct Lease {
    id: i64,
    keeper: JoinHandle<()>,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for lease in self.leases.lock().unwrap().values() {
            lease.keeper.abort();
        }
    }
}

impl Etcd {
    /// A registry on the etcd cluster at `addresses` (comma-separated `host[:port]`, default
    /// [`DEFAULT_ADDRESS`]; `user:password@host:port` logs in; `https://host:port` or
    /// `?ca=/path/ca.pem` after them for TLS); connects on first use.
    pub fn new(addresses: Option<&str>) -> Result<Etcd> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(TIMEOUT)
            .with_timeout(TIMEOUT)
            .with_keep_alive(Duration::from_secs(10), TIMEOUT);
        let ca = option(addresses, "ca")
            .map(|path| tls::read_ca(&ETCD, "ca", path))
            .transpose()?;
        let addresses = addresses.map(|a| a.split_once('?').map_or(a, |(hosts, _)| hosts));
        // TLS to every endpoint or none: etcd-client takes one setting for all.
        let (mut plain, mut secure) = (false, ca.is_some());
        let mut endpoints = Vec::new();
        for address in addresses.unwrap_or(DEFAULT_ADDRESS).split(',') {
            let address = address.trim();
            if address.is_empty() {
                continue;
            }
            let address = if let Some(host) = address.strip_prefix("https://") {
                secure = true;
                host
            } else if let Some(host) = address.strip_prefix("http://") {
                plain = true;
                host
            } else {
                address
            }
            .trim_end_matches('/');
            let address = match address.rsplit_once('@') {
                Some((credentials, host)) => {
                    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
                    options = options.with_user(user, password);
                    host
                }
                None => address,
            };
            if address.contains("://") || address.contains('/') {
                return Err(Error::bad_request(
                    ID,
                    format!(
                        "etcd address {address:?} is not host[:port]; set MICRO_REGISTRY_ADDRESS=127.0.0.1:2379"
                    ),
                ));
            }
            endpoints.push(
                if address
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    address.to_string()
                } else {
                    format!("{address}:2379")
                },
            );
        }
        if endpoints.is_empty() {
            endpoints.push(DEFAULT_ADDRESS.to_string());
        }
        if plain && secure {
            return Err(Error::bad_request(
                ID,
                "etcd addresses mix http:// and TLS (https:// or ?ca=): use TLS for all or none",
            ));
        }
        let tls = secure.then(|| match ca {
            Some(pem) => TlsOptions::new().ca_certificate(Certificate::from_pem(pem)),
            None => TlsOptions::new().with_native_roots(),
        });
        if let Some(tls) = &tls {
            options = options.with_tls(tls.clone());
        }
        Ok(Etcd {
            endpoints,
            options,
            tls,
            link: Reconnecting::new(),
            leases: Arc::default(),
        })
    }

    async fn client(&self) -> Result<Client> {
        let connect = || async {
            self.handshake().await?;
            Client::connect(&self.endpoints, Some(self.options.clone()))
                .await
                .map_err(|err| self.failed(&err))
        };
        self.link.get(|_| true, connect).await
    }

    /// With TLS on, that an endpoint takes a TLS handshake, or the 503 saying why none did:
    /// etcd-client's balanced channel hides why it could not connect, TLS's reasons among them.
    async fn handshake(&self) -> Result<()> {
        let Some(tls) = &self.tls else {
            return Ok(());
        };
        let mut why = String::new();
        for endpoint in &self.endpoints {
            let channel = tonic::transport::Endpoint::from_shared(format!("https://{endpoint}"))
                .and_then(|e| e.tls_config(tls.clone()))
                .map(|e| e.connect_timeout(TIMEOUT));
            let err = match channel {
                Ok(channel) => match channel.connect().await {
                    Ok(_) => return Ok(()),
                    Err(err) => err,
                },
                Err(err) => err,
            };
            why = tls::explain(&err, "ca").unwrap_or_else(|| err.to_string());
        }
        Err(ETCD.unreachable(&self.endpoints.join(","), why))
    }

    /// The error for a failed request: a 503 "registry unavailable" when etcd could not be
    /// reached, which callers tell apart from a service that is not there; a 500 when etcd
    /// refused it.
    fn failed(&self, err: &etcd_client::Error) -> Error {
        // etcd's own refusals; any other status (Unavailable, or Unknown with "transport
        // error" when the connection broke) means it could not be asked.
        use tonic::Code;
        let refused = [
            Code::InvalidArgument,
            Code::NotFound,
            Code::AlreadyExists,
            Code::PermissionDenied,
            Code::ResourceExhausted,
            Code::FailedPrecondition,
            Code::OutOfRange,
            Code::Unauthenticated,
        ];
        let at = self.endpoints.join(",");
        match err {
            etcd_client::Error::GRpcStatus(status) if refused.contains(&status.code()) => {
                ETCD.failed(&at, "do the request", false, status.message())
            }
            other => {
                let why = tls::explain(other, "ca").unwrap_or_else(|| other.to_string());
                ETCD.unreachable(&at, why)
            }
        }
    }

    /// The live lease of `key`, or a new one of `ttl` with a task keeping it alive.
    async fn lease(&self, client: &mut Client, key: &str, ttl: Duration) -> Result<i64> {
        if let Some(lease) = self.leases.lock().unwrap().get(key)
            && !lease.keeper.is_finished()
        {
            return Ok(lease.id);
        }
        // etcd counts leases in whole seconds.
        let seconds = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let granted = client
            .lease_grant(seconds, None)
            .await
            .map_err(|e| self.failed(&e))?;
        let id = granted.id();
        let keeper = tokio::spawn(keep_alive(client.clone(), id, ttl, key.to_string()));
        let old = self
            .leases
            .lock()
            .unwrap()
            .insert(key.to_string(), Lease { id, keeper });
        if let Some(old) = old {
            old.keeper.abort();
        }
        Ok(id)
    }

    async fn get(&self, prefix: &str) -> Result<Vec<Service>> {
        let mut client = self.client().await?;
        let found = client
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|e| self.failed(&e))?;
        // Nodes of one service and version join one entry, as go-micro lists them.
        let mut services: BTreeMap<(String, String), Service> = BTreeMap::new();
        for kv in found.kvs() {
            let Some(node) = decode(kv.value()) else {
                continue;
            };
            match services.entry((node.name.clone(), node.version.clone())) {
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(node);
                }
                std::collections::btree_map::Entry::Occupied(mut entry) => {
                    entry.get_mut().nodes.extend(node.nodes)
                }
            }
        }
        Ok(services.into_values().collect())
    }
}

/// Keeps lease `id` alive at a third of its TTL until etcd says it is gone or the stream
/// fails for good; then the task ends, and the next registration grants a new lease.
async fn keep_alive(mut client: Client, id: i64, ttl: Duration, key: String) {
    let every = (ttl / 3).max(Duration::from_millis(500));
    let Ok((mut keeper, mut answers)) = client.lease_keep_alive(id).await else {
        tracing::warn!(
            key,
            "cannot keep the etcd lease alive; the next registration renews it"
        );
        return;
    };
    loop {
        let alive = async {
            keeper.keep_alive().await.ok()?;
            answers.message().await.ok().flatten()
        };
        match tokio::time::timeout(TIMEOUT, alive).await {
            Ok(Some(answer)) if answer.ttl() > 0 => {}
            _ => {
                tracing::warn!(
                    key,
                    "the etcd lease is gone; the next registration renews it"
                );
                return;
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// go-micro's key of a node.
fn node_key(service: &str, node: &str) -> String {
    format!(
        "{PREFIX}{}/{}",
        service.replace('/', "-"),
        node.replace('/', "-")
    )
}

/// go-micro's key prefix of a service's nodes.
fn service_prefix(service: &str) -> String {
    format!("{PREFIX}{}/", service.replace('/', "-"))
}

fn decode(value: &[u8]) -> Option<Service> {
    serde_json::from_slice(value).ok()
}

#[async_trait]
impl Registry for Etcd {
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> Result<()> {
        let mut client = self.client().await?;
        for node in &service.nodes {
            let key = node_key(&service.name, &node.id);
            let one = Service {
                nodes: vec![node.clone()],
                ..service.clone()
            };
            let value = serde_json::to_vec(&one)
                .map_err(|e| Error::internal(ID, format!("cannot encode the service: {e}")))?;
            let options = match ttl {
                Some(ttl) => {
                    Some(PutOptions::new().with_lease(self.lease(&mut client, &key, ttl).await?))
                }
                None => None,
            };
            client
                .put(key, value, options)
                .await
                .map_err(|e| self.failed(&e))?;
        }
        Ok(())
    }

    async fn deregister(&self, service: &Service) -> Result<()> {
        let mut client = self.client().await?;
        for node in &service.nodes {
            let key = node_key(&service.name, &node.id);
            client
                .delete(key.clone(), None)
                .await
                .map_err(|e| self.failed(&e))?;
            let lease = self.leases.lock().unwrap().remove(&key);
            if let Some(lease) = lease {
                lease.keeper.abort();
                let _ = client.lease_revoke(lease.id).await;
            }
        }
        Ok(())
    }

    async fn get_service(&self, name: &str) -> Result<Vec<Service>> {
        let services = self.get(&service_prefix(name)).await?;
        if services.is_empty() {
            return Err(Error::not_found(
                ID,
                format!("service {name} not found in etcd; is it running and registered?"),
            ));
        }
        Ok(services)
    }

    async fn list_services(&self) -> Result<Vec<Service>> {
        self.get(PREFIX).await
    }

    async fn watch(&self, service: Option<&str>) -> Result<Watcher> {
        let mut client = self.client().await?;
        let prefix = service.map_or_else(|| PREFIX.to_string(), service_prefix);
        let mut stream = client
            .watch(
                prefix,
                Some(WatchOptions::new().with_prefix().with_prev_key()),
            )
            .await
            .map_err(|e| self.failed(&e))?;
        let (events, receiver) = broadcast::channel(WATCH_BUFFER);
        tokio::spawn(async move {
            while let Ok(Some(answer)) = stream.message().await {
                for change in answer.events() {
                    let event = match change.event_type() {
                        EventType::Put => change.kv().and_then(|kv| decode(kv.value())).map(|s| {
                            let action = if change.prev_kv().is_some() {
                                Action::Update
                            } else {
                                Action::Create
                            };
                            Event::new(action, s)
                        }),
                        EventType::Delete => change
                            .prev_kv()
                            .and_then(|kv| decode(kv.value()))
                            .map(|s| Event::new(Action::Delete, s)),
                    };
                    if let Some(event) = event
                        && events.send(event).is_err()
                    {
                        return; // every watcher is gone
                    }
                }
            }
            tracing::debug!("etcd watch ended");
        });
        Ok(Watcher::new(receiver, service))
    }

    fn name(&self) -> &'static str {
        "etcd"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_go_micros() {
        assert_eq!(
            node_key("go.micro/greeter", "greeter-1/a"),
            "/micro/registry/go.micro-greeter/greeter-1-a"
        );
        assert_eq!(service_prefix("greeter"), "/micro/registry/greeter/");
    }

    #[test]
    fn addresses_take_go_micros_forms() {
        let etcd = Etcd::new(Some(
            "10.0.0.1, http://10.0.0.2:2380/ ,http://admin:pw@10.0.0.3:23790",
        ))
        .unwrap();
        assert_eq!(
            etcd.endpoints,
            ["10.0.0.1:2379", "10.0.0.2:2380", "10.0.0.3:23790"]
        );
        assert_eq!(Etcd::new(None).unwrap().endpoints, [DEFAULT_ADDRESS]);
        assert!(Etcd::new(Some("https://x/y")).is_err());
        assert_eq!(
            Etcd::new(Some("https://h,h2:1")).unwrap().endpoints,
            ["h:2379", "h2:1"]
        );
        assert!(Etcd::new(Some("http://h,https://h2")).is_err());
        assert!(Etcd::new(Some("http://h?ca=/no/such/ca.pem")).is_err());
    }
}
