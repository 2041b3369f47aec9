//! A read-through cache over any registry, for the client's hot path. Entries go stale when a
//! watch event names their service, and after a TTL in case the registry cannot watch. A
//! watcher that lagged or broke makes every entry stale, so no event is ever silently lost, and
//! is opened again after a pause until the registry lets it. A stale entry is read again from
//! the registry; while the registry is unavailable, the last one read is served, as go-micro's
//! cache does, so calls to services already known go on through a registry outage.

use super::{Action, Registry, Service, Watcher};
use crate::errors::{Kind, Result};
use crate::retry::{FIRST_PAUSE, next_pause};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, watch};

/// How long an entry is trusted without a watch event, as go-micro's cache does.
const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A registry cache, invalidated by watch events. Lookups that hit cost one read lock.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::registry::{Cache, Memory, Node, Registry, Service};
/// let cache = Cache::new(Memory::new());
/// let svc = Service { name: "greeter".into(), nodes: vec![Node { id: "greeter-1".into(), ..Default::default() }], ..Default::default() };
/// cache.register(&svc, None).await.unwrap();
/// assert_eq!(cache.lookup("greeter").await.unwrap()[0].name, "greeter");
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

/// A service's versions and when they were read from the registry; `None` once stale.
type Entry = (Arc<Vec<Service>>, Option<Instant>);
/// The registered service names and when they were listed.
type Names = (Arc<Vec<String>>, Instant);

struct Inner {
    registry: Arc<dyn Registry>,
    ttl: Duration,
    entries: RwLock<HashMap<String, Entry>>,
    names: RwLock<Option<Names>>,
    /// Bumped by every invalidation, so a lookup that raced one does not store stale data.
    generation: AtomicU64,
    /// Dropping the cache drops this sender, which ends the watch task.
    stop: OnceCell<watch::Sender<()>>,
}

impl Cache {
    /// A cache over `registry` with go-micro's one-minute TTL.
    pub fn new(registry: impl Registry) -> Self {
        Self::with_ttl(Arc::new(registry), DEFAULT_TTL)
    }

    /// A cache over a shared registry with the given TTL.
    pub fn with_ttl(registry: Arc<dyn Registry>, ttl: Duration) -> Self {
        Cache {
            inner: Arc::new(Inner {
                registry,
                ttl,
                entries: RwLock::new(HashMap::new()),
                names: RwLock::new(None),
                generation: AtomicU64::new(0),
                stop: OnceCell::new(),
            }),
        }
    }

    /// The registry under the cache.
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.inner.registry
    }

    /// Every version of the named service, shared rather than copied: the client's fast path.
    pub async fn lookup(&self, name: &str) -> Result<Arc<Vec<Service>>> {
        let stale = match self.inner.entries.read().unwrap().get(name) {
            Some((services, Some(at))) if at.elapsed() < self.inner.ttl => {
                return Ok(services.clone());
            }
            Some((services, _)) => Some(services.clone()),
            None => None,
        };
        self.watch_in_background().await;
        let generation = self.inner.generation.load(Ordering::Acquire);
        let services = match (self.inner.registry.get_service(name).await, stale) {
            (Ok(services), _) => Arc::new(services),
            (Err(err), Some(stale)) if err.kind == Kind::Unavailable => {
                tracing::debug!(%err, service = name, "registry unavailable; using what it said last");
                return Ok(stale);
            }
            (Err(err), _) => {
                if err.kind == Kind::NotFound {
                    self.inner.entries.write().unwrap().remove(name);
                }
                return Err(err);
            }
        };
        let mut entries = self.inner.entries.write().unwrap();
        if self.inner.generation.load(Ordering::Acquire) == generation {
            entries.insert(name.to_string(), (services.clone(), Some(Instant::now())));
        }
        Ok(services)
    }

    /// The names of the registered services, sorted: listed once, then kept until a watch
    /// event adds or removes a service (or the TTL runs out).
    pub async fn names(&self) -> Result<Arc<Vec<String>>> {
        if let Some((names, at)) = self.inner.names.read().unwrap().as_ref()
            && at.elapsed() < self.inner.ttl
        {
            return Ok(names.clone());
        }
        self.watch_in_background().await;
        let generation = self.inner.generation.load(Ordering::Acquire);
        let mut names: Vec<String> = self
            .inner
            .registry
            .list_services()
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names.dedup();
        let names = Arc::new(names);
        let mut kept = self.inner.names.write().unwrap();
        if self.inner.generation.load(Ordering::Acquire) == generation {
            *kept = Some((names.clone(), Instant::now()));
        }
        Ok(names)
    }

    /// A number that changes whenever a watch event (or a lagging watcher) invalidates
    /// anything: what was built from earlier lookups is still current while it stays the
    /// same (within the TTL). Starts the watch first, so no change goes unnoticed.
    pub async fn generation(&self) -> u64 {
        self.watch_in_background().await;
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Starts, once, the task that turns watch events into invalidations. The first watcher
    /// is opened before the first lookup reads the registry, so no change can slip between.
    async fn watch_in_background(&self) {
        let inner = &self.inner;
        inner
            .stop
            .get_or_init(|| async {
                let (stop, stopped) = watch::channel(());
                match inner.registry.watch(None).await {
                    Ok(watcher) => {
                        let weak = Arc::downgrade(inner);
                        tokio::spawn(invalidate(weak, inner.registry.clone(), watcher, stopped));
                    }
                    // This registry cannot watch: entries then live for the TTL only.
                    Err(err) => tracing::warn!(%err, "registry cache cannot watch; entries expire by TTL only"),
                }
                stop
            })
            .await;
    }
}

