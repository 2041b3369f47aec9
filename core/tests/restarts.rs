//! The backends on servers live through a restart of their server with no restart of their
//! own: a service is back in the registry (etcd, NATS) within one register interval and a
//! client finds and calls it again; NATS subscriptions, core and JetStream, get messages again.
//! Its own test binary: it takes down the servers other tests use.

mod support;

use micro::broker::{self, Broker, Message, SubscribeOptions, handler};
use micro::errors::Kind;
use micro::registry::{Etcd, Nats, Registry};
use micro::store::Store;
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
async fn registry_and_broker_come_back_after_nats_restarts() {
    let address = support::server("nats");
    let stored_at = format!("{address}?jetstream=true");
    let brokers: [Arc<dyn Broker>; 2] = [
        Arc::new(broker::Nats::new(Some(&address)).unwrap()),
        Arc::new(broker::Nats::new(Some(&stored_at)).unwrap()),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut subscriptions = Vec::new();
    for (i, broker) in brokers.iter().enumerate() {
        let tx = tx.clone();
        let topic = format!("restarted-{i}-{}", std::process::id());
        let options = SubscribeOptions {
            queue: Some("through".into()),
        };
        let record = handler(move |topic, _| {
            let _ = tx.send(topic);
            async { Ok(()) }
        });
        subscriptions.push(broker.subscribe(&topic, record, options).await.unwrap());
    }

    let store = micro::store::Nats::new(micro::store::Options {
        address: Some(address.clone()),
        ..Default::default()
    })
    .unwrap();
    let kept = micro::store::Record::new(format!("kept-{}", std::process::id()), "through");
    store
        .write(kept.clone(), &Default::default())
        .await
        .unwrap();

    let registry = Nats::new(Some(&address)).unwrap();
    comes_back_after_restart("nats", Arc::new(registry)).await;

    // JetStream keeps buckets on disk: the record is still there, and the store writes again.
    let read = store.read(&kept.key, &Default::default()).await.unwrap();
    assert_eq!(read[0].value, "through");
    store
        .write(
            micro::store::Record::new("after", "restart"),
            &Default::default(),
        )
        .await
        .unwrap();

    for (broker, subscription) in brokers.iter().zip(&subscriptions) {
        let delivered = async {
            loop {
                if broker
                    .publish(subscription.topic(), Message::new("again"))
                    .await
                    .is_ok()
                    && let Ok(Some(topic)) =
                        tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
                    && topic == subscription.topic()
                {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), delivered)
            .await
            .expect("the subscription never got a message after NATS restarted");
    }
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
