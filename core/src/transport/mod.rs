//! go-micro's HTTP transport (protocol `mucp`): HTTP/1.1 messages over TCP, framed by hand so
//! one request can be answered by many responses (streams). [`Conn`] is the client end,
//! [`Pool`] keeps idle client connections per address, [`Responder`] is the server's
//! write end of an accepted connection.

mod client;
mod server;
pub mod wire;

pub use client::{Conn, Pool, RecvHalf, SendHalf};
pub use server::{Responder, accept};

use std::collections::HashMap;

/// Message headers, names in Go's canonical form (`Micro-Id`, `Content-Type`).
pub type Header = HashMap<String, String>;

/// One transport message: headers and a body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Headers, including `Micro-*` call headers and call metadata.
    pub header: Header,
    /// The encoded body.
    pub body: bytes::Bytes,
}

/// A `Micro-*` header by its name (`Id`, `Endpoint`, ...), also accepting the `X-Micro-*`
/// spelling.
pub fn micro_header<'a>(header: &'a Header, name: &str) -> Option<&'a str> {
    prefixed(header, "Micro-", name)
        .or_else(|| prefixed(header, "X-Micro-", name))
        .filter(|v| !v.is_empty())
}

/// The header named `prefix` + `name`, the name put together on the stack (every message
/// looks up several).
fn prefixed<'a>(header: &'a Header, prefix: &str, name: &str) -> Option<&'a str> {
    let mut buf = [0u8; 64];
    let len = prefix.len() + name.len();
    let Some(key) = buf.get_mut(..len) else {
        return header.get(&format!("{prefix}{name}")).map(String::as_str);
    };
    key[..prefix.len()].copy_from_slice(prefix.as_bytes());
    key[prefix.len()..].copy_from_slice(name.as_bytes());
    let key = std::str::from_utf8(key).expect("two strings joined are a string");
    header.get(key).map(String::as_str)
}

/// Whether `name` is a header only browsers send: `Origin` (on every POST and cross-site
/// request) or a `Sec-Fetch-*` one. A service refuses a request carrying one, since a page
/// in a browser has no business on its RPC port, and the client never sends one as call
/// metadata, so a gateway passing a browser's headers on is not refused.
pub fn is_browser_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("Origin")
        || name
            .get(..10)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("Sec-Fetch-"))
}

/// The `Micro-Error` value that ends a stream.
pub const END_OF_STREAM: &str = "EOS";
