//! The limits that keep the RPC listener safe from slow, idle and too many clients, with
//! defaults that suit go-micro peers and long-lived streams.

use crate::errors::{Error, Result};
use crate::transport::wire::ReadTimeouts;
use std::time::Duration;

/// How long a message's head may take once its first byte is in: twice the 5 s go-micro's
/// own listener allows, as go-micro clients send each message whole.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a message's body may take once its head is in: a 4 MiB body at about 1 Mbit/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection may wait for its next message with no stream open: Go's
/// `http.Transport` keeps idle connections as long, and go-micro's client pool (as ours)
/// drops them after a minute, so its pooled connections are never cut under it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How many connections are served at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// How the RPC listener guards itself against slow, idle and too many clients.
///
/// ```
/// use micro::server::Limits;
/// use std::time::Duration;
/// let limits = Limits { idle_timeout: Duration::from_secs(30), ..Limits::default() };
/// assert_eq!(limits.max_connections, micro::server::DEFAULT_MAX_CONNECTIONS);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The time a message's head may take once its first byte is in; a slower client gets
    /// a 408 and is disconnected.
    pub header_timeout: Duration,
    /// The time a message's body may take once its head is in; likewise.
    pub body_timeout: Duration,
    /// The time a connection may wait for its next message while no stream is open on it;
    /// it is then closed. An open stream, however quiet, keeps its connection.
    pub idle_timeout: Duration,
    /// The most connections served at once; more are accepted only as others close, and
    /// wait in the listen backlog until then.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Limits {
    /// A clear error when a limit would refuse everything (a zero time or no connections).
    pub fn check(&self) -> Result<()> {
        let zero = [
            ("header_timeout", self.header_timeout.is_zero()),
            ("body_timeout", self.body_timeout.is_zero()),
            ("idle_timeout", self.idle_timeout.is_zero()),
            ("max_connections", self.max_connections == 0),
        ];
        match zero.iter().find(|(_, zero)| *zero) {
            Some((name, _)) => Err(Error::bad_request(
                "micro.server",
                format!(
                    "server limit {name} is zero, which would refuse every client; leave it at its default or give it a positive value"
                ),
            )),
            None => Ok(()),
        }
    }

    pub(crate) fn read_timeouts(&self) -> ReadTimeouts {
        ReadTimeouts {
            head: self.header_timeout,
            body: self.body_timeout,
        }
    }
}
