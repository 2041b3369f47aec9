//! The inspecting and calling commands against real services: each test runs inside its own
//! network namespace, starts a `micro::Service` (mDNS registry, HTTP broker) in the test
//! process and runs the `micro` binary as a child process, as a user would.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use micro::broker::{self, Message, SubscribeOptions};
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::server::{self, Context};
use micro::{Error, Service};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

/// How long anything in these tests may take to show up.
const PATIENCE: Duration = Duration::from_secs(20);

fn registry() -> Arc<dyn Registry> {
    Arc::new(Mdns::new(MdnsOptions::default()).unwrap())
}

/// A service whose `Meta.Echo` answers `{"metadata": <every header it got>}` and whose
/// `Meta.Fail` answers a 400 naming the service.
async fn echo_service(name: &str, registry: Arc<dyn Registry>) -> micro::service::Running {
    let echo = server::raw(|ctx: Context, _body| async move {
        Ok(
            serde_json::to_vec(&serde_json::json!({ "metadata": ctx.metadata }))
                .unwrap()
                .into(),
        )
    });
    let fail = server::raw(|ctx: Context, _body| async move {
        Err(Error::bad_request(
            ctx.service,
            "this endpoint always fails",
        ))
    });
    Service::new(name)
        .registry(registry)
        .handle_raw("Meta.Echo", echo)
        .describe("Meta.Echo", "Echoes the call's metadata", "{}")
        .handle_raw("Meta.Fail", fail)
        .start()
        .await
        .unwrap()
}

