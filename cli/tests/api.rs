//! `micro api` as a user runs it: the real binary, with the default mDNS registry, file
//! store and HTTP broker, in front of a real service, called over HTTP. Runs inside its own
//! network namespace so mDNS stays off real interfaces.

#[path = "../../core/tests/http/raw.rs"]
#[allow(dead_code)]
mod raw;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use micro::Error;
use micro::registry::{Mdns, MdnsOptions, Registry};
use raw::{http, parse, post_until_ok};
use serde_json::{Value, json};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// A free loopback port in this namespace.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[test]
fn micro_api_serves_every_route_in_front_of_an_mdns_service() {
    support::in_netns(
        "micro_api_serves_every_route_in_front_of_an_mdns_service",
        async {
            let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
            let service = micro::Service::new("helloworld")
                .registry(registry)
                .address("127.0.0.1:0")
                .handle("Helloworld.Call", |_ctx, req: Value| async move {
                    Ok(json!({ "msg": format!("Hello {}", req["name"].as_str().unwrap_or("")) }))
                })
                .handle("Helloworld.Fail", |_ctx, _req: Value| async move {
                    Err::<Value, _>(Error::bad_request("helloworld", "bad request"))
                })
                .start()
                .await
                .unwrap();

            let store = tempfile::tempdir().unwrap();
            let address = free_address();
            let mut child = Command::new(env!("CARGO_BIN_EXE_micro"))
                .args(["api", "--address", &address])
                .env("MICRO_REGISTRY", "mdns")
                .env("MICRO_STORE_ADDRESS", store.path())
                .env("MICRO_BROKER_ADDRESS", "127.0.0.1:0")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();

            // The gateway finds the service through mDNS once both are up.
            let greeting = post_until_ok(
                &address,
                "/helloworld/Helloworld.Call",
                "",
                r#"{"name":"Alice"}"#,
            )
            .await;
            assert_eq!(greeting, r#"{"msg":"Hello Alice"}"#);

            let (status, _, body) = http(&address, "GET", "/health", "", "").await;
            assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}\n"));

            let (status, _, body) = http(&address, "GET", "/", "", "").await;
            assert_eq!(status, 200);
            assert_eq!(
                parse(&body),
                json!([{"name": "helloworld", "endpoints": ["Helloworld.Call", "Helloworld.Fail"]}])
            );
            let (_, _, registry_list) = http(&address, "GET", "/micro/registry", "", "").await;
            assert_eq!(registry_list, body);

            let (status, _, body) = http(&address, "GET", "/helloworld", "", "").await;
            assert_eq!(status, 200);
            let described = parse(&body);
            assert_eq!(
                (&described["name"], &described["nodes"]),
                (&json!("helloworld"), &json!(1))
            );
            let (_, _, by_registry) =
                http(&address, "GET", "/micro/registry/helloworld", "", "").await;
            assert_eq!(by_registry, body);

            for path in [
                "/api/helloworld/Helloworld.Call",
                "/api/helloworld/Helloworld/Call",
            ] {
                let (status, _, body) = http(&address, "POST", path, "", r#"{"name":"Bob"}"#).await;
                assert_eq!(
                    (status, body.as_str()),
                    (200, r#"{"msg":"Hello Bob"}"#),
                    "{path}"
                );
            }

            let (status, _, body) = http(&address, "POST", "/nope/Nope.Call", "", "{}").await;
            assert_eq!(status, 404, "{body}");
            let (status, _, body) =
                http(&address, "POST", "/helloworld/Helloworld.Nope", "", "{}").await;
            assert_eq!(status, 404, "{body}");
            let (status, _, body) =
                http(&address, "POST", "/helloworld/Helloworld.Call", "", "{oops").await;
            assert_eq!(status, 400, "{body}");
            let (status, _, body) =
                http(&address, "POST", "/helloworld/Helloworld.Fail", "", "{}").await;
            assert_eq!(status, 400, "{body}");
            assert_eq!(Error::parse(&body).code, 400, "{body}");

            let (status, _, body) =
                http(&address, "POST", "/micro/store/greeting", "", "hello").await;
            assert_eq!(
                (status, body.as_str()),
                (200, "{\"key\":\"greeting\",\"status\":\"ok\"}\n")
            );
            let (status, _, body) = http(&address, "GET", "/micro/store/greeting", "", "").await;
            assert_eq!((status, body.as_str()), (200, "hello"));
            let (status, _, body) = http(&address, "GET", "/micro/store", "", "").await;
            assert_eq!((status, parse(&body)), (200, json!(["greeting"])));

            let (status, _, body) =
                http(&address, "POST", "/micro/broker/events", "", r#"{"id":1}"#).await;
            assert_eq!(
                (status, body.as_str()),
                (200, "{\"status\":\"ok\",\"topic\":\"events\"}\n")
            );

            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            let mut banner = String::new();
            let mut stdout = child.stdout.take().unwrap();
            let output = tokio::task::spawn_blocking(move || {
                use std::io::Read;
                stdout.read_to_string(&mut banner).unwrap();
                (child.wait().unwrap(), banner)
            });
            let (status, banner) = output.await.unwrap();
            assert!(status.success(), "micro api exited with {status}");
            for route in micro::gateway::Gateway::routes() {
                assert!(banner.contains(&route), "banner lacks {route}: {banner}");
            }
            assert!(
                banner.contains(&address),
                "banner lacks the address: {banner}"
            );
            service.stop().await.unwrap();
        },
    );
}
