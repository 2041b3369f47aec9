//! `micro status`, `micro logs` and `micro stop`: the services `micro run` started on this
//! machine (its pid and log files), or with `--remote user@host` the `micro@<service>` units
//! and the gateway (`micro.service`) of a host prepared by `micro init --server`, over SSH.
//!
//! SSH is the system's OpenSSH client, so the user's keys, agent and `~/.ssh/config` apply.
//! Host keys are checked: a host never seen before is refused (there is no one to ask when the
//! output is a program's) unless `--accept-new-host-key` records its key on first contact.

use crate::status::{RunFiles, alive, read_pid};
use micro::gateway::RunStatus;
use micro::{Error, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const ID: &str = "micro.manage";

/// Where the services are: here, or on a host over SSH.
#[derive(clap::Args)]
pub struct At {
    /// A host prepared by `micro init --server`, as `user@host` (or a name ~/.ssh/config
    /// knows).
    #[arg(long, value_name = "USER@HOST")]
    remote: Option<String>,
    /// Record the host's key on first contact instead of refusing a host never seen.
    #[arg(long, requires = "remote")]
    accept_new_host_key: bool,
}

/// `micro status`: each service, whether it runs, since when.
pub async fn status(at: At) -> Result<()> {
    let Some(host) = &at.remote else {
        let files = RunFiles::in_home()?;
        let processes = files.processes().await.map_err(|e| {
            Error::internal(ID, format!("cannot read {}: {e}", files.processes_place()))
        })?;
        if processes.is_empty() {
            println!(
                "No services started by micro run here ({}).",
                files.processes_place()
            );
        }
        for p in processes {
            let state = if p.running { "running" } else { "stopped" };
            let pid = p.pid.map_or("-".to_string(), |pid| pid.to_string());
            println!("{:<24} {state:<8} pid {pid}", p.name);
        }
        return Ok(());
    };
    // Every binary in /opt/micro/bin is a service, running or not (systemd forgets a stopped
    // instance, so its loaded units alone would not list it).
    let command = "cd /opt/micro/bin && systemctl show -p Id -p ActiveState -p SubState \
        -p ActiveEnterTimestamp micro.service \
        $(for f in *; do [ \"$f\" = micro ] || echo \"micro@$f.service\"; done)";
    let shown = ssh(&at, host, command)?;
    let units = parse_show(&shown);
    if units.is_empty() {
        println!("No micro units on {host}: prepare it with `micro init --server` and deploy.");
    }
    for unit in units {
        println!(
            "{:<24} {:<8} {:<10} since {}",
            unit.service, unit.active, unit.sub, unit.since
        );
    }
    Ok(())
}

/// `micro logs`: a service's log (every service's without one), `-f` to follow it.
pub async fn logs(at: At, service: Option<String>, follow: bool, lines: usize) -> Result<()> {
    let Some(host) = &at.remote else {
        let files = RunFiles::in_home()?;
        let Some(service) = service else {
            for log in files.logs().await.unwrap_or_default() {
                println!("==> {} <==", log.name);
                print_tail(&files, &log.name, lines).await?;
            }
            return Ok(());
        };
        let mut size = print_tail(&files, &service, lines).await?;
        if follow {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                size = print_since(&files.log_file(&service), size)?;
            }
        }
        return Ok(());
    };
    let units = match &service {
        Some(service) => format!("-u {}", unit(service)?),
        None => "-u 'micro@*' -u micro.service".to_string(),
    };
    let follow = if follow { " -f" } else { "" };
    let command = format!("journalctl --no-pager -o short-iso -n {lines}{follow} {units}");
    ssh_streamed(&at, host, &command)
}

/// `micro stop <service>`: stops it (`micro` or `gateway` is the gateway on a host).
pub async fn stop(at: At, service: String) -> Result<()> {
    let Some(host) = &at.remote else {
        crate::project::check_name(&service).map_err(|why| Error::bad_request(ID, why))?;
        let files = RunFiles::in_home()?;
        let pid = read_pid(&files.pid_file(&service))
            .filter(|pid| alive(*pid))
            .ok_or_else(|| {
                Error::not_found(
                    ID,
                    format!("{service} is not running here; `micro status` lists what is"),
                )
            })?;
        // SAFETY: kill has no memory preconditions; the pid is one micro run recorded.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(Error::internal(
                ID,
                format!(
                    "cannot stop {service} (pid {pid}): {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
        println!("Stopped {service} (pid {pid})");
        return Ok(());
    };
    ssh(
        &at,
        host,
        &format!("sudo systemctl stop {}", unit(&service)?),
    )?;
    println!("Stopped {service} on {host}");
    Ok(())
}

/// The unit of `service` on a host: `micro.service` for the gateway, else `micro@<service>`.
fn unit(service: &str) -> Result<String> {
    crate::project::check_name(service).map_err(|why| Error::bad_request(ID, why))?;
    Ok(match service {
        "micro" | "gateway" => "micro.service".to_string(),
        service => format!("micro@{service}.service"),
    })
}

/// One unit as `systemctl show` describes it.
#[derive(Debug, PartialEq)]
struct Unit {
    service: String,
    active: String,
    sub: String,
    since: String,
}

/// The units of `systemctl show`'s output: blocks of `key=value` lines.
fn parse_show(text: &str) -> Vec<Unit> {
    text.split("\n\n")
        .filter_map(|block| {
            let field = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .unwrap_or_default()
                    .to_string()
            };
            let id = field("Id");
            let service = match id.as_str() {
                "micro.service" => "micro (gateway)".to_string(),
                id => id
                    .strip_prefix("micro@")?
                    .strip_suffix(".service")?
                    .to_string(),
            };
            let since = field("ActiveEnterTimestamp");
            Some(Unit {
                service,
                active: field("ActiveState"),
                sub: field("SubState"),
                since: if since.is_empty() { "-".into() } else { since },
            })
        })
        .collect()
}

