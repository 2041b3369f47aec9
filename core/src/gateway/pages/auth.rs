//! The login page and the administrator's pages: users, tokens and endpoint scopes.
//!
//! Every admin form posts to its own path and, when it worked, goes back to its page with a
//! short note of what was done (`?done=<what>&on=<name>`); a failed form shows the page again
//! with the error and the status of the failure (400, 404, 409, ...). A new token is the
//! exception: its page is rendered at once, since the token's text is shown only that once.

use super::{MAX_FORM_SIZE, Visit, redirect, refresh_default_password, set_cookie, token_cookie};
use crate::auth::{ALL_SCOPES, Auth, DEFAULT_ADMIN, DEFAULT_TTL, Kind, Token};
use crate::errors::Error;
use crate::gateway::ID;
use crate::gateway::routes::{Reply, Shared};
use crate::http::{self, Caller, Failure, encode, json, read_body};
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::{OffsetDateTime, PrimitiveDateTime};

/// The longest lifetime a token made on the tokens page may have: ten years, in hours.
const MAX_TTL_HOURS: u64 = 10 * 365 * 24;
/// The lifetime of a token made on the tokens page when none is given, in hours.
const DEFAULT_TTL_HOURS: u64 = 24;

/// Seconds since the Unix epoch of `time` (0 before it).
fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `GET /auth/login` shows the form; `POST` (a form) logs in and goes on to the page asked
/// for, with the session cookie set.
pub(super) async fn login(visit: &Visit<'_>, peer: IpAddr) -> Reply {
    let Some(auth) = visit.shared.auth.as_deref() else {
        return auth_off(visit);
    };
    let Some(form) = &visit.form else {
        let next = query_value(visit, "next");
        return login_page(visit, StatusCode::OK, local_path(next.as_deref()), "", None);
    };
    let next = local_path(form.get("next"));
    let id = form.get("id").unwrap_or_default().trim();
    let password = form.get("password").unwrap_or_default();
    match auth.login_from(peer, id, password).await {
        Ok(token) => {
            let mut reply = redirect(next);
            set_session(&mut reply, &token);
            reply
        }
        Err(refusal) => {
            let wait = refusal.retry_after;
            let failure = Failure::from(refusal);
            let mut page = login_page(visit, failure.status(), next, id, Some(failure.message()));
            if let Some(wait) = wait {
                http::retry_after(page.headers_mut(), wait);
            }
            page
        }
    }
}

/// Sets `token` as the session cookie, living as long as the token.
fn set_session(reply: &mut Reply, token: &Token) {
    let lifetime = token
        .expires
        .duration_since(SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    set_cookie(reply, &token_cookie(&token.token, lifetime));
}

/// The login form, coming back to `next` afterwards.
fn login_page(
    visit: &Visit<'_>,
    status: StatusCode,
    next: &str,
    id: &str,
    error: Option<&str>,
) -> Reply {
    visit.render_with(
        status,
        "login.html",
        context! { title => "Log in", next => next, id => id, error => error },
    )
}

/// `next` when it is a path on this site, else `/`: never another site (`//host`, `http:`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

/// The first value of query parameter `name`.
fn query_value(visit: &Visit<'_>, name: &str) -> Option<String> {
    let query = visit.parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The body of a JSON login.
#[derive(Deserialize)]
struct Credentials {
    id: String,
    password: String,
}

/// The answer to a JSON login.
#[derive(Serialize)]
struct Issued<'a> {
    token: &'a str,
    /// Expiry, in seconds since the Unix epoch.
    expires: u64,
}

/// `POST /auth/login` with a JSON body `{"id","password"}`, answered with
/// `{"token","expires"}`; rate limited like the form.
pub(super) async fn login_json(shared: &Shared, body: Body, peer: IpAddr) -> Reply {
    let Some(auth) = shared.auth.as_deref() else {
        return Failure::new(
            StatusCode::NOT_FOUND,
            "auth is off on this gateway; there is nothing to log in to",
        )
        .into_response();
    };
    let body = match read_body(body, MAX_FORM_SIZE).await {
        Ok(body) => body,
        Err(failure) => return failure.into_response(),
    };
    let credentials: Credentials = match serde_json::from_slice(&body) {
        Ok(credentials) => credentials,
        Err(err) => {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "the body is not a JSON login ({err}); send {{\"id\":\"<account>\",\"password\":\"<password>\"}}"
                ),
            )
            .into_response();
        }
    };
    issued(
        auth.login_from(peer, &credentials.id, &credentials.password)
            .await,
    )
}

