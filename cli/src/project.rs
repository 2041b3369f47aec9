//! The project file of `micro run`: `micro.mu` (line based, `#` comments, properties indented
//! under `service`, `env` and `deploy` blocks) or `micro.json` (the same content as JSON), and,
//! without either, the services found by looking for Rust crates with a binary and Node packages
//! depending on go-micro. Also puts the services in dependency order, refusing unknown
//! dependencies and cycles.

use micro::{Error, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const ID: &str = "micro.run";
/// The environment `micro run` uses, when the project defines it and none is chosen.
const DEFAULT_ENV: &str = "development";

/// One service of a project.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServiceDef {
    /// The service's name (the block name in micro.mu, the map key in micro.json).
    #[serde(skip)]
    pub name: String,
    /// Its directory, relative to the project file (or absolute).
    #[serde(default)]
    pub path: PathBuf,
    /// The port it listens on; `micro run` sets `MICRO_SERVER_ADDRESS` and waits for
    /// `/health` on it.
    #[serde(default)]
    pub port: Option<u16>,
    /// Services that must be up before this one starts.
    #[serde(default)]
    pub depends: Vec<String>,
}

/// A deployment target (read and kept; `micro run` does not use it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Deploy {
    /// `user@host` to reach it by ssh.
    #[serde(default)]
    pub ssh: String,
    /// The directory on the target.
    #[serde(default)]
    pub path: Option<String>,
}

/// A whole project: services in file order, environments and deployment targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Project {
    /// The services, in the order the file lists them (discovery: sorted by name).
    pub services: Vec<ServiceDef>,
    /// Variables per environment name.
    pub envs: BTreeMap<String, BTreeMap<String, String>>,
    /// Deployment targets by name.
    pub deploy: BTreeMap<String, Deploy>,
}

#[derive(Deserialize)]
struct JsonProject {
    #[serde(default)]
    services: BTreeMap<ServiceName, ServiceDef>,
    #[serde(default)]
    env: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    deploy: BTreeMap<String, Deploy>,
}

/// Reads `dir/micro.mu`, else `dir/micro.json`; `None` when there is neither. Service paths
/// come back resolved against `dir`.
pub fn load(dir: &Path) -> Result<Option<Project>> {
    for (file, parse) in [
        ("micro.mu", parse_mu as fn(&str, &str) -> Result<Project>),
        ("micro.json", parse_json),
    ] {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::bad_request(ID, format!("cannot read {}: {e}", path.display())))?;
        let mut project = parse(&text, &path.display().to_string())?;
        for service in &mut project.services {
            service.path = dir.join(&service.path);
        }
        return Ok(Some(project));
    }
    Ok(None)
}

/// Parses micro.mu text; `file` names it in errors (`micro.mu:3: ...`).
pub fn parse_mu(text: &str, file: &str) -> Result<Project> {
    let mut project = Project::default();
    let mut block = Block::None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let bad = |what: &str| Error::bad_request(ID, format!("{file}:{line}: {what}"));
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        let (word, rest) = split_word(trimmed);
        if !indented {
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                return Err(bad(&format!(
                    "expected `service <name>`, `env <name>` or `deploy <name>`, found `{trimmed}`"
                )));
            }
            block = match word {
                "service" => {
                    check_name(rest).map_err(|e| bad(&e))?;
                    if project.services.iter().any(|s| s.name == rest) {
                        return Err(bad(&format!("service `{rest}` is defined twice")));
                    }
                    project.services.push(ServiceDef {
                        name: rest.to_string(),
                        path: PathBuf::from(".").join(rest),
                        port: None,
                        depends: Vec::new(),
                    });
                    Block::Service(project.services.len() - 1)
                }
                "env" => {
                    project.envs.entry(rest.to_string()).or_default();
                    Block::Env(rest.to_string())
                }
                "deploy" => {
                    project.deploy.entry(rest.to_string()).or_default();
                    Block::Deploy(rest.to_string())
                }
                _ => {
                    return Err(bad(&format!(
                        "expected `service`, `env` or `deploy`, found `{word}`"
                    )));
                }
            };
            continue;
        }
        if rest.is_empty() {
            return Err(bad(&format!("expected `{word} <value>`, found no value")));
        }
        match &block {
            Block::None => {
                return Err(bad(
                    "expected a `service`, `env` or `deploy` line before an indented property",
                ));
            }
            Block::Service(i) => {
                let service = &mut project.services[*i];
                match word {
                    "path" => service.path = PathBuf::from(rest),
                    "port" => {
                        service.port = Some(rest.parse().map_err(|_| {
                            bad(&format!("expected a port number (1-65535), found `{rest}`"))
                        })?);
                    }
                    "depends" => service
                        .depends
                        .extend(rest.split_whitespace().map(String::from)),
                    _ => {
                        return Err(bad(&format!(
                            "expected `path`, `port` or `depends`, found `{word}`"
                        )));
                    }
                }
            }
            Block::Env(name) => {
                let vars = project.envs.get_mut(name).expect("env block exists");
                vars.insert(word.to_string(), rest.to_string());
            }
            Block::Deploy(name) => {
                let target = project.deploy.get_mut(name).expect("deploy block exists");
                match word {
                    "ssh" => target.ssh = rest.to_string(),
                    "path" => target.path = Some(rest.to_string()),
                    _ => return Err(bad(&format!("expected `ssh` or `path`, found `{word}`"))),
                }
            }
        }
    }
    Ok(project)
}

