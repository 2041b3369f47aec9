//! `micro init --server` on a real remote host: a network namespace joined to ours by a veth
//! pair, with systemd as its PID 1 and Debian's sshd (`scripts/remote-host.sh`). The binary is
//! copied over SSH and run with sudo, twice; the gateway it installs runs under systemd and
//! answers over the veth.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HOST: &str = "init-test";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/remote-host.sh")
}

/// `scripts/remote-host.sh <args>`, which must succeed; its stdout.
fn remote(args: &[&str]) -> String {
    let output = Command::new(script()).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "remote-host.sh {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The host, stopped when dropped.
struct Host;

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", HOST]).output();
    }
}

/// `ssh deploy@host <command>` (through the script's ssh command line; `command` is quoted
/// for the remote shell, so it holds no single quote).
fn ssh(command: &str) -> Output {
    assert!(!command.contains('\''), "{command}");
    let line = remote(&["ssh-command", HOST]);
    Command::new("sh")
        .arg("-c")
        .arg(format!("{line} '{command}'"))
        .output()
        .unwrap()
}

fn ok(output: Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what}: {text}");
    text
}

#[test]
fn init_server_prepares_a_host_once_and_starts_the_gateway() {
    remote(&["start", HOST]);
    let _host = Host;
    let address = remote(&["address", HOST]);
    let scp = remote(&["ssh-command", HOST]).replacen("ssh ", "scp ", 1);
    let (scp, target) = scp.rsplit_once(' ').unwrap();
    let copy = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{scp} {} {target}:micro",
            env!("CARGO_BIN_EXE_micro")
        ))
        .output()
        .unwrap();
    ok(copy, "scp micro");

    let refused = ssh("./micro init --server");
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("run it as root, e.g. with sudo"), "{why}");

    let first = ok(ssh("sudo ./micro init --server"), "first init");
    assert!(
        first.contains("made or updated") && first.contains("micro@.service"),
        "{first}"
    );
    let second = ok(ssh("sudo ./micro init --server"), "second init");
    assert!(
        second.contains("nothing changed"),
        "run twice, the same: {second}"
    );

    let layout = ok(
        ssh("stat -c \"%U %n\" /opt/micro/bin/micro /opt/micro/env/micro.env /opt/micro/data/keys"),
        "layout",
    );
    assert_eq!(
        layout.lines().collect::<Vec<_>>(),
        [
            "root /opt/micro/bin/micro",
            "micro /opt/micro/env/micro.env",
            "micro /opt/micro/data/keys"
        ]
    );
    ok(ssh("systemctl is-active micro.service"), "the gateway runs");
    ok(
        ssh("sudo systemd-analyze verify /etc/systemd/system/micro.service"),
        "its unit verifies",
    );
    // The template, as an instance whose binary is there: the gateway's own.
    ok(
        ssh(
            "sudo ln -sf micro /opt/micro/bin/gw && cp /etc/systemd/system/micro@.service /tmp/micro@gw.service && sudo systemd-analyze verify /tmp/micro@gw.service",
        ),
        "the template verifies",
    );

    // The gateway answers over the veth, from this side.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let health = Command::new("curl")
            .args(["-sf", "-m", "2", &format!("http://{address}:8080/health")])
            .output()
            .unwrap();
        if health.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gateway never answered on {address}:8080: {}",
            ok(
                ssh("sudo journalctl -u micro.service --no-pager -n 30"),
                "journal"
            )
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}
