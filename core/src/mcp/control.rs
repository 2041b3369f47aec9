//! The controls the MCP server puts around each tool call: a per-key token-bucket rate limiter
//! (governor's), a per-key circuit breaker and an append-only audit log. All are plain
//! synchronous types, safe to share between tasks (`&self` methods behind a lock) and cheap to
//! call.

use crate::{Error, Result};
use governor::Quota;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ID: &str = "micro.mcp";

/// How many keys the rate limiter holds before it drops the buckets that are full again.
const MAX_KEYS: usize = 10_000;
/// The longest a whole burst may take to refill; slower rates are held to it, since governor
/// counts in u64 nanoseconds (584 years) and a rate of one call a century is never anyway.
const MAX_REFILL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Locks a mutex, going on with the data if another thread panicked while holding it: the
/// controls hold plain counters that stay valid, and must never take the server down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A rate limiter with one token bucket per key (the MCP server uses keys like `tool:<name>`
/// and `account:<id>`), on governor's keyed GCRA limiter.
///
/// Each bucket starts full at `burst` tokens and refills continuously at `per_second` tokens a
/// second; a call takes one token. Memory stays bounded: past 10,000 keys, buckets that have
/// refilled completely are dropped (a dropped bucket comes back full, so nothing changes for
/// its key).
#[derive(Debug)]
pub struct RateLimiter<C: Clock = DefaultClock> {
    /// `None` when unlimited.
    buckets: Option<Buckets<C>>,
    /// The key count at which the next sweep runs; raised after a sweep that freed little, so
    /// sweeps cost O(1) per call on average even when every bucket is in use.
    sweep_at: AtomicUsize,
}

/// governor's keyed limiter, on `C`'s clock.
type Buckets<C> = governor::RateLimiter<
    String,
    HashMapStateStore<String>,
    C,
    NoOpMiddleware<<C as Clock>::Instant>,
>;

impl RateLimiter {
    /// A limiter allowing `per_second` calls a second per key, with bursts of up to `burst`
    /// calls (a `burst` of 0 is taken as 1). `per_second <= 0` (or NaN) means unlimited.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::with_clock(per_second, burst, DefaultClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    /// [`RateLimiter::new`] on `clock` (tests drive a fake one).
    fn with_clock(per_second: f64, burst: u32, clock: C) -> RateLimiter<C> {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let period = (per_second > 0.0).then(|| {
            Duration::try_from_secs_f64(per_second.recip())
                .unwrap_or(Duration::MAX)
                .min(MAX_REFILL / burst.get())
        });
        // A period below a nanosecond is no limit at all.
        let quota = period.and_then(Quota::with_period);
        RateLimiter {
            buckets: quota.map(|quota| {
                governor::RateLimiter::new(
                    quota.allow_burst(burst),
                    HashMapStateStore::default(),
                    clock,
                )
            }),
            sweep_at: AtomicUsize::new(MAX_KEYS),
        }
    }

    /// Takes one token from `key`'s bucket: `Ok` when the call may go ahead, otherwise
    /// `Err(retry_after)`, the time until a token will be there.
    pub fn try_acquire(&self, key: String) -> std::result::Result<(), Duration> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        if buckets.len() >= self.sweep_at.load(Ordering::Relaxed) {
            buckets.retain_recent();
            let kept = buckets.len();
            self.sweep_at
                .store(MAX_KEYS.max(2 * kept), Ordering::Relaxed);
        }
        buckets
            .check_key(&key)
            .map_err(|refused| refused.wait_time_from(buckets.clock().now()))
    }

    /// How many keys hold a bucket.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| b.len())
    }
}

