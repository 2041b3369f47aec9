//! The caller's end of a stream: a dedicated connection on which every message sent carries
//! `Micro-Stream: <id>` and the call headers, and responses arrive in any number until the
//! server's `Micro-Error: EOS`. Closing sends the client's own EOS.

use crate::codec::Codec;
use crate::errors::{Error, Result};
use crate::transport::{END_OF_STREAM, Message, RecvHalf, SendHalf, micro_header};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An open stream to one node, from [`Client::stream`](super::Client::stream).
///
/// A server stream is: open, send the request, receive until `None`. A bidirectional stream
/// sends and receives in any order and ends with [`Stream::close`]. Dropping the stream
/// closes its connection.
pub struct Stream {
    sender: StreamSender,
    receiver: StreamReceiver,
}

/// The sending end of a [`Stream`], after [`Stream::split`].
pub struct StreamSender {
    io: SendHalf,
    /// The call headers; the body is swapped for each message.
    message: Message,
    codec: Codec,
    closed: bool,
}

/// The receiving end of a [`Stream`], after [`Stream::split`].
pub struct StreamReceiver {
    io: RecvHalf,
    codec: Codec,
    ended: bool,
}

impl Stream {
    /// A stream over a connection whose first message has been sent; `header` holds the
    /// headers every message repeats.
    pub(crate) fn new(io: (SendHalf, RecvHalf), header: Message, codec: Codec) -> Self {
        Stream {
            sender: StreamSender {
                io: io.0,
                message: header,
                codec,
                closed: false,
            },
            receiver: StreamReceiver {
                io: io.1,
                codec,
                ended: false,
            },
        }
    }

    /// Sends one payload, framed for the stream's codec.
    pub async fn send(&mut self, payload: Bytes) -> Result<()> {
        self.sender.send(payload).await
    }

    /// Encodes a value with the stream's codec (a JSON kind) and sends it.
    pub async fn send_json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        self.sender.send_json(value).await
    }

    /// The next payload from the server; `None` once the server ended the stream. Any other
    /// error the server sends is returned as it is.
    pub async fn recv(&mut self) -> Result<Option<Bytes>> {
        self.receiver.recv().await
    }

    /// The next payload decoded with the stream's codec (a JSON kind); `None` at the end.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        self.receiver.recv_json().await
    }

    /// Tells the server the caller is done (`Micro-Error: EOS`); later sends fail. Whatever
    /// the server still sends can be received, but a go-micro server need not answer with
    /// its own EOS, so only wait for more when the server is known to send it.
    pub async fn close(&mut self) -> Result<()> {
        self.sender.close().await
    }

    /// Splits the stream so one task can send while another receives.
    pub fn split(self) -> (StreamSender, StreamReceiver) {
        (self.sender, self.receiver)
    }
}

impl StreamSender {
    /// Sends one payload, framed for the stream's codec.
    pub async fn send(&mut self, payload: Bytes) -> Result<()> {
        if self.closed {
            return Err(Error::bad_request(
                super::ID,
                "the stream was closed for sending; open a new stream to send more",
            ));
        }
        self.message.body = self.codec.frame(payload);
        self.io.send(&self.message).await
    }

    /// Encodes a value with the stream's codec (a JSON kind) and sends it.
    pub async fn send_json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        let payload = self.codec.encode(value)?;
        self.send(payload).await
    }

    /// Sends the client's end of stream (`Micro-Error: EOS`); closing twice does nothing.
    pub async fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        self.message
            .header
            .insert("Micro-Error".into(), END_OF_STREAM.into());
        self.message.body = Bytes::new();
        self.io.send(&self.message).await
    }
}

impl StreamReceiver {
    /// The next payload from the server; `None` once the server ended the stream.
    pub async fn recv(&mut self) -> Result<Option<Bytes>> {
        if self.ended {
            return Ok(None);
        }
        let message = self.io.recv().await.inspect_err(|_| self.ended = true)?;
        match micro_header(&message.header, "Error") {
            Some(END_OF_STREAM) => {
                self.ended = true;
                Ok(None)
            }
            Some(err) => {
                self.ended = true;
                Err(Error::parse(err))
            }
            None => self.codec.unframe(message.body).map(Some),
        }
    }

    /// The next payload decoded with the stream's codec (a JSON kind); `None` at the end.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        match self.recv().await? {
            Some(payload) => self.codec.decode(payload).map(Some),
            None => Ok(None),
        }
    }
}
