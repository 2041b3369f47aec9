//! The gateway's HTML: the login and account pages (`/auth/...`, [`auth`]) and, in dashboard
//! mode, the dashboard ([`dashboard`]) with, given the `ai` feature, the agent playground
//! (`agent`). Pages are rendered on the server with minijinja from
//! templates compiled into the binary; forms post back to the page they sit on, carry a CSRF
//! field, and work without JavaScript.

#[cfg(feature = "ai")]
mod agent;
mod auth;
mod dashboard;

use super::routes::{Reply, Shared};
use crate::auth::Claims;
use crate::http::caller::{CSRF_COOKIE, TOKEN_COOKIE, cookie, form_csrf_ok};
use crate::http::{Caller, Failure, read_body};
use ::cookie::{Cookie, SameSite};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use minijinja::{Environment, Value, context};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest form body taken: 64 KiB.
const MAX_FORM_SIZE: usize = 64 << 10;
/// The form field carrying the CSRF secret.
const CSRF_FIELD: &str = "csrf";

/// The templates, compiled in.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("users.html", include_str!("../templates/users.html")),
    ("tokens.html", include_str!("../templates/tokens.html")),
    ("scopes.html", include_str!("../templates/scopes.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("services.html", include_str!("../templates/services.html")),
    ("service.html", include_str!("../templates/service.html")),
    ("endpoint.html", include_str!("../templates/endpoint.html")),
    ("api.html", include_str!("../templates/api.html")),
    ("logs.html", include_str!("../templates/logs.html")),
    ("log.html", include_str!("../templates/log.html")),
    ("status.html", include_str!("../templates/status.html")),
    ("password.html", include_str!("../templates/password.html")),
    #[cfg(feature = "ai")]
    ("agent.html", include_str!("../templates/agent.html")),
];
const STYLES: &str = include_str!("../templates/styles.css");
const SCRIPT: &str = include_str!("../templates/main.js");
/// The agent playground's script: the prompt and its streamed reply.
#[cfg(feature = "ai")]
const AGENT_SCRIPT: &str = include_str!("../templates/agent.js");

/// The templates, what every page shows and whether the dashboard is on.
pub(super) struct Pages {
    templates: Environment<'static>,
    /// `Some` turns the dashboard on; inside, what answers its logs and status pages.
    pub(super) dashboard: Option<Option<Arc<dyn super::RunStatus>>>,
    /// True while the default admin still has the default password.
    default_password: AtomicBool,
    /// The agent playground, served with the dashboard.
    #[cfg(feature = "ai")]
    pub(super) agent: Option<Arc<super::agent::Playground>>,
}

impl Pages {
    /// The compiled-in templates, the dashboard on when `dashboard` (what answers its logs and
    /// status pages) is given; `default_password` says whether to warn about `admin`/`micro`;
    /// `agent` is the agent playground, if served.
    pub(super) fn new(
        dashboard: Option<Option<Arc<dyn super::RunStatus>>>,
        default_password: bool,
        #[cfg(feature = "ai")] agent: Option<Arc<super::agent::Playground>>,
    ) -> Pages {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates
                .add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e:#}"));
        }
        Pages {
            templates,
            dashboard,
            default_password: AtomicBool::new(default_password),
            #[cfg(feature = "ai")]
            agent,
        }
    }
}

/// The pages' router: the style sheet and script, `/auth/...` (login and, for administrators,
/// accounts, tokens and scopes) and, in dashboard mode, every path no other route takes, with
/// the agent playground's script and JSON routes when it is served.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route(
            "/styles.css",
            get(|| async { asset(STYLES, "text/css; charset=utf-8") }),
        )
        .route(
            "/main.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route("/auth/logout", any(logout))
        .route("/auth/{*page}", any(page));
    if shared.pages.dashboard.is_some() {
        router = router.fallback(page);
    }
    #[cfg(feature = "ai")]
    let agent = shared.pages.agent.clone();
    let router = router.with_state(shared);
    #[cfg(feature = "ai")]
    let router = match agent {
        Some(playground) => router
            .route(
                "/agent.js",
                get(|| async { asset(AGENT_SCRIPT, "text/javascript; charset=utf-8") }),
            )
            .merge(super::agent::router(playground)),
        None => router,
    };
    router
}

