//! The in-process registry and the watch-invalidated cache: registration, TTL expiry, watch
//! events, lag reporting and go-micro's JSON.

use micro::errors::Kind;
use micro::registry::{
    Action, Cache, Endpoint, Memory, Node, Registry, Service, Value, WATCH_LAGGED,
};
use std::sync::Arc;
use std::time::Duration;

fn service(name: &str, version: &str, node: &str) -> Service {
    Service {
        name: name.into(),
        version: version.into(),
        nodes: vec![Node {
            id: format!("{name}-{node}"),
            address: format!("127.0.0.1:{}", 9000 + node.len()),
            metadata: [("protocol".to_string(), "mucp".to_string())].into(),
        }],
        endpoints: vec![Endpoint {
            name: "Greeter.Hello".into(),
            request: Some(Value {
                name: "Request".into(),
                kind: "Request".into(),
                values: vec![],
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn registered_nodes_are_found_and_deregistered_nodes_leave() {
    let registry = Memory::new();
    registry
        .register(&service("greeter", "1", "a"), None)
        .await
        .unwrap();
    registry
        .register(&service("greeter", "1", "b"), None)
        .await
        .unwrap();
    registry
        .register(&service("greeter", "2", "c"), None)
        .await
        .unwrap();

    let mut found = registry.get_service("greeter").await.unwrap();
    found.sort_by(|a, b| a.version.cmp(&b.version));
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].nodes.len(), 2);
    assert_eq!(found[0].endpoints[0].name, "Greeter.Hello");
    assert_eq!(registry.list_services().await.unwrap().len(), 2);

    registry
        .deregister(&service("greeter", "1", "a"))
        .await
        .unwrap();
    registry
        .deregister(&service("greeter", "2", "c"))
        .await
        .unwrap();
    let found = registry.get_service("greeter").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].nodes[0].id, "greeter-b");

    registry
        .deregister(&service("greeter", "1", "b"))
        .await
        .unwrap();
    let err = registry.get_service("greeter").await.unwrap_err();
    assert_eq!(err.code, 404);
    assert!(err.detail.contains("greeter"), "{}", err.detail);
}

#[tokio::test]
async fn node_leaves_when_its_ttl_runs_out_and_watchers_hear_it() {
    let registry = Memory::new();
    let mut watcher = registry.watch(Some("greeter")).await.unwrap();
    registry
        .register(
            &service("greeter", "1", "a"),
            Some(Duration::from_millis(200)),
        )
        .await
        .unwrap();
    registry
        .register(&service("greeter", "1", "b"), None)
        .await
        .unwrap();
    assert_eq!(watcher.next().await.unwrap().action, Action::Create);
    assert_eq!(watcher.next().await.unwrap().action, Action::Update);

    let event = tokio::time::timeout(Duration::from_secs(3), watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.action, Action::Delete);
    assert_eq!(event.service.nodes[0].id, "greeter-a");
    let nodes = &registry.get_service("greeter").await.unwrap()[0].nodes;
    assert_eq!(
        nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["greeter-b"]
    );
}

#[tokio::test]
async fn watcher_filters_by_service() {
    let registry = Memory::new();
    let mut watcher = registry.watch(Some("wanted")).await.unwrap();
    registry
        .register(&service("other", "1", "a"), None)
        .await
        .unwrap();
    registry
        .register(&service("wanted", "1", "a"), None)
        .await
        .unwrap();
    assert_eq!(watcher.next().await.unwrap().service.name, "wanted");
}

#[tokio::test]
async fn watcher_that_falls_behind_is_told_so() {
    let registry = Memory::new();
    let mut watcher = registry.watch(None).await.unwrap();
    for i in 0..2000 {
        registry
            .register(&service(&format!("s{i}"), "1", "a"), None)
            .await
            .unwrap();
    }
    let err = watcher.next().await.unwrap_err();
    assert_eq!((err.id.as_str(), err.kind), (WATCH_LAGGED, Kind::Lagged));
    assert!(err.detail.contains("missed"), "{}", err.detail);
    // After the error the watcher goes on with the events still buffered.
    assert_eq!(watcher.next().await.unwrap().action, Action::Create);
}

/// Waits up to 3 s for `done` to hold, failing with `what` when it never does.
async fn eventually(what: &str, done: impl AsyncFn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn cache_serves_lookups_and_drops_entries_on_watch_events() {
    let registry = Arc::new(Memory::new());
    let cache = Cache::with_ttl(registry.clone(), Duration::from_secs(3600));
    registry
        .register(&service("greeter", "1", "a"), None)
        .await
        .unwrap();
    let first = cache.lookup("greeter").await.unwrap();
    assert_eq!(first[0].nodes.len(), 1);
    assert!(
        Arc::ptr_eq(&first, &cache.lookup("greeter").await.unwrap()),
        "second lookup is cached"
    );

    // A change made behind the cache's back reaches it through the watch.
    registry
        .register(&service("greeter", "1", "b"), None)
        .await
        .unwrap();
    eventually("cache never saw the new node", async || {
        cache.lookup("greeter").await.unwrap()[0].nodes.len() == 2
    })
    .await;

    registry
        .deregister(&service("greeter", "1", "a"))
        .await
        .unwrap();
    registry
        .deregister(&service("greeter", "1", "b"))
        .await
        .unwrap();
    eventually("cache kept a deregistered service", async || {
        cache.lookup("greeter").await.is_err()
    })
    .await;
    assert_eq!(cache.lookup("greeter").await.unwrap_err().code, 404);
}

#[tokio::test]
async fn cache_keeps_the_service_names_until_one_comes_or_goes() {
    let registry = Arc::new(Memory::new());
    let cache = Cache::with_ttl(registry.clone(), Duration::from_secs(3600));
    registry
        .register(&service("greeter", "1", "a"), None)
        .await
        .unwrap();
    let names = cache.names().await.unwrap();
    assert_eq!(*names, ["greeter"]);

    // A known service changing keeps the list; a new one or one leaving replaces it.
    registry
        .register(&service("greeter", "1", "b"), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(Arc::ptr_eq(&names, &cache.names().await.unwrap()));
    registry
        .register(&service("auth", "1", "c"), None)
        .await
        .unwrap();
    eventually("the names never took auth in", async || {
        *cache.names().await.unwrap() == ["auth", "greeter"]
    })
    .await;
    registry
        .deregister(&service("auth", "1", "c"))
        .await
        .unwrap();
    eventually("the names kept auth after it left", async || {
        *cache.names().await.unwrap() == ["greeter"]
    })
    .await;
}

#[tokio::test]
async fn cache_entries_expire_after_their_ttl() {
    let registry = Arc::new(Memory::new());
    let cache = Cache::with_ttl(registry.clone(), Duration::from_millis(50));
    registry
        .register(&service("greeter", "1", "a"), None)
        .await
        .unwrap();
    let first = cache.lookup("greeter").await.unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(!Arc::ptr_eq(
        &first,
        &cache.lookup("greeter").await.unwrap()
    ));
}

#[test]
fn json_is_go_micro_json() {
    let svc = service("greeter", "1", "a");
    let json: serde_json::Value = serde_json::to_value(&svc).unwrap();
    assert_eq!(json["name"], "greeter");
    assert_eq!(
        json["metadata"],
        serde_json::Value::Null,
        "empty maps are null, as Go writes them"
    );
    assert_eq!(json["endpoints"][0]["request"]["type"], "Request");
    assert_eq!(
        json["endpoints"][0]["request"]["values"],
        serde_json::Value::Null
    );
    assert_eq!(json["endpoints"][0]["response"], serde_json::Value::Null);
    assert_eq!(json["nodes"][0]["metadata"]["protocol"], "mucp");

    // What go-micro writes, nulls and all, reads back into the same model.
    let go = r#"{"name":"greeter","version":"latest","metadata":null,"endpoints":[{"name":"Greeter.Hello",
        "request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},
        "response":null,"metadata":{"stream":"true"}}],"nodes":[{"id":"greeter-1","address":"10.0.0.1:8080","metadata":null}]}"#;
    let svc: Service = serde_json::from_str(go).unwrap();
    assert_eq!(
        svc.endpoints[0].request.as_ref().unwrap().values[0].kind,
        "string"
    );
    assert_eq!(svc.endpoints[0].metadata["stream"], "true");
    assert!(svc.nodes[0].metadata.is_empty());
    let again: Service = serde_json::from_str(&serde_json::to_string(&svc).unwrap()).unwrap();
    assert_eq!(again, svc);
}
