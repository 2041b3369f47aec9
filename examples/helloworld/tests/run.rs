//! The helloworld binary as a user runs it: it registers in mDNS, answers calls, and on
//! SIGTERM deregisters and exits cleanly. Runs inside its own network namespace.

#[path = "../../../core/tests/support/mod.rs"]
mod support;

use bytes::Bytes;
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::transport::{Conn, Header, Message};
use std::process::Command;
use std::time::Duration;

#[test]
fn serves_then_deregisters_and_exits_on_sigterm() {
    support::in_netns("serves_then_deregisters_and_exits_on_sigterm", async {
        let mut child = Command::new(env!("CARGO_BIN_EXE_helloworld"))
            .env("MICRO_REGISTRY", "mdns")
            .env("MICRO_SERVER_ADDRESS", "127.0.0.1:0")
            .spawn()
            .unwrap();
        let registry = Mdns::new(MdnsOptions {
            timeout: Duration::from_millis(300),
            ..Default::default()
        })
        .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let services = loop {
            if let Ok(found) = registry.get_service("helloworld").await {
                break found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "helloworld never registered"
            );
        };
        let node = &services[0].nodes[0];
        let endpoints: Vec<&str> = services[0]
            .endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert!(endpoints.contains(&"Helloworld.Call") && endpoints.contains(&"Helloworld.Stream"));

        let mut conn = Conn::dial(&node.address, Duration::from_secs(2), 1 << 20)
            .await
            .unwrap();
        let header: Header = [
            ("Content-Type", "application/json"),
            ("Micro-Service", "helloworld"),
            ("Micro-Endpoint", "Helloworld.Call"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        conn.send(&Message {
            header,
            body: Bytes::from_static(br#"{"name":"Alice"}"#),
        })
        .await
        .unwrap();
        assert_eq!(conn.recv().await.unwrap().body, r#"{"msg":"Hello Alice"}"#);

        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "helloworld exited with {status}");
        let err = registry.get_service("helloworld").await.unwrap_err();
        assert_eq!(err.code, 404, "still registered after SIGTERM: {err}");
    });
}
