//! One HTTP/1.1 exchange over a plain TCP connection, for the tests of the `micro` binary
//! (its crate has no HTTP client to build requests with).

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `method path` with `headers` (each line ending in `\r\n`) and a JSON `body` on a fresh
/// connection; returns the status, the head and the body of the answer.
pub async fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// An answer's body as JSON.
pub fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// Logs in to the gateway at `address` as the default admin (`admin`/`micro`) and returns the
/// `Authorization: Bearer ...` header line for [`http`].
pub async fn admin_bearer(address: &str) -> String {
    let login = r#"{"id":"admin","password":"micro"}"#;
    let (status, _, body) = http(address, "POST", "/auth/login", "", login).await;
    assert_eq!(status, 200, "{body}");
    let token = parse(&body)["token"].as_str().unwrap().to_string();
    format!("Authorization: Bearer {token}\r\n")
}

/// POSTs `body` to `path` until the answer is a 200 (the server may still be starting, and a
/// gateway finds services through mDNS a moment after both start), for at most 20 s; returns
/// that answer's body.
pub async fn post_until_ok(address: &str, path: &str, headers: &str, body: &str) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut last = None;
        if TcpStream::connect(address).await.is_ok() {
            let (status, _, answer) = http(address, "POST", path, headers, body).await;
            if status == 200 {
                return answer;
            }
            last = Some((status, answer));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "POST {path} never answered 200: {last:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
