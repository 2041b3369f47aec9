//! What a model may call: each tool's name, description and parameters, and the handler that
//! runs the calls.

use super::ToolCall;
use crate::errors::Result;
use crate::mcp::{Caller, Mcp};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::future::Future;
use std::sync::Arc;

/// A tool as a model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name: `^[a-zA-Z0-9_-]{1,64}$` for every provider to take it.
    pub name: String,
    /// What it does, for the model to choose it.
    #[serde(default)]
    pub description: String,
    /// The JSON Schema of its arguments (an object).
    #[serde(default = "empty_object")]
    pub parameters: Json,
}

fn empty_object() -> Json {
    serde_json::json!({"type": "object"})
}

/// Runs the tool calls a model makes.
#[async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs `call` (its `name` and `arguments`): the JSON answer, or why it failed, which the
    /// model is told.
    async fn call(&self, call: &ToolCall) -> std::result::Result<Json, String>;
}

#[async_trait]
impl<F, Fut> ToolHandler for F
where
    F: Fn(ToolCall) -> Fut + Send + Sync,
    Fut: Future<Output = std::result::Result<Json, String>> + Send,
{
    async fn call(&self, call: &ToolCall) -> std::result::Result<Json, String> {
        self(call.clone()).await
    }
}

/// The tools offered to a model and the handler running them.
#[derive(Clone)]
pub struct Tools {
    specs: Arc<Vec<ToolSpec>>,
    handler: Option<Arc<dyn ToolHandler>>,
}

impl Tools {
    /// No tools: the model only talks.
    pub fn none() -> Tools {
        Tools {
            specs: Arc::new(Vec::new()),
            handler: None,
        }
    }

    /// `specs`, run by `handler`.
    pub fn new(specs: Vec<ToolSpec>, handler: Arc<dyn ToolHandler>) -> Tools {
        Tools {
            specs: Arc::new(specs),
            handler: Some(handler),
        }
    }

    /// The registry's endpoints that `caller` may call (not the framework tools over the
    /// registry, store and broker), run through `mcp`'s client as `caller`: its scopes are
    /// checked on every call, its account goes to the service as `Mcp-Account-Id`. Build
    /// `mcp` with [`Naming::Safe`](crate::mcp::Naming::Safe): providers refuse dotted names.
    pub async fn registry(mcp: Arc<Mcp>, caller: Caller) -> Result<Tools> {
        let specs = mcp
            .tools_for(&caller)
            .await?
            .iter()
            .filter(|t| !t.is_framework())
            .map(|t| ToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: Json::Object((*t.input_schema).clone()),
            })
            .collect();
        Ok(Tools::new(specs, Arc::new(Registry { mcp, caller })))
    }

    /// The same tools run by `handler` instead: to log, guard, or call something else.
    pub fn handler(self, handler: Arc<dyn ToolHandler>) -> Tools {
        Tools {
            handler: Some(handler),
            ..self
        }
    }

    /// The tools offered.
    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Runs `call` with the handler; an error when there is none or the tool is not offered.
    pub async fn call(&self, call: &ToolCall) -> std::result::Result<Json, String> {
        if !self.specs.iter().any(|s| s.name == call.name) {
            return Err(format!(
                "there is no tool {:?}; call one of the tools offered",
                call.name
            ));
        }
        match &self.handler {
            Some(handler) => handler.call(call).await,
            None => Err("no handler runs these tools".into()),
        }
    }
}

/// Calls through the MCP catalogue as one caller.
struct Registry {
    mcp: Arc<Mcp>,
    caller: Caller,
}

#[async_trait]
impl ToolHandler for Registry {
    async fn call(&self, call: &ToolCall) -> std::result::Result<Json, String> {
        self.mcp
            .call(&self.caller, &call.name, call.arguments.clone())
            .await
            .map_err(|e| e.message())
    }
}
