//! `micro chat` and `micro flow` as a user runs them: the real binary in front of a real
//! helloworld service over mDNS (inside a network namespace of its own) and a model provider
//! on loopback speaking Anthropic's or OpenAI's wire format, which scripts the tool calls; and
//! `micro chat` against a real model, SmolLM2 served by llama-cpp-python.

#[allow(dead_code)]
mod common;
#[path = "../../core/tests/support/provider.rs"]
mod provider;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use common::{micro, tools_once_found};
use micro::registry::{Mdns, MdnsOptions, Registry};
use provider::{Provider, Reply};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

const TOOL: &str = "helloworld_Helloworld_Call";

/// Starts helloworld over mDNS; each name it greets is sent on the channel.
async fn helloworld() -> (micro::service::Running, mpsc::UnboundedReceiver<String>) {
    let (greeted, names) = mpsc::unbounded_channel();
    let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
    let service = micro::Service::new("helloworld")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", move |_ctx, req: Value| {
            let name = req["name"].as_str().unwrap_or_default().to_string();
            let _ = greeted.send(name.clone());
            async move { Ok(json!({ "msg": format!("Hello {name}") })) }
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name.",
            r#"{"name":"Alice"}"#,
        )
        .start()
        .await
        .unwrap();
    (service, names)
}

/// helloworld, once `micro` finds it; the names it greets, and a home for `micro`.
async fn helloworld_found() -> (
    micro::service::Running,
    mpsc::UnboundedReceiver<String>,
    tempfile::TempDir,
) {
    let (service, greeted) = helloworld().await;
    let home = tempfile::tempdir().unwrap();
    tools_once_found(home.path(), "helloworld.Helloworld.Call").await;
    (service, greeted, home)
}

/// `micro <args>` with the model flags pointing at `provider`.
fn with_model(home: &Path, provider: &Provider, args: &[&str]) -> tokio::process::Command {
    let mut command = micro(home, args);
    command
        .args([
            "--provider",
            &provider.name,
            "--base_url",
            &provider.url,
            "--api_key",
            "sk-cli-test",
        ])
        .env_remove("MICRO_AI_PROVIDER")
        .env_remove("MICRO_AI_MODEL")
        .env_remove("MICRO_AI_BASE_URL");
    command
}

/// The text of every message of a provider request, joined.
fn said(body: &Value) -> String {
    body.to_string()
}

#[test]
fn micro_chat_calls_a_service_and_shows_it() {
    support::in_netns("micro_chat_calls_a_service_and_shows_it", async {
        let (_service, mut greeted, home) = helloworld_found().await;
        let provider = Provider::start("anthropic").await;
        provider.reply(Reply::call(TOOL, json!({"name": "Alice"})));
        provider.reply(Reply::text("I said hello to Alice."));
        // Logging everything, the key still shows nowhere.
        let output = with_model(home.path(), &provider, &["chat", "--prompt", "Greet Alice"])
            .env("MICRO_LOG", "trace")
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}{stderr}");
        assert!(stderr.len() > 1000, "trace logging is on: {stderr}");
        assert!(
            !format!("{stdout}{stderr}").contains("sk-cli-test"),
            "the key was logged"
        );
        assert!(
            stdout.contains(&format!("→ {TOOL}({{\"name\":\"Alice\"}})")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("← {TOOL}: {{\"msg\":\"Hello Alice\"}}")),
            "{stdout}"
        );
        assert!(
            stdout.trim_end().ends_with("I said hello to Alice."),
            "{stdout}"
        );
        assert_eq!(greeted.recv().await.unwrap(), "Alice");
        let seen = provider.seen();
        assert!(
            said(&seen[0].body).contains("Greets a person by name."),
            "the tool is offered with its description"
        );
        assert!(
            said(&seen[1].body).contains("Hello Alice"),
            "the result went back to the model"
        );
    });
}

