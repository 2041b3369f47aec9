//! The helloworld service the gateway and MCP tests put behind their servers, on loopback:
//! `Call` greets (documented, with an example), `Fail` always fails with a 500 naming who was
//! greeted, `Meta` answers with the call metadata. Returned unstarted, so a test can add
//! endpoints of its own.

use micro::Error;
use micro::registry::Registry;
use micro::server::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What helloworld takes.
#[derive(Deserialize, JsonSchema)]
pub struct Request {
    /// Who to greet.
    #[serde(default)]
    pub name: String,
}

/// What helloworld answers.
#[derive(Serialize, JsonSchema)]
pub struct Reply {
    pub msg: String,
}

/// The helloworld service over `registry`, not yet started.
pub fn service(registry: &Arc<dyn Registry>) -> micro::Service {
    micro::Service::new("helloworld")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", |_ctx, req: Request| async move {
            Ok(Reply {
                msg: format!("Hello {}", req.name),
            })
        })
        .describe("Helloworld.Call", "Greets a person", r#"{"name":"Alice"}"#)
        .handle("Helloworld.Fail", |_ctx, req: Request| async move {
            Err::<Reply, _>(Error::internal(
                "helloworld",
                format!("broken for {}", req.name),
            ))
        })
        .handle(
            "Helloworld.Meta",
            |ctx: Context, _req: Request| async move { Ok(ctx.metadata) },
        )
}
