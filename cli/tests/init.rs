//! `micro init --server` on a real remote host: a network namespace joined to ours by a veth
//! pair, with systemd as its PID 1 and Debian's sshd (`scripts/remote-host.sh`). The binary is
//! copied over SSH and run with sudo, twice; the gateway it installs runs under systemd and
//! answers over the veth.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// A remote host of this name, started, and stopped when dropped.
struct Host(&'static str);

impl Host {
    fn start(name: &'static str) -> Host {
        remote(&["start", name]);
        Host(name)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = Command::new(script()).args(["stop", self.0]).output();
    }
}

/// `ssh deploy@host <command>` (through the script's ssh command line; `command` is quoted
/// for the remote shell, so it holds no single quote).
fn ssh(host: &Host, command: &str) -> Output {
    assert!(!command.contains('\''), "{command}");
    let line = remote(&["ssh-command", host.0]);
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
    const NAME: &str = "init-test";
    let host = Host::start(NAME);
    let address = remote(&["address", host.0]);
    let scp = remote(&["ssh-command", host.0]).replacen("ssh ", "scp ", 1);
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

    let refused = ssh(&host, "./micro init --server");
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("run it as root, e.g. with sudo"), "{why}");

    let first = ok(ssh(&host, "sudo ./micro init --server"), "first init");
    assert!(
        first.contains("made or updated") && first.contains("micro@.service"),
        "{first}"
    );
    let second = ok(ssh(&host, "sudo ./micro init --server"), "second init");
    assert!(
        second.contains("nothing changed"),
        "run twice, the same: {second}"
    );

    let layout = ok(
        ssh(
            &host,
            "stat -c \"%U %n\" /opt/micro/bin/micro /opt/micro/env/micro.env /opt/micro/data/keys",
        ),
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
    ok(
        ssh(&host, "systemctl is-active micro.service"),
        "the gateway runs",
    );
    ok(
        ssh(
            &host,
            "sudo systemd-analyze verify /etc/systemd/system/micro.service",
        ),
        "its unit verifies",
    );
    // The template, as an instance whose binary is there: the gateway's own.
    ok(
        ssh(
            &host,
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
                ssh(&host, "sudo journalctl -u micro.service --no-pager -n 30"),
                "journal"
            )
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// `micro <args>` reaching the host with this test's key, through a `ssh` first on PATH that
/// gives OpenSSH a config of the test's own (ssh reads the real user's ~/.ssh, not $HOME's).
fn micro_over_ssh(host: &Host, dir: &Path, args: &[&str]) -> Command {
    let key = remote(&["ssh-command", host.0]);
    let key = key
        .split_whitespace()
        .skip_while(|w| *w != "-i")
        .nth(1)
        .unwrap()
        .to_string();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let config = dir.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host 10.77.*\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n",
            dir.join("known_hosts").display()
        ),
    )
    .unwrap();
    let wrapper = bin.join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
            config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_micro"));
    command.args(args).env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    command
}

#[test]
fn status_logs_and_stop_reach_a_hosts_units_over_ssh() {
    const NAME: &str = "manage-test";
    let host = Host::start(NAME);
    let address = remote(&["address", host.0]);
    let dir = tempfile::tempdir().unwrap();
    let at = format!("deploy@{address}");
    let run = |args: &[&str]| micro_over_ssh(&host, dir.path(), args).output().unwrap();

    // First contact: refused without --accept-new-host-key, recorded with it.
    let refused = run(&["status", "--remote", &at]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && why.contains("--accept-new-host-key"),
        "{why}"
    );

    // A host prepared by micro init, with one service: a script that ticks.
    let (scp, target) = remote(&["ssh-command", host.0])
        .replacen("ssh ", "scp ", 1)
        .rsplit_once(' ')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    let ticker = dir.path().join("ticker");
    std::fs::write(
        &ticker,
        "#!/bin/sh\nwhile true; do echo tick; sleep 0.2; done\n",
    )
    .unwrap();
    ok(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{scp} {} {} {target}:",
                env!("CARGO_BIN_EXE_micro"),
                ticker.display()
            ))
            .output()
            .unwrap(),
        "scp",
    );
    ok(
        ssh(
            &host,
            "sudo ./micro init --server && sudo install -m 755 ticker /opt/micro/bin/ticker && sudo systemctl start micro@ticker",
        ),
        "init and start ticker",
    );

    let status = ok(
        run(&["status", "--remote", &at, "--accept-new-host-key"]),
        "status",
    );
    assert!(
        status.contains("ticker") && status.contains("running"),
        "{status}"
    );
    assert!(status.contains("micro (gateway)"), "{status}");

    let logs = ok(run(&["logs", "ticker", "--remote", &at, "-n", "5"]), "logs");
    assert!(logs.contains("tick"), "{logs}");
    let mut follow = micro_over_ssh(
        &host,
        dir.path(),
        &["logs", "ticker", "-f", "--remote", &at, "-n", "0"],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(follow.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("tick"), "followed: {line}");
    follow.kill().unwrap();
    follow.wait().unwrap();

    let stopped = ok(run(&["stop", "ticker", "--remote", &at]), "stop");
    assert!(stopped.contains("Stopped ticker"), "{stopped}");
    let status = ok(run(&["status", "--remote", &at]), "status after stop");
    let ticker_line = status
        .lines()
        .find(|l| l.starts_with("ticker"))
        .unwrap_or_default();
    assert!(ticker_line.contains("inactive"), "{status}");
}
