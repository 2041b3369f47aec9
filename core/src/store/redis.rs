//! A store on Redis. go-micro ships none, so the layout is ours: each record is a hash at
//! `micro/{database}/{table}/{key}` with the fields `value` (the bytes) and `metadata` (JSON),
//! expiring with Redis's own expiry; a sorted set at `micro/{database}/{table}` holds the
//! table's keys (all at score 0, so in byte order) for prefix, suffix, limit and offset.
//! Keys of records that expired are dropped from the set when a read finds them gone.
//!
//! One multiplexed connection that reconnects by itself (redis-rs's `ConnectionManager`), made
//! on first use ([`crate::reconnect`]).

use super::{
    DeleteOptions, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, scope,
};
use crate::backend::{Server, option};
use crate::errors::{Error, Result};
use crate::reconnect::Reconnecting;
use crate::tls;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

const REDIS: Server = Server {
    id: "micro.store.redis",
    component: "store",
    name: "redis",
    example: "redis://[:password@]host:6379/0",
};
/// How many keys one round trip looks at when reading a range.
const BATCH: usize = 128;

/// The Redis store. `Options::address` is the server's URL (`redis://[:password@]host:6379/0`,
/// or `rediss://` for TLS, checking the server's certificate against the system's roots or,
/// with `?ca=/path/ca.pem`, against the CA certificates of that file); the password is never
/// printed.
pub struct Redis {
    options: Options,
    client: redis::Client,
    /// Where the server is, for messages: host, port and database, no credentials.
    place: String,
    link: Reconnecting<ConnectionManager>,
}

impl Redis {
    /// A store on the server at `options.address`; connects on first use.
    pub fn new(options: Options) -> Result<Redis> {
        let url = REDIS.url(options.address.as_deref())?;
        let client = match option(Some(url), "ca") {
            Some(path) => {
                let root_cert = Some(tls::read_ca(&REDIS, "ca", path)?);
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert,
                };
                redis::Client::build_with_tls(url, certificates)
            }
            None => redis::Client::open(url),
        }
        .map_err(|e| REDIS.bad_url(e))?;
        let info = client.get_connection_info();
        let place = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Redis {
            options,
            client,
            place,
            link: Reconnecting::new(),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager> {
        let connect = || async {
            // One try here: a server that is down is reported at once, and tried again
            // after a pause by `Reconnecting`; once connected, the manager reconnects itself.
            let config = ConnectionManagerConfig::new()
                .set_number_of_retries(1)
                .set_connection_timeout(Some(Duration::from_secs(5)))
                .set_response_timeout(Some(Duration::from_secs(10)));
            tls::default_provider();
            ConnectionManager::new_with_config(self.client.clone(), config)
                .await
                .map_err(|err| {
                    let why = tls::explain(&err, "ca").unwrap_or_else(|| err.to_string());
                    REDIS.unreachable(&self.place, why)
                })
        };
        self.link.get(|_| true, connect).await
    }

    fn failed(&self, what: &str, err: redis::RedisError) -> Error {
        let broke = err.is_io_error() || err.is_connection_dropped() || err.is_timeout();
        REDIS.failed(&self.place, what, broke, err)
    }

    /// The live records (or, without `values`, only their keys) among the table's keys that
    /// start with `prefix` and end with `suffix`, in key order, after `offset`, at most `limit`
    /// (0 = all).
    async fn range(
        &self,
        table: &str,
        (prefix, suffix): (&str, &str),
        (offset, limit): (usize, usize),
        values: bool,
    ) -> Result<Vec<Record>> {
        let mut con = self.connection().await?;
        let (low, high) = if prefix.is_empty() {
            (b"-".to_vec(), b"+".to_vec())
        } else {
            // No UTF-8 text holds the byte 0xFF: every key with the prefix sorts below this.
            (
                [b"[", prefix.as_bytes()].concat(),
                [b"[", prefix.as_bytes(), b"\xff"].concat(),
            )
        };
        let keys: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(table)
            .arg(low)
            .arg(high)
            .query_async(&mut con)
            .await
            .map_err(|e| self.failed("read", e))?;
        let take = if limit == 0 { usize::MAX } else { limit };
        let mut skip = offset;
        let mut found = Vec::new();
        let candidates: Vec<&String> = keys.iter().filter(|k| k.ends_with(suffix)).collect();
        for batch in candidates.chunks(BATCH) {
            let fetched = self.fetch(&mut con, table, batch, values).await?;
            let mut gone = Vec::new();
            for (key, fetched) in batch.iter().zip(fetched) {
                match fetched {
                    None => gone.push(*key),
                    Some(_) if skip > 0 => skip -= 1,
                    Some(record) => found.push(record.finish(key)),
                }
                if found.len() == take {
                    break;
                }
            }
            if !gone.is_empty() {
                let _: std::result::Result<(), _> = redis::cmd("ZREM")
                    .arg(table)
                    .arg(&gone)
                    .query_async(&mut con)
                    .await;
            }
            if found.len() == take {
                break;
            }
        }
        Ok(found)
    }

    /// Each key's record (or only whether it is there, without `values`) in one round trip.
    async fn fetch(
        &self,
        con: &mut ConnectionManager,
        table: &str,
        keys: &[&String],
        values: bool,
    ) -> Result<Vec<Option<Fetched>>> {
        let mut pipe = redis::pipe();
        for key in keys {
            let at = record_key(table, key);
            if values {
                pipe.cmd("HMGET").arg(&at).arg("value").arg("metadata");
            }
            pipe.cmd("PTTL").arg(&at);
        }
        let replies: Vec<redis::Value> = pipe
            .query_async(con)
            .await
            .map_err(|e| self.failed("read", e))?;
        let per = if values { 2 } else { 1 };
        replies
            .chunks(per)
            .map(|reply| Fetched::from_replies(reply, values))
            .collect()
    }
}

/// A record as read: value and metadata (when asked for) and its time to live in ms (-1: none).
struct Fetched {
    value: Vec<u8>,
    metadata: HashMap<String, serde_json::Value>,
    ttl_ms: i64,
}

impl Fetched {
    /// From `HMGET value metadata` (when `values`) and `PTTL`; `None` when the record is gone.
    fn from_replies(replies: &[redis::Value], values: bool) -> Result<Option<Fetched>> {
        let bad = |e: redis::ParsingError| {
            Error::internal(
                REDIS.id,
                format!("redis answered something unexpected: {e}"),
            )
        };
        let ttl_ms: i64 = redis::from_redis_value_ref(&replies[replies.len() - 1]).map_err(bad)?;
        if ttl_ms == -2 {
            return Ok(None);
        }
        let (value, metadata) = if values {
            let (value, metadata): (Option<Vec<u8>>, Option<Vec<u8>>) =
                redis::from_redis_value_ref(&replies[0]).map_err(bad)?;
            let Some(value) = value else {
                return Ok(None);
            };
            let metadata = metadata
                .and_then(|m| serde_json::from_slice(&m).ok())
                .unwrap_or_default();
            (value, metadata)
        } else {
            (Vec::new(), HashMap::new())
        };
        Ok(Some(Fetched {
            value,
            metadata,
            ttl_ms,
        }))
    }

