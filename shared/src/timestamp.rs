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

/// Now, in milliseconds since the epoch.
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
}
