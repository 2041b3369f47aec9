//! The go-micro compatible multicast DNS registry: no server, every process answers for its own
//! nodes. A node of service `greeter` is announced as instance `<nodeId>.greeter.micro.` with
//! SRV, A/AAAA and TXT records (the TXT holds go-micro's compressed JSON payload), and each
//! service also has a listing entry under `_services.micro.` so services can be listed. Lookups
//! multicast a PTR question and gather answers for a fixed window ([`MdnsOptions::timeout`]);
//! watchers turn the announcements nodes multicast when they come (TTL 120) and go (TTL 0) into
//! events. It runs on loopback unless told otherwise, so nothing leaves the host by accident, and
//! answers only queries that arrive on the interfaces it runs on.

mod message;
mod net;
mod txt;
mod zone;

use super::{Action, Event, Node, Registry, Service, WATCH_BUFFER, Watcher, not_found};
use crate::errors::{Error, Result};
use async_trait::async_trait;
use simple_dns::{OPCODE, Packet, PacketFlag, RCODE};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{OnceCell, broadcast};
use tokio::task::AbortHandle;
use zone::{Ask, Entry, LISTING, TTL};

/// How often nodes whose registration TTL ran out are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// When the second announcement of a new node goes out (RFC 6762 asks for two, a second apart).
const REANNOUNCE_AFTER: Duration = Duration::from_secs(1);
/// How long a repeated goodbye for the same node is not reported again.
const GONE_QUIET: Duration = Duration::from_secs(5);
/// The largest message we build; larger ones cannot be sent over UDP.
const MAX_MESSAGE: usize = 60_000;
/// The receive buffer: the largest UDP payload.
const RECV_BUFFER: usize = 65_536;
/// How many questions of one query are answered; the rest are ignored. go-micro asks one, other
/// DNS-SD queriers a few; without a cap one packet of thousands of questions costs thousands of
/// passes over every entry.
const MAX_QUESTIONS: usize = 16;
/// How many instances watchers' de-duplication remembers. Real networks hold far fewer live
/// nodes; past this a flood of made-up announcements evicts the oldest sightings (which costs at
/// most a repeated event) instead of growing memory.
const MAX_SEEN: usize = 4096;

/// How the mDNS registry is set up.
#[derive(Debug, Clone)]
pub struct MdnsOptions {
    /// Interfaces to use: names (`lo`, `eth0`) or IPv4 addresses. Empty means the
    /// `MICRO_MDNS_INTERFACES` variable (comma-separated), and when that is unset, loopback only.
    pub interfaces: Vec<String>,
    /// The DNS domain services live under; go-micro's is `micro.`.
    pub domain: String,
    /// How long a lookup gathers answers; go-micro waits 100 ms.
    pub timeout: Duration,
    /// The mDNS port, 5353.
    pub port: u16,
    /// The host name put in SRV records; the machine's host name when `None`.
    pub hostname: Option<String>,
}

impl Default for MdnsOptions {
    fn default() -> Self {
        MdnsOptions {
            interfaces: Vec::new(),
            domain: "micro.".to_string(),
            timeout: Duration::from_millis(100),
            port: 5353,
            hostname: None,
        }
    }
}

/// The go-micro compatible mDNS registry.
///
/// Creating one opens nothing; sockets open on first use, inside the caller's tokio runtime.
/// Registered nodes are answered for until deregistered, until their TTL runs out without a new
/// registration, or until the last clone of the registry is dropped (which says goodbye for them).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> micro::Result<()> {
/// use micro::registry::{Mdns, MdnsOptions, Node, Registry, Service};
/// let registry = Mdns::new(MdnsOptions::default())?;
/// let service = Service {
///     name: "greeter".into(),
///     version: "latest".into(),
///     nodes: vec![Node { id: "greeter-1".into(), address: "127.0.0.1:9000".into(), ..Default::default() }],
///     ..Default::default()
/// };
/// registry.register(&service, None).await?;
/// let found = registry.get_service("greeter").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Mdns {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    net: OnceCell<Arc<Net>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

