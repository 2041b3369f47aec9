//! A connection to a server that is made on first use and made again when it breaks, for the
//! backends on servers (Postgres, Redis, RabbitMQ, ...): while the server cannot be reached,
//! callers get the last failure at once, and the next try waits a pause ([`crate::retry`]), so a
//! service started before its server comes up, or outliving a restart of it, recovers by itself.

use crate::errors::{Error, Result};
use crate::retry::{FIRST_PAUSE, next_pause};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A connection `C` (cheap to clone: a handle), or why there is none.
pub(crate) struct Reconnecting<C> {
    state: Mutex<State<C>>,
}

struct State<C> {
    connection: Option<C>,
    /// When the last try failed, the pause before the next, and its error.
    failed: Option<(Instant, Duration, Error)>,
}

impl<C: Clone> Reconnecting<C> {
    pub(crate) fn new() -> Self {
        Reconnecting {
            state: Mutex::new(State {
                connection: None,
                failed: None,
            }),
        }
    }

    /// The connection made last, if any, unless one is being made at this moment.
    #[cfg(feature = "nats")]
    pub(crate) fn current(&self) -> Option<C> {
        self.state.try_lock().ok()?.connection.clone()
    }

    /// The connection while `healthy` says it is; otherwise a new one from `connect`, unless
    /// the last try failed less than a pause ago, which gives that failure again.
    pub(crate) async fn get<F, Fut>(&self, healthy: impl Fn(&C) -> bool, connect: F) -> Result<C>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C>>,
    {
        let mut state = self.state.lock().await;
        if let Some(connection) = state.connection.as_ref().filter(|c| healthy(c)) {
            return Ok(connection.clone());
        }
        let pause = match &state.failed {
            Some((at, pause, err)) if at.elapsed() < *pause => return Err(err.clone()),
            Some((_, pause, _)) => next_pause(*pause),
            None => FIRST_PAUSE,
        };
        state.connection = None;
        match connect().await {
            Ok(connection) => {
                state.connection = Some(connection.clone());
                state.failed = None;
                Ok(connection)
            }
            Err(err) => {
                state.failed = Some((Instant::now(), pause, err.clone()));
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_failure_is_given_again_until_the_pause_is_over_then_retried() {
        let link = Reconnecting::<u32>::new();
        let tries = AtomicUsize::new(0);
        let attempt = |ok: bool| {
            tries.fetch_add(1, Ordering::SeqCst);
            async move {
                if ok {
                    Ok(7)
                } else {
                    Err(Error::internal("test", "down"))
                }
            }
        };
        assert!(link.get(|_| true, || attempt(false)).await.is_err());
        assert!(link.get(|_| true, || attempt(true)).await.is_err());
        assert_eq!(
            tries.load(Ordering::SeqCst),
            1,
            "no second try within the pause"
        );
        tokio::time::sleep(FIRST_PAUSE).await;
        assert_eq!(link.get(|_| true, || attempt(true)).await.unwrap(), 7);
        assert_eq!(link.get(|_| true, || attempt(false)).await.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 2);
        assert_eq!(link.get(|_| false, || attempt(true)).await.unwrap(), 7);
        assert_eq!(
            tries.load(Ordering::SeqCst),
            3,
            "an unhealthy one is made again"
        );
    }
}
