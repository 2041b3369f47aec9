//! `micro server` (and its alias `micro gateway`) as a user runs it: the real binary with the
//! default mDNS registry and file store, auth on, in front of a real service, inside its own
//! network namespace. Proves the default admin and its warning, login, tokens on calls, the
//! dashboard's login redirect, the agent playground, scopes set through the store auth keeps,
//! and the flags.

#[path = "../../core/tests/http/raw.rs"]
mod raw;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use micro::registry::{Mdns, MdnsOptions, Registry};
use raw::{admin_bearer, http, parse, post_until_ok};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// `micro <command> <args>` with HOME in `home`; returns the child and the address from its
/// banner.
fn start(home: &Path, command: &str, args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micro"))
        .arg(command)
        .args(args)
        .env("HOME", home)
        .env("MICRO_REGISTRY", "mdns")
        .env("MICRO_BROKER_ADDRESS", "127.0.0.1:0")
        .env_remove("MICRO_STORE")
        .env_remove("MICRO_STORE_ADDRESS")
        .env_remove("MICRO_AUTH_KEYS")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let address = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("micro {command} exited; it printed {seen:#?}"))
            .unwrap();
        if let Some(url) = line.trim().strip_prefix("Dashboard    http://") {
            break url.to_string();
        }
        seen.push(line);
    };
    assert!(
        seen.iter().any(|l| l.contains("admin / micro")),
        "no default password warning in {seen:#?}"
    );
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) takes plain integers.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "micro exited with {status}");
}