/// What the background tasks share with the registry.
struct Shared {
    config: Config,
    /// Our registered nodes, by lower-case instance name.
    nodes: Mutex<HashMap<String, Local>>,
    events: broadcast::Sender<Event>,
    /// What watchers were last told about each instance, by lower-case instance name; at most
    /// [`MAX_SEEN`] of them.
    seen: Mutex<HashMap<String, Seen>>,
    /// Hashes announcements into [`Seen::digest`], keyed at random so no sender can make two
    /// different announcements look the same.
    digests: RandomState,
    generation: AtomicU64,
}

struct Config {
    interfaces: Vec<net::Interface>,
    /// The domain without dots at either end.
    domain: String,
    timeout: Duration,
    port: u16,
    host: String,
}

/// The open sockets.
struct Net {
    /// One responder socket per interface, answering and announcing there only.
    links: Vec<UdpSocket>,
    group: SocketAddr,
}

/// One of our nodes.
struct Local {
    entry: Entry,
    /// The service as announced, with this node only.
    service: Service,
    expires: Option<Instant>,
    generation: u64,
}

struct Seen {
    live: bool,
    /// A keyed hash of the announcement (its address and TXT payload): enough to tell a change,
    /// and small, unlike the service it decodes to.
    digest: u64,
    at: Instant,
}

impl Mdns {
    /// An mDNS registry with the given options; fails when an interface or the domain is wrong.
    /// No runtime is needed until first use.
    pub fn new(options: MdnsOptions) -> Result<Mdns> {
        let mut wanted = options.interfaces.clone();
        if wanted.is_empty()
            && let Ok(env) = std::env::var(net::INTERFACES_ENV)
        {
            wanted = env.split(',').map(str::to_string).collect();
        }
        let config = Config {
            interfaces: net::interfaces(&wanted)?,
            domain: domain(&options.domain)?,
            timeout: options.timeout,
            port: options.port,
            host: host(options.hostname.as_deref())?,
        };
        if config.timeout.is_zero() {
            return Err(Error::bad_request(
                "micro.registry.mdns",
                "the mDNS lookup timeout is zero; give it time to hear answers, e.g. 100ms",
            ));
        }
        Ok(Mdns {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared::new(config)),
                net: OnceCell::new(),
                tasks: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The sockets, opened (and the responder started) on first use.
    async fn net(&self) -> Result<Arc<Net>> {
        let inner = &self.inner;
        inner
            .net
            .get_or_try_init(|| async {
                let net = Arc::new(Net::open(&inner.shared.config)?);
                let mut tasks = inner.tasks.lock().unwrap();
                for link in 0..net.links.len() {
                    let respond = respond(inner.shared.clone(), net.clone(), link);
                    tasks.push(tokio::spawn(respond).abort_handle());
                }
                tasks.push(tokio::spawn(sweep(inner.shared.clone(), net.clone())).abort_handle());
                Ok::<_, Error>(net)
            })
            .await
            .cloned()
    }

    /// Multicasts `question` (a PTR query) on every interface and returns every answer heard
    /// within the timeout.
    async fn ask(&self, question: &str) -> Result<Vec<Vec<u8>>> {
        let config = &self.inner.shared.config;
        let query = zone::query(question).ok_or_else(|| {
            Error::bad_request(
                "micro.registry.mdns",
                format!("{question:?} cannot be asked over mDNS: it is not a valid DNS name"),
            )
        })?;
        let deadline = tokio::time::Instant::now() + config.timeout;
        let group = SocketAddr::V4(SocketAddrV4::new(net::GROUP, config.port));
        let mut listens = Vec::new();
        for iface in &config.interfaces {
            let iface = iface.addr;
            let socket = net::sender(iface)?;
            if let Err(e) = socket.send_to(&query, group).await {
                tracing::warn!(%iface, error = %e, "mdns: could not send a query");
                continue;
            }
            listens.push(gather(socket, deadline));
        }
        Ok(futures::future::join_all(listens)
            .await
            .into_iter()
            .flatten()
            .collect())
    }
}

/// Reads every packet arriving on `socket` until `deadline`.
async fn gather(socket: UdpSocket, deadline: tokio::time::Instant) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut buf = vec![0u8; RECV_BUFFER];
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        packets.push(buf[..n].to_vec());
    }
    packets
}

