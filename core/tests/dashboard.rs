//! The dashboard over real loopback sockets, in front of a real typed `shop` service found
//! through a memory registry: the home, services, service and API pages, the endpoint form
//! (fields typed from the registry's type tree, raw JSON, parse errors, CSRF, stream endpoints)
//! calling the service, the logs and status pages over a small file-backed [`RunStatus`] (and
//! without one), and with auth on, the scope check of a form call and the admin rule of the
//! logs and status pages.

#[allow(dead_code)]
mod http;

use http::{Answer, Http};
use micro::auth::{Auth, Kind};
use micro::broker::{self, Broker};
use micro::gateway::{self, Gateway, Log, Process, RunStatus, Tail};
use micro::registry::{Memory, Registry};
use micro::server::Context;
use micro::store::{self, Store};
use micro::{Result, service};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The CSRF secret the tests' browser holds in its cookie and echoes in every form.
const CSRF: &str = "dashboard-csrf-secret";
/// The endpoint page the form tests use.
const ORDER_PAGE: &str = "/shop/Shop.Order";

#[derive(Serialize, Deserialize, JsonSchema)]
struct Order {
    item: String,
    count: u32,
    price: f64,
    gift: bool,
    tags: Vec<String>,
    address: Address,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Address {
    street: String,
    zip: String,
}

#[derive(Serialize, JsonSchema)]
struct Receipt {
    order: Order,
    total: f64,
}

/// Answers with the order it was sent, so tests see the JSON body the form made.
async fn order(_ctx: Context, order: Order) -> Result<Receipt> {
    Ok(Receipt {
        total: f64::from(order.count) * order.price,
        order,
    })
}

/// The request of `Shop.Meta`: a note the service ignores.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Note {
    #[serde(default)]
    note: String,
}

/// Answers with the call's metadata.
async fn metadata(ctx: Context, _note: Note) -> Result<HashMap<String, String>> {
    Ok(ctx.metadata)
}

/// A runner's logs and processes as files, as the tests write them: `logs/<name>.log`, and
/// `run/<name>.pid` holding the pid.
struct Files(PathBuf);

impl Files {
    /// `(name, path)` of the files in `dir` ending in `suffix`, in name order.
    fn list(&self, dir: &str, suffix: &str) -> std::io::Result<Vec<(String, PathBuf)>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.0.join(dir))? {
            let path = entry?.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(name) = name.strip_suffix(suffix) {
                found.push((name.to_string(), path));
            }
        }
        found.sort();
        Ok(found)
    }
}

#[async_trait::async_trait]
impl RunStatus for Files {
    fn logs_place(&self) -> String {
        self.0.join("logs").display().to_string()
    }

    fn processes_place(&self) -> String {
        self.0.join("run").display().to_string()
    }

    async fn logs(&self) -> std::io::Result<Vec<Log>> {
        let mut logs = Vec::new();
        for (name, path) in self.list("logs", ".log").unwrap_or_default() {
            let metadata = std::fs::metadata(path)?;
            logs.push(Log {
                name,
                size: metadata.len(),
                modified: metadata.modified().ok(),
            });
        }
        Ok(logs)
    }

    async fn tail(&self, name: &str, lines: usize) -> std::io::Result<Tail> {
        let path = self.0.join("logs").join(format!("{name}.log"));
        let text = std::fs::read_to_string(&path)?;
        let all: Vec<&str> = text.lines().collect();
        Ok(Tail {
            text: all[all.len().saturating_sub(lines)..].join("\n"),
            size: text.len() as u64,
            place: path.display().to_string(),
        })
    }

    async fn processes(&self) -> std::io::Result<Vec<Process>> {
        let mut processes = Vec::new();
        for (name, path) in self.list("run", ".pid").unwrap_or_default() {
            let pid = std::fs::read_to_string(&path)?.trim().parse::<i32>().ok();
            processes.push(Process {
                name,
                pid,
                running: pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()),
                since: std::fs::metadata(&path)?.modified().ok(),
            });
        }
        Ok(processes)
    }
}