/// `{"token","expires"}` for a new session, or the refusal.
fn issued(result: Result<Token, crate::auth::Refusal>) -> Reply {
    match result {
        Ok(token) => json(
            StatusCode::OK,
            encode(&Issued {
                token: &token.token,
                expires: unix_secs(token.expires),
            }),
        ),
        Err(refusal) => Failure::from(refusal).into_response(),
    }
}

/// `GET /auth/password` shows the form for changing one's own password; `POST` (a form with
/// `current` and `password`) changes it, revoking every session of the account, and sets the
/// new session.
pub(super) async fn password(visit: &Visit<'_>, peer: IpAddr) -> Reply {
    let (Some(auth), Some(claims)) = (visit.shared.auth.as_deref(), visit.claims()) else {
        return auth_off(visit);
    };
    let Some(form) = &visit.form else {
        return password_page(visit, StatusCode::OK, false, None);
    };
    let current = form.get("current").unwrap_or_default();
    let new = form.get("password").unwrap_or_default();
    match auth
        .change_own_password(peer, &claims.sub, current, new)
        .await
    {
        Ok(token) => {
            if claims.sub == DEFAULT_ADMIN {
                refresh_default_password(visit.shared).await;
            }
            let mut reply = password_page(visit, StatusCode::OK, true, None);
            set_session(&mut reply, &token);
            reply
        }
        Err(refusal) => {
            let failure = Failure::from(refusal);
            password_page(visit, failure.status(), false, Some(failure.message()))
        }
    }
}

fn password_page(
    visit: &Visit<'_>,
    status: StatusCode,
    changed: bool,
    error: Option<&str>,
) -> Reply {
    visit.render_with(
        status,
        "password.html",
        context! { title => "Password", changed => changed, error => error },
    )
}

/// `POST /auth/password` with a JSON body `{"current","password"}`, answered with the new
/// session `{"token","expires"}`.
pub(super) async fn password_json(
    shared: &Shared,
    parts: &Parts,
    body: Body,
    peer: IpAddr,
) -> Reply {
    let Some(auth) = shared.auth.as_deref() else {
        return Failure::new(StatusCode::NOT_FOUND, "auth is off on this gateway").into_response();
    };
    let caller = match Caller::from_request_parts(&mut parts.clone(), &()).await {
        Ok(caller) => caller,
        Err(failure) => return failure.into_response(),
    };
    let Some(claims) = caller.claims() else {
        return Failure::unauthorized("authentication required").into_response();
    };
    let body = match read_body(body, MAX_FORM_SIZE).await {
        Ok(body) => body,
        Err(failure) => return failure.into_response(),
    };
    let Ok(change) = serde_json::from_slice::<PasswordChange>(&body) else {
        return Failure::new(
            StatusCode::BAD_REQUEST,
            r#"send {"current":"<your password>","password":"<the new one>"}"#,
        )
        .into_response();
    };
    issued(
        auth.change_own_password(peer, &claims.sub, &change.current, &change.password)
            .await,
    )
}

/// A JSON password change.
#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    password: String,
}

/// Revokes the token the request carries, clears the session cookie and goes back to the login
/// page.
pub(super) async fn logout(shared: &Shared, parts: &Parts) -> Reply {
    if let (Some(auth), Ok(caller)) = (&shared.auth, Caller::identify(parts).await)
        && let Some(claims) = caller.claims()
        && let Err(err) = auth.revoke(&claims.jti).await
    {
        tracing::warn!(account = %claims.sub, "cannot revoke the token on logout: {err}");
    }
    logged_out()
}

