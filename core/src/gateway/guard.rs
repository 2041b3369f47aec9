//! What the gateway checks before it does anything for a request: who is calling (a token from
//! `Authorization: Bearer`, then `?token=`, then the `micro_token` cookie), whether their token
//! carries the scopes an endpoint requires, that a form post came from our own pages (CSRF),
//! and how often a client may fail to log in. Also the security headers every answer carries.

use super::routes::{Reply, json};
use super::routes::{Shared, encode};
use crate::auth::{ALL_SCOPES, Auth, Claims};
use crate::errors::Error;
use hyper::StatusCode;
use hyper::header::{self, HeaderMap, HeaderValue};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie holding the session token.
pub(super) const TOKEN_COOKIE: &str = "micro_token";
/// The cookie holding the CSRF secret that every form echoes in its `csrf` field.
pub(super) const CSRF_COOKIE: &str = "micro_csrf";
/// The form field carrying the CSRF secret.
pub(super) const CSRF_FIELD: &str = "csrf";

/// The token a request carries: `Authorization: Bearer`, then `?token=`, then the cookie.
pub(crate) fn token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    if let Some(token) = bearer.filter(|t| !t.is_empty()) {
        return Some(token.to_string());
    }
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(name, value)| name == "token" && !value.is_empty())
            .map(|(_, value)| value.into_owned())
    });
    from_query.or_else(|| cookie(headers, TOKEN_COOKIE).map(str::to_string))
}

/// The value of cookie `name`, if the request sent a non-empty one.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// The caller's claims, or a 401 saying why there are none.
pub(super) async fn authenticate(
    auth: &Auth,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Claims, Error> {
    let Some(token) = token(headers, query) else {
        return Err(Error::unauthorized(
            crate::auth::ID,
            "authentication required: send Authorization: Bearer <token> (POST /auth/login with \
             {\"id\",\"password\"} gives one), or log in at /auth/login",
        ));
    };
    auth.verify(&token).await
}

/// For the JSON routes: `None` when auth is off, the caller's claims when the token is good,
/// and a 401 answer otherwise.
pub(super) async fn permit(
    shared: &Shared,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Claims>, Reply> {
    let Some(auth) = &shared.auth else {
        return Ok(None);
    };
    match authenticate(auth, headers, query).await {
        Ok(claims) => Ok(Some(claims)),
        Err(err) => Err(refused(&err)),
    }
}

/// Lets `claims` call `service`'s `endpoint` when auth is off, the endpoint requires no
/// scopes (stored, else `published`), or the token has `*` or one of them; a 403 naming the
/// required scopes otherwise.
pub(super) async fn allow(
    shared: &Shared,
    claims: Option<&Claims>,
    service: &str,
    endpoint: &str,
    published: &[String],
) -> Result<(), Reply> {
    let Some(auth) = &shared.auth else {
        return Ok(());
    };
    let Some(claims) = claims else {
        return Err(refused(&Error::unauthorized(
            crate::auth::ID,
            "authentication required",
        )));
    };
    match auth
        .unmet_scopes(claims, service, endpoint, published)
        .await
    {
        Ok(None) => Ok(()),
        Ok(Some(required)) => Err(forbidden(&required)),
        Err(err) => Err(refused(&err)),
    }
}

/// True when auth is off (`claims` is `None`) or the token is an administrator's.
pub(super) fn admin_or_open(claims: Option<&Claims>) -> bool {
    claims.is_none_or(is_admin)
}

/// True for a token with scope `*`, the scope administrators hold. A token an administrator
/// issues with narrower scopes is only as strong as those scopes.
pub(super) fn is_admin(claims: &Claims) -> bool {
    claims.scopes.iter().any(|s| s == ALL_SCOPES)
}

/// A 401 or other auth failure as `{"error": detail}`, keeping the failure's own status.
fn refused(err: &Error) -> Reply {
    super::routes::error(status_of(err), err.detail.clone())
}

/// The HTTP status of an auth failure: its own code when that is a 4xx, else 500.
pub(super) fn status_of(err: &Error) -> StatusCode {
    StatusCode::from_u16(err.code as u16)
        .ok()
        .filter(|s| s.is_client_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `403 {"error":"insufficient scopes","required_scopes":"a,b"}`.
pub(super) fn forbidden(required: &[String]) -> Reply {
    #[derive(Serialize)]
    struct Forbidden<'a> {
        error: &'a str,
        required_scopes: String,
    }
    json(
        StatusCode::FORBIDDEN,
        encode(&Forbidden {
            error: "insufficient scopes",
            required_scopes: required.join(","),
        }),
    )
}

/// A fresh CSRF secret for the `micro_csrf` cookie.
pub(super) fn new_csrf() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// True when a form post echoes the request's CSRF cookie in `field` and, if the browser
/// says where it came from, came from this host.
pub(super) fn csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    let same_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(_, o)| Some(o) == host.to_str().ok()),
        (Some(_), None) => false,
        (None, _) => true,
    };
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(cookie), Some(field)) => same_origin && constant_time_eq(cookie, field),
        _ => false,
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// Failed logins allowed per client address within [`LOGIN_WINDOW`].
pub(super) const LOGIN_ATTEMPTS: u32 = 10;
/// The window failed logins are counted in.
pub(super) const LOGIN_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Addresses remembered at most; past that, expired windows are swept out.
const LIMITER_CAPACITY: usize = 10_000;