#[test]
fn micro_server_guards_calls_with_tokens_and_serves_the_dashboard() {
    support::in_netns(
        "micro_server_guards_calls_with_tokens_and_serves_the_dashboard",
        async {
            let registry: Arc<dyn Registry> = Arc::new(Mdns::new(MdnsOptions::default()).unwrap());
            let _service = micro::Service::new("helloworld")
                .registry(registry)
                .address("127.0.0.1:0")
                .handle("Helloworld.Call", |_ctx, req: Value| async move {
                    Ok(json!({ "msg": format!("Hello {}", req["name"].as_str().unwrap_or("")) }))
                })
                .start()
                .await
                .unwrap();

            let home = tempfile::tempdir().unwrap();
            let (child, address) = start(home.path(), "server", &["--address", "127.0.0.1:0"], &[]);
            assert!(home.path().join("micro/keys").is_dir());

            let (status, head, _) = http(&address, "GET", "/health/ready", "", "").await;
            assert_eq!(status, 200);
            assert!(
                head.to_lowercase().contains("x-frame-options: deny"),
                "{head}"
            );

            let call = "/api/helloworld/Helloworld.Call";
            let (status, _, body) = http(&address, "POST", call, "", r#"{"name":"Alice"}"#).await;
            assert_eq!(status, 401, "{body}");
            assert!(
                parse(&body)["error"].as_str().unwrap().contains("Bearer"),
                "{body}"
            );

            let bearer = admin_bearer(&address).await;
            // The gateway finds the service through mDNS once both are up.
            let greeting = post_until_ok(&address, call, &bearer, r#"{"name":"Alice"}"#).await;
            assert_eq!(greeting, r#"{"msg":"Hello Alice"}"#);

            // The dashboard sends visitors without a session to the login page.
            let (status, head, _) = http(&address, "GET", "/helloworld", "", "").await;
            assert_eq!(status, 303);
            assert!(
                head.contains("location: /auth/login?next=%2Fhelloworld"),
                "{head}"
            );

            // Auth keeps its records apart from the data /micro/store serves.
            let (status, _, body) = http(&address, "GET", "/micro/store", &bearer, "").await;
            assert_eq!(status, 200, "{body}");
            assert!(!body.contains("auth/") && !body.contains("jwt/"), "{body}");

            // The agent playground is served, offers the account the service's endpoint as a
            // tool, and keeps its settings apart from /micro/store too.
            let (status, head, _) = http(&address, "GET", "/agent", "", "").await;
            assert_eq!(status, 303);
            assert!(
                head.contains("location: /auth/login?next=%2Fagent"),
                "{head}"
            );
            let settings = r#"{"provider":"anthropic","api_key":"sk-kept-here"}"#;
            let (status, _, body) =
                http(&address, "POST", "/api/agent/settings", &bearer, settings).await;
            assert_eq!(status, 200, "{body}");
            assert!(!body.contains("sk-kept-here"), "{body}");
            let view = parse(&body);
            assert_eq!(view["has_key"], true, "{body}");
            assert_eq!(
                view["tools"][0]["name"], "helloworld_Helloworld_Call",
                "{body}"
            );
            let (_, _, body) = http(&address, "GET", "/micro/store", &bearer, "").await;
            assert!(!body.contains("settings"), "{body}");

            // The logs and status pages show what a micro run (here, in another process) keeps
            // in ~/micro.
            let micro = home.path().join("micro");
            std::fs::create_dir_all(micro.join("logs")).unwrap();
            std::fs::create_dir_all(micro.join("run")).unwrap();
            std::fs::write(
                micro.join("logs/helloworld.log"),
                "\x1b[32mINFO\x1b[0m helloworld ready\n",
            )
            .unwrap();
            let pid = std::process::id();
            std::fs::write(micro.join("run/helloworld.pid"), format!("{pid}\n")).unwrap();
            let (status, _, body) = http(&address, "GET", "/status", &bearer, "").await;
            assert_eq!(status, 200, "{body}");
            let row = &body[body.find("id=\"process-helloworld\"").unwrap()..];
            let row = &row[..row.find("</tr>").unwrap()];
            assert!(
                row.contains(&format!(r#"<td class="pid">{pid}</td>"#)),
                "{row}"
            );
            assert!(row.contains(r#"<span class="ok">running</span>"#), "{row}");
            let (status, _, body) = http(&address, "GET", "/logs/helloworld", &bearer, "").await;
            assert_eq!(status, 200, "{body}");
            assert!(body.contains("INFO helloworld ready"), "{body}");
            stop(child);
        },
    );
}

#[test]
fn micro_gateway_is_micro_server_and_flags_win_over_the_environment() {
    support::in_netns(
        "micro_gateway_is_micro_server_and_flags_win_over_the_environment",
        async {
            let home = tempfile::tempdir().unwrap();
            // An unknown store is refused, naming the known ones; --store memory wins over
            // MICRO_STORE=bolt.
            let mut command = Command::new(env!("CARGO_BIN_EXE_micro"));
            command
                .args(["gateway", "--address", "127.0.0.1:0", "--store", "bolt"])
                .env("HOME", home.path());
            let refused = command.output().unwrap();
            assert!(!refused.status.success());
            assert!(
                String::from_utf8_lossy(&refused.stderr).contains("file, memory"),
                "{}",
                String::from_utf8_lossy(&refused.stderr)
            );
            let (child, address) = start(
                home.path(),
                "gateway",
                &[
                    "--address",
                    "127.0.0.1:0",
                    "--store",
                    "memory",
                    "--registry",
                    "memory",
                    "--allowed-host",
                    "mcp.example",
                ],
                &[("MICRO_STORE", "bolt")],
            );
            let (status, _, body) = http(&address, "GET", "/health", "", "").await;
            assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}\n"));
            // The gateway answers loopback and the allowed name, not a page of another site.
            let evil = "Origin: http://evil.example\r\n";
            let (status, _, body) = http(&address, "GET", "/mcp/tools", evil, "").await;
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("evil.example"), "{body}");
            let allowed = "Origin: http://mcp.example\r\n";
            let (status, _, body) = http(&address, "GET", "/mcp/tools", allowed, "").await;
            assert_eq!(status, 401, "the allowed name reaches auth: {body}");
            stop(child);
        },
    );
}
