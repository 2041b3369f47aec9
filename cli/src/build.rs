//! `micro build`: release binaries of a project's services — those its micro.mu or micro.json
//! lists, else the Rust crates with a binary under it — built with cargo, for this machine or
//! for another OS and architecture, and copied into one output directory.

use crate::project::{self, ServiceDef};
use micro::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "micro.build";

/// The OS and architecture pairs `--os`/`--arch` can name, in go-micro's spelling, and the
/// Rust target each builds for.
const TARGETS: &[(&str, &str, &str)] = &[
    ("linux", "amd64", "x86_64-unknown-linux-gnu"),
    ("linux", "arm64", "aarch64-unknown-linux-gnu"),
    ("darwin", "amd64", "x86_64-apple-darwin"),
    ("darwin", "arm64", "aarch64-apple-darwin"),
    ("windows", "amd64", "x86_64-pc-windows-gnu"),
    ("windows", "arm64", "aarch64-pc-windows-msvc"),
];

/// Arguments of `micro build`.
#[derive(clap::Args)]
pub struct Args {
    /// The project: its micro.mu or micro.json, else every Rust crate with a binary under it.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The OS to build for: linux, darwin (or macos) or windows; this machine's by default.
    #[arg(long)]
    pub os: Option<String>,
    /// The architecture to build for: amd64 (or x86_64) or arm64 (or aarch64); this
    /// machine's by default.
    #[arg(long)]
    pub arch: Option<String>,
    /// Where the binaries go; `<dir>/bin` by default.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Where to build for.
struct Target {
    os: &'static str,
    arch: &'static str,
    /// The `--target` to give cargo; `None` for this machine.
    triple: Option<&'static str>,
}

/// Runs `micro build`.
pub fn run(args: Args) -> Result<()> {
    let target = target(args.os.as_deref(), args.arch.as_deref())?;
    if let Some(triple) = target.triple {
        check_installed(triple)?;
    }
    let project = match project::load(&args.dir)? {
        Some(project) => project,
        None => project::discover(&args.dir)?,
    };
    let output = args.output.unwrap_or_else(|| args.dir.join("bin"));
    std::fs::create_dir_all(&output)
        .map_err(|e| Error::internal(ID, format!("cannot create {}: {e}", output.display())))?;
    for service in project.start_order()? {
        println!(
            "Building {} ({}/{})...",
            service.name, target.os, target.arch
        );
        for binary in build_service(&service, &target, &output)? {
            println!("  built {}", binary.display());
        }
    }
    println!("Built to {}", output.display());
    Ok(())
}

/// The target for `--os` and `--arch`, each defaulting to this machine's.
fn target(os: Option<&str>, arch: Option<&str>) -> Result<Target> {
    let os = os.map_or(host_os(), go_os);
    let arch = arch.map_or(host_arch(), go_arch);
    let Some(&(os, arch, triple)) = TARGETS.iter().find(|t| t.0 == os && t.1 == arch) else {
        let (what, given, names) = if TARGETS.iter().any(|t| t.0 == os) {
            ("--arch", arch, supported(|t| t.1))
        } else {
            ("--os", os, supported(|t| t.0))
        };
        return Err(Error::bad_request(
            ID,
            format!("unknown {what} {given:?}; supported: {names}"),
        ));
    };
    let native = os == host_os() && arch == host_arch();
    Ok(Target {
        os,
        arch,
        triple: (!native).then_some(triple),
    })
}

/// The OS or architecture names `pick` takes from [`TARGETS`], each once.
fn supported(pick: fn(&(&'static str, &'static str, &'static str)) -> &'static str) -> String {
    let mut names: Vec<&str> = Vec::new();
    for name in TARGETS.iter().map(pick) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(", ")
}

/// go-micro's name for an OS (`macos` is `darwin`).
fn go_os(os: &str) -> &str {
    if os == "macos" { "darwin" } else { os }
}

/// go-micro's name for an architecture (`x86_64` is `amd64`, `aarch64` is `arm64`).
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        arch => arch,
    }
}

fn host_os() -> &'static str {
    go_os(std::env::consts::OS)
}

fn host_arch() -> &'static str {
    go_arch(std::env::consts::ARCH)
}