/// A circuit breaker with one circuit per key (the MCP server uses one per tool).
///
/// A circuit is closed (calls go through) until `failures` calls in a row fail; it is then open
/// (calls are refused) for `open_for`. After that it is half-open: one trial call goes through
/// while other callers are still refused; the trial's success closes the circuit, its failure
/// opens it for another `open_for`. A trial that never reports is replaced by a new one after
/// `open_for`. While a circuit is open, results of calls that started before it opened are
/// ignored.
#[derive(Debug)]
pub struct CircuitBreaker {
    failures: u32,
    open_for: Duration,
    /// Only circuits that have failures or are not closed; a missing key is a healthy circuit.
    circuits: Mutex<HashMap<String, Circuit>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Circuit {
    /// Calls go through; this many have failed in a row.
    Closed { failures: u32 },
    /// Calls are refused until then.
    Open { until: Instant },
    /// One trial call went through at `since`; others are refused until it reports.
    HalfOpen { since: Instant },
}

impl CircuitBreaker {
    /// A breaker that opens a key's circuit after `failures` consecutive failures and keeps it
    /// open for `open_for`. `failures == 0` disables it: every call is allowed.
    pub fn new(failures: u32, open_for: Duration) -> CircuitBreaker {
        CircuitBreaker {
            failures,
            open_for,
            circuits: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a call for `key` may go ahead now: `Err(time_left)` while the circuit is open
    /// (or, half-open, while another caller's trial is running: then the time until that trial
    /// would be given up). A caller that gets `Ok` must [`record`](CircuitBreaker::record) the
    /// call's result.
    pub fn allow(&self, key: &str) -> std::result::Result<(), Duration> {
        self.allow_at(key, Instant::now())
    }

    /// Records the result of a call that [`allow`](CircuitBreaker::allow) let through.
    pub fn record(&self, key: &str, ok: bool) {
        self.record_at(key, ok, Instant::now())
    }

    /// [`CircuitBreaker::allow`] at a given time (tests drive the clock with it).
    pub(crate) fn allow_at(&self, key: &str, now: Instant) -> std::result::Result<(), Duration> {
        if self.failures == 0 {
            return Ok(());
        }
        let mut circuits = lock(&self.circuits);
        let Some(circuit) = circuits.get_mut(key) else {
            return Ok(());
        };
        let retry_at = match *circuit {
            Circuit::Closed { .. } => return Ok(()),
            Circuit::Open { until } => until,
            Circuit::HalfOpen { since } => since + self.open_for,
        };
        if now >= retry_at {
            *circuit = Circuit::HalfOpen { since: now };
            Ok(())
        } else {
            Err(retry_at - now)
        }
    }

    /// [`CircuitBreaker::record`] at a given time (tests drive the clock with it).
    pub(crate) fn record_at(&self, key: &str, ok: bool, now: Instant) {
        if self.failures == 0 {
            return;
        }
        let mut circuits = lock(&self.circuits);
        let state = circuits.get(key).copied();
        let open = Circuit::Open {
            until: now + self.open_for,
        };
        match (state, ok) {
            (Some(Circuit::Open { .. }), _) => {}
            (_, true) => {
                circuits.remove(key);
            }
            (Some(Circuit::HalfOpen { .. }), false) => {
                circuits.insert(key.to_string(), open);
            }
            (closed, false) => {
                let failures = match closed {
                    Some(Circuit::Closed { failures }) => failures + 1,
                    _ => 1,
                };
                let next = if failures >= self.failures {
                    open
                } else {
                    Circuit::Closed { failures }
                };
                circuits.insert(key.to_string(), next);
            }
        }
    }
}

/// How a tool call ended, as the audit log records it (serialised as [`Outcome::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The call ran and succeeded.
    Ok,
    /// The call ran (or was tried) and failed.
    Error,
    /// Authentication or scopes refused the call.
    Denied,
    /// The rate limiter refused the call.
    RateLimited,
    /// The circuit breaker refused the call.
    CircuitOpen,
}

impl Outcome {
    /// The outcome in snake_case: `ok`, `error`, `denied`, `rate_limited` or `circuit_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
            Outcome::RateLimited => "rate_limited",
            Outcome::CircuitOpen => "circuit_open",
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One line of the audit log: one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When the record was made (the end of the call), RFC 3339 in UTC with milliseconds,
    /// e.g. `2026-11-23T23:30:42.123Z`; [`AuditRecord::new`] fills it in.
    pub time: String,
    /// The tool called.
    pub tool: String,
    /// The caller's account id; `null` when the call was not authenticated.
    pub account: Option<String>,
    /// The trace id sent to the service as `Mcp-Trace-Id`.
    pub trace_id: String,
    /// How long the call took, in microseconds (0 when it was refused before running).
    pub duration_us: u64,
    /// How the call ended.
    pub outcome: Outcome,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

impl AuditRecord {
    /// A record stamped with the current time.
    pub fn new(
        tool: &str,
        account: Option<&str>,
        trace_id: &str,
        duration: Duration,
        outcome: Outcome,
        error: Option<String>,
    ) -> AuditRecord {
        AuditRecord {
            time: rfc3339(SystemTime::now()),
            tool: tool.to_string(),
            account: account.map(str::to_string),
            trace_id: trace_id.to_string(),
            duration_us: u64::try_from(duration.as_micros()).unwrap_or(u64::MAX),
            outcome,
            error,
        }
    }
}

/// The audit log: every record goes to the tracing target `micro::mcp::audit` and, when a file
/// was given, as one JSON line appended to that file.
#[derive(Debug)]
pub struct Audit {
    file: Option<Mutex<File>>,
}

impl Audit {
    /// An audit log appending to `path` (created, with its parent directories, if missing), or
    /// logging through tracing only when `path` is `None`.
    pub fn new(path: Option<&Path>) -> Result<Audit> {
        let Some(path) = path else {
            return Ok(Audit { file: None });
        };
        let cannot = |e: std::io::Error| {
            Error::internal(
                ID,
                format!(
                    "cannot open the audit log {}: {e}; give --audit a file in a writable directory",
                    path.display()
                ),
            )
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(cannot)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(cannot)?;
        Ok(Audit {
            file: Some(Mutex::new(file)),
        })
    }

    /// Logs one record; a failed write is reported with `tracing::warn!` and otherwise ignored.
    pub fn record(&self, record: &AuditRecord) {
        tracing::info!(
            target: "micro::mcp::audit",
            tool = %record.tool,
            account = record.account.as_deref().unwrap_or(""),
            trace_id = %record.trace_id,
            duration_us = record.duration_us,
            outcome = record.outcome.as_str(),
            error = record.error.as_deref().unwrap_or(""),
            "tool call"
        );
        let Some(file) = &self.file else {
            return;
        };
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(target: "micro::mcp::audit", "cannot encode an audit record: {e}");
                return;
            }
        };
        line.push(b'\n');
        let mut file = lock(file);
        if let Err(e) = file.write_all(&line).and_then(|()| file.flush()) {
            tracing::warn!(target: "micro::mcp::audit", "cannot write to the audit log: {e}");
        }
    }
}

/// `time` as RFC 3339 in UTC with milliseconds; times before 1970 read as 1970.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_date(secs / 86_400);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The (year, month, day) of a count of days since 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// A limiter on a fake clock, and the clock to move it.
    fn limiter(per_second: f64, burst: u32) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (
            RateLimiter::with_clock(per_second, burst, clock.clone()),
            clock,
        )
    }