enum Block {
    None,
    Service(usize),
    Env(String),
    Deploy(String),
}

/// The first word of a line and the rest, trimmed.
fn split_word(line: &str) -> (&str, &str) {
    match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (line, ""),
    }
}

/// A service name read from micro.json, checked as it is read so the error names its line.
#[derive(PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct ServiceName(String);

impl TryFrom<String> for ServiceName {
    type Error = String;

    fn try_from(name: String) -> std::result::Result<Self, String> {
        check_name(&name)?;
        Ok(ServiceName(name))
    }
}

/// Refuses a service name that is not safe as part of a file name: `micro run` keeps each
/// service's log and pid in `<name>.log` and `<name>.pid`, so `../x` would write elsewhere.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(safe) {
        return Err(format!(
            "service name {name:?} is not allowed: use letters, digits, `.`, `-` and `_`, not starting with `.` (the name is used for the service's log and pid files)"
        ));
    }
    Ok(())
}

/// Parses micro.json text; `file` names it in errors.
pub fn parse_json(text: &str, file: &str) -> Result<Project> {
    let parsed: JsonProject = serde_json::from_str(text).map_err(|e| {
        Error::bad_request(
            ID,
            format!(
                "{file}:{}: {e}; expected {{\"services\":{{name:{{path,port,depends}}}},\"env\":{{name:{{key:value}}}},\"deploy\":{{name:{{ssh,path}}}}}}",
                e.line()
            ),
        )
    })?;
    let services = parsed
        .services
        .into_iter()
        .map(|(ServiceName(name), mut service)| {
            if service.path.as_os_str().is_empty() {
                service.path = PathBuf::from(".").join(&name);
            }
            service.name = name;
            service
        })
        .collect();
    Ok(Project {
        services,
        envs: parsed.env,
        deploy: parsed.deploy,
    })
}

/// Finds the services under `dir` without a project file: `dir` itself or any directory
/// below it (not `target` or hidden ones) holding a Cargo.toml with a `[[bin]]` or a
/// `src/main.rs`. Each is named after its directory and has no port or dependencies.
pub fn discover(dir: &Path) -> Result<Project> {
    let mut found = Vec::new();
    walk(dir, 0, &mut found);
    if found.is_empty() {
        return Err(Error::not_found(
            ID,
            format!(
                "no micro.mu, micro.json or service (a Rust crate with a binary, a Node package depending on go-micro, or a main.py importing go_micro) under {}",
                dir.display()
            ),
        ));
    }
    found.sort();
    let services = found
        .into_iter()
        .map(|path| ServiceDef {
            name: service_name(&path),
            path,
            port: None,
            depends: Vec::new(),
        })
        .collect();
    Ok(Project {
        services,
        ..Default::default()
    })
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if crate::lang::Lang::discover(dir).is_some() {
        found.push(dir.to_path_buf());
    }
    if depth >= 4 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&entry.path(), depth + 1, found);
        }
    }
}

/// True when `dir` holds a Rust crate that builds a binary.
pub fn is_binary_crate(dir: &Path) -> bool {
    let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return false;
    };
    manifest.contains("[[bin]]") || dir.join("src/main.rs").is_file()
}

/// A service's name from its directory: the last path component.
fn service_name(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "service".to_string())
}

impl Project {
    /// The variables of environment `name`. `None` (no `--env` given) means `development`
    /// when the project defines it and no variables otherwise; a name the project does not
    /// define is an error listing the ones it does.
    pub fn env(&self, name: Option<&str>) -> Result<BTreeMap<String, String>> {
        let Some(name) = name else {
            return Ok(self.envs.get(DEFAULT_ENV).cloned().unwrap_or_default());
        };
        self.envs.get(name).cloned().ok_or_else(|| {
            let defined = if self.envs.is_empty() {
                "the project defines no environments (add an `env <name>` block to micro.mu)"
                    .to_string()
            } else {
                let names: Vec<&str> = self.envs.keys().map(String::as_str).collect();
                format!("the project defines {}", names.join(", "))
            };
            Error::bad_request(
                ID,
                format!("no environment `{name}`: {defined}; pick one with --env or MICRO_ENV"),
            )
        })
    }

