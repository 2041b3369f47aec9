//! `micro init --server`: prepares a Linux host for `micro deploy`. Run as root on the host;
//! running it again changes nothing that is already right.
//!
//! The layout: `/opt/micro/bin` (the services' binaries and `micro` itself), `/opt/micro/env`
//! (an environment file for every service, `<service>.env`, and `common.env` for all),
//! `/opt/micro/data` (the gateway's store and token keys, the services' own files), all owned by
//! the system user `micro` that the units run as. The units: the template `micro@.service`, one
//! instance per service (`micro@helloworld` runs `/opt/micro/bin/helloworld`), and
//! `micro.service`, the gateway (`micro server`), enabled and started.

use micro::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "micro.init";

/// `micro init`'s flags.
#[derive(clap::Args)]
pub struct Args {
    /// Prepare this machine as a server for `micro deploy` (the only kind of init there is).
    #[arg(long, required = true)]
    server: bool,
    /// Where everything goes.
    #[arg(long, default_value = "/opt/micro")]
    prefix: PathBuf,
    /// The system user the services and the gateway run as.
    #[arg(long, default_value = "micro")]
    user: String,
    /// Where the gateway listens (`:8080` is every address's port 8080 here: a server is
    /// reached from other hosts).
    #[arg(long, default_value = "0.0.0.0:8080")]
    gateway_address: String,
    /// Where systemd's unit files go.
    #[arg(long, default_value = "/etc/systemd/system", hide = true)]
    units: PathBuf,
}

/// Runs `micro init --server`.
pub fn run(args: Args) -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::forbidden(
            ID,
            "micro init --server changes the system (a user, /opt/micro, systemd units): run it as root, e.g. with sudo",
        ));
    }
    let prefix = &args.prefix;
    let mut changed = Vec::new();
    if ensure_user(&args.user, prefix)? {
        changed.push(format!("user {}", args.user));
    }
    for dir in ["bin", "env", "data", "data/keys", "data/store"] {
        let path = prefix.join(dir);
        std::fs::create_dir_all(&path).map_err(|e| failed(&path, &e))?;
    }
    let micro = prefix.join("bin/micro");
    let me = std::env::current_exe()
        .map_err(|e| Error::internal(ID, format!("cannot find this micro binary: {e}")))?;
    if me.canonicalize().ok() != micro.canonicalize().ok() && write(&micro, &read(&me)?, 0o755)? {
        changed.push(micro.display().to_string());
    }
    let env = prefix.join("env");
    let files = [
        (env.join("common.env"), common_env(), 0o640),
        (
            env.join("micro.env"),
            gateway_env(prefix, &args.gateway_address),
            0o640,
        ),
        (
            args.units.join("micro@.service"),
            service_unit(prefix, &args.user),
            0o644,
        ),
        (
            args.units.join("micro.service"),
            gateway_unit(prefix, &args.user),
            0o644,
        ),
    ];
    for (path, text, mode) in &files {
        // Environment files are the operator's to edit: written once, never overwritten.
        let keep = path.starts_with(&env) && path.exists();
        if !keep && write(path, text.as_bytes(), *mode)? {
            changed.push(path.display().to_string());
        }
    }
    own(prefix, &args.user)?;
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", "micro.service"])?;
    if changed.is_empty() {
        println!("{} is ready; nothing changed", prefix.display());
    } else {
        println!(
            "{} is ready; made or updated: {}",
            prefix.display(),
            changed.join(", ")
        );
    }
    println!(
        "The gateway runs as micro.service on {}; deploy with `micro deploy <user>@<this host>`.",
        args.gateway_address
    );
    Ok(())
}

/// The variables every unit gets, the operator's to change.
fn common_env() -> String {
    "# Read by every micro unit on this host (micro@<service> and micro, the gateway).\n\
     # The registry, broker and store the services use: mdns, the http broker and the file\n\
     # store by default; set MICRO_REGISTRY=etcd and MICRO_REGISTRY_ADDRESS=... to span hosts.\n\
     MICRO_SERVER_ADDRESS=0.0.0.0:0\n"
        .to_string()
}

