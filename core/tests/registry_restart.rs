//! A service is back in the registry within one register interval after the registry's server
//! (etcd, NATS) is killed and restarted, and a client finds and calls it again, with no restart
//! of either. Its own test binary: it takes down the servers other tests use.

mod support;

use micro::errors::Kind;
use micro::registry::{Etcd, Nats, Registry};
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
    let registry = Etcd::new(Some(&support::server("etcd"))).unwrap();
    comes_back_after_restart("etcd", Arc::new(registry)).await;
}

#[tokio::test]
async fn a_service_comes_back_after_nats_restarts() {
    let registry = Nats::new(Some(&support::server("nats"))).unwrap();
    comes_back_after_restart("nats", Arc::new(registry)).await;
}

async fn comes_back_after_restart(server: &str, registry: Arc<dyn Registry>) {
    let name = format!("survivor-{server}-{}", std::process::id());
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

    support::servers(&["kill", server]);
    // The client may take a moment to notice the connection broke.
    let unavailable = async {
        loop {
            match registry.get_service(&name).await {
                Err(err) if err.kind == Kind::Unavailable => break,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), unavailable)
        .await
        .expect("the registry never said it was unavailable");
    support::servers(&["start", server]);

    // etcd kept the key and its lease through the restart; the lease's keep-alive stream broke,
    // so the service's next registration renews it. NATS keeps nothing: the service answers
    // queries again once its connection is back. Well past the TTL it is still there.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let found = registry.get_service(&name).await.unwrap();
    assert_eq!(found[0].nodes.len(), 1, "{found:?}");
    assert_eq!(call().await.unwrap().n, 7);
}
