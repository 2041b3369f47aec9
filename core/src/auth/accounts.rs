//! Accounts: stored at `auth/<id>` in go-micro's JSON shape with a bcrypt hash of the password
//! in the metadata (never the password itself), and the default admin.

use super::{Auth, DEFAULT_ADMIN, DEFAULT_PASSWORD, ID};
use crate::errors::{self, Error, Result};
use crate::store::{DeleteOptions, ListOptions, ReadOptions, Record, WriteOptions};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

const PREFIX: &str = "auth/";
const ADMIN_DELETED: &str = "auth/.admin-deleted";
const HASH: &str = "password_hash";
const CREATED: &str = "created";

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person using the dashboard or the API.
    User,
    /// A person who may manage accounts, tokens and scopes.
    Admin,
    /// A program calling services with a token; it has no password.
    Service,
}

impl Kind {
    /// The name used in the store and in the token's `type` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Admin => "admin",
            Kind::Service => "service",
        }
    }
}

/// An account as callers see it (the password hash stays inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account id, e.g. a user name.
    pub id: String,
    /// What the account is for.
    pub kind: Kind,
    /// The scopes the account's tokens carry on login.
    pub scopes: Vec<String>,
    /// When the account was created, in seconds since the Unix epoch.
    pub created: u64,
}

/// The record at `auth/<id>`, go-micro's `auth.Account` JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Stored {
    id: String,
    #[serde(rename = "type")]
    kind: Kind,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    metadata: HashMap<String, String>,
}

impl Stored {
    fn account(&self) -> Account {
        let created = self
            .metadata
            .get(CREATED)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Account {
            id: self.id.clone(),
            kind: self.kind,
            scopes: self.scopes.clone(),
            created,
        }
    }

    /// The bcrypt hash of the account's password; a service account has none.
    pub(super) fn password_hash(&self) -> Option<&str> {
        self.metadata.get(HASH).map(String::as_str)
    }

