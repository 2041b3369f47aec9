//! The languages a service can be written in, as `micro run` and `micro new` see them: how a
//! service directory is recognised, which changed files mean a rebuild, and how a service is
//! built and started. Rust services build with cargo and run their binary; Node services get
//! `npm install` when they have dependencies and no `node_modules`, and run with `node`;
//! Python services run `main.py` with a Python that has the go-micro package.

use crate::run::ServiceOutput;
use micro::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

const ID: &str = "micro.run";

/// A service's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate with a binary, built with cargo.
    Rust,
    /// A Node package (package.json or index.js) using the go-micro npm package.
    Node,
    /// A Python service: a directory with a main.py using the go-micro Python package.
    Python,
}

/// How to start a built service: a program and its arguments, run in the service's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    /// The program: the service's binary, or `node`.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Lang {
    /// The language of the service in `dir`, by its files: a Cargo.toml is Rust, a
    /// package.json or index.js is Node, a main.py is Python.
    pub fn detect(dir: &Path) -> Option<Lang> {
        if dir.join("Cargo.toml").is_file() {
            Some(Lang::Rust)
        } else if dir.join("package.json").is_file() || dir.join("index.js").is_file() {
            Some(Lang::Node)
        } else if dir.join("main.py").is_file() {
            Some(Lang::Python)
        } else {
            None
        }
    }

    /// The language of `dir` when discovery should take it for a service: a Rust crate with a
    /// binary, a Node package depending on go-micro (or, without a package.json, an
    /// index.js that names it), or a main.py importing go_micro.
    pub fn discover(dir: &Path) -> Option<Lang> {
        if crate::project::is_binary_crate(dir) {
            return Some(Lang::Rust);
        }
        if std::fs::read_to_string(dir.join("main.py")).is_ok_and(|text| text.contains("go_micro"))
        {
            return Some(Lang::Python);
        }
        let uses_go_micro = match std::fs::read_to_string(dir.join("package.json")) {
            Ok(text) => serde_json::from_str::<serde_json::Value>(&text)
                .is_ok_and(|package| !package["dependencies"]["go-micro"].is_null()),
            Err(_) => std::fs::read_to_string(dir.join("index.js"))
                .is_ok_and(|text| text.contains("go-micro")),
        };
        uses_go_micro.then_some(Lang::Node)
    }

    /// True for a file (its path inside the service directory) whose change should rebuild and
    /// restart the service: its sources and manifest, outside build output, dependencies and
    /// hidden directories. Data a service writes next to its code never restarts it.
    pub fn is_source(self, path: &Path) -> bool {
        let skipped = path.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c == "target"
                || c == "node_modules"
                || c == "__pycache__"
                || (c.starts_with('.') && c.len() > 1 && c != "..")
        });
        let has_extension = |extensions: &[&str]| {
            path.extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
        };
        let named = |name: &str| path.file_name().is_some_and(|n| n == name);
        let source = match self {
            Lang::Rust => has_extension(&["rs"]) || named("Cargo.toml"),
            Lang::Node => has_extension(&["js", "mjs", "cjs", "ts"]) || named("package.json"),
            Lang::Python => {
                has_extension(&["py"]) || named("pyproject.toml") || named("requirements.txt")
            }
        };
        !skipped && source
    }

    /// Builds the service `name` in `dir`, the build tool's progress and errors going to
    /// `output` as they come, and says how to start it.
    pub async fn build(
        self,
        name: &str,
        dir: &Path,
        release: bool,
        output: &ServiceOutput,
    ) -> Result<Launch> {
        match self {
            Lang::Rust => Ok(Launch {
                program: cargo_build(name, dir, release, output).await?,
                args: Vec::new(),
            }),
            Lang::Node => node_build(name, dir, output).await,
            Lang::Python => {
                let (name, dir) = (name.to_string(), dir.to_path_buf());
                tokio::task::spawn_blocking(move || python_ready(&name, &dir))
                    .await
                    .map_err(|e| Error::internal(ID, format!("checking Python failed: {e}")))?
            }
        }
    }
}

