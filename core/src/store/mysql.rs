//! A store on MySQL or MariaDB, in go-micro's layout: a database per database and a table per
//! table, named as given, with go-micro's columns `key`, `value` and `expiry`. Expired rows are
//! never returned and are swept out by writes now and then.
//!
//! Where go-micro's columns would break the store's contract ours differ (so a table go-micro
//! made is not one this store can use: the server says it has no `metadata` column):
//! - `key varbinary(1024)`, not `varchar(255)`: keys are up to 1024 bytes and compared byte for
//!   byte (a varchar's usual collation ignores case and trailing spaces), in key order.
//! - `value longblob`, not `blob`: values are up to 4 MiB; a blob holds 64 KiB.
//! - `metadata json`, a column go-micro lacks: records carry metadata.
//! - `expiry datetime(6)`, UTC, NULL when the record never expires, not `timestamp NOT NULL`:
//!   go-micro writes "now" for a record without expiry, which then reads as expired; and a
//!   timestamp stops in 2038 and has no fractions of a second.
//!
//! A pool of connections, made on first use and made again when a connection breaks
//! ([`crate::reconnect`]); while the server cannot be reached, operations fail with a 503.

use super::sql::{Tables, like_escape, name_fits};
use super::{
    DeleteOptions, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, scope, time_left,
};
use crate::backend::{Server, take_option};
use crate::errors::{Error, Result};
use crate::reconnect::Reconnecting;
use crate::tls;
use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::{OffsetDateTime, PrimitiveDateTime};

const MYSQL: Server = Server {
    id: "micro.store.mysql",
    component: "store",
    name: "mysql",
    example: "mysql://user:password@host:3306/dbname",
};
/// MySQL's longest database or table name, in characters (ours are ASCII: bytes).
const MAX_IDENTIFIER: usize = 64;
/// How long connecting may take before the server counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A row as the store reads it: key, value, metadata (JSON) and expiry.
type Row = (
    String,
    Option<Vec<u8>>,
    Option<String>,
    Option<PrimitiveDateTime>,
);

/// The MySQL (or MariaDB) store. `Options::address` is the server's URL
/// (`mysql://user:password@host:3306/dbname`); the password is never printed. The URL's
/// database is only where connections start: records go to the databases named by
/// `Options::database` and the calls' options, created when missing.
///
/// TLS as mysql_async's URL options choose it: `require_ssl=true` (TLS, the server's
/// certificate checked against the Mozilla roots mysql_async carries), with `verify_ca` and
/// `verify_identity`; and MySQL's `ssl_ca=/path/ca.pem` (which asks for TLS too), trusting the
/// CA certificates of that file in place of those roots.
pub struct Mysql {
    options: Options,
    opts: Opts,
    /// Where the server is, for messages: host, port and database, no credentials.
    place: String,
    link: Reconnecting<Link>,
    tables: Tables,
}

/// A pool of connections to the server, and whether one of them broke (then the pool is made
/// again: its other connections are likely broken too, and the server may have lost tables).
#[derive(Clone)]
struct Link {
    pool: Pool,
    broken: Arc<AtomicBool>,
}

impl Mysql {
    /// A store on the server at `options.address`; connects on first use.
    pub fn new(options: Options) -> Result<Mysql> {
        let url = MYSQL.url(options.address.as_deref())?;
        // mysql_async's parser refuses options it does not know, and it has none naming a CA
        // file: MySQL's ssl_ca is taken out here and read by us.
        let (url, ssl_ca) = take_option(url, "ssl_ca");
        let ca = ssl_ca
            .map(|path| tls::read_ca(&MYSQL, "ssl_ca", path))
            .transpose()?;
        let opts = Opts::from_url(&url).map_err(|e| MYSQL.bad_url(e))?;
        let mut ssl = opts.ssl_opts().cloned();
        if let Some(ca) = ca {
            let with_ca = ssl.unwrap_or_default().with_root_certs(vec![ca.into()]);
            ssl = Some(with_ca.with_disable_built_in_roots(true));
        }
        // Connections go back to the pool as they are: the store changes no session state,
        // and a reset would drop the prepared statements each use then prepares again.
        let pool = opts.pool_opts().clone().with_reset_connection(false);
        let opts: Opts = OptsBuilder::from_opts(opts)
            .pool_opts(pool)
            .ssl_opts(ssl)
            .into();
        let place = format!(
            "{}:{}/{}",
            opts.ip_or_hostname(),
            opts.tcp_port(),
            opts.db_name().unwrap_or_default()
        );
        Ok(Mysql {
            options,
            opts,
            place,
            link: Reconnecting::new(),
            tables: Tables::new(),
        })
    }

