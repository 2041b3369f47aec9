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
    stdout(&micro(root.path(), &["store", "write", "user/1", "alice"]));
    stdout(&micro(root.path(), &["store", "write", "user/2", "bob"]));
    stdout(&micro(
        root.path(),
        &["store", "write", "--table", "other", "user/3", "carol"],
    ));
    assert_eq!(
        stdout(&micro(root.path(), &["store", "read", "user/1"])),
        "alice\n"
    );
    assert_eq!(
        stdout(&micro(root.path(), &["store", "list", "--prefix", "user/"])),
        "user/1\nuser/2\n"
    );
    assert_eq!(
        stdout(&micro(root.path(), &["store", "list", "--table", "other"])),
        "user/3\n"
    );
    stdout(&micro(root.path(), &["store", "delete", "user/1"]));
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
fn empty_registry_lists_nothing() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(stdout(&micro(root.path(), &["registry", "list"])), "");
    let missing = micro(root.path(), &["registry", "get", "nothing"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}
