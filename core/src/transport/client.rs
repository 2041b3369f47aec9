//! The client end of the transport: a connection that sends `POST /` requests and reads
//! responses, and a pool of idle connections per address, as go-micro keeps them (100 per
//! address, one minute each).

use super::Message;
use super::wire::{Reader, Start, encode_request, pairs};
use crate::errors::{Error, Result};
use bytes::BytesMut;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const ID: &str = "go.micro.client.transport";

/// A client connection to one server address.
pub struct Conn {
    send: SendHalf,
    recv: RecvHalf,
    opened: Instant,
}

/// The sending end of a [`Conn`], for streams that send and receive at once.
pub struct SendHalf {
    io: OwnedWriteHalf,
    address: String,
    buf: BytesMut,
}

/// The receiving end of a [`Conn`].
pub struct RecvHalf {
    reader: Reader<OwnedReadHalf>,
}

impl Conn {
    /// Connects to `address` (`host:port`), giving up after `timeout`; bodies over `max_body`
    /// bytes are refused when read.
    pub async fn dial(address: &str, timeout: Duration, max_body: usize) -> Result<Conn> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| {
                Error::timeout(ID, format!("dial {address}: no answer within {timeout:?}"))
            })?
            .map_err(|e| Error::internal(ID, format!("dial {address}: {e}")).with_source(e))?;
        stream.set_nodelay(true).ok();
        let (read, write) = stream.into_split();
        Ok(Conn {
            send: SendHalf {
                io: write,
                address: address.to_string(),
                buf: BytesMut::with_capacity(4096),
            },
            recv: RecvHalf {
                reader: Reader::new(read, max_body),
            },
            opened: Instant::now(),
        })
    }

    /// The address this connection reaches.
    pub fn address(&self) -> &str {
        &self.send.address
    }

    /// Sends one message as a request.
    pub async fn send(&mut self, message: &Message) -> Result<()> {
        self.send.send(message).await
    }

    /// Sends a request made of `header` (name-value pairs) and `body`, for a caller that
    /// never builds a [`Message`].
    pub async fn send_parts<'a>(
        &mut self,
        header: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> Result<()> {
        self.send.send_parts(header, body).await
    }

    /// Reads one response.
    pub async fn recv(&mut self) -> Result<Message> {
        self.recv.recv().await
    }

    /// Reads one response, telling apart no answer at all (`Err`: the connection failed or
    /// closed first) from an answer other than 200 (`Ok(Err)`).
    pub async fn answer(&mut self) -> Result<Result<Message>> {
        self.recv.answer().await
    }

    /// Splits the connection so one task may send while another receives.
    pub fn split(self) -> (SendHalf, RecvHalf) {
        (self.send, self.recv)
    }
}

impl SendHalf {
    /// Sends one message as a `POST /` request.
    pub async fn send(&mut self, message: &Message) -> Result<()> {
        self.send_parts(pairs(&message.header), &message.body).await
    }

    /// Sends a request made of `header` (name-value pairs) and `body`.
    pub async fn send_parts<'a>(
        &mut self,
        header: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: &[u8],
    ) -> Result<()> {
        self.buf.clear();
        encode_request(&mut self.buf, &self.address, header, body);
        self.io
            .write_all(&self.buf)
            .await
            .map_err(|e| Error::internal(ID, format!("send to {}: {e}", self.address)))
    }
}

impl RecvHalf {
    /// Reads one response; a status other than 200 is an error carrying the body.
    pub async fn recv(&mut self) -> Result<Message> {
        self.answer().await?
    }

    /// Reads one response: `Err` when none came, `Ok(Err)` for a status other than 200.
    pub async fn answer(&mut self) -> Result<Result<Message>> {
        let frame = self
            .reader
            .read()
            .await?
            .ok_or_else(|| Error::internal(ID, "the server closed the connection"))?;
        Ok(match frame.start {
            Start::Response { code: 200 } => Ok(Message {
                header: frame.header,
                body: frame.body,
            }),
            Start::Response { code } => Err(Error::new(
                ID,
                format!(
                    "server answered HTTP {code}: {}",
                    String::from_utf8_lossy(&frame.body)
                ),
                500,
            )),
            Start::Request { .. } => Err(Error::internal(
                ID,
                "the server sent a request, not a response",
            )),
        })
    }
}

/// Idle connections kept per address for reuse.
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    size: usize,
    ttl: Duration,
}

impl Default for Pool {
    /// go-micro's defaults: 100 idle connections per address, each reused for one minute.
    fn default() -> Self {
        Pool::new(100, Duration::from_secs(60))
    }
}

impl Pool {
    /// A pool keeping at most `size` idle connections per address, each for at most `ttl`
    /// after it was opened.
    pub fn new(size: usize, ttl: Duration) -> Self {
        Pool {
            idle: Mutex::new(HashMap::new()),
            size,
            ttl,
        }
    }

    /// An idle connection to `address`, or a new one.
    pub async fn get(
        &self,
        address: &str,
        dial_timeout: Duration,
        max_body: usize,
    ) -> Result<Conn> {
        if let Some(conn) = self.take(address) {
            return Ok(conn);
        }
        Conn::dial(address, dial_timeout, max_body).await
    }

    /// An idle connection to `address`, if one is kept; the server may have closed it since,
    /// so a caller should redial once when it fails before any response.
    pub fn take(&self, address: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap();
        let conns = idle.get_mut(address)?;
        while let Some(conn) = conns.pop() {
            if conn.opened.elapsed() < self.ttl {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a healthy connection after a completed call; one that failed must be dropped
    /// instead.
    pub fn put(&self, conn: Conn) {
        if conn.opened.elapsed() >= self.ttl {
            return;
        }
        let mut idle = self.idle.lock().unwrap();
        let conns = idle.entry(conn.address().to_string()).or_default();
        if conns.len() < self.size {
            conns.push(conn);
        }
    }
}
