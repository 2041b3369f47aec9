//! The gateway with auth and the dashboard on, over real loopback sockets, in front of a real
//! `greeter` service: logging in (JSON and form, rate limited), the three token sources, every
//! forged or stale token refused, endpoint scopes set one by one and by pattern, the
//! administrator's users, tokens and scopes pages with their forms, CSRF, the body cap, and the
//! security headers. One RSA key pair serves the whole file (generating one is slow).

#[allow(dead_code)]
mod http;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Answer, Http};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use micro::auth::{Auth, Claims, Kind, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
use micro::broker::{self, Broker};
use micro::gateway::{self, Gateway};
use micro::registry::{Memory, Registry};
use micro::server::Context;
use micro::store::{self, Store};
use micro::{Result, service};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

/// The CSRF secret the tests' browser holds in its cookie and echoes in every form.
const CSRF: &str = "test-csrf-secret";
/// The greeter's endpoints, as the scopes page names them.
const HELLO: &str = "greeter.Greeter.Hello";
const CALL_HELLO: &str = "/api/greeter/Greeter.Hello";

/// Greets the `name` of the request.
async fn greet(_ctx: Context, req: Value) -> Result<Value> {
    let name = req["name"].as_str().unwrap_or("");
    Ok(json!({ "msg": format!("Hello {name}") }))
}

/// The keys directory every test shares, its pair made once per run.
async fn keys() -> &'static Path {
    static KEYS: OnceCell<PathBuf> = OnceCell::const_new();
    KEYS.get_or_init(|| async {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gateway_auth_keys");
        let memory: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
        Auth::open(memory, &dir).await.unwrap();
        dir
    })
    .await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A gateway with auth and the dashboard in front of `greeter` (Hello, Bye, Wave).
struct Setup {
    http: Http,
    auth: Arc<Auth>,
    gateway: gateway::Running,
    _service: service::Running,
}

async fn setup() -> Setup {
    setup_on(Arc::new(store::Memory::new(store::Options::default()))).await
}

async fn setup_on(store: Arc<dyn Store>) -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let service = micro::Service::new("greeter")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Greeter.Hello", greet)
        .handle("Greeter.Bye", greet)
        .handle("Greeter.Wave", greet)
        .scopes("Greeter.Wave", &["wave"])
        .start()
        .await
        .unwrap();
    let auth = Arc::new(Auth::open(store.clone(), keys().await).await.unwrap());
    let gateway = Gateway::new(registry, store, broker)
        .auth(auth.clone())
        .dashboard(None)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    Setup {
        http: Http::new(gateway.address().to_string()),
        auth,
        gateway,
        _service: service,
    }
}

impl Setup {
    /// A token for `subject` with `scopes`, issued directly (no bcrypt).
    async fn token(&self, subject: &str, scopes: &[&str]) -> String {
        self.auth
            .issue(subject, &strings(scopes), Duration::from_secs(3600))
            .await
            .unwrap()
            .token
    }

    /// A token for a new service account `worker` with scope `a`.
    async fn worker_token(&self) -> String {
        self.auth
            .create_account("worker", Kind::Service, None, &strings(&["a"]))
            .await
            .unwrap();
        self.token("worker", &["a"]).await
    }

    /// The cookies of a browser logged in as the default admin.
    async fn admin_cookie(&self) -> String {
        session(&self.token("admin", &["*"]).await)
    }

    /// Posts an administrator's form, which must answer 303, follows the redirect with the
    /// same `cookie`, and asserts that the page it names reports `done`.
    async fn submit(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
        done: &str,
    ) -> Answer {
        let answer = self.http.post_form(path, cookie, fields).await;
        assert_eq!(answer.status, 303, "{path}: {}", answer.body);
        let page = self
            .http
            .get_with_cookie(answer.header("location"), cookie)
            .await;
        let message = page.element("done");
        assert!(message.contains(done), "{message:?} lacks {done:?}");
        page
    }