async fn print_tail(files: &RunFiles, service: &str, lines: usize) -> Result<u64> {
    let tail = files.tail(service, lines).await.map_err(|e| {
        Error::not_found(
            ID,
            format!("no log of {service} in {}: {e}", files.logs_dir().display()),
        )
    })?;
    print!("{}", tail.text);
    Ok(tail.size)
}

/// Prints what `path` gained past `offset`; the new size.
fn print_since(path: &std::path::Path, offset: u64) -> Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::internal(ID, format!("cannot read {}: {e}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(offset);
    // A log that was started anew is read from its start.
    let from = if size < offset { 0 } else { offset };
    let mut text = Vec::new();
    let _ = file
        .seek(SeekFrom::Start(from))
        .and_then(|_| file.read_to_end(&mut text));
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&text).and_then(|()| out.flush());
    Ok(from + text.len() as u64)
}

/// The ssh command reaching `host`, checking its key as `at` says.
fn ssh_command(at: &At, host: &str, command: &str) -> Command {
    let mut ssh = Command::new("ssh");
    if at.accept_new_host_key {
        ssh.args(["-o", "StrictHostKeyChecking=accept-new"]);
    } else {
        ssh.args(["-o", "BatchMode=yes"]);
    }
    ssh.arg("--").arg(host).arg(command);
    ssh
}

/// Runs `command` on `host`; its stdout, or an error saying what SSH or the host said.
fn ssh(at: &At, host: &str, command: &str) -> Result<String> {
    let output = ssh_command(at, host, command)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::internal(
                ID,
                format!("cannot run ssh: {e}; install the OpenSSH client"),
            )
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(ssh_failed(host, &String::from_utf8_lossy(&output.stderr)))
}

/// Runs `command` on `host` with its output passed straight through (a log that follows).
fn ssh_streamed(at: &At, host: &str, command: &str) -> Result<()> {
    let mut child = ssh_command(at, host, command)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::internal(
                ID,
                format!("cannot run ssh: {e}; install the OpenSSH client"),
            )
        })?;
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    let status = child
        .wait()
        .map_err(|e| Error::internal(ID, format!("ssh: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(ssh_failed(host, &stderr))
    }
}

/// The error for an SSH exchange with `host` that failed, saying `stderr` and what to do.
fn ssh_failed(host: &str, stderr: &str) -> Error {
    let said = stderr.trim();
    let todo = if said.contains("Host key verification failed") {
        "; its key is not in known_hosts: check it (ssh-keyscan) and add it, or pass --accept-new-host-key on first contact"
    } else if said.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        "; the host's key changed since it was recorded: find out why before removing the old key"
    } else if said.contains("Permission denied") {
        "; the key was refused: give ssh a key the host accepts (ssh-agent, or IdentityFile in ~/.ssh/config)"
    } else {
        ""
    };
    Error::of(
        micro::errors::Kind::Unavailable,
        ID,
        format!("ssh {host} failed: {said}{todo}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_show_blocks_are_units() {
        let text = "Id=micro@helloworld.service\nActiveState=active\nSubState=running\nActiveEnterTimestamp=Mon 2026-12-07 15:00:00 UTC\n\nId=micro.service\nActiveState=inactive\nSubState=dead\nActiveEnterTimestamp=\n\nId=ssh.service\nActiveState=active\n";
        let units = parse_show(text);
        assert_eq!(units.len(), 2);
        assert_eq!(
            (units[0].service.as_str(), units[0].sub.as_str()),
            ("helloworld", "running")
        );
        assert_eq!(
            (units[1].service.as_str(), units[1].since.as_str()),
            ("micro (gateway)", "-")
        );
    }

    #[test]
    fn names_are_checked_before_they_reach_a_shell() {
        assert!(unit("a;rm -rf /").is_err());
        assert_eq!(unit("gateway").unwrap(), "micro.service");
        assert_eq!(unit("helloworld").unwrap(), "micro@helloworld.service");
    }
}
