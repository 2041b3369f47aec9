//! The login page and the administrator's pages: users, tokens and endpoint scopes.

use super::{Visit, redirect, token_cookie};
use crate::gateway::routes::{Reply, Shared};
use hyper::StatusCode;
use hyper::body::Incoming;
use std::net::IpAddr;

/// `GET /auth/login` shows the form; `POST` (a form) logs in.
pub(super) async fn login(visit: &Visit<'_>, _peer: IpAddr) -> Reply {
    visit.error_page(StatusCode::NOT_IMPLEMENTED, "login is being built")
}

/// `POST /auth/login` with a JSON body `{"id","password"}`, answered with `{"token"}`.
pub(super) async fn login_json(_shared: &Shared, _body: Incoming, _peer: IpAddr) -> Reply {
    crate::gateway::routes::error(StatusCode::NOT_IMPLEMENTED, "login is being built")
}

/// Clears the session cookie and goes back to the login page.
pub(super) fn logout() -> Reply {
    let mut reply = redirect("/auth/login");
    super::set_cookie(&mut reply, &token_cookie("", 0));
    reply
}

/// The administrator's pages under `/auth/`: users, tokens, scopes.
pub(super) async fn admin(visit: &Visit<'_>) -> Reply {
    visit.error_page(StatusCode::NOT_FOUND, "no such page")
}