/// The gateway's own variables: where it listens, keeps its keys and store.
fn gateway_env(prefix: &Path, address: &str) -> String {
    format!(
        "# Read by micro.service, the gateway (micro server).\n\
         MICRO_SERVER_ADDRESS={address}\n\
         MICRO_AUTH_KEYS={keys}\n\
         MICRO_STORE_ADDRESS={store}\n",
        keys = prefix.join("data/keys").display(),
        store = prefix.join("data/store").display(),
    )
}

/// The template unit of every service: `micro@<service>` runs `bin/<service>`.
fn service_unit(prefix: &Path, user: &str) -> String {
    unit(
        prefix,
        user,
        "one instance per service, micro@<service>",
        "micro service %i",
        "After=network-online.target micro.service",
        ("%i.env", "%i"),
    )
}

/// The gateway's unit: `micro server` with its keys and store under the prefix.
fn gateway_unit(prefix: &Path, user: &str) -> String {
    unit(
        prefix,
        user,
        "the gateway in front of this host's services",
        "micro gateway (micro server)",
        "After=network-online.target",
        ("micro.env", "micro server"),
    )
}

/// A unit running `bin/<run.1>` as `user` with `env/common.env` and `env/<run.0>`, its writes
/// kept to the prefix's data.
fn unit(
    prefix: &Path,
    user: &str,
    what: &str,
    description: &str,
    after: &str,
    run: (&str, &str),
) -> String {
    let p = prefix.display();
    let (env, exec) = run;
    format!(
        "# Written by micro init --server: {what}.\n\
         [Unit]\n\
         Description={description}\n\
         {after}\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         User={user}\n\
         Group={user}\n\
         WorkingDirectory={p}/data\n\
         Environment=HOME={p}/data\n\
         EnvironmentFile=-{p}/env/common.env\n\
         EnvironmentFile=-{p}/env/{env}\n\
         ExecStart={p}/bin/{exec}\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         NoNewPrivileges=yes\n\
         PrivateTmp=yes\n\
         ProtectSystem=strict\n\
         ProtectHome=yes\n\
         ReadWritePaths={p}/data\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

/// Makes the system user `user` (home `prefix`, no login) unless it exists; true when made.
fn ensure_user(user: &str, prefix: &Path) -> Result<bool> {
    if Command::new("id")
        .arg("-u")
        .arg(user)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(false);
    }
    let home = prefix.display().to_string();
    run_tool(
        "useradd",
        &[
            "--system",
            "--user-group",
            "--home-dir",
            &home,
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            user,
        ],
    )?;
    Ok(true)
}

/// Gives the prefix to `user`, apart from `bin`, which only root may change.
fn own(prefix: &Path, user: &str) -> Result<()> {
    for dir in ["env", "data"] {
        let path = prefix.join(dir).display().to_string();
        run_tool("chown", &["-R", &format!("{user}:{user}"), &path])?;
    }
    Ok(())
}

fn systemctl(args: &[&str]) -> Result<()> {
    run_tool("systemctl", args)
}

/// Runs `program` with `args`, or the error saying what it printed.
fn run_tool(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program).args(args).output().map_err(|e| {
        Error::internal(
            ID,
            format!(
                "cannot run {program}: {e}; micro init --server needs a Linux host with systemd"
            ),
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::internal(
        ID,
        format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    ))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| failed(path, &e))
}

/// Writes `bytes` to `path` with `mode` unless it holds them already; true when written.
fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    // Beside the file, then renamed over it: a running binary is replaced, never rewritten.
    let next = path.with_extension("micro-new");
    std::fs::write(&next, bytes).map_err(|e| failed(&next, &e))?;
    std::fs::set_permissions(&next, std::fs::Permissions::from_mode(mode))
        .map_err(|e| failed(&next, &e))?;
    std::fs::rename(&next, path).map_err(|e| failed(path, &e))?;
    Ok(true)
}

fn failed(path: &Path, err: &std::io::Error) -> Error {
    Error::internal(ID, format!("cannot write {}: {err}", path.display()))
}