    /// The services in an order where each comes after everything it depends on, keeping file
    /// order otherwise. An unknown dependency or a cycle is an error naming it.
    pub fn start_order(&self) -> Result<Vec<ServiceDef>> {
        let index: HashMap<&str, usize> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        for service in &self.services {
            for dep in &service.depends {
                if !index.contains_key(dep.as_str()) {
                    return Err(Error::bad_request(
                        ID,
                        format!(
                            "service `{}` depends on `{dep}`, which is not a service in the project",
                            service.name
                        ),
                    ));
                }
            }
        }
        let mut state = vec![Visit::New; self.services.len()];
        let mut order = Vec::new();
        let mut path = Vec::new();
        for i in 0..self.services.len() {
            self.visit(i, &index, &mut state, &mut path, &mut order)?;
        }
        Ok(order)
    }

    fn visit(
        &self,
        i: usize,
        index: &HashMap<&str, usize>,
        state: &mut [Visit],
        path: &mut Vec<usize>,
        order: &mut Vec<ServiceDef>,
    ) -> Result<()> {
        match state[i] {
            Visit::Done => return Ok(()),
            Visit::Active => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut names: Vec<&str> = path[start..]
                    .iter()
                    .map(|&p| self.services[p].name.as_str())
                    .collect();
                names.push(&self.services[i].name);
                return Err(Error::bad_request(
                    ID,
                    format!("dependency cycle: {}", names.join(" -> ")),
                ));
            }
            Visit::New => {}
        }
        state[i] = Visit::Active;
        path.push(i);
        for dep in &self.services[i].depends {
            self.visit(index[dep.as_str()], index, state, path, order)?;
        }
        path.pop();
        state[i] = Visit::Done;
        order.push(self.services[i].clone());
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    Active,
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
# a blog
service users
    path ./users
    port 8081

service posts
    path ./posts
    port 8082
    depends users

service web
    path ./web
    port 8089
    depends users posts

env development
    STORE_ADDRESS file://./data
    GREETING hello from development

deploy prod
    ssh deploy@prod.example.com
    path /srv/blog
";

    fn names(services: &[ServiceDef]) -> Vec<&str> {
        services.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn parses_the_issue_example() {
        let project = parse_mu(EXAMPLE, "micro.mu").unwrap();
        assert_eq!(names(&project.services), ["users", "posts", "web"]);
        let web = &project.services[2];
        assert_eq!(web.path, PathBuf::from("./web"));
        assert_eq!(web.port, Some(8089));
        assert_eq!(web.depends, ["users", "posts"]);
        let dev = project.env(Some("development")).unwrap();
        assert_eq!(dev["STORE_ADDRESS"], "file://./data");
        assert_eq!(dev["GREETING"], "hello from development");
        assert_eq!(project.env(None).unwrap(), dev);
        let err = project.env(Some("production")).unwrap_err().detail;
        assert!(
            err.contains("no environment `production`: the project defines development"),
            "{err}"
        );
        let none = Project::default();
        assert!(none.env(None).unwrap().is_empty());
        let err = none.env(Some("development")).unwrap_err().detail;
        assert!(err.contains("defines no environments"), "{err}");
        assert_eq!(project.deploy["prod"].ssh, "deploy@prod.example.com");
        assert_eq!(project.deploy["prod"].path.as_deref(), Some("/srv/blog"));
    }

    #[test]
    fn json_form_means_the_same_as_micro_mu() {
        let json = r#"{
            "services": {
                "users": {"path": "./users", "port": 8081},
                "posts": {"path": "./posts", "port": 8082, "depends": ["users"]},
                "web": {"path": "./web", "port": 8089, "depends": ["users", "posts"]}
            },
            "env": {"development": {"STORE_ADDRESS": "file://./data", "GREETING": "hello from development"}},
            "deploy": {"prod": {"ssh": "deploy@prod.example.com", "path": "/srv/blog"}}
        }"#;
        let from_json = parse_json(json, "micro.json").unwrap();
        let from_mu = parse_mu(EXAMPLE, "micro.mu").unwrap();
        assert_eq!(
            names(&from_json.start_order().unwrap()),
            names(&from_mu.start_order().unwrap())
        );
        assert_eq!(from_json.envs, from_mu.envs);
        assert_eq!(from_json.deploy, from_mu.deploy);
        let web = from_json.services.iter().find(|s| s.name == "web").unwrap();
        assert_eq!(web.depends, ["users", "posts"]);
    }

    fn error(text: &str) -> String {
        parse_mu(text, "micro.mu").unwrap_err().detail
    }

