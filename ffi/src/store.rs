//! The store for C: records by key in the runtime's store (`MICRO_STORE`, or the
//! `micro_runtime_start` option), split into databases and tables.

use crate::args;
use crate::buf::{self, micro_buf};
use crate::error::{self, micro_error};
use crate::runtime;
use micro::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};
use serde::Deserialize;
use std::ffi::c_char;
use std::time::Duration;

/// Which database and table a call uses (NULL options: the store's defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scope {
    database: Option<String>,
    table: Option<String>,
}

/// What `micro_store_write` accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Write {
    database: Option<String>,
    table: Option<String>,
    ttl_ms: Option<u64>,
}

/// What `micro_store_list` accepts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    database: Option<String>,
    table: Option<String>,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    limit: usize,
    #[serde(default)]
    offset: usize,
}

/// Stores in `*value` the value of the record at `key`, owned by the caller (free with
/// `micro_buf_free`); 404 when there is none. `options_json`: `{"database": "micro",
/// "table": "micro"}`, NULL for the defaults. Any thread but a runtime worker.
///
/// # Safety
/// Strings NULL or NUL-terminated; `value`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_store_read(
    key: *const c_char,
    options_json: *const c_char,
    value: *mut micro_buf,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let key = unsafe { args::text(key, "key") }?;
        let scope: Scope = unsafe { args::json(options_json, "options_json") }?;
        args::out(value, "value")?;
        let engine = runtime::engine()?;
        let store = engine.store()?;
        let options = ReadOptions {
            database: scope.database,
            table: scope.table,
            ..Default::default()
        };
        let records = engine.block_on(store.read(key, &options))?;
        let found = records
            .first()
            .map_or(micro_buf::EMPTY, |r| micro_buf::new(&r.value));
        unsafe { args::put(value, found, "value") }
    })
}

/// Writes `len` bytes at `value` (copied; NULL allowed when 0) at `key`, replacing any record
/// there. `options_json`: `{"database", "table", "ttl_ms"}` (NULL for the defaults, no
/// expiry). Durable as the store promises once this returns 0 (`file`: on disk).
///
/// # Safety
/// Strings NULL or NUL-terminated; `value` NULL or `len` readable bytes; `err` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_store_write(
    key: *const c_char,
    value: *const u8,
    len: usize,
    options_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let key = unsafe { args::text(key, "key") }?;
        let value = unsafe { args::bytes(value, len, "value") }?;
        let write: Write = unsafe { args::json(options_json, "options_json") }?;
        let engine = runtime::engine()?;
        let store = engine.store()?;
        let record = Record::new(key, value.to_vec());
        let options = WriteOptions {
            database: write.database,
            table: write.table,
            ttl: write.ttl_ms.map(Duration::from_millis),
            ..Default::default()
        };
        engine.block_on(store.write(record, &options))
    })
}

/// Deletes the record at `key`; a missing key is not an error. `options_json` as in
/// `micro_store_read`.
///
/// # Safety
/// Strings NULL or NUL-terminated; `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_store_delete(
    key: *const c_char,
    options_json: *const c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let key = unsafe { args::text(key, "key") }?;
        let scope: Scope = unsafe { args::json(options_json, "options_json") }?;
        let engine = runtime::engine()?;
        let store = engine.store()?;
        let options = DeleteOptions {
            database: scope.database,
            table: scope.table,
        };
        engine.block_on(store.delete(key, &options))
    })
}

/// Stores in `*keys_json` a JSON array of the keys that match, in key order, a new string the
/// caller frees with `micro_string_free`. `options_json`: `{"database", "table", "prefix",
/// "suffix", "limit", "offset"}` (NULL: every key of the default table).
///
/// # Safety
/// `options_json` NULL or NUL-terminated; `keys_json`, `err` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn micro_store_list(
    options_json: *const c_char,
    keys_json: *mut *mut c_char,
    err: *mut *mut micro_error,
) -> i32 {
    error::run(err, || {
        let list: List = unsafe { args::json(options_json, "options_json") }?;
        args::out(keys_json, "keys_json")?;
        let engine = runtime::engine()?;
        let store = engine.store()?;
        let options = ListOptions {
            database: list.database,
            table: list.table,
            prefix: list.prefix,
            suffix: list.suffix,
            limit: list.limit,
            offset: list.offset,
        };
        let keys = engine.block_on(store.list(&options))?;
        unsafe { args::put(keys_json, buf::json_string(&keys)?, "keys_json") }
    })
}
