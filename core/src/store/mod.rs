//! Records by key: the [`Store`] trait with go-micro's model and options (database, table,
//! prefix, suffix, limit, offset, expiry), and the implementations [`Memory`] and `File`
//! (the embedded, durable default).

mod file;
mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "mysql", feature = "postgres"))]
mod sql;

pub use file::File;
pub use memory::Memory;
#[cfg(feature = "mysql")]
pub use mysql::Mysql;
#[cfg(feature = "nats")]
pub use nats::Nats;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "redis")]
pub use redis::Redis;

use crate::errors::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The database used when none is named.
pub const DEFAULT_DATABASE: &str = "micro";
/// The table used when none is named.
pub const DEFAULT_TABLE: &str = "micro";
/// The largest value a store accepts unless told otherwise: 4 MiB.
pub const DEFAULT_MAX_VALUE_SIZE: usize = 4 << 20;
/// The longest key, in bytes.
pub const MAX_KEY_SIZE: usize = 1024;

/// One stored record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// The key.
    pub key: String,
    /// The value, as bytes.
    pub value: Bytes,
    /// Free-form metadata kept beside the value.
    pub metadata: HashMap<String, serde_json::Value>,
    /// On write: a time to live. On read: the time left, if the record expires.
    pub expiry: Option<Duration>,
}

impl Record {
    /// A record with a key and a value, no metadata and no expiry.
    pub fn new(key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        Record {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        }
    }
}

/// How a store is set up; every field has go-micro's default.
#[derive(Debug, Clone)]
pub struct Options {
    /// The database used when a call names none (`MICRO_STORE_DATABASE`).
    pub database: String,
    /// The table used when a call names none (`MICRO_STORE_TABLE`).
    pub table: String,
    /// Where the data lives (`MICRO_STORE_ADDRESS`): for `file`, the root directory.
    pub address: Option<String>,
    /// Writes with a larger value are refused.
    pub max_value_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            database: DEFAULT_DATABASE.into(),
            table: DEFAULT_TABLE.into(),
            address: None,
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
        }
    }
}

/// Options of [`Store::read`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The database; the store's default when `None`.
    pub database: Option<String>,
    /// The table; the store's default when `None`.
    pub table: Option<String>,
    /// Read every record whose key starts with the given key.
    pub prefix: bool,
    /// Read every record whose key ends with the given key.
    pub suffix: bool,
    /// At most this many records; 0 means no limit.
    pub limit: usize,
    /// Skip this many matching records first.
    pub offset: usize,
}

/// Options of [`Store::write`].
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// The database; the store's default when `None`.
    pub database: Option<String>,
    /// The table; the store's default when `None`.
    pub table: Option<String>,
    /// The record expires at this time (overrides the record's own expiry).
    pub expiry: Option<SystemTime>,
    /// The record expires after this long (overrides the record's own expiry).
    pub ttl: Option<Duration>,
}

/// Options of [`Store::delete`].
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// The database; the store's default when `None`.
    pub database: Option<String>,
    /// The table; the store's default when `None`.
    pub table: Option<String>,
}

/// Options of [`Store::list`].
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// The database; the store's default when `None`.
    pub database: Option<String>,
    /// The table; the store's default when `None`.
    pub table: Option<String>,
    /// Only keys that start with this.
    pub prefix: String,
    /// Only keys that end with this.
    pub suffix: String,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// Skip this many matching keys first.
    pub offset: usize,
}

/// A key-value store of [`Record`]s, split into databases and tables.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The record at `key` (a 404 error if there is none), or with `prefix`/`suffix` every
    /// record that matches, in key order. Expired records are never returned.
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>>;
    /// Writes the record, replacing any at its key. Once this returns Ok the record is as
    /// durable as the store promises (`file`: on disk).
    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()>;
    /// Deletes the record at `key`; deleting a missing key is not an error.
    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()>;
    /// The keys that match, in key order.
    async fn list(&self, options: &ListOptions) -> Result<Vec<String>>;
    /// The implementation's name, as `MICRO_STORE` spells it.
    fn name(&self) -> &'static str;
}

