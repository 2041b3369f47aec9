//! libmicro and go-micro v5.30.0 as peers, each test inside its own network namespace with
//! the mDNS registry (and one on an etcd, one on a RabbitMQ started in its namespace):
//! go-micro's client and its `micro` CLI call our service, we call go-micro's service, and
//! broker messages flow both ways over the HTTP broker and over RabbitMQ. The Go programs come
//! from tests/interop (`make go-tools`).

mod support;

use micro::broker::{self, Broker};
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::server::{Context, Stream};
use micro::{Error, Service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;
use support::{go_program, in_netns};

#[derive(Deserialize, JsonSchema)]
struct Request {
    name: String,
    #[serde(default)]
    count: u32,
}

#[derive(Serialize, JsonSchema)]
struct Response {
    msg: String,
}

fn registry() -> Arc<dyn Registry> {
    Arc::new(
        Mdns::new(MdnsOptions {
            timeout: Duration::from_millis(400),
            ..Default::default()
        })
        .unwrap(),
    )
}

/// Our helloworld, as examples/helloworld serves it, plus an endpoint that fails.
fn helloworld(registry: Arc<dyn Registry>) -> Service {
    Service::new("helloworld")
        .registry(registry)
        .handle(
            "Helloworld.Call",
            |_ctx: Context, req: Request| async move {
                Ok(Response {
                    msg: format!("Hello {}", req.name),
                })
            },
        )
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .handle(
            "Helloworld.Fail",
            |_ctx: Context, req: Request| async move {
                Err::<Response, _>(Error::bad_request(
                    "helloworld",
                    format!("bad {}", req.name),
                ))
            },
        )
        .stream(
            "Helloworld.Stream",
            |_ctx: Context, mut stream: Stream| async move {
                if let Some(req) = stream.recv_json::<Request>().await? {
                    for i in 1..=req.count {
                        stream
                            .send_json(&Response {
                                msg: format!("Hello {} {i}", req.name),
                            })
                            .await?;
                    }
                }
                Ok(())
            },
        )
}

fn run(program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("MICRO_INTEROP_ALLOW_NETWORK", "1")
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts a long-running Go program and waits for its `ready` line.
fn start(program: &Path, args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(program)
        .args(args)
        .env("MICRO_INTEROP_ALLOW_NETWORK", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("ready"),
        "{program:?} said {line:?} instead of ready"
    );
    (child, out)
}

/// Stops a Go program with SIGTERM, as a user would, and waits for it to exit.
fn stop(mut child: Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
}

#[test]
fn go_micro_client_calls_streams_and_gets_errors_from_our_service() {
    let Some(client) = go_program("client") else {
        return;
    };
    in_netns(
        "go_micro_client_calls_streams_and_gets_errors_from_our_service",
        async move {
            let running = helloworld(registry()).start().await.unwrap();
            let client2 = client.clone();
            let outputs = tokio::task::spawn_blocking(move || {
                let call = run(
                    &client2,
                    &["call", "helloworld", "Helloworld.Call", r#"{"name":"Go"}"#],
                );
                let stream = run(
                    &client2,
                    &[
                        "stream",
                        "helloworld",
                        "Helloworld.Stream",
                        r#"{"name":"Go","count":3}"#,
                    ],
                );
                let fail = run(
                    &client2,
                    &["call", "helloworld", "Helloworld.Fail", r#"{"name":"Go"}"#],
                );
                let missing = run(&client2, &["call", "helloworld", "Helloworld.Nope", "{}"]);
                (call, stream, fail, missing)
            })
            .await
            .unwrap();
            let (call, stream, fail, missing) = outputs;
            let rsp: serde_json::Value = serde_json::from_str(stdout_of(&call).trim()).unwrap();
            assert_eq!(rsp["msg"], "Hello Go");
            let lines: Vec<String> = stdout_of(&stream).lines().map(str::to_string).collect();
            assert_eq!(lines.len(), 3, "{lines:?}");
            for (i, line) in lines.iter().enumerate() {
                let msg: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(msg["msg"], format!("Hello Go {}", i + 1));
            }
            assert_eq!(
                fail.status.code(),
                Some(2),
                "{}",
                String::from_utf8_lossy(&fail.stderr)
            );
            let last = String::from_utf8_lossy(&fail.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            assert_eq!(
                Error::parse(&last),
                Error::bad_request("helloworld", "bad Go")
            );
            let last = String::from_utf8_lossy(&missing.stderr)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            assert_eq!(Error::parse(&last).code, 404, "{last}");
            running.stop().await.unwrap();
        },
    );
}

#[test]
fn go_micro_cli_lists_describes_and_calls_our_service() {
    let Some(cli) = go_program("micro") else {
        return;
    };
    in_netns(
        "go_micro_cli_lists_describes_and_calls_our_service",
        async move {
            let running = helloworld(registry()).start().await.unwrap();
            let (services, describe, call) = tokio::task::spawn_blocking(move || {
                (
                    run(&cli, &["services"]),
                    run(&cli, &["describe", "helloworld"]),
                    run(
                        &cli,
                        &["call", "helloworld", "Helloworld.Call", r#"{"name":"CLI"}"#],
                    ),
                )
            })
            .await
            .unwrap();
            assert!(
                stdout_of(&services)
                    .lines()
                    .any(|l| l.trim() == "helloworld")
            );
            let described = stdout_of(&describe);
            assert!(described.contains("Helloworld.Call"), "{described}");
            assert!(described.contains("Greets a person by name"), "{described}");
            assert!(stdout_of(&call).contains("Hello CLI"));
            running.stop().await.unwrap();
        },
    );
}

#[test]
fn broker_messages_flow_both_ways_between_go_micro_and_us() {
    let Some(client) = go_program("client") else {
        return;
    };
    in_netns(
        "broker_messages_flow_both_ways_between_go_micro_and_us",
        async move {
            let broker = Arc::new(broker::Http::new(registry(), None));
            exchange_broker_messages(broker, client).await;
        },
    );
}

/// go-micro's client program publishes and we receive, then we publish and it receives, on the
/// broker the environment names for both (go-micro's HTTP broker unless MICRO_BROKER says),
/// headers intact both ways.
async fn exchange_broker_messages(broker: Arc<dyn Broker>, client: std::path::PathBuf) {
    // go-micro publishes, we receive.
    let mut inbox = support::inbox::Inbox::new();
    let _sub = broker
        .subscribe("to.rust", inbox.handler(0), Default::default())
        .await
        .unwrap();
    let publisher = client.clone();
    let published = tokio::task::spawn_blocking(move || {
        run(&publisher, &["publish", "to.rust", r#"{"from":"go"}"#])
    })
    .await
    .unwrap();
    stdout_of(&published);
    let (_, topic, message) = inbox.next().await;
    assert_eq!(topic, "to.rust");
    let body: serde_json::Value = serde_json::from_slice(&message.body).unwrap();
    assert_eq!(body["from"], "go");
    let header = |key: &str| message.header.get(key).map(String::as_str);
    assert_eq!(header("Content-Type"), Some("application/json"));
    assert_eq!(header("Micro-Topic"), Some("to.rust"));

    // We publish, go-micro receives.
    let (child, out) =
        tokio::task::spawn_blocking(move || start(&client, &["-n", "1", "subscribe", "to.go"]))
            .await
            .unwrap();
    let mut message = broker::Message::new(r#"{"from":"rust"}"#);
    for (key, value) in [
        ("Content-Type", "application/json"),
        ("Micro-Topic", "to.go"),
        ("X-Trace", "a b=c"),
    ] {
        message.header.insert(key.into(), value.into());
    }
    let got = publish_until_printed(&*broker, "to.go", &message, &mut lines(out)).await;
    tokio::task::spawn_blocking(move || stop(child))
        .await
        .unwrap();
    assert_eq!(got["topic"], "to.go");
    assert_eq!(got["body"]["from"], "rust");
    assert_eq!(got["header"]["X-Trace"], "a b=c");
    assert_eq!(got["header"]["Content-Type"], "application/json");
}

#[test]
fn our_client_calls_streams_and_gets_errors_from_a_go_micro_service() {
    let Some(helloworld) = go_program("helloworld") else {
        return;
    };
    in_netns(
        "our_client_calls_streams_and_gets_errors_from_a_go_micro_service",
        async move {
            let (child, _out) = tokio::task::spawn_blocking(move || {
                start(&helloworld, &["-name", "gohello", "-topic", ""])
            })
            .await
            .unwrap();
            let client = micro::Client::new(registry());

            let rsp: serde_json::Value = client
                .call(
                    "gohello",
                    "Helloworld.Call",
                    &serde_json::json!({ "name": "Rust" }),
                )
                .await
                .unwrap();
            assert_eq!(rsp["msg"], "Hello Rust");

            let err = client
                .call::<_, serde_json::Value>(
                    "gohello",
                    "Helloworld.Fail",
                    &serde_json::json!({ "name": "Rust" }),
                )
                .await
                .unwrap_err();
            assert_eq!(err, Error::bad_request("gohello", "bad Rust"));

            let mut stream = client
                .stream("gohello", "Helloworld.Stream", &Default::default())
                .await
                .unwrap();
            stream
                .send_json(&serde_json::json!({ "name": "Rust", "count": 3 }))
                .await
                .unwrap();
            let mut got = Vec::new();
            while let Some(msg) = stream.recv_json::<serde_json::Value>().await.unwrap() {
                got.push(msg["msg"].as_str().unwrap().to_string());
            }
            assert_eq!(got, ["Hello Rust 1", "Hello Rust 2", "Hello Rust 3"]);

            let mut echo = client
                .stream("gohello", "Helloworld.Echo", &Default::default())
                .await
                .unwrap();
            for i in 0..3 {
                echo.send_json(&serde_json::json!({ "i": i }))
                    .await
                    .unwrap();
                assert_eq!(
                    echo.recv_json::<serde_json::Value>()
                        .await
                        .unwrap()
                        .unwrap()["i"],
                    i
                );
            }
            echo.close().await.unwrap();

            let missing = client
                .call::<_, serde_json::Value>("nosuch", "X.Y", &serde_json::json!({}))
                .await
                .unwrap_err();
            assert_eq!(missing.code, 404);
            tokio::task::spawn_blocking(move || stop(child))
                .await
                .unwrap();
        },
    );
}

/// Stops the servers a namespaced test started (`MICRO_SERVERS_DIR` is its own), even when the
/// test fails.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
struct Servers;

#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new(support::SERVERS_SH).arg("stop").status();
    }
}

/// go-micro's services and ours on one etcd: each finds and calls the other, and broker
/// messages flow both ways through go-micro's HTTP broker, its subscribers found in etcd.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
#[test]
fn go_micro_and_we_meet_on_etcd() {
    meet_on(
        "go_micro_and_we_meet_on_etcd",
        "etcd",
        &[
            ("MICRO_REGISTRY", "etcd"),
            ("MICRO_REGISTRY_ADDRESS", "127.0.0.1:22379"),
        ],
    );
}

/// go-micro's services and ours on one NATS: each finds and calls the other through go-micro's
/// NATS registry, and broker messages flow both ways through its NATS broker.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
#[test]
fn go_micro_and_we_meet_on_nats() {
    meet_on(
        "go_micro_and_we_meet_on_nats",
        "nats",
        &[
            ("MICRO_REGISTRY", "nats"),
            ("MICRO_REGISTRY_ADDRESS", "nats://127.0.0.1:24222"),
            ("MICRO_BROKER", "nats"),
            ("MICRO_BROKER_ADDRESS", "nats://127.0.0.1:24222"),
        ],
    );
}

/// Runs `test` in a network namespace with `server` started in it and `env` choosing it for
/// go-micro's programs and for us alike.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
fn meet_on(test: &str, server: &str, env: &[(&str, &str)]) {
    let (Some(go_helloworld), Some(go_client)) = (go_program("helloworld"), go_program("client"))
    else {
        return;
    };
    let dir = format!("/tmp/libmicro-servers-{test}-{}", std::process::id());
    let start_server = format!("{} start {server}", support::SERVERS_SH);
    let mut env = env.to_vec();
    env.push(("MICRO_SERVERS_DIR", &dir));
    support::in_netns_with(test, &[&start_server], &env, async move {
        let _servers = Servers;
        let config = micro::config::Config::from_env();
        let registry = config.registry().unwrap();
        let broker = config.broker(registry.clone()).unwrap();
        find_and_call_each_other(registry, go_helloworld).await;
        exchange_broker_messages(broker, go_client).await;
    });
}

/// Our helloworld and go-micro's, on `registry`, list each other, call each other, and leave it
/// when stopped.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
async fn find_and_call_each_other(registry: Arc<dyn Registry>, go_helloworld: std::path::PathBuf) {
    let ours = helloworld(registry.clone())
        .address("127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let (child, _out) = tokio::task::spawn_blocking(move || {
        start(&go_helloworld, &["-name", "gohello", "-topic", ""])
    })
    .await
    .unwrap();

    // Both registered in go-micro's layout, so each is listed under its own name.
    let mut names: Vec<String> = registry
        .list_services()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(names, ["gohello", "helloworld"]);

    let rsp: serde_json::Value = micro::Client::new(registry.clone())
        .call(
            "gohello",
            "Helloworld.Call",
            &serde_json::json!({ "name": "Rust" }),
        )
        .await
        .unwrap();
    assert_eq!(rsp["msg"], "Hello Rust");

    let go_client = go_program("client").unwrap();
    let answer = tokio::task::spawn_blocking(move || {
        run(
            &go_client,
            &["call", "helloworld", "Helloworld.Call", r#"{"name":"Go"}"#],
        )
    })
    .await
    .unwrap();
    let answer: serde_json::Value = serde_json::from_str(stdout_of(&answer).trim()).unwrap();
    assert_eq!(answer["msg"], "Hello Go");

    tokio::task::spawn_blocking(move || stop(child))
        .await
        .unwrap();
    ours.stop().await.unwrap();
    // Both deregistered on a clean stop.
    assert!(registry.list_services().await.unwrap().is_empty());
}

/// The lines a Go program prints after its `ready` line, as they come.
fn lines(
    mut out: BufReader<std::process::ChildStdout>,
) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while out.read_line(&mut line).is_ok_and(|n| n > 0) {
            if tx.send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Publishes `message` on `topic` every 200 ms until the Go subscriber prints a line, which it
/// gives: go-micro's subscribers say `ready` before their registry, server or queue acts on it.
async fn publish_until_printed(
    broker: &dyn Broker,
    topic: &str,
    message: &broker::Message,
    printed: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
) -> serde_json::Value {
    for _ in 0..50 {
        broker.publish(topic, message.clone()).await.unwrap();
        if let Ok(Some(line)) =
            tokio::time::timeout(Duration::from_millis(200), printed.recv()).await
        {
            return serde_json::from_str(line.trim()).unwrap();
        }
    }
    panic!("go-micro's subscriber printed nothing for {topic}");
}

/// go-micro's RabbitMQ broker and ours on one RabbitMQ: a message go-micro publishes reaches
/// our subscriber and ours reaches go-micro's, headers intact, and a queue shared by a go-micro
/// and a libmicro subscriber hands each message to exactly one of them. Both pick the broker
/// from `MICRO_BROKER` and `MICRO_BROKER_ADDRESS`.
#[cfg(all(feature = "etcd", feature = "nats", feature = "rabbitmq"))]
#[test]
fn broker_messages_flow_both_ways_between_go_micro_and_us_over_rabbitmq() {
    let Some(go_client) = go_program("client") else {
        return;
    };
    let dir = format!(
        "/tmp/libmicro-servers-interop-rabbitmq-{}",
        std::process::id()
    );
    let start_rabbitmq = format!("{} start rabbitmq", support::SERVERS_SH);
    support::in_netns_with(
        "broker_messages_flow_both_ways_between_go_micro_and_us_over_rabbitmq",
        &[&start_rabbitmq],
        &[
            ("MICRO_SERVERS_DIR", &dir),
            ("MICRO_BROKER", "rabbitmq"),
            (
                "MICRO_BROKER_ADDRESS",
                "amqp://guest:guest@127.0.0.1:25672/",
            ),
        ],
        async move {
            let _servers = Servers;
            let broker = micro::config::Config::from_env()
                .broker(Arc::new(micro::registry::Memory::new()))
                .unwrap();
            assert_eq!(broker.name(), "rabbitmq");

            exchange_broker_messages(broker.clone(), go_client.clone()).await;

            // A queue shared by go-micro and us: ours declares it, go-micro's joins it.
            let mut ours = support::inbox::Inbox::new();
            let workers = broker::SubscribeOptions {
                queue: Some("workers".into()),
            };
            let _member = broker
                .subscribe("jobs", ours.handler(0), workers)
                .await
                .unwrap();
            let member = go_client.clone();
            let (child, out) = tokio::task::spawn_blocking(move || {
                start(&member, &["-queue", "workers", "subscribe", "jobs"])
            })
            .await
            .unwrap();
            let mut theirs = lines(out);
            let probe = broker::Message::new(r#""probe""#);
            publish_until_printed(&*broker, "jobs", &probe, &mut theirs).await;
            const N: usize = 20;
            for i in 0..N {
                broker
                    .publish("jobs", broker::Message::new(i.to_string()))
                    .await
                    .unwrap();
            }
            let (mut ours_got, mut theirs_got) = (Vec::new(), Vec::new());
            let deadline = tokio::time::Instant::now() + support::inbox::WAIT;
            while ours_got.len() + theirs_got.len() < N {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{ours_got:?} {theirs_got:?}"
                );
                tokio::select! {
                    (_, _, m) = ours.next() => ours_got.push(String::from_utf8(m.body.to_vec()).unwrap()),
                    Some(line) = theirs.recv() => {
                        let got: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
                        theirs_got.push(got["body"].to_string());
                    }
                }
                ours_got.retain(|b| b != r#""probe""#);
                theirs_got.retain(|b| b != r#""probe""#);
            }
            tokio::time::sleep(support::inbox::GRACE).await;
            assert!(theirs.try_recv().is_err(), "go-micro got a message twice");
            tokio::task::spawn_blocking(move || stop(child))
                .await
                .unwrap();
            assert!(
                !ours_got.is_empty() && !theirs_got.is_empty(),
                "{ours_got:?} {theirs_got:?}"
            );
            let mut every: Vec<usize> = ours_got
                .iter()
                .chain(&theirs_got)
                .map(|b| b.parse().unwrap())
                .collect();
            every.sort();
            assert_eq!(
                every,
                (0..N).collect::<Vec<_>>(),
                "each message to exactly one member"
            );
        },
    );
}