/// The Python that runs the service in `dir`: its own `.venv` when it has one, else
/// `MICRO_PYTHON`, else `python3`.
pub fn python(dir: &Path) -> PathBuf {
    let venv = dir.join(".venv").join("bin").join("python");
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("MICRO_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into())
}

/// Checks that the Python service `name` in `dir` can start, its main.py there and go_micro
/// importable by [`python`]`(dir)`, saying how to install it when not; returns how to start it.
pub fn python_ready(name: &str, dir: &Path) -> Result<Launch> {
    if !dir.join("main.py").is_file() {
        return Err(Error::bad_request(
            ID,
            format!(
                "{name}: {} has no main.py to start; a Python service's entry point is main.py",
                dir.display()
            ),
        ));
    }
    let python = python(dir);
    let checked = std::process::Command::new(&python)
        .args(["-c", "import go_micro"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::internal(
                ID,
                format!(
                    "{name}: cannot run {}: {e}; install Python 3.10 or later, or set MICRO_PYTHON to one",
                    python.display()
                ),
            )
        })?;
    if !checked.status.success() {
        let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../python");
        let package = package.canonicalize().unwrap_or(package);
        let stderr = String::from_utf8_lossy(&checked.stderr);
        let why = stderr.lines().last().unwrap_or("no output");
        return Err(Error::bad_request(
            ID,
            format!(
                "{name}: {} cannot import go_micro ({why}); install it with `{} -m pip install {}`, give the service a .venv that has it, or set MICRO_PYTHON to a Python that has it",
                python.display(),
                python.display(),
                package.display()
            ),
        ));
    }
    Ok(Launch {
        program: python,
        args: vec!["main.py".into()],
    })
}

/// Runs `command`, copying its stderr and, unless `keep_stdout`, its stdout to `output` line by
/// line as they come; returns its exit status and the kept stdout.
async fn run_shown(
    command: &mut Command,
    output: &ServiceOutput,
    keep_stdout: bool,
) -> std::io::Result<(ExitStatus, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .map(|e| tokio::spawn(output.clone().copy(e)));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut kept = String::new();
    if keep_stdout {
        stdout.read_to_string(&mut kept).await?;
    } else {
        output.clone().copy(stdout).await;
    }
    let status = child.wait().await?;
    if let Some(copied) = stderr {
        let _ = copied.await;
    }
    Ok((status, kept))
}

/// Builds the crate in `dir` with cargo, its progress and errors going to `output`, and returns
/// the path of its binary: the one named `name` when it has several.
async fn cargo_build(
    name: &str,
    dir: &Path,
    release: bool,
    output: &ServiceOutput,
) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest = dir.join("Cargo.toml");
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--message-format", "json-render-diagnostics"]);
    if release {
        command.arg("--release");
    }
    let (status, messages) = run_shown(&mut command, output, true).await.map_err(|e| {
        Error::internal(
            ID,
            format!("{name}: cannot run cargo: {e}; is Rust installed?"),
        )
    })?;
    if !status.success() {
        return Err(Error::internal(
            ID,
            format!(
                "{name}: cargo build failed ({status}; the compiler's errors are above and in {})",
                output.log().display()
            ),
        ));
    }
    let binaries = binaries(&messages, &manifest);
    binaries
        .iter()
        .find(|(bin, _)| bin == name)
        .or(binaries.first())
        .map(|(_, path)| path.clone())
        .ok_or_else(|| {
            Error::bad_request(
                ID,
                format!("{name}: {} builds no binary", manifest.display()),
            )
        })
}

/// The (name, path) of each binary cargo's JSON messages report for `manifest`.
fn binaries(messages: &str, manifest: &Path) -> Vec<(String, PathBuf)> {
    let manifest = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| m["manifest_path"].as_str().map(PathBuf::from).as_deref() == Some(&manifest))
        .filter_map(|m| {
            let path = m["executable"].as_str()?;
            let name = m["target"]["name"].as_str()?;
            Some((name.to_string(), PathBuf::from(path)))
        })
        .collect()
}

/// Installs a Node service's dependencies when it has some and no `node_modules` yet, and
/// starts it with `node <entry>`.
async fn node_build(name: &str, dir: &Path, output: &ServiceOutput) -> Result<Launch> {
    let package = node_package(name, dir)?;
    let has_dependencies = package["dependencies"]
        .as_object()
        .is_some_and(|d| !d.is_empty());
    if has_dependencies && !dir.join("node_modules").is_dir() {
        let mut npm = Command::new("npm");
        npm.args(["install", "--no-audit", "--no-fund"])
            .current_dir(dir);
        let (status, _) = run_shown(&mut npm, output, false).await.map_err(|e| {
            Error::internal(
                ID,
                format!("{name}: cannot run npm: {e}; install Node.js (with npm) 20 or later"),
            )
        })?;
        if !status.success() {
            return Err(Error::internal(
                ID,
                format!(
                    "{name}: npm install failed in {} ({status}; its errors are above and in {})",
                    dir.display(),
                    output.log().display()
                ),
            ));
        }
    }
    let entry = match package["main"].as_str() {
        Some(main) => main.to_string(),
        None => "index.js".to_string(),
    };
    if !dir.join(&entry).is_file() {
        return Err(Error::bad_request(
            ID,
            format!(
                "{name}: {} has no {entry} to start; add it, or name the entry file in package.json's \"main\"",
                dir.display()
            ),
        ));
    }
    Ok(Launch {
        program: "node".into(),
        args: vec![entry.into()],
    })
}

