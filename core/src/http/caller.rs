//! Who is calling and what they may do: the one auth check of every HTTP face. [`Caller`]
//! finds the token (`Authorization: Bearer`, then `?token=`, then the `micro_token` cookie),
//! verifies it against the face's [`Authenticator`], and for a cookie on a request that
//! changes something, insists the request came from our own pages; [`Caller::require`] and
//! [`Caller::require_admin`] check scopes.

use super::Failure;
use crate::auth::{Auth, Claims, has_scopes};
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use std::sync::Arc;

/// The cookie holding the session token.
pub const TOKEN_COOKIE: &str = "micro_token";
/// The cookie holding the CSRF secret the pages' forms echo, and scripts may send back in
/// [`CSRF_HEADER`].
pub const CSRF_COOKIE: &str = "micro_csrf";
/// The header a script sends the CSRF secret in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The scope administrators hold, and what a route for administrators only requires.
pub const ADMIN: &str = crate::auth::ALL_SCOPES;

/// The auth a face checks callers against (`None`: auth is off); routers carry it as an
/// `Extension`.
#[derive(Clone, Default)]
pub struct Authenticator(pub Option<Arc<Auth>>);

/// The caller of a request, found by the `FromRequestParts` extractor (JSON routes: a
/// cookie-authenticated request that changes something must be same-origin or carry the CSRF
/// token) or by [`Caller::identify`] (pages, whose forms carry their own CSRF field).
#[derive(Clone)]
pub struct Caller {
    auth: Option<Arc<Auth>>,
    claims: Option<Claims>,
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Header,
    Query,
    Cookie,
}

impl Caller {
    /// The caller of the request with these `parts`: anyone when auth is off, else the holder of
    /// a valid token, or a 401 saying why there is none.
    pub async fn identify(parts: &Parts) -> Result<Caller, Failure> {
        Self::find(parts).await.map(|(caller, _)| caller)
    }

    async fn find(parts: &Parts) -> Result<(Caller, Option<Source>), Failure> {
        let Some(auth) = parts
            .extensions
            .get::<Authenticator>()
            .and_then(|a| a.0.clone())
        else {
            return Ok((
                Caller {
                    auth: None,
                    claims: None,
                },
                None,
            ));
        };
        let Some((token, source)) = token(&parts.headers, parts.uri.query()) else {
            return Err(Failure::unauthorized(
                "authentication required: send Authorization: Bearer <token> (POST /auth/login with \
                 {\"id\",\"password\"} gives one), or log in at /auth/login",
            ));
        };
        let claims = auth.verify(&token).await.map_err(|err| {
            if err.code == 401 {
                Failure::refused(format!(
                    "the token was refused ({}); log in again or use a valid token",
                    err.detail
                ))
            } else {
                Failure::from_error(&err)
            }
        })?;
        Ok((
            Caller {
                auth: Some(auth),
                claims: Some(claims),
            },
            Some(source),
        ))
    }

    /// A caller who has not shown a token (the login page's visitor) on a face with `auth`.
    pub fn anonymous(auth: Option<Arc<Auth>>) -> Caller {
        Caller { auth, claims: None }
    }

    /// The token's claims; `None` when auth is off or no token was shown.
    pub fn claims(&self) -> Option<&Claims> {
        self.claims.as_ref()
    }

    /// The auth checked against; `None` when it is off.
    pub fn auth(&self) -> Option<&Arc<Auth>> {
        self.auth.as_ref()
    }

    /// True when auth is off or the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        match (&self.auth, &self.claims) {
            (None, _) => true,
            (Some(_), Some(claims)) => crate::auth::is_admin(claims),
            (Some(_), None) => false,
        }
    }

    /// Passes when auth is off, `required` is empty, or the token holds one of them (or is an
    /// administrator's); a 403 naming them otherwise.
    pub fn require(&self, required: &[String]) -> Result<(), Failure> {
        match (&self.auth, &self.claims) {
            (None, _) => Ok(()),
            (Some(_), Some(claims)) if has_scopes(&claims.scopes, required) => Ok(()),
            (Some(_), Some(_)) => Err(Failure::forbidden(required)),
            (Some(_), None) => Err(Failure::unauthorized("authentication required")),
        }
    }

    /// Passes for administrators (and when auth is off); a 403 otherwise.
    pub fn require_admin(&self) -> Result<(), Failure> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Failure::forbidden(&[ADMIN.to_string()]))
        }
    }

    /// Passes when the caller may call `service`'s `endpoint`: the scopes stored for it or,
    /// when none are, those it `published`.
    pub async fn require_endpoint(
        &self,
        service: &str,
        endpoint: &str,
        published: &[String],
    ) -> Result<(), Failure> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        let Some(claims) = &self.claims else {
            return Err(Failure::unauthorized("authentication required"));
        };
        match auth.unmet_scopes(claims, service, endpoint, published).await {
            Ok(None) => Ok(()),
            Ok(Some(required)) => Err(Failure::forbidden(&required)),
            Err(err) => Err(Failure::from_error(&err)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Failure> {
        let (caller, source) = Self::find(parts).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if source == Some(Source::Cookie) && !safe && !same_site(&parts.headers) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "cross-site request refused: a request authenticated by the session cookie must \
                 come from this site's own pages (or send the micro_csrf cookie's value in \
                 X-CSRF-Token); scripts and tools should send Authorization: Bearer instead",
            ));
        }
        Ok(caller)
    }
}

