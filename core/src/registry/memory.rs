//! An in-process registry: services live in a map, nodes registered with a TTL leave when it runs
//! out, and every change is broadcast to watchers.

use super::{Action, Event, Registry, Service, WATCH_BUFFER, Watcher, not_found};
use crate::errors::Result;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often expired nodes are swept out.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// The in-process registry, the default for tests and single-process programs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::registry::{Memory, Registry, Service, Node};
/// let registry = Memory::new();
/// let service = Service { name: "greeter".into(), nodes: vec![Node { id: "greeter-1".into(), address: "127.0.0.1:9000".into(), ..Default::default() }], ..Default::default() };
/// registry.register(&service, None).await.unwrap();
/// assert_eq!(registry.get_service("greeter").await.unwrap()[0].nodes.len(), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct Memory {
    inner: Arc<Inner>,
}

struct Inner {
    /// name -> version -> entry
    services: Mutex<HashMap<String, HashMap<String, Entry>>>,
    events: broadcast::Sender<Event>,
    sweeping: std::sync::Once,
}

struct Entry {
    service: Service,
    /// node id -> when it expires (None: never)
    expires: HashMap<String, Option<Instant>>,
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

impl Memory {
    /// An empty registry.
    pub fn new() -> Self {
        Memory {
            inner: Arc::new(Inner {
                services: Mutex::new(HashMap::new()),
                events: broadcast::channel(WATCH_BUFFER).0,
                sweeping: std::sync::Once::new(),
            }),
        }
    }

    /// Starts the background sweep of expired nodes, once, on the caller's runtime.
    fn sweep_in_background(&self) {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        self.inner.sweeping.call_once(|| {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(SWEEP_EVERY);
                loop {
                    tick.tick().await;
                    let Some(inner) = weak.upgrade() else { return };
                    inner.sweep(Instant::now());
                }
            });
        });
    }
}

impl Inner {
    fn emit(&self, action: Action, service: Service) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(Event::new(action, service));
    }

    /// Removes nodes whose TTL ran out, telling watchers which left.
    fn sweep(&self, now: Instant) {
        let mut gone = Vec::new();
        {
            let mut services = self.services.lock().unwrap();
            for versions in services.values_mut() {
                versions.retain(|_, entry| {
                    let expired: Vec<String> = entry
                        .expires
                        .iter()
                        .filter(|(_, at)| at.is_some_and(|at| at <= now))
                        .map(|(id, _)| id.clone())
                        .collect();
                    if expired.is_empty() {
                        return true;
                    }
                    let mut left = entry.service.clone();
                    left.nodes.retain(|n| expired.contains(&n.id));
                    entry.service.nodes.retain(|n| !expired.contains(&n.id));
                    for id in &expired {
                        entry.expires.remove(id);
                    }
                    gone.push(left);
                    !entry.service.nodes.is_empty()
                });
            }
            services.retain(|_, versions| !versions.is_empty());
        }
        for service in gone {
            self.emit(Action::Delete, service);
        }
    }
}

#[async_trait]
impl Registry for Memory {
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> Result<()> {
        if ttl.is_some() {
            self.sweep_in_background();
        }
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        let action = {
            let mut services = self.inner.services.lock().unwrap();
            let versions = services.entry(service.name.clone()).or_default();
            match versions.get_mut(&service.version) {
                None => {
                    let entry = Entry {
                        expires: service
                            .nodes
                            .iter()
                            .map(|n| (n.id.clone(), expires))
                            .collect(),
                        service: service.clone(),
                    };
                    versions.insert(service.version.clone(), entry);
                    Action::Create
                }
                Some(entry) => {
                    entry.service.metadata = service.metadata.clone();
                    entry.service.endpoints = service.endpoints.clone();
                    for node in &service.nodes {
                        entry.expires.insert(node.id.clone(), expires);
                        match entry.service.nodes.iter_mut().find(|n| n.id == node.id) {
                            Some(known) => *known = node.clone(),
                            None => entry.service.nodes.push(node.clone()),
                        }
                    }
                    Action::Update
                }
            }
        };
        self.inner.emit(action, service.clone());
        Ok(())
    }

    async fn deregister(&self, service: &Service) -> Result<()> {
        {
            let mut services = self.inner.services.lock().unwrap();
            let Some(versions) = services.get_mut(&service.name) else {
                return Ok(());
            };
            if let Some(entry) = versions.get_mut(&service.version) {
                for node in &service.nodes {
                    entry.expires.remove(&node.id);
                }
                entry
                    .service
                    .nodes
                    .retain(|n| !service.nodes.iter().any(|gone| gone.id == n.id));
                if entry.service.nodes.is_empty() {
                    versions.remove(&service.version);
                }
            }
            if versions.is_empty() {
                services.remove(&service.name);
            }
        }
        self.inner.emit(Action::Delete, service.clone());
        Ok(())
    }

    async fn get_service(&self, name: &str) -> Result<Vec<Service>> {
        let now = Instant::now();
        let services = self.inner.services.lock().unwrap();
        let found: Vec<Service> = services
            .get(name)
            .into_iter()
            .flat_map(|versions| versions.values())
            .map(|entry| live(entry, now))
            .filter(|s| !s.nodes.is_empty())
            .collect();
        if found.is_empty() {
            return Err(not_found(name));
        }
        Ok(found)
    }

    async fn list_services(&self) -> Result<Vec<Service>> {
        let now = Instant::now();
        let services = self.inner.services.lock().unwrap();
        Ok(services
            .values()
            .flat_map(|versions| versions.values())
            .map(|entry| live(entry, now))
            .filter(|s| !s.nodes.is_empty())
            .collect())
    }

    async fn watch(&self, service: Option<&str>) -> Result<Watcher> {
        Ok(Watcher::new(self.inner.events.subscribe(), service))
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// The entry's service with only the nodes whose TTL has not run out, so an expired node is
/// never returned even before the sweep removes it.
fn live(entry: &Entry, now: Instant) -> Service {
    let mut service = entry.service.clone();
    service.nodes.retain(|n| {
        entry
            .expires
            .get(&n.id)
            .copied()
            .flatten()
            .is_none_or(|at| at > now)
    });
    service
}
