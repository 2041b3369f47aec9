//! The connection to NATS that the NATS registry, broker and store each hold: the address
//! given as go-micro takes it, made on first use, and the errors saying NATS cannot be reached.
//! Once connected, async-nats reconnects by itself and resubscribes every subscription, so a
//! restarted server is picked up without a new connection; only a first connection that
//! failed is tried again, after [`crate::reconnect`]'s pause.
//!
//! TLS as go-micro's NATS options give it: a `tls://` server, `?tls=true` (TLS to every
//! server, checked against the system's roots), or `?ca=/path/ca.pem` (TLS to every server,
//! checked against the CA certificates of that file instead).

use crate::backend::{Server, option};
use crate::errors::{Error, Result};
use crate::reconnect::Reconnecting;
use crate::tls;
use async_nats::connection::State;
use async_nats::{Client, ConnectErrorKind, ConnectOptions, ServerAddr};
use std::time::Duration;

/// NATS's address when none is given, as go-micro's.
pub const DEFAULT_ADDRESS: &str = "nats://127.0.0.1:4222";
/// How long connecting, and one request, may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to the NATS servers of one address, made on first use.
pub(crate) struct Link {
    /// Which component's connection this is (`name` "NATS"), for its errors.
    server: Server,
    servers: Vec<ServerAddr>,
    /// The user and password (or, alone, the token) the address gives.
    credentials: Option<(String, Option<String>)>,
    /// Whether every server must take TLS (`?tls=true`, or a CA given).
    require_tls: bool,
    /// The CA certificates (PEM) of `?ca=`, trusted in place of the system's roots.
    ca: Option<Vec<u8>>,
    /// Where the servers are, for messages: hosts and ports, no credentials.
    place: String,
    link: Reconnecting<Client>,
}

impl Link {
    /// The connection of the `component` (`registry`, `broker`, `store`) whose errors carry
    /// `id`, to the servers of `address` (comma-separated `[nats://][user:password@]host[:port]`,
    /// or `tls://` for TLS; default [`DEFAULT_ADDRESS`]), with the TLS options of its `?query`.
    pub(crate) fn new(
        id: &'static str,
        component: &'static str,
        address: Option<&str>,
    ) -> Result<Link> {
        let server = Server {
            id,
            component,
            name: "NATS",
            example: DEFAULT_ADDRESS,
        };
        let ca = option(address, "ca")
            .map(|path| tls::read_ca(&server, "ca", path))
            .transpose()?;
        let require_tls = flag(server.id, address, "tls")? || ca.is_some();
        let address = address.map(|a| a.split_once('?').map_or(a, |(servers, _)| servers));
        let mut servers = Vec::new();
        for address in address.unwrap_or(DEFAULT_ADDRESS).split(',') {
            let address = address.trim();
            if address.is_empty() {
                continue;
            }
            let url = if address.contains("://") {
                address.to_string()
            } else {
                format!("nats://{address}")
            };
            let parsed: ServerAddr = url
                .parse()
                .map_err(|_| server.bad_url(format!("{:?}", without_credentials(address))))?;
            servers.push(parsed);
        }
        if servers.is_empty() {
            servers.push(DEFAULT_ADDRESS.parse().expect("the default address parses"));
        }
        // async-nats reads no credentials from the URLs: we hand them over ourselves.
        let credentials = servers.iter().find_map(|s| {
            let user = s.username()?.to_string();
            Some((user, s.password().map(str::to_string)))
        });
        let place = servers
            .iter()
            .map(|s| format!("{}:{}", s.host(), s.port()))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Link {
            server,
            servers,
            credentials,
            require_tls,
            ca,
            place,
            link: Reconnecting::new(),
        })
    }

    /// The client, connected at least once; an "unavailable" error while it is cut off from
    /// every server (async-nats is then reconnecting by itself).
    pub(crate) async fn client(&self) -> Result<Client> {
        let connect = || async {
            let options = match self.credentials.clone() {
                Some((user, Some(password))) => {
                    ConnectOptions::with_user_and_password(user, password)
                }
                Some((token, None)) => ConnectOptions::with_token(token),
                None => ConnectOptions::new(),
            };
            let options = match &self.ca {
                Some(ca) => options.tls_client_config(tls::client_config(Some(ca))),
                None => options,
            };
            options
                .require_tls(self.require_tls)
                .name(format!("libmicro {}", self.server.component))
                .connection_timeout(TIMEOUT)
                .request_timeout(Some(TIMEOUT))
                .connect(self.servers.as_slice())
                .await
                .map_err(|err| match err.kind() {
                    ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                        self.server.unreachable(
                            &self.place,
                            format!("{err}: it refused the user and password given"),
                        )
                    }
                    _ => self
                        .unavailable(tls::explain(&err, "ca").unwrap_or_else(|| err.to_string())),
                })
        };
        let client = self.link.get(|_| true, connect).await?;
        if client.connection_state() == State::Disconnected {
            return Err(self.unavailable("the connection is down and being made again"));
        }
        Ok(client)
    }

    /// Waits until the server has seen everything sent on `client` so far, subscriptions
    /// included, by a message through the server to ourselves: a subscription made just before
    /// gets what other connections publish from now on.
    pub(crate) async fn settle(&self, client: &Client) -> Result<()> {
        let inbox = client.new_inbox();
        let mut echo = client
            .subscribe(inbox.clone())
            .await
            .map_err(|e| self.unavailable(e))?;
        client
            .publish(inbox, bytes::Bytes::new())
            .await
            .map_err(|e| self.unavailable(e))?;
        match tokio::time::timeout(TIMEOUT, futures::StreamExt::next(&mut echo)).await {
            Ok(Some(_)) => Ok(()),
            _ => Err(self.unavailable("no answer within 5s")),
        }
    }

    /// The client, if one was made and is not being made right now.
    pub(crate) fn connected(&self) -> Option<Client> {
        self.link.current()
    }

    /// The 503 for NATS that cannot be reached, or that broke off a request.
    pub(crate) fn unavailable(&self, why: impl std::fmt::Display) -> Error {
        self.server.unreachable(&self.place, why)
    }

    /// The error for a request NATS answered with a refusal.
    pub(crate) fn refused(&self, what: &str, why: impl std::fmt::Display) -> Error {
        self.server.failed(&self.place, what, false, why)
    }
}