/// Clears the session cookie and goes back to the login page.
fn logged_out() -> Reply {
    let mut reply = redirect("/auth/login");
    set_cookie(&mut reply, &token_cookie("", 0));
    reply
}

/// The page answering when auth is off but the dashboard is on.
fn auth_off(visit: &Visit<'_>) -> Reply {
    visit.error_page(
        StatusCode::NOT_FOUND,
        "auth is off on this gateway: there are no accounts, tokens or scopes to manage",
    )
}

/// The administrator's pages.
#[derive(Clone, Copy)]
enum Page {
    Users,
    Tokens,
    Scopes,
}

impl Page {
    /// The page named by the path segment after `/auth/`.
    fn named(name: &str) -> Option<Page> {
        match name {
            "users" => Some(Page::Users),
            "tokens" => Some(Page::Tokens),
            "scopes" => Some(Page::Scopes),
            _ => None,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Page::Users => "/auth/users",
            Page::Tokens => "/auth/tokens",
            Page::Scopes => "/auth/scopes",
        }
    }
}

/// What a form that worked did.
enum Done {
    /// Back to the page with a note: `what` was done `on` something (`count` of them).
    Note {
        what: &'static str,
        on: String,
        count: usize,
        /// A new session for the caller, whose own was just revoked (their password changed).
        session: Option<Token>,
    },
    /// The tokens page, showing the new token once.
    Token(Token),
    /// The caller deleted their own account and is logged out.
    LoggedOut,
}

impl Done {
    fn note(what: &'static str, on: impl Into<String>) -> Done {
        Done::Note {
            what,
            on: on.into(),
            count: 1,
            session: None,
        }
    }
}

/// The note shown for `?done=<what>&on=<name>&n=<count>`; only these fixed sentences, so a
/// link cannot make the page say anything else.
fn note(what: &str, on: &str, count: usize) -> Option<String> {
    Some(match what {
        "created" => format!("Created the account {on}."),
        "deleted" => format!("Deleted the account {on} and revoked its tokens."),
        "password" => format!("Changed the password of {on}."),
        "revoked" => format!("Revoked the token {on}."),
        "scoped" => format!("Saved the scopes of {on}."),
        "bulk" => format!("Saved the scopes of {count} endpoint(s) matching {on}."),
        _ => return None,
    })
}

/// What a page shows above its content: the outcome of the last form.
struct Notice {
    status: StatusCode,
    error: Option<String>,
    done: Option<String>,
    token: Option<Token>,
}

impl Notice {
    fn new(status: StatusCode) -> Notice {
        Notice {
            status,
            error: None,
            done: None,
            token: None,
        }
    }

    /// The note a redirect after a form carried in the query, if any.
    fn from_query(visit: &Visit<'_>) -> Notice {
        let done = query_value(visit, "done").and_then(|what| {
            let on = query_value(visit, "on").unwrap_or_default();
            let count = query_value(visit, "n")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            note(&what, &on, count)
        });
        Notice {
            done,
            ..Notice::new(StatusCode::OK)
        }
    }

    fn failed(err: &Error) -> Notice {
        Notice {
            error: Some(err.detail.clone()),
            ..Notice::new(Failure::from_error(err).status())
        }
    }
}