    fn key(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn bucket_allows_burst_then_refuses_with_retry_after() {
        let (limiter, clock) = limiter(2.0, 3);
        for _ in 0..3 {
            assert_eq!(limiter.try_acquire(key("tool:a")), Ok(()));
        }
        // Empty at 2 tokens a second: the next token is half a second away.
        assert_eq!(limiter.try_acquire(key("tool:a")), Err(secs(0.5)));
        // A quarter second later, half a token has come back.
        clock.advance(secs(0.25));
        assert_eq!(limiter.try_acquire(key("tool:a")), Err(secs(0.25)));
        clock.advance(secs(0.25));
        assert_eq!(limiter.try_acquire(key("tool:a")), Ok(()));
        assert!(limiter.try_acquire(key("tool:a")).is_err());
    }

    #[test]
    fn bucket_refills_continuously_up_to_burst() {
        let (limiter, clock) = limiter(1.0, 2);
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        // A long idle time refills only to the burst, not beyond.
        clock.advance(secs(100.0));
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        assert_eq!(limiter.try_acquire(key("k")), Err(secs(1.0)));
        // 1.5 seconds bring back one and a half tokens: one call, then half a token short.
        clock.advance(secs(1.5));
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        assert_eq!(limiter.try_acquire(key("k")), Err(secs(0.5)));
    }

    #[test]
    fn keys_have_their_own_buckets() {
        let (limiter, _clock) = limiter(1.0, 1);
        assert_eq!(limiter.try_acquire(key("tool:a")), Ok(()));
        assert!(limiter.try_acquire(key("tool:a")).is_err());
        assert_eq!(limiter.try_acquire(key("tool:b")), Ok(()));
        assert_eq!(limiter.try_acquire(key("account:a")), Ok(()));
        assert!(limiter.try_acquire(key("tool:b")).is_err());
    }

    #[test]
    fn zero_negative_or_unmeasurably_fast_rates_are_unlimited() {
        for rate in [0.0, -1.0, f64::NAN, 1e12, f64::INFINITY] {
            let limiter = RateLimiter::new(rate, 1);
            for _ in 0..1000 {
                assert_eq!(limiter.try_acquire(key("tool:a")), Ok(()), "{rate}");
            }
            assert_eq!(limiter.len(), 0, "unlimited keeps no buckets");
        }
    }

    #[test]
    fn rates_too_slow_to_count_in_nanoseconds_still_limit() {
        for (rate, burst) in [(1e-300, 1), (1e-9, u32::MAX), (f64::MIN_POSITIVE, 3)] {
            let (limiter, clock) = limiter(rate, burst);
            assert_eq!(limiter.try_acquire(key("k")), Ok(()));
            clock.advance(secs(3600.0));
            if burst == 1 {
                assert!(limiter.try_acquire(key("k")).is_err(), "{rate}");
            }
        }
    }

    #[test]
    fn zero_burst_still_lets_one_call_through() {
        let (limiter, _clock) = limiter(1.0, 0);
        assert_eq!(limiter.try_acquire(key("k")), Ok(()));
        assert!(limiter.try_acquire(key("k")).is_err());
    }

    #[test]
    fn past_the_key_limit_full_buckets_are_dropped() {
        let (limiter, clock) = limiter(1.0, 2);
        // The keys used first are full again 10 seconds later; those used then are not.
        for i in 0..MAX_KEYS / 2 {
            assert_eq!(limiter.try_acquire(format!("old{i}")), Ok(()));
        }
        clock.advance(secs(10.0));
        for i in 0..MAX_KEYS / 2 {
            assert_eq!(limiter.try_acquire(format!("new{i}")), Ok(()));
        }
        assert_eq!(limiter.len(), MAX_KEYS);
        // The next call drops the full buckets and keeps the others.
        assert_eq!(limiter.try_acquire(key("new0")), Ok(()));
        assert_eq!(limiter.len(), MAX_KEYS / 2);
        // The kept buckets kept their state: new0 has spent both tokens.
        assert_eq!(limiter.try_acquire(key("new0")), Err(secs(1.0)));
        // A dropped key starts full again.
        assert_eq!(limiter.try_acquire(key("old0")), Ok(()));
        assert_eq!(limiter.try_acquire(key("old0")), Ok(()));
        assert!(limiter.try_acquire(key("old0")).is_err());
    }

    #[test]
    fn sweeps_stay_rare_when_every_bucket_is_in_use() {
        let (limiter, _clock) = limiter(1.0, 1);
        for i in 0..MAX_KEYS + 1 {
            assert_eq!(limiter.try_acquire(i.to_string()), Ok(()));
        }
        // Nothing could be dropped: the next sweep waits for twice as many keys.
        assert_eq!(limiter.len(), MAX_KEYS + 1);
        assert_eq!(limiter.sweep_at.load(Ordering::Relaxed), 2 * MAX_KEYS);
    }

    fn refused(breaker: &CircuitBreaker, key: &str, now: Instant) -> Duration {
        breaker
            .allow_at(key, now)
            .expect_err("the circuit should refuse the call")
    }

    #[test]
    fn breaker_opens_after_consecutive_failures() {
        let breaker = CircuitBreaker::new(3, secs(10.0));
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(breaker.allow_at("tool:a", t0), Ok(()));
            breaker.record_at("tool:a", false, t0);
        }
        // A success in between resets the count.
        breaker.record_at("tool:a", true, t0);
        for _ in 0..2 {
            breaker.record_at("tool:a", false, t0);
        }
        assert_eq!(breaker.allow_at("tool:a", t0), Ok(()));
        breaker.record_at("tool:a", false, t0);
        assert_eq!(refused(&breaker, "tool:a", t0), secs(10.0));
        assert_eq!(refused(&breaker, "tool:a", t0 + secs(4.0)), secs(6.0));
        // Other keys are unaffected.
        assert_eq!(breaker.allow_at("tool:b", t0), Ok(()));
    }