/// The `shop` service, a gateway with the dashboard in front of it, and the micro directory.
struct Setup {
    http: Http,
    micro_dir: tempfile::TempDir,
    service: service::Running,
    auth: Option<Arc<Auth>>,
    _gateway: gateway::Running,
}

async fn setup() -> Setup {
    setup_with(false, true).await
}

/// The keys directory the auth tests share, its pair made once per run.
async fn keys() -> &'static Path {
    static KEYS: OnceCell<PathBuf> = OnceCell::const_new();
    KEYS.get_or_init(|| async {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard_keys");
        let memory: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
        Auth::open(memory, &dir).await.unwrap();
        dir
    })
    .await
}

/// With auth on when `auth`, and the logs and status of a [`Files`] runner when `runner`.
async fn setup_with(auth: bool, runner: bool) -> Setup {
    let registry: Arc<dyn Registry> = Arc::new(Memory::new());
    let store: Arc<dyn Store> = Arc::new(store::Memory::new(store::Options::default()));
    let broker: Arc<dyn Broker> = Arc::new(broker::Memory::new());
    let service = micro::Service::new("shop")
        .registry(registry.clone())
        .address("127.0.0.1:0")
        .handle("Shop.Order", order)
        .describe(
            "Shop.Order",
            "Places an order",
            r#"{"item":"tea","count":1,"price":2.5,"gift":false,"tags":[],"address":{"street":"Main St","zip":"1000"}}"#,
        )
        .handle("Shop.Meta", metadata)
        .stream("Shop.Watch", |_ctx, _stream| async move { Ok(()) })
        .start()
        .await
        .unwrap();
    let micro_dir = tempfile::tempdir().unwrap();
    let run_status = runner.then(|| Arc::new(Files(micro_dir.path().into())) as Arc<dyn RunStatus>);
    let mut gateway = Gateway::new(registry, store.clone(), broker).dashboard(run_status);
    let auth = if auth {
        let auth = Arc::new(Auth::open(store, keys().await).await.unwrap());
        gateway = gateway.auth(auth.clone());
        Some(auth)
    } else {
        None
    };
    let gateway = gateway.start("127.0.0.1:0").await.unwrap();
    Setup {
        http: Http::new(gateway.address().to_string()),
        micro_dir,
        service,
        auth,
        _gateway: gateway,
    }
}

impl Setup {
    /// Posts the endpoint form with `fields` (plus the CSRF field) and `cookies`.
    async fn post_form(&self, path: &str, cookies: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form = vec![("csrf", CSRF)];
        form.extend_from_slice(fields);
        self.http.post_form(path, cookies, &form).await
    }

    /// Posts the order form without auth.
    async fn order(&self, fields: &[(&str, &str)]) -> Answer {
        self.post_form(ORDER_PAGE, &format!("micro_csrf={CSRF}"), fields)
            .await
    }

    /// A token with `scopes` for a new service account `id` (no password to hash).
    async fn token(&self, id: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let auth = self.auth.as_ref().unwrap();
        auth.create_account(id, Kind::Service, None, &scopes)
            .await
            .unwrap();
        auth.issue(id, &scopes, Duration::from_secs(3600))
            .await
            .unwrap()
            .token
    }

