//! The etcd registry against a real etcd (`scripts/servers.sh`): go-micro's keys and JSON,
//! versions, leases that end with their node, watch events, and "registry unavailable" told
//! apart from "service not found".

mod support;

use micro::errors::Kind;
use micro::registry::{Action, Etcd, Node, Registry, Service};
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

#[tokio::test]
async fn nodes_are_found_by_version_and_leave_when_deregistered() {
    let registry = etcd();
    let (a, b, c) = (
        service("greeter", "1", "a"),
        service("greeter", "1", "b"),
        service("greeter", "2", "c"),
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
    assert_eq!(found[0].nodes[0].id, "greeter-b");
    registry.deregister(&b).await.unwrap();
    let err = registry.get_service(&a.name).await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound, "{err}");
}

#[tokio::test]
async fn keys_and_values_are_go_micros() {
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
async fn a_node_whose_process_dies_leaves_within_its_ttl_and_watchers_hear_it() {
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
async fn a_kept_lease_outlives_its_ttl() {
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

#[tokio::test]
async fn registry_unavailable_is_not_service_not_found() {
    let down = Etcd::new(Some("127.0.0.1:1")).unwrap();
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

    let err = etcd().get_service("no-such-service").await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound, "{err}");
}
