//! What `micro chat` and `micro flow` share: the model flags, the agent over the registry's
//! services, and how a run is shown as it happens.

use micro::Error;
use micro::ai::{Agent, Event, Model, Settings, ToolCall, Tools};
use micro::config::Config;
use micro::mcp::{Caller, Mcp, Naming};
use std::io::Write;
use std::sync::Arc;

const ID: &str = "micro.ai";

/// The model flags of `micro chat` and `micro flow`.
#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// The provider: anthropic, openai, gemini, groq, mistral, together, atlascloud, ollama or
    /// minimax (default openai).
    #[arg(long, env = "MICRO_AI_PROVIDER")]
    provider: Option<String>,
    /// The model (default: the provider's).
    #[arg(long, env = "MICRO_AI_MODEL")]
    model: Option<String>,
    /// The API key (default: the provider's own variable, e.g. ANTHROPIC_API_KEY).
    #[arg(
        long = "api_key",
        alias = "api-key",
        env = "MICRO_AI_API_KEY",
        hide_env_values = true
    )]
    api_key: Option<String>,
    /// The provider's address, e.g. http://127.0.0.1:8080/v1 for a local OpenAI-compatible
    /// server (the version path is added when left out).
    #[arg(long = "base_url", alias = "base-url", env = "MICRO_AI_BASE_URL")]
    base_url: Option<String>,
    /// The system prompt.
    #[arg(long, default_value = micro::ai::SERVICES_PROMPT, hide_default_value = true)]
    system: String,
    /// How many times the model may call tools before it must answer.
    #[arg(long, default_value_t = micro::ai::DEFAULT_MAX_STEPS)]
    max_steps: usize,
}

impl ModelArgs {
    /// The system prompt.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The model the flags name, offered every endpoint of the registry's services as a tool.
    pub async fn agent(&self, config: &Config) -> micro::Result<Agent> {
        let settings = Settings {
            provider: self.provider.clone().unwrap_or_default(),
            model: self.model.clone().unwrap_or_default(),
            api_key: self.api_key.clone().unwrap_or_default(),
            base_url: self.base_url.clone().unwrap_or_default(),
        };
        let model = Model::new(&settings)?;
        let registry = config.registry()?;
        let broker = config.broker(registry.clone())?;
        let mcp = Mcp::new(registry, config.store()?, broker).naming(Naming::Safe);
        let tools = Tools::registry(Arc::new(mcp), Caller::new(None)).await?;
        if tools.specs().is_empty() {
            eprintln!(
                "micro: no service endpoints are registered, so the model can only talk; start a service (micro run) to give it tools"
            );
        }
        Ok(Agent::new(model, tools).max_steps(self.max_steps))
    }
}

/// Shows `event` as it happens: the answer's text as it streams, each tool call and then its
/// result (cut to a line) or error. True when it ends the answer.
pub fn show(event: &Event) -> micro::Result<bool> {
    let mut out = std::io::stdout().lock();
    let written = match event {
        Event::Text { text } => write!(out, "{text}"),
        Event::ToolCall { call } => writeln!(out, "\n→ {}({})", call.name, call.arguments),
        Event::ToolResult { call } => writeln!(out, "← {}: {}", call.name, outcome(call)),
        Event::Done { .. } => writeln!(out),
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Error::internal(ID, format!("cannot write to stdout: {e}")))?;
    Ok(matches!(event, Event::Done { .. }))
}

/// A tool call's result or error, at most about a line long.
fn outcome(call: &ToolCall) -> String {
    const LONGEST: usize = 200;
    let text = match (&call.result, &call.error) {
        (Some(result), _) => result.to_string(),
        (None, Some(error)) => format!("error: {error}"),
        (None, None) => String::new(),
    };
    match text.char_indices().nth(LONGEST) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
