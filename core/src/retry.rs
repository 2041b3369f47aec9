//! How long to wait before trying again what failed: a pause that doubles from [`FIRST_PAUSE`]
//! up to [`MAX_PAUSE`], for connections to servers and for watchers alike.

use std::time::Duration;

/// The pause after the first failed try.
pub const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two tries.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The pause after a try that followed a pause of `pause` failed too.
pub(crate) fn next_pause(pause: Duration) -> Duration {
    (pause * 2).min(MAX_PAUSE)
}
