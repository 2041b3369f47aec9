//! Across hosts: several network namespaces joined by veth pairs to one bridge, each a "host"
//! with its own address (10.77.0.1, .2, ...), the servers on the first.
//!
//! - Three nodes of a service run on three hosts; one is killed with `kill -9` while a stream of
//!   calls runs from the first host: no call fails, and the dead node leaves the registry
//!   within its TTL. Then a gateway on the first host calls the nodes left on the other two.
//! - etcd, and NATS, are killed and restarted while calls run: the nodes on the other hosts are
//!   back in the registry within one register interval and calls go on.
//! - A JetStream subscriber is killed with `kill -9` mid-stream: another, on another host,
//!   handles every message the killed one had not acknowledged, and a handler that failed gets
//!   its message again.
//!
//! The tests re-run their own binary inside the namespaces (`ip netns exec`) in a role named by
//! `MICRO_TEST_ROLE`: `node` serves, `caller` calls and checks, `subscriber` and `publisher` use
//! the broker. Needs root and `ip`.

mod support;

use micro::broker::{Message, SubscribeOptions};
use micro::registry::Registry;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE: &str = "MICRO_TEST_ROLE";
const SERVICE: &str = "multihost";
/// How long a node's registration lives without renewal.
const TTL: Duration = Duration::from_secs(3);

#[derive(Serialize, Deserialize, JsonSchema)]
struct Where {
    address: String,
}

/// Network namespaces `<prefix>h<i>` joined by veth pairs to a bridge in `<prefix>sw`,
/// removed when dropped.
struct Hosts {
    prefix: String,
    count: usize,
}

impl Hosts {
    fn up(count: usize) -> Hosts {
        // Tests run side by side: each set of hosts has names of its own.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let hosts = Hosts {
            prefix: format!("lm{}x{n}", std::process::id()),
            count,
        };
        let sw = format!("{}sw", hosts.prefix);
        let mut script = vec![
            format!("ip netns add {sw}"),
            format!("ip -n {sw} link add br0 type bridge"),
            format!("ip -n {sw} link set br0 up"),
        ];
        for i in 0..count {
            let h = hosts.name(i);
            script.extend([
                format!("ip netns add {h}"),
                format!("ip link add eth0 netns {h} type veth peer name p{i} netns {sw}"),
                format!("ip -n {sw} link set p{i} master br0"),
                format!("ip -n {sw} link set p{i} up"),
                format!("ip -n {h} addr add {}/24 dev eth0", hosts.address(i)),
                format!("ip -n {h} link set eth0 up"),
                format!("ip -n {h} link set lo up"),
            ]);
        }
        let status = Command::new("sh")
            .args(["-ec", &script.join("\n")])
            .status()
            .expect("cannot run sh");
        assert!(
            status.success(),
            "making the test hosts failed (needs root and ip)"
        );
        hosts
    }

    fn name(&self, i: usize) -> String {
        format!("{}h{i}", self.prefix)
    }

    fn address(&self, i: usize) -> String {
        format!("10.77.0.{}", i + 1)
    }

    /// `program` run on host `i`.
    fn command(&self, i: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name(i), program]);
        command
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for i in 0..self.count {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name(i)])
                .status();
        }
        let sw = format!("{}sw", self.prefix);
        let _ = Command::new("ip").args(["netns", "del", &sw]).status();
    }
}