fn domain(raw: &str) -> Result<String> {
    let trimmed = raw.trim_matches('.');
    if trimmed.is_empty() || simple_dns::Name::new(trimmed).is_err() {
        return Err(Error::bad_request(
            "micro.registry.mdns",
            format!("mDNS domain {raw:?} is not a DNS name; go-micro uses \"micro.\""),
        ));
    }
    Ok(trimmed.to_string())
}

fn host(given: Option<&str>) -> Result<String> {
    if let Some(given) = given {
        let trimmed = given.trim_matches('.');
        if trimmed.is_empty() || simple_dns::Name::new(trimmed).is_err() {
            return Err(Error::bad_request(
                "micro.registry.mdns",
                format!("mDNS host name {given:?} is not a DNS name"),
            ));
        }
        return Ok(trimmed.to_string());
    }
    let machine = gethostname::gethostname().to_string_lossy().into_owned();
    let machine = machine.trim_matches('.');
    Ok(
        if !machine.is_empty() && simple_dns::Name::new(machine).is_ok() {
            machine.to_string()
        } else {
            "localhost".to_string()
        },
    )
}

impl Net {
    fn open(config: &Config) -> Result<Net> {
        Ok(Net {
            links: config
                .interfaces
                .iter()
                .map(|iface| net::responder(config.port, *iface))
                .collect::<Result<_>>()?,
            group: SocketAddr::V4(SocketAddrV4::new(net::GROUP, config.port)),
        })
    }

    /// Multicasts on every interface.
    async fn multicast(&self, packet: &[u8]) {
        for link in &self.links {
            if let Err(e) = link.send_to(packet, self.group).await {
                tracing::warn!(error = %e, "mdns: could not multicast");
            }
        }
    }

    /// Best effort, without a runtime: used when the registry is dropped.
    fn multicast_now(&self, packet: &[u8]) {
        for link in &self.links {
            let _ = link.try_send_to(packet, self.group);
        }
    }
}

impl Local {
    /// Checks and encodes one node of a service.
    fn new(
        config: &Config,
        service: &Service,
        node: &Node,
        ttl: Option<Duration>,
    ) -> Result<Local> {
        let bad = |detail: String| Error::bad_request("micro.registry.mdns", detail);
        if service.name.is_empty() || node.id.is_empty() {
            return Err(bad(format!(
                "cannot register node {:?} of service {:?}: both need a name",
                node.id, service.name
            )));
        }
        let addr: SocketAddr = node.address.parse().map_err(|_| {
            bad(format!(
                "node {} address {:?} is not ip:port; mDNS announces an IP address, not a host name",
                node.id, node.address
            ))
        })?;
        if addr.port() == 0 {
            return Err(bad(format!(
                "node {} address {} has no port",
                node.id, node.address
            )));
        }
        let txt = txt::encode(&txt::Txt {
            service: service.name.clone(),
            version: service.version.clone(),
            metadata: node.metadata.clone(),
            endpoints: service.endpoints.clone(),
        })?;
        let entry = Entry::node(
            &node.id,
            &service.name,
            &config.domain,
            &config.host,
            addr.ip(),
            addr.port(),
            txt,
        );
        entry
            .check()
            .map_err(|why| bad(format!("cannot announce node {}: {why}", node.id)))?;
        let size = entry.announcement(TTL).map_or(usize::MAX, |p| p.len());
        if size > MAX_MESSAGE {
            return Err(bad(format!(
                "node {} of {} needs a {size}-byte mDNS message, over the {MAX_MESSAGE}-byte UDP limit; \
                 register fewer or smaller endpoints",
                node.id, service.name
            )));
        }
        let announced = Service {
            name: service.name.clone(),
            version: service.version.clone(),
            metadata: Default::default(),
            endpoints: service.endpoints.clone(),
            nodes: vec![Node {
                address: addr.to_string(),
                ..node.clone()
            }],
        };
        Ok(Local {
            entry,
            service: announced,
            expires: ttl.map(|ttl| Instant::now() + ttl),
            generation: 0,
        })
    }

    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

fn key(config: &Config, service: &str, node_id: &str) -> String {
    format!("{node_id}.{service}.{}", config.domain).to_ascii_lowercase()
}

impl Shared {
    fn new(config: Config) -> Shared {
        Shared {
            config,
            nodes: Mutex::new(HashMap::new()),
            events: broadcast::channel(WATCH_BUFFER).0,
            seen: Mutex::new(HashMap::new()),
            digests: RandomState::new(),
            generation: AtomicU64::new(0),
        }
    }

