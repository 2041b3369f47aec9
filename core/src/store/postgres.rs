//! A store on PostgreSQL, in go-micro's layout so both read and write the same rows: a schema
//! per database and a table per table (each name lower-cased, every run of characters other
//! than letters and digits made one `_`), with the columns `key text` (primary key), `value
//! bytea`, `metadata jsonb` and `expiry timestamptz`. Expired rows are never returned and are
//! swept out by writes now and then.
//!
//! One connection, pipelined, made on first use and made again when it breaks
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
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Client, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

const POSTGRES: Server = Server {
    id: "micro.store.postgres",
    component: "store",
    name: "postgres",
    example: "postgres://user:password@host:5432/dbname",
};
/// PostgreSQL's longest identifier, in bytes; longer ones would be cut and could collide.
const MAX_IDENTIFIER: usize = 63;

/// The PostgreSQL store. `Options::address` is the server's URL
/// (`postgres://user:password@host:5432/dbname`); the password is never printed.
///
/// TLS as libpq's options in the URL choose it: `sslmode=disable` (plain), `prefer` (the
/// default: TLS when the server offers it with a certificate trusted here, else plain) or
/// `require` (TLS, the server's certificate checked); `sslrootcert=/path/ca.pem` trusts the CA
/// certificates of that file in place of the system's roots.
pub struct Postgres {
    options: Options,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    /// Where the server is, for messages: hosts, ports and database, no credentials.
    place: String,
    link: Reconnecting<Arc<Client>>,
    tables: Tables,
}

impl Postgres {
    /// A store on the server at `options.address`; connects on first use.
    pub fn new(options: Options) -> Result<Postgres> {
        let url = POSTGRES.url(options.address.as_deref())?;
        // tokio-postgres's parser refuses options it does not know, libpq's sslrootcert among
        // them: it is taken out here and read by us.
        let (url, root) = take_option(url, "sslrootcert");
        let ca = root
            .map(|path| tls::read_ca(&POSTGRES, "sslrootcert", path))
            .transpose()?;
        let config: tokio_postgres::Config = url.parse().map_err(|e| POSTGRES.bad_url(e))?;
        let place = place(&config);
        Ok(Postgres {
            options,
            config,
            tls: MakeRustlsConnect::new(tls::client_config(ca.as_deref())),
            place,
            link: Reconnecting::new(),
            tables: Tables::new(),
        })
    }

    /// The connection, made when there is none or it broke.
    async fn client(&self) -> Result<Arc<Client>> {
        let connect = || async {
            self.tables.forget().await;
            let mut connected = self.config.connect(self.tls.clone()).await;
            // libpq's prefer: plain when TLS fails (here, when the server's certificate is not
            // trusted: we never use TLS unchecked).
            if let Err(err) = &connected
                && self.config.get_ssl_mode() == SslMode::Prefer
                && tls::explain(err, "sslrootcert").is_some()
            {
                tracing::debug!(server = %self.place, %err, "TLS failed; connecting without (sslmode=prefer)");
                let mut plain = self.config.clone();
                plain.ssl_mode(SslMode::Disable);
                connected = plain.connect(self.tls.clone()).await;
            }
            let (client, connection) =
                connected.map_err(|err| POSTGRES.unreachable(&self.place, describe(&err)))?;
            let place = self.place.clone();
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::warn!(server = %place, %err, "the postgres connection ended");
                }
            });
            Ok(Arc::new(client))
        };
        self.link.get(|c| !c.is_closed(), connect).await
    }

    /// The connection and the table for a database and table, created on first use as
    /// go-micro creates them.
    async fn table(&self, database: &str, table: &str) -> Result<(Arc<Client>, Table)> {
        let client = self.client().await?;
        let table = Table::new(database, table)?;
        let create = async {
            let (schema, bare, name) = (&table.key.0, &table.key.1, &table.name);
            let create = format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
                 CREATE TABLE IF NOT EXISTS {name} (key text NOT NULL, value bytea, metadata jsonb, \
                     expiry timestamp with time zone, CONSTRAINT \"{bare}_pkey\" PRIMARY KEY (key));
                 CREATE INDEX IF NOT EXISTS \"key_index_{bare}\" ON {name} USING btree (key);
                 CREATE INDEX IF NOT EXISTS \"metadata_index_{bare}\" ON {name} USING GIN (metadata);"
            );
            // Two processes creating the same table at once can trip over each other's catalog
            // rows; the second try finds the table there.
            if client.batch_execute(&create).await.is_err() {
                client
                    .batch_execute(&create)
                    .await
                    .map_err(|e| self.failed("create the table", e))?;
            }
            Ok(())
        };
        self.tables.make(&table.key, create).await?;
        Ok((client, table))
    }

    /// Deletes a table's expired rows when it was last swept long enough ago.
    async fn sweep_if_due(&self, client: &Client, table: &Table) {
        if !self.tables.sweep_due(&table.key).await {
            return;
        }
        let sweep = format!("DELETE FROM {} WHERE expiry < now()", table.name);
        if let Err(err) = client.execute(&sweep, &[]).await {
            tracing::debug!(%err, table = %table.name, "sweeping expired rows failed");
        }
    }

    /// The error for a statement that failed: the server's message, and a 503 when the
    /// connection is what broke.
    fn failed(&self, what: &str, err: tokio_postgres::Error) -> Error {
        POSTGRES.failed(&self.place, what, err.is_closed(), describe(&err))
    }

    /// The records of `name` matching `prefix` and `suffix` (both may be empty), live, in key
    /// order, after `offset`, at most `limit` (0 = all).
    async fn select(
        &self,
        client: &Client,
        name: &str,
        columns: &str,
        matching: (&str, &str),
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Row>> {
        let query = format!(
            "SELECT {columns} FROM {name} WHERE key LIKE $1 AND key LIKE $2 \
             AND (expiry IS NULL OR expiry > now()) ORDER BY key COLLATE \"C\" LIMIT $3 OFFSET $4"
        );
        let prefix = format!("{}%", like_escape(matching.0));
        let suffix = format!("%{}", like_escape(matching.1));
        let limit = (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX));
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let params: [&(dyn ToSql + Sync); 4] = [&prefix, &suffix, &limit, &offset];
        client
            .query(&query, &params)
            .await
            .map_err(|e| self.failed("read", e))
    }
}

