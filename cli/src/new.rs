//! `micro new`: writes a service project that builds and runs at once — a Cargo project using
//! the `micro` crate (by path: it is not published), a handler, a README and a `micro.mu`
//! entry — from one of the templates in `cli/templates`, then builds it and prints its tree.
//! With `--lang node` it writes a Node package using the `go-micro` npm package (by path)
//! instead, and installs it; with `--lang python` a main.py on the go-micro Python package.

mod node;
mod python;

use crate::lang::Lang;
use micro::{Error, Result};
use minijinja::Environment;
use std::path::{Path, PathBuf};
use std::process::Command;

const ID: &str = "micro.new";

/// The workspace manifest, whose versions of serde, schemars, tokio, ... the new project uses.
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");

/// Every template file, by the name templates know it by.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml.j2", include_str!("../templates/Cargo.toml.j2")),
    ("README.md.j2", include_str!("../templates/README.md.j2")),
    ("micro.mu.j2", include_str!("../templates/micro.mu.j2")),
    ("gitignore.j2", include_str!("../templates/gitignore.j2")),
    ("main.rs.j2", include_str!("../templates/main.rs.j2")),
    (
        "default/main.rs.j2",
        include_str!("../templates/default/main.rs.j2"),
    ),
    (
        "default/handler.rs.j2",
        include_str!("../templates/default/handler.rs.j2"),
    ),
    (
        "crud/main.rs.j2",
        include_str!("../templates/crud/main.rs.j2"),
    ),
    (
        "crud/handler.rs.j2",
        include_str!("../templates/crud/handler.rs.j2"),
    ),
    (
        "pubsub/main.rs.j2",
        include_str!("../templates/pubsub/main.rs.j2"),
    ),
    (
        "pubsub/handler.rs.j2",
        include_str!("../templates/pubsub/handler.rs.j2"),
    ),
    (
        "api/main.rs.j2",
        include_str!("../templates/api/main.rs.j2"),
    ),
    (
        "api/handler.rs.j2",
        include_str!("../templates/api/handler.rs.j2"),
    ),
    (
        "node/package.json.j2",
        include_str!("../templates/node/package.json.j2"),
    ),
    (
        "node/index.js.j2",
        include_str!("../templates/node/index.js.j2"),
    ),
    (
        "node/README.md.j2",
        include_str!("../templates/node/README.md.j2"),
    ),
    (
        "node/gitignore.j2",
        include_str!("../templates/node/gitignore.j2"),
    ),
    (
        "python/main.py.j2",
        include_str!("../templates/python/main.py.j2"),
    ),
    (
        "python/README.md.j2",
        include_str!("../templates/python/README.md.j2"),
    ),
    (
        "python/gitignore.j2",
        include_str!("../templates/python/gitignore.j2"),
    ),
];

/// Names cargo or Rust refuse for a package, or that clash with the project's dependencies.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "build",
    "const",
    "continue",
    "core",
    "crate",
    "deps",
    "do",
    "dyn",
    "else",
    "enum",
    "examples",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "incremental",
    "let",
    "loop",
    "macro",
    "match",
    "micro",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "proc-macro",
    "pub",
    "ref",
    "return",
    "schemars",
    "self",
    "serde",
    "serde_json",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "tokio",
    "tracing",
    "tracing-subscriber",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "uuid",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Arguments of `micro new`.
#[derive(clap::Args)]
pub struct Args {
    /// The service's name, also its crate's: lowercase letters, digits, '-' and '_', starting
    /// with a letter.
    pub name: String,
    /// What the service does to begin with.
    #[arg(long, value_enum, default_value_t = Template::Default)]
    pub template: Template,
    /// The language to write it in (node and python: the default template only).
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// The directory to create the project in.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The port the service listens on (its micro.mu entry).
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Write the files without building them.
    #[arg(long)]
    pub no_build: bool,
}

/// The project templates.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// An RPC handler greeting by name, documented with describe.
    Default,
    /// Create, Read, Update, Delete and List on the service's store.
    Crud,
    /// Publishes events on a topic and subscribes to it.
    Pubsub,
    /// A gateway-facing service with a health check endpoint.
    Api,
}