/// The administrator's pages under `/auth/`: users, tokens, scopes, and their forms.
pub(super) async fn admin(visit: &Visit<'_>) -> Reply {
    let Some(auth) = visit.shared.auth.as_deref() else {
        return auth_off(visit);
    };
    let rest = visit.path.trim_start_matches("/auth/");
    let (name, action) = match rest.split_once('/') {
        Some((name, action)) => (name, Some(action)),
        None => (rest, None),
    };
    let Some(page) = Page::named(name) else {
        return visit.error_page(StatusCode::NOT_FOUND, "no such page");
    };
    let Some(form) = &visit.form else {
        return match action {
            None => show(visit, auth, page, Notice::from_query(visit)).await,
            // A form's action opened by hand: show the page its form is on.
            Some(_) => redirect(page.path()),
        };
    };
    let done = match (page, action) {
        (Page::Users, None) => create_user(visit, auth, form).await,
        (Page::Users, Some("delete")) => delete_user(visit, auth, form).await,
        (Page::Users, Some("password")) => change_password(visit, auth, form).await,
        (Page::Tokens, None) => create_token(visit, auth, form).await,
        (Page::Tokens, Some("revoke")) => revoke_token(auth, form).await,
        (Page::Scopes, None) => set_scopes(auth, form).await,
        (Page::Scopes, Some("bulk")) => bulk_scopes(visit.shared, auth, form).await,
        _ => return visit.error_page(StatusCode::NOT_FOUND, "no such page"),
    };
    match done {
        Ok(Done::Note {
            what,
            on,
            count,
            session,
        }) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("done", what)
                .append_pair("on", &on)
                .append_pair("n", &count.to_string())
                .finish();
            let mut reply = redirect(&format!("{}?{query}", page.path()));
            if let Some(token) = session {
                set_session(&mut reply, &token);
            }
            reply
        }
        Ok(Done::Token(token)) => {
            let notice = Notice {
                token: Some(token),
                ..Notice::new(StatusCode::OK)
            };
            show(visit, auth, page, notice).await
        }
        Ok(Done::LoggedOut) => logged_out(),
        Err(err) => show(visit, auth, page, Notice::failed(&err)).await,
    }
}

/// Renders `page` with what it lists and `notice` on top.
async fn show(visit: &Visit<'_>, auth: &Auth, page: Page, notice: Notice) -> Reply {
    let listed = match page {
        Page::Users => users(auth).await,
        Page::Tokens => tokens(visit, auth, notice.token.as_ref()).await,
        Page::Scopes => scopes(visit.shared, auth).await,
    };
    let (template, content) = match listed {
        Ok(listed) => listed,
        Err(err) => return visit.error_page(Failure::from_error(&err).status(), &err.detail),
    };
    visit.render_with(
        notice.status,
        template,
        context! { ..content, ..context! { error => notice.error, done => notice.done } },
    )
}

/// A non-empty, trimmed form field, or a 400 naming it.
fn required<'f>(form: &'f super::Form, name: &str) -> Result<&'f str, Error> {
    match form.get(name).map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(Error::bad_request(
            ID,
            format!("the form has no {name}: fill it in and send it again"),
        )),
    }
}

/// A comma-separated scopes field as a list (empty when left out).
fn scopes_field(form: &super::Form) -> Vec<String> {
    form.get("scopes")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// An account as the users page lists it.
#[derive(Serialize)]
struct AccountRow {
    id: String,
    kind: &'static str,
    scopes: Vec<String>,
    created: String,
}

async fn users(auth: &Auth) -> Result<(&'static str, Value), Error> {
    let accounts: Vec<AccountRow> = auth
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| AccountRow {
            created: utc(a.created),
            kind: a.kind.as_str(),
            id: a.id,
            scopes: a.scopes,
        })
        .collect();
    Ok((
        "users.html",
        context! { title => "Users", accounts => accounts },
    ))
}

/// `POST /auth/users`: id, password (none for a service account), kind, scopes.
async fn create_user(visit: &Visit<'_>, auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let id = required(form, "id")?;
    let kind = match form.get("kind").unwrap_or("user").trim() {
        "user" | "" => Kind::User,
        "admin" => Kind::Admin,
        "service" => Kind::Service,
        other => {
            return Err(Error::bad_request(
                ID,
                format!("unknown kind {other:?}: choose user, admin or service"),
            ));
        }
    };
    let password = form.get("password").filter(|p| !p.is_empty());
    auth.create_account(id, kind, password, &scopes_field(form))
        .await?;
    if id == DEFAULT_ADMIN {
        refresh_default_password(visit.shared).await;
    }
    Ok(Done::note("created", id))
}