/// The service's package.json, or `{}` when it has none; a clear error when it is not JSON.
fn node_package(name: &str, dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("package.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(serde_json::json!({}));
    };
    serde_json::from_str(&text)
        .map_err(|e| Error::bad_request(ID, format!("{name}: {} is not JSON: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rust_sources_and_manifests_outside_build_output_count_as_changes() {
        for path in ["src/main.rs", "Cargo.toml", "build.rs", "src/a/b.rs"] {
            assert!(Lang::Rust.is_source(Path::new(path)), "{path}");
        }
        for path in [
            "Cargo.lock",
            "data/micro/users.db",
            "target/debug/build/x/out.rs",
            ".git/index",
            "src/.main.rs.swp",
            ".idea/x.rs",
            "README.md",
        ] {
            assert!(!Lang::Rust.is_source(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn node_sources_and_package_json_count_but_not_node_modules() {
        for path in ["index.js", "lib/a.mjs", "b.cjs", "types.ts", "package.json"] {
            assert!(Lang::Node.is_source(Path::new(path)), "{path}");
        }
        for path in [
            "node_modules/go-micro/index.js",
            "package-lock.json",
            "data.json",
            ".cache/x.js",
            "README.md",
        ] {
            assert!(!Lang::Node.is_source(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn directories_are_told_apart_by_their_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Lang::detect(dir.path()), None);
        std::fs::write(dir.path().join("index.js"), "console.log(1)\n").unwrap();
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Node));
        assert_eq!(
            Lang::discover(dir.path()),
            None,
            "a script not using go-micro"
        );
        std::fs::write(dir.path().join("index.js"), "require('go-micro')\n").unwrap();
        assert_eq!(Lang::discover(dir.path()), Some(Lang::Node));
        std::fs::write(dir.path().join("package.json"), r#"{"name":"x"}"#).unwrap();
        assert_eq!(
            Lang::discover(dir.path()),
            None,
            "a package not depending on go-micro"
        );
        let package = r#"{"dependencies":{"go-micro":"file:../node"}}"#;
        std::fs::write(dir.path().join("package.json"), package).unwrap();
        assert_eq!(Lang::discover(dir.path()), Some(Lang::Node));
        std::fs::write(dir.path().join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Rust));
    }

    #[test]
    fn python_services_are_a_main_py_and_their_sources_are_py_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "print(1)\n").unwrap();
        assert_eq!(Lang::detect(dir.path()), Some(Lang::Python));
        assert_eq!(
            Lang::discover(dir.path()),
            None,
            "a script not using go_micro"
        );
        std::fs::write(dir.path().join("main.py"), "import go_micro\n").unwrap();
        assert_eq!(Lang::discover(dir.path()), Some(Lang::Python));
        for path in [
            "main.py",
            "pkg/handlers.py",
            "pyproject.toml",
            "requirements.txt",
        ] {
            assert!(Lang::Python.is_source(Path::new(path)), "{path}");
        }
        for path in [
            ".venv/lib/x.py",
            "__pycache__/main.cpython-311.pyc",
            "pkg/__pycache__/a.py",
            "data.json",
        ] {
            assert!(!Lang::Python.is_source(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn a_python_without_go_micro_is_refused_with_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = python_ready("svc", dir.path()).unwrap_err();
        assert!(err.detail.contains("no main.py"), "{}", err.detail);
        std::fs::write(dir.path().join("main.py"), "import go_micro\n").unwrap();
        let venv = dir.path().join(".venv/bin");
        std::fs::create_dir_all(&venv).unwrap();
        std::os::unix::fs::symlink("/bin/false", venv.join("python")).unwrap();
        let err = python_ready("svc", dir.path()).unwrap_err();
        assert!(
            err.detail.contains("cannot import go_micro"),
            "{}",
            err.detail
        );
        assert!(err.detail.contains("-m pip install"), "{}", err.detail);
    }
}