    fn finish(self, key: &str) -> Record {
        Record {
            key: key.to_string(),
            value: self.value.into(),
            metadata: self.metadata,
            expiry: u64::try_from(self.ttl_ms)
                .ok()
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
        }
    }
}

/// The sorted set of a table's keys.
fn table_key(database: &str, table: &str) -> String {
    format!("micro/{database}/{table}")
}

/// The hash holding one record of the table at `table`.
fn record_key(table: &str, key: &str) -> String {
    format!("{table}/{key}")
}

#[async_trait]
impl Store for Redis {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let table = table_key(database, table);
        if !options.prefix && !options.suffix {
            check_key(key)?;
            let mut con = self.connection().await?;
            let target = String::from(key);
            let fetched = self.fetch(&mut con, &table, &[&target], true).await?;
            return match fetched.into_iter().next().flatten() {
                Some(record) => Ok(vec![record.finish(key)]),
                None => Err(not_found(key)),
            };
        }
        let matching = (
            if options.prefix { key } else { "" },
            if options.suffix { key } else { "" },
        );
        self.range(&table, matching, (options.offset, options.limit), true)
            .await
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let expires = check_write(&self.options, &record, options)?;
        let table = table_key(database, table);
        let at = record_key(&table, &record.key);
        let metadata = serde_json::to_vec(&record.metadata).map_err(|e| {
            Error::bad_request(REDIS.id, format!("the record's metadata is not JSON: {e}"))
        })?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&at)
            .arg("value")
            .arg(&record.value[..])
            .arg("metadata")
            .arg(metadata)
            .ignore();
        match expires {
            Some(when) => {
                let ms = when
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis().max(1));
                pipe.cmd("PEXPIREAT").arg(&at).arg(ms as u64).ignore()
            }
            None => pipe.cmd("PERSIST").arg(&at).ignore(),
        };
        pipe.cmd("ZADD")
            .arg(&table)
            .arg(0)
            .arg(&record.key)
            .ignore();
        let mut con = self.connection().await?;
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| self.failed("write", e))
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        check_key(key)?;
        let table = table_key(database, table);
        let mut con = self.connection().await?;
        redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(record_key(&table, key))
            .ignore()
            .cmd("ZREM")
            .arg(&table)
            .arg(key)
            .ignore()
            .query_async::<()>(&mut con)
            .await
            .map_err(|e| self.failed("delete", e))
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let table = table_key(database, table);
        let matching = (options.prefix.as_str(), options.suffix.as_str());
        let records = self
            .range(&table, matching, (options.offset, options.limit), false)
            .await?;
        Ok(records.into_iter().map(|r| r.key).collect())
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}