/// A table by go-micro's names: schema and table, and the quoted `"schema"."table"`.
struct Table {
    key: (String, String),
    name: String,
}

impl Table {
    fn new(database: &str, table: &str) -> Result<Table> {
        let (schema, table) = (identifier(database)?, identifier(table)?);
        Ok(Table {
            name: format!("\"{schema}\".\"{table}\""),
            key: (schema, table),
        })
    }
}

/// `Record` from a row of `key, value, metadata, expiry`.
fn record(row: &Row, now: SystemTime) -> Record {
    let metadata: Option<Json<serde_json::Value>> = row.get(2);
    let metadata = match metadata {
        Some(Json(serde_json::Value::Object(map))) => map.into_iter().collect(),
        _ => HashMap::new(),
    };
    let value: Option<Vec<u8>> = row.get(1);
    Record {
        key: row.get(0),
        value: value.unwrap_or_default().into(),
        metadata,
        expiry: time_left(row.get(3), now).flatten(),
    }
}

/// What went wrong: why TLS failed and how to fix it, or the server's own message when it sent
/// one (the client's says only "db error"), else the client's.
fn describe(err: &tokio_postgres::Error) -> String {
    if let Some(why) = tls::explain(err, "sslrootcert") {
        return why;
    }
    match err.as_db_error() {
        Some(db) => db.message().to_string(),
        None => err.to_string(),
    }
}

/// go-micro's name for a schema or table: lower case (as PostgreSQL folds the unquoted names
/// go-micro writes), each run of characters other than ASCII letters and digits one `_`.
fn identifier(name: &str) -> Result<String> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    name_fits(&POSTGRES, name, out.len(), MAX_IDENTIFIER)?;
    Ok(out)
}

/// The hosts, ports and database of a configuration: where it points, without credentials.
fn place(config: &tokio_postgres::Config) -> String {
    // One port given applies to every host, as the client reads it.
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                tokio_postgres::config::Host::Tcp(host) => format!("{host}:{port}"),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            }
        })
        .collect();
    format!(
        "{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

#[async_trait]
impl Store for Postgres {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let exact = !options.prefix && !options.suffix;
        if exact {
            check_key(key)?;
        }
        let (client, table) = self.table(database, table).await?;
        let name = &table.name;
        let now = SystemTime::now();
        let columns = "key, value, metadata, expiry";
        if exact {
            let query = format!(
                "SELECT {columns} FROM {name} WHERE key = $1 AND (expiry IS NULL OR expiry > now())"
            );
            let row = client
                .query_opt(&query, &[&key])
                .await
                .map_err(|e| self.failed("read", e))?;
            return row
                .map(|row| vec![record(&row, now)])
                .ok_or_else(|| not_found(key));
        }
        let matching = (
            if options.prefix { key } else { "" },
            if options.suffix { key } else { "" },
        );
        let rows = self
            .select(
                &client,
                name,
                columns,
                matching,
                options.offset,
                options.limit,
            )
            .await?;
        Ok(rows.iter().map(|row| record(row, now)).collect())
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let expires = check_write(&self.options, &record, options)?;
        let (client, table) = self.table(database, table).await?;
        let query = format!(
            "INSERT INTO {} (key, value, metadata, expiry) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, \
             metadata = EXCLUDED.metadata, expiry = EXCLUDED.expiry",
            table.name
        );
        let value: &[u8] = &record.value;
        client
            .execute(
                &query,
                &[&record.key, &value, &Json(&record.metadata), &expires],
            )
            .await
            .map_err(|e| self.failed("write", e))?;
        self.sweep_if_due(&client, &table).await;
        Ok(())
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        check_key(key)?;
        let (client, table) = self.table(database, table).await?;
        client
            .execute(
                &format!("DELETE FROM {} WHERE key = $1", table.name),
                &[&key],
            )
            .await
            .map_err(|e| self.failed("delete", e))?;
        Ok(())
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let (client, table) = self.table(database, table).await?;
        let matching = (options.prefix.as_str(), options.suffix.as_str());
        let rows = self
            .select(
                &client,
                &table.name,
                "key",
                matching,
                options.offset,
                options.limit,
            )
            .await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn name(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_go_micros() {
        assert_eq!(identifier("micro").unwrap(), "micro");
        assert_eq!(identifier("Shop.Orders-2024").unwrap(), "shop_orders_2024");
        assert_eq!(identifier("a--b").unwrap(), "a_b");
        assert!(identifier(&"x".repeat(64)).is_err());
    }
}