/// Turns watch events into invalidations until the cache is dropped; when the watcher fails
/// (it lagged, or the registry closed it) every entry goes stale and a new watcher is opened,
/// tried again after a growing pause while the registry refuses, each failure making every
/// entry stale again (entries read meanwhile were not watched).
async fn invalidate(
    weak: Weak<Inner>,
    registry: Arc<dyn Registry>,
    mut watcher: Watcher,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        if !invalidate_until_error(&weak, &mut watcher, &mut stopped).await {
            return;
        }
        let mut pause = FIRST_PAUSE;
        watcher = loop {
            let Some(inner) = weak.upgrade() else { return };
            inner.invalidate(None, true);
            drop(inner);
            let opened = tokio::select! {
                _ = stopped.changed() => return,
                w = registry.watch(None) => w,
            };
            match opened {
                Ok(w) => break w,
                Err(err) => {
                    tracing::warn!(%err, ?pause, "registry cache cannot watch; trying again");
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = next_pause(pause);
                }
            }
        };
        // Whatever changed while the watcher was away is read afresh.
        let Some(inner) = weak.upgrade() else { return };
        inner.invalidate(None, true);
    }
}

/// Drops the entry named by each event; false when the cache is gone, true when the watcher
/// failed (lagged or closed) and the caller must resync.
async fn invalidate_until_error(
    weak: &Weak<Inner>,
    watcher: &mut Watcher,
    stopped: &mut watch::Receiver<()>,
) -> bool {
    loop {
        let event = tokio::select! {
            _ = stopped.changed() => return false,
            e = watcher.next() => e,
        };
        let Some(inner) = weak.upgrade() else {
            return false;
        };
        match event {
            Ok(event) => {
                inner.invalidate(Some(&event.service.name), event.action == Action::Delete)
            }
            Err(err) => {
                tracing::warn!(%err, "registry cache watcher failed; clearing the cache");
                return true;
            }
        }
    }
}

impl Inner {
    /// Makes what is cached of service `name` (of every service when `None`) stale, and drops
    /// the name list when the service may have left it (`removal`) or is not on it yet.
    fn invalidate(&self, name: Option<&str>, removal: bool) {
        let mut entries = self.entries.write().unwrap();
        let mut names = self.names.write().unwrap();
        self.generation.fetch_add(1, Ordering::AcqRel);
        match name {
            Some(name) => {
                if let Some((_, fresh)) = entries.get_mut(name) {
                    *fresh = None;
                }
            }
            None => entries.values_mut().for_each(|(_, fresh)| *fresh = None),
        }
        let listed = |(list, _): &Names| {
            name.is_some_and(|n| list.binary_search_by(|l| l.as_str().cmp(n)).is_ok())
        };
        if removal || !names.as_ref().is_some_and(listed) {
            *names = None;
        }
    }
}

#[async_trait]
impl Registry for Cache {
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> Result<()> {
        self.inner.registry.register(service, ttl).await?;
        self.inner.invalidate(Some(&service.name), false);
        Ok(())
    }

    async fn deregister(&self, service: &Service) -> Result<()> {
        self.inner.registry.deregister(service).await?;
        self.inner.invalidate(Some(&service.name), true);
        Ok(())
    }

    async fn get_service(&self, name: &str) -> Result<Vec<Service>> {
        Ok(self.lookup(name).await?.as_ref().clone())
    }

    async fn list_services(&self) -> Result<Vec<Service>> {
        self.inner.registry.list_services().await
    }

    async fn watch(&self, service: Option<&str>) -> Result<super::Watcher> {
        self.inner.registry.watch(service).await
    }

    fn name(&self) -> &'static str {
        self.inner.registry.name()
    }
}