/// `POST /auth/users/delete`: id. Deleting yourself logs you out.
async fn delete_user(visit: &Visit<'_>, auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let id = required(form, "id")?;
    auth.delete_account(id).await?;
    if id == DEFAULT_ADMIN {
        refresh_default_password(visit.shared).await;
    }
    if visit.claims().is_some_and(|c| c.sub == id) {
        return Ok(Done::LoggedOut);
    }
    Ok(Done::note("deleted", id))
}

/// `POST /auth/users/password`: id, password.
async fn change_password(
    visit: &Visit<'_>,
    auth: &Auth,
    form: &super::Form,
) -> Result<Done, Error> {
    let id = required(form, "id")?;
    auth.change_password(id, form.get("password").unwrap_or_default())
        .await?;
    if id == DEFAULT_ADMIN {
        refresh_default_password(visit.shared).await;
    }
    let mut done = Done::note("password", id);
    // Changing a password revokes that account's sessions, this one too when it is the
    // caller's own: hand the caller a new one.
    if let (Some(claims), Done::Note { session, .. }) = (visit.claims(), &mut done)
        && claims.sub == id
    {
        *session = Some(auth.issue(id, &claims.scopes, DEFAULT_TTL).await?);
    }
    Ok(done)
}

/// A live token as the tokens page lists it: never its text, only its id and grants.
#[derive(Serialize)]
struct TokenRow {
    id: String,
    short: String,
    subject: String,
    scopes: Vec<String>,
    issued: String,
    expires: String,
}

/// A token just made, shown once.
#[derive(Serialize)]
struct NewToken<'a> {
    token: &'a str,
    subject: &'a str,
    scopes: &'a [String],
    expires: String,
}

async fn tokens(
    visit: &Visit<'_>,
    auth: &Auth,
    new: Option<&Token>,
) -> Result<(&'static str, Value), Error> {
    let tokens: Vec<TokenRow> = auth
        .list_tokens(None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            short: short_id(&t.id),
            issued: utc(t.issued),
            expires: utc(t.expires),
            id: t.id,
            subject: t.subject,
            scopes: t.scopes,
        })
        .collect();
    let accounts: Vec<String> = auth
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let new_token = new.map(|t| NewToken {
        token: &t.token,
        subject: &t.subject,
        scopes: &t.scopes,
        expires: utc(unix_secs(t.expires)),
    });
    let me = visit.claims().map(|c| c.sub.as_str());
    Ok((
        "tokens.html",
        context! {
            title => "Tokens",
            tokens => tokens,
            accounts => accounts,
            me => me,
            new_token => new_token,
            default_ttl_hours => DEFAULT_TTL_HOURS,
            max_ttl_hours => MAX_TTL_HOURS,
        },
    ))
}

/// A token id as lists show it: its first 8 characters and an ellipsis.
fn short_id(id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("{short}…")
}

/// `POST /auth/tokens`: subject (default: yourself), scopes (default: the account's),
/// ttl_hours (default 24).
async fn create_token(visit: &Visit<'_>, auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let me = visit.claims().map(|c| c.sub.as_str());
    let subject = match form.get("subject").map(str::trim).filter(|s| !s.is_empty()) {
        Some(subject) => subject,
        None => me.ok_or_else(|| {
            Error::bad_request(
                ID,
                "the form has no subject: name the account the token is for",
            )
        })?,
    };
    let hours = match form.get("ttl_hours").map(str::trim).filter(|h| !h.is_empty()) {
        None => DEFAULT_TTL_HOURS,
        Some(hours) => hours
            .parse::<u64>()
            .ok()
            .filter(|h| (1..=MAX_TTL_HOURS).contains(h))
            .ok_or_else(|| {
                Error::bad_request(
                    ID,
                    format!(
                        "ttl_hours {hours:?} is not a whole number of hours from 1 to {MAX_TTL_HOURS}"
                    ),
                )
            })?,
    };
    let mut scopes = scopes_field(form);
    if scopes.is_empty() {
        scopes = auth.account(subject).await?.scopes;
    }
    let token = auth
        .issue(subject, &scopes, Duration::from_secs(hours * 3600))
        .await?;
    Ok(Done::Token(token))
}

