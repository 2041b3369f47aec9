//! `micro config get <a.b>` and `micro config dump`: configuration from the environment.
//! A dotted key names a variable the way go-micro's environment source does: `database.host`
//! is `DATABASE_HOST`. The value prints as go-micro prints it: JSON, with integers and
//! booleans typed and everything else a string.

use super::{ID, line, print_json};
use clap::Subcommand;
use micro::Error;
use micro::config::{BROKERS, Config, REGISTRIES, STORES};
use std::collections::BTreeMap;

/// The config commands.
#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print a value as JSON: `micro config get database.host` reads DATABASE_HOST.
    Get {
        /// A dotted key, e.g. database.host.
        key: String,
    },
    /// Print the MICRO_* configuration in effect (defaults filled in) as JSON.
    Dump,
}

/// Runs one config command.
pub fn run(command: ConfigCommand, config: &Config) -> micro::Result<()> {
    match command {
        ConfigCommand::Get { key } => {
            let variable = variable_of(&key);
            let value = std::env::var(&variable).map_err(|_| {
                Error::not_found(
                    ID,
                    format!("{key} is not set; set the environment variable {variable}"),
                )
            })?;
            line(&typed(&value).to_string())
        }
        ConfigCommand::Dump => print_json(&serde_json::json!(in_effect(config))),
    }
}

/// The environment variable a dotted key names: upper-cased, dots as underscores.
fn variable_of(key: &str) -> String {
    key.to_ascii_uppercase().replace('.', "_")
}

/// A variable's value as go-micro's environment source reads it: an integer, a boolean, or
/// else the text.
fn typed(value: &str) -> serde_json::Value {
    if let Ok(number) = value.parse::<i64>() {
        return number.into();
    }
    match value {
        "t" | "T" | "true" | "TRUE" | "True" => true.into(),
        "f" | "F" | "false" | "FALSE" | "False" => false.into(),
        _ => value.into(),
    }
}

/// Every `MICRO_*` variable set, plus the component choices with their defaults filled in.
/// Values of variables that look like secrets are hidden, and so are passwords in URLs.
fn in_effect(config: &Config) -> BTreeMap<String, String> {
    let store_root = std::env::var("HOME")
        .map(|home| format!("{home}/micro/store"))
        .unwrap_or_default();
    let defaults = micro::store::Options::default();
    let chosen = [
        (
            "MICRO_REGISTRY",
            &config.registry,
            REGISTRIES[0].to_string(),
        ),
        (
            "MICRO_REGISTRY_ADDRESS",
            &config.registry_address,
            String::new(),
        ),
        ("MICRO_BROKER", &config.broker, BROKERS[0].to_string()),
        (
            "MICRO_BROKER_ADDRESS",
            &config.broker_address,
            "127.0.0.1:0".into(),
        ),
        ("MICRO_STORE", &config.store, STORES[0].to_string()),
        ("MICRO_STORE_ADDRESS", &config.store_address, store_root),
        (
            "MICRO_STORE_DATABASE",
            &config.store_database,
            defaults.database,
        ),
        ("MICRO_STORE_TABLE", &config.store_table, defaults.table),
    ];
    let mut all: BTreeMap<String, String> = std::env::vars()
        .filter(|(name, _)| name.starts_with("MICRO_"))
        .map(|(name, value)| {
            let shown = if secret(&name) {
                "<hidden>".into()
            } else {
                value
            };
            (name, shown)
        })
        .collect();
    for (name, value, default) in chosen {
        all.insert(name.into(), value.clone().unwrap_or(default));
    }
    for value in all.values_mut() {
        *value = without_password(value);
    }
    all
}

/// `value` with the password of a URL in it (`amqp://user:password@host`) hidden.
fn without_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let path = &rest[authority.len()..];
            format!("{scheme}://{user}:<hidden>@{host}{path}")
        }
        _ => value.to_string(),
    }
}

/// Whether a variable's name says it holds a secret.
fn secret(name: &str) -> bool {
    ["SECRET", "PASSWORD", "TOKEN", "KEY"]
        .iter()
        .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_keys_name_upper_case_variables() {
        assert_eq!(variable_of("database.host"), "DATABASE_HOST");
        assert_eq!(variable_of("port"), "PORT");
    }

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            without_password("amqp://app:s3cret@rabbit:5672/shop"),
            "amqp://app:<hidden>@rabbit:5672/shop"
        );
        assert_eq!(
            without_password("redis://:s3cret@host:6379/0"),
            "redis://:<hidden>@host:6379/0"
        );
        for kept in [
            "amqp://app@rabbit",
            "127.0.0.1:0",
            "/home/me/micro",
            "a://b/c@d:e",
        ] {
            assert_eq!(without_password(kept), kept);
        }
    }

    #[test]
    fn values_are_typed_as_go_micro_types_them() {
        assert_eq!(typed("5432"), serde_json::json!(5432));
        assert_eq!(typed("true"), serde_json::json!(true));
        assert_eq!(typed("localhost"), serde_json::json!("localhost"));
    }
}