/// Runs `micro <args>` to the end, off the runtime's threads.
async fn micro(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(&args)
            .env("MICRO_REGISTRY", "mdns")
            .env_remove("MICRO_BROKER")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Runs `micro <args>` until it succeeds with stdout passing `check` (mDNS answers may take a
/// moment), and returns that stdout.
async fn micro_until(args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let output = micro(args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        if output.status.success() && check(&stdout) {
            return stdout;
        }
        assert!(
            Instant::now() < deadline,
            "micro {args:?} never passed: {} / {stdout} / {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A long-running `micro` child whose stdout and stderr lines arrive on channels.
struct Running {
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(args)
            .env("MICRO_REGISTRY", "mdns")
            .env_remove("MICRO_BROKER")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for a stderr line containing `text`.
    async fn said(&mut self, text: &str) {
        loop {
            let line = timeout(PATIENCE, self.stderr.recv()).await;
            match line.expect("no stderr line in time") {
                Some(line) if line.contains(text) => return,
                Some(_) => continue,
                None => panic!("micro exited before saying {text:?}"),
            }
        }
    }

    /// The next stdout line, as JSON.
    async fn next_json(&mut self) -> serde_json::Value {
        let line = timeout(PATIENCE, self.stdout.recv())
            .await
            .expect("no stdout line in time")
            .expect("micro exited");
        json(&line)
    }

    /// Sends SIGTERM and returns whether the process then exited cleanly.
    async fn terminate(mut self) -> bool {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        tokio::task::spawn_blocking(move || self.child.wait().unwrap().success())
            .await
            .unwrap()
    }
}

/// Forwards each line of `from` to a channel, from a thread of its own.
fn lines(from: impl std::io::Read + Send + 'static) -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

#[test]
fn services_describe_and_call_reach_a_running_service() {
    support::in_netns(
        "services_describe_and_call_reach_a_running_service",
        async {
            let service = echo_service("inspected", registry()).await;

            micro_until(&["services"], |out| out.lines().any(|l| l == "inspected")).await;

            let described = micro_until(&["describe", "inspected"], |_| true).await;
            assert!(
                described.contains("\n    \"name\": \"inspected\""),
                "indented by four spaces as go-micro's describe: {described}"
            );
            let described = json(&described);
            assert_eq!(described["name"], "inspected");
            let echo = described["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == "Meta.Echo")
                .expect("Meta.Echo is described");
            assert_eq!(
                echo["metadata"]["description"],
                "Echoes the call's metadata"
            );
            assert_eq!(
                described["nodes"][0]["address"],
                service.address().to_string()
            );

            let output = micro(&[
                "call",
                "inspected",
                "Meta.Echo",
                "-H",
                "X-Trace: abc",
                "--metadata",
                "Tenant:acme",
            ])
            .await;
            assert!(output.status.success(), "{output:?}");
            let answer = json(&String::from_utf8_lossy(&output.stdout));
            let metadata = &answer["metadata"];
            assert_eq!(metadata["X-Trace"], "abc", "{answer}");
            assert_eq!(metadata["Tenant"], "acme", "{answer}");
            assert_eq!(metadata["Micro-Endpoint"], "Meta.Echo", "{answer}");

            let failed = micro(&["call", "inspected", "Meta.Fail", r#"{"a":1}"#]).await;
            assert!(!failed.status.success());
            assert!(failed.stdout.is_empty());
            let err = json(&String::from_utf8_lossy(&failed.stderr));
            assert_eq!(err["code"], 400);
            assert_eq!(err["id"], "inspected");
            assert_eq!(err["detail"], "this endpoint always fails");

            service.stop().await.unwrap();
        },
    );
}

#[test]
fn calling_an_unknown_service_prints_the_404_json_on_stderr() {
    support::in_netns(
        "calling_an_unknown_service_prints_the_404_json_on_stderr",
        async {
            let output = micro(&["call", "nosuch", "Foo.Bar", "{}"]).await;
            assert!(!output.status.success());
            assert!(output.stdout.is_empty());
            let err = json(&String::from_utf8_lossy(&output.stderr));
            assert_eq!(err["code"], 404, "{err}");
            assert_eq!(err["status"], "Not Found", "{err}");
            assert!(err["detail"].as_str().unwrap().contains("nosuch"), "{err}");
        },
    );
}

#[test]
fn registry_list_get_and_watch_follow_a_service() {
    support::in_netns("registry_list_get_and_watch_follow_a_service", async {
        let mut watch = Running::start(&["registry", "watch"]);
        watch.said("Watching registry").await;

        let service = echo_service("watched", registry()).await;
        let node = service.record().nodes[0].id.clone();

        let listed = micro_until(&["registry", "list"], |out| out.contains("watched")).await;
        let listed = json(&listed);
        assert!(
            listed
                .as_array()
                .unwrap()
                .contains(&serde_json::json!({"name": "watched", "version": ""})),
            "{listed}"
        );

        let got = json(&micro_until(&["registry", "get", "watched"], |_| true).await);
        assert_eq!(got[0]["name"], "watched");
        assert_eq!(got[0]["version"], "latest");
        assert_eq!(got[0]["nodes"][0]["id"], node.as_str());

        let created = watch.next_json().await;
        assert_eq!(created["action"], "create", "{created}");
        assert_eq!(created["service"]["name"], "watched");

        service.stop().await.unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let event = watch.next_json().await;
            if event["action"] == "delete" {
                assert_eq!(event["service"]["name"], "watched");
                break;
            }
            assert!(Instant::now() < deadline, "no delete event");
        }
        assert!(watch.terminate().await, "watch exits cleanly on SIGTERM");
    });
}

#[test]
fn broker_publish_and_subscribe_reach_subscribers_both_ways() {
    support::in_netns(
        "broker_publish_and_subscribe_reach_subscribers_both_ways",
        async {
            let registry = registry();
            let broker = micro::config::Config::default()
                .broker(registry.clone())
                .unwrap();

            // The binary publishes to a subscriber in this process.
            let (sender, mut received) = mpsc::unbounded_channel();
            let handler = broker::handler(move |_topic, message: Message| {
                let _ = sender.send(message);
                async { Ok(()) }
            });
            let subscription = broker
                .subscribe("cli.out", handler, SubscribeOptions::default())
                .await
                .unwrap();
            let published = micro(&["broker", "publish", "cli.out", r#"{"hello":"world"}"#]).await;
            assert_eq!(
                String::from_utf8_lossy(&published.stdout),
                "Published to \"cli.out\"\n"
            );
            let got = timeout(PATIENCE, async {
                loop {
                    if let Ok(got) = received.try_recv() {
                        return got;
                    }
                    // A publish made before this subscriber answered in mDNS reached nobody.
                    micro(&["broker", "publish", "cli.out", r#"{"hello":"world"}"#]).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
            .await
            .expect("the subscriber got the message");
            assert_eq!(got.body, r#"{"hello":"world"}"#);
            assert_eq!(got.header["Content-Type"], "application/json");
            assert_eq!(got.header["Micro-Topic"], "cli.out");
            subscription.unsubscribe().await.unwrap();

            // This process publishes to the binary's subscriber.
            let mut subscribe = Running::start(&["broker", "subscribe", "cli.in"]);
            subscribe.said("Subscribed to \"cli.in\"").await;
            let line = timeout(PATIENCE, async {
                loop {
                    let message = Message::new(r#"{"n":1}"#);
                    broker.publish("cli.in", message).await.unwrap();
                    if let Ok(Some(line)) =
                        timeout(Duration::from_millis(300), subscribe.stdout.recv()).await
                    {
                        return line;
                    }
                }
            })
            .await
            .expect("the binary printed the message");
            let line = json(&line);
            assert_eq!(line["topic"], "cli.in");
            assert_eq!(line["body"], serde_json::json!({"n": 1}));
            assert_eq!(line["header"]["Micro-Topic"], "cli.in");
            assert!(
                subscribe.terminate().await,
                "subscribe exits cleanly on SIGTERM"
            );
            let gone = registry.get_service("micro.http.broker").await;
            assert!(
                gone.is_err() || gone.unwrap().iter().all(|s| s.nodes.is_empty()),
                "the binary's subscriber left the registry"
            );
        },
    );
}

#[test]
fn describe_and_registry_print_what_go_micro_prints_byte_for_byte() {
    let (Some(go_micro), Some(helloworld)) = (
        support::go_program("micro"),
        support::go_program("helloworld"),
    ) else {
        return;
    };
    support::in_netns(
        "describe_and_registry_print_what_go_micro_prints_byte_for_byte",
        async move {
            let mut hello = Command::new(&helloworld)
                .args(["-topic", ""])
                .env("MICRO_INTEROP_ALLOW_NETWORK", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut ready = lines(hello.stdout.take().unwrap());
            let first = timeout(PATIENCE, ready.recv()).await.unwrap().unwrap();
            assert!(first.starts_with("ready "), "{first}");
            for args in [
                &["describe", "gohello"][..],
                &["registry", "get", "gohello"],
                &["registry", "list"],
            ] {
                let ours = micro_until(args, |_| true).await;
                let go = Command::new(&go_micro).args(args).output().unwrap();
                assert!(go.status.success(), "go-micro's micro {args:?}: {go:?}");
                assert_eq!(ours, String::from_utf8_lossy(&go.stdout), "micro {args:?}");
            }
            let call = ["call", "gohello", "Helloworld.Call", r#"{"name":"Alice"}"#];
            let go = Command::new(&go_micro).args(call).output().unwrap();
            assert_eq!(micro(&call).await.stdout, go.stdout);
            // A failed call: the error JSON as the last line of stderr, exit code 1, both.
            let fail = ["call", "gohello", "Helloworld.Fail", r#"{"name":"Alice"}"#];
            let go = Command::new(&go_micro).args(fail).output().unwrap();
            let ours = micro(&fail).await;
            assert_eq!(ours.status.code(), Some(1));
            assert_eq!(go.status.code(), Some(1));
            let last = |output: &Output| {
                let stderr = String::from_utf8_lossy(&output.stderr).to_string();
                stderr.lines().last().unwrap_or_default().to_string()
            };
            assert_eq!(last(&ours), last(&go));
            hello.kill().unwrap();
            hello.wait().unwrap();
        },
    );
}

#[test]
fn broker_messages_cross_to_and_from_go_micro() {
    let (Some(client), Some(helloworld)) = (
        support::go_program("client"),
        support::go_program("helloworld"),
    ) else {
        return;
    };
    support::in_netns("broker_messages_cross_to_and_from_go_micro", async move {
        // A go-micro subscriber gets what `micro broker publish` sends, decoded as JSON.
        let mut hello = Command::new(&helloworld)
            .args(["-topic", "gohello.events"])
            .env("MICRO_INTEROP_ALLOW_NETWORK", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut said = lines(hello.stdout.take().unwrap());
        let first = timeout(PATIENCE, said.recv()).await.unwrap().unwrap();
        assert!(first.starts_with("ready "), "{first}");
        let got = timeout(PATIENCE, async {
            loop {
                micro(&["broker", "publish", "gohello.events", r#"{"from":"cli"}"#]).await;
                if let Ok(Some(line)) = timeout(Duration::from_millis(500), said.recv()).await {
                    return json(&line);
                }
            }
        })
        .await
        .expect("the go-micro subscriber got the message");
        assert_eq!(got["body"], serde_json::json!({"from": "cli"}), "{got}");
        hello.kill().unwrap();
        hello.wait().unwrap();

        // `micro broker subscribe` prints what a go-micro client publishes.
        let mut subscribe = Running::start(&["broker", "subscribe", "cli.go"]);
        subscribe.said("Subscribed to").await;
        let line = timeout(PATIENCE, async {
            loop {
                let client = client.clone();
                tokio::task::spawn_blocking(move || {
                    Command::new(client)
                        .args(["-linger", "300ms", "publish", "cli.go", r#"{"from":"go"}"#])
                        .env("MICRO_INTEROP_ALLOW_NETWORK", "1")
                        .output()
                        .unwrap()
                })
                .await
                .unwrap();
                if let Ok(Some(line)) =
                    timeout(Duration::from_millis(300), subscribe.stdout.recv()).await
                {
                    return json(&line);
                }
            }
        })
        .await
        .expect("micro broker subscribe printed the go-micro message");
        assert_eq!(line["body"], serde_json::json!({"from": "go"}), "{line}");
        assert_eq!(line["header"]["Content-Type"], "application/json", "{line}");
        assert!(subscribe.terminate().await);
    });
}
