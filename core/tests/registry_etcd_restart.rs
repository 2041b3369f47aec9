//! A service registered in etcd is back in the registry within one register interval after
//! etcd is killed and restarted, and a client finds and calls it again, with no restart of
//! either. Its own test binary: it takes down the etcd other tests use.

mod support;

use micro::errors::Kind;
use micro::registry::{Etcd, Registry};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Ping {
    n: u32,
}

#[tokio::test]
async fn a_service_comes_back_after_etcd_restarts() {
    let address = support::server("etcd");
    let registry: Arc<dyn Registry> = Arc::new(Etcd::new(Some(&address)).unwrap());
    let name = format!("survivor-{}", std::process::id());
    let interval = Duration::from_secs(1);
    let _running = micro::Service::new(name.clone())
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .register_ttl(Duration::from_secs(3), interval)
        .handle("Survivor.Ping", |_ctx, ping: Ping| async move { Ok(ping) })
        .start()
        .await
        .unwrap();
    let client = micro::Client::new(registry.clone());
    let call = async || {
        client
            .call::<_, Ping>(&name, "Survivor.Ping", &Ping { n: 7 })
            .await
    };
    assert_eq!(call().await.unwrap().n, 7);

    support::servers(&["kill", "etcd"]);
    let err = registry.get_service(&name).await.unwrap_err();
    assert_eq!(err.kind, Kind::Unavailable, "{err}");
    support::servers(&["start", "etcd"]);

    // etcd kept the key and its lease through the restart; the lease's keep-alive stream broke,
    // so the service's next registration renews it. Well past the TTL it is still there.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let found = registry.get_service(&name).await.unwrap();
    assert_eq!(found[0].nodes.len(), 1, "{found:?}");
    assert_eq!(call().await.unwrap().n, 7);
}
