//! How often a client may fail to log in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
/// Failed logins allowed per client address within [`LOGIN_WINDOW`].
pub(super) const LOGIN_ATTEMPTS: u32 = 10;
/// The window failed logins are counted in.
pub(super) const LOGIN_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Addresses remembered at most; past that, expired windows are swept out.
const LIMITER_CAPACITY: usize = 10_000;

/// Counts failed logins per client address.
#[derive(Default)]
pub(super) struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long `ip` must wait before trying again, if it has failed too often.
    pub(super) fn retry_after(&self, ip: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(&ip)?;
        let left = LOGIN_WINDOW.checked_sub(since.elapsed())?;
        (*count >= LOGIN_ATTEMPTS).then_some(left)
    }

    /// Records a failed login from `ip`.
    pub(super) fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LIMITER_CAPACITY {
            failures.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        }
        let entry = failures.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= LOGIN_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets `ip`'s failures after it logs in.
    pub(super) fn succeeded(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&ip);
    }
}