impl Template {
    fn name(self) -> &'static str {
        match self {
            Template::Default => "default",
            Template::Crud => "crud",
            Template::Pubsub => "pubsub",
            Template::Api => "api",
        }
    }

    /// Dependencies beyond micro, serde, schemars and tokio.
    fn extra_deps(self) -> &'static [&'static str] {
        match self {
            Template::Default | Template::Api => &[],
            Template::Crud => &["serde_json", "uuid"],
            Template::Pubsub => &["serde_json", "tracing", "uuid"],
        }
    }

    /// Example calls for the README: endpoint method and request.
    fn calls(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Template::Default => &[("Call", r#"{"name":"Alice"}"#)],
            Template::Crud => &[("Create", r#"{"name":"Book"}"#), ("List", "{}")],
            Template::Pubsub => &[("Publish", r#"{"data":"hello"}"#), ("Recent", "{}")],
            Template::Api => &[("Hello", r#"{"name":"Alice"}"#), ("Health", "{}")],
        }
    }
}

/// Runs `micro new`.
pub fn run(args: Args) -> Result<()> {
    check_name(&args.name)?;
    let project = args.dir.join(&args.name);
    if project.exists() {
        return Err(Error::bad_request(
            ID,
            format!(
                "{} already exists; choose another name or another --dir",
                project.display()
            ),
        ));
    }
    if args.lang == Lang::Node {
        return node::run(&args, &project);
    }
    if args.lang == Lang::Python {
        return python::run(&args, &project);
    }
    let core = checkout_dir("MICRO_PATH", "../core", "Cargo.toml", "the micro crate")?;
    let files = render(&args, &core)?;
    println!(
        "Creating {} ({} template) in {}",
        args.name,
        args.template.name(),
        project.display()
    );
    write(&project, &files)?;
    format(&project);
    copy_lock(&core, &project)?;
    if !args.no_build {
        build(&project)?;
    }
    println!("\n{}", tree(&project)?);
    let (method, example) = args.template.calls()[0];
    print_next(&project, &args.name, method, example);
    Ok(())
}

/// Prints how to call the new service once it runs and, last, the command that runs it.
pub(crate) fn print_next(project: &Path, name: &str, method: &str, example: &str) {
    // `--dir .` (the default) gives `./name`; `cd name` says the same more plainly.
    let project = project.strip_prefix(".").unwrap_or(project);
    println!(
        "\nCall it once it runs:\n  micro call {name} {}.{method} '{example}'\n\nRun it:\n  cd {} && micro run",
        title(name),
        project.display()
    );
}

/// Refuses names that are not valid crate and service names.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let plain = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !starts_with_letter || !plain || name.len() > 64 {
        return Err(Error::bad_request(
            ID,
            format!(
                "{name:?} is not a valid service name: use up to 64 lowercase letters, digits, '-' and '_', starting with a letter (e.g. users, order-api)"
            ),
        ));
    }
    if RESERVED.contains(&name) {
        return Err(Error::bad_request(
            ID,
            format!(
                "{name:?} cannot be a service name: Rust or cargo reserve it, or the project depends on a crate of that name; choose another"
            ),
        ));
    }
    Ok(())
}

/// The handler name for a service name: `order-api` -> `OrderApi`.
pub(crate) fn title(name: &str) -> String {
    name.split(['-', '_'])
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A directory of this libmicro checkout holding `manifest`: the one `$var` names, else
/// `default` beside this binary's crate; `what` names it in the error.
pub(crate) fn checkout_dir(
    var: &str,
    default: &str,
    manifest: &str,
    what: &str,
) -> Result<PathBuf> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default));
    path.join(manifest)
        .canonicalize()
        .ok()
        .and_then(|manifest| manifest.parent().map(Path::to_path_buf))
        .ok_or_else(|| {
            Error::not_found(
                ID,
                format!(
                    "{what} is not at {}; set {var} to the {}/ directory of a libmicro checkout",
                    path.display(),
                    default.trim_start_matches("../")
                ),
            )
        })
}

/// Renders each (project path, template name) of `files` with `context`.
pub(crate) fn render_files<N: AsRef<str>>(
    files: impl IntoIterator<Item = (&'static str, N)>,
    context: &minijinja::Value,
) -> Result<Vec<(&'static str, String)>> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| Error::internal(ID, format!("template {name}: {e}")))?;
    }
    files
        .into_iter()
        .map(|(path, name)| {
            let name = name.as_ref();
            let text = env
                .get_template(name)
                .and_then(|t| t.render(context))
                .map_err(|e| Error::internal(ID, format!("template {name}: {e}")))?;
            Ok((path, text))
        })
        .collect()
}

/// The project's files, path and contents.
fn render(args: &Args, core: &Path) -> Result<Vec<(&'static str, String)>> {
    let template = args.template;
    let title = title(&args.name);
    let calls: Vec<(String, &str)> = template
        .calls()
        .iter()
        .map(|(method, example)| (format!("{title}.{method}"), *example))
        .collect();
    let context = minijinja::context! {
        name => &args.name,
        title => &title,
        port => args.port,
        template => template.name(),
        deps => dependencies(template, core)?,
        calls => calls,
    };
    let kind = template.name();
    let files = [
        ("Cargo.toml", "Cargo.toml.j2".to_string()),
        ("README.md", "README.md.j2".to_string()),
        ("micro.mu", "micro.mu.j2".to_string()),
        (".gitignore", "gitignore.j2".to_string()),
        ("src/main.rs", format!("{kind}/main.rs.j2")),
        ("src/handler.rs", format!("{kind}/handler.rs.j2")),
    ];
    render_files(files, &context)
}

/// The `[dependencies]` lines: micro by path, the rest at the workspace's versions.
fn dependencies(template: Template, core: &Path) -> Result<Vec<String>> {
    let manifest: toml::Table = WORKSPACE_MANIFEST
        .parse()
        .map_err(|e| Error::internal(ID, format!("the workspace Cargo.toml: {e}")))?;
    let pinned = manifest
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table())
        .ok_or_else(|| Error::internal(ID, "the workspace Cargo.toml has no dependencies"))?;
    let mut micro = toml::Table::new();
    micro.insert("path".into(), core.display().to_string().into());
    let mut lines = vec![format!("micro = {}", toml::Value::Table(micro))];
    let common = ["schemars", "serde", "tokio"];
    let mut names: Vec<&str> = common
        .iter()
        .chain(template.extra_deps())
        .copied()
        .collect();
    names.sort();
    for name in names {
        let spec = pinned.get(name).ok_or_else(|| {
            Error::internal(
                ID,
                format!("the workspace does not pin a version of {name}"),
            )
        })?;
        lines.push(format!("{name} = {spec}"));
    }
    Ok(lines)
}

/// Writes the files under `project`, creating it.
pub(crate) fn write(project: &Path, files: &[(&str, String)]) -> Result<()> {
    for (path, text) in files {
        let path = project.join(path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written
            .map_err(|e| Error::internal(ID, format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Lays out the Rust files as rustfmt would (line breaks depend on the name's length); without
/// rustfmt they stay as the templates wrote them.
fn format(project: &Path) {
    let formatted = Command::new("rustfmt")
        .args(["--edition", "2024", "src/main.rs", "src/handler.rs"])
        .current_dir(project)
        .status();
    if !formatted.is_ok_and(|s| s.success()) {
        eprintln!(
            "micro: rustfmt did not run on {}; the code is left unformatted",
            project.display()
        );
    }
}

/// Starts the project from the workspace's Cargo.lock, so it builds with the very versions
/// the micro crate was tested with (and reuses their builds in a shared target directory).
fn copy_lock(core: &Path, project: &Path) -> Result<()> {
    let lock = core.join("../Cargo.lock");
    if !lock.is_file() {
        return Ok(());
    }
    std::fs::copy(&lock, project.join("Cargo.lock"))
        .map(|_| ())
        .map_err(|e| Error::internal(ID, format!("cannot copy {}: {e}", lock.display())))
}

/// `cargo build` in the project, showing cargo's progress; `CARGO_TARGET_DIR`, when set, is
/// used as it is so dependencies already built there are reused.
fn build(project: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("Building with {cargo} build (the first build compiles the dependencies)...");
    let status = Command::new(&cargo)
        .arg("build")
        .current_dir(project)
        .status()
        .map_err(|e| {
            Error::internal(
                ID,
                format!("cannot run {cargo}: {e}; install Rust (https://rustup.rs) or set CARGO"),
            )
        })?;
    if !status.success() {
        return Err(Error::internal(
            ID,
            format!(
                "cargo build failed in {} ({status}); the files are written, fix the error above and run cargo build there",
                project.display()
            ),
        ));
    }
    Ok(())
}

/// The project's files as a tree, without build output or installed dependencies.
pub(crate) fn tree(project: &Path) -> Result<termtree::Tree<String>> {
    let mut root = termtree::Tree::new(project.display().to_string());
    let mut entries: Vec<_> = std::fs::read_dir(project)
        .map_err(|e| Error::internal(ID, format!("cannot list {}: {e}", project.display())))?
        .flatten()
        .filter(|e| e.file_name() != "target" && e.file_name() != "node_modules")
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            let mut branch = tree(&entry.path())?;
            branch.root = name;
            root.push(branch);
        } else {
            root.push(termtree::Tree::new(name));
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_handler_titles() {
        assert_eq!(title("users"), "Users");
        assert_eq!(title("order-api"), "OrderApi");
        assert_eq!(title("my_svc2"), "MySvc2");
    }

    #[test]
    fn only_crate_and_service_names_pass() {
        for good in ["users", "order-api", "a1_b"] {
            check_name(good).unwrap();
        }
        for bad in [
            "", "Users", "1st", "-x", "a b", "a/b", "fn", "micro", "test",
        ] {
            assert_eq!(check_name(bad).unwrap_err().code, 400, "{bad:?}");
        }
    }

    #[test]
    fn dependencies_are_pinned_as_the_workspace_pins_them() {
        let deps = dependencies(Template::Pubsub, Path::new("/x/core")).unwrap();
        assert_eq!(deps[0], r#"micro = { path = "/x/core" }"#);
        assert!(
            deps.iter()
                .any(|d| d.starts_with("tokio = { version = \"1\""))
        );
        assert!(deps.iter().any(|d| d.starts_with("uuid = ")));
    }
}
