//! The agent playground over real loopback sockets: a gateway with auth and the dashboard in
//! front of a `helloworld` service whose `Helloworld.Call` needs scope `greeter`, and a model
//! provider on loopback speaking OpenAI's wire format (`provider`). Settings kept per
//! account and never answered with the key, the streamed tool round trip, scopes deciding the
//! tools, refusals of anonymous, cross-site and malformed requests, the first-run hints, auth
//! off, and the page in headless Chromium (`tests/browser/agent.mjs`).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/provider.rs"]
mod provider;

#[allow(dead_code)]
mod http;

use http::{Answer, Http};
use micro::auth::{Auth, Kind};
use micro::broker::{self, Broker};
use micro::gateway::{self, Gateway};
use micro::registry::{Memory, Registry};
use micro::server::Context;
use micro::service;
use micro::store::{self, Store};
use provider::{Provider, Reply};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// The key every test saves; it must never come back.
const KEY: &str = "sk-agent-5ecret-key";
const MODEL: &str = "test-model-1";
/// `helloworld`'s `Helloworld.Call` as a tool, named as every provider accepts.
const TOOL: &str = "helloworld_Helloworld_Call";
/// The CSRF secret the tests' browser holds in its cookie.
const CSRF: &str = "agent-csrf-secret";
const SETTINGS: &str = "/api/agent/settings";
const PROMPT: &str = "/api/agent/prompt";

/// The keys directory every test shares, its pair made once per run.
async fn keys() -> &'static Path {
    static KEYS: OnceCell<PathBuf> = OnceCell::const_new();
    KEYS.get_or_init(|| async {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent_keys");
        let memory: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
        Auth::open(memory, &dir).await.unwrap();
        dir
    })
    .await
}

/// A gateway with the dashboard (and auth, unless off), the provider, and maybe `helloworld`.
struct Setup {
    http: Http,
    auth: Option<Arc<Auth>>,
    provider: Provider,
    /// How many times `Helloworld.Call` ran.
    greeted: Arc<AtomicUsize>,
    gateway: gateway::Running,
    _service: Option<service::Running>,
}

/// Auth on, `helloworld` registered.
async fn setup() -> Setup {
    start(true, true).await
}

async fn start(with_auth: bool, with_service: bool) -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let greeted = Arc::new(AtomicUsize::new(0));
    let service = match with_service {
        true => Some(helloworld(registry.clone(), greeted.clone()).await),
        false => None,
    };
    let mut gateway = Gateway::new(registry, store.clone(), broker).dashboard(None);
    let auth = match with_auth {
        true => Some(Arc::new(Auth::open(store, keys().await).await.unwrap())),
        false => None,
    };
    if let Some(auth) = &auth {
        gateway = gateway.auth(auth.clone());
    }
    let gateway = gateway.start("127.0.0.1:0").await.unwrap();
    Setup {
        http: Http::new(gateway.address().to_string()),
        auth,
        provider: Provider::start("openai").await,
        greeted,
        gateway,
        _service: service,
    }
}

/// `helloworld` with `Helloworld.Call`, which needs scope `greeter` and counts its calls.
async fn helloworld(registry: Arc<dyn Registry>, greeted: Arc<AtomicUsize>) -> service::Running {
    micro::Service::new("helloworld")
        .registry(registry)
        .address("127.0.0.1:0")
        .handle("Helloworld.Call", move |_ctx: Context, req: Value| {
            let greeted = greeted.clone();
            async move {
                greeted.fetch_add(1, Ordering::SeqCst);
                let name = req["name"].as_str().unwrap_or_default().to_string();
                Ok(json!({ "msg": format!("Hello {name}") }))
            }
        })
        .describe(
            "Helloworld.Call",
            "Greets a person by name",
            r#"{"name":"Alice"}"#,
        )
        .scopes("Helloworld.Call", &["greeter"])
        .start()
        .await
        .unwrap()
}

impl Setup {
    /// A token for `subject` with `scopes`, its (service) account made first unless it is
    /// `admin`.
    async fn token(&self, subject: &str, scopes: &[&str]) -> String {
        let auth = self.auth.as_ref().expect("auth is on");
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        if subject != "admin" {
            auth.create_account(subject, Kind::Service, None, &scopes)
                .await
                .unwrap();
        }
        auth.issue(subject, &scopes, Duration::from_secs(3600))
            .await
            .unwrap()
            .token
    }

