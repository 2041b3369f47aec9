//! One provider's model: a request in, an answer out, whole or streamed.
//!
//! The wire work is the `genai` crate's: one well-kept client that already speaks each
//! provider's own API (endpoint, auth header, tool encoding, SSE streaming, error bodies) for
//! all nine providers, where go-micro keeps a hand-written client per provider. It rides on
//! our reqwest client, whose TLS is rustls on ring trusting the system's roots like every
//! other client of the engine.

use super::provider::{Provider, Settings};
use super::{Event, Message, Request, Response, Role, ToolCall, Usage};
use crate::errors::{Error, Kind, Result};
use futures::stream::{self, BoxStream, StreamExt};
use genai::ModelIden;
use genai::ServiceTarget;
use genai::chat::{self, ChatMessage, ChatOptions, ChatRequest, ChatStreamEvent, MessageContent};
use genai::resolver::{AuthData, Endpoint};
use std::sync::OnceLock;

pub(super) const ID: &str = "micro.ai";

/// A model of one provider, ready to be asked. Cheap to clone.
#[derive(Clone)]
pub struct Model {
    client: genai::Client,
    provider: &'static Provider,
    name: String,
    endpoint: String,
    key: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("provider", &self.provider.name)
            .field("model", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A model's answer piece by piece: [`Event::Text`] pieces and [`Event::ToolCall`]s, then
/// [`Event::Done`].
pub type ModelStream = BoxStream<'static, Result<Event>>;

/// One HTTP client for every model: its connections are reused across models and requests.
fn http() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(crate::tls::client_config(None))
                .build()
                .expect("a reqwest client on a rustls configuration builds")
        })
        .clone()
}

impl Model {
    /// The model `settings` name, or a 400 saying what is missing (an unknown provider, no
    /// key).
    pub fn new(settings: &Settings) -> Result<Model> {
        let (provider, name, key) = settings.resolve()?;
        let endpoint = provider.endpoint(Some(&settings.base_url));
        let client = genai::Client::builder()
            .with_reqwest(http())
            .build()
            .map_err(|e| Error::internal(ID, format!("cannot make the model client: {e}")))?;
        Ok(Model {
            client,
            provider,
            name,
            endpoint,
            key,
        })
    }

    /// The provider's name.
    pub fn provider(&self) -> &'static str {
        self.provider.name
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn target(&self) -> ServiceTarget {
        ServiceTarget {
            endpoint: Endpoint::from_owned(self.endpoint.clone()),
            auth: AuthData::from_single(self.key.clone()),
            model: ModelIden::new(self.provider.adapter, self.name.clone()),
        }
    }

    /// Asks once and waits for the whole answer. Tool calls come back unrun.
    pub async fn generate(&self, request: &Request) -> Result<Response> {
        let answer = self
            .client
            .exec_chat(self.target(), chat_request(request), None)
            .await
            .map_err(|e| self.error(e))?;
        let usage = usage(&answer.usage);
        Ok(response(request, answer.content, usage))
    }

    /// Asks and streams the answer as it comes. Tool calls come back unrun.
    pub async fn stream(&self, request: &Request) -> Result<ModelStream> {
        let options = ChatOptions::default()
            .with_capture_content(true)
            .with_capture_tool_calls(true)
            .with_capture_usage(true);
        let answer = self
            .client
            .exec_chat_stream(self.target(), chat_request(request), Some(&options))
            .await
            .map_err(|e| self.error(e))?;
        let request = request.clone();
        let model = self.clone();
        Ok(answer
            .stream
            .flat_map(move |event| {
                let events: Vec<Result<Event>> = match event {
                    Err(e) => vec![Err(model.error(e))],
                    Ok(ChatStreamEvent::Chunk(chunk)) if !chunk.content.is_empty() => {
                        vec![Ok(Event::Text {
                            text: chunk.content,
                        })]
                    }
                    Ok(ChatStreamEvent::End(end)) => {
                        let usage = end.captured_usage.as_ref().map(usage).unwrap_or_default();
                        let content = end.captured_content.unwrap_or_default();
                        let response = response(&request, content, usage);
                        let calls = response.tool_calls.clone();
                        calls
                            .into_iter()
                            .map(|call| Ok(Event::ToolCall { call }))
                            .chain([Ok(Event::Done { response })])
                            .collect()
                    }
                    Ok(_) => Vec::new(),
                };
                stream::iter(events)
            })
            .boxed())
    }

