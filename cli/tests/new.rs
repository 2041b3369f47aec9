//! `micro new` and `micro build` as a user runs them: each template is written, built with
//! cargo and started as a real process that answers calls; `micro build` leaves release
//! binaries in its output directory. The generated projects share one target directory, so
//! after the first build each template compiles only its own crate.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use micro::Client;
use micro::broker::Http;
use micro::registry::{Mdns, MdnsOptions, Registry};
use micro::transport::{Conn, Header, Message};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::Arc;
use std::time::Duration;

fn micro() -> Command {
    Command::new(env!("CARGO_BIN_EXE_micro"))
}

/// The target directory the generated projects share, beside this test's own.
fn shared_target() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/debug/deps/new-<hash>
    exe.ancestors().nth(3).unwrap().join("micro-new")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "micro failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "micro succeeded but should not");
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `micro new` in `parent`, checks what it wrote, and returns the built binary.
fn new_service(parent: &Path, name: &str, template: &str, port: u16) -> PathBuf {
    let output = micro()
        .args(["new", name, "--template", template])
        .args(["--port", &port.to_string()])
        .arg("--dir")
        .arg(parent)
        .env("CARGO_TARGET_DIR", shared_target())
        .output()
        .unwrap();
    let printed = stdout(&output);
    let built = String::from_utf8_lossy(&output.stderr);
    assert!(
        !built.contains("warning"),
        "the {template} template builds with warnings:\n{built}"
    );
    for file in [
        "Cargo.toml",
        "README.md",
        "micro.mu",
        "main.rs",
        "handler.rs",
    ] {
        assert!(printed.contains(file), "the tree lacks {file}:\n{printed}");
    }
    let project = parent.join(name);
    let mu = std::fs::read_to_string(project.join("micro.mu")).unwrap();
    assert!(
        mu.contains(&format!("service {name}\n    path .\n    port {port}\n")),
        "{mu}"
    );
    let formatted = Command::new("rustfmt")
        .args([
            "--edition",
            "2024",
            "--check",
            "src/main.rs",
            "src/handler.rs",
        ])
        .current_dir(&project)
        .status()
        .unwrap();
    assert!(
        formatted.success(),
        "the generated code is not rustfmt-clean"
    );
    shared_target().join("debug").join(name)
}

/// A started service, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &Path, env: &[(&str, &str)]) -> Running {
    let child = Command::new(binary)
        .env_remove("MICRO_SERVER_ADDRESS")
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    Running(child)
}

