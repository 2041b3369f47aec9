//! HTTP/1.1 message framing for go-micro's transport. One TCP connection carries a sequence of
//! HTTP messages in each direction; for streams they do not pair up as request and response,
//! so we read and write single messages ourselves (httparse) instead of using an HTTP library.

use super::Header;
use crate::errors::{Error, Result};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt::Write as _;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

const ID: &str = "micro.transport";
/// The most headers one message may carry.
const MAX_HEADERS: usize = 128;
/// The largest head (start line and headers) of one message.
const MAX_HEAD: usize = 64 << 10;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A request.
    Request {
        /// The method, as sent (`POST`).
        method: String,
        /// The request target (`/`).
        path: String,
    },
    /// A response.
    Response {
        /// The status code.
        code: u16,
    },
}

/// One HTTP message off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Request or response line.
    pub start: Start,
    /// Headers, names in Go's canonical form (`Micro-Id`, `Content-Type`).
    pub header: Header,
    /// The body.
    pub body: Bytes,
}

/// How long one message may take to arrive, so a peer sending it slowly cannot hold the
/// reader: its head once its first byte is in, then its body once the head is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTimeouts {
    /// The time from a message's first byte to the end of its head.
    pub head: Duration,
    /// The time from the end of the head to the end of the body.
    pub body: Duration,
}

/// When the part of a message being read must be in.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    limit: Duration,
    part: &'static str,
}

impl Deadline {
    fn after(limit: Duration, part: &'static str) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
            part,
        }
    }

    fn missed(&self) -> Error {
        Error::timeout(
            ID,
            format!(
                "the message {} did not arrive within {:?}; send each message whole",
                self.part, self.limit
            ),
        )
    }
}

/// Reads HTTP messages from a byte stream, one at a time.
pub struct Reader<R> {
    io: R,
    buf: BytesMut,
    max_body: usize,
    timeouts: Option<ReadTimeouts>,
    /// When the part being read must be in, while a message is read under `timeouts`.
    deadline: Option<Deadline>,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// A reader refusing bodies over `max_body` bytes, waiting as long as it takes.
    pub fn new(io: R, max_body: usize) -> Self {
        Reader {
            io,
            buf: BytesMut::with_capacity(8 << 10),
            max_body,
            timeouts: None,
            deadline: None,
        }
    }

    /// Fails a message whose head or body does not arrive in time with a 408; the wait for
    /// a message to begin stays unbounded.
    pub fn with_timeouts(mut self, timeouts: ReadTimeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Waits until the next message has begun to arrive; `false` when the peer closed the
    /// connection first. Cancel-safe: nothing read is lost if the wait is dropped.
    pub async fn ready(&mut self) -> Result<bool> {
        self.deadline = None;
        while self.buf.is_empty() {
            if self.fill().await? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The next message; `None` when the peer closed the connection between messages.
    pub async fn read(&mut self) -> Result<Option<Frame>> {
        if !self.ready().await? {
            return Ok(None);
        }
        self.read_message().await.map(Some)
    }

    async fn read_message(&mut self) -> Result<Frame> {
        self.deadline = self.timeouts.map(|t| Deadline::after(t.head, "head"));
        loop {
            if let Some((start, header, head_len)) = parse_head(&self.buf)? {
                self.buf.advance(head_len);
                self.deadline = self.timeouts.map(|t| Deadline::after(t.body, "body"));
                let body = self.read_body(&header).await?;
                return Ok(Frame {
                    start,
                    header,
                    body,
                });
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Error::new(
                    ID,
                    format!("message head over {MAX_HEAD} bytes"),
                    431,
                ));
            }
            if self.fill().await? == 0 {
                return Err(closed_mid_message());
            }
        }
    }

    /// Reads more bytes into the buffer, by the deadline if one is set; 0 at end of stream.
    async fn fill(&mut self) -> Result<usize> {
        self.buf.reserve(8 << 10);
        let deadline = self.deadline;
        let read = self.io.read_buf(&mut self.buf);
        let read = match deadline {
            None => read.await,
            Some(deadline) => tokio::time::timeout_at(deadline.at, read)
                .await
                .map_err(|_| deadline.missed())?,
        };
        read.map_err(|e| Error::internal(ID, format!("read failed: {e}")))
    }

    async fn read_body(&mut self, header: &Header) -> Result<Bytes> {
        let chunked = header
            .get("Transfer-Encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            return self.read_chunked().await;
        }
        let len = match header.get("Content-Length") {
            None => 0,
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                Error::bad_request(ID, format!("Content-Length {v:?} is not a number"))
            })?,
        };
        self.check_size(len)?;
        self.take(len).await
    }

