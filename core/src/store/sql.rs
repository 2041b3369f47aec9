//! What the SQL stores (MySQL, PostgreSQL) do alike: tables made on first use and swept of
//! expired rows now and then, names checked against the server's longest identifier, and
//! `LIKE` patterns that match literally.

use crate::backend::Server;
use crate::errors::{Error, Result};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How often writes sweep a table's expired rows.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The tables a store has made sure of on its current connection, each with when it was last
/// swept of expired rows.
pub(crate) struct Tables {
    made: Mutex<HashMap<(String, String), Instant>>,
}

impl Tables {
    pub fn new() -> Tables {
        Tables {
            made: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets them all: a new connection may be to a server that lacks them.
    pub async fn forget(&self) {
        self.made.lock().await.clear();
    }

    /// Runs `create` for the table `key` (database, table) unless it was made before.
    pub async fn make(
        &self,
        key: &(String, String),
        create: impl Future<Output = Result<()>>,
    ) -> Result<()> {
        let mut made = self.made.lock().await;
        if !made.contains_key(key) {
            create.await?;
            made.insert(key.clone(), Instant::now());
        }
        Ok(())
    }

    /// Whether the table `key` is due a sweep of its expired rows; if so, it counts as swept
    /// from now on.
    pub async fn sweep_due(&self, key: &(String, String)) -> bool {
        match self.made.lock().await.get_mut(key) {
            Some(swept) if swept.elapsed() >= SWEEP_EVERY => {
                *swept = Instant::now();
                true
            }
            _ => false,
        }
    }
}

/// Refuses a database or table name `name` whose form on the server, `len` bytes, is longer
/// than the server's longest identifier, `max` bytes (it would be cut, or refused).
pub(crate) fn name_fits(server: &Server, name: &str, len: usize, max: usize) -> Result<()> {
    if len <= max {
        return Ok(());
    }
    Err(Error::bad_request(
        server.id,
        format!(
            "{name:?} is too long for a {} database or table name ({len} bytes, at most {max})",
            server.name
        ),
    ))
}

/// `text` matched literally by `LIKE`, whose `%`, `_` and `\` are otherwise patterns.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }
}