    /// The pool, made when there is none or a connection of it broke, with one connection
    /// made to see that the server answers.
    async fn link(&self) -> Result<Link> {
        let connect = || async {
            self.tables.forget().await;
            tls::default_provider();
            let pool = Pool::new(self.opts.clone());
            let conn = tokio::time::timeout(CONNECT_TIMEOUT, pool.get_conn())
                .await
                .map_err(|_| MYSQL.unreachable(&self.place, "no answer in 5 s"))?
                .map_err(|err| MYSQL.unreachable(&self.place, describe(&err)))?;
            drop(conn);
            Ok(Link {
                pool,
                broken: Arc::new(AtomicBool::new(false)),
            })
        };
        self.link
            .get(|link| !link.broken.load(Ordering::Relaxed), connect)
            .await
    }

    /// Runs `op` on a connection and the table `database`.`table`, which is created first
    /// when this connection's server may lack it.
    async fn run<T>(
        &self,
        what: &str,
        (database, table): (&str, &str),
        op: impl AsyncFnOnce(&mut Conn, &Table) -> mysql_async::Result<T>,
    ) -> Result<T> {
        let table = Table::new(database, table)?;
        let link = self.link().await?;
        let failed = |what: &str, err: mysql_async::Error| {
            // A server's error leaves the connection as it was; any other is the connection's.
            let broke = !matches!(err, mysql_async::Error::Server(_));
            if broke {
                link.broken.store(true, Ordering::Relaxed);
            }
            MYSQL.failed(&self.place, what, broke, describe(&err))
        };
        let mut conn = link
            .pool
            .get_conn()
            .await
            .map_err(|e| failed("connect", e))?;
        let create = async {
            let database = format!("CREATE DATABASE IF NOT EXISTS {}", table.key.0);
            let create = format!(
                "CREATE TABLE IF NOT EXISTS {} (`key` varbinary({}) NOT NULL PRIMARY KEY, \
                 value longblob NULL, metadata json NULL, expiry datetime(6) NULL)",
                table.name,
                super::MAX_KEY_SIZE
            );
            for statement in [database, create] {
                conn.query_drop(statement)
                    .await
                    .map_err(|e| failed("create the table", e))?;
            }
            Ok(())
        };
        self.tables.make(&table.key, create).await?;
        op(&mut conn, &table).await.map_err(|e| failed(what, e))
    }

    /// The live records of `database`.`table` (only their keys when `columns` is `key`)
    /// matching `prefix` and `suffix` (both may be empty), in key order, after `offset`, at
    /// most `limit` (0 = all).
    async fn select<T: mysql_async::prelude::FromRow + Send + 'static>(
        &self,
        scope: (&str, &str),
        columns: &str,
        (prefix, suffix): (&str, &str),
        offset: usize,
        limit: usize,
    ) -> Result<Vec<T>> {
        let prefix = format!("{}%", like_escape(prefix));
        let suffix = format!("%{}", like_escape(suffix));
        // MySQL has no "no limit": its manual gives the largest number instead.
        let limit = if limit == 0 { u64::MAX } else { limit as u64 };
        self.run("read", scope, async |conn, table| {
            let query = format!(
                "SELECT {columns} FROM {} WHERE `key` LIKE ? AND `key` LIKE ? AND {LIVE} \
                 ORDER BY `key` LIMIT ? OFFSET ?",
                table.name
            );
            conn.exec(query, (prefix, suffix, limit, offset as u64))
                .await
        })
        .await
    }
}

/// The condition a row that has not expired meets.
const LIVE: &str = "(expiry IS NULL OR expiry > UTC_TIMESTAMP(6))";

/// A table: its database and its own name, each quoted, and the two as one quoted name.
struct Table {
    key: (String, String),
    name: String,
}

impl Table {
    fn new(database: &str, table: &str) -> Result<Table> {
        let key = (quote(database)?, quote(table)?);
        Ok(Table {
            name: format!("{}.{}", key.0, key.1),
            key,
        })
    }
}

/// A database or table name quoted for MySQL; `scope` has made sure it holds no backquote.
fn quote(name: &str) -> Result<String> {
    name_fits(&MYSQL, name, name.len(), MAX_IDENTIFIER)?;
    Ok(format!("`{name}`"))
}

/// `Record` from a row.
fn record((key, value, metadata, expiry): Row, now: SystemTime) -> Record {
    let metadata = metadata
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    let expiry = expiry.map(|at| SystemTime::from(at.assume_utc()));
    Record {
        key,
        value: value.unwrap_or_default().into(),
        metadata,
        expiry: time_left(expiry, now).flatten(),
    }
}

