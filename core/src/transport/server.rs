//! The server end of the transport: an accepted connection becomes a message [`Reader`] and a
//! [`Responder`] that any task may use to send responses, in any order, on the connection.

use super::wire::{Reader, encode_response};
use super::{Header, Message};
use crate::errors::{Error, Result};
use bytes::BytesMut;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

/// Splits an accepted connection into its reader (bodies over `max_body` refused) and its
/// shared responder.
pub fn accept(stream: TcpStream, max_body: usize) -> (Reader<OwnedReadHalf>, Responder) {
    stream.set_nodelay(true).ok();
    let (read, write) = stream.into_split();
    let responder = Responder {
        out: Arc::new(Mutex::new((write, BytesMut::with_capacity(4096)))),
    };
    (Reader::new(read, max_body), responder)
}

/// The write end of a server connection; clones share it, each response written whole.
#[derive(Clone)]
pub struct Responder {
    out: Arc<Mutex<(OwnedWriteHalf, BytesMut)>>,
}

impl Responder {
    /// Sends a `200 OK` response carrying the message.
    pub async fn send(&self, message: &Message) -> Result<()> {
        self.send_status(200, &message.header, &message.body).await
    }

    /// Sends a response with any status, for plain HTTP answers such as `/health`.
    pub async fn send_status(&self, code: u16, header: &Header, body: &[u8]) -> Result<()> {
        let mut out = self.out.lock().await;
        let (io, buf) = &mut *out;
        buf.clear();
        encode_response(buf, code, header, body);
        io.write_all(buf)
            .await
            .map_err(|e| Error::internal("go.micro.server.transport", format!("send failed: {e}")))
    }
}