    async fn take(&mut self, len: usize) -> Result<Bytes> {
        while self.buf.len() < len {
            if self.fill().await? == 0 {
                return Err(closed_mid_message());
            }
        }
        Ok(self.buf.split_to(len).freeze())
    }

    async fn read_chunked(&mut self) -> Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let line = self.read_line().await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| Error::bad_request(ID, format!("bad chunk size {size:?}")))?;
            self.check_size(body.len().saturating_add(size))?;
            if size == 0 {
                // Trailers, if any, end with an empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body.freeze());
            }
            body.put(self.take(size).await?);
            if !self.read_line().await?.is_empty() {
                return Err(Error::bad_request(ID, "chunk not followed by CRLF"));
            }
        }
    }

    async fn read_line(&mut self) -> Result<String> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(end + 2);
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Error::bad_request(ID, "chunk line too long"));
            }
            if self.fill().await? == 0 {
                return Err(closed_mid_message());
            }
        }
    }

    fn check_size(&self, len: usize) -> Result<()> {
        if len > self.max_body {
            return Err(Error::new(
                ID,
                format!(
                    "message body of {len} bytes is over the {} byte limit",
                    self.max_body
                ),
                413,
            ));
        }
        Ok(())
    }
}

fn closed_mid_message() -> Error {
    Error::internal(ID, "connection closed in the middle of a message")
}

/// Parses a complete head at the start of `buf`: the start line, headers and head length.
fn parse_head(buf: &[u8]) -> Result<Option<(Start, Header, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let malformed =
        |e: httparse::Error| Error::bad_request(ID, format!("malformed HTTP message: {e}"));
    if buf.starts_with(b"HTTP/") {
        let mut rsp = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(len) = rsp.parse(buf).map_err(malformed)? else {
            return Ok(None);
        };
        let start = Start::Response {
            code: rsp.code.unwrap_or(0),
        };
        Ok(Some((start, collect(rsp.headers)?, len)))
    } else {
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(len) = req.parse(buf).map_err(malformed)? else {
            return Ok(None);
        };
        let start = Start::Request {
            method: req.method.unwrap_or_default().to_string(),
            path: req.path.unwrap_or_default().to_string(),
        };
        Ok(Some((start, collect(req.headers)?, len)))
    }
}

fn collect(headers: &[httparse::Header<'_>]) -> Result<Header> {
    let mut out = Header::with_capacity(headers.len());
    for h in headers {
        let value = std::str::from_utf8(h.value)
            .map_err(|_| Error::bad_request(ID, format!("header {} is not UTF-8", h.name)))?;
        // Go keeps the first value of a repeated header; so do we.
        out.entry(canonical(h.name))
            .or_insert_with(|| value.to_string());
    }
    Ok(out)
}

/// Go's canonical header name: `micro-id` and `MICRO-ID` both become `Micro-Id`.
pub fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// Writes `POST / HTTP/1.1` with the headers (name-value pairs) and body.
pub fn encode_request<'a>(
    out: &mut BytesMut,
    host: &str,
    header: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) {
    out.put_slice(b"POST / HTTP/1.1\r\nHost: ");
    out.put_slice(host.as_bytes());
    out.put_slice(b"\r\n");
    encode_rest(out, header, body);
}