    /// Settings reaching the provider with `key`.
    fn settings(&self, key: &str) -> Value {
        json!({"provider": "openai", "model": MODEL, "api_key": key, "base_url": self.provider.url})
    }

    async fn show(&self, token: &str) -> Answer {
        let bearer = format!("Bearer {token}");
        self.http
            .send("GET", SETTINGS, &[("authorization", &bearer)], "")
            .await
    }

    /// Posts `body` as JSON to `path` with `token` as a bearer token.
    async fn post(&self, path: &str, token: &str, body: &str) -> Answer {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        self.http.send("POST", path, &headers, body).await
    }

    async fn save(&self, token: &str, settings: &Value) -> Answer {
        let answer = self.post(SETTINGS, token, &settings.to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer
    }

    async fn prompt(&self, token: &str, prompt: &str) -> Answer {
        self.post(PROMPT, token, &json!({ "prompt": prompt }).to_string())
            .await
    }
}

/// The cookies of a browser logged in with `token`.
fn session(token: &str) -> String {
    format!("micro_token={token}; micro_csrf={CSRF}")
}

/// The events of a `text/event-stream` answer.
fn events(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), "text/event-stream");
    answer
        .body
        .split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let data = block
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not an SSE data line: {block:?}"));
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// The names of the tools a request to the provider offered.
fn offered(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|t| t["function"]["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// True when the gateway's environment holds a key for openai, the default provider.
fn environment_has_a_key() -> bool {
    ["MICRO_AI_API_KEY", "OPENAI_API_KEY"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|k| !k.is_empty()))
}

#[tokio::test]
async fn settings_round_trip_never_returns_the_key() {
    let s = setup().await;
    let admin = s.token("admin", &["*"]).await;
    let shown = s.show(&admin).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.json()["has_key"], false);
    assert_eq!(shown.json()["provider"], "");

    let saved = s.save(&admin, &s.settings(KEY)).await;
    for answer in [&saved, &s.show(&admin).await] {
        assert!(
            !answer.body.contains(KEY),
            "the key came back: {}",
            answer.body
        );
        let view = answer.json();
        assert_eq!(view["has_key"], true, "{view}");
        assert_eq!(
            (&view["provider"], &view["model"], &view["base_url"]),
            (&json!("openai"), &json!(MODEL), &json!(s.provider.url))
        );
        assert!(view.get("api_key").is_none(), "{view}");
        assert_eq!(view["hints"], json!([]), "{view}");
        assert_eq!(view["tools"][0]["name"], TOOL, "{view}");
    }

    // An empty key keeps the stored one: the provider still gets it.
    let other = json!({"provider": "openai", "model": "other-model", "api_key": "", "base_url": s.provider.url});
    assert_eq!(s.save(&admin, &other).await.json()["has_key"], true);
    s.provider.reply(Reply::text("hi"));
    let events = events(&s.prompt(&admin, "hello").await);
    assert_eq!(kinds(&events).last(), Some(&"done"), "{events:?}");
    let seen = s.provider.seen();
    assert_eq!(seen[0].header("authorization"), format!("Bearer {KEY}"));
    assert_eq!(seen[0].body["model"], "other-model");

    // The page shows only that a key is stored; the store's own API does not hold it.
    let cookie = session(&admin);
    let page = s.http.get_with_cookie("/agent", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(KEY), "the page shows the key");
    page.assert_has("A key of your own is stored");
    let store = s.http.get_with_cookie("/micro/store", &cookie).await;
    assert!(!store.body.contains("settings"), "{}", store.body);

    // The page's form saves too (CSRF field and cookie), and can forget the key.
    let form = [
        ("csrf", CSRF),
        ("provider", "openai"),
        ("model", MODEL),
        ("api_key", ""),
        ("base_url", s.provider.url.as_str()),
        ("forget_key", "true"),
    ];
    let posted = s.http.post_form("/agent", &cookie, &form).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    assert_eq!(posted.element("done"), "Saved.");
    assert_eq!(s.show(&admin).await.json()["has_key"], false);
    s.gateway.stop().await;
}