    /// Calls Greeter.`method` with `token` as a bearer token.
    async fn call(&self, method: &str, token: &str) -> Answer {
        self.http
            .send(
                "POST",
                &format!("/api/greeter/Greeter.{method}"),
                &[("authorization", &format!("Bearer {token}"))],
                r#"{"name":"Ann"}"#,
            )
            .await
    }
}

/// The cookies a logged-in browser sends: the session token and the CSRF secret.
fn session(token: &str) -> String {
    format!("micro_token={token}; micro_csrf={CSRF}")
}

/// The claims inside a token, read without checking it.
fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with the gateway's real private key.
async fn sign(claims: &Claims) -> String {
    let pem = std::fs::read(keys().await.join(PRIVATE_KEY_FILE)).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

#[tokio::test]
async fn json_login_gives_a_token_that_calls_endpoints() {
    let setup = setup().await;
    let login = setup
        .http
        .post_json("/auth/login", &json!({"id": "admin", "password": "micro"}))
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    login.assert_secure();
    let issued = login.json();
    let token = issued["token"].as_str().unwrap();
    let expires = issued["expires"].as_u64().unwrap();
    assert!(expires > now(), "expires {expires} is not in the future");
    assert_eq!(claims_of(token).exp, expires);
    let called = setup.call("Hello", token).await;
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(called.json(), json!({"msg": "Hello Ann"}));
    called.assert_secure();

    let wrong = setup
        .http
        .post_json("/auth/login", &json!({"id": "admin", "password": "nope"}))
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.error(), "wrong account id or password");

    let garbled = setup
        .http
        .send(
            "POST",
            "/auth/login",
            &[("content-type", "application/json")],
            "{\"id\": ",
        )
        .await;
    garbled.assert_error(400, "not a JSON login");
}

#[tokio::test]
async fn form_login_sets_a_strict_http_only_cookie_and_goes_to_next() {
    let setup = setup().await;
    let page = setup.http.get("/auth/login?next=/services").await;
    assert_eq!(page.status, 200);
    page.assert_secure();
    assert!(page.header("content-type").starts_with("text/html"));
    let csrf_cookie = page.set_cookie("micro_csrf");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));
    let csrf = csrf_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("micro_csrf=");
    for field in [
        "name=\"id\"",
        "name=\"password\"",
        &format!("name=\"csrf\" value=\"{csrf}\""),
        // minijinja escapes `/` in attributes.
        "name=\"next\" value=\"&#x2f;services\"",
    ] {
        assert!(page.body.contains(field), "no {field} in {}", page.body);
    }
    let cookie = format!("micro_csrf={csrf}");

    let fields = |password, next| {
        [
            ("csrf", csrf),
            ("id", "admin"),
            ("password", password),
            ("next", next),
        ]
    };
    let logged_in = setup
        .http
        .post_form("/auth/login", &cookie, &fields("micro", "/services"))
        .await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    assert_eq!(logged_in.header("location"), "/services");
    let session = logged_in.set_cookie("micro_token");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=86"] {
        assert!(session.contains(part), "{session:?} lacks {part}");
    }
    let token = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("micro_token=");
    let with_cookie = setup
        .http
        .send(
            "POST",
            CALL_HELLO,
            &[
                ("cookie", &format!("micro_token={token}")),
                ("sec-fetch-site", "same-origin"),
            ],
            "{}",
        )
        .await;
    assert_eq!(with_cookie.status, 200, "{}", with_cookie.body);

    let elsewhere = setup
        .http
        .post_form("/auth/login", &cookie, &fields("micro", "//evil.example/"))
        .await;
    assert_eq!(elsewhere.status, 303);
    assert_eq!(elsewhere.header("location"), "/", "never off this site");

    let wrong = setup
        .http
        .post_form("/auth/login", &cookie, &fields("nope", "/services"))
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("micro_token="))
    );
    assert!(
        wrong.body.contains("action=\"/auth/login\""),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("wrong account id or password"));
}

