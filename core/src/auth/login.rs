//! Logging in and changing one's own password: the two places a caller proves who they are
//! with a password. From a network address both go through the failed-login limiter first,
//! then the bcrypt gate; a refusal says how long to wait when waiting helps.

use super::accounts::{Stored, check_id};
use super::{Auth, DEFAULT_TTL, ID, Token};
use crate::errors::Error;
use crate::http::whole_secs;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// A refused password operation: the error to answer with and, when waiting helps (429 after
/// too many failed logins, 503 while bcrypt is busy), how long to wait, for `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What went wrong, with the HTTP status in its code.
    pub error: Error,
    /// How long to wait before trying again, when that is worth doing.
    pub retry_after: Option<Duration>,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Refusal {
        Refusal {
            error,
            retry_after: None,
        }
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        refusal.error
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Refusal {}

impl Auth {
    /// Logs in a client at `peer`: counts the attempt against its address before the password
    /// is checked (429 with the wait once [`super::LOGIN_ATTEMPTS`] have failed within
    /// [`super::LOGIN_WINDOW`]), then checks it and issues a token with the account's scopes
    /// and the default lifetime. A wrong id or password is the same 401 either way, and costs
    /// the same bcrypt time. A success leaves the address's earlier failures counted.
    pub async fn login_from(
        &self,
        peer: IpAddr,
        id: &str,
        password: &str,
    ) -> Result<Token, Refusal> {
        let stored = self
            .check_password_from(peer, id, password)
            .await?
            .ok_or_else(wrong)?;
        Ok(self.issue(id, stored.scopes(), DEFAULT_TTL).await?)
    }

    /// Logs in without a client address, so without the failed-login limit: for callers in the
    /// same process (tests, tools). Anything serving a network uses [`Auth::login_from`].
    pub async fn login(&self, id: &str, password: &str) -> crate::errors::Result<Token> {
        let stored = self.check_password(id, password).await?.ok_or_else(wrong)?;
        self.issue(id, stored.scopes(), DEFAULT_TTL).await
    }

    /// Lets a signed-in user at `peer` change their own password: `old` must be the current
    /// one (so a stolen session alone cannot), and a wrong `old` counts as a failed login from
    /// `peer` and is a 403 (the session itself is fine). Every token of the account is revoked,
    /// the caller's too; the token returned is the caller's new session.
    pub async fn change_own_password(
        &self,
        peer: IpAddr,
        id: &str,
        old: &str,
        new: &str,
    ) -> Result<Token, Refusal> {
        let stored = self
            .check_password_from(peer, id, old)
            .await?
            .ok_or_else(|| {
                Error::forbidden(
                    ID,
                    "the current password is wrong; give it to set a new one",
                )
            })?;
        self.change_password(id, new).await?;
        Ok(self.issue(id, stored.scopes(), DEFAULT_TTL).await?)
    }

    /// The account when `password` is its password, `None` when the id or password is wrong;
    /// a wrong one counts against `peer`'s failed logins.
    async fn check_password_from(
        &self,
        peer: IpAddr,
        id: &str,
        password: &str,
    ) -> Result<Option<Stored>, Refusal> {
        let attempt = self.limiter.admit(peer).map_err(too_many)?;
        match self.check_password(id, password).await {
            Ok(Some(stored)) => {
                attempt.forgive();
                Ok(Some(stored))
            }
            Ok(None) => Ok(None),
            // Busy, or the store failed: the password was never checked.
            Err(refusal) => {
                attempt.forgive();
                Err(refusal)
            }
        }
    }

    /// The account when `password` is its password, `None` when the id or password is wrong.
    async fn check_password(&self, id: &str, password: &str) -> Result<Option<Stored>, Refusal> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let stored = self.read_account(id).await?;
        let hash = stored.as_ref().and_then(Stored::password_hash);
        let ok = self.passwords.matches(hash, password).await?;
        Ok(stored.filter(|_| ok))
    }
}

/// Every wrong id or password is this same 401, so callers learn nothing about which it was.
fn wrong() -> Error {
    Error::unauthorized(ID, "wrong account id or password")
}

fn too_many(wait: Duration) -> Refusal {
    let detail = format!(
        "too many failed logins from your address; try again in {} seconds",
        whole_secs(wait)
    );
    Refusal {
        error: Error::new(ID, detail, 429),
        retry_after: Some(wait),
    }
}

