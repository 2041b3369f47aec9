//! The registries on servers against real ones (`scripts/servers.sh`): etcd and NATS alike
//! find nodes by version, let them go when deregistered, tell watchers, and answer "registry
//! unavailable" apart from "service not found"; then what each does its own way (go-micro's
//! etcd keys and leases, go-micro's NATS subjects and payloads).

mod support;

use futures::StreamExt;
use micro::errors::Kind;
use micro::registry::{Action, Etcd, Nats, Node, Registry, Service};
use std::time::Duration;

/// A service of a name no other test (or earlier run) uses, with one node.
fn service(name: &str, version: &str, node: &str) -> Service {
    Service {
        name: format!("{name}-{}", std::process::id()),
        version: version.into(),
        nodes: vec![Node {
            id: format!("{name}-{node}"),
            address: format!("127.0.0.1:{}", 9000 + node.len()),
            metadata: [("protocol".to_string(), "mucp".to_string())].into(),
        }],
        ..Default::default()
    }
}

fn etcd() -> Etcd {
    Etcd::new(Some(&support::server("etcd"))).unwrap()
}

fn nats() -> Nats {
    Nats::new(Some(&support::server("nats"))).unwrap()
}

async fn nodes_are_found_by_version_and_leave_when_deregistered(registry: &dyn Registry) {
    let (a, b, c) = (
        service(registry.name(), "1", "a"),
        service(registry.name(), "1", "b"),
        service(registry.name(), "2", "c"),
    );
    for s in [&a, &b, &c] {
        registry.register(s, None).await.unwrap();
    }
    let found = registry.get_service(&a.name).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].version.as_str(), found[0].nodes.len()), ("1", 2));
    assert_eq!((found[1].version.as_str(), found[1].nodes.len()), ("2", 1));
    assert!(
        registry
            .list_services()
            .await
            .unwrap()
            .iter()
            .any(|s| s.name == a.name)
    );

    registry.deregister(&a).await.unwrap();
    registry.deregister(&c).await.unwrap();
    let found = registry.get_service(&a.name).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].nodes[0].id, format!("{}-b", registry.name()));
    registry.deregister(&b).await.unwrap();
    let err = registry.get_service(&a.name).await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound, "{err}");
}

#[tokio::test]
async fn etcd_keys_and_values_are_go_micros() {
    let registry = etcd();
    let s = service("layout", "1.0", "x/y");
    registry.register(&s, None).await.unwrap();
    let mut client = etcd_client::Client::connect([support::server("etcd")], None)
        .await
        .unwrap();
    let key = format!("/micro/registry/{}/layout-x-y", s.name);
    let got = client.get(key.as_str(), None).await.unwrap();
    let value: serde_json::Value = serde_json::from_slice(got.kvs()[0].value()).unwrap();
    assert_eq!(value["name"], s.name.as_str());
    assert_eq!(value["version"], "1.0");
    assert_eq!(value["nodes"][0]["id"], "layout-x/y");
    assert_eq!(value["nodes"][0]["metadata"]["protocol"], "mucp");
    registry.deregister(&s).await.unwrap();
}

#[tokio::test]
async fn on_etcd_a_node_whose_process_dies_leaves_within_its_ttl_and_watchers_hear_it() {
    let watching = etcd();
    let s = service("mortal", "1", "a");
    let mut watcher = watching.watch(Some(&s.name)).await.unwrap();
    {
        let dying = etcd();
        dying
            .register(&s, Some(Duration::from_secs(2)))
            .await
            .unwrap();
        let created = watcher.next().await.unwrap();
        assert_eq!(created.action, Action::Create);
        dying
            .register(&s, Some(Duration::from_secs(2)))
            .await
            .unwrap();
        assert_eq!(watcher.next().await.unwrap().action, Action::Update);
        // Dropped without deregistering, as a killed process would leave it: nobody keeps
        // the lease alive any more.
    }
    let gone = tokio::time::timeout(Duration::from_secs(8), watcher.next())
        .await
        .expect("the node outlived its TTL")
        .unwrap();
    assert_eq!(gone.action, Action::Delete);
    assert_eq!(gone.service.nodes[0].id, "mortal-a");
    assert_eq!(
        watching.get_service(&s.name).await.unwrap_err().kind,
        Kind::NotFound
    );
}