    #[test]
    fn half_open_lets_one_trial_through_and_success_closes() {
        let breaker = CircuitBreaker::new(1, secs(10.0));
        let t0 = Instant::now();
        breaker.record_at("k", false, t0);
        assert!(breaker.allow_at("k", t0 + secs(9.0)).is_err());
        let t1 = t0 + secs(10.0);
        assert_eq!(breaker.allow_at("k", t1), Ok(()), "the trial call");
        assert_eq!(refused(&breaker, "k", t1), secs(10.0), "others wait");
        assert_eq!(refused(&breaker, "k", t1 + secs(3.0)), secs(7.0));
        breaker.record_at("k", true, t1 + secs(3.0));
        for _ in 0..3 {
            assert_eq!(breaker.allow_at("k", t1 + secs(3.0)), Ok(()));
        }
    }

    #[test]
    fn a_failed_trial_reopens_for_another_period() {
        let breaker = CircuitBreaker::new(2, secs(10.0));
        let t0 = Instant::now();
        breaker.record_at("k", false, t0);
        breaker.record_at("k", false, t0);
        let t1 = t0 + secs(10.0);
        assert_eq!(breaker.allow_at("k", t1), Ok(()));
        breaker.record_at("k", false, t1 + secs(1.0));
        assert_eq!(refused(&breaker, "k", t1 + secs(1.0)), secs(10.0));
        assert_eq!(refused(&breaker, "k", t1 + secs(10.0)), secs(1.0));
        assert_eq!(breaker.allow_at("k", t1 + secs(11.0)), Ok(()));
    }

