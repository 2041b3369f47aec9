//! Failed logins per client address. An attempt takes its place in the count before the
//! password is checked, so concurrent attempts can never run more checks than the limit; it
//! gives the place back only when the password matched (or was never checked). Past
//! [`LOGIN_ATTEMPTS`] failures an address waits out the rest of its [`LOGIN_WINDOW`].
//!
//! Hand-written rather than `governor`: a keyed GCRA limiter cannot give back the place a
//! successful login took, and successes must not count against their address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins allowed per client address within [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: u32 = 10;
/// The window failed logins are counted in, from an address's first attempt.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Addresses remembered at most; past that the oldest window is forgotten.
pub(super) const CAPACITY: usize = 10_000;

/// What the limiter knows of one address.
struct Entry {
    /// Attempts whose password did not match, in this window.
    failed: u32,
    /// Attempts admitted and not finished yet.
    pending: u32,
    /// When this window began.
    since: Instant,
}

/// Failed logins counted per address.
#[derive(Default)]
pub(super) struct Limiter {
    entries: Arc<Mutex<HashMap<IpAddr, Entry>>>,
}

impl Limiter {
    /// Admits an attempt from `peer`, or says how long it must wait. The attempt counts as
    /// failed unless [`Attempt::forgive`] is called: a caller that gives up half-way (its
    /// request dropped while the password is being checked) still spent a check.
    pub(super) fn admit(&self, peer: IpAddr) -> Result<Attempt, Duration> {
        let key = address_key(peer);
        let mut entries = lock(&self.entries);
        if !entries.contains_key(&key) && entries.len() >= CAPACITY {
            make_room(&mut entries);
        }
        let entry = entries.entry(key).or_insert_with(|| Entry {
            failed: 0,
            pending: 0,
            since: Instant::now(),
        });
        if entry.since.elapsed() >= LOGIN_WINDOW {
            entry.failed = 0;
            entry.since = Instant::now();
        }
        if entry.failed + entry.pending >= LOGIN_ATTEMPTS {
            return Err(LOGIN_WINDOW.saturating_sub(entry.since.elapsed()));
        }
        entry.pending += 1;
        Ok(Attempt {
            entries: self.entries.clone(),
            key,
            forgiven: false,
        })
    }

    /// How many addresses are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        lock(&self.entries).len()
    }
}

/// One admitted login attempt; it is counted as failed when dropped unless forgiven.
pub(super) struct Attempt {
    entries: Arc<Mutex<HashMap<IpAddr, Entry>>>,
    key: IpAddr,
    forgiven: bool,
}

impl Attempt {
    /// Gives the attempt's place back: the password matched, or was never checked.
    pub(super) fn forgive(mut self) {
        self.forgiven = true;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let mut entries = lock(&self.entries);
        let Some(entry) = entries.get_mut(&self.key) else {
            return;
        };
        entry.pending = entry.pending.saturating_sub(1);
        if !self.forgiven {
            entry.failed += 1;
        }
        if entry.failed == 0 && entry.pending == 0 {
            entries.remove(&self.key);
        }
    }
}

/// The key an address is counted under: an IPv6 host usually holds a whole /64, so it is
/// counted as one; an IPv4-mapped address counts as its IPv4 one.
fn address_key(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !(u64::MAX as u128)).into()),
        v4 => v4,
    }
}

/// Drops the windows that are over and, if every one is still running, the oldest.
fn make_room(entries: &mut HashMap<IpAddr, Entry>) {
    entries.retain(|_, e| e.pending > 0 || e.since.elapsed() < LOGIN_WINDOW);
    if entries.len() >= CAPACITY
        && let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| *k)
    {
        entries.remove(&oldest);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn places_are_taken_before_the_check_and_given_back_only_by_forgiving() {
        let limiter = Limiter::default();
        let peer = ip("192.0.2.1");
        let held: Vec<Attempt> = (0..LOGIN_ATTEMPTS)
            .map(|_| limiter.admit(peer).unwrap())
            .collect();
        // Every place is taken by an attempt still running: the next one waits.
        let wait = limiter.admit(peer).err().unwrap();
        assert!(wait > Duration::ZERO && wait <= LOGIN_WINDOW);
        let mut held = held.into_iter();
        held.next().unwrap().forgive();
        let again = limiter.admit(peer).unwrap();
        drop(held);
        drop(again);
        // All ten ended unforgiven: ten failures, nothing more is admitted.
        assert!(limiter.admit(peer).is_err());
        assert!(limiter.admit(ip("192.0.2.2")).is_ok());
    }

    #[test]
    fn a_forgiven_attempt_leaves_no_trace() {
        let limiter = Limiter::default();
        limiter.admit(ip("192.0.2.1")).unwrap().forgive();
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_address_and_mapped_ipv4_as_its_ipv4() {
        let limiter = Limiter::default();
        for i in 0..LOGIN_ATTEMPTS {
            drop(
                limiter
                    .admit(ip(&format!("2001:db8::{:x}", i + 1)))
                    .unwrap(),
            );
        }
        assert!(limiter.admit(ip("2001:db8::ffff:1")).is_err());
        assert!(limiter.admit(ip("2001:db8:0:1::1")).is_ok());

        for _ in 0..LOGIN_ATTEMPTS {
            drop(limiter.admit(ip("::ffff:192.0.2.7")).unwrap());
        }
        assert!(limiter.admit(ip("192.0.2.7")).is_err());
    }

    #[test]
    fn memory_stays_bounded_when_every_window_is_still_running() {
        let limiter = Limiter::default();
        for i in 0..CAPACITY as u32 + 500 {
            drop(limiter.admit(IpAddr::from(i.to_be_bytes())).unwrap());
        }
        assert_eq!(limiter.len(), CAPACITY);
        // The newest addresses are still counted.
        let newest = IpAddr::from((CAPACITY as u32 + 499).to_be_bytes());
        for _ in 1..LOGIN_ATTEMPTS {
            drop(limiter.admit(newest).unwrap());
        }
        assert!(limiter.admit(newest).is_err());
    }
}
