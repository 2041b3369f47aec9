//! `micro flow`: a model run by events. `run` subscribes to a topic and runs the prompt for
//! each message (`{{.Data}}` is the message body, `{{.Topic}}` its topic), with tool calls;
//! `exec` runs it once.

use crate::ai::{ModelArgs, show};
use crate::inspect::interrupted;
use futures::StreamExt;
use micro::ai::{Agent, Request};
use micro::broker::{self, Message, SubscribeOptions};
use micro::config::Config;
use micro::{Error, Result};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The flow commands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Run the prompt for each message on a topic until Ctrl-C.
    Run {
        #[command(flatten)]
        model: ModelArgs,
        /// The topic whose messages trigger the flow, e.g. events.user.created.
        #[arg(long, env = "MICRO_FLOW_TRIGGER")]
        trigger: String,
        /// The prompt; {{.Data}} becomes the message body, {{.Topic}} its topic.
        #[arg(long, env = "MICRO_FLOW_PROMPT")]
        prompt: String,
        /// The flow's name: copies of one flow share the messages (a queue group), so each
        /// message runs once.
        #[arg(long, default_value = "default")]
        name: String,
    },
    /// Run the prompt once.
    Exec {
        #[command(flatten)]
        model: ModelArgs,
        /// The prompt; {{.Data}} becomes --data.
        #[arg(long, env = "MICRO_FLOW_PROMPT")]
        prompt: String,
        /// The data for {{.Data}}.
        #[arg(long, default_value = "")]
        data: String,
    },
}

/// Runs a flow command.
pub async fn run(command: Command, config: Config) -> Result<()> {
    match command {
        Command::Exec {
            model,
            prompt,
            data,
        } => {
            let agent = model.agent(&config).await?;
            once(&agent, model.system(), &render(&prompt, "", &data)).await
        }
        Command::Run {
            model,
            trigger,
            prompt,
            name,
        } => {
            let agent = model.agent(&config).await?;
            let system = model.system().to_string();
            // One run at a time, so that the runs' output does not interleave.
            let running = Arc::new(Mutex::new(()));
            let handler = broker::handler(move |topic: String, message: Message| {
                let (agent, system, running) = (agent.clone(), system.clone(), running.clone());
                let prompt = render(&prompt, &topic, &String::from_utf8_lossy(&message.body));
                async move {
                    let _one = running.lock().await;
                    eprintln!("⚡ {topic}");
                    let ran = once(&agent, &system, &prompt).await;
                    if let Err(err) = &ran {
                        eprintln!(
                            "micro flow: the run for a message on {topic:?} failed: {}",
                            err.detail
                        );
                    }
                    ran
                }
            });
            let broker = config.broker(config.registry()?)?;
            let queue = Some(format!("flow.{name}"));
            let subscription = broker
                .subscribe(&trigger, handler, SubscribeOptions { queue })
                .await?;
            let stop = interrupted()?;
            eprintln!("Flow {name:?} runs on each message to {trigger:?} (Ctrl-C to stop)...");
            stop.await;
            subscription.unsubscribe().await
        }
    }
}

/// Runs the model once on `prompt`, showing what happens.
async fn once(agent: &Agent, system: &str, prompt: &str) -> Result<()> {
    let mut events = agent.stream(Request::new(prompt).system(system));
    while let Some(event) = events.next().await {
        if show(&event?)? {
            return Ok(());
        }
    }
    Err(Error::internal(
        "micro.flow",
        "the model stopped without an answer",
    ))
}

/// The prompt `template` for a message: go-micro's `{{.Data}}` and `{{.Topic}}` (spaces
/// inside the braces allowed) replaced.
fn render(template: &str, topic: &str, data: &str) -> String {
    let mut text = template.to_string();
    for (field, value) in [("Data", data), ("Topic", topic)] {
        for placeholder in [format!("{{{{.{field}}}}}"), format!("{{{{ .{field} }}}}")] {
            text = text.replace(&placeholder, value);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn render_fills_data_and_topic() {
        let text = super::render(
            "New user {{.Data}} on {{ .Topic }}.",
            "user.created",
            r#"{"id":1}"#,
        );
        assert_eq!(text, r#"New user {"id":1} on user.created."#);
    }
}
