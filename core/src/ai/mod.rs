//! AI in the engine: language models with tool calling, and the loop that lets a model call
//! the registry's services as tools.
//!
//! A [`Model`] talks to one provider (anthropic, openai, gemini, groq, mistral, together,
//! atlascloud, ollama or minimax), chosen by [`Settings`]: by name, or from `MICRO_AI_PROVIDER`,
//! `MICRO_AI_API_KEY` (or the provider's own variable, such as `ANTHROPIC_API_KEY`),
//! `MICRO_AI_MODEL` and `MICRO_AI_BASE_URL`. [`Model::generate`] answers once and
//! [`Model::stream`] piece by piece; neither runs tools.
//!
//! An [`Agent`] runs the tool loop: it offers the model [`Tools`] (by default every endpoint the
//! caller may call, through [`Mcp`](crate::mcp::Mcp) with names every provider accepts), makes
//! the tool calls the model asks for (in parallel, with the caller's identity and scopes) and
//! gives the results back until the model answers or the step limit is reached. A
//! [`ToolHandler`] can take the place of the registry's client.
//!
//! Keys are never logged: [`Settings`] prints them as `***`.

mod agent;
mod model;
mod provider;
mod tools;

pub use agent::{Agent, Approve, DEFAULT_MAX_STEPS};
pub use model::{Model, ModelStream};
pub use provider::{PROVIDERS, Provider, Settings};
pub use tools::{ToolHandler, ToolSpec, Tools};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The system prompt of an agent over the registry's services (`micro chat`, `micro flow`, the
/// playground): what the model is for.
pub const SERVICES_PROMPT: &str = "You help people use the services of a micro system. Each \
    tool calls one endpoint of a service: call the tools that do what is asked, then say \
    briefly what you called and what it answered. When no tool fits, say so.";

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person (or program) asking.
    User,
    /// The model.
    Assistant,
    /// A tool's result, answering the tool call named by `tool_call_id`.
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said: text, or for a tool message the tool's result (JSON text).
    #[serde(default)]
    pub content: String,
    /// The tools an assistant message asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The tool call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message of `role` saying `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// What to ask a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    /// The user's message; none when `messages` already ends with it.
    pub prompt: String,
    /// Instructions for the model.
    pub system: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// The tools the model may ask for. An [`Agent`] fills these from its [`Tools`].
    pub tools: Vec<ToolSpec>,
}

impl Request {
    /// A request saying `prompt`.
    pub fn new(prompt: impl Into<String>) -> Request {
        Request {
            prompt: prompt.into(),
            ..Request::default()
        }
    }

    /// The same request with the system prompt `system`.
    pub fn system(mut self, system: impl Into<String>) -> Request {
        self.system = system.into();
        self
    }

    /// The same request continuing the conversation `messages`.
    pub fn messages(mut self, messages: Vec<Message>) -> Request {
        self.messages = messages;
        self
    }
}

/// A tool the model asked for, and once run, its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, which the result answers.
    pub id: String,
    /// The tool's name, as offered.
    pub name: String,
    /// The arguments the model gave (a JSON object).
    #[serde(default)]
    pub arguments: Json,
    /// The tool's answer, once it ran and succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Json>,
    /// Why it failed or did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Tokens a model read and wrote, as the provider counted them (0 when it did not say).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens read: the prompt, the conversation and the tools.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
}

impl Usage {
    fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// A model's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The answer's text.
    pub text: String,
    /// The tools asked for: from [`Model::generate`] not yet run; from an [`Agent`] every call
    /// it made, each with its result or error.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens used, over every step.
    pub usage: Usage,
    /// The messages this exchange added to the conversation (the prompt, tool calls and
    /// results, the answer): append them to keep a history.
    pub messages: Vec<Message>,
}

/// What a stream reports, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A piece of the answer's text.
    Text {
        /// The piece.
        text: String,
    },
    /// The model asked for a tool; an [`Agent`] runs it next.
    ToolCall {
        /// The call (no result yet).
        call: ToolCall,
    },
    /// A tool ran (or was refused): the call with its result or error.
    ToolResult {
        /// The call, with `result` or `error`.
        call: ToolCall,
    },
    /// The end: the whole answer.
    Done {
        /// Text, tool calls, usage and the messages added.
        response: Response,
    },
}
