//! Options of one call or stream: how long to wait, which failures to retry, how often and
//! after what pause, which metadata and codec to send, and where to go when the registry
//! should be skipped. The defaults are go-micro's.

use crate::transport::Header;
use std::time::Duration;

/// How long a whole call may take, all attempts included: go-micro's 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to a node may take: go-micro's 5 seconds.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts after the first one, at most: go-micro's 5. Which failures earn one is
/// [`Retry`]'s choice.
pub const DEFAULT_RETRIES: usize = 5;
/// The codec used unless told otherwise, as go-micro's client.
pub const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Which failed attempts a call or stream opening tries again, within its `retries` and its
/// timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// go-micro's default (`RetryOnError`): a timeout (408) is retried; so is an attempt
    /// whose request never reached a service (the dial was refused or timed out, the
    /// connection failed before the request was sent) or got no answer at all (the node went
    /// away mid-call, as go-micro retries its transport's failures), on a node not tried yet.
    /// An error the service answered with, a 500 included, is the answer: the handler ran,
    /// and running it again may not be safe.
    #[default]
    OnError,
    /// go-micro's `RetryAlways`: every failure is retried, errors a handler returned
    /// included, so a handler may run more than once. For endpoints safe to repeat.
    Always,
}

/// The pause before a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backoff {
    /// go-micro's: `attempt^e`, rounded down, times 100 ms before attempt `attempt` (100 ms
    /// before the first retry, 600 ms before the second, 1.9 s before the third, ...), at most
    /// two minutes.
    #[default]
    Exponential,
    /// Retry at once.
    None,
}

impl Backoff {
    /// The pause before attempt number `attempt` (0 is the first try, which never waits).
    pub fn delay(self, attempt: usize) -> Duration {
        match self {
            Backoff::None => Duration::ZERO,
            Backoff::Exponential if attempt > 13 => Duration::from_secs(120),
            Backoff::Exponential => {
                let steps = (attempt as f64).powf(std::f64::consts::E) as u64;
                Duration::from_millis(steps * 100)
            }
        }
    }
}

/// Options of one call, stream or raw call; `CallOptions::default()` gives go-micro's
/// defaults.
///
/// ```
/// use micro::client::CallOptions;
/// use std::time::Duration;
/// let options = CallOptions { timeout: Duration::from_secs(2), retries: 0, ..Default::default() };
/// assert_eq!(options.content_type, "application/json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOptions {
    /// The time a call may take, node lookup, retries and pauses included; the server is
    /// told what is left in the `Timeout` header. For streams it bounds opening the stream.
    /// Running out is a 408 error from `go.micro.client`.
    pub timeout: Duration,
    /// The time connecting to one node may take; running out counts as a failed attempt.
    pub dial_timeout: Duration,
    /// Attempts after the first, at most, each to another node when there is one.
    pub retries: usize,
    /// Which failures are retried (default [`Retry::OnError`]: timeouts, and requests that
    /// never reached a service or got no answer).
    pub retry: Retry,
    /// The pause before each retry.
    pub backoff: Backoff,
    /// Call metadata, sent as message headers.
    pub metadata: Header,
    /// Node addresses (`host:port`) to call instead of looking the service up.
    pub address: Vec<String>,
    /// The codec's Content-Type, also sent as `Accept`: `application/json`,
    /// `application/grpc+json`, `application/protobuf`, `application/octet-stream`, ...
    pub content_type: String,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            timeout: DEFAULT_TIMEOUT,
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            retries: DEFAULT_RETRIES,
            retry: Retry::default(),
            backoff: Backoff::default(),
            metadata: Header::new(),
            address: Vec::new(),
            content_type: DEFAULT_CONTENT_TYPE.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_matches_go_micro() {
        let ms = |attempt| Backoff::Exponential.delay(attempt).as_millis();
        assert_eq!(ms(0), 0);
        assert_eq!(ms(1), 100);
        assert_eq!(ms(2), 600);
        assert_eq!(ms(3), 1900);
        assert_eq!(ms(14), 120_000);
        assert_eq!(Backoff::None.delay(3), Duration::ZERO);
    }
}
