//! Tokens: RS256 JWTs with claims `{sub, type, scopes, exp, iat, nbf, jti}`, a record per live
//! token at `jwt/<jti>` (gone means revoked), and verification that refuses anything but a
//! well-formed, in-date, RS256 token of an existing account that was never revoked.

use super::accounts::now_secs;
use super::{Auth, ID};
use crate::errors::{Error, Kind, Result};
use crate::store::{DeleteOptions, ReadOptions, Record, WriteOptions};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "jwt/";

/// The claims inside every token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id the token was issued to.
    pub sub: String,
    /// The account's kind: `user`, `admin` or `service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The scopes the token carries; `*` passes every check.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, in seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// Not valid before, in seconds since the Unix epoch.
    #[serde(default)]
    pub nbf: u64,
    /// The token id, used to revoke it.
    #[serde(default)]
    pub jti: String,
}

/// A freshly issued token: the only time its text is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The signed JWT, for `Authorization: Bearer`.
    pub token: String,
    /// The token id (`jti`), used to list and revoke it.
    pub id: String,
    /// The account it was issued to.
    pub subject: String,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// When it stops being valid.
    pub expires: SystemTime,
}

/// A live token as the tokens page lists it. The token text itself is never stored, so a
/// listing cannot leak it; only the id and what the token grants are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token id (`jti`).
    pub id: String,
    /// The account it was issued to.
    pub subject: String,
    /// The scopes it carries.
    pub scopes: Vec<String>,
    /// Issue time, in seconds since the Unix epoch.
    pub issued: u64,
    /// Expiry, in seconds since the Unix epoch.
    pub expires: u64,
}

impl Auth {
    /// Issues a token for an existing account with the given scopes, valid for `ttl`.
    pub async fn issue(&self, subject: &str, scopes: &[String], ttl: Duration) -> Result<Token> {
        let account = self.account(subject).await?;
        if ttl.is_zero() {
            return Err(Error::bad_request(
                ID,
                "the token lifetime must be above zero",
            ));
        }
        let now = now_secs();
        let claims = Claims {
            sub: subject.to_string(),
            kind: account.kind.as_str().to_string(),
            scopes: scopes.to_vec(),
            exp: now.saturating_add(ttl.as_secs().max(1)),
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.encoding)
            .map_err(|e| Error::internal(ID, format!("cannot sign the token: {e}")))?;
        self.remember(&claims, ttl).await?;
        Ok(Token {
            token,
            id: claims.jti,
            subject: claims.sub,
            scopes: claims.scopes,
            expires: UNIX_EPOCH + Duration::from_secs(claims.exp),
        })
    }

    /// Revokes the token with this id; revoking an unknown or expired token is not an error.
    pub async fn revoke(&self, jti: &str) -> Result<()> {
        if jti.is_empty() || jti.contains('/') {
            return Err(Error::bad_request(ID, format!("invalid token id {jti:?}")));
        }
        self.store
            .delete(&format!("{PREFIX}{jti}"), &DeleteOptions::default())
            .await
    }

    /// The live tokens, all of them or only those of one account, in id order.
    pub async fn list_tokens(&self, subject: Option<&str>) -> Result<Vec<TokenInfo>> {
        let records = self.records_under(PREFIX).await?;
        Ok(records
            .iter()
            .filter_map(|r| serde_json::from_slice::<TokenInfo>(&r.value).ok())
            .filter(|t| subject.is_none_or(|s| t.subject == s))
            .collect())
    }

    /// Checks a token and returns its claims. Every refusal is a 401 saying why: not RS256,
    /// bad signature, malformed, expired, not yet valid, revoked, or its account deleted.
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(refusal)?;
        let claims = data.claims;
        if !self.is_live(&claims.jti).await? {
            return Err(Error::unauthorized(
                ID,
                "the token has been revoked; log in again or ask for a new token",
            ));
        }
        if self.read_account(&claims.sub).await?.is_none() {
            return Err(Error::unauthorized(
                ID,
                format!("the token's account {:?} no longer exists", claims.sub),
            ));
        }
        Ok(claims)
    }

    /// Revokes every token of one account.
    pub(super) async fn revoke_all(&self, subject: &str) -> Result<()> {
        for token in self.list_tokens(Some(subject)).await? {
            self.revoke(&token.id).await?;
        }
        Ok(())
    }

    async fn remember(&self, claims: &Claims, ttl: Duration) -> Result<()> {
        let info = TokenInfo {
            id: claims.jti.clone(),
            subject: claims.sub.clone(),
            scopes: claims.scopes.clone(),
            issued: claims.iat,
            expires: claims.exp,
        };
        let value = serde_json::to_vec(&info)
            .map_err(|e| Error::internal(ID, format!("cannot encode the token record: {e}")))?;
        let options = WriteOptions {
            ttl: Some(ttl),
            ..Default::default()
        };
        self.store
            .write(
                Record::new(format!("{PREFIX}{}", claims.jti), value),
                &options,
            )
            .await
    }

    async fn is_live(&self, jti: &str) -> Result<bool> {
        if jti.is_empty() || jti.contains('/') {
            return Ok(false);
        }
        match self
            .store
            .read(&format!("{PREFIX}{jti}"), &ReadOptions::default())
            .await
        {
            Ok(records) => Ok(!records.is_empty()),
            Err(e) if e.kind == Kind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn refusal(e: jsonwebtoken::errors::Error) -> Error {
    let detail = match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired; log in again".to_string(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf is in the future)".into(),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            "the token is not signed with RS256; only RS256 tokens are accepted".into()
        }
        ErrorKind::InvalidSignature => "the token's signature does not match".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim:?} claim"),
        _ => format!("the token is malformed: {e}"),
    };
    Error::unauthorized(ID, detail)
}
