//! The ceiling of the gateway benchmark: a bare hyper HTTP/1.1 server that reads each POST's
//! JSON body and answers what helloworld's `Helloworld.Call` answers, `{"msg":"Hello <name>"}`,
//! with no RPC behind it. Same runtime and connection settings as the gateway.
//!
//!     gateway-ceiling [address=127.0.0.1:8092]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use tokio::net::TcpListener;

#[derive(Deserialize)]
struct Hello {
    #[serde(default)]
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    msg: String,
}

/// Greets the body's `name`; a body that is not JSON is a 400.
async fn greet(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = request.into_body().collect().await.map(|b| b.to_bytes());
    let (status, body) = match body
        .ok()
        .and_then(|b| serde_json::from_slice::<Hello>(&b).ok())
    {
        Some(hello) => {
            let greeting = Greeting {
                msg: format!("Hello {}", hello.name),
            };
            (
                StatusCode::OK,
                serde_json::to_vec(&greeting).unwrap_or_default(),
            )
        }
        None => (
            StatusCode::BAD_REQUEST,
            br#"{"error":"bad request"}"#.to_vec(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8092".into());
    let listener = TcpListener::bind(&address).await?;
    println!("ready {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(greet);
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