const ID: &str = "micro.store";

/// Picks the database and table for a call, checking that each is a plain name (they become
/// path components in the file store, so `..` or `/` must never get through).
pub(crate) fn scope<'a>(
    options: &'a Options,
    database: &'a Option<String>,
    table: &'a Option<String>,
) -> Result<(&'a str, &'a str)> {
    let database = database.as_deref().unwrap_or(&options.database);
    let table = table.as_deref().unwrap_or(&options.table);
    check_name("database", database)?;
    check_name("table", table)?;
    Ok((database, table))
}

fn check_name(what: &str, name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(Error::bad_request(
            ID,
            format!(
                "invalid {what} name {name:?}: use 1 to 128 letters, digits, '-', '_' or '.', and not '.' or '..'"
            ),
        ))
    }
}

/// Checks a key: not empty, not too long, no control characters.
pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::bad_request(
            ID,
            "the key is empty; give every record a key",
        ));
    }
    if key.len() > MAX_KEY_SIZE {
        return Err(Error::bad_request(
            ID,
            format!(
                "the key is {} bytes long; keys are at most {MAX_KEY_SIZE} bytes",
                key.len()
            ),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(Error::bad_request(
            ID,
            format!("the key {key:?} has control characters; keys must be printable text"),
        ));
    }
    Ok(())
}

/// Checks a record before it is written, and says when it expires.
pub(crate) fn check_write(
    options: &Options,
    record: &Record,
    write: &WriteOptions,
) -> Result<Option<SystemTime>> {
    check_key(&record.key)?;
    if record.value.len() > options.max_value_size {
        return Err(Error::bad_request(
            ID,
            format!(
                "the value for {:?} is {} bytes; this store takes at most {} (raise max_value_size to allow more)",
                record.key,
                record.value.len(),
                options.max_value_size
            ),
        ));
    }
    let now = SystemTime::now();
    Ok(write
        .expiry
        .or_else(|| write.ttl.map(|ttl| now + ttl))
        .or_else(|| record.expiry.map(|ttl| now + ttl)))
}

/// The time left until `expires`, or `None` once it has passed (the record is gone).
pub(crate) fn time_left(expires: Option<SystemTime>, now: SystemTime) -> Option<Option<Duration>> {
    match expires {
        None => Some(None),
        Some(at) => at
            .duration_since(now)
            .ok()
            .filter(|d| !d.is_zero())
            .map(Some),
    }
}

/// The 404 for a key that is not there.
pub(crate) fn not_found(key: &str) -> Error {
    Error::not_found(ID, format!("no record with key {key:?}"))
}

/// Applies `offset` and `limit` (0 = none) to matches in key order.
pub(crate) fn page<T>(matches: impl Iterator<Item = T>, offset: usize, limit: usize) -> Vec<T> {
    let take = if limit == 0 { usize::MAX } else { limit };
    matches.skip(offset).take(take).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_a_directory_are_refused() {
        let options = Options::default();
        for bad in ["..", ".", "a/b", "", "a\\b", "x\0"] {
            let err = scope(&options, &Some(bad.into()), &None).unwrap_err();
            assert_eq!(err.code, 400, "{bad:?}");
            assert!(
                err.detail.contains("invalid database name"),
                "{}",
                err.detail
            );
        }
        assert_eq!(scope(&options, &None, &None).unwrap(), ("micro", "micro"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(check_key("").unwrap_err().detail.contains("empty"));
        assert!(
            check_key(&"k".repeat(MAX_KEY_SIZE + 1))
                .unwrap_err()
                .detail
                .contains("at most")
        );
        assert!(check_key("a\nb").unwrap_err().detail.contains("control"));
        assert!(check_key("users/alice").is_ok());
    }
}