    /// Our error for a failed exchange: the provider's status as the kind, its body as the
    /// detail with what to do, and never the key.
    fn error(&self, error: genai::Error) -> Error {
        let provider = self.provider.name;
        let (status, body) = status_and_body(&error);
        let body = body.replace(&self.key, "***");
        let body = body.trim();
        let detail = match status {
            Some(401 | 403) => format!(
                "{provider} refused the key ({}): {body}; check MICRO_AI_API_KEY or {}",
                status.unwrap_or_default(),
                self.provider.key_var
            ),
            Some(429) => format!("{provider} is rate limiting (429): {body}; try again later"),
            Some(code) => format!("{provider} answered {code}: {body}"),
            None => format!(
                "the exchange with {provider} at {} failed: {body}; check the base URL (MICRO_AI_BASE_URL) and the network",
                self.endpoint
            ),
        };
        let kind = match status {
            Some(code) => Kind::from_code(i32::from(code)),
            None => Kind::Unavailable,
        };
        Error::of(kind, ID, detail)
    }
}

/// The HTTP status the provider answered with, if it did, and its body (or what failed).
fn status_and_body(error: &genai::Error) -> (Option<u16>, String) {
    match error {
        genai::Error::WebModelCall { webc_error, .. } => match webc_error {
            genai::webc::Error::ResponseFailedStatus { status, body, .. } => {
                (Some(status.as_u16()), body.clone())
            }
            other => (other.status().map(|s| s.as_u16()), other.to_string()),
        },
        genai::Error::HttpError { status, body, .. } => (Some(status.as_u16()), body.clone()),
        // A stream that failed before its first event carries the HTTP error inside.
        genai::Error::WebStream { error, cause, .. } => {
            match error.downcast_ref::<genai::Error>() {
                Some(inner) => status_and_body(inner),
                None => (None, cause.clone()),
            }
        }
        other => (None, other.to_string()),
    }
}

/// The provider-neutral request in genai's terms.
fn chat_request(request: &Request) -> ChatRequest {
    let mut messages: Vec<ChatMessage> = request.messages.iter().map(chat_message).collect();
    if !request.prompt.is_empty() {
        messages.push(ChatMessage::user(request.prompt.clone()));
    }
    let mut chat = ChatRequest::new(messages);
    if !request.system.is_empty() {
        chat = chat.with_system(request.system.clone());
    }
    if !request.tools.is_empty() {
        chat = chat.with_tools(request.tools.iter().map(|t| {
            chat::Tool::new(t.name.clone())
                .with_description(t.description.clone())
                .with_schema(t.parameters.clone())
        }));
    }
    chat
}

fn chat_message(message: &Message) -> ChatMessage {
    match message.role {
        Role::System => ChatMessage::system(message.content.clone()),
        Role::User => ChatMessage::user(message.content.clone()),
        Role::Assistant if message.tool_calls.is_empty() => {
            ChatMessage::assistant(message.content.clone())
        }
        Role::Assistant => {
            let calls = message.tool_calls.iter().map(|c| chat::ToolCall {
                call_id: c.id.clone(),
                fn_name: c.name.clone(),
                fn_arguments: c.arguments.clone(),
                thought_signatures: None,
            });
            let mut content = MessageContent::from_tool_calls(calls.collect());
            if !message.content.is_empty() {
                content.prepend(message.content.clone());
            }
            ChatMessage::assistant(content)
        }
        Role::Tool => ChatMessage::from(chat::ToolResponse::new(
            message.tool_call_id.clone().unwrap_or_default(),
            message.content.clone(),
        )),
    }
}

/// Our response from genai's content, with the messages the exchange added.
fn response(request: &Request, content: MessageContent, usage: Usage) -> Response {
    let text = content.joined_texts().unwrap_or_default();
    let tool_calls: Vec<ToolCall> = content
        .into_tool_calls()
        .into_iter()
        .map(|c| ToolCall {
            id: c.call_id,
            name: c.fn_name,
            arguments: c.fn_arguments,
            result: None,
            error: None,
        })
        .collect();
    let mut messages = Vec::with_capacity(2);
    if !request.prompt.is_empty() {
        messages.push(Message::new(Role::User, request.prompt.clone()));
    }
    messages.push(Message {
        tool_calls: tool_calls.clone(),
        ..Message::new(Role::Assistant, text.clone())
    });
    Response {
        text,
        tool_calls,
        usage,
        messages,
    }
}

fn usage(usage: &genai::chat::Usage) -> Usage {
    let count = |n: Option<i32>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or_default();
    Usage {
        input_tokens: count(usage.prompt_tokens),
        output_tokens: count(usage.completion_tokens),
    }
}