async fn logout(State(shared): State<Arc<Shared>>, request: Request) -> Reply {
    let (parts, _) = request.into_parts();
    auth::logout(&shared, &parts).await
}

async fn page(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Reply {
    let (parts, body) = request.into_parts();
    let path = percent_encoding::percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    // Boxed: the pages' future is large.
    Box::pin(handle(&shared, parts, body, peer.ip(), &path)).await
}

/// A form's fields, in the order sent.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of field `name`.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request to a page: who is asking and what they sent.
pub(super) struct Visit<'a> {
    /// What every request shares.
    pub(super) shared: &'a Shared,
    /// The request line and headers.
    pub(super) parts: &'a Parts,
    /// The decoded path.
    pub(super) path: &'a str,
    /// Who is asking.
    pub(super) caller: Caller,
    /// The posted form, already CSRF-checked; `None` for a GET.
    pub(super) form: Option<Form>,
    /// The CSRF secret the page's forms carry, and whether it must be set as a cookie.
    csrf: (String, bool),
}

/// Answers a request to a page.
async fn handle(shared: &Shared, parts: Parts, body: Body, peer: IpAddr, path: &str) -> Reply {
    let login = path == "/auth/login";
    if login && parts.method == Method::POST && is_json(&parts) {
        return auth::login_json(shared, body, peer).await;
    }
    if path == "/auth/password" && parts.method == Method::POST && is_json(&parts) {
        return auth::password_json(shared, &parts, body, peer).await;
    }
    let caller = if login {
        Ok(Caller::anonymous(shared.auth.clone()))
    } else {
        Caller::identify(&parts).await
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(_) if parts.method == Method::GET => return to_login(path),
        Err(failure) => return failure.into_response(),
    };
    let csrf = match cookie(&parts.headers, CSRF_COOKIE) {
        Some(secret) => (secret.to_string(), false),
        None => (new_csrf(), true),
    };
    let form = match parts.method {
        Method::GET | Method::HEAD => None,
        Method::POST => match read_form(&parts, body).await {
            Ok(form) => Some(form),
            Err(failure) => return failure.into_response(),
        },
        _ => {
            return Failure::new(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST").into_response();
        }
    };
    let visit = Visit {
        shared,
        parts: &parts,
        path,
        caller,
        form,
        csrf,
    };
    if login {
        return auth::login(&visit, peer).await;
    }
    if path == "/auth/password" {
        return auth::password(&visit, peer).await;
    }
    if path.starts_with("/auth/") {
        if !visit.is_admin() {
            return visit.error_page(
                StatusCode::FORBIDDEN,
                "only administrators (scope * or micro:admin) manage accounts, tokens and scopes",
            );
        }
        return auth::admin(&visit).await;
    }
    dashboard::page(&visit).await
}

/// A fresh CSRF secret for the `micro_csrf` cookie.
fn new_csrf() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// True when the request says its body is JSON.
fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// The posted form, or the answer refusing it: too large, not a form, or failing the CSRF
/// check.
async fn read_form(parts: &Parts, body: Body) -> Result<Form, Failure> {
    let body = read_body(body, MAX_FORM_SIZE).await?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let echoed = fields
        .iter()
        .find(|(n, _)| n == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    if !form_csrf_ok(&parts.headers, echoed) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "CSRF check failed: post forms from this site's own pages (reload the page and try again)",
        ));
    }
    Ok(Form(fields))
}

/// The logged-in user as templates see it.
#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
    admin: bool,
}

