//! A store on NATS JetStream key-value buckets. Like go-micro's `nats-js-kv` store it keeps a
//! bucket per database and each record as the JSON envelope `{"key","data","metadata"}` (the
//! value in base64), to which we add `expires` (Unix milliseconds) because buckets on the NATS
//! servers Debian ships (2.9) have no expiry per key: an expired record is never returned and is
//! deleted when a read finds it.
//!
//! Where the record sits in its bucket differs from go-micro on purpose: go-micro writes
//! `<table>_<key>`, which makes table `a` key `b_c` and table `a_b` key `c` one record. Here the
//! table is a token of its own, `<table>.<key>`, each part kept as it is when NATS allows it in
//! a key and else written `=` and its unpadded base32 (no plain part starts with `=`), so any
//! key is stored and every table stays apart.

use super::{
    DeleteOptions, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, scope, time_left,
};
use crate::errors::{Error, Result};
use crate::nats::{Link, jetstream_name};
use async_nats::jetstream::{self, kv};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use data_encoding::BASE32_NOPAD;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ID: &str = "micro.store.nats";

/// The NATS key-value store.
pub struct Nats {
    options: Options,
    link: Link,
    /// The buckets opened so far, by database.
    buckets: tokio::sync::Mutex<HashMap<String, kv::Store>>,
}

/// go-micro's record envelope, with the expiry added.
#[derive(Serialize, Deserialize)]
struct Envelope {
    key: String,
    /// The value in standard base64, as Go writes a `[]byte`.
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    metadata: Option<HashMap<String, serde_json::Value>>,
    /// When the record expires, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<u64>,
}

impl Nats {
    /// A store on the NATS servers at `options.address` (comma-separated
    /// `[nats://][user:password@]host[:port]`, default `nats://127.0.0.1:4222`); connects on
    /// first use.
    pub fn new(options: Options) -> Result<Nats> {
        Ok(Nats {
            link: Link::new(ID, "store", options.address.as_deref())?,
            options,
            buckets: tokio::sync::Mutex::default(),
        })
    }

    /// The database's bucket, made when it does not exist yet.
    async fn bucket(&self, database: &str) -> Result<kv::Store> {
        let mut buckets = self.buckets.lock().await;
        if let Some(bucket) = buckets.get(database) {
            return Ok(bucket.clone());
        }
        let context = jetstream::new(self.link.client().await?);
        let name = jetstream_name(database);
        let bucket = match context.get_key_value(&name).await {
            Ok(bucket) => bucket,
            Err(_) => {
                let config = kv::Config {
                    bucket: name.clone(),
                    description: "libmicro store".into(),
                    history: 1,
                    ..Default::default()
                };
                match context.create_key_value(config).await {
                    Ok(bucket) => bucket,
                    // Made by another process in the meantime, or refused.
                    Err(err) => context.get_key_value(&name).await.map_err(|_| {
                        self.link
                            .refused(&format!("open the bucket of database {database}"), err)
                    })?,
                }
            }
        };
        buckets.insert(database.to_string(), bucket.clone());
        Ok(bucket)
    }

    /// The record at `key`, or `None` when there is none or it expired (then it is deleted).
    async fn fetch(&self, bucket: &kv::Store, table: &str, key: &str) -> Result<Option<Record>> {
        let at = nats_key(table, key);
        let stored = bucket
            .get(at.as_str())
            .await
            .map_err(|e| self.link.unavailable(e))?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let envelope: Envelope = serde_json::from_slice(&stored).map_err(|e| {
            Error::internal(
                ID,
                format!("the record at {key:?} is not a store record: {e}"),
            )
        })?;
        let expires = envelope
            .expires
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
        let Some(expiry) = time_left(expires, SystemTime::now()) else {
            let _ = bucket.delete(at.as_str()).await;
            return Ok(None);
        };
        let value = BASE64
            .decode(envelope.data.unwrap_or_default())
            .map_err(|e| Error::internal(ID, format!("the value at {key:?} is not base64: {e}")))?;
        Ok(Some(Record {
            key: key.to_string(),
            value: value.into(),
            metadata: envelope.metadata.unwrap_or_default(),
            expiry,
        }))
    }