/// Writes `HTTP/1.1 <code> <reason>` with the headers and body.
pub fn encode_response(out: &mut BytesMut, code: u16, header: &Header, body: &[u8]) {
    let reason = match crate::errors::status_text(code.into()) {
        "" => "OK",
        reason => reason,
    };
    let _ = write!(out, "HTTP/1.1 {code} {reason}\r\n");
    encode_rest(out, pairs(header), body);
}

/// A header map as the name-value pairs the encoders take.
pub fn pairs(header: &Header) -> impl Iterator<Item = (&str, &str)> {
    header
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
}

fn encode_rest<'a>(
    out: &mut BytesMut,
    header: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
) {
    for (name, value) in header {
        let framing = ["Content-Length", "Transfer-Encoding", "Host"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f));
        if framing || name.is_empty() || !name.bytes().all(is_token) {
            continue;
        }
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            // A value with a line break would forge headers: drop the line breaks.
            for b in value.bytes().filter(|b| *b != b'\r' && *b != b'\n') {
                out.put_u8(b);
            }
        } else {
            out.put_slice(value.as_bytes());
        }
        out.put_slice(b"\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.put_slice(body);
}

/// A byte allowed in a header name (RFC 9110 token).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(bytes: &[u8], max_body: usize) -> Vec<Result<Option<Frame>>> {
        let mut reader = Reader::new(bytes, max_body);
        let mut out = Vec::new();
        loop {
            let frame = reader.read().await;
            let done = !matches!(frame, Ok(Some(_)));
            out.push(frame);
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn requests_and_responses_round_trip() {
        let mut header = Header::new();
        header.insert("Micro-Endpoint".into(), "Greeter.Hello".into());
        let mut buf = BytesMut::new();
        encode_request(&mut buf, "127.0.0.1:1", pairs(&header), b"{\"name\":\"x\"}");
        encode_response(&mut buf, 200, &header, b"");
        let frames = read_all(&buf, 1024).await;
        let first = frames[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(
            first.start,
            Start::Request {
                method: "POST".into(),
                path: "/".into()
            }
        );
        assert_eq!(first.header["Micro-Endpoint"], "Greeter.Hello");
        assert_eq!(first.body, "{\"name\":\"x\"}");
        let second = frames[1].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(second.start, Start::Response { code: 200 });
        assert!(second.body.is_empty());
        assert!(matches!(frames[2], Ok(None)));
    }

    #[tokio::test]
    async fn header_names_become_canonical_and_chunked_bodies_are_joined() {
        let raw = b"POST / HTTP/1.1\r\nmicro-id: 7\r\nTRANSFER-ENCODING: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let frames = read_all(raw, 1024).await;
        let frame = frames[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(frame.header["Micro-Id"], "7");
        assert_eq!(frame.body, "abcde");
    }

    #[tokio::test]
    async fn garbage_and_oversize_bodies_are_clear_errors() {
        let err = read_all(b"\x00\x01garbage\r\n\r\n", 1024)
            .await
            .remove(0)
            .unwrap_err();
        assert!(
            err.detail.contains("malformed HTTP message"),
            "{}",
            err.detail
        );
        let err = read_all(b"POST / HTTP/1.1\r\nContent-Length: 2048\r\n\r\n", 1024)
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.code, 413);
        let err = read_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 1024)
            .await
            .remove(0)
            .unwrap_err();
        assert!(
            err.detail.contains("closed in the middle"),
            "{}",
            err.detail
        );
        let err = read_all(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 1024)
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.code, 400);
    }

    #[test]
    fn header_values_cannot_inject_lines() {
        let mut header = Header::new();
        header.insert("X".into(), "a\r\nEvil: 1".into());
        header.insert("Bad\r\nName".into(), "v".into());
        let mut buf = BytesMut::new();
        encode_response(&mut buf, 200, &header, b"");
        let text = String::from_utf8_lossy(&buf);
        assert!(
            !text.contains("\r\nEvil") && !text.contains("Name"),
            "{text}"
        );
    }
}
