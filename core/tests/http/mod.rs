//! The HTTP/1.1 client the gateway tests share: one request to the gateway, its answer read
//! whole, with helpers to read JSON, headers, cookies and elements of a page.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A plain HTTP/1.1 client for the gateway at `address`.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    /// The gateway's `host:port`.
    pub address: String,
}

/// Status, headers and body of one answer.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Http {
    /// A client for the gateway listening on `address`.
    pub fn new(address: String) -> Http {
        Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            address,
        }
    }

    /// `GET path` with no headers.
    pub async fn get(&self, path: &str) -> Answer {
        self.send("GET", path, &[], "").await
    }

    /// `GET path` sending `cookie` as the Cookie header.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Answer {
        self.send("GET", path, &[("cookie", cookie)], "").await
    }

    /// `POST path` with `body` and no headers.
    pub async fn post(&self, path: &str, body: &str) -> Answer {
        self.send("POST", path, &[], body).await
    }

    /// Posts `body` as JSON.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        let headers = [("content-type", "application/json")];
        self.send("POST", path, &headers, &body.to_string()).await
    }

    /// Posts `fields` as a form with `cookie`, exactly as given (the csrf field included).
    pub async fn post_form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let headers = [
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", cookie),
        ];
        self.send("POST", path, &headers, &body).await
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `error` text of a `{"error": ...}` answer.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", self.body))
            .to_string()
    }

    /// Asserts that the answer is `status` with an `error` text containing `text`.
    pub fn assert_error(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let error = self.error();
        assert!(error.contains(text), "{error:?} lacks {text:?}");
    }

    /// The value of header `name`, which must be there.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// The `Set-Cookie` header setting `name`.
    pub fn set_cookie(&self, name: &str) -> &str {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {:?}", self.headers))
    }

    /// The text inside the element with `id`, up to the next tag, HTML entities decoded.
    pub fn element(&self, id: &str) -> String {
        let start = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        let rest = &self.body[start..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest[open..].find('<').unwrap();
        unescape(&rest[open..open + close])
    }

    /// The response of a dashboard form call, as JSON.
    pub fn response(&self) -> Value {
        let text = self.element("response");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Asserts that the page, HTML entities decoded, contains `text`.
    pub fn assert_has(&self, text: &str) {
        assert!(
            unescape(&self.body).contains(text),
            "the page should contain {text:?}:\n{}",
            self.body
        );
    }

    /// Asserts the security headers every answer of a gateway with auth carries.
    pub fn assert_secure(&self) {
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert_eq!(self.header("x-frame-options"), "DENY");
        assert_eq!(self.header("referrer-policy"), "same-origin");
        let csp = self.header("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
        }
    }
}

/// Decodes the entities minijinja writes.
fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
