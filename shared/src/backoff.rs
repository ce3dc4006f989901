//! Retry timing every client shares (sinks, the poll loop, the CloudWatch Logs backfill):
//! exponential backoff with full jitter, and `Retry-After` (RFC 9110 §10.2.3: a delay in seconds or
//! an HTTP-date).

use std::time::{Duration, SystemTime};

use rand::Rng;

/// The ceiling of the wait after failed attempt number `attempt` (1-based):
/// `min(cap, base * 2^(attempt-1))`.
pub(crate) fn backoff_ceiling(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// Full jitter: a uniformly random wait in `0..=backoff_ceiling(attempt, base, cap)`.
pub(crate) fn full_jitter(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = backoff_ceiling(attempt, base, cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

/// A `Retry-After` value: whole seconds, or an HTTP-date (a past date means now). `None` when it is
/// neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<u64>().map(Duration::from_secs).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(20);
        let cases = [
            (1, 500),
            (2, 1_000),
            (3, 2_000),
            (4, 4_000),
            (6, 16_000),
            (7, 20_000),
            (40, 20_000),
            (u32::MAX, 20_000),
        ];
        for (attempt, ms) in cases {
            assert_eq!(backoff_ceiling(attempt, base, cap), Duration::from_millis(ms), "attempt {attempt}");
        }
    }

    #[test]
    fn jitter_stays_within_zero_and_the_ceiling_and_spreads() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for attempt in 1..8 {
            let ceiling = backoff_ceiling(attempt, base, cap);
            let draws: Vec<_> = (0..500).map(|_| full_jitter(attempt, base, cap)).collect();
            assert!(draws.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            // Full jitter: draws fall in both the lower and the upper half of the range.
            assert!(draws.iter().any(|d| *d < ceiling / 2), "attempt {attempt}");
            assert!(draws.iter().any(|d| *d > ceiling / 2), "attempt {attempt}");
        }
    }

    #[test]
    fn retry_after_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("Sun, 06 Nov 1994 08:50:07 GMT", Some(30)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
            ("Sunday, 06-Nov-94 08:49:47 GMT", Some(10)),
            ("Sun Nov  6 08:49:57 1994", Some(20)),
            ("-1", None),
            ("1.5", None),
            ("soon", None),
            ("", None),
        ];
        for (value, secs) in cases {
            assert_eq!(parse_retry_after(value, now), secs.map(Duration::from_secs), "{value:?}");
        }
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(Duration::MAX));
    }
}