#[tokio::test]
async fn each_account_keeps_its_own_settings() {
    let s = setup().await;
    let alice = s.token("alice", &["greeter"]).await;
    let bob = s.token("bob", &["greeter"]).await;
    let mut mine = s.settings("sk-alice");
    mine["model"] = json!("alice-model");
    s.save(&alice, &mine).await;

    let theirs = s.show(&bob).await.json();
    assert_eq!(
        (&theirs["provider"], &theirs["model"], &theirs["has_key"]),
        (&json!(""), &json!(""), &json!(false))
    );
    let mut bobs = s.settings("sk-bob");
    bobs["model"] = json!("bob-model");
    s.save(&bob, &bobs).await;
    assert_eq!(s.show(&alice).await.json()["model"], "alice-model");

    s.provider.always(Reply::text("hi"));
    for (token, key, model) in [
        (&alice, "sk-alice", "alice-model"),
        (&bob, "sk-bob", "bob-model"),
    ] {
        events(&s.prompt(token, "hello").await);
        let seen = s.provider.seen();
        let last = seen.last().unwrap();
        assert_eq!(last.header("authorization"), format!("Bearer {key}"));
        assert_eq!(last.body["model"], model);
    }
}

#[tokio::test]
async fn a_prompt_streams_the_tool_round_trip() {
    let s = setup().await;
    let admin = s.token("admin", &["*"]).await;
    s.save(&admin, &s.settings(KEY)).await;
    s.provider
        .reply(Reply::call(TOOL, json!({"name": "Alice"})))
        .reply(Reply::text("I greeted Alice: Hello Alice"));
    let answer = s.prompt(&admin, "Greet Alice").await;
    assert_eq!(answer.header("cache-control"), "no-cache");
    let events = events(&answer);
    let kinds = kinds(&events);
    assert_eq!(kinds[..2], ["tool_call", "tool_result"], "{events:?}");
    assert!(kinds[2..kinds.len() - 1].iter().all(|k| *k == "text"));
    assert_eq!(kinds.last(), Some(&"done"));

    let call = &events[0]["call"];
    assert_eq!(
        (&call["name"], &call["arguments"]),
        (&json!(TOOL), &json!({"name": "Alice"}))
    );
    assert_eq!(events[1]["call"]["result"], json!({"msg": "Hello Alice"}));
    let text: String = events[2..events.len() - 1]
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "I greeted Alice: Hello Alice");
    let response = &events.last().unwrap()["response"];
    assert_eq!(response["text"], text);
    assert_eq!(response["tool_calls"][0]["result"]["msg"], "Hello Alice");
    assert_eq!(s.greeted.load(Ordering::SeqCst), 1);

    // The model was offered the tool with the system prompt, then given its result.
    let seen = s.provider.seen();
    assert_eq!(offered(&seen[0].body), [TOOL]);
    assert_eq!(seen[0].body["messages"][0]["role"], "system");
    let result = seen[1].body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("the tool result went back to the model");
    assert!(result["content"].as_str().unwrap().contains("Hello Alice"));

    // The conversation goes on with the messages the first answer reported.
    s.provider
        .reply(Reply::text("You asked me to greet Alice."));
    let body = json!({"prompt": "What did I ask?", "messages": response["messages"]});
    events_of(&s.post(PROMPT, &admin, &body.to_string()).await);
    let seen = s.provider.seen();
    let history = seen[2].body["messages"].to_string();
    assert!(
        history.contains("Greet Alice") && history.contains("What did I ask?"),
        "{history}"
    );
}