/// This test binary, run on host `i` in `role`, filtered to the role's test.
fn role(hosts: &Hosts, i: usize, role: &str, env: &[(&str, String)]) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = hosts.command(i, exe.to_str().unwrap());
    command
        .args([
            "--exact",
            &format!("{role}_role"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// A server from scripts/servers.sh on host 0, stopped (its data removed) when dropped.
struct Server<'a> {
    hosts: &'a Hosts,
    env: [(&'static str, String); 2],
}

impl<'a> Server<'a> {
    fn start(hosts: &'a Hosts, name: &str) -> Server<'a> {
        let server = Server {
            hosts,
            env: [
                (
                    "MICRO_SERVERS_DIR",
                    format!("/tmp/libmicro-servers-{}-{name}", hosts.prefix),
                ),
                ("MICRO_SERVERS_HOST", hosts.address(0)),
            ],
        };
        server.run(&["start", name]);
        server
    }

    /// Runs scripts/servers.sh with `args` on host 0.
    fn run(&self, args: &[&str]) {
        let status = self
            .hosts
            .command(0, support::SERVERS_SH)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "servers.sh {args:?} failed on the first host"
        );
    }
}

impl Drop for Server<'_> {
    fn drop(&mut self) {
        let _ = self
            .hosts
            .command(0, support::SERVERS_SH)
            .arg("stop")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .status();
    }
}

/// Starts `role` on host `i` and waits until it prints `ready`.
fn start_role(
    hosts: &Hosts,
    i: usize,
    name: &str,
    env: &[(&str, String)],
) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = role(hosts, i, name, env)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // The test harness writes "test <name>_role ... " first, on the same line.
    while !line.trim_end().ends_with("ready") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "{name} on host {i} ended before it was ready"
        );
    }
    (child, out)
}

/// The registry the roles' environment names (`MICRO_REGISTRY`, `MICRO_REGISTRY_ADDRESS`).
fn registry_from_env() -> Arc<dyn Registry> {
    micro::config::Config::from_env().registry().unwrap()
}

/// Kills a child and reaps it.
fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn three_nodes_on_three_hosts_lose_one_to_kill_9_and_no_call_fails() {
    let hosts = Hosts::up(4);
    let _etcd = Server::start(&hosts, "etcd");
    let registry = [
        ("MICRO_REGISTRY", "etcd".to_string()),
        (
            "MICRO_REGISTRY_ADDRESS",
            format!("{}:22379", hosts.address(0)),
        ),
    ];
    let mut nodes = Vec::new();
    for i in 1..=3 {
        let mut env = registry.to_vec();
        env.push(("ADDRESS", format!("{}:9090", hosts.address(i))));
        nodes.push(start_role(&hosts, i, "node", &env).0);
    }
    let victim = nodes.remove(1);
    let mut env = registry.to_vec();
    env.extend([
        ("VICTIM_PID", victim.id().to_string()),
        ("VICTIM_ADDRESS", format!("{}:9090", hosts.address(2))),
    ]);
    let caller = role(&hosts, 0, "caller", &env).output().unwrap();
    let stdout = String::from_utf8_lossy(&caller.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&caller.stderr));

    kill(victim);
    nodes.into_iter().for_each(kill);
    assert!(
        caller.status.success(),
        "the caller failed on the first host"
    );
    assert!(stdout.contains("1 passed"), "the caller did not run");
}

/// etcd, then NATS, on the first host is killed and started again while the second host calls
/// the nodes on the other two: no call fails (the client's cache knows the nodes), and they are
/// back in the registry within one register interval of the restart.
#[test]
fn registries_restarted_under_load_come_back_across_hosts() {
    let hosts = Hosts::up(4);
    for (server, address) in [
        ("etcd", format!("{}:22379", hosts.address(0))),
        ("nats", format!("nats://{}:24222", hosts.address(0))),
    ] {
        let running = Server::start(&hosts, server);
        let registry = [
            ("MICRO_REGISTRY", server.to_string()),
            ("MICRO_REGISTRY_ADDRESS", address),
        ];
        let nodes: Vec<Child> = (2..=3)
            .map(|i| {
                let mut env = registry.to_vec();
                env.push(("ADDRESS", format!("{}:9090", hosts.address(i))));
                start_role(&hosts, i, "node", &env).0
            })
            .collect();
        let (mut caller, mut out) = start_role(&hosts, 1, "restart_caller", &registry);
        running.run(&["kill", server]);
        std::thread::sleep(Duration::from_secs(2));
        running.run(&["start", server]);
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let status = caller.wait().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        println!("{server}: {line}{rest}");
        nodes.into_iter().for_each(kill);
        assert!(
            status.success(),
            "the caller failed with {server} restarted"
        );
        assert!(line.starts_with("back"), "{server}: {line}{rest}");
    }
}