    #[test]
    fn bad_lines_are_errors_naming_their_line_and_what_was_expected() {
        let cases = [
            (
                "service users\n    port eighty\n",
                "micro.mu:2:",
                "port number",
            ),
            (
                "# top\n\nservices users\n",
                "micro.mu:3:",
                "expected `service`",
            ),
            ("service\n", "micro.mu:1:", "expected `service <name>`"),
            ("service a b\n", "micro.mu:1:", "expected `service <name>`"),
            (
                "    path ./x\n",
                "micro.mu:1:",
                "before an indented property",
            ),
            (
                "service a\n    colour red\n",
                "micro.mu:2:",
                "`path`, `port` or `depends`",
            ),
            ("service a\n    port\n", "micro.mu:2:", "found no value"),
            ("service a\nservice a\n", "micro.mu:2:", "defined twice"),
            ("deploy p\n    host x\n", "micro.mu:2:", "`ssh` or `path`"),
            ("service a\n    port 70000\n", "micro.mu:2:", "port number"),
        ];
        for (text, line, what) in cases {
            let err = error(text);
            assert!(err.starts_with(line), "{text:?} gave {err}");
            assert!(err.contains(what), "{text:?} gave {err}");
        }
    }

    #[test]
    fn bad_json_names_its_line() {
        let err = parse_json(
            "{\n  \"services\": {\n    \"a\": {\"port\": \"x\"}\n}}",
            "micro.json",
        )
        .unwrap_err();
        assert!(err.detail.starts_with("micro.json:3:"), "{}", err.detail);
    }

    #[test]
    fn service_names_that_are_not_safe_file_names_are_refused_with_their_line() {
        for name in [
            "../../etc/x",
            "a/b",
            ".hidden",
            "..",
            "a\\b",
            "a\u{0}b",
            "sp\u{e4}ce",
        ] {
            let err = error(&format!("# top\nservice {name}\n"));
            assert!(err.starts_with("micro.mu:2:"), "{name:?} gave {err}");
            assert!(err.contains("is not allowed"), "{name:?} gave {err}");
            let json = format!(
                "{{\n  \"services\": {{\n    {}: {{\"port\": 1}}\n  }}\n}}",
                serde_json::to_string(name).unwrap()
            );
            let err = parse_json(&json, "micro.json").unwrap_err().detail;
            assert!(err.starts_with("micro.json:3:"), "{name:?} gave {err}");
            assert!(err.contains("is not allowed"), "{name:?} gave {err}");
        }
        let fine = "service go.micro.srv.users-2_b\n";
        assert_eq!(parse_mu(fine, "micro.mu").unwrap().services.len(), 1);
    }

    #[test]
    fn dependencies_come_first_and_file_order_is_kept_otherwise() {
        let text = "service web\n    depends posts users\nservice posts\n    depends users\nservice users\nservice admin\n";
        let order = parse_mu(text, "micro.mu").unwrap().start_order().unwrap();
        assert_eq!(names(&order), ["users", "posts", "web", "admin"]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_it() {
        let text = "service a\n    depends b\nservice b\n    depends c\nservice c\n    depends a\n";
        let err = parse_mu(text, "micro.mu")
            .unwrap()
            .start_order()
            .unwrap_err();
        assert!(
            err.detail.contains("cycle: a -> b -> c -> a"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn an_unknown_dependency_is_an_error_naming_it() {
        let text = "service web\n    depends users\n";
        let err = parse_mu(text, "micro.mu")
            .unwrap()
            .start_order()
            .unwrap_err();
        assert!(
            err.detail.contains("`web` depends on `users`"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn load_prefers_micro_mu_then_micro_json_and_resolves_paths_against_the_project() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("micro.json"),
            r#"{"services":{"api":{"port":8080}}}"#,
        )
        .unwrap();
        let project = load(dir.path()).unwrap().unwrap();
        assert_eq!(project.services[0].path, dir.path().join("./api"));
        std::fs::write(dir.path().join("micro.mu"), "service users\n    path ./u\n").unwrap();
        let project = load(dir.path()).unwrap().unwrap();
        assert_eq!(names(&project.services), ["users"]);
        assert_eq!(project.services[0].path, dir.path().join("./u"));
    }

    #[test]
    fn discovery_finds_binary_crates_and_skips_target() {
        let dir = tempfile::tempdir().unwrap();
        let crate_at = |rel: &str, main: bool| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.join("src")).unwrap();
            std::fs::write(path.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
            let file = if main { "src/main.rs" } else { "src/lib.rs" };
            std::fs::write(path.join(file), "").unwrap();
        };
        crate_at("users", true);
        crate_at("shared", false);
        crate_at("target/debug/build/junk", true);
        crate_at("services/posts", true);
        let project = discover(dir.path()).unwrap();
        assert_eq!(names(&project.services), ["posts", "users"]);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(discover(empty.path()).unwrap_err().code, 404);
    }
}