/// [`events`], for a call made only for its effect on the provider.
fn events_of(answer: &Answer) {
    assert_eq!(
        kinds(&events(answer)).last(),
        Some(&"done"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_tool_outside_the_account_scopes_is_not_offered_and_refused() {
    let s = setup().await;
    let alice = s.token("alice", &["other"]).await;
    let view = s.show(&alice).await.json();
    assert_eq!(view["tools"], json!([]), "{view}");
    let hints = view["hints"].to_string();
    assert!(
        hints.contains("may call none of the 1 registered endpoints"),
        "{hints}"
    );

    s.save(&alice, &s.settings(KEY)).await;
    s.provider
        .reply(Reply::call(TOOL, json!({"name": "Mallory"})))
        .reply(Reply::text("That was refused."));
    let events = events(&s.prompt(&alice, "Greet Mallory").await);
    assert_eq!(
        kinds(&events)[..2],
        ["tool_call", "tool_result"],
        "{events:?}"
    );
    let refused = &events[1]["call"];
    assert!(refused.get("result").is_none(), "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains(TOOL), "{error}");
    assert_eq!(s.greeted.load(Ordering::SeqCst), 0, "the refused tool ran");
    let seen = s.provider.seen();
    assert!(offered(&seen[0].body).is_empty(), "{}", seen[0].body);
    let told = seen[1].body["messages"].to_string();
    assert!(told.contains("call one of the tools offered"), "{told}");

    // Control: an account with the scope is offered it.
    let greeter = s.token("carol", &["greeter"]).await;
    assert_eq!(s.show(&greeter).await.json()["tools"][0]["name"], TOOL);
}

#[tokio::test]
async fn anonymous_and_cross_site_requests_are_refused() {
    let s = setup().await;
    for (method, path) in [("GET", SETTINGS), ("POST", SETTINGS), ("POST", PROMPT)] {
        let body = s.settings(KEY).to_string();
        let anonymous = s.http.send(method, path, &[], &body).await;
        anonymous.assert_error(401, "authentication required");
        let forged = [("authorization", "Bearer not-a-token")];
        let refused = s.http.send(method, path, &forged, &body).await;
        refused.assert_error(401, "refused");
    }
    let page = s.http.get("/agent").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/auth/login?next=%2Fagent");

    let admin = s.token("admin", &["*"]).await;
    let cookie = session(&admin);
    let body = s.settings(KEY).to_string();
    let foreign: [(&[(&str, &str)], &str); 3] = [
        (&[("origin", "http://evil.example")], "not allowed"),
        (&[("origin", "http://localhost:3000")], "cross-site"),
        (&[("sec-fetch-site", "cross-site")], "cross-site"),
    ];
    for (extra, says) in foreign {
        for path in [SETTINGS, PROMPT] {
            let mut headers = vec![
                ("cookie", cookie.as_str()),
                ("content-type", "application/json"),
            ];
            headers.extend_from_slice(extra);
            s.http
                .send("POST", path, &headers, &body)
                .await
                .assert_error(403, says);
        }
    }
    // The page's form needs its CSRF field, and from another site is refused even with it.
    let fields = [("provider", "openai"), ("api_key", KEY)];
    s.http
        .post_form("/agent", &cookie, &fields)
        .await
        .assert_error(403, "CSRF");
    let cross = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "http://localhost:3000"),
    ];
    let form = format!("csrf={CSRF}&provider=openai&api_key={KEY}");
    s.http
        .send("POST", "/agent", &cross, &form)
        .await
        .assert_error(403, "CSRF");
    assert_eq!(
        s.show(&admin).await.json()["has_key"],
        false,
        "a refused request saved"
    );
    assert!(s.provider.seen().is_empty());

    // Control: from the gateway's own pages the cookie works.
    let own = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/json"),
        ("sec-fetch-site", "same-origin"),
    ];
    let saved = s.http.send("POST", SETTINGS, &own, &body).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["has_key"], true);
}

