//! Endpoint scopes: the scopes an endpoint requires, stored at
//! `endpoint-scopes/<service>.<Handler.Method>`, set one by one or by pattern, and the check
//! of a token's claims against them.

use super::{ADMIN_SCOPE, ALL_SCOPES, Auth, Claims, ID};
use crate::errors::{Error, Kind, Result};
use crate::store::{DeleteOptions, ReadOptions, Record, WriteOptions};

const PREFIX: &str = "endpoint-scopes/";

impl Auth {
    /// Sets the scopes `service`'s `endpoint` (`Handler.Method`) requires; an empty list opens
    /// it to any valid token again.
    pub async fn set_scopes(&self, service: &str, endpoint: &str, scopes: &[String]) -> Result<()> {
        let key = endpoint_key(service, endpoint)?;
        self.set_scopes_at(&key, scopes).await
    }

    /// Sets the scopes on every endpoint among `endpoints` (each `service.Handler.Method`)
    /// that matches `pattern`, where `*` stands for any run of characters (`greeter.*`).
    /// Returns how many endpoints matched.
    pub async fn set_scopes_matching(
        &self,
        pattern: &str,
        endpoints: &[String],
        scopes: &[String],
    ) -> Result<usize> {
        if pattern.is_empty() {
            return Err(Error::bad_request(
                ID,
                "the pattern is empty; use e.g. greeter.*",
            ));
        }
        let mut matched = 0;
        for key in endpoints.iter().filter(|k| pattern_matches(pattern, k)) {
            self.set_scopes_at(&format!("{PREFIX}{key}"), scopes)
                .await?;
            matched += 1;
        }
        Ok(matched)
    }

    /// The scopes `service`'s `endpoint` requires; empty when it is open to any valid token.
    pub async fn scopes_for(&self, service: &str, endpoint: &str) -> Result<Vec<String>> {
        let key = endpoint_key(service, endpoint)?;
        match self.store.read(&key, &ReadOptions::default()).await {
            Ok(records) => Ok(records
                .first()
                .and_then(|r| serde_json::from_slice(&r.value).ok())
                .unwrap_or_default()),
            Err(e) if e.kind == Kind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Every endpoint with scopes set, as (`service.Handler.Method`, scopes), in key order.
    pub async fn list_scopes(&self) -> Result<Vec<(String, Vec<String>)>> {
        let records = self.records_under(PREFIX).await?;
        Ok(records
            .iter()
            .filter_map(|r| {
                let scopes: Vec<String> = serde_json::from_slice(&r.value).ok()?;
                Some((r.key.strip_prefix(PREFIX)?.to_string(), scopes))
            })
            .collect())
    }

    /// `None` when `claims` may call `service`'s `endpoint`; otherwise the scopes it requires,
    /// for the 403 answer (`{"error":"insufficient scopes","required_scopes":"a,b"}`). The
    /// required scopes are those stored for the endpoint or, when none are stored, the ones it
    /// `published` in its registry metadata ([`published_scopes`]). A call passes when
    /// [`has_scopes`] says the token's scopes grant them.
    pub async fn unmet_scopes(
        &self,
        claims: &Claims,
        service: &str,
        endpoint: &str,
        published: &[String],
    ) -> Result<Option<Vec<String>>> {
        let mut required = self.scopes_for(service, endpoint).await?;
        if required.is_empty() {
            required = published.to_vec();
        }
        Ok((!has_scopes(&claims.scopes, &required)).then_some(required))
    }

    async fn set_scopes_at(&self, key: &str, scopes: &[String]) -> Result<()> {
        let result = self.write_scopes_at(key, scopes).await;
        self.scopes_version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        result
    }

    async fn write_scopes_at(&self, key: &str, scopes: &[String]) -> Result<()> {
        let scopes: Vec<String> = scopes
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if scopes.is_empty() {
            return self.store.delete(key, &DeleteOptions::default()).await;
        }
        let value = serde_json::to_vec(&scopes)
            .map_err(|e| Error::internal(ID, format!("cannot encode the scopes: {e}")))?;
        self.store
            .write(Record::new(key, value), &WriteOptions::default())
            .await
    }
}

/// The scopes an endpoint publishes in its registry metadata (`scopes`, comma-separated, as
/// `Service::scopes` sets it).
pub fn published_scopes(metadata: &crate::registry::Metadata) -> Vec<String> {
    metadata
        .get("scopes")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// True when `held` may do what `required` guards: `required` is empty, or `held` grants the
/// admin scope (`*` or `micro:admin`, which pass every check), or `held` grants any one of
/// `required`. A held scope grants a required one when they are equal or, when it has `*` in
/// it, when it matches as a [`pattern_matches`] pattern, where `*` stands for any run of
/// characters: `orders:*` grants `orders:read` and `orders:items:write` (not `orders`), and
/// `*:read` grants `orders:read`. Required scopes are plain text; a `*` in one is a character.
pub fn has_scopes(held: &[String], required: &[String]) -> bool {
    let granted = |want: &str| held.iter().any(|have| grants(have, want));
    required.is_empty() || granted(ADMIN_SCOPE) || required.iter().any(|want| granted(want))
}

/// True for claims whose scopes grant `micro:admin` (so `*` too): the one admin rule.
pub fn is_admin(claims: &Claims) -> bool {
    claims.scopes.iter().any(|have| grants(have, ADMIN_SCOPE))
}

/// True when the held scope `have` grants the required scope `want`.
fn grants(have: &str, want: &str) -> bool {
    have == want || have == ALL_SCOPES || (have.contains('*') && pattern_matches(have, want))
}

/// True when `text` matches `pattern`, where `*` stands for any run of characters.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let mut middle: Vec<&str> = parts.collect();
    let Some(last) = middle.pop() else {
        return pattern == text;
    };
    // Strip the fixed ends first, so the parts in between are searched for only in what
    // lies between them (a text too short for both ends matches nothing).
    let Some(mut rest) = text
        .strip_prefix(first)
        .and_then(|rest| rest.strip_suffix(last))
    else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn endpoint_key(service: &str, endpoint: &str) -> Result<String> {
    if service.is_empty() || endpoint.is_empty() {
        return Err(Error::bad_request(
            ID,
            "give both a service and an endpoint (Handler.Method)",
        ));
    }
    Ok(format!("{PREFIX}{service}.{endpoint}"))
}