/// NATS with JetStream on the first host; a subscriber of the durable queue `workers` on the
/// second is killed with `kill -9` while a publisher on the third sends 300 messages; a second
/// subscriber on the fourth takes over. Every message the publisher had stored is handled
/// (those the killed one had taken but not acknowledged come again after `ack_wait`), and the
/// messages whose handler failed on the first try came again.
#[test]
fn a_jetstream_subscriber_killed_mid_stream_loses_no_message() {
    const COUNT: usize = 300;
    let hosts = Hosts::up(4);
    let _nats = Server::start(&hosts, "nats");
    let broker = [
        ("MICRO_BROKER", "nats".to_string()),
        (
            "MICRO_BROKER_ADDRESS",
            format!(
                "nats://{}:24222?jetstream=true&ack_wait=2s",
                hosts.address(0)
            ),
        ),
        ("TOPIC", format!("orders-{}", hosts.prefix)),
    ];
    let (victim, mut victim_out) = start_role(&hosts, 1, "subscriber", &broker);
    let mut env = broker.to_vec();
    env.push(("COUNT", COUNT.to_string()));
    let publisher = role(&hosts, 2, "publisher", &env)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let (mut handled, mut failed) = (BTreeSet::new(), BTreeSet::new());
    // A subscriber's line `got <n>` or `failed <n>`, into its set.
    let mut record = |line: &str, handled: &mut BTreeSet<usize>| match line.trim().split_once(' ') {
        Some(("got", n)) => {
            handled.insert(n.parse().unwrap());
        }
        Some(("failed", n)) => {
            failed.insert(n.parse::<usize>().unwrap());
        }
        _ => {}
    };
    let mut line = String::new();
    let mut by_victim = 0;
    while by_victim < 50 {
        line.clear();
        assert!(
            victim_out.read_line(&mut line).unwrap() > 0,
            "the subscriber ended early"
        );
        if line.starts_with("got") {
            by_victim += 1;
        }
        record(&line, &mut handled);
    }
    kill(victim);
    let (survivor, survivor_out) = start_role(&hosts, 3, "subscriber", &broker);
    let published = publisher.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&published.stdout);
    assert!(published.status.success(), "the publisher failed: {stdout}");
    assert!(stdout.contains(&format!("published {COUNT}")), "{stdout}");

    let (lines, reader) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in survivor_out.lines() {
            if lines.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while handled.len() < COUNT && Instant::now() < deadline {
        if let Ok(line) = reader.recv_timeout(Duration::from_millis(200)) {
            record(&line, &mut handled);
        }
    }
    kill(survivor);
    let missing: Vec<usize> = (0..COUNT).filter(|n| !handled.contains(n)).collect();
    assert!(missing.is_empty(), "never handled: {missing:?}");
    let every_tenth: BTreeSet<usize> = (0..COUNT).step_by(10).collect();
    assert!(
        failed.is_superset(&every_tenth),
        "a handler failed on the first try of each tenth message, which came again: {failed:?}"
    );
    println!(
        "{COUNT} messages, {by_victim} handled before the kill, all handled; {} failed once and came again",
        failed.len()
    );
}