#[tokio::test]
async fn malformed_or_huge_bodies_are_refused_saying_what_to_send() {
    let s = setup().await;
    let admin = s.token("admin", &["*"]).await;
    let refusals = [
        (SETTINGS, "not json".to_string(), 400, "send {\"provider\""),
        (
            SETTINGS,
            r#"{"provider": "nope"}"#.into(),
            400,
            "unknown AI provider \"nope\"; use one of anthropic, openai",
        ),
        (
            SETTINGS,
            r#"{"base_url": "ftp://x"}"#.into(),
            400,
            "must start with http:// or https://",
        ),
        (
            SETTINGS,
            format!(r#"{{"model": "{}"}}"#, "m".repeat(20 << 10)),
            413,
            "limit",
        ),
        (PROMPT, "{".into(), 400, "send {\"prompt\""),
        (PROMPT, "[]".into(), 400, "send {\"prompt\""),
        (
            PROMPT,
            r#"{"prompt": " "}"#.into(),
            400,
            "the prompt is empty",
        ),
        (
            PROMPT,
            format!(r#"{{"prompt": "{}"}}"#, "p".repeat(2 << 20)),
            413,
            "limit",
        ),
    ];
    for (path, body, status, says) in refusals {
        s.post(path, &admin, &body).await.assert_error(status, says);
    }
    let bearer = format!("Bearer {admin}");
    s.http
        .send("GET", PROMPT, &[("authorization", &bearer)], "")
        .await
        .assert_error(405, "use POST /api/agent/prompt");
    s.http
        .send("DELETE", SETTINGS, &[("authorization", &bearer)], "")
        .await
        .assert_error(405, "use GET or POST /api/agent/settings");

    // A base URL of the account's own, without a key, works only when the gateway has no key
    // to give (the unit tests of gateway::agent cover the refusal); the provider gets none.
    if !environment_has_a_key() {
        let own_address = json!({"provider": "openai", "base_url": s.provider.url});
        let view = s.save(&admin, &own_address).await.json();
        assert_eq!(view["hints"], json!([]), "{view}");
        s.provider.reply(Reply::text("no key needed"));
        events_of(&s.prompt(&admin, "hello").await);
        let seen = s.provider.seen();
        assert!(
            !seen[0].header("authorization").contains("sk-"),
            "{:?}",
            seen[0].headers
        );
    }
}

#[tokio::test]
async fn engine_errors_arrive_as_an_error_event() {
    let s = setup().await;
    let admin = s.token("admin", &["*"]).await;
    s.save(&admin, &s.settings(KEY)).await;
    s.provider.reply(Reply::status(401));
    let answer = s.prompt(&admin, "hello").await;
    let events = events(&answer);
    assert_eq!(kinds(&events), ["error"], "{events:?}");
    let error = events[0]["error"].as_str().unwrap();
    assert!(error.contains("openai refused the key (401)"), "{error}");
    assert!(!answer.body.contains(KEY), "{}", answer.body);
}

#[tokio::test]
async fn the_page_says_what_to_set_up_first() {
    let s = start(true, false).await;
    let admin = s.token("admin", &["*"]).await;
    let cookie = session(&admin);
    let home = s.http.get_with_cookie("/", &cookie).await;
    home.assert_has(r#"<a href="/agent""#);
    let page = s.http.get_with_cookie("/agent", &cookie).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_secure();
    page.assert_has(r#"<script src="/agent.js" defer></script>"#);
    page.assert_has("No services are registered yet: run one");
    if !environment_has_a_key() {
        page.assert_has("no API key for openai: set MICRO_AI_API_KEY or OPENAI_API_KEY");
    }
    for provider in micro::ai::PROVIDERS {
        page.assert_has(&format!(r#"<option value="{}""#, provider.name));
    }
    let script = s.http.get("/agent.js").await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("/api/agent/prompt"));

    s.save(&admin, &s.settings(KEY)).await;
    let page = s.http.get_with_cookie("/agent", &cookie).await;
    assert!(!page.body.contains("no API key"), "{}", page.body);
}

#[tokio::test]
async fn with_auth_off_the_playground_is_open_like_every_page() {
    let s = start(false, true).await;
    let page = s.http.get("/agent").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let saved = s.http.post_json(SETTINGS, &s.settings(KEY)).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["tools"][0]["name"], TOOL);
    s.provider
        .reply(Reply::call(TOOL, json!({"name": "Dave"})))
        .reply(Reply::text("done"));
    let answer = s
        .http
        .post_json(PROMPT, &json!({"prompt": "Greet Dave"}))
        .await;
    let events = events(&answer);
    assert_eq!(events[1]["call"]["result"], json!({"msg": "Hello Dave"}));
}

#[tokio::test]
async fn playground_in_headless_chromium() {
    if !browser::available() {
        return;
    }
    let s = setup().await;
    let auth = s.auth.as_ref().unwrap();
    auth.create_account(
        "alice",
        Kind::User,
        Some("alice-secret-1"),
        &["other".into()],
    )
    .await
    .unwrap();
    // The admin's exchange, then alice's (she is not offered the tool, the model asks anyway)
    // and her follow-up.
    s.provider
        .reply(Reply::call(TOOL, json!({"name": "Browser"})))
        .reply(Reply::text("The service answered: Hello Browser"))
        .reply(Reply::call(TOOL, json!({"name": "Alice"})))
        .reply(Reply::text("I may not call that tool for you."))
        .reply(Reply::text("Refused again."));
    let base = format!("http://{}", s.gateway.address());
    let key_hint = if environment_has_a_key() { "0" } else { "1" };
    browser::run("agent", &base, &[&s.provider.url, KEY, key_hint]).await;
    assert_eq!(
        s.greeted.load(Ordering::SeqCst),
        1,
        "only the admin's call ran"
    );
    // The follow-up carried alice's conversation, and only hers.
    let follow_up = s.provider.seen()[4].body["messages"].to_string();
    assert!(follow_up.contains("Greet Alice"), "{follow_up}");
    assert!(!follow_up.contains("Greet Browser"), "{follow_up}");
}