#[test]
fn micro_chat_keeps_the_conversation_and_asks_before_tools() {
    support::in_netns(
        "micro_chat_keeps_the_conversation_and_asks_before_tools",
        async {
            let (_service, mut greeted, home) = helloworld_found().await;
            let provider = Provider::start("openai").await;
            provider.reply(Reply::call(TOOL, json!({"name": "Bob"})));
            provider.reply(Reply::text("You did not let me."));
            provider.reply(Reply::text("You asked me to greet Bob."));
            let mut chat = with_model(home.path(), &provider, &["chat", "--approve"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = chat.stdin.take().unwrap();
            let mut stderr = BufReader::new(chat.stderr.take().unwrap());
            // Answer each question as it is asked: the prompt, the approval, the next prompt.
            for answer in ["Greet Bob", "n", "What did I ask?"] {
                let mut asked = Vec::new();
                loop {
                    let mut byte = [0u8; 1];
                    let n = tokio::time::timeout(
                        Duration::from_secs(30),
                        tokio::io::AsyncReadExt::read(&mut stderr, &mut byte),
                    )
                    .await
                    .expect("micro chat asks")
                    .unwrap();
                    assert!(
                        n == 1,
                        "micro chat ended early: {}",
                        String::from_utf8_lossy(&asked)
                    );
                    asked.push(byte[0]);
                    if asked.ends_with(b"> ") || asked.ends_with(b"[y/N] ") {
                        break;
                    }
                }
                let asked = String::from_utf8_lossy(&asked).to_string();
                if answer == "n" {
                    assert!(
                        asked.contains(&format!("Run {TOOL}({{\"name\":\"Bob\"}})? [y/N] ")),
                        "{asked}"
                    );
                }
                stdin
                    .write_all(format!("{answer}\n").as_bytes())
                    .await
                    .unwrap();
            }
            // The last answer comes, then Ctrl-D ends the chat.
            let mut out = BufReader::new(chat.stdout.take().unwrap()).lines();
            let mut stdout = String::new();
            while !stdout.contains("You asked me to greet Bob.") {
                let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
                    .await
                    .expect("an answer")
                    .unwrap();
                stdout += &line.unwrap_or_else(|| panic!("stdout ended: {stdout}"));
                stdout += "\n";
            }
            drop(stdin);
            assert!(chat.wait().await.unwrap().success());
            assert!(
                stdout.contains("error: the user did not allow this call"),
                "{stdout}"
            );
            assert!(
                greeted.try_recv().is_err(),
                "a refused call does not reach the service"
            );
            let third = said(&provider.seen()[2].body);
            assert!(
                third.contains("Greet Bob") && third.contains("You did not let me."),
                "the history goes with the next prompt: {third}"
            );
        },
    );
}

#[test]
fn micro_flow_runs_the_model_on_each_event() {
    support::in_netns("micro_flow_runs_the_model_on_each_event", async {
        let (_service, mut greeted, home) = helloworld_found().await;
        let provider = Provider::start("gemini").await;
        provider.reply(Reply::call(TOOL, json!({"name": "Carol"})));
        provider.reply(Reply::text("Welcomed Carol."));
        provider.always(Reply::text("Already welcomed."));
        let prompt = "New user {{.Data}} on {{.Topic}}: greet them.";
        let mut flow = with_model(
            home.path(),
            &provider,
            &[
                "flow",
                "run",
                "--trigger",
                "user.created",
                "--prompt",
                prompt,
            ],
        )
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
        let mut stderr = BufReader::new(flow.stderr.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            ready.contains("runs on each message to \"user.created\""),
            "{ready}"
        );
        // The HTTP broker finds the flow's subscriber through mDNS: publish until it has.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while provider.seen().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the flow never ran");
            let published = micro(
                home.path(),
                &["broker", "publish", "user.created", r#"{"name":"Carol"}"#],
            )
            .output()
            .await
            .unwrap();
            assert!(
                published.status.success(),
                "{}",
                String::from_utf8_lossy(&published.stderr)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(30), greeted.recv())
                .await
                .unwrap()
                .unwrap(),
            "Carol"
        );
        let first = said(&provider.seen()[0].body);
        assert!(
            first.contains(r#"New user {\"name\":\"Carol\"} on user.created: greet them."#),
            "{first}"
        );
        let mut out = BufReader::new(flow.stdout.take().unwrap()).lines();
        let mut stdout = String::new();
        while !stdout.contains("Welcomed Carol.") {
            let line = tokio::time::timeout(Duration::from_secs(30), out.next_line())
                .await
                .expect("the run's answer")
                .unwrap();
            stdout += &line.unwrap_or_else(|| panic!("stdout ended: {stdout}"));
        }
        flow.kill().await.unwrap();

        // exec: once, with --data.
        let provider = Provider::start("mistral").await;
        provider.reply(Reply::text("Counted."));
        let output = with_model(
            home.path(),
            &provider,
            &[
                "flow",
                "exec",
                "--prompt",
                "Count {{.Data}}",
                "--data",
                "the users",
            ],
        )
        .output()
        .await
        .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("Counted."));
        assert!(said(&provider.seen()[0].body).contains("Count the users"));
    });
}

#[test]
fn micro_chat_streams_a_real_models_answer() {
    let url = support::server("llm");
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_micro"))
        .args([
            "chat",
            "--provider",
            "openai",
            "--base_url",
            &url,
            "--prompt",
            "Say hello in a few words.",
        ])
        .env("HOME", home.path())
        .env("MICRO_REGISTRY", "memory")
        .env_remove("MICRO_AI_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.trim().chars().filter(|c| c.is_alphabetic()).count() > 3,
        "no answer: {stdout:?}"
    );
}

#[test]
fn micro_chat_says_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(["chat", "--provider", "anthropic", "--prompt", "Hi"])
        .env("HOME", home.path())
        .env("MICRO_REGISTRY", "memory")
        .env_remove("MICRO_AI_API_KEY")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("MICRO_AI_BASE_URL")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no API key for anthropic: set MICRO_AI_API_KEY or ANTHROPIC_API_KEY"),
        "{stderr}"
    );
}