    /// Multicasts the node's announcement (or goodbye, with `ttl` 0) and tells our watchers.
    async fn announce(&self, net: &Net, entry: &Entry, ttl: u32) {
        if let Some(packet) = entry.announcement(ttl) {
            net.multicast(&packet).await;
            self.observe(&packet);
        }
    }

    /// The response messages to a query's first [`MAX_QUESTIONS`] questions: one per entry that
    /// has an answer.
    fn answer(&self, query: &Packet<'_>, id: u16) -> Vec<Vec<u8>> {
        let questions = &query.questions[..query.questions.len().min(MAX_QUESTIONS)];
        let now = Instant::now();
        let nodes = self.nodes.lock().unwrap();
        let live: Vec<&Local> = nodes.values().filter(|l| l.live(now)).collect();
        let mut services: Vec<&str> = live.iter().map(|l| l.service.name.as_str()).collect();
        services.sort_unstable();
        services.dedup();
        let listings: Vec<Entry> = services
            .iter()
            .map(|s| Entry::listing(s, &self.config.domain, &self.config.host))
            .collect();
        let entries = live.iter().map(|l| &l.entry).chain(&listings);
        let mut replies = Vec::new();
        for entry in entries {
            let records: Vec<_> = questions
                .iter()
                .flat_map(|q| entry.records(&message::text(&q.qname), Ask::of(q.qtype), TTL))
                .collect();
            if !records.is_empty()
                && let Some(reply) = zone::response(id, questions, records)
            {
                replies.push(reply);
            }
        }
        replies
    }

    /// Turns the instances a response announces into watch events, once each.
    fn observe(&self, packet: &[u8]) {
        if self.events.receiver_count() == 0 {
            return;
        }
        let Some(packet) = message::parse(packet) else {
            return;
        };
        let suffix = format!(".{}", self.config.domain);
        for instance in message::instances(&packet) {
            let lower = instance.name.to_ascii_lowercase();
            if instance.txt.is_empty() || !lower.ends_with(&suffix) {
                continue; // a listing entry, or another domain
            }
            match message::service(&instance, &self.config.domain) {
                Ok(service) => {
                    let digest = self.digests.hash_one((&instance.txt, instance.addr));
                    self.note(lower, service, digest, instance.ttl)
                }
                Err(e) => {
                    tracing::warn!(instance = %instance.name, "mdns: dropped an announcement: {}", e.detail)
                }
            }
        }
    }