/// `at` as a UTC DATETIME. Times before 1970 are already past, so 1970 does; past the year
/// 9999, which a DATETIME cannot hold, is refused.
fn datetime(at: SystemTime) -> Result<PrimitiveDateTime> {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let at = i64::try_from(since.as_secs())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|at| at.replace_microsecond(since.subsec_micros()).ok())
        .ok_or_else(|| {
            Error::bad_request(
                MYSQL.id,
                "the expiry is past the year 9999, the last a MySQL DATETIME holds; give an earlier one",
            )
        })?;
    Ok(PrimitiveDateTime::new(at.date(), at.time()))
}

/// What went wrong: why TLS failed and how to fix it, or the server's own message when it sent
/// one, else the client's.
fn describe(err: &mysql_async::Error) -> String {
    if let Some(why) = tls::explain(err, "ssl_ca") {
        return why;
    }
    match err {
        mysql_async::Error::Server(err) => err.message.clone(),
        other => other.to_string(),
    }
}

#[async_trait]
impl Store for Mysql {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let scope = scope(&self.options, &options.database, &options.table)?;
        let columns = "`key`, value, metadata, expiry";
        let now = SystemTime::now();
        if !options.prefix && !options.suffix {
            check_key(key)?;
            let row: Option<Row> = self
                .run("read", scope, async |conn, table| {
                    let name = &table.name;
                    let query = format!("SELECT {columns} FROM {name} WHERE `key` = ? AND {LIVE}");
                    conn.exec_first(query, (key,)).await
                })
                .await?;
            return row
                .map(|row| vec![record(row, now)])
                .ok_or_else(|| not_found(key));
        }
        let matching = (
            if options.prefix { key } else { "" },
            if options.suffix { key } else { "" },
        );
        let rows: Vec<Row> = self
            .select(scope, columns, matching, options.offset, options.limit)
            .await?;
        Ok(rows.into_iter().map(|row| record(row, now)).collect())
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let scope = scope(&self.options, &options.database, &options.table)?;
        let expires = check_write(&self.options, &record, options)?
            .map(datetime)
            .transpose()?;
        let metadata = serde_json::to_string(&record.metadata)
            .map_err(|e| Error::bad_request(MYSQL.id, format!("the metadata is not JSON: {e}")))?;
        self.run("write", scope, async |conn, table| {
            let name = &table.name;
            let query = format!(
                "INSERT INTO {name} (`key`, value, metadata, expiry) VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE value = VALUES(value), metadata = VALUES(metadata), \
                 expiry = VALUES(expiry)"
            );
            let value: &[u8] = &record.value;
            conn.exec_drop(query, (&record.key, value, metadata, expires))
                .await?;
            if self.tables.sweep_due(&table.key).await {
                let sweep = format!("DELETE FROM {name} WHERE expiry < UTC_TIMESTAMP(6)");
                if let Err(err) = conn.query_drop(sweep).await {
                    tracing::debug!(%err, table = %name, "sweeping expired rows failed");
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let scope = scope(&self.options, &options.database, &options.table)?;
        check_key(key)?;
        self.run("delete", scope, async |conn, table| {
            let query = format!("DELETE FROM {} WHERE `key` = ?", table.name);
            conn.exec_drop(query, (key,)).await
        })
        .await
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let scope = scope(&self.options, &options.database, &options.table)?;
        let matching = (options.prefix.as_str(), options.suffix.as_str());
        let keys: Vec<(String,)> = self
            .select(scope, "`key`", matching, options.offset, options.limit)
            .await?;
        Ok(keys.into_iter().map(|(key,)| key).collect())
    }

    fn name(&self) -> &'static str {
        "mysql"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_checked_for_length() {
        assert_eq!(quote("shop.orders-2024").unwrap(), "`shop.orders-2024`");
        assert!(quote(&"x".repeat(65)).is_err());
    }

    #[test]
    fn expiry_is_a_utc_datetime_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let datetime = datetime(at).unwrap();
        assert_eq!(datetime.to_string(), "2023-11-14 22:13:20.123456");
        assert_eq!(SystemTime::from(datetime.assume_utc()), at);
        let before_1970 = super::datetime(UNIX_EPOCH - Duration::from_secs(1)).unwrap();
        assert_eq!(before_1970.to_string(), "1970-01-01 0:00:00.0");
        assert!(super::datetime(UNIX_EPOCH + Duration::from_secs(300_000_000_000)).is_err());
    }
}