    /// The live records among the table's keys that start with `prefix` and end with
    /// `suffix`, in key order, after `offset`, at most `limit` (0 = all).
    async fn range(
        &self,
        database: &str,
        table: &str,
        (prefix, suffix): (&str, &str),
        (offset, limit): (usize, usize),
    ) -> Result<Vec<Record>> {
        let bucket = self.bucket(database).await?;
        let keys: Vec<String> = bucket
            .keys()
            .await
            .map_err(|e| self.link.unavailable(e))?
            .try_collect()
            .await
            .map_err(|e| self.link.unavailable(e))?;
        let mut keys: Vec<String> = keys
            .iter()
            .filter_map(|at| micro_key(table, at))
            .filter(|key| key.starts_with(prefix) && key.ends_with(suffix))
            .collect();
        keys.sort();
        let take = if limit == 0 { usize::MAX } else { limit };
        let mut skip = offset;
        let mut found = Vec::new();
        for key in keys {
            if found.len() == take {
                break;
            }
            match self.fetch(&bucket, table, &key).await? {
                Some(_) if skip > 0 => skip -= 1,
                Some(record) => found.push(record),
                None => {}
            }
        }
        Ok(found)
    }
}

/// One part of a key as NATS takes it: itself when plain, else `=` and its base32.
fn token(part: &str) -> String {
    let plain = !part.is_empty()
        && !part.starts_with('=')
        && part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '='));
    if plain {
        part.to_string()
    } else {
        format!("={}", BASE32_NOPAD.encode(part.as_bytes()))
    }
}

/// A part back from its [`token`].
fn untoken(token: &str) -> Option<String> {
    match token.strip_prefix('=') {
        Some(encoded) => String::from_utf8(BASE32_NOPAD.decode(encoded.as_bytes()).ok()?).ok(),
        None => Some(token.to_string()),
    }
}

/// Where `key` of `table` sits in its bucket.
fn nats_key(table: &str, key: &str) -> String {
    format!("{}.{}", token(table), token(key))
}

/// The key of `table` that sits at `at`, or `None` when `at` belongs to another table.
fn micro_key(table: &str, at: &str) -> Option<String> {
    let (t, key) = at.split_once('.')?;
    (untoken(t)? == table).then(|| untoken(key))?
}

#[async_trait]
impl Store for Nats {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        if !options.prefix && !options.suffix {
            check_key(key)?;
            let bucket = self.bucket(database).await?;
            return match self.fetch(&bucket, table, key).await? {
                Some(record) => Ok(vec![record]),
                None => Err(not_found(key)),
            };
        }
        let matching = (
            if options.prefix { key } else { "" },
            if options.suffix { key } else { "" },
        );
        self.range(database, table, matching, (options.offset, options.limit))
            .await
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let expires = check_write(&self.options, &record, options)?;
        let envelope = Envelope {
            key: record.key.clone(),
            data: Some(BASE64.encode(&record.value)),
            metadata: Some(record.metadata),
            expires: expires.map(|at| {
                at.duration_since(UNIX_EPOCH).map_or(1, |d| {
                    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
                })
            }),
        };
        let body = serde_json::to_vec(&envelope).map_err(|e| {
            Error::bad_request(ID, format!("the record's metadata is not JSON: {e}"))
        })?;
        let bucket = self.bucket(database).await?;
        bucket
            .put(nats_key(table, &record.key), body.into())
            .await
            .map(|_| ())
            .map_err(|e| {
                if e.to_string().contains("maximum payload") {
                    Error::bad_request(
                        ID,
                        format!(
                            "the value for {:?} is larger than NATS takes in one message; raise max_payload in nats-server's configuration",
                            record.key
                        ),
                    )
                } else {
                    self.link.unavailable(e)
                }
            })
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        check_key(key)?;
        let bucket = self.bucket(database).await?;
        bucket
            .delete(nats_key(table, key))
            .await
            .map_err(|e| self.link.unavailable(e))
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let matching = (options.prefix.as_str(), options.suffix.as_str());
        let records = self
            .range(database, table, matching, (options.offset, options.limit))
            .await?;
        Ok(records.into_iter().map(|r| r.key).collect())
    }

    fn name(&self) -> &'static str {
        "nats"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_stay_apart_and_any_key_goes_both_ways() {
        assert_eq!(nats_key("users", "alice-1"), "users.alice-1");
        assert_ne!(nats_key("a", "b_c"), nats_key("a_b", "c"));
        for (table, key) in [
            ("micro", "a.b c/é"),
            ("t.x", "=plain"),
            ("a_b", "c"),
            ("t", "..."),
        ] {
            let at = nats_key(table, key);
            assert!(
                at.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-/_=.".contains(c)),
                "{at}"
            );
            assert_eq!(at.matches('.').count(), 1, "{at}");
            assert_eq!(micro_key(table, &at).as_deref(), Some(key));
            assert_eq!(micro_key("other", &at), None);
        }
    }
}
