//! The HTTP faces of the engine, run in-process from JS: the API gateway (with MCP at
//! `/mcp`) and the MCP server on its own.

use crate::components::{Broker, Registry, Store};
use crate::error::OrThrow;
use micro::config::Config;
use micro::gateway;
use micro::mcp::Mcp;
use napi::bindgen_prelude::within_runtime_if_available;
use napi_derive::napi;
use std::sync::{Arc, Mutex};

/// What a gateway, an MCP server or an agent's registry tools read.
pub(crate) struct Components {
    pub(crate) registry: Arc<dyn micro::registry::Registry>,
    pub(crate) store: Arc<dyn micro::store::Store>,
    pub(crate) broker: Arc<dyn micro::broker::Broker>,
}

/// The components given, else the environment's.
pub(crate) fn components(
    registry: Option<&Registry>,
    store: Option<&Store>,
    broker: Option<&Broker>,
) -> napi::Result<Components> {
    let config = Config::from_env();
    within_runtime_if_available(|| {
        let registry = match registry {
            Some(r) => r.inner.clone(),
            None => config.registry()?,
        };
        let store = match store {
            Some(s) => s.inner.clone(),
            None => config.store()?,
        };
        let broker = match broker {
            Some(b) => b.inner.clone(),
            None => config.broker(registry.clone())?,
        };
        Ok(Components {
            registry,
            store,
            broker,
        })
    })
    .or_throw()
}

/// An HTTP server running in this process: a gateway or an MCP server.
#[napi]
pub struct HttpServer {
    address: String,
    running: Mutex<Option<gateway::Running>>,
}

#[napi]
impl HttpServer {
    /// Where it listens, `host:port`.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Stops serving; stopping twice does nothing.
    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(running) = running {
            running.stop().await;
        }
        Ok(())
    }
}

impl HttpServer {
    fn new(running: gateway::Running) -> HttpServer {
        HttpServer {
            address: running.address().to_string(),
            running: Mutex::new(Some(running)),
        }
    }
}

/// Serves the HTTP API gateway on `address` (`:8080` means 127.0.0.1:8080), with MCP at
/// `/mcp` when `mcp` is true.
#[napi]
pub async fn start_gateway(
    address: String,
    mcp: Option<bool>,
    registry: Option<&Registry>,
    store: Option<&Store>,
    broker: Option<&Broker>,
) -> napi::Result<HttpServer> {
    let Components {
        registry,
        store,
        broker,
    } = components(registry, store, broker)?;
    let mut gateway = gateway::Gateway::new(registry.clone(), store.clone(), broker.clone());
    if mcp.unwrap_or(false) {
        gateway = gateway.mcp(Arc::new(Mcp::new(registry, store, broker)));
    }
    let running = gateway.start(&address).await.or_throw()?;
    Ok(HttpServer::new(running))
}

/// Serves MCP (Streamable HTTP at `/mcp`, `GET /mcp/tools`, `POST /mcp/call`) on `address`.
#[napi]
pub async fn serve_mcp(
    address: String,
    registry: Option<&Registry>,
    store: Option<&Store>,
    broker: Option<&Broker>,
) -> napi::Result<HttpServer> {
    let c = components(registry, store, broker)?;
    let mcp = Arc::new(Mcp::new(c.registry, c.store, c.broker));
    let running = micro::mcp::http::start(mcp, &address, Vec::new())
        .await
        .or_throw()?;
    Ok(HttpServer::new(running))
}