#[tokio::test]
async fn an_etcd_lease_kept_alive_outlives_its_ttl() {
    let registry = etcd();
    let s = service("lasting", "1", "a");
    registry
        .register(&s, Some(Duration::from_secs(2)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        registry.get_service(&s.name).await.unwrap()[0].nodes.len(),
        1
    );
    registry.deregister(&s).await.unwrap();
}

async fn watchers_hear_nodes_come_and_go(registry: &dyn Registry) {
    let s = service(&format!("watched-{}", registry.name()), "1", "a");
    let mut watcher = registry.watch(Some(&s.name)).await.unwrap();
    let mut other = registry.watch(Some("someone-else")).await.unwrap();
    registry.register(&s, None).await.unwrap();
    let created = watcher.next().await.unwrap();
    assert_eq!(
        (created.action, created.service.name.as_str()),
        (Action::Create, s.name.as_str())
    );
    registry.deregister(&s).await.unwrap();
    let gone = watcher.next().await.unwrap();
    assert_eq!(gone.action, Action::Delete);
    assert_eq!(gone.service.nodes[0].id, s.nodes[0].id);
    let heard = tokio::time::timeout(Duration::from_millis(300), other.next()).await;
    assert!(
        heard.is_err(),
        "a watcher of another service heard {heard:?}"
    );
}

async fn registry_unavailable_is_not_service_not_found(up: &dyn Registry, down: &dyn Registry) {
    let err = down.get_service("anything").await.unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    assert_eq!(err.code, 503);
    assert!(
        err.detail.contains("registry unavailable"),
        "{}",
        err.detail
    );
    // Retried after a pause, not on every call: the second answer comes at once.
    let again = down.get_service("anything").await.unwrap_err();
    assert_eq!(again.kind, Kind::Unavailable);

    let err = up.get_service("no-such-service").await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound, "{err}");
}

/// Runs the shared tests against `$make`, with `$down` a registry whose server is not there.
macro_rules! suite {
    ($module:ident, $make:expr, $down:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn nodes_are_found_by_version_and_leave_when_deregistered() {
                super::nodes_are_found_by_version_and_leave_when_deregistered(&$make).await;
            }

            #[tokio::test]
            async fn watchers_hear_nodes_come_and_go() {
                super::watchers_hear_nodes_come_and_go(&$make).await;
            }

            #[tokio::test]
            async fn registry_unavailable_is_not_service_not_found() {
                super::registry_unavailable_is_not_service_not_found(&$make, &$down).await;
            }
        }
    };
}

suite!(on_etcd, etcd(), Etcd::new(Some("127.0.0.1:1")).unwrap());
suite!(on_nats, nats(), Nats::new(Some("127.0.0.1:1")).unwrap());

/// On NATS a node lives in its process: once the process is gone nobody answers for it.
#[tokio::test]
async fn on_nats_a_node_whose_process_dies_leaves_at_once() {
    let asking = nats();
    let s = service("mortal", "1", "a");
    {
        let dying = nats();
        dying.register(&s, None).await.unwrap();
        assert_eq!(asking.get_service(&s.name).await.unwrap()[0].nodes.len(), 1);
    }
    let err = asking.get_service(&s.name).await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound, "{err}");
}

/// go-micro's NATS registry asks on `micro.nats.query` and announces on `micro.nats.watch`
/// with its `registry.Result` JSON: what a go-micro process sends, we answer, and what we
/// announce, it reads.
#[tokio::test]
async fn nats_subjects_and_payloads_are_go_micros() {
    let registry = nats();
    let s = service("wire", "1.0", "a");
    let raw = async_nats::connect(support::server("nats")).await.unwrap();
    let mut announced = raw.subscribe("micro.nats.watch").await.unwrap();
    raw.flush().await.unwrap();
    registry.register(&s, None).await.unwrap();
    let announcement = loop {
        let message = announced.next().await.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        if value["Service"]["name"] == s.name.as_str() {
            break value;
        }
    };
    assert_eq!(announcement["Action"], "create");
    assert_eq!(
        announcement["Service"]["nodes"][0]["metadata"]["protocol"],
        "mucp"
    );

    // As go-micro asks: its Result with a nil service for a list.
    let inbox = raw.new_inbox();
    let mut answers = raw.subscribe(inbox.clone()).await.unwrap();
    for query in [
        format!(r#"{{"Service":{{"name":"{}"}},"Action":"get"}}"#, s.name),
        r#"{"Service":null,"Action":"list"}"#.to_string(),
    ] {
        raw.publish_with_reply("micro.nats.query", inbox.clone(), query.into())
            .await
            .unwrap();
        let answer = loop {
            let message = tokio::time::timeout(Duration::from_secs(5), answers.next())
                .await
                .expect("no answer to go-micro's query")
                .unwrap();
            let service: Service = serde_json::from_slice(&message.payload).unwrap();
            if service.name == s.name {
                break service;
            }
        };
        assert_eq!(answer, s);
    }
    registry.deregister(&s).await.unwrap();
}
