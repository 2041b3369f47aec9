//! What broker tests collect messages with: handlers that hand every message they get to one
//! inbox, and a bounded wait for exactly the messages expected, since delivery on a networked
//! broker is asynchronous.

use micro::broker::{Handler, Message, handler};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a test waits for the messages it expects.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test waits for messages it does not expect.
pub const GRACE: Duration = Duration::from_millis(300);

/// One message as a handler got it: which handler, the topic and the message.
pub type Got = (usize, String, Message);

/// Collects what the handlers it makes get.
pub struct Inbox {
    tx: mpsc::UnboundedSender<Got>,
    rx: mpsc::UnboundedReceiver<Got>,
}

impl Inbox {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Inbox { tx, rx }
    }

    /// A handler that hands each message to this inbox as handler `id`'s.
    pub fn handler(&self, id: usize) -> Handler {
        self.answering(id, |_| Ok(()))
    }

    /// A handler that hands each message to this inbox as handler `id`'s, then fails.
    pub fn failing(&self, id: usize) -> Handler {
        self.answering(id, |_| {
            Err(micro::Error::internal("test", "handler failed"))
        })
    }

    /// A handler that hands each message to this inbox as handler `id`'s, then returns what
    /// `answer` says for it.
    pub fn answering(
        &self,
        id: usize,
        answer: impl Fn(&Message) -> micro::Result<()> + Send + Sync + 'static,
    ) -> Handler {
        let tx = self.tx.clone();
        handler(move |topic, message| {
            let result = answer(&message);
            let _ = tx.send((id, topic, message));
            async move { result }
        })
    }

    /// The next message, waiting for it at most [`WAIT`].
    pub async fn next(&mut self) -> Got {
        match tokio::time::timeout(WAIT, self.rx.recv()).await {
            Ok(Some(one)) => one,
            _ => panic!("no message arrived within {WAIT:?}"),
        }
    }

    /// Exactly `n` messages: waits for them, then checks that no more arrive.
    pub async fn expect(&mut self, n: usize) -> Vec<Got> {
        let mut got = Vec::with_capacity(n);
        let deadline = tokio::time::Instant::now() + WAIT;
        while got.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(one)) => got.push(one),
                _ => panic!("{} of {n} messages arrived within {WAIT:?}", got.len()),
            }
        }
        tokio::time::sleep(GRACE).await;
        if let Ok((id, topic, message)) = self.rx.try_recv() {
            panic!("an unexpected message arrived at handler {id} on {topic}: {message:?}");
        }
        got
    }
}

/// How many of `got` each handler had.
pub fn per_handler(got: &[Got]) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for (id, _, _) in got {
        *counts.entry(*id).or_default() += 1;
    }
    counts
}
