//! The `micro` binary as a user runs it: a real child process per command.

use std::process::{Command, Output};

fn micro(store_root: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(args)
        .env("MICRO_STORE_ADDRESS", store_root)
        .env("MICRO_REGISTRY", "memory")
        .output()
        .expect("micro runs")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn store_written_by_one_process_is_read_by_the_next() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(
        stdout(&micro(root.path(), &["store", "write", "user/1", "alice"])),
        "Wrote \"user/1\"\n"
    );
    stdout(&micro(root.path(), &["store", "write", "user/2", "bob"]));
    stdout(&micro(root.path(), &["store", "write", "team/1", "red"]));
    stdout(&micro(
        root.path(),
        &["store", "write", "--table", "other", "user/3", "carol"],
    ));
    assert_eq!(
        stdout(&micro(root.path(), &["store", "read", "user/1"])),
        "alice\n"
    );
    assert_eq!(
        json(&stdout(&micro(root.path(), &["store", "list", "user/"]))),
        serde_json::json!(["user/1", "user/2"])
    );
    assert_eq!(
        json(&stdout(&micro(root.path(), &["store", "list"]))),
        serde_json::json!(["team/1", "user/1", "user/2"])
    );
    assert_eq!(
        json(&stdout(&micro(
            root.path(),
            &["store", "list", "--table", "other"]
        ))),
        serde_json::json!(["user/3"])
    );
    assert_eq!(
        json(&stdout(&micro(
            root.path(),
            &["store", "read", "--prefix", "user/"]
        ))),
        serde_json::json!([{"key": "user/1", "value": "alice"}, {"key": "user/2", "value": "bob"}])
    );
    assert_eq!(
        stdout(&micro(root.path(), &["store", "delete", "user/1"])),
        "Deleted \"user/1\"\n"
    );
    let missing = micro(root.path(), &["store", "read", "user/1"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no record with key \"user/1\""));
    assert!(
        root.path().join("micro").is_dir(),
        "the file store keeps <root>/<database>"
    );
}

#[test]
fn unknown_component_names_are_clear_errors() {
    let root = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(["store", "list"])
        .env("MICRO_STORE", "bolt")
        .env("MICRO_STORE_ADDRESS", root.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown store \"bolt\"; known store names: file, memory"),
        "{stderr}"
    );
}

#[test]
fn component_flags_work_on_every_command_before_or_after_it() {
    for args in [
        &["--store", "memory", "store", "list"][..],
        &["store", "list", "--store", "memory"][..],
        &["services", "--registry", "memory"][..],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(args)
            .env("MICRO_STORE", "bolt")
            .env("MICRO_REGISTRY", "zookeeper")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let flagged = Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(["store", "list", "--store", "bolt"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&flagged.stderr).contains("unknown store \"bolt\""));
}

#[test]
fn the_rabbitmq_broker_is_chosen_by_flag_and_never_prints_its_password() {
    let output = Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(["broker", "publish", "events", "{}"])
        .args(["--broker", "rabbitmq", "--registry", "memory"])
        .args(["--broker-address", "amqp://app:s3cret@127.0.0.1:1/shop"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach rabbitmq at 127.0.0.1:1/shop"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("s3cret"));
}

#[test]
fn empty_registry_lists_nothing() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(stdout(&micro(root.path(), &["registry", "list"])), "[]\n");
    assert_eq!(stdout(&micro(root.path(), &["services"])), "");
    for args in [
        &["registry", "get", "nothing"][..],
        &["describe", "nothing"],
    ] {
        let missing = micro(root.path(), args);
        assert!(!missing.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    }
}

#[test]
fn config_get_reads_the_upper_cased_variable_as_json() {
    let get = |key: &str, vars: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(["config", "get", key])
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    let host = get("database.host", &[("DATABASE_HOST", "db.internal")]);
    assert_eq!(stdout(&host), "\"db.internal\"\n");
    let port = get("database.port", &[("DATABASE_PORT", "5432")]);
    assert_eq!(stdout(&port), "5432\n");
    let missing = get("database.user", &[]);
    assert!(!missing.status.success());
    assert!(missing.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("set the environment variable DATABASE_USER"),
        "{stderr}"
    );
}

#[test]
fn config_dump_shows_the_micro_settings_in_effect() {
    let root = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_micro"))
        .args(["config", "dump"])
        .env("MICRO_STORE_ADDRESS", root.path())
        .env("MICRO_BROKER", "memory")
        .env(
            "MICRO_BROKER_ADDRESS",
            "amqp://app:do-not-print@rabbit:5672/shop",
        )
        .env("MICRO_AUTH_SECRET", "do-not-print")
        .env_remove("MICRO_REGISTRY")
        .output()
        .unwrap();
    let dump = json(&stdout(&output));
    assert_eq!(dump["MICRO_BROKER"], "memory");
    assert_eq!(dump["MICRO_REGISTRY"], "mdns", "the default is filled in");
    assert_eq!(dump["MICRO_STORE"], "file");
    assert_eq!(dump["MICRO_STORE_TABLE"], "micro");
    assert_eq!(dump["MICRO_STORE_ADDRESS"], root.path().to_str().unwrap());
    assert_eq!(dump["MICRO_AUTH_SECRET"], "<hidden>");
    assert_eq!(
        dump["MICRO_BROKER_ADDRESS"],
        "amqp://app:<hidden>@rabbit:5672/shop"
    );
    assert!(!stdout(&output).contains("do-not-print"));
}

#[test]
fn every_command_has_help_with_an_about_line_and_argument_docs() {
    let commands: &[&[&str]] = &[
        &["services"],
        &["describe"],
        &["call"],
        &["registry"],
        &["registry", "list"],
        &["registry", "get"],
        &["registry", "watch"],
        &["store"],
        &["store", "list"],
        &["store", "read"],
        &["store", "write"],
        &["store", "delete"],
        &["broker"],
        &["broker", "publish"],
        &["broker", "subscribe"],
        &["config"],
        &["config", "get"],
        &["config", "dump"],
    ];
    for command in commands {
        let output = Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(*command)
            .arg("--help")
            .output()
            .unwrap();
        let help = stdout(&output);
        let about = help.lines().next().unwrap_or_default();
        assert!(about.len() > 10, "{command:?} has no about line: {help}");
        assert!(help.contains("Usage: micro"), "{command:?}: {help}");
        // Every positional argument is documented: clap prints `<ARG>  text` under Arguments.
        if let Some(arguments) = help.split("Arguments:\n").nth(1) {
            for argument in arguments.split("\n\n").next().unwrap().lines() {
                let words: Vec<&str> = argument.split_whitespace().collect();
                assert!(words.len() > 1, "{command:?}: undocumented {argument:?}");
            }
        }
    }
    let call = stdout(
        &Command::new(env!("CARGO_BIN_EXE_micro"))
            .args(["call", "--help"])
            .output()
            .unwrap(),
    );
    assert!(
        call.contains("-H, --header <KEY:VALUE>") && call.contains("-m, --metadata <KEY:VALUE>")
    );
}

#[test]
fn completion_scripts_cover_every_shell_and_command() {
    let root = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef micro"),
        ("fish", "complete -c micro"),
    ] {
        let script = stdout(&micro(root.path(), &["completion", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for command in [
            "services", "call", "api", "server", "run", "new", "build", "store",
        ] {
            assert!(
                script.contains(command),
                "{shell} completion lacks {command}"
            );
        }
    }
    let bad = micro(root.path(), &["completion", "tcsh"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}
