//! Accounts, tokens and endpoint scopes for the gateway: bcrypt-hashed accounts in the store,
//! RS256 JWTs signed with a key pair kept on disk, revocation by token id, the scopes an
//! endpoint requires, and logins limited per client address with bcrypt work capped. [`Auth`]
//! is the one entry point; the HTTP pages and the gateway's checks are built on it.
//!
//! Store layout (go-micro's where it has one): accounts at `auth/<id>`, the deleted-admin
//! marker at `auth/.admin-deleted`, live tokens at `jwt/<jti>` (a token whose record is gone is
//! revoked), endpoint scopes at `endpoint-scopes/<service>.<Handler.Method>` as a JSON array.

mod accounts;
mod keys;
mod limiter;
mod login;
mod passwords;
mod scopes;
mod tokens;

pub use accounts::{Account, Kind};
pub use keys::{KEY_BITS, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, default_keys_dir};
pub use limiter::{LOGIN_ATTEMPTS, LOGIN_WINDOW};
pub use login::Refusal;
pub use passwords::PASSWORD_QUEUE_WAIT;
pub use scopes::{has_scopes, is_admin, pattern_matches, published_scopes};
pub use tokens::{Claims, Token, TokenInfo};

use crate::errors::Result;
use crate::store::{ReadOptions, Record, Store};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) const ID: &str = "micro.auth";

/// The default admin account's id, created on first start.
pub const DEFAULT_ADMIN: &str = "admin";
/// The default admin account's password; the banner warns while it is unchanged.
pub const DEFAULT_PASSWORD: &str = "micro";
/// How long a token lives unless told otherwise: 24 hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The scope that passes every check.
pub const ALL_SCOPES: &str = "*";
/// The administrators' scope: it passes every check, exactly as [`ALL_SCOPES`] does.
pub const ADMIN_SCOPE: &str = "micro:admin";
/// Clock skew tolerated when checking `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// Accounts, tokens and scopes over one store and one key pair.
pub struct Auth {
    store: Arc<dyn Store>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Bumped by every change to endpoint scopes, for callers that cache what they derive.
    scopes_version: AtomicU64,
    /// The default admin's password hash last checked against the default password, and the
    /// answer: bcrypt runs again only when the hash changes.
    default_checked: Mutex<Option<(String, bool)>>,
    /// Failed logins per client address.
    limiter: limiter::Limiter,
    /// The gate every bcrypt hash and check goes through.
    passwords: passwords::Passwords,
}

impl Auth {
    /// Opens auth on `store`, loading the key pair from `keys_dir` (or creating it there), and
    /// creates the default admin `admin`/`micro` unless it exists or was deleted once.
    pub async fn open(store: Arc<dyn Store>, keys_dir: &Path) -> Result<Auth> {
        let keys = keys::load_or_create(keys_dir).await?;
        let auth = Auth {
            store,
            encoding: keys.encoding,
            decoding: keys.decoding,
            validation: validation(),
            scopes_version: AtomicU64::new(0),
            default_checked: Mutex::new(None),
            limiter: limiter::Limiter::default(),
            passwords: passwords::Passwords::new(),
        };
        auth.ensure_default_admin().await?;
        Ok(auth)
    }

    /// A number that changes whenever endpoint scopes are set through this auth.
    pub fn scopes_version(&self) -> u64 {
        self.scopes_version.load(Ordering::Acquire)
    }

    /// The store this auth keeps its records in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// RS256 only; `exp` required and checked, `nbf` checked when present.
fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.algorithms = vec![Algorithm::RS256];
    v.leeway = LEEWAY_SECS;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp", "sub"]);
    v
}

impl Auth {
    /// Every record whose key starts with `prefix`, in key order.
    async fn records_under(&self, prefix: &str) -> Result<Vec<Record>> {
        let options = ReadOptions {
            prefix: true,
            ..Default::default()
        };
        self.store.read(prefix, &options).await
    }
}
