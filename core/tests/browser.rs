//! The dashboard as a person uses it: a gateway with auth and the dashboard on loopback, in front
//! of a helloworld service, driven in headless Chromium by `tests/browser/dashboard.mjs`
//! (playwright-core): log in, create a token and a user, set an endpoint's scopes, call the
//! endpoint from its form as admin (200) and as a user without the scope (403), and over
//! `/api` with a bearer token lacking the scope (403). [`browser`] runs the script,
//! or says what is missing to run it.

#[path = "support/browser.rs"]
mod browser;

use micro::auth::Auth;
use micro::broker::{self, Broker};
use micro::gateway::Gateway;
use micro::registry::{Memory, Registry};
use micro::store::{self, Store};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Whom to greet.
#[derive(Deserialize, JsonSchema)]
struct Request {
    /// The person's name.
    name: String,
}

/// The greeting.
#[derive(Serialize, JsonSchema)]
struct Reply {
    /// `Hello <name>`.
    msg: String,
}

#[tokio::test]
async fn dashboard_in_headless_chromium() {
    if !browser::available() {
        return;
    }

    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let _service = micro::Service::new("helloworld")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Request| async move {
            Ok(Reply {
                msg: format!("Hello {}", req.name),
            })
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .start()
        .await
        .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let auth = Auth::open(store.clone(), keys.path()).await.unwrap();
    let gateway = Gateway::new(registry, store, broker)
        .auth(Arc::new(auth))
        .dashboard(None)
        .start("127.0.0.1:0")
        .await
        .unwrap();

    let base = format!("http://{}", gateway.address());
    browser::run("dashboard", &base, &[]).await;
    gateway.stop().await;
}