/// `address` with any `user:password@` taken out, for messages.
fn without_credentials(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((before, host)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://{host}"),
            None => host.to_string(),
        },
        None => address.to_string(),
    }
}

/// The flag `name` in the `?query` of `address`: `true`, or `false` (the default).
pub(crate) fn flag(id: &'static str, address: Option<&str>, name: &str) -> Result<bool> {
    match option(address, name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Error::bad_request(
            id,
            format!("NATS option {name}={other:?} is neither true nor false"),
        )),
    }
}

/// The duration `name` in the `?query` of `address` (`250ms`, `30s`, `2m`), or `default`.
pub(crate) fn duration(
    id: &'static str,
    address: Option<&str>,
    name: &str,
    default: Duration,
) -> Result<Duration> {
    let Some(text) = option(address, name) else {
        return Ok(default);
    };
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let scale = match unit {
        "ms" => Duration::from_millis(1),
        "s" => Duration::from_secs(1),
        "m" => Duration::from_secs(60),
        _ => Duration::ZERO,
    };
    match number.parse::<u32>() {
        Ok(n) if !scale.is_zero() && n > 0 => Ok(scale * n),
        _ => Err(Error::bad_request(
            id,
            format!("NATS option {name}={text:?} is not a duration such as 250ms, 30s or 2m"),
        )),
    }
}

/// A JetStream name (stream, consumer, bucket) for `topic`: the topic itself when JetStream
/// allows it, as go-micro's JetStream packages name them, else its allowed characters with
/// `_` for the rest and a hash of the whole, so that two topics never share a name. The hash
/// is FNV-1a: every process, in any version or language, must derive the same name.
pub(crate) fn jetstream_name(topic: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !topic.is_empty() && topic.chars().all(allowed) {
        return topic.to_string();
    }
    let hash = topic.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let plain: String = topic
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    format!("{plain}_{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link_to(address: Option<&str>) -> Result<Link> {
        Link::new("micro.test.nats", "registry", address)
    }

    #[test]
    fn addresses_take_go_micros_forms_and_messages_hide_passwords() {
        let link = link_to(Some(
            "10.0.0.1, nats://me:secret@10.0.0.2:4333 ,tls://10.0.0.3?jetstream=true",
        ))
        .unwrap();
        assert_eq!(link.place, "10.0.0.1:4222,10.0.0.2:4333,10.0.0.3:4222");
        assert!(!link.unavailable("down").to_string().contains("secret"));
        assert_eq!(link_to(None).unwrap().place, "127.0.0.1:4222");
        let bad = link_to(Some("nats://me:secret@[::1")).err().unwrap();
        assert!(!bad.to_string().contains("secret"), "{bad}");
    }

    #[test]
    fn options_come_from_the_query() {
        let address = Some("nats://h:4222?jetstream=true&max_deliver=3");
        assert_eq!(option(address, "jetstream"), Some("true"));
        assert_eq!(option(address, "max_deliver"), Some("3"));
        assert_eq!(option(address, "ack_wait"), None);
        assert_eq!(option(Some("nats://h"), "jetstream"), None);
        assert!(flag("t", Some("nats://h?tls=true"), "tls").unwrap());
        assert!(!flag("t", Some("nats://h?tls=false"), "tls").unwrap());
        assert!(!flag("t", address, "tls").unwrap());
        assert!(flag("t", Some("nats://h?tls=yes"), "tls").is_err());
        let at = Some("nats://h?wait=250ms&slow=2m&bad=5h");
        let second = Duration::from_secs(1);
        assert_eq!(
            duration("t", at, "wait", second).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            duration("t", at, "slow", second).unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(duration("t", at, "none", second).unwrap(), second);
        assert!(duration("t", at, "bad", second).is_err());
    }

    #[test]
    fn jetstream_names_are_the_topic_or_a_distinct_stand_in() {
        assert_eq!(jetstream_name("orders"), "orders");
        let dotted = jetstream_name("go.micro.orders");
        assert!(dotted.starts_with("go_micro_orders_"), "{dotted}");
        assert_ne!(dotted, jetstream_name("go_micro_orders"));
        assert_ne!(dotted, jetstream_name("go.micro_orders"));
        assert_eq!(dotted, jetstream_name("go.micro.orders"));
    }
}
