//! `micro chat`: talk with a model that calls the running services as tools, the answer
//! streamed and each tool call shown as it happens; `--prompt` asks once.

use crate::ai::{ModelArgs, show};
use futures::StreamExt;
use micro::ai::{Agent, Event, Message, Request};
use micro::config::Config;
use micro::{Error, Result};
use std::io::Write;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use tokio::sync::Mutex;

const ID: &str = "micro.chat";

/// `micro chat`'s flags.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Ask this once, print the answer and exit.
    #[arg(long)]
    prompt: Option<String>,
    /// Ask before each tool call runs (y to run it).
    #[arg(long)]
    approve: bool,
}

/// Lines typed at the terminal, shared by the prompt and the approval question.
type Input = Arc<Mutex<Lines<BufReader<Stdin>>>>;

/// Runs `micro chat`.
pub async fn run(args: Args, config: Config) -> Result<()> {
    let input: Input = Arc::new(Mutex::new(BufReader::new(tokio::io::stdin()).lines()));
    let mut agent = args.model.agent(&config).await?;
    if args.approve {
        let input = input.clone();
        agent = agent.approve(Arc::new(move |call| {
            let input = input.clone();
            Box::pin(async move {
                ask(&format!("Run {}({})? [y/N] ", call.name, call.arguments));
                let answer = input.lock().await.next_line().await.ok().flatten();
                answer.is_some_and(|a| matches!(a.trim(), "y" | "Y" | "yes"))
            })
        }));
    }
    let mut history = Vec::new();
    if let Some(prompt) = args.prompt {
        return turn(&agent, args.model.system(), &mut history, prompt).await;
    }
    eprintln!(
        "Chatting with {} {} and {} tools. /clear forgets the conversation; /exit or Ctrl-D ends it.",
        agent.model().provider(),
        agent.model().name(),
        agent.tools().specs().len()
    );
    loop {
        ask("> ");
        let line = input.lock().await.next_line().await;
        let line =
            line.map_err(|e| Error::internal(ID, format!("cannot read the terminal: {e}")))?;
        match line.as_deref().map(str::trim) {
            None | Some("/exit" | "/quit") => return Ok(()),
            Some("") => {}
            Some("/clear") => history.clear(),
            Some(prompt) => {
                if let Err(err) =
                    turn(&agent, args.model.system(), &mut history, prompt.into()).await
                {
                    eprintln!("micro: {}", err.detail);
                }
            }
        }
    }
}

/// Asks `prompt` and shows the answer as it comes; the exchange joins `history`.
async fn turn(
    agent: &Agent,
    system: &str,
    history: &mut Vec<Message>,
    prompt: String,
) -> Result<()> {
    let request = Request::new(prompt)
        .system(system)
        .messages(history.clone());
    let mut events = agent.stream(request);
    while let Some(event) = events.next().await {
        let event = event?;
        show(&event)?;
        if let Event::Done { response } = event {
            history.extend(response.messages);
        }
    }
    Ok(())
}

/// Writes a question to the terminal without ending the line.
fn ask(question: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}").and_then(|()| err.flush());
}