    #[test]
    fn a_trial_that_never_reports_is_replaced() {
        let breaker = CircuitBreaker::new(1, secs(10.0));
        let t0 = Instant::now();
        breaker.record_at("k", false, t0);
        let t1 = t0 + secs(10.0);
        assert_eq!(breaker.allow_at("k", t1), Ok(()));
        assert!(breaker.allow_at("k", t1 + secs(9.0)).is_err());
        assert_eq!(
            breaker.allow_at("k", t1 + secs(10.0)),
            Ok(()),
            "a new trial"
        );
        assert!(breaker.allow_at("k", t1 + secs(10.0)).is_err());
    }

    #[test]
    fn results_arriving_while_open_are_ignored() {
        let breaker = CircuitBreaker::new(1, secs(10.0));
        let t0 = Instant::now();
        breaker.record_at("k", false, t0);
        // Calls that started before the circuit opened finish late.
        breaker.record_at("k", true, t0 + secs(1.0));
        assert_eq!(refused(&breaker, "k", t0 + secs(1.0)), secs(9.0));
        breaker.record_at("k", false, t0 + secs(2.0));
        assert_eq!(refused(&breaker, "k", t0 + secs(2.0)), secs(8.0));
    }

    #[test]
    fn zero_failures_disables_the_breaker() {
        let breaker = CircuitBreaker::new(0, secs(10.0));
        for _ in 0..100 {
            breaker.record("k", false);
            assert_eq!(breaker.allow("k"), Ok(()));
        }
        assert!(lock(&breaker.circuits).is_empty());
    }

    #[test]
    fn outcomes_serialise_in_snake_case() {
        let names: Vec<String> = [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Denied,
            Outcome::RateLimited,
            Outcome::CircuitOpen,
        ]
        .iter()
        .map(|o| serde_json::to_string(o).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"ok\"",
                "\"error\"",
                "\"denied\"",
                "\"rate_limited\"",
                "\"circuit_open\""
            ]
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |ms: u64| rfc3339(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(at(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(at(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(at(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    fn read_lines(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }

    #[test]
    fn audit_appends_json_lines_across_instances() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/mcp/audit.jsonl");
        let first = AuditRecord::new(
            "helloworld.Helloworld.Call",
            Some("alice"),
            "trace-1",
            Duration::from_micros(1500),
            Outcome::Ok,
            None,
        );
        let second = AuditRecord::new(
            "micro_store_write",
            None,
            "trace-2",
            Duration::ZERO,
            Outcome::RateLimited,
            Some("rate limit exceeded".into()),
        );
        Audit::new(Some(&path)).unwrap().record(&first);
        Audit::new(Some(&path)).unwrap().record(&second);

        let lines = read_lines(&path);
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "time": first.time,
                "tool": "helloworld.Helloworld.Call",
                "account": "alice",
                "trace_id": "trace-1",
                "duration_us": 1500,
                "outcome": "ok",
                "error": null,
            })
        );
        assert_eq!(lines[1]["account"], serde_json::Value::Null);
        assert_eq!(lines[1]["outcome"], "rate_limited");
        assert_eq!(lines[1]["error"], "rate limit exceeded");
        let time = lines[1]["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.len() == 24, "{time}");
    }

    /// A tracing writer that keeps what it is given.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn audit_without_a_file_traces_each_record() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let audit = Audit::new(None).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            audit.record(&AuditRecord::new(
                "micro_store_read",
                Some("bob"),
                "trace-9",
                Duration::from_micros(42),
                Outcome::Denied,
                Some("missing scope micro:admin".into()),
            ));
        });
        let text = String::from_utf8(lock(&captured.0).clone()).unwrap();
        for part in [
            " INFO micro::mcp::audit: tool call",
            "tool=micro_store_read",
            "account=\"bob\"",
            "trace_id=trace-9",
            "duration_us=42",
            "outcome=\"denied\"",
            "error=\"missing scope micro:admin\"",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
    }

    #[test]
    fn audit_reports_a_path_it_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "").unwrap();
        for path in [blocker.join("audit.jsonl"), dir.path().to_path_buf()] {
            let err = Audit::new(Some(&path)).unwrap_err();
            assert_eq!(err.code, 500);
            assert_eq!(err.id, ID);
            assert!(
                err.detail
                    .starts_with(&format!("cannot open the audit log {}: ", path.display())),
                "{}",
                err.detail
            );
            assert!(
                err.detail
                    .ends_with("give --audit a file in a writable directory")
            );
        }
    }
}
