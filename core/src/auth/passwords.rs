//! bcrypt work behind one gate: at most [`Passwords::permits`] hashes or checks run at once,
//! off the async threads, and a caller that cannot start within [`PASSWORD_QUEUE_WAIT`] is
//! told the server is busy (503 with a wait) rather than queueing without end. A check
//! against an account with no hash (unknown id, service account) runs against a decoy hash
//! of the same cost, so the answer takes as long whether the account exists or not.

use super::{ID, Refusal};
use crate::errors::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a password hash or check waits for its turn before the caller is told to retry.
pub const PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The gate every bcrypt hash and check goes through.
pub(super) struct Passwords {
    pub(super) permits: Arc<Semaphore>,
    /// Password checks started, for tests that count them.
    pub(super) checks: AtomicU64,
}

impl Passwords {
    /// A gate with half the machine's cores (at least one): bcrypt is CPU-bound on purpose,
    /// and the other half is left to the requests the gateway is there to serve.
    pub(super) fn new() -> Passwords {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords {
            permits: Arc::new(Semaphore::new(cores.div_ceil(2))),
            checks: AtomicU64::new(0),
        }
    }

    /// The bcrypt hash of `password` at the default cost.
    pub(super) async fn hash(&self, password: &str) -> Result<String, Refusal> {
        if password.is_empty() {
            return Err(Error::bad_request(ID, "the password is empty; give a password").into());
        }
        let password = password.to_string();
        let hashed = self
            .run(move || bcrypt::hash(password, bcrypt::DEFAULT_COST))
            .await?;
        hashed.map_err(|e| Error::bad_request(ID, format!("cannot hash this password: {e}")).into())
    }

    /// True when `password` matches `hash`; with no hash, checks against the decoy and is false.
    pub(super) async fn matches(
        &self,
        hash: Option<&str>,
        password: &str,
    ) -> Result<bool, Refusal> {
        let hash = hash.map(str::to_string);
        let password = password.to_string();
        self.checks.fetch_add(1, Ordering::Relaxed);
        self.run(move || match &hash {
            Some(hash) => bcrypt::verify(password, hash).unwrap_or(false),
            None => {
                let _ = bcrypt::verify(password, decoy());
                false
            }
        })
        .await
    }

    /// Runs `work` on a blocking thread once a permit is free. The permit moves into the
    /// blocking task, so a caller that goes away mid-hash cannot free it early and let more
    /// bcrypt run at once than the gate allows.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refusal> {
        let permit =
            match tokio::time::timeout(PASSWORD_QUEUE_WAIT, self.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => return Err(busy()),
            };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| Error::internal(ID, format!("password work stopped: {e}")).into())
    }
}

/// A hash no password matches, at the cost real hashes are made with.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        bcrypt::hash(uuid::Uuid::new_v4().to_string(), bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

fn busy() -> Refusal {
    Refusal {
        error: Error::new(
            ID,
            format!(
                "the server is busy checking other passwords; try again in {} seconds",
                PASSWORD_QUEUE_WAIT.as_secs()
            ),
            503,
        ),
        retry_after: Some(PASSWORD_QUEUE_WAIT),
    }
}
