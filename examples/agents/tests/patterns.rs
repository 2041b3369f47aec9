//! The three agent patterns as a user runs them: each binary against a model provider on
//! loopback that scripts the model's answers, registered over mDNS inside a network namespace
//! of its own.

#[path = "../../../core/tests/support/provider.rs"]
mod provider;
#[path = "../../../core/tests/support/mod.rs"]
mod support;

use micro::broker::{self, Message, SubscribeOptions};
use micro::config::Config;
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::{Client, Error};
use provider::{Provider, Reply};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Runs `binary` with the model settings pointing at `provider`, over mDNS.
fn spawn(binary: &str, provider: &Provider, args: &[&str]) -> Child {
    Command::new(binary)
        .args(args)
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_SERVER_ADDRESS", "127.0.0.1:0")
        .env("MICRO_AI_PROVIDER", &provider.name)
        .env("MICRO_AI_BASE_URL", &provider.url)
        .env("MICRO_AI_API_KEY", "sk-example")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A child process, killed when dropped: also when an assertion fails first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn client() -> Client {
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    Client::new(registry.clone()).broker(Config::default().broker(registry).unwrap())
}

#[test]
fn a_service_asks_a_model() {
    support::in_netns("a_service_asks_a_model", async {
        let provider = Provider::start("anthropic").await;
        provider.always(Reply::text("Bob brings the slides on Tuesday."));
        let _service = Running(spawn(env!("CARGO_BIN_EXE_summarize"), &provider, &[]));
        let client = client();
        let text =
            json!({"text": "The meeting moved to Tuesday. Bob said he would bring the slides."});
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let answer: Value = loop {
            match client.call("summary", "Summary.Summarize", &text).await {
                Ok(answer) => break answer,
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "summary never answered: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            answer,
            json!({"summary": "Bob brings the slides on Tuesday."})
        );
        let asked = provider.seen()[0].body.to_string();
        assert!(
            asked.contains("Summarize the user's text") && asked.contains("moved to Tuesday"),
            "{asked}"
        );
    });
}

// The provider answers on other threads while this one waits for the program.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_runs_the_programs_tools() {
    let provider = Provider::start("openai").await;
    provider.reply(Reply::call(
        "create_task",
        json!({"title": "Review the PR", "assignee": "alice"}),
    ));
    provider.reply(Reply::call("list_tasks", json!({})));
    provider.reply(Reply::text("Alice has one task: Review the PR."));
    let output = spawn(
        env!("CARGO_BIN_EXE_assistant"),
        &provider,
        &["Give Alice the PR review"],
    )
    .wait_with_output()
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "Alice has one task: Review the PR.");
    assert!(
        stderr.contains(
            r#"list_tasks({}) -> {"tasks":[{"title":"Review the PR","assignee":"alice"}]}"#
        ),
        "{stderr}"
    );
}

#[test]
fn a_model_runs_on_each_event() {
    support::in_netns("a_model_runs_on_each_event", async {
        let provider = Provider::start("groq").await;
        provider.always(Reply::text("Bob"));
        let _triage = Running(spawn(env!("CARGO_BIN_EXE_triage"), &provider, &[]));
        let client = client();
        let (tell, mut assigned) = tokio::sync::mpsc::unbounded_channel();
        let handler = broker::handler(move |_topic: String, message: Message| {
            let sent = tell.send(message.body);
            async move { sent.map_err(|_| Error::internal("test", "done")) }
        });
        let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
        let broker = Config::default().broker(registry).unwrap();
        let _subscription = broker
            .subscribe("tasks.assigned", handler, SubscribeOptions::default())
            .await
            .unwrap();
        // triage's subscriber shows up in mDNS after a moment: publish until it answers.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let body = loop {
            client
                .publish("tasks.created", &json!({"title": "The API is slow"}))
                .await
                .unwrap();
            if let Ok(Some(body)) =
                tokio::time::timeout(Duration::from_millis(500), assigned.recv()).await
            {
                break body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "triage never assigned the task"
            );
        };
        let assignment: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(assignment["assignee"], "bob");
        assert!(
            assignment["task"]
                .as_str()
                .unwrap()
                .contains("The API is slow")
        );
    });
}
