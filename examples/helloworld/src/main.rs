//! The helloworld service: `Helloworld.Call` greets a person, `Helloworld.Stream` greets them
//! `count` times as a server stream. Run it with `make run`, then call it from any go-micro
//! or libmicro client.

use micro::server::{Context, Stream};
use micro::{Result, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whom to greet.
#[derive(Deserialize, JsonSchema)]
struct Request {
    /// The person's name.
    name: String,
}

/// The greeting.
#[derive(Serialize, JsonSchema)]
struct Response {
    /// `Hello <name>`.
    msg: String,
}

/// Whom to greet, and how many times.
#[derive(Deserialize, JsonSchema)]
struct StreamRequest {
    /// The person's name.
    name: String,
    /// How many greetings to send.
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

async fn call(_ctx: Context, req: Request) -> Result<Response> {
    Ok(Response {
        msg: format!("Hello {}", req.name),
    })
}

async fn stream(_ctx: Context, mut stream: Stream) -> Result<()> {
    let Some(req) = stream.recv_json::<StreamRequest>().await? else {
        return Ok(());
    };
    for i in 1..=req.count.min(1000) {
        stream
            .send_json(&Response {
                msg: format!("Hello {} {i}", req.name),
            })
            .await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    micro::log::init();
    Service::new("helloworld")
        .handle("Helloworld.Call", call)
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .stream("Helloworld.Stream", stream)
        .stream_types::<StreamRequest, Response>("Helloworld.Stream")
        .describe(
            "Helloworld.Stream",
            "Greets a person count times, one message each",
            r#"{"name":"Alice","count":3}"#,
        )
        .run()
        .await
}