impl Visit<'_> {
    /// True when auth is off or the caller is an administrator.
    pub(super) fn is_admin(&self) -> bool {
        self.shared.auth.is_none() || (self.caller.claims().is_some() && self.caller.is_admin())
    }

    /// Who is logged in; `None` when auth is off (and on the login page).
    pub(super) fn claims(&self) -> Option<&Claims> {
        self.caller.claims()
    }

    /// Renders template `name` with `page` merged over what every page gets: `user`, `csrf`,
    /// `auth` and `warning`.
    pub(super) fn render(&self, name: &str, page: Value) -> Reply {
        self.render_with(StatusCode::OK, name, page)
    }

    /// [`render`](Visit::render) with another status.
    pub(super) fn render_with(&self, status: StatusCode, name: &str, page: Value) -> Reply {
        let warning = self
            .shared
            .pages
            .default_password
            .load(Ordering::Relaxed)
            .then_some(
                "The admin account still has the default password \"micro\": change it on the Users page.",
            );
        let user = self.claims().map(|c| User {
            id: &c.sub,
            admin: crate::auth::is_admin(c),
        });
        let context = context! {
            ..page,
            ..context! {
                user => user,
                csrf => &self.csrf.0,
                auth => self.shared.auth.is_some(),
                warning => warning,
                path => self.path,
                agent => self.has_agent(),
            }
        };
        let mut reply = render(&self.shared.pages, status, name, context);
        if self.csrf.1 {
            set_cookie(
                &mut reply,
                &page_cookie(CSRF_COOKIE, &self.csrf.0).to_string(),
            );
        }
        reply
    }

    /// Whether the agent playground is served, for the navigation to link it.
    fn has_agent(&self) -> bool {
        #[cfg(feature = "ai")]
        let served = self.shared.pages.agent.is_some();
        #[cfg(not(feature = "ai"))]
        let served = false;
        served
    }

    /// An error page with `status` and `message`.
    pub(super) fn error_page(&self, status: StatusCode, message: &str) -> Reply {
        self.render_with(
            status,
            "error.html",
            context! { title => status.canonical_reason(), message => message },
        )
    }
}

/// Renders `name`, or a plain 500 naming the template error.
fn render(pages: &Pages, status: StatusCode, name: &str, context: Value) -> Reply {
    let text = pages
        .templates
        .get_template(name)
        .and_then(|t| t.render(context));
    match text {
        Ok(html) => {
            let mut reply = Response::new(Body::from(html));
            *reply.status_mut() = status;
            reply.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            reply
        }
        Err(err) => {
            tracing::error!(template = name, "cannot render a page: {err:#}");
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot render {name}: {err}"),
            )
            .into_response()
        }
    }
}

/// Tells the warning banner whether the default admin password is still in use.
pub(super) async fn refresh_default_password(shared: &Shared) {
    if let Some(auth) = &shared.auth {
        let unchanged = auth.default_password_unchanged().await.unwrap_or(false);
        shared
            .pages
            .default_password
            .store(unchanged, Ordering::Relaxed);
    }
}

/// A 303 to `location`.
pub(super) fn redirect(location: &str) -> Reply {
    let mut reply = Response::new(Body::empty());
    *reply.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        reply.headers_mut().insert(header::LOCATION, value);
    }
    reply
}

/// A 303 to the login page, which comes back to `path` afterwards.
fn to_login(path: &str) -> Reply {
    let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
    redirect(&format!("/auth/login?next={next}"))
}

/// Adds a `Set-Cookie` header.
pub(super) fn set_cookie(reply: &mut Reply, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        reply.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The session cookie for `token`, living `max_age` seconds (0 clears it).
pub(super) fn token_cookie(token: &str, max_age: u64) -> String {
    let max_age = time::Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX));
    let mut cookie = page_cookie(TOKEN_COOKIE, token);
    cookie.set_max_age(max_age);
    cookie.to_string()
}

/// A cookie only this site's pages and requests see: every path, no script, no cross-site send.
fn page_cookie<'a>(name: &'a str, value: &'a str) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .build()
}

fn asset(text: &'static str, content_type: &'static str) -> Reply {
    let mut reply = Response::new(Body::from(text));
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    reply
}