    /// Decides which event, if any, a sighting is worth, and sends it.
    fn note(&self, key: String, service: Service, digest: u64, ttl: u32) {
        let now = Instant::now();
        let action = {
            let mut seen = self.seen.lock().unwrap();
            let fresh = Duration::from_secs(TTL.into());
            seen.retain(|_, s| now.duration_since(s.at) < fresh);
            if seen.len() >= MAX_SEEN
                && !seen.contains_key(&key)
                && let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, s)| s.at)
                    .map(|(k, _)| k.clone())
            {
                seen.remove(&oldest);
            }
            let before = seen.get(&key);
            let action = if ttl == 0 {
                match before {
                    Some(s) if !s.live && now.duration_since(s.at) < GONE_QUIET => None,
                    _ => Some(Action::Delete),
                }
            } else {
                match before {
                    Some(s) if s.live && s.digest == digest => None,
                    Some(s) if s.live => Some(Action::Update),
                    _ => Some(Action::Create),
                }
            };
            let at = match (action, before) {
                (None, Some(s)) if ttl == 0 => s.at,
                _ => now,
            };
            seen.insert(
                key,
                Seen {
                    live: ttl > 0,
                    digest,
                    at,
                },
            );
            action
        };
        if let Some(action) = action {
            let _ = self.events.send(Event::new(action, service));
        }
    }

    /// Removes nodes whose registration TTL ran out, saying goodbye for each.
    async fn expire(&self, net: &Net) {
        let now = Instant::now();
        let gone: Vec<Local> = {
            let mut nodes = self.nodes.lock().unwrap();
            let expired: Vec<String> = nodes
                .iter()
                .filter(|(_, l)| !l.live(now))
                .map(|(k, _)| k.clone())
                .collect();
            expired.iter().filter_map(|k| nodes.remove(k)).collect()
        };
        for local in gone {
            tracing::debug!(node = %local.service.nodes[0].id, "mdns: registration TTL ran out");
            self.announce(net, &local.entry, 0).await;
        }
    }
}

/// Answers queries and hears announcements on one interface's responder socket, until aborted.
async fn respond(shared: Arc<Shared>, net: Arc<Net>, link: usize) {
    let socket = &net.links[link];
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!(error = %e, "mdns: receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        handle(&shared, socket, net.group, &buf[..n], from).await;
    }
}

/// Handles a packet that arrived on `socket`'s interface; replies go out there only.
async fn handle(
    shared: &Shared,
    socket: &UdpSocket,
    group: SocketAddr,
    bytes: &[u8],
    from: SocketAddr,
) {
    let Some(packet) = message::parse(bytes) else {
        return;
    };
    if packet.has_flags(PacketFlag::RESPONSE) {
        shared.observe(bytes);
        return;
    }
    if packet.opcode() != OPCODE::StandardQuery || packet.rcode() != RCODE::NoError {
        tracing::debug!(%from, "mdns: ignored a query with a non-zero opcode or rcode");
        return;
    }
    // A querier on an ephemeral port (go-micro's, ours) wants a unicast reply carrying its id;
    // one on the mDNS port gets a multicast reply.
    let unicast = from.port() != shared.config.port;
    let (id, to) = if unicast {
        (packet.id(), from)
    } else {
        (0, group)
    };
    for reply in shared.answer(&packet, id) {
        if let Err(e) = socket.send_to(&reply, to).await {
            tracing::debug!(%to, error = %e, "mdns: could not send a reply");
        }
    }
}

/// Drops nodes whose registration TTL ran out, until aborted.
async fn sweep(shared: Arc<Shared>, net: Arc<Net>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        shared.expire(&net).await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        let Some(net) = self.net.get() else { return };
        let nodes: Vec<Local> = self
            .shared
            .nodes
            .lock()
            .unwrap()
            .drain()
            .map(|(_, l)| l)
            .collect();
        for local in nodes {
            if let Some(packet) = local.entry.announcement(0) {
                net.multicast_now(&packet);
            }
        }
    }
}

#[async_trait]
impl Registry for Mdns {
    async fn register(&self, service: &Service, ttl: Option<Duration>) -> Result<()> {
        let shared = &self.inner.shared;
        let locals = service
            .nodes
            .iter()
            .map(|node| Local::new(&shared.config, service, node, ttl))
            .collect::<Result<Vec<_>>>()?;
        let net = self.net().await?;
        let mut fresh = Vec::new();
        {
            let now = Instant::now();
            let mut nodes = shared.nodes.lock().unwrap();
            for mut local in locals {
                let key = key(&shared.config, &service.name, &local.service.nodes[0].id);
                match nodes.get_mut(&key) {
                    Some(known) if known.live(now) && known.service == local.service => {
                        known.expires = local.expires;
                    }
                    _ => {
                        local.generation = shared.generation.fetch_add(1, Ordering::Relaxed) + 1;
                        fresh.push((key.clone(), local.entry.clone(), local.generation));
                        nodes.insert(key, local);
                    }
                }
            }
        }
        for (key, entry, generation) in fresh {
            shared.announce(&net, &entry, TTL).await;
            let (shared, net) = (shared.clone(), net.clone());
            tokio::spawn(async move {
                tokio::time::sleep(REANNOUNCE_AFTER).await;
                let still = shared
                    .nodes
                    .lock()
                    .unwrap()
                    .get(&key)
                    .is_some_and(|l| l.generation == generation);
                if still {
                    shared.announce(&net, &entry, TTL).await;
                }
            });
        }
        Ok(())
    }