/// Counts failed logins per client address.
#[derive(Default)]
pub(super) struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long `ip` must wait before trying again, if it has failed too often.
    pub(super) fn retry_after(&self, ip: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(&ip)?;
        let left = LOGIN_WINDOW.checked_sub(since.elapsed())?;
        (*count >= LOGIN_ATTEMPTS).then_some(left)
    }

    /// Records a failed login from `ip`.
    pub(super) fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LIMITER_CAPACITY {
            failures.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        }
        let entry = failures.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOGIN_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets `ip`'s failures after it logs in.
    pub(super) fn succeeded(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&ip);
    }
}

/// The security headers every answer carries: no sniffing, no framing, same-origin referrers,
/// and a content security policy allowing only this origin's scripts, styles and forms.
pub(super) fn secure(headers: &mut HeaderMap) {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_bearer_header_wins_then_the_query_then_the_cookie() {
        let all = headers(&[
            ("authorization", "Bearer from-header"),
            ("cookie", "a=1; micro_token=from-cookie"),
        ]);
        assert_eq!(
            token(&all, Some("token=from-query")).as_deref(),
            Some("from-header")
        );
        let no_header = headers(&[("cookie", "a=1; micro_token=from-cookie")]);
        assert_eq!(
            token(&no_header, Some("x=1&token=from-query")).as_deref(),
            Some("from-query")
        );
        assert_eq!(token(&no_header, None).as_deref(), Some("from-cookie"));
        assert_eq!(token(&headers(&[]), Some("token=")), None);
    }

    #[test]
    fn csrf_needs_the_cookie_echoed_from_the_same_origin() {
        let good = headers(&[("cookie", "micro_csrf=abc"), ("host", "h:1")]);
        assert!(csrf_ok(&good, Some("abc")));
        assert!(!csrf_ok(&good, Some("abd")));
        assert!(!csrf_ok(&good, None));
        assert!(!csrf_ok(&headers(&[("host", "h:1")]), Some("abc")));
        let cross = headers(&[
            ("cookie", "micro_csrf=abc"),
            ("host", "h:1"),
            ("origin", "http://evil:1"),
        ]);
        assert!(!csrf_ok(&cross, Some("abc")));
        let same = headers(&[
            ("cookie", "micro_csrf=abc"),
            ("host", "h:1"),
            ("origin", "http://h:1"),
        ]);
        assert!(csrf_ok(&same, Some("abc")));
    }

    #[test]
    fn logins_are_refused_after_too_many_failures_and_forgiven_on_success() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..LOGIN_ATTEMPTS - 1 {
            limiter.failed(ip);
        }
        assert_eq!(limiter.retry_after(ip), None);
        limiter.failed(ip);
        assert!(limiter.retry_after(ip).is_some_and(|d| d <= LOGIN_WINDOW));
        limiter.succeeded(ip);
        assert_eq!(limiter.retry_after(ip), None);
    }
}