#[tokio::test]
async fn logins_are_refused_with_429_after_ten_failures() {
    let setup = setup().await;
    let wrong = json!({"id": "nobody", "password": "guess"});
    for attempt in 1..=10 {
        let answer = setup.http.post_json("/auth/login", &wrong).await;
        assert_eq!(answer.status, 401, "attempt {attempt}: {}", answer.body);
    }
    let right = json!({"id": "admin", "password": "micro"});
    let refused = setup.http.post_json("/auth/login", &right).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused.header("retry-after").parse().unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    assert!(refused.error().contains("too many failed logins"));

    let cookie = format!("micro_csrf={CSRF}");
    let form = [("csrf", CSRF), ("id", "admin"), ("password", "micro")];
    let page = setup.http.post_form("/auth/login", &cookie, &form).await;
    assert_eq!(page.status, 429);
    assert!(page.headers.contains_key("retry-after"));
    assert!(page.body.contains("too many failed logins"));
}

#[tokio::test]
async fn a_token_is_taken_from_bearer_query_or_cookie() {
    let setup = setup().await;
    let token = setup.token("admin", &[]).await;
    let by_bearer = setup.call("Hello", &token).await;
    let by_query = setup
        .http
        .send("POST", &format!("{CALL_HELLO}?token={token}"), &[], "{}")
        .await;
    let cookie = format!("micro_token={token}");
    // As a browser sends it from our own pages (a cross-site one is refused: see below).
    let by_cookie = setup
        .http
        .send(
            "POST",
            CALL_HELLO,
            &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
            "{}",
        )
        .await;
    for answer in [by_bearer, by_query, by_cookie] {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    let missing = setup.http.send("POST", CALL_HELLO, &[], "{}").await;
    missing.assert_error(401, "authentication required");
    missing.assert_secure();
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused_with_401() {
    let setup = setup().await;
    let good = setup.token("admin", &["*"]).await;
    let claims = claims_of(&good);
    let [header, payload, signature]: [&str; 3] =
        good.split('.').collect::<Vec<_>>().try_into().unwrap();

    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    let public = std::fs::read(keys().await.join(PUBLIC_KEY_FILE)).unwrap();
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    let expired = sign(&Claims {
        exp: now() - 3600,
        iat: now() - 7200,
        nbf: now() - 7200,
        ..claims.clone()
    })
    .await;
    let early = sign(&Claims {
        nbf: now() + 3600,
        ..claims.clone()
    })
    .await;
    let mut widened: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).expect("payload JSON");
    widened["scopes"] = json!(["*", "billing"]);
    let tampered = format!(
        "{header}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(widened.to_string())
    );

    let cases = [
        (none.as_str(), "RS256"),
        (hs256.as_str(), "RS256"),
        (expired.as_str(), "expired"),
        (early.as_str(), "not valid yet"),
        (tampered.as_str(), "signature"),
        ("not.a.token", "malformed"),
    ];
    for (token, why) in cases {
        let answer = setup.call("Hello", token).await;
        assert_eq!(answer.status, 401, "{why}: {}", answer.body);
        assert!(answer.error().contains(why), "{why}: {}", answer.body);
    }
    assert_eq!(setup.call("Hello", &good).await.status, 200, "control");
}

#[tokio::test]
async fn a_token_made_on_the_tokens_page_is_shown_once_and_revoked_there() {
    let setup = setup().await;
    setup
        .auth
        .create_account("robot", Kind::Service, None, &[])
        .await
        .unwrap();
    let admin = setup.admin_cookie().await;
    let fields = [
        ("csrf", CSRF),
        ("subject", "robot"),
        ("scopes", "a, b"),
        ("ttl_hours", "2"),
    ];
    let made = setup.http.post_form("/auth/tokens", &admin, &fields).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let token = made.element("new-token");
    assert!(
        made.body
            .contains("id=\"copy-token\" data-copy=\"new-token\"")
    );
    assert!(made.body.contains("shown only once"));
    let claims = claims_of(&token);
    assert_eq!(claims.sub, "robot");
    assert_eq!(claims.scopes, strings(&["a", "b"]));
    assert_eq!(claims.exp - claims.iat, 2 * 3600);
    assert_eq!(setup.call("Hello", &token).await.status, 200);

    let listed = setup.http.get_with_cookie("/auth/tokens", &admin).await;
    assert_eq!(listed.status, 200);
    assert!(listed.body.contains(&format!("{}…", &claims.jti[..8])));
    assert!(
        !listed.body.contains(&token),
        "a listing never shows a token"
    );
    assert!(!listed.body.contains("id=\"new-token\""));
    let bad_ttl = [("csrf", CSRF), ("ttl_hours", "0")];
    let refused = setup.http.post_form("/auth/tokens", &admin, &bad_ttl).await;
    assert_eq!(refused.status, 400);
    assert!(refused.element("error").contains("ttl_hours"));

    let revoke = [("csrf", CSRF), ("id", claims.jti.as_str())];
    let revoked = setup
        .http
        .post_form("/auth/tokens/revoke", &admin, &revoke)
        .await;
    assert_eq!(revoked.status, 303);
    assert!(
        revoked
            .header("location")
            .starts_with("/auth/tokens?done=revoked")
    );
    let answer = setup.call("Hello", &token).await;
    answer.assert_error(401, "revoked");
    let after = setup
        .http
        .get_with_cookie(revoked.header("location"), &admin)
        .await;
    assert!(after.element("done").contains("Revoked the token"));
}

#[tokio::test]
async fn accounts_are_created_changed_and_deleted_on_the_users_page() {
    let setup = setup().await;
    let admin = setup.admin_cookie().await;
    let create = [
        ("csrf", CSRF),
        ("id", "bob"),
        ("password", "bob-secret"),
        ("kind", "user"),
        ("scopes", "greeting, other"),
    ];
    let page = setup
        .submit("/auth/users", &admin, &create, "Created the account bob")
        .await;
    assert!(page.body.contains("greeting, other"), "{}", page.body);
    let again = setup.http.post_form("/auth/users", &admin, &create).await;
    assert_eq!(again.status, 409);
    assert!(again.element("error").contains("already exists"));

    let change = [("csrf", CSRF), ("id", "bob"), ("password", "bob-new")];
    let changed = setup
        .http
        .post_form("/auth/users/password", &admin, &change)
        .await;
    assert_eq!(changed.status, 303);
    let token = setup.auth.login("bob", "bob-new").await.unwrap().token;
    assert_eq!(setup.call("Hello", &token).await.status, 200);

    let delete = [("csrf", CSRF), ("id", "bob")];
    let deleted = setup
        .http
        .post_form("/auth/users/delete", &admin, &delete)
        .await;
    assert_eq!(deleted.status, 303);
    let answer = setup.call("Hello", &token).await;
    assert_eq!(answer.status, 401, "a deleted user's token stops at once");
    assert!(answer.error().contains("revoked") || answer.error().contains("no longer exists"));
    let missing = setup
        .http
        .post_form("/auth/users/delete", &admin, &delete)
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn endpoint_scopes_decide_who_may_call() {
    let setup = setup().await;
    let plain = setup.token("admin", &[]).await;
    let with_b = setup.token("admin", &["b"]).await;
    let with_all = setup.token("admin", &["*"]).await;
    assert_eq!(
        setup.call("Hello", &plain).await.status,
        200,
        "no scopes set: open"
    );
    // Scopes the endpoint publishes apply until scopes are stored for it.
    let published = setup.call("Wave", &plain).await;
    assert_eq!(
        (published.status, published.json()),
        (
            403,
            json!({"error": "insufficient scopes", "required_scopes": "wave"})
        )
    );
    assert_eq!(setup.call("Wave", &with_all).await.status, 200);

    let admin = setup.admin_cookie().await;
    let set = [("csrf", CSRF), ("endpoint", HELLO), ("scopes", "a, b")];
    let saved = setup.http.post_form("/auth/scopes", &admin, &set).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let refused = setup.call("Hello", &plain).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!({"error": "insufficient scopes", "required_scopes": "a,b"})
    );
    assert_eq!(setup.call("Hello", &with_b).await.status, 200);
    assert_eq!(setup.call("Hello", &with_all).await.status, 200);

    let page = setup.http.get_with_cookie("/auth/scopes", &admin).await;
    assert_eq!(page.status, 200);
    for endpoint in [HELLO, "greeter.Greeter.Bye", "greeter.Greeter.Wave"] {
        assert!(page.body.contains(endpoint), "{endpoint} not listed");
    }
    assert!(page.body.contains("value=\"a, b\""));

    let bulk = [
        ("csrf", CSRF),
        ("pattern", "greeter.Greeter.*"),
        ("scopes", "c"),
    ];
    setup
        .submit("/auth/scopes/bulk", &admin, &bulk, "3 endpoint(s) matching")
        .await;
    let with_c = setup.token("admin", &["c"]).await;
    for method in ["Hello", "Bye", "Wave"] {
        assert_eq!(setup.call(method, &with_b).await.status, 403, "{method}");
        assert_eq!(setup.call(method, &with_c).await.status, 200, "{method}");
    }

    let elsewhere = [
        ("csrf", CSRF),
        ("endpoint", "billing.Billing.Charge"),
        ("scopes", "money"),
    ];
    setup
        .http
        .post_form("/auth/scopes", &admin, &elsewhere)
        .await;
    let page = setup.http.get_with_cookie("/auth/scopes", &admin).await;
    assert!(
        page.body
            .contains("billing.Billing.Charge</code> <span class=\"badge\">not registered now")
    );
    let bad = [("csrf", CSRF), ("endpoint", "Hello"), ("scopes", "x")];
    let refused = setup.http.post_form("/auth/scopes", &admin, &bad).await;
    assert_eq!(refused.status, 400);
    assert!(refused.element("error").contains("service.Handler.Method"));
}

#[tokio::test]
async fn the_store_and_broker_routes_need_the_all_scope() {
    let setup = setup().await;
    let scoped = setup.worker_token().await;
    let all = setup.token("admin", &["*"]).await;
    let bearer = |token: &str| format!("Bearer {token}");
    for (method, path) in [("GET", "/micro/store"), ("POST", "/micro/broker/events")] {
        let refused = setup
            .http
            .send(method, path, &[("authorization", &bearer(&scoped))], "{}")
            .await;
        assert_eq!(refused.status, 403, "{path}");
        assert_eq!(refused.json()["required_scopes"], "*");
        let allowed = setup
            .http
            .send(method, path, &[("authorization", &bearer(&all))], "{}")
            .await;
        assert_eq!(allowed.status, 200, "{path}: {}", allowed.body);
    }
}

#[tokio::test]
async fn a_deleted_admin_stays_deleted_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let file_store = || -> Arc<dyn Store> {
        let options = store::Options {
            address: Some(data.path().display().to_string()),
            ..Default::default()
        };
        Arc::new(store::File::new(options).unwrap())
    };
    let setup = setup_on(file_store()).await;
    let admin = setup.admin_cookie().await;
    let delete = [("csrf", CSRF), ("id", "admin")];
    let deleted = setup
        .http
        .post_form("/auth/users/delete", &admin, &delete)
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(
        deleted.header("location"),
        "/auth/login",
        "deleting yourself logs you out"
    );
    assert!(deleted.set_cookie("micro_token").contains("Max-Age=0"));
    let Setup { auth, gateway, .. } = setup;
    gateway.stop().await;
    drop(auth);

    let reopened = Auth::open(file_store(), keys().await).await.unwrap();
    let ids: Vec<String> = reopened
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(
        !ids.contains(&"admin".to_string()),
        "admin came back: {ids:?}"
    );
    assert_eq!(
        reopened.login("admin", "micro").await.unwrap_err().code,
        401
    );
}

