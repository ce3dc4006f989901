//! How long an invocation may run: until the deadline the Lambda runtime API gives in
//! `Lambda-Runtime-Deadline-Ms` (milliseconds since the epoch), or a local default when that value
//! is no deadline at all.
//!
//! Lambda always sends an epoch time after the moment the invocation starts. Local runtimes do not:
//! cargo-lambda's `watch` sends `600000` (ten minutes as a duration, i.e. 1970), other emulators
//! send 0 or nothing. A value that is not after "now" therefore means "no deadline given" — never
//! "already expired", which would dead-letter every batch unsent — and the run gets the local
//! default instead (`LOCAL_DEADLINE_SECS`, default Lambda's 15-minute maximum). That is said once
//! per process in the log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a run gets when no deadline is given: Lambda's longest run, 15 minutes.
pub const DEFAULT_LOCAL_DEADLINE: Duration = Duration::from_secs(900);

/// Time left for an invocation whose context says `deadline_epoch_ms`; `local_default` when that is
/// no deadline (not after now).
pub(crate) fn time_left(deadline_epoch_ms: u64, local_default: Duration) -> Duration {
    static SAID: AtomicBool = AtomicBool::new(false);
    match time_left_at(deadline_epoch_ms, now_epoch_ms()) {
        Some(left) => left,
        None => {
            if !SAID.swap(true, Ordering::Relaxed) {
                tracing::info!(
                    deadline_ms = deadline_epoch_ms,
                    local_deadline_secs = local_default.as_secs(),
                    "The runtime gave no deadline in the future (a local runtime); each invocation gets the local deadline."
                );
            }
            local_default
        }
    }
}

/// The instant an invocation must end by (see [`time_left`]).
pub(crate) fn deadline_instant(deadline_epoch_ms: u64, local_default: Duration) -> Instant {
    Instant::now() + time_left(deadline_epoch_ms, local_default)
}

/// Time from `now_ms` to `deadline_ms`, or `None` when the deadline is not after now.
fn time_left_at(deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    (deadline_ms > now_ms).then(|| Duration::from_millis(deadline_ms - now_ms))
}

fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_633_600_000; // 2025-12-02T00:00:00Z

    #[test]
    fn a_deadline_after_now_is_kept() {
        assert_eq!(time_left_at(NOW + 60_000, NOW), Some(Duration::from_secs(60)));
        assert_eq!(time_left_at(NOW + 1, NOW), Some(Duration::from_millis(1)));
    }

    #[test]
    fn zero_a_duration_or_the_past_is_no_deadline() {
        // 0 (missing), cargo-lambda's 600000 (a duration, not an epoch time), now, and the past.
        for deadline in [0, 600_000, NOW, NOW - 1, NOW - 3_600_000] {
            assert_eq!(time_left_at(deadline, NOW), None, "{deadline}");
        }
    }

    #[test]
    fn no_deadline_gets_the_local_default() {
        let local = Duration::from_secs(123);
        assert_eq!(time_left(600_000, local), local);
        assert_eq!(time_left(0, local), local);
        let left = time_left(now_epoch_ms() + 60_000, local);
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(55), "{left:?}");
    }
}