    /// The scopes the account's tokens carry on login.
    pub(super) fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl Auth {
    /// Creates an account; `password` may be `None` only for a [`Kind::Service`] account. An
    /// admin account always holds scope `*`, which is what lets it manage accounts, tokens and
    /// scopes. Fails with 409 if the id is taken.
    pub async fn create_account(
        &self,
        id: &str,
        kind: Kind,
        password: Option<&str>,
        scopes: &[String],
    ) -> Result<Account> {
        check_id(id)?;
        if self.read_account(id).await?.is_some() {
            return Err(Error::conflict(
                ID,
                format!("the account {id:?} already exists; pick another id or delete it first"),
            ));
        }
        let mut metadata = HashMap::new();
        metadata.insert(CREATED.to_string(), now_secs().to_string());
        match password {
            Some(p) => {
                metadata.insert(HASH.to_string(), self.passwords.hash(p).await?);
            }
            None if kind != Kind::Service => {
                return Err(Error::bad_request(
                    ID,
                    "a user or admin account needs a password",
                ));
            }
            None => {}
        }
        let mut scopes = scopes.to_vec();
        if kind == Kind::Admin && !scopes.iter().any(|s| s == super::ALL_SCOPES) {
            scopes.push(super::ALL_SCOPES.to_string());
        }
        let stored = Stored {
            id: id.to_string(),
            kind,
            issuer: String::new(),
            secret: String::new(),
            scopes,
            metadata,
        };
        self.write_account(&stored).await?;
        Ok(stored.account())
    }

    /// Deletes an account and revokes every token issued to it. Deleting `admin` also records
    /// that it must never be created again. Fails with 404 if there is no such account.
    pub async fn delete_account(&self, id: &str) -> Result<()> {
        check_id(id)?;
        if self.read_account(id).await?.is_none() {
            return Err(no_account(id));
        }
        if id == DEFAULT_ADMIN {
            self.store
                .write(Record::new(ADMIN_DELETED, "true"), &WriteOptions::default())
                .await?;
        }
        self.store
            .delete(&format!("{PREFIX}{id}"), &DeleteOptions::default())
            .await?;
        self.revoke_all(id).await
    }

    /// Sets a new password on an account and revokes every token it holds, so a session
    /// opened with the old password ends with it. Fails with 404 if there is no such account.
    pub async fn change_password(&self, id: &str, password: &str) -> Result<()> {
        check_id(id)?;
        let mut stored = self.read_account(id).await?.ok_or_else(|| no_account(id))?;
        stored
            .metadata
            .insert(HASH.to_string(), self.passwords.hash(password).await?);
        self.write_account(&stored).await?;
        self.revoke_all(id).await
    }

    /// The account with this id, or 404.
    pub async fn account(&self, id: &str) -> Result<Account> {
        check_id(id)?;
        let stored = self.read_account(id).await?.ok_or_else(|| no_account(id))?;
        Ok(stored.account())
    }

    /// Every account, in id order.
    pub async fn list_accounts(&self) -> Result<Vec<Account>> {
        let records = self.records_under(PREFIX).await?;
        Ok(records
            .iter()
            .filter(|r| r.key != ADMIN_DELETED)
            .filter_map(|r| serde_json::from_slice::<Stored>(&r.value).ok())
            .map(|s| s.account())
            .collect())
    }

    /// True while the default admin exists with the password `micro` (the banner warns then).
    /// The answer is kept for the admin's current password hash, so asking again costs no
    /// bcrypt until the password changes.
    pub async fn default_password_unchanged(&self) -> Result<bool> {
        let Some(stored) = self.read_account(DEFAULT_ADMIN).await? else {
            return Ok(false);
        };
        let hash = stored.password_hash().unwrap_or_default().to_string();
        let kept = self
            .default_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((checked, unchanged)) = kept
            && checked == hash
        {
            return Ok(unchanged);
        }
        let unchanged = self
            .passwords
            .matches(stored.password_hash(), DEFAULT_PASSWORD)
            .await?;
        *self
            .default_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((hash, unchanged));
        Ok(unchanged)
    }

    /// Creates `admin`/`micro` with scope `*` unless it exists or was deleted once.
    pub(super) async fn ensure_default_admin(&self) -> Result<()> {
        if self.read_account(DEFAULT_ADMIN).await?.is_some() || self.admin_deleted().await? {
            return Ok(());
        }
        let all = [super::ALL_SCOPES.to_string()];
        match self
            .create_account(DEFAULT_ADMIN, Kind::Admin, Some(DEFAULT_PASSWORD), &all)
            .await
        {
            Err(e) if e.kind == errors::Kind::Conflict => Ok(()),
            other => other.map(|_| ()),
        }
    }

    async fn admin_deleted(&self) -> Result<bool> {
        let keys = self
            .store
            .list(&ListOptions {
                prefix: ADMIN_DELETED.to_string(),
                ..Default::default()
            })
            .await?;
        Ok(keys.iter().any(|k| k == ADMIN_DELETED))
    }

    pub(super) async fn read_account(&self, id: &str) -> Result<Option<Stored>> {
        let key = format!("{PREFIX}{id}");
        match self.store.read(&key, &ReadOptions::default()).await {
            Ok(records) => match records.first() {
                Some(r) => serde_json::from_slice(&r.value).map(Some).map_err(|e| {
                    Error::internal(ID, format!("the account record {key} is not valid: {e}"))
                }),
                None => Ok(None),
            },
            Err(e) if e.kind == errors::Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write_account(&self, stored: &Stored) -> Result<()> {
        let value = serde_json::to_vec(stored)
            .map_err(|e| Error::internal(ID, format!("cannot encode the account: {e}")))?;
        let key = format!("{PREFIX}{}", stored.id);
        self.store
            .write(Record::new(key, value), &WriteOptions::default())
            .await
    }
}

/// Account ids become store keys: plain, short, no `/`, not starting with `.`.
pub(super) fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && !id.contains('/')
        && !id.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            ID,
            format!(
                "invalid account id {id:?}: use 1 to 128 characters without '/', spaces or a leading '.'"
            ),
        ))
    }
}

fn no_account(id: &str) -> Error {
    Error::not_found(ID, format!("there is no account {id:?}"))
}

pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