/// `POST /auth/tokens/revoke`: id, the token's full id.
async fn revoke_token(auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let id = required(form, "id")?;
    auth.revoke(id).await?;
    Ok(Done::note("revoked", short_id(id)))
}

/// An endpoint as the scopes page lists it.
#[derive(Serialize)]
struct EndpointRow {
    endpoint: String,
    scopes: Vec<String>,
    /// False for scopes kept for an endpoint no running service has now.
    registered: bool,
}

async fn scopes(shared: &Shared, auth: &Auth) -> Result<(&'static str, Value), Error> {
    let registered = registered_endpoints(shared).await?;
    let mut set: BTreeMap<String, Vec<String>> = auth.list_scopes().await?.into_iter().collect();
    let mut rows: Vec<EndpointRow> = registered
        .iter()
        .map(|endpoint| EndpointRow {
            scopes: set.remove(endpoint).unwrap_or_default(),
            endpoint: endpoint.clone(),
            registered: true,
        })
        .collect();
    rows.extend(set.into_iter().map(|(endpoint, scopes)| EndpointRow {
        endpoint,
        scopes,
        registered: false,
    }));
    Ok((
        "scopes.html",
        context! { title => "Scopes", endpoints => rows, all_scopes => ALL_SCOPES },
    ))
}

/// Every endpoint of every registered service, as `service.Handler.Method`, sorted.
async fn registered_endpoints(shared: &Shared) -> Result<Vec<String>, Error> {
    let names: BTreeSet<String> = shared
        .cache
        .registry()
        .list_services()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut endpoints = BTreeSet::new();
    for name in &names {
        // A service that went away between the list and the lookup has no endpoints now.
        let Ok(versions) = shared.cache.lookup(name).await else {
            continue;
        };
        for endpoint in versions.iter().flat_map(|s| &s.endpoints) {
            endpoints.insert(format!("{name}.{}", endpoint.name));
        }
    }
    Ok(endpoints.into_iter().collect())
}

/// `POST /auth/scopes`: endpoint (`service.Handler.Method`), scopes (empty clears them).
async fn set_scopes(auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let endpoint = required(form, "endpoint")?;
    let parts: Vec<&str> = endpoint.rsplitn(3, '.').collect();
    let [method, handler, service] = parts[..] else {
        return Err(not_an_endpoint(endpoint));
    };
    if [method, handler, service].contains(&"") {
        return Err(not_an_endpoint(endpoint));
    }
    auth.set_scopes(service, &format!("{handler}.{method}"), &scopes_field(form))
        .await?;
    Ok(Done::note("scoped", endpoint))
}

fn not_an_endpoint(endpoint: &str) -> Error {
    Error::bad_request(
        ID,
        format!("{endpoint:?} is not an endpoint: write it as service.Handler.Method"),
    )
}

/// `POST /auth/scopes/bulk`: pattern (`*` for any run of characters), scopes, applied to the
/// registered endpoints.
async fn bulk_scopes(shared: &Shared, auth: &Auth, form: &super::Form) -> Result<Done, Error> {
    let pattern = required(form, "pattern")?;
    let endpoints = registered_endpoints(shared).await?;
    let count = auth
        .set_scopes_matching(pattern, &endpoints, &scopes_field(form))
        .await?;
    Ok(Done::Note {
        what: "bulk",
        on: pattern.to_string(),
        count,
        session: None,
    })
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM UTC` (past year 9999, its last minute).
fn utc(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path(Some("/services?x=1")), "/services?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "evil",
            "/\\evil",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn times_read_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_795_477_230), "2026-11-23 23:40 UTC");
        assert_eq!(utc(u64::MAX), "9999-12-31 23:59 UTC");
    }

    #[test]
    fn notes_are_fixed_sentences() {
        assert_eq!(
            note("bulk", "greeter.*", 3).as_deref(),
            Some("Saved the scopes of 3 endpoint(s) matching greeter.*.")
        );
        assert_eq!(note("anything else", "x", 1), None);
    }
}