#[tokio::test]
async fn a_form_without_the_csrf_secret_is_403() {
    let setup = setup().await;
    let admin = setup.admin_cookie().await;
    let token_only = format!("micro_token={}", setup.token("admin", &["*"]).await);
    let create = |csrf| [("csrf", csrf), ("id", "mallory"), ("password", "pw")];
    let cases = [
        (admin.as_str(), &create("")[1..]),
        (admin.as_str(), &create("wrong-secret")[..]),
        (token_only.as_str(), &create(CSRF)[..]),
    ];
    for (cookie, fields) in cases {
        let answer = setup.http.post_form("/auth/users", cookie, fields).await;
        assert_eq!(answer.status, 403, "{cookie} {fields:?}");
        assert!(answer.error().contains("CSRF check failed"));
    }
    let accounts = setup.auth.list_accounts().await.unwrap();
    assert!(accounts.iter().all(|a| a.id != "mallory"));
}

#[tokio::test]
async fn only_administrators_see_the_admin_pages() {
    let setup = setup().await;
    let worker = session(&setup.worker_token().await);
    for path in ["/auth/users", "/auth/tokens", "/auth/scopes"] {
        let denied = setup.http.get_with_cookie(path, &worker).await;
        assert_eq!(denied.status, 403, "{path}");
        assert!(denied.header("content-type").starts_with("text/html"));
        denied.assert_secure();
    }
    let create = [("csrf", CSRF), ("id", "sneaky"), ("kind", "service")];
    let denied = setup.http.post_form("/auth/users", &worker, &create).await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn pages_without_a_login_go_to_the_login_page() {
    let setup = setup().await;
    for (path, next) in [
        ("/auth/users", "%2Fauth%2Fusers"),
        ("/services", "%2Fservices"),
    ] {
        let answer = setup.http.get(path).await;
        assert_eq!(answer.status, 303, "{path}");
        assert_eq!(
            answer.header("location"),
            format!("/auth/login?next={next}")
        );
    }
}

#[tokio::test]
async fn a_form_body_over_64_kib_is_413() {
    let setup = setup().await;
    let admin = setup.admin_cookie().await;
    let big = "x".repeat(65 << 10);
    let fields = [("csrf", CSRF), ("id", big.as_str())];
    let answer = setup.http.post_form("/auth/users", &admin, &fields).await;
    assert_eq!(answer.status, 413);
    answer.assert_secure();
}

#[tokio::test]
async fn changing_the_default_password_ends_the_warning_and_renews_the_admins_own_session() {
    let setup = setup().await;
    let admin = setup.admin_cookie().await;
    let warned = setup.http.get_with_cookie("/auth/users", &admin).await;
    assert!(warned.body.contains("class=\"warning\""), "{}", warned.body);
    assert!(warned.body.contains("default password"));

    let change = [
        ("csrf", CSRF),
        ("id", "admin"),
        ("password", "a-better-one"),
    ];
    let answer = setup
        .http
        .post_form("/auth/users/password", &admin, &change)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    // The change revoked every admin session, this one too, and handed it a new one.
    let renewed = session(cookie_value(answer.set_cookie("micro_token")));
    let page = setup
        .http
        .get_with_cookie(answer.header("location"), &renewed)
        .await;
    assert!(
        page.element("done")
            .contains("Changed the password of admin")
    );
    assert!(!page.body.contains("class=\"warning\""), "{}", page.body);
    let old = setup.http.get_with_cookie("/auth/users", &admin).await;
    assert_eq!(old.status, 303, "the old session still works: {}", old.body);
}

// ---- tried as an attacker would ----

/// The value a `Set-Cookie` header sets.
fn cookie_value(set_cookie: &str) -> &str {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1
}

/// A token for a new service account `id` holding `scopes`.
async fn account_token(setup: &Setup, id: &str, scopes: &[&str]) -> String {
    setup
        .auth
        .create_account(id, Kind::Service, None, &strings(scopes))
        .await
        .unwrap();
    setup.token(id, scopes).await
}

/// The store the gateway and its auth share in these tests, for checking nothing was written.
async fn stored(setup: &Setup, key: &str) -> bool {
    setup
        .auth
        .store()
        .read(key, &Default::default())
        .await
        .is_ok_and(|records| !records.is_empty())
}

#[tokio::test]
async fn a_foreign_host_is_refused_on_every_route_so_a_rebound_name_cannot_log_in_or_write() {
    let setup = setup().await;
    let admin = format!("Bearer {}", setup.token("admin", &["*"]).await);
    let rebound = [("host", "attacker.example:8080")];
    let login = json!({"id": "admin", "password": "micro"}).to_string();
    let json_type = ("content-type", "application/json");
    type Try<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a str);
    let tries: [Try; 6] = [
        (
            "POST",
            "/auth/login",
            vec![rebound[0], json_type],
            login.as_str(),
        ),
        (
            "POST",
            "/micro/store/stolen",
            vec![rebound[0], ("authorization", &admin)],
            "x",
        ),
        (
            "GET",
            "/micro/registry",
            vec![rebound[0], ("authorization", &admin)],
            "",
        ),
        (
            "POST",
            CALL_HELLO,
            vec![rebound[0], ("authorization", &admin)],
            "{}",
        ),
        ("GET", "/", vec![rebound[0]], ""),
        ("GET", "/health", vec![rebound[0]], ""),
    ];
    for (method, path, headers, body) in &tries {
        let answer = setup.http.send(method, path, headers, body).await;
        answer.assert_error(403, "not allowed");
        assert!(
            !answer.body.contains("token\""),
            "{path} leaked a token: {}",
            answer.body
        );
    }
    assert!(
        !stored(&setup, "stolen").await,
        "a rebound page wrote the store"
    );
    // The same requests naming this server pass.
    let port = setup.gateway.address().port().to_string();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let answer = setup
            .http
            .send(
                "POST",
                "/micro/store/kept",
                &[("host", &host), ("authorization", &admin)],
                "x",
            )
            .await;
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_cross_site_request_carrying_the_session_cookie_is_refused_on_json_routes() {
    let setup = setup().await;
    let admin = setup.admin_cookie().await;
    let host = setup.gateway.address().to_string();
    let own_origin = format!("http://{host}");
    let cross_site: [&[(&str, &str)]; 3] = [
        // A page on another local port posting text/plain: no preflight, the cookie goes along.
        &[
            ("origin", "http://localhost:3000"),
            ("content-type", "text/plain"),
        ],
        &[
            ("sec-fetch-site", "cross-site"),
            ("content-type", "text/plain"),
        ],
        // No word from the browser about where it came from.
        &[("content-type", "text/plain")],
    ];
    for extra in cross_site {
        for path in ["/micro/store/planted", CALL_HELLO, "/micro/broker/topic"] {
            let mut headers = vec![("cookie", admin.as_str())];
            headers.extend_from_slice(extra);
            let answer = setup.http.send("POST", path, &headers, "{}").await;
            answer.assert_error(403, "cross-site");
        }
    }
    assert!(
        !stored(&setup, "planted").await,
        "a cross-site post wrote the store"
    );
    // From our own pages (same origin, or echoing the CSRF secret) the cookie works.
    let same_origin: [&[(&str, &str)]; 3] = [
        &[("origin", own_origin.as_str())],
        &[("sec-fetch-site", "same-origin")],
        &[("x-csrf-token", CSRF)],
    ];
    for extra in same_origin {
        let mut headers = vec![("cookie", admin.as_str())];
        headers.extend_from_slice(extra);
        let answer = setup
            .http
            .send("POST", "/micro/store/ours", &headers, "{}")
            .await;
        assert_eq!(answer.status, 200, "{extra:?}: {}", answer.body);
    }
    // A Bearer token is not a cookie: no browser sends it on its own.
    let bearer = format!("Bearer {}", setup.token("admin", &["*"]).await);
    let answer = setup
        .http
        .send(
            "POST",
            "/micro/store/bearer",
            &[("authorization", &bearer), ("content-type", "text/plain")],
            "x",
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn every_401_asks_for_a_bearer_token() {
    let setup = setup().await;
    for (method, path) in [
        ("POST", CALL_HELLO),
        ("GET", "/micro/registry"),
        ("GET", "/micro/store"),
        ("POST", "/micro/broker/t"),
        ("GET", "/api/greeter"),
    ] {
        let missing = setup.http.send(method, path, &[], "{}").await;
        assert_eq!(missing.status, 401, "{path}: {}", missing.body);
        assert_eq!(missing.header("www-authenticate"), "Bearer", "{path}");
        let bad = setup
            .http
            .send(
                method,
                path,
                &[("authorization", "Bearer not-a-token")],
                "{}",
            )
            .await;
        assert_eq!(bad.status, 401, "{path}: {}", bad.body);
        assert!(
            bad.header("www-authenticate").contains("invalid_token"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn logging_out_revokes_the_token_it_ends() {
    let setup = setup().await;
    let token = setup.token("admin", &["*"]).await;
    assert_eq!(setup.call("Hello", &token).await.status, 200);
    let out = setup
        .http
        .get_with_cookie("/auth/logout", &session(&token))
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(
        cookie_value(out.set_cookie("micro_token")).is_empty(),
        "the cookie is cleared"
    );
    let after = setup.call("Hello", &token).await;
    after.assert_error(401, "revoked");
}

#[tokio::test]
async fn users_change_their_own_password_and_their_earlier_sessions_end() {
    let setup = setup().await;
    setup
        .auth
        .create_account("bob", Kind::User, Some("first-pass"), &strings(&["a"]))
        .await
        .unwrap();
    let http = &setup.http;
    let login = |password: &'static str| async move {
        http.post_json("/auth/login", &json!({"id": "bob", "password": password}))
            .await
    };
    let first = login("first-pass").await.json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    // The page is there for anyone logged in, administrator or not.
    let page = setup
        .http
        .get_with_cookie("/auth/password", &session(&first))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let bearer = format!("Bearer {first}");
    let change = |current: &str| json!({"current": current, "password": "second-pass"}).to_string();
    let headers = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    // A stolen session alone cannot change the password.
    let refused = setup
        .http
        .send("POST", "/auth/password", &headers, &change("guess"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(setup.call("Hello", &first).await.status, 200);
    let changed = setup
        .http
        .send("POST", "/auth/password", &headers, &change("first-pass"))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let renewed = changed.json()["token"].as_str().unwrap().to_string();
    setup
        .call("Hello", &first)
        .await
        .assert_error(401, "revoked");
    assert_eq!(setup.call("Hello", &renewed).await.status, 200);
    assert_eq!(login("first-pass").await.status, 401);
    assert_eq!(login("second-pass").await.status, 200);
}

#[tokio::test]
async fn logs_and_status_need_the_admin_rule_and_micro_admin_is_an_administrator() {
    let setup = setup().await;
    let user = session(&account_token(&setup, "carol", &["a"]).await);
    for path in ["/logs", "/status", "/logs/greeter"] {
        let page = setup.http.get_with_cookie(path, &user).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
    }
    let micro_admin = account_token(&setup, "dave", &["micro:admin"]).await;
    for path in ["/logs", "/status", "/auth/users"] {
        let page = setup
            .http
            .get_with_cookie(path, &session(&micro_admin))
            .await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
    }
    let bearer = format!("Bearer {micro_admin}");
    let store = setup
        .http
        .send("GET", "/micro/store", &[("authorization", &bearer)], "")
        .await;
    assert_eq!(store.status, 200, "{}", store.body);
}

#[tokio::test]
async fn a_token_holding_a_scope_wildcard_calls_endpoints_needing_a_scope_under_it() {
    let setup = setup().await;
    setup
        .auth
        .set_scopes("greeter", "Greeter.Hello", &strings(&["orders:read"]))
        .await
        .unwrap();
    let wildcard = account_token(&setup, "agent", &["orders:*", "users:*"]).await;
    assert_eq!(setup.call("Hello", &wildcard).await.status, 200);
    let other = account_token(&setup, "billing-agent", &["billing:*"]).await;
    assert_eq!(setup.call("Hello", &other).await.status, 403);
}

#[tokio::test]
async fn thirty_parallel_wrong_passwords_reach_the_password_check_at_most_ten_times() {
    let setup = setup().await;
    let wrong = json!({"id": "admin", "password": "guess"});
    let attempts = (0..30).map(|_| setup.http.post_json("/auth/login", &wrong));
    let answers = futures::future::join_all(attempts).await;
    let checked = answers.iter().filter(|a| a.status == 401).count();
    let limited = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        (checked, limited),
        (10, 20),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 429)
            .all(|a| a.headers.contains_key("retry-after"))
    );
}
