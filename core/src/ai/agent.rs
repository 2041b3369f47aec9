//! The tool loop: ask the model, run the tools it asks for, give it the results, until it
//! answers.

use super::model::{ID, Model};
use super::tools::Tools;
use super::{Event, Message, Request, Response, Role, ToolCall, Usage};
use crate::errors::{Error, Result};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, FuturesUnordered, StreamExt};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How many times a model may ask for tools before it must answer.
pub const DEFAULT_MAX_STEPS: usize = 10;

/// Asked before each tool call runs: `true` lets it run.
pub type Approve = Arc<dyn Fn(ToolCall) -> BoxFuture<'static, bool> + Send + Sync>;

/// A model with tools, running the tool loop. Cheap to clone.
#[derive(Clone)]
pub struct Agent {
    model: Model,
    tools: Tools,
    max_steps: usize,
    approve: Option<Approve>,
}

impl Agent {
    /// `model` offered `tools`.
    pub fn new(model: Model, tools: Tools) -> Agent {
        Agent {
            model,
            tools,
            max_steps: DEFAULT_MAX_STEPS,
            approve: None,
        }
    }

    /// Lets the model ask for tools up to `steps` times (default [`DEFAULT_MAX_STEPS`]).
    pub fn max_steps(mut self, steps: usize) -> Agent {
        self.max_steps = steps.max(1);
        self
    }

    /// Asks `approve` before each tool call; a call it refuses does not run, and the model is
    /// told so.
    pub fn approve(mut self, approve: Approve) -> Agent {
        self.approve = Some(approve);
        self
    }

    /// The model asked.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The tools offered.
    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// Runs the loop to the end: the answer with every tool call made.
    pub async fn generate(&self, request: Request) -> Result<Response> {
        let mut events = self.stream(request);
        while let Some(event) = events.next().await {
            if let Event::Done { response } = event? {
                return Ok(response);
            }
        }
        Err(Error::internal(ID, "the agent stopped without an answer"))
    }

    /// Runs the loop, reporting as it goes: the answer's text in pieces, each tool call as the
    /// model asks for it and again with its result, then [`Event::Done`]. Dropping the stream
    /// stops the loop.
    pub fn stream(&self, request: Request) -> BoxStream<'static, Result<Event>> {
        let (sender, receiver) = mpsc::channel(64);
        let agent = self.clone();
        tokio::spawn(async move {
            if let Err(e) = agent.run(request, &sender).await {
                let _ = sender.send(Err(e)).await;
            }
        });
        futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        })
        .boxed()
    }

    async fn run(&self, request: Request, events: &mpsc::Sender<Result<Event>>) -> Result<()> {
        let mut asking = Request {
            tools: self.tools.specs().to_vec(),
            ..request
        };
        let history = asking.messages.clone();
        let mut added: Vec<Message> = Vec::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        let mut usage = Usage::default();
        for _ in 0..self.max_steps {
            let mut answer = self.model.stream(&asking).await?;
            let mut done = None;
            while let Some(event) = answer.next().await {
                match event? {
                    Event::Done { response } => done = Some(response),
                    event => events.send(Ok(event)).await.map_err(|_| gone())?,
                }
            }
            let response = done.ok_or_else(|| {
                Error::of(
                    crate::errors::Kind::Unavailable,
                    ID,
                    format!("{} ended its answer early", self.model.provider()),
                )
            })?;
            usage.add(response.usage);
            added.extend(response.messages);
            if response.tool_calls.is_empty() {
                let response = Response {
                    text: response.text,
                    tool_calls: calls,
                    usage,
                    messages: added,
                };
                let _ = events.send(Ok(Event::Done { response })).await;
                return Ok(());
            }
            for call in self.run_tools(response.tool_calls, events).await? {
                let content = match (&call.result, &call.error) {
                    (Some(result), _) => result.to_string(),
                    (None, error) => json!({"error": error}).to_string(),
                };
                added.push(Message {
                    tool_call_id: Some(call.id.clone()),
                    ..Message::new(Role::Tool, content)
                });
                calls.push(call);
            }
            // The prompt is in `added` now, with the tool calls and their results.
            asking.prompt.clear();
            asking.messages = history.iter().chain(&added).cloned().collect();
        }
        Err(Error::bad_request(
            ID,
            format!(
                "the model asked for tools {} times without answering; allow more steps or ask more narrowly",
                self.max_steps
            ),
        ))
    }

    /// Runs `asked` at once (after approval), reporting each result as it comes; the calls
    /// with their results, in the order asked.
    async fn run_tools(
        &self,
        asked: Vec<ToolCall>,
        events: &mpsc::Sender<Result<Event>>,
    ) -> Result<Vec<ToolCall>> {
        let mut allowed = Vec::with_capacity(asked.len());
        for call in &asked {
            allowed.push(match &self.approve {
                Some(approve) => approve(call.clone()).await,
                None => true,
            });
        }
        let mut running: FuturesUnordered<_> = asked
            .into_iter()
            .zip(allowed)
            .enumerate()
            .map(|(index, (mut call, allowed))| async move {
                let outcome = if allowed {
                    self.tools.call(&call).await
                } else {
                    Err("the user did not allow this call".to_string())
                };
                match outcome {
                    Ok(result) => call.result = Some(result),
                    Err(error) => call.error = Some(error),
                }
                (index, call)
            })
            .collect();
        let mut done = Vec::with_capacity(running.len());
        while let Some((index, call)) = running.next().await {
            events
                .send(Ok(Event::ToolResult { call: call.clone() }))
                .await
                .map_err(|_| gone())?;
            done.push((index, call));
        }
        done.sort_by_key(|(index, _)| *index);
        Ok(done.into_iter().map(|(_, call)| call).collect())
    }
}

/// The error that ends a loop whose stream was dropped.
fn gone() -> Error {
    Error::internal(ID, "the listener went away")
}