    /// Writes `text` to `<micro_dir>/<dir>/<name>`.
    fn write(&self, dir: &str, name: &str, text: &str) {
        let dir = self.micro_dir.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// A form filled in with every field of an order.
const FULL_ORDER: &[(&str, &str)] = &[
    ("item", "green tea"),
    ("count", "3"),
    ("price", "1.5"),
    ("gift", "true"),
    ("tags", r#"["hot", "it's"]"#),
    ("address", r#"{"street": "Main St", "zip": "1000"}"#),
];

#[tokio::test]
async fn home_lists_services_with_counts_links_and_a_curl_example() {
    let setup = setup().await;
    let home = setup.http.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(home.element("service-count"), "1");
    assert_eq!(home.element("endpoint-count"), "3");
    home.assert_has(r#"<a href="/shop">shop</a>"#);
    home.assert_has("3 endpoints · 1 node");
    for link in ["/api", "/logs", "/status"] {
        home.assert_has(&format!(r#"href="{link}""#));
    }
    // The first endpoint that takes a call, with a body made from its request type.
    assert_eq!(
        home.element("try-it"),
        format!(
            r#"curl -X POST http://{}/api/shop/Shop.Meta -H 'Content-Type: application/json' -d '{{"note":""}}'"#,
            setup.http.address
        )
    );
}

#[tokio::test]
async fn services_page_has_a_row_per_service() {
    let setup = setup().await;
    let page = setup.http.get("/services").await;
    assert_eq!(page.status, 200);
    page.assert_has(r#"<td><a href="/shop">shop</a></td>"#);
    page.assert_has("<td>latest</td>\n      <td>1</td>\n      <td>3</td>");
}

#[tokio::test]
async fn service_page_shows_version_nodes_and_endpoints() {
    let setup = setup().await;
    let page = setup.http.get("/shop").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.element("versions"), "latest");
    let node = &setup.service.record().nodes[0];
    page.assert_has(&format!("<code>{}</code>", node.id));
    page.assert_has(&format!("<code>{}</code>", setup.service.address()));
    page.assert_has(r#"<a href="/shop/Shop.Order">Shop.Order</a>"#);
    page.assert_has(r#"<a href="/shop/Shop.Watch">Shop.Watch</a>"#);
    page.assert_has(
        "item string, count uint32, price float64, gift bool, tags []string, address Address",
    );
    page.assert_has("order Order, total float64");
    page.assert_has("Places an order");
}

#[tokio::test]
async fn unknown_services_endpoints_and_paths_are_404_pages() {
    let setup = setup().await;
    for (path, says) in [
        ("/nosuch", "service nosuch is not registered"),
        ("/nosuch/A.B", "service nosuch is not registered"),
        (
            "/shop/Shop.Nothing",
            "service shop has no endpoint Shop.Nothing",
        ),
        ("/shop/a/b/c", "no such page"),
    ] {
        let page = setup.http.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert!(
            page.element("error").contains(says),
            "{path}: {}",
            page.body
        );
    }
}

#[tokio::test]
async fn endpoint_page_has_a_form_typed_from_the_request_tree() {
    let setup = setup().await;
    let page = setup.http.get(ORDER_PAGE).await;
    assert_eq!(page.status, 200);
    let csrf = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix("micro_csrf="))
        .expect("a page without the CSRF cookie sets it");
    let secret = csrf.split(';').next().unwrap();
    page.assert_has(r#"<form id="call" method="post""#);
    page.assert_has(&format!(
        r#"<input type="hidden" name="csrf" value="{secret}">"#
    ));
    page.assert_has(r#"<input type="text" name="item" value="">"#);
    page.assert_has(r#"<input type="number" name="count" value="" step="1">"#);
    page.assert_has(r#"<input type="number" name="price" value="" step="any">"#);
    page.assert_has(r#"<input type="checkbox" name="gift" value="true">"#);
    page.assert_has(r#"<textarea name="tags" rows="3" placeholder="[]">"#);
    page.assert_has(r#"<textarea name="address" rows="3" placeholder="{"street":"","zip":""}">"#);
    page.assert_has(r#"<textarea name="_json""#);
    page.assert_has("Places an order");
    assert!(!page.body.contains("id=\"status\""), "no call made yet");
}

#[tokio::test]
async fn posting_the_fields_calls_the_endpoint_and_shows_the_curl_command() {
    let setup = setup().await;
    let page = setup.order(FULL_ORDER).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.element("status"), "200");
    let sent = json!({
        "item": "green tea", "count": 3, "price": 1.5, "gift": true,
        "tags": ["hot", "it's"], "address": {"street": "Main St", "zip": "1000"}
    });
    assert_eq!(page.response(), json!({"order": sent, "total": 4.5}));
    let curl = page.element("curl");
    let prefix = format!(
        "curl -X POST http://{}/api/shop/Shop.Order -H 'Content-Type: application/json' -d '",
        setup.http.address
    );
    let quoted = curl
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("unexpected curl command: {curl}"));
    let body = quoted.strip_suffix('\'').unwrap().replace(r"'\''", "'");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), sent);
    // The page keeps what was typed, to call again.
    page.assert_has(r#"<input type="text" name="item" value="green tea">"#);
    page.assert_has(r#"<input type="checkbox" name="gift" value="true" checked>"#);
}

#[tokio::test]
async fn an_unchecked_checkbox_sends_false() {
    let setup = setup().await;
    let fields: Vec<(&str, &str)> = FULL_ORDER
        .iter()
        .copied()
        .filter(|(name, _)| *name != "gift")
        .collect();
    let page = setup.order(&fields).await;
    assert_eq!(page.element("status"), "200");
    assert_eq!(page.response()["order"]["gift"], false);
}

#[tokio::test]
async fn raw_json_overrides_the_fields() {
    let setup = setup().await;
    let raw = r#"{"item":"coffee","count":2,"price":2,"gift":false,"tags":[],"address":{"street":"x","zip":"y"}}"#;
    let mut fields = FULL_ORDER.to_vec();
    fields.push(("_json", raw));
    let page = setup.order(&fields).await;
    assert_eq!(page.element("status"), "200");
    let answer = page.response();
    assert_eq!(answer["order"]["item"], "coffee");
    assert_eq!(answer["total"], 4.0);
    assert!(page.element("curl").contains(r#""item":"coffee""#));
}

#[tokio::test]
async fn fields_that_do_not_parse_show_the_form_again_with_the_error() {
    let setup = setup().await;
    for (field, value, says) in [
        (
            "count",
            "three",
            r#"field count: "three" is not a whole number of 0 or more (uint32)"#,
        ),
        (
            "count",
            "-1",
            r#"field count: "-1" is not a whole number of 0 or more (uint32)"#,
        ),
        (
            "price",
            "cheap",
            r#"field price: "cheap" is not a number (float64)"#,
        ),
        ("tags", "[hot", "field tags: not valid JSON"),
        ("_json", "{nope", "the raw JSON body is not valid JSON"),
    ] {
        let mut fields: Vec<(&str, &str)> = FULL_ORDER
            .iter()
            .copied()
            .filter(|(name, _)| *name != field)
            .collect();
        fields.push((field, value));
        let page = setup.order(&fields).await;
        assert_eq!(page.status, 400, "{field}={value}");
        let problem = page.element("problem");
        assert!(problem.starts_with(says), "{field}={value}: {problem}");
        assert!(!page.body.contains("id=\"status\""), "nothing was called");
        page.assert_has(r#"<form id="call" method="post""#);
    }
}

#[tokio::test]
async fn a_form_post_without_the_csrf_cookie_is_refused() {
    let setup = setup().await;
    let page = setup.post_form(ORDER_PAGE, "", FULL_ORDER).await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("CSRF check failed"), "{}", page.body);
}

#[tokio::test]
async fn stream_endpoints_have_no_form() {
    let setup = setup().await;
    let page = setup.http.get("/shop/Shop.Watch").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"call\""), "{}", page.body);
    assert!(page.element("stream-note").contains("is a stream endpoint"));
    let posted = setup.order(&[]).await;
    assert_eq!(posted.status, 200, "the order form itself still works");
    let posted = setup
        .post_form("/shop/Shop.Watch", &format!("micro_csrf={CSRF}"), &[])
        .await;
    assert_eq!(posted.status, 400);
    assert!(posted.element("problem").contains("is a stream endpoint"));
}

#[tokio::test]
async fn api_docs_describe_every_endpoint_with_a_sidebar() {
    let setup = setup().await;
    let page = setup.http.get("/api").await;
    assert_eq!(page.status, 200);
    for anchor in ["shop-Shop.Order", "shop-Shop.Watch"] {
        page.assert_has(&format!(r##"<a href="#{anchor}">"##));
        page.assert_has(&format!(r#"<section class="card endpoint" id="{anchor}">"#));
    }
    page.assert_has(r#"<nav class="sidebar" id="sidebar""#);
    page.assert_has("POST /api/shop/Shop.Order");
    page.assert_has("<h4>Request <code>Order</code></h4>");
    page.assert_has("<h4>Response <code>Receipt</code></h4>");
    for (field, kind) in [
        ("item", "string"),
        ("count", "uint32"),
        ("tags", "[]string"),
        ("address", "Address"),
        ("address.street", "string"),
        ("order", "Order"),
        ("order.item", "string"),
        ("total", "float64"),
    ] {
        page.assert_has(&format!("<code>{field}</code></td><td><code>{kind}</code>"));
    }
    page.assert_has(r#"<td class="depth-1"><code>address.zip</code>"#);
    // The published example, pretty-printed.
    page.assert_has(r#""street": "Main St""#);
}

#[tokio::test]
async fn logs_lists_log_files_and_shows_the_tail_of_one() {
    let setup = setup().await;
    let empty = setup.http.get("/logs").await;
    assert_eq!(empty.status, 200);
    empty.assert_has("No logs yet");
    let lines: Vec<String> = (1..=300)
        .map(|i| format!("\x1b[32mINFO\x1b[0m line {i:04}"))
        .collect();
    setup.write("logs", "shop.log", &(lines.join("\n") + "\n"));
    let list = setup.http.get("/logs").await;
    list.assert_has(r#"<a href="/logs/shop">shop</a>"#);
    let log = setup.http.get("/logs/shop").await;
    assert_eq!(log.status, 200);
    let text = log.element("log");
    let shown: Vec<&str> = text.lines().collect();
    assert_eq!(shown.len(), 200);
    assert_eq!(shown[0], "INFO line 0101");
    assert_eq!(shown[199], "INFO line 0300");
}

#[tokio::test]
async fn log_names_must_be_plain_and_exist() {
    let setup = setup().await;
    setup.write("", "secret.log", "not a service log");
    setup.write("logs", ".hidden.log", "not a service log");
    for path in [
        "/logs/../secret",
        "/logs/..%2Fsecret",
        "/logs/.hidden",
        "/logs/a%20b",
    ] {
        let page = setup.http.get(path).await;
        assert_eq!(page.status, 400, "{path}: {}", page.body);
        assert!(
            page.element("error").contains("is not a service name"),
            "{path}"
        );
        assert!(!page.body.contains("not a service log"), "{path}");
    }
    let missing = setup.http.get("/logs/nosuch").await;
    assert_eq!(missing.status, 404);
    assert!(missing.element("error").contains("no log for nosuch"));
}

#[tokio::test]
async fn without_a_runner_the_logs_and_status_pages_say_so() {
    let setup = setup_with(false, false).await;
    for path in ["/logs", "/status"] {
        let page = setup.http.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.element("no-runner").contains("runs without"), "{path}");
        page.assert_has("without <code>micro run</code>");
    }
    let log = setup.http.get("/logs/shop").await;
    assert_eq!(log.status, 404);
    assert!(log.element("error").contains("without micro run"));
}

#[tokio::test]
async fn only_administrators_see_logs_and_status() {
    let setup = setup_with(true, true).await;
    setup.write("logs", "shop.log", "a secret line\n");
    setup.write("run", "shop.pid", &format!("{}\n", std::process::id()));
    let worker = setup.token("worker", &["shop"]).await;
    let admin = setup.token("root", &["micro:admin"]).await;
    for path in ["/logs", "/logs/shop", "/status"] {
        let denied = setup
            .http
            .get_with_cookie(path, &format!("micro_token={worker}"))
            .await;
        assert_eq!(denied.status, 403, "{path}");
        assert!(!denied.body.contains("a secret line"), "{path}");
        assert!(
            !denied.body.contains(&std::process::id().to_string()),
            "{path}"
        );
        let allowed = setup
            .http
            .get_with_cookie(path, &format!("micro_token={admin}"))
            .await;
        assert_eq!(allowed.status, 200, "{path}: {}", allowed.body);
    }
}

#[tokio::test]
async fn status_shows_pid_files_running_or_not() {
    let setup = setup().await;
    let none = setup.http.get("/status").await;
    none.assert_has("No services started by");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    setup.write("run", "me.pid", &format!("{}\n", std::process::id()));
    setup.write("run", "gone.pid", &format!("{dead}\n"));
    setup.write("run", "junk.pid", "not a pid\n");
    let page = setup.http.get("/status").await;
    assert_eq!(page.status, 200);
    let row = |name: &str| {
        let start = page.body.find(&format!("id=\"process-{name}\"")).unwrap();
        let end = start + page.body[start..].find("</tr>").unwrap();
        page.body[start..end].to_string()
    };
    let me = row("me");
    assert!(
        me.contains(&format!(r#"<td class="pid">{}</td>"#, std::process::id())),
        "{me}"
    );
    assert!(me.contains(r#"<span class="ok">running</span>"#), "{me}");
    let uptime = me.split(r#"<td class="uptime">"#).nth(1).unwrap();
    let uptime = &uptime[..uptime.find("</td>").unwrap()];
    assert!(
        uptime.starts_with(|c: char| c.is_ascii_digit()) && uptime.ends_with('s'),
        "{uptime}"
    );
    let gone = row("gone");
    assert!(
        gone.contains(&format!(r#"<td class="pid">{dead}</td>"#)),
        "{gone}"
    );
    assert!(gone.contains("not running"), "{gone}");
    assert!(gone.contains("<td class=\"uptime\">—</td>"), "{gone}");
    let junk = row("junk");
    assert!(
        junk.contains("unreadable pid file") && junk.contains("not running"),
        "{junk}"
    );
}

#[tokio::test]
async fn posting_to_a_page_that_takes_no_form_is_refused() {
    let setup = setup().await;
    let page = setup
        .post_form("/services", &format!("micro_csrf={CSRF}"), &[])
        .await;
    assert_eq!(page.status, 405);
}

#[tokio::test]
async fn with_auth_on_the_form_call_needs_the_endpoints_scope() {
    let setup = setup_with(true, true).await;
    let auth = setup.auth.as_ref().unwrap();
    auth.set_scopes("shop", "Shop.Order", &["shop".to_string()])
        .await
        .unwrap();
    let anonymous = setup.http.get(ORDER_PAGE).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        "/auth/login?next=%2Fshop%2FShop.Order"
    );

    let other = setup.token("other", &["other"]).await;
    let cookies = format!("micro_token={other}; micro_csrf={CSRF}");
    let form = setup.http.get_with_cookie(ORDER_PAGE, &cookies).await;
    assert_eq!(form.status, 200);
    assert_eq!(form.element("scopes"), "shop");
    let refused = setup.post_form(ORDER_PAGE, &cookies, FULL_ORDER).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert_eq!(refused.element("status"), "403");
    assert_eq!(
        refused.response(),
        json!({"error": "insufficient scopes", "required_scopes": "shop"})
    );
    let curl = refused.element("curl");
    assert!(
        curl.contains(r#" -H "Authorization: Bearer $MICRO_TOKEN" -d '"#),
        "{curl}"
    );

    let shopper = setup.token("shopper", &["shop"]).await;
    let cookies = format!("micro_token={shopper}; micro_csrf={CSRF}");
    let allowed = setup.post_form(ORDER_PAGE, &cookies, FULL_ORDER).await;
    assert_eq!(allowed.element("status"), "200");
    assert_eq!(allowed.response()["total"], 4.5);
    // The service is not sent the browser's cookies (the session token) as call metadata.
    let meta = setup
        .post_form("/shop/Shop.Meta", &cookies, &[("note", "hi")])
        .await;
    assert_eq!(meta.element("status"), "200");
    let seen = meta.response();
    assert!(seen.get("cookie").is_none(), "{seen}");
    assert!(!seen.to_string().contains(&shopper), "{seen}");
    let home = setup.http.get_with_cookie("/", &cookies).await;
    assert!(
        home.element("try-it")
            .contains("Authorization: Bearer $MICRO_TOKEN")
    );
}