    async fn deregister(&self, service: &Service) -> Result<()> {
        let shared = &self.inner.shared;
        let gone: Vec<Local> = {
            let mut nodes = shared.nodes.lock().unwrap();
            service
                .nodes
                .iter()
                .filter_map(|n| nodes.remove(&key(&shared.config, &service.name, &n.id)))
                .collect()
        };
        if gone.is_empty() {
            return Ok(());
        }
        let net = self.net().await?;
        for local in gone {
            shared.announce(&net, &local.entry, 0).await;
        }
        Ok(())
    }

    async fn get_service(&self, name: &str) -> Result<Vec<Service>> {
        self.net().await?;
        let config = &self.inner.shared.config;
        let mut versions: BTreeMap<String, Service> = BTreeMap::new();
        for bytes in self.ask(&format!("{name}.{}", config.domain)).await? {
            let Some(packet) = message::parse(&bytes) else {
                continue;
            };
            for instance in message::instances(&packet) {
                if instance.ttl == 0 || instance.txt.is_empty() {
                    continue;
                }
                let found = match message::service(&instance, &config.domain) {
                    Ok(found) if found.name == name => found,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(instance = %instance.name, "mdns: dropped an answer: {}", e.detail);
                        continue;
                    }
                };
                merge(&mut versions, found);
            }
        }
        if versions.is_empty() {
            return Err(not_found(name));
        }
        Ok(versions.into_values().collect())
    }

    async fn list_services(&self) -> Result<Vec<Service>> {
        self.net().await?;
        let domain = &self.inner.shared.config.domain;
        let owner = format!("{LISTING}.{domain}");
        let suffix = format!(".{owner}");
        let mut names: Vec<String> = Vec::new();
        for bytes in self.ask(&owner).await? {
            let Some(packet) = message::parse(&bytes) else {
                continue;
            };
            for (target, ttl) in message::pointers(&packet, &owner) {
                let lower = target.to_ascii_lowercase();
                if ttl > 0 && lower.ends_with(&suffix) && lower.len() > suffix.len() {
                    names.push(target[..target.len() - suffix.len()].to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names
            .into_iter()
            .map(|name| Service {
                name,
                ..Default::default()
            })
            .collect())
    }

    async fn watch(&self, service: Option<&str>) -> Result<Watcher> {
        self.net().await?;
        Ok(Watcher::new(self.inner.shared.events.subscribe(), service))
    }

    fn name(&self) -> &'static str {
        "mdns"
    }
}

/// Adds a found node to its version, once per node id.
fn merge(versions: &mut BTreeMap<String, Service>, found: Service) {
    let service = versions
        .entry(found.version.clone())
        .or_insert_with(|| Service {
            nodes: Vec::new(),
            ..found.clone()
        });
    for node in found.nodes {
        if !service.nodes.iter().any(|n| n.id == node.id) {
            service.nodes.push(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{CLASS, Name, QTYPE, Question, TYPE};
    use std::net::{IpAddr, Ipv4Addr};

    fn shared() -> Shared {
        Shared::new(Config {
            interfaces: Vec::new(),
            domain: "micro".into(),
            timeout: Duration::from_millis(100),
            port: 5353,
            host: "vm".into(),
        })
    }

    /// A query whose questions ask, in order, for each of `names`' PTR records.
    fn query(names: &[String]) -> Vec<u8> {
        let mut packet = Packet::new_query(0);
        for name in names {
            let qname = Name::new(name).unwrap();
            let ptr = QTYPE::TYPE(TYPE::PTR);
            let question = Question::new(qname, ptr, CLASS::IN.into(), false);
            packet.questions.push(question);
        }
        packet.build_bytes_vec().unwrap()
    }

    /// Questions about nobody, then one about `greeter.micro` at position `at`.
    fn greeter_asked_at(at: usize, total: usize) -> Vec<u8> {
        let names: Vec<String> = (0..total)
            .map(|i| {
                if i == at {
                    "greeter.micro".to_string()
                } else {
                    format!("nobody-{i}.micro")
                }
            })
            .collect();
        query(&names)
    }

    #[test]
    fn questions_past_the_cap_are_not_answered() {
        let shared = shared();
        let service = Service {
            name: "greeter".into(),
            nodes: vec![Node {
                id: "greeter-1".into(),
                address: "127.0.0.1:9001".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let local = Local::new(&shared.config, &service, &service.nodes[0], None).unwrap();
        let key = key(&shared.config, "greeter", "greeter-1");
        shared.nodes.lock().unwrap().insert(key, local);
        let answer = |bytes: &[u8]| shared.answer(&message::parse(bytes).unwrap(), 0);

        let last_handled = greeter_asked_at(MAX_QUESTIONS - 1, MAX_QUESTIONS + 1);
        let replies = answer(&last_handled);
        assert_eq!(replies.len(), 1);
        // The reply echoes only the questions it answered.
        let reply = message::parse(&replies[0]).unwrap();
        assert_eq!(reply.questions.len(), MAX_QUESTIONS);

        let first_ignored = greeter_asked_at(MAX_QUESTIONS, MAX_QUESTIONS + 1);
        assert!(answer(&first_ignored).is_empty());
        let far_past = greeter_asked_at(999, 1000);
        assert!(answer(&far_past).is_empty());
    }

    #[test]
    fn a_flood_of_distinct_announcements_is_remembered_only_up_to_the_cap() {
        let shared = shared();
        let _watcher = shared.events.subscribe(); // announcements are read only for watchers
        let payload = txt::Txt {
            service: "greeter".into(),
            ..Default::default()
        };
        let txt = txt::encode(&payload).unwrap();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let flood = MAX_SEEN + 100;
        for i in 0..flood {
            let id = format!("flood-{i}");
            let entry = Entry::node(&id, "greeter", "micro", "vm", ip, 9001, txt.clone());
            shared.observe(&entry.announcement(TTL).unwrap());
        }
        let seen = shared.seen.lock().unwrap();
        assert_eq!(seen.len(), MAX_SEEN);
        let newest = format!("flood-{}.greeter.micro", flood - 1);
        assert!(seen.contains_key(&newest));
    }

    #[test]
    fn a_full_map_forgets_the_oldest_sighting_to_note_a_new_one() {
        let shared = shared();
        let now = Instant::now();
        {
            let mut seen = shared.seen.lock().unwrap();
            for i in 0..MAX_SEEN {
                let at = now - Duration::from_millis((MAX_SEEN - i) as u64);
                let sighting = Seen {
                    live: true,
                    digest: 0,
                    at,
                };
                seen.insert(format!("node-{i}"), sighting);
            }
        }
        let service = Service::default();
        // A sighting of a known instance makes no room.
        shared.note("node-5".into(), service.clone(), 0, TTL);
        assert_eq!(shared.seen.lock().unwrap().len(), MAX_SEEN);
        assert!(shared.seen.lock().unwrap().contains_key("node-0"));
        // A new instance takes the place of the oldest sighting.
        shared.note("new".into(), service, 0, TTL);
        let seen = shared.seen.lock().unwrap();
        assert_eq!(seen.len(), MAX_SEEN);
        assert!(seen.contains_key("new"));
        assert!(!seen.contains_key("node-0"));
        assert!(seen.contains_key("node-1"));
    }
}