/// A JetStream subscriber of the queue `workers` on `TOPIC`: prints `got <n>` for each message
/// handled, and fails (printing `failed <n>`) the first try of every tenth.
#[tokio::test]
async fn subscriber_role() {
    if std::env::var(ROLE).as_deref() != Ok("subscriber") {
        return;
    }
    let config = micro::config::Config::from_env();
    let broker = config.broker(registry_from_env()).unwrap();
    let tried = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let handler = micro::broker::handler(move |_, message: Message| {
        let n: usize = String::from_utf8_lossy(&message.body).parse().unwrap();
        let first = tried.lock().unwrap().insert(n);
        async move {
            if first && n.is_multiple_of(10) {
                println!("failed {n}");
                return Err(micro::Error::internal(
                    "subscriber",
                    "first tries of tenths fail",
                ));
            }
            // Slow enough that the kill lands mid-stream.
            tokio::time::sleep(Duration::from_millis(2)).await;
            println!("got {n}");
            Ok(())
        }
    });
    let options = SubscribeOptions {
        queue: Some("workers".into()),
    };
    let topic = std::env::var("TOPIC").unwrap();
    let _subscription = broker.subscribe(&topic, handler, options).await.unwrap();
    println!("ready");
    std::future::pending::<()>().await;
}

/// Publishes `COUNT` numbered messages on `TOPIC`, each stored by JetStream before the next.
#[tokio::test]
async fn publisher_role() {
    if std::env::var(ROLE).as_deref() != Ok("publisher") {
        return;
    }
    let broker = micro::config::Config::from_env()
        .broker(registry_from_env())
        .unwrap();
    let topic = std::env::var("TOPIC").unwrap();
    let count: usize = std::env::var("COUNT").unwrap().parse().unwrap();
    for n in 0..count {
        broker
            .publish(&topic, Message::new(n.to_string()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("published {count}");
}

/// Calls the service while its registry's server is killed and restarted (by the test): the
/// nodes must be listed again within one register interval (plus the time to notice) of the
/// registry answering again, and calls from then on must all succeed. Prints `back ...`.
#[tokio::test]
async fn restart_caller_role() {
    if std::env::var(ROLE).as_deref() != Ok("restart_caller") {
        return;
    }
    let registry = registry_from_env();
    let listed = async || -> Result<usize, micro::Error> {
        let found = registry.get_service(SERVICE).await?;
        Ok(found.iter().map(|s| s.nodes.len()).sum())
    };
    let started = Instant::now();
    while listed().await.unwrap_or(0) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "two nodes never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("ready");
    let client = micro::Client::new(registry.clone());
    let ask = Where {
        address: String::new(),
    };
    let (mut calls, mut failed_while_down) = (0, 0);
    let (mut down, mut reachable, mut back) = (false, None, None);
    let mut looked = Instant::now();
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the registry never came back: down {down}, reachable again {reachable:?}"
        );
        if looked.elapsed() > Duration::from_millis(100) && back.is_none() {
            looked = Instant::now();
            match listed().await {
                Err(err) if err.kind == micro::errors::Kind::Unavailable => down = true,
                Ok(n) if down => {
                    let since = *reachable.get_or_insert_with(Instant::now);
                    if n == 2 {
                        back = Some((since.elapsed(), Instant::now()));
                    }
                }
                _ => {}
            }
        }
        calls += 1;
        let result = client
            .call::<_, Where>(SERVICE, "Multihost.Where", &ask)
            .await;
        match (&back, result) {
            (_, Ok(_)) => {}
            (None, Err(_)) => failed_while_down += 1,
            (Some(_), Err(err)) => panic!("a call failed after the registry was back: {err}"),
        }
        if let Some((_, at)) = back
            && at.elapsed() > Duration::from_secs(2)
        {
            break;
        }
    }
    let (took, _) = back.unwrap();
    println!(
        "back: both nodes listed {took:?} after the registry answered again; {calls} calls, {failed_while_down} failed while it was down, none after"
    );
    // One register interval (1 s), and the time for the nodes' clients to reconnect.
    assert!(
        took < Duration::from_secs(6),
        "the nodes came back only after {took:?}"
    );
    // The client's cache serves the nodes it knew while the registry is away.
    assert_eq!(
        failed_while_down, 0,
        "calls failed while the registry was down"
    );
}

/// A node of the service: registers with a short TTL, answers with its address, and
/// serves until killed.
#[tokio::test]
async fn node_role() {
    if std::env::var(ROLE).as_deref() != Ok("node") {
        return;
    }
    let address = std::env::var("ADDRESS").unwrap();
    let here = address.clone();
    let _running = micro::Service::new(SERVICE)
        .registry(registry_from_env())
        .address(address)
        .register_ttl(TTL, Duration::from_secs(1))
        .handle("Multihost.Where", move |_ctx, _req: Where| {
            let address = here.clone();
            async move { Ok(Where { address }) }
        })
        .start()
        .await
        .unwrap();
    println!("ready");
    std::future::pending::<()>().await;
}

/// Calls the service without pause for 8 s, killing one node with SIGKILL 1.5 s in; every
/// call must succeed, and the dead node must leave the registry within its TTL.
#[tokio::test]
async fn caller_role() {
    if std::env::var(ROLE).as_deref() != Ok("caller") {
        return;
    }
    let registry = registry_from_env();
    let victim = std::env::var("VICTIM_ADDRESS").unwrap();
    let nodes = async || -> Vec<String> {
        match registry.get_service(SERVICE).await {
            Ok(found) => found
                .iter()
                .flat_map(|s| &s.nodes)
                .map(|n| n.address.clone())
                .collect(),
            Err(_) => Vec::new(),
        }
    };
    let started = Instant::now();
    while nodes().await.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "three nodes never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let client = micro::Client::new(registry.clone());
    let ask = Where {
        address: String::new(),
    };
    let (mut calls, mut failures, mut answered_by) =
        (0, Vec::new(), std::collections::BTreeSet::new());
    let (mut killed, mut left, mut looked) = (None, None, Instant::now());
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(8) {
        if killed.is_none() && started.elapsed() > Duration::from_millis(1500) {
            let pid = std::env::var("VICTIM_PID").unwrap();
            assert!(
                Command::new("kill")
                    .args(["-9", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            killed = Some(Instant::now());
        }
        if let Some(at) = killed
            && left.is_none()
            && looked.elapsed() > Duration::from_millis(100)
        {
            looked = Instant::now();
            if !nodes().await.contains(&victim) {
                left = Some(at.elapsed());
            }
        }
        calls += 1;
        match client
            .call::<_, Where>(SERVICE, "Multihost.Where", &ask)
            .await
        {
            Ok(at) => {
                answered_by.insert(at.address);
            }
            Err(err) => failures.push(err.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed: {failures:?}",
        failures.len()
    );
    assert_eq!(
        answered_by.len(),
        3,
        "every node answered before the kill: {answered_by:?}"
    );
    let left = left.expect("the killed node was still registered 6.5 s after the kill");
    assert!(
        left < TTL + Duration::from_secs(2),
        "the killed node outlived its TTL: {left:?}"
    );
    println!(
        "{calls} calls, none failed; the killed node left the registry {left:?} after the kill"
    );

    // A gateway on this host calls the service's nodes on the two hosts left.
    let gateway = micro::gateway::Gateway::new(
        registry,
        Arc::new(micro::store::Memory::new(Default::default())),
        Arc::new(micro::broker::Memory::new()),
    )
    .start("127.0.0.1:0")
    .await
    .unwrap();
    let url = format!("http://{}/{SERVICE}/Multihost.Where", gateway.address());
    let answers = tokio::task::spawn_blocking(move || {
        (0..20)
            .map(|_| {
                let out = Command::new("curl")
                    .args(["-sf", "-m", "5", "-d", r#"{"address":""}"#, &url])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "the gateway call failed");
                let at: Where = serde_json::from_slice(&out.stdout).unwrap();
                at.address
            })
            .collect::<std::collections::BTreeSet<_>>()
    })
    .await
    .unwrap();
    assert_eq!(
        answers.len(),
        2,
        "the gateway reached both nodes left: {answers:?}"
    );
    assert!(!answers.contains(&victim));
    gateway.stop().await;
}