/// Fails with the command to run when rustup has not installed the target's standard library.
/// Without rustup there is nothing to ask; cargo reports what is missing.
fn check_installed(triple: &str) -> Result<()> {
    let Ok(listed) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    let installed = String::from_utf8_lossy(&listed.stdout);
    if !listed.status.success() || installed.lines().any(|line| line.trim() == triple) {
        return Ok(());
    }
    Err(Error::bad_request(
        ID,
        format!(
            "the Rust target {triple} is not installed; add it with `rustup target add {triple}` (a cross build may also need that platform's linker)"
        ),
    ))
}

/// Builds one service in release mode and copies its binaries to `output`: named after the
/// service when the crate has one binary, else each after its own name.
fn build_service(service: &ServiceDef, target: &Target, output: &Path) -> Result<Vec<PathBuf>> {
    let manifest = service.path.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::not_found(
            ID,
            format!(
                "service {}: no Cargo.toml in {}; micro build builds Rust services (fix its path in micro.mu)",
                service.name,
                service.path.display()
            ),
        ));
    }
    let mut build = cargo();
    build.args(["build", "--release", "--bins", "--manifest-path"]);
    build.arg(&manifest);
    if let Some(triple) = target.triple {
        build.args(["--target", triple]);
    }
    let status = build
        .status()
        .map_err(|e| Error::internal(ID, format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(Error::internal(
            ID,
            format!(
                "cargo build failed for service {} ({status}); see its errors above",
                service.name
            ),
        ));
    }
    let (target_dir, binaries) = binaries(&manifest)?;
    let release = match target.triple {
        Some(triple) => target_dir.join(triple).join("release"),
        None => target_dir.join("release"),
    };
    let exe = if target.os == "windows" { ".exe" } else { "" };
    let single = binaries.len() == 1;
    binaries
        .iter()
        .map(|binary| {
            let from = release.join(format!("{binary}{exe}"));
            let name = if single { &service.name } else { binary };
            let to = output.join(format!("{name}{exe}"));
            std::fs::copy(&from, &to).map_err(|e| {
                Error::internal(
                    ID,
                    format!("cannot copy {} to {}: {e}", from.display(), to.display()),
                )
            })?;
            Ok(to)
        })
        .collect()
}

/// The target directory and binary names of the crate at `manifest` (every member's, for a
/// virtual workspace manifest), as `cargo metadata` reports them.
fn binaries(manifest: &Path) -> Result<(PathBuf, Vec<String>)> {
    let output = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|e| Error::internal(ID, format!("cannot run cargo metadata: {e}")))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        Error::internal(
            ID,
            format!(
                "cargo metadata for {} gave no JSON ({e}): {}",
                manifest.display(),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    })?;
    let target_dir = PathBuf::from(metadata["target_directory"].as_str().unwrap_or("target"));
    let manifest = manifest.canonicalize().unwrap_or(manifest.to_path_buf());
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let own: Vec<_> = packages
        .iter()
        .filter(|p| p["manifest_path"].as_str().map(PathBuf::from) == Some(manifest.clone()))
        .collect();
    let chosen = if own.is_empty() {
        packages.iter().collect()
    } else {
        own
    };
    let mut names = Vec::new();
    for target in chosen
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
    {
        let is_bin = target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        if is_bin && let Some(name) = target["name"].as_str() {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err(Error::not_found(
            ID,
            format!("{} builds no binary", manifest.display()),
        ));
    }
    Ok((target_dir, names))
}

/// Cargo, as the one running us names it, else from PATH.
fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_and_arch_map_to_rust_targets() {
        let t = target(Some("linux"), Some("arm64")).unwrap();
        assert_eq!((t.os, t.arch), ("linux", "arm64"),);
        let t = target(Some("macos"), Some("aarch64")).unwrap();
        assert_eq!(t.triple, Some("aarch64-apple-darwin"));
        let t = target(Some("windows"), Some("x86_64")).unwrap();
        assert_eq!(t.triple, Some("x86_64-pc-windows-gnu"));
        assert_eq!(target(None, None).unwrap().triple, None);
    }

    #[test]
    fn unknown_os_or_arch_lists_the_supported_ones() {
        let err = target(Some("plan9"), None).err().unwrap();
        assert!(
            err.detail.contains("linux, darwin, windows"),
            "{}",
            err.detail
        );
        let err = target(Some("linux"), Some("mips")).err().unwrap();
        assert!(
            err.detail.contains("unknown --arch \"mips\""),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("amd64, arm64"), "{}", err.detail);
    }
}