/// The token a request carries, and where from: `Authorization: Bearer`, then `?token=`, then
/// the cookie.
fn token(headers: &HeaderMap, query: Option<&str>) -> Option<(String, Source)> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(token) = bearer {
        return Some((token.to_string(), Source::Header));
    }
    let from_query = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(name, value)| name == "token" && !value.is_empty())
            .map(|(_, value)| value.into_owned())
    });
    if let Some(token) = from_query {
        return Some((token, Source::Query));
    }
    cookie(headers, TOKEN_COOKIE).map(|t| (t.to_string(), Source::Cookie))
}

/// The value of cookie `name`, if the request sent a non-empty one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// True when the browser says the request came from this origin (`Sec-Fetch-Site`, else an
/// `Origin` naming the `Host`), or it echoes the CSRF cookie in [`CSRF_HEADER`].
fn same_site(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let (Some(secret), Some(echoed)) = (cookie(headers, CSRF_COOKIE), text(CSRF_HEADER)) {
        return equal(secret, echoed);
    }
    if let Some(site) = text("sec-fetch-site") {
        return site == "same-origin" || site == "none";
    }
    same_site_origin(headers)
}

/// True when a form post echoes the request's CSRF cookie in its `field` and, if the browser
/// says where it came from, came from this host.
pub fn form_csrf_ok(headers: &HeaderMap, field: Option<&str>) -> bool {
    let origin_ok = headers.get(header::ORIGIN).is_none() || same_site_origin(headers);
    match (cookie(headers, CSRF_COOKIE), field) {
        (Some(secret), Some(field)) => {
            origin_ok && equal(secret, field)
        }
        _ => false,
    }
}

/// Compares secrets in constant time.
fn equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// True when `Origin` names the request's `Host`.
fn same_site_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match (text(header::ORIGIN), text(header::HOST)) {
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, o)| o == host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
            token(&all, Some("token=from-query")),
            Some(("from-header".into(), Source::Header))
        );
        let no_header = headers(&[("cookie", "a=1; micro_token=from-cookie")]);
        assert_eq!(
            token(&no_header, Some("x=1&token=from-query")),
            Some(("from-query".into(), Source::Query))
        );
        assert_eq!(
            token(&no_header, None),
            Some(("from-cookie".into(), Source::Cookie))
        );
        assert_eq!(token(&headers(&[]), Some("token=")), None);
    }

    #[test]
    fn only_same_site_requests_or_an_echoed_secret_pass_the_cookie_check() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_site(&headers(&[("origin", "http://h:1"), ("host", "h:1")])));
        assert!(!same_site(&headers(&[
            ("origin", "http://localhost:3000"),
            ("host", "localhost:8080")
        ])));
        assert!(!same_site(&headers(&[("host", "h:1")])));
        let echoed = [("cookie", "micro_csrf=abc"), ("x-csrf-token", "abc")];
        assert!(same_site(&headers(&echoed)));
        let wrong = [("cookie", "micro_csrf=abc"), ("x-csrf-token", "abd")];
        assert!(!same_site(&headers(&wrong)));
    }

    #[test]
    fn form_csrf_needs_the_cookie_echoed_from_the_same_origin() {
        let good = headers(&[("cookie", "micro_csrf=abc"), ("host", "h:1")]);
        assert!(form_csrf_ok(&good, Some("abc")));
        assert!(!form_csrf_ok(&good, Some("abd")));
        assert!(!form_csrf_ok(&good, None));
        assert!(!form_csrf_ok(&headers(&[("host", "h:1")]), Some("abc")));
        let cross = headers(&[
            ("cookie", "micro_csrf=abc"),
            ("host", "h:1"),
            ("origin", "http://evil:1"),
        ]);
        assert!(!form_csrf_ok(&cross, Some("abc")));
        let same = headers(&[
            ("cookie", "micro_csrf=abc"),
            ("host", "h:1"),
            ("origin", "http://h:1"),
        ]);
        assert!(form_csrf_ok(&same, Some("abc")));
    }
}
