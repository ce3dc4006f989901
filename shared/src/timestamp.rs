//! RFC 3339 times ↔ milliseconds since the Unix epoch, as every source and sink needs them.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the epoch of an RFC 3339 time (`2024-11-19T12:05:14Z`, with any fraction or
/// offset); `None` when it does not parse.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The RFC 3339 UTC text of `ms` milliseconds since the epoch; the number itself when out of range.
pub fn format_rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// What a run gets when Lambda gives no deadline (local runs): Lambda's longest, 15 minutes.
pub const DEFAULT_TIME_LEFT: std::time::Duration = std::time::Duration::from_secs(900);

/// Time left until a Lambda context's deadline (epoch milliseconds; 0 = none given).
pub fn time_left(deadline_epoch_ms: u64) -> std::time::Duration {
    if deadline_epoch_ms == 0 {
        return DEFAULT_TIME_LEFT;
    }
    let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    std::time::Duration::from_millis(deadline_epoch_ms.saturating_sub(u64::try_from(now_ms).unwrap_or(0)))
}

/// A Lambda context's deadline as an `Instant`.
pub fn deadline_instant(deadline_epoch_ms: u64) -> std::time::Instant {
    std::time::Instant::now() + time_left(deadline_epoch_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let cases = [
            ("2014-07-08T17:35:27Z", Some(1_404_840_927_000)),
            ("2014-07-08T17:35:27.5Z", Some(1_404_840_927_500)),
            ("2014-07-08T19:35:27.123+02:00", Some(1_404_840_927_123)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("yesterday", None),
            ("2014-07-08 17:35:27", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_rfc3339_ms(text), expected, "{text}");
        }
        assert_eq!(format_rfc3339_ms(1_404_840_927_123), "2014-07-08T17:35:27.123Z");
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn time_left_until_a_deadline() {
        assert_eq!(time_left(0), DEFAULT_TIME_LEFT);
        assert_eq!(time_left(1), std::time::Duration::ZERO);
        let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as u64;
        let left = time_left(now_ms + 60_000);
        assert!(
            left <= std::time::Duration::from_secs(60) && left > std::time::Duration::from_secs(59),
            "{left:?}"
        );
    }
}
