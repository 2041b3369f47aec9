//! Which `Host` (and `Origin`) a face answers: against DNS rebinding, a page on another site
//! whose name now points at 127.0.0.1 must not reach the gateway, so every request names an
//! allowed host or gets a 403. Allowed are the loopback names, the address the face is bound
//! to (every interface address when bound to all of them) and whatever the operator adds
//! (`--allowed-host`).

use super::Failure;
use axum::http::header::{self, HeaderMap};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::{Either, Ready, ready};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::Service;

/// The hosts allowed on every face: loopback by name and address, on any port.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// The hosts a face answers.
#[derive(Debug, Clone)]
pub struct Hosts {
    allowed: Arc<Vec<String>>,
}

impl Hosts {
    /// The loopback names, the face's own `bound` address (or, bound to every interface, the
    /// machine's name and addresses) and `extra` (each a host, or `host:port` for one port).
    pub fn new(bound: SocketAddr, extra: &[String]) -> Hosts {
        let mut allowed: Vec<String> = DEFAULT_ALLOWED_HOSTS
            .iter()
            .map(|h| h.to_string())
            .collect();
        if bound.ip().is_unspecified() {
            allowed.push(gethostname::gethostname().to_string_lossy().into_owned());
            for interface in if_addrs::get_if_addrs().unwrap_or_default() {
                allowed.push(SocketAddr::new(interface.ip(), bound.port()).to_string());
            }
        } else {
            allowed.push(bound.to_string());
        }
        allowed.extend(extra.iter().cloned());
        Hosts {
            allowed: Arc::new(allowed),
        }
    }

    /// Refuses a request without a `Host`, or whose `Host` or `Origin` is not allowed.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Failure> {
        let refuse = |why: String| Failure::new(StatusCode::FORBIDDEN, why);
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| refuse("send a Host header".to_string()))?;
        if !self.allows(host) {
            return Err(refuse(format!(
                "host {host:?} is not allowed; add it with --allowed-host if it is really this server"
            )));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            if !authority.is_some_and(|a| self.allows(a)) {
                return Err(refuse(format!("origin {origin:?} is not allowed")));
            }
        }
        Ok(())
    }

    /// True when `authority` (`host[:port]`) matches an allowed host, and its port if given.
    pub fn allows(&self, authority: &str) -> bool {
        let (host, port) = split_authority(authority);
        self.allowed.iter().any(|allowed| {
            let (allowed_host, allowed_port) = split_authority(allowed);
            allowed_host.eq_ignore_ascii_case(host) && allowed_port.is_none_or(|p| Some(p) == port)
        })
    }
}

/// The service refusing requests for hosts that are not allowed, before `inner` sees them;
/// with no hosts, every request passes.
#[derive(Clone)]
pub(crate) struct CheckHost<S> {
    pub(super) hosts: Option<Hosts>,
    pub(super) inner: S,
}

impl<S, B> Service<Request<B>> for CheckHost<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.hosts.as_ref().map(|h| h.check(request.headers())) {
            Some(Err(failure)) => Either::Left(ready(Ok(failure.into_response()))),
            _ => Either::Right(self.inner.call(request)),
        }
    }
}

/// `host[:port]` into its host (IPv6 without brackets) and port.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, after.strip_prefix(':'));
    }
    match authority.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host, Some(port)),
        Some(_) => (authority, None), // a bare IPv6 address
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(
            split_authority("localhost:3000"),
            ("localhost", Some("3000"))
        );
        assert_eq!(split_authority("127.0.0.1"), ("127.0.0.1", None));
        assert_eq!(split_authority("[::1]:8080"), ("::1", Some("8080")));
        assert_eq!(split_authority("[::1]"), ("::1", None));
        assert_eq!(split_authority("::1"), ("::1", None));
    }

    #[test]
    fn loopback_the_bound_address_and_extra_hosts_pass_and_others_do_not() {
        let hosts = Hosts::new(
            "10.1.2.3:8080".parse().unwrap(),
            &["api.example:443".into()],
        );
        for host in [
            "localhost:8080",
            "127.0.0.1",
            "[::1]:1",
            "10.1.2.3:8080",
            "api.example:443",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in [
            "10.1.2.3:9",
            "evil.example",
            "api.example:80",
            "localhost.evil",
        ] {
            assert!(!hosts.allows(host), "{host}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        assert!(hosts.check(&headers).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert_eq!(
            hosts.check(&headers).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
    }
}