/// One call over the transport to the service listening on `port`, retried until it listens.
/// The answer is the body as JSON, or the error JSON as `Err`.
async fn call(port: u16, service: &str, endpoint: &str, body: Value) -> Result<Value, Value> {
    let address = format!("127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match Conn::dial(&address, Duration::from_secs(2), 1 << 20).await {
            Ok(conn) => break conn,
            Err(err) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{service} never listened on {address}: {err}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let header: Header = [
        ("Content-Type", "application/json"),
        ("Micro-Service", service),
        ("Micro-Endpoint", endpoint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let body = body.to_string().into_bytes().into();
    conn.send(&Message { header, body }).await.unwrap();
    let answer = conn.recv().await.unwrap();
    if let Some(error) = answer.header.get("Micro-Error") {
        return Err(serde_json::from_str(error).unwrap());
    }
    Ok(serde_json::from_slice(&answer.body).unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn default_template_builds_and_greets() {
    let parent = tempfile::tempdir().unwrap();
    let port = free_port();
    let binary = new_service(parent.path(), "greeter", "default", port);
    let _service = start(&binary, &[("MICRO_REGISTRY", "memory")]);
    let answer = runtime().block_on(call(
        port,
        "greeter",
        "Greeter.Call",
        json!({"name": "Alice"}),
    ));
    assert_eq!(answer.unwrap(), json!({"msg": "Hello Alice"}));
}

#[test]
fn crud_template_creates_reads_updates_lists_and_deletes_in_its_store() {
    let parent = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let port = free_port();
    let binary = new_service(parent.path(), "items", "crud", port);
    let _service = start(
        &binary,
        &[
            ("MICRO_REGISTRY", "memory"),
            ("MICRO_STORE_ADDRESS", store.path().to_str().unwrap()),
        ],
    );
    runtime().block_on(async {
        let rpc = |endpoint: &'static str, body: Value| call(port, "items", endpoint, body);
        let created = rpc(
            "Items.Create",
            json!({"name": "Book", "description": "A read"}),
        )
        .await
        .unwrap();
        let id = created["item"]["id"].as_str().unwrap().to_string();
        let read = rpc("Items.Read", json!({"id": id})).await.unwrap();
        assert_eq!(read, created);
        assert_eq!(read["item"]["name"], "Book");

        let updated = json!({"id": id, "name": "Book", "description": "A better read"});
        rpc("Items.Update", updated.clone()).await.unwrap();
        let read = rpc("Items.Read", json!({"id": id})).await.unwrap();
        assert_eq!(read["item"], updated);
        rpc("Items.Create", json!({"name": "Pen"})).await.unwrap();
        let list = rpc("Items.List", json!({})).await.unwrap();
        assert_eq!(list["items"].as_array().unwrap().len(), 2);

        rpc("Items.Delete", json!({"id": id})).await.unwrap();
        let missing = rpc("Items.Read", json!({"id": id})).await.unwrap_err();
        assert_eq!(missing["code"], 404, "{missing}");
        assert!(
            missing["detail"].as_str().unwrap().contains(&id),
            "{missing}"
        );
        let nameless = rpc("Items.Create", json!({"name": " "})).await.unwrap_err();
        assert_eq!(nameless["code"], 400, "{nameless}");
    });
    assert!(
        store.path().join("micro").join("items.redb").exists(),
        "the items are in the file store's table named after the service"
    );
}

#[test]
fn api_template_answers_health_over_http_and_rpc() {
    let parent = tempfile::tempdir().unwrap();
    let port = free_port();
    let binary = new_service(parent.path(), "edge", "api", port);
    let _service = start(&binary, &[("MICRO_REGISTRY", "memory")]);
    runtime().block_on(async {
        let health = call(port, "edge", "Edge.Health", json!({})).await.unwrap();
        assert_eq!(health["status"], "ok");
        let hello = call(port, "edge", "Edge.Hello", json!({})).await.unwrap();
        assert_eq!(hello, json!({"message": "Hello World"}));
    });
    let curl = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}/health"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "200");
}

/// Set in the network namespace's run of a test to the binary its parent built.
const BINARY: &str = "MICRO_NEW_TEST_BINARY";

#[test]
fn pubsub_template_receives_what_it_and_others_publish() {
    const TEST: &str = "pubsub_template_receives_what_it_and_others_publish";
    let parent = tempfile::tempdir().unwrap();
    let binary = match std::env::var(BINARY) {
        Ok(binary) => PathBuf::from(binary),
        Err(_) => new_service(parent.path(), "events", "pubsub", free_port()),
    };
    let env = [(BINARY, binary.to_str().unwrap())];
    support::in_netns_with(TEST, &[], &env, async {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let _service = start(
            &binary,
            &[
                ("MICRO_REGISTRY", "mdns"),
                ("MICRO_BROKER", "http"),
                ("MICRO_SERVER_ADDRESS", &address),
            ],
        );
        let published = call(port, "events", "Events.Publish", json!({"data": "hello"}))
            .await
            .unwrap();
        let own = published["id"].as_str().unwrap().to_string();

        let registry: Arc<dyn Registry> = Arc::new(
            Mdns::new(MdnsOptions {
                timeout: Duration::from_millis(300),
                ..Default::default()
            })
            .unwrap(),
        );
        let broker = Arc::new(Http::new(registry.clone(), None));
        let outside = json!({"id": "from-outside", "source": "test", "data": "hi"});
        Client::new(registry)
            .broker(broker)
            .publish("events.events", &outside)
            .await
            .unwrap();

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let recent = call(port, "events", "Events.Recent", json!({}))
                .await
                .unwrap();
            let ids: Vec<&str> = recent["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["id"].as_str())
                .collect();
            if ids.contains(&own.as_str()) && ids.contains(&"from-outside") {
                assert_eq!(recent["published"], 1);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the events never arrived: {recent}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

#[test]
fn bad_names_and_existing_directories_are_clear_errors() {
    let parent = tempfile::tempdir().unwrap();
    let new = |name: &str| {
        micro()
            .args(["new", name, "--no-build", "--dir"])
            .arg(parent.path())
            .output()
            .unwrap()
    };
    for bad in ["Users", "1st", "my service", "../escape"] {
        let err = stderr_of_failure(&new(bad));
        assert!(err.contains("is not a valid service name"), "{bad}: {err}");
    }
    let err = stderr_of_failure(&new("fn"));
    assert!(err.contains("cannot be a service name"), "{err}");
    stdout(&new("users"));
    let err = stderr_of_failure(&new("users"));
    assert!(err.contains("already exists"), "{err}");
    let err = stderr_of_failure(
        &micro()
            .args(["new", "x", "--template", "grpc"])
            .output()
            .unwrap(),
    );
    assert!(err.contains("crud") && err.contains("pubsub"), "{err}");
}

#[test]
fn every_language_ends_with_the_command_that_runs_the_project() {
    let parent = tempfile::tempdir().unwrap();
    for lang in ["rust", "node", "python"] {
        let name = format!("{lang}-svc");
        let printed = stdout(
            &micro()
                .args(["new", &name, "--lang", lang, "--no-build", "--dir"])
                .arg(parent.path())
                .output()
                .unwrap(),
        );
        let project = parent.path().join(&name);
        assert_eq!(
            printed.lines().last(),
            Some(format!("  cd {} && micro run", project.display()).as_str()),
            "{printed}"
        );
    }
    // Made in the current directory, the project is named as `cd` wants it.
    let printed = stdout(
        &micro()
            .args(["new", "here", "--no-build"])
            .current_dir(parent.path())
            .output()
            .unwrap(),
    );
    assert_eq!(printed.lines().last(), Some("  cd here && micro run"));
}

/// A crate with one binary printing `text` and no dependencies, so its release build is quick.
fn tiny_crate(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let main = format!("fn main() {{\n    println!(\"{text}\");\n}}\n");
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
}

fn run_binary(path: &Path) -> String {
    let ran = Command::new(path).output().unwrap();
    String::from_utf8(ran.stdout).unwrap()
}

#[test]
fn build_puts_release_binaries_of_micro_mu_services_in_output_in_dependency_order() {
    let project = tempfile::tempdir().unwrap();
    tiny_crate(
        &project.path().join("accounts"),
        "accounts-bin",
        "users here",
    );
    tiny_crate(&project.path().join("posts"), "posts-bin", "posts here");
    let mu = "service posts\n    path ./posts\n    depends users\nservice users\n    path ./accounts\n    port 9001\n";
    std::fs::write(project.path().join("micro.mu"), mu).unwrap();
    let output = tempfile::tempdir().unwrap();
    let printed = stdout(
        &micro()
            .arg("build")
            .arg(project.path())
            .arg("--output")
            .arg(output.path())
            .env("CARGO_TARGET_DIR", shared_target())
            .output()
            .unwrap(),
    );
    let users = printed.find("Building users").expect(&printed);
    let posts = printed.find("Building posts").expect(&printed);
    assert!(
        users < posts,
        "users is built before posts, which depends on it:\n{printed}"
    );
    assert_eq!(run_binary(&output.path().join("users")), "users here\n");
    assert_eq!(run_binary(&output.path().join("posts")), "posts here\n");
}

#[test]
fn build_without_a_project_file_finds_binary_crates_and_fills_dir_bin() {
    let project = tempfile::tempdir().unwrap();
    tiny_crate(&project.path().join("hello"), "hello-bin", "hi");
    stdout(
        &micro()
            .arg("build")
            .arg(project.path())
            .env("CARGO_TARGET_DIR", shared_target())
            .output()
            .unwrap(),
    );
    assert_eq!(run_binary(&project.path().join("bin/hello")), "hi\n");
}

#[test]
fn build_for_a_missing_target_or_unknown_platform_is_a_clear_error() {
    let project = tempfile::tempdir().unwrap();
    tiny_crate(&project.path().join("hello"), "hello", "hi");
    let build = |os: &str, arch: &str| {
        micro()
            .arg("build")
            .arg(project.path())
            .args(["--os", os, "--arch", arch])
            .output()
            .unwrap()
    };
    let err = stderr_of_failure(&build("plan9", "amd64"));
    assert!(
        err.contains("unknown --os \"plan9\"; supported: linux, darwin, windows"),
        "{err}"
    );
    let err = stderr_of_failure(&build("linux", "mips"));
    assert!(err.contains("supported: amd64, arm64"), "{err}");

    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let Ok(installed) = installed else {
        eprintln!("skipped the missing-target case: no rustup");
        return;
    };
    let triple = "aarch64-apple-darwin";
    if String::from_utf8_lossy(&installed.stdout).contains(triple) {
        eprintln!("skipped the missing-target case: {triple} is installed");
        return;
    }
    let err = stderr_of_failure(&build("darwin", "arm64"));
    assert!(
        err.contains(&format!("rustup target add {triple}")),
        "{err}"
    );
    assert!(!project.path().join("bin/hello").exists());
}
