//! Node selection: which of a service's nodes a call goes to. The nodes of every version are
//! pooled, as go-micro does, and a retry prefers a node not tried yet in the same call.

use crate::registry::Service;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// How a node is chosen among a service's nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selector {
    /// Any node, at random: go-micro's default.
    #[default]
    Random,
    /// Each node in turn, per service.
    RoundRobin,
}

/// Where a call may go: the nodes found in the registry, or addresses given by the caller.
pub(crate) enum Nodes<'a> {
    /// Every version of the service, from the registry cache.
    Registry(Arc<Vec<Service>>),
    /// Addresses from [`CallOptions::address`](super::CallOptions::address).
    Fixed(&'a [String]),
}

impl Nodes<'_> {
    /// Every node address, versions pooled.
    pub(crate) fn addresses(&self) -> Vec<&str> {
        match self {
            Nodes::Registry(services) => services
                .iter()
                .flat_map(|s| s.nodes.iter().map(|n| n.address.as_str()))
                .collect(),
            Nodes::Fixed(addresses) => addresses.iter().map(String::as_str).collect(),
        }
    }

    /// Whether the registry lists `endpoint` as a stream endpoint.
    pub(crate) fn is_stream(&self, endpoint: &str) -> bool {
        let Nodes::Registry(services) = self else {
            return false;
        };
        services
            .iter()
            .flat_map(|s| &s.endpoints)
            .any(|e| e.name == endpoint && e.metadata.get("stream").is_some_and(|v| v == "true"))
    }
}

/// A [`Selector`] with the state it needs: a turn counter per service for round-robin.
#[derive(Default)]
pub(crate) struct Picker {
    selector: Selector,
    turns: RwLock<HashMap<String, Arc<AtomicUsize>>>,
}

impl Picker {
    pub(crate) fn new(selector: Selector) -> Self {
        Picker {
            selector,
            turns: RwLock::default(),
        }
    }

    /// A node address for `service`, preferring those not in `tried`; `None` when there are
    /// no nodes at all.
    pub(crate) fn pick<'a>(
        &self,
        service: &str,
        addresses: &[&'a str],
        tried: &[&str],
    ) -> Option<&'a str> {
        let fresh: Vec<&'a str>;
        let candidates = if tried.is_empty() {
            addresses
        } else {
            fresh = addresses
                .iter()
                .copied()
                .filter(|a| !tried.contains(a))
                .collect();
            if fresh.is_empty() { addresses } else { &fresh }
        };
        if candidates.is_empty() {
            return None;
        }
        let index = match self.selector {
            Selector::Random => rand::random_range(0..candidates.len()),
            // A retry does not take a turn, so a dead node does not push the live ones'
            // turns around.
            Selector::RoundRobin => self.turn(service, tried.is_empty()) % candidates.len(),
        };
        Some(candidates[index])
    }

    /// `service`'s turn counter, moved on when `advance`.
    fn turn(&self, service: &str, advance: bool) -> usize {
        let step = usize::from(advance);
        if let Some(counter) = self.turns.read().unwrap().get(service) {
            return counter.fetch_add(step, Ordering::Relaxed);
        }
        let counter = self
            .turns
            .write()
            .unwrap()
            .entry(service.to_string())
            .or_default()
            .clone();
        counter.fetch_add(step, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Node;

    fn service(version: &str, addresses: &[&str]) -> Service {
        Service {
            name: "greeter".into(),
            version: version.into(),
            nodes: addresses
                .iter()
                .map(|a| Node {
                    id: format!("greeter-{a}"),
                    address: a.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn nodes_of_every_version_are_pooled() {
        let nodes = Nodes::Registry(Arc::new(vec![
            service("1", &["a:1"]),
            service("2", &["b:1", "c:1"]),
        ]));
        assert_eq!(nodes.addresses(), ["a:1", "b:1", "c:1"]);
    }

    #[test]
    fn round_robin_takes_each_node_in_turn_per_service() {
        let picker = Picker::new(Selector::RoundRobin);
        let nodes = ["a:1", "b:1"];
        let mut seen = Vec::new();
        for _ in 0..2 {
            seen.push(picker.pick("one", &nodes, &[]).unwrap());
            // Calls to another service do not disturb the turns of the first.
            picker.pick("two", &nodes, &[]).unwrap();
        }
        seen.sort();
        assert_eq!(seen, ["a:1", "b:1"]);
    }

    #[test]
    fn retries_prefer_untried_nodes() {
        for selector in [Selector::Random, Selector::RoundRobin] {
            let picker = Picker::new(selector);
            for _ in 0..20 {
                assert_eq!(picker.pick("svc", &["a:1", "b:1"], &["a:1"]), Some("b:1"));
            }
            assert_eq!(picker.pick("svc", &["a:1"], &["a:1"]), Some("a:1"));
            assert_eq!(picker.pick("svc", &[], &[]), None);
        }
    }
}
