//! A tour of the engine's foundation with its embedded defaults (mDNS registry on loopback,
//! HTTP broker, file store): register a service and find it, write and read a record, publish
//! a message and receive it. `make run` runs this; set `MICRO_*` variables to change parts.

use micro::broker::{Message, handler};
use micro::config::Config;
use micro::registry::{Node, Service};
use micro::store::{ReadOptions, Record, WriteOptions};
use std::time::Duration;

#[tokio::main]
async fn main() -> micro::Result<()> {
    let config = Config::from_env();
    let registry = config.registry()?;
    let broker = config.broker(registry.clone())?;
    let store = config.store()?;
    println!(
        "registry {}, broker {}, store {}",
        registry.name(),
        broker.name(),
        store.name()
    );

    let service = Service {
        name: "helloworld".into(),
        version: "latest".into(),
        nodes: vec![Node {
            id: format!("helloworld-{}", uuid::Uuid::new_v4()),
            address: "127.0.0.1:8080".into(),
            metadata: [("protocol".to_string(), "mucp".to_string())].into(),
        }],
        ..Default::default()
    };
    registry
        .register(&service, Some(Duration::from_secs(90)))
        .await?;
    let found = registry.get_service("helloworld").await?;
    println!("found helloworld at {}", found[0].nodes[0].address);

    store
        .write(
            Record::new("greeting", "Hello from the store"),
            &WriteOptions::default(),
        )
        .await?;
    let record = store.read("greeting", &ReadOptions::default()).await?;
    println!(
        "read {:?} = {}",
        record[0].key,
        String::from_utf8_lossy(&record[0].value)
    );

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let subscription = broker
        .subscribe(
            "tour",
            handler(move |topic, message: Message| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((topic, message.body));
                    Ok(())
                }
            }),
            Default::default(),
        )
        .await?;
    broker
        .publish("tour", Message::new("Hello from the broker"))
        .await?;
    let (topic, body) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .map_err(|_| micro::Error::timeout("tour", "no message within 5s"))?
        .expect("the subscription is live");
    println!("received on {topic}: {}", String::from_utf8_lossy(&body));

    subscription.unsubscribe().await?;
    registry.deregister(&service).await?;
    println!("deregistered; bye");
    Ok(())
}
