//! An in-process store: one ordered map per table, gone when the process ends.

use super::{
    DeleteOptions, ListOptions, Options, ReadOptions, Record, Store, WriteOptions, check_key,
    check_write, not_found, page, scope, time_left,
};
use crate::errors::Result;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// The in-process store.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use micro::store::{Memory, Options, Record, Store};
/// let store = Memory::new(Options::default());
/// store.write(Record::new("user/1", "alice"), &Default::default()).await.unwrap();
/// let found = store.read("user/1", &Default::default()).await.unwrap();
/// assert_eq!(found[0].value, "alice");
/// # }
/// ```
#[derive(Clone)]
pub struct Memory {
    options: Arc<Options>,
    /// database -> table -> key -> record
    tables: Arc<RwLock<HashMap<String, HashMap<String, Table>>>>,
}

/// One table's records, and when expired ones were last swept out.
#[derive(Default)]
struct Table {
    records: BTreeMap<String, Stored>,
    swept: Option<Instant>,
}

/// How often a write sweeps its table's expired records, so unread ones do not pile up.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Table {
    fn sweep_if_due(&mut self, now: SystemTime) {
        if self.swept.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
            return;
        }
        self.swept = Some(Instant::now());
        self.records
            .retain(|_, s| time_left(s.expires, now).is_some());
    }
}

struct Stored {
    value: Bytes,
    metadata: HashMap<String, serde_json::Value>,
    expires: Option<SystemTime>,
}

impl Memory {
    /// An empty store.
    pub fn new(options: Options) -> Self {
        Memory {
            options: Arc::new(options),
            tables: Default::default(),
        }
    }

    fn with_table<T>(&self, database: &str, table: &str, f: impl FnOnce(&Table) -> T) -> Option<T> {
        let tables = self.tables.read().unwrap();
        tables.get(database)?.get(table).map(f)
    }
}

fn record(key: &str, stored: &Stored, now: SystemTime) -> Option<Record> {
    Some(Record {
        key: key.to_string(),
        value: stored.value.clone(),
        metadata: stored.metadata.clone(),
        expiry: time_left(stored.expires, now)?,
    })
}

#[async_trait]
impl Store for Memory {
    async fn read(&self, key: &str, options: &ReadOptions) -> Result<Vec<Record>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let now = SystemTime::now();
        if !options.prefix && !options.suffix {
            check_key(key)?;
            return self
                .with_table(database, table, |t| {
                    t.records.get(key).and_then(|s| record(key, s, now))
                })
                .flatten()
                .map(|r| vec![r])
                .ok_or_else(|| not_found(key));
        }
        Ok(self
            .with_table(database, table, |t| {
                let start = if options.prefix { key } else { "" };
                let matches = t
                    .records
                    .range::<str, _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
                    .take_while(|(k, _)| !options.prefix || k.starts_with(key))
                    .filter(|(k, _)| !options.suffix || k.ends_with(key))
                    .filter_map(|(k, s)| record(k, s, now));
                page(matches, options.offset, options.limit)
            })
            .unwrap_or_default())
    }

    async fn write(&self, record: Record, options: &WriteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let expires = check_write(&self.options, &record, options)?;
        let mut tables = self.tables.write().unwrap();
        let table = tables
            .entry(database.to_string())
            .or_default()
            .entry(table.to_string())
            .or_default();
        table.sweep_if_due(SystemTime::now());
        table.records.insert(
            record.key,
            Stored {
                value: record.value,
                metadata: record.metadata,
                expires,
            },
        );
        Ok(())
    }

    async fn delete(&self, key: &str, options: &DeleteOptions) -> Result<()> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        check_key(key)?;
        let mut tables = self.tables.write().unwrap();
        if let Some(t) = tables.get_mut(database).and_then(|d| d.get_mut(table)) {
            t.records.remove(key);
        }
        Ok(())
    }

    async fn list(&self, options: &ListOptions) -> Result<Vec<String>> {
        let (database, table) = scope(&self.options, &options.database, &options.table)?;
        let now = SystemTime::now();
        Ok(self
            .with_table(database, table, |t| {
                let matches = t
                    .records
                    .range::<str, _>((
                        std::ops::Bound::Included(options.prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(k, _)| k.starts_with(&options.prefix))
                    .filter(|(k, s)| {
                        k.ends_with(&options.suffix) && time_left(s.expires, now).is_some()
                    })
                    .map(|(k, _)| k.clone());
                page(matches, options.offset, options.limit)
            })
            .unwrap_or_default())
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_sweep_out_expired_records_nobody_reads() {
        let store = Memory::new(Options::default());
        let ttl = WriteOptions {
            ttl: Some(Duration::from_millis(1)),
            ..Default::default()
        };
        for i in 0..100 {
            store
                .write(Record::new(format!("old/{i}"), "x"), &ttl)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let held = |store: &Memory| store.tables.read().unwrap()["micro"]["micro"].records.len();
        assert_eq!(held(&store), 100);
        store
            .tables
            .write()
            .unwrap()
            .get_mut("micro")
            .unwrap()
            .get_mut("micro")
            .unwrap()
            .swept = None;
        store
            .write(Record::new("new", "y"), &WriteOptions::default())
            .await
            .unwrap();
        assert_eq!(held(&store), 1);
    }
}