/// Whole seconds, rounded up and at least one.
#[cfg(test)]
mod tests {
    use super::super::{LOGIN_ATTEMPTS, PASSWORD_QUEUE_WAIT};
    use super::*;
    use crate::store::{Memory, Options, Record, Store, WriteOptions};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    async fn open() -> (Auth, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(Memory::new(Options::default()));
        let auth = Auth::open(store, dir.path()).await.unwrap();
        (auth, dir)
    }

    /// Stores `id` with a cheap bcrypt hash of `password` (as an account made elsewhere at
    /// cost 4 would be), so that many checks take milliseconds, not seconds.
    async fn cheap_account(auth: &Auth, id: &str, password: &str) {
        let hash = bcrypt::hash(password, 4).unwrap();
        let json = serde_json::json!({
            "id": id, "type": "user", "scopes": ["greeter"],
            "metadata": {"password_hash": hash},
        });
        auth.store
            .write(
                Record::new(format!("auth/{id}"), json.to_string()),
                &WriteOptions::default(),
            )
            .await
            .unwrap();
    }

    fn checks(auth: &Auth) -> u64 {
        auth.passwords.checks.load(Ordering::Relaxed)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn thirty_concurrent_wrong_logins_from_one_address_run_at_most_the_allowed_checks() {
        let (auth, _dir) = open().await;
        cheap_account(&auth, "bob", "pw-bob").await;
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let before = checks(&auth);
        let tries = (0..30).map(|_| auth.login_from(peer, "bob", "wrong"));
        let answers = futures::future::join_all(tries).await;
        let codes: Vec<i32> = answers
            .iter()
            .map(|a| a.as_ref().unwrap_err().error.code)
            .collect();
        assert_eq!(checks(&auth) - before, u64::from(LOGIN_ATTEMPTS));
        assert_eq!(
            codes.iter().filter(|c| **c == 401).count(),
            LOGIN_ATTEMPTS as usize
        );
        assert_eq!(
            codes.iter().filter(|c| **c == 429).count(),
            30 - LOGIN_ATTEMPTS as usize
        );
        assert!(answers.iter().all(|a| {
            let refusal = a.as_ref().unwrap_err();
            (refusal.error.code == 429) == refusal.retry_after.is_some()
        }));
    }

    #[tokio::test]
    async fn unknown_ids_and_service_accounts_cost_one_check_like_a_real_account() {
        let (auth, _dir) = open().await;
        auth.create_account("ci", super::super::Kind::Service, None, &[])
            .await
            .unwrap();
        for id in ["admin", "nobody", "ci"] {
            let before = checks(&auth);
            let refusal = auth
                .login_from("192.0.2.2".parse().unwrap(), id, "guess")
                .await
                .unwrap_err();
            assert_eq!(refusal.error, wrong(), "{id}");
            assert_eq!(checks(&auth) - before, 1, "{id}");
        }
    }

    #[tokio::test]
    async fn password_work_past_the_cap_waits_its_turn_then_is_told_to_retry() {
        let (auth, _dir) = open().await;
        cheap_account(&auth, "bob", "pw-bob").await;
        let peer: IpAddr = "192.0.2.3".parse().unwrap();
        tokio::time::pause();
        let all = auth.passwords.permits.available_permits() as u32;
        let held = auth
            .passwords
            .permits
            .clone()
            .acquire_many_owned(all)
            .await
            .unwrap();

        // Every permit stays taken: after the queue wait, a 503 with the wait to retry after.
        let busy = auth.login_from(peer, "bob", "pw-bob").await.unwrap_err();
        assert_eq!(busy.error.code, 503, "{busy:?}");
        assert_eq!(busy.retry_after, Some(PASSWORD_QUEUE_WAIT));
        assert!(busy.error.detail.contains("busy"), "{busy:?}");

        // A permit freed within the wait lets the waiting login through.
        let release = async {
            tokio::time::sleep(PASSWORD_QUEUE_WAIT / 2).await;
            drop(held);
        };
        let (login, ()) = tokio::join!(auth.login_from(peer, "bob", "pw-bob"), release);
        login.unwrap();

        // The refused attempt never reached the password: it was not counted as a failure.
        for _ in 0..LOGIN_ATTEMPTS {
            assert_eq!(
                auth.login_from(peer, "bob", "x")
                    .await
                    .unwrap_err()
                    .error
                    .code,
                401
            );
        }
    }
}
