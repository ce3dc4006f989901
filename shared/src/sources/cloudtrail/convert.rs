//! Turns one record's JSON text into the event the sink receives, in the configured format: OCSF
//! (through the mapping), UDM (the OCSF event through [`crate::udm::from_ocsf`]), or the record
//! untouched (`SIEM_FORMAT=raw`).

use std::borrow::Cow;

use serde::Deserialize;

use super::mapping::{self, MapOptions};
use crate::encode::{encode, ConvertError, SourceRecord};
use crate::event::OutboundEvent;
use crate::event::OutputFormat;
use crate::ocsf::OcsfEvent;
use crate::timestamp::parse_rfc3339_ms;

/// Record → outbound event, per the configured output format.
#[derive(Debug, Clone)]
pub struct Converter {
    format: OutputFormat,
    options: MapOptions,
}

impl Converter {
    /// A converter for `format`; `include_raw` puts the record in OCSF `raw_data`.
    pub fn new(format: OutputFormat, include_raw: bool) -> Self {
        Self { format, options: MapOptions { include_raw } }
    }

    /// The outbound event for one record, or why it cannot be sent (the caller dead-letters it).
    pub fn convert(&self, record: &str) -> Result<OutboundEvent, ConvertError> {
        if nests_deeper_than(record.as_bytes(), MAX_NESTING) {
            return Err(ConvertError::TooDeep(MAX_NESTING));
        }
        encode(self.format, &mut Record { text: record, options: &self.options })
    }
}

/// One record's JSON text, as the encoder sees it.
struct Record<'a> {
    text: &'a str,
    options: &'a MapOptions,
}

#[derive(Deserialize)]
struct RecordTime<'a> {
    #[serde(rename = "eventTime", borrow)]
    event_time: Cow<'a, str>,
}

impl SourceRecord for Record<'_> {
    fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError> {
        mapping::map_record(self.text, self.options).map_err(ConvertError::record)
    }

    fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError> {
        let time: RecordTime<'_> = serde_json::from_str(self.text)
            .map_err(|e| ConvertError::record(format!("not a CloudTrail record: {e}")))?;
        let time_ms = parse_rfc3339_ms(&time.event_time).ok_or_else(|| {
            ConvertError::NoTime(format!("eventTime {:?} is not an RFC 3339 time", time.event_time))
        })?;
        Ok((time_ms, Cow::Borrowed(self.text)))
    }

    fn ocsf_size_hint(&self) -> usize {
        // The event is about one and a half times the record (names and captions added).
        self.text.len() + self.text.len() / 2 + 512
    }
}

/// Deepest nesting of arrays and objects a record may have. Kept under serde_json's recursion
/// limit (128) with room for the levels the OCSF event adds around `requestParameters`, so every
/// event sent can be parsed by the SIEM; a deeper record would otherwise be passed through
/// verbatim (its unknown parts are unparsed `RawValue`s) and could get a whole batch refused.
const MAX_NESTING: usize = 100;

/// Whether `json` nests arrays and objects deeper than `limit` (brackets in strings do not count).
fn nests_deeper_than(json: &[u8], limit: usize) -> bool {
    // Nesting can be no deeper than the count of opening brackets: a vectorised count settles
    // almost every record without the byte-by-byte walk below (it was a fifth of the run time).
    if memchr::memchr2_iter(b'{', b'[', json).take(limit + 1).count() <= limit {
        return false;
    }
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&byte) = json.get(at) {
        match byte {
            // Jump over the string's contents to its closing quote, stepping over escapes.
            b'"' => {
                at += 1;
                loop {
                    let rest = json.get(at..).unwrap_or_default();
                    let Some(offset) = memchr::memchr2(b'"', b'\\', rest) else {
                        // Unterminated: the parser will say so.
                        return false;
                    };
                    at += offset;
                    if json[at] == b'"' {
                        break;
                    }
                    at += 2;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_format_keeps_the_record_and_reads_its_time() {
        let converter = Converter::new(OutputFormat::Raw, false);
        let record = r#"{"eventTime":"2014-07-08T17:35:27Z","eventID":"e1","x":1}"#;
        let event = converter.convert(record).unwrap();
        assert_eq!(event.json, record);
        assert_eq!(event.time_ms, 1_404_840_927_000);
        let spread = "{\n \"eventTime\": \"2014-07-08T17:35:27.5Z\",\n \"eventID\": \"e2\"\n}";
        let event = converter.convert(spread).unwrap();
        assert_eq!(event.json, r#"{"eventID":"e2","eventTime":"2014-07-08T17:35:27.5Z"}"#);
        assert_eq!(event.time_ms, 1_404_840_927_500);
    }

    #[test]
    fn udm_format_translates_the_ocsf_event() {
        let converter = Converter::new(OutputFormat::Udm, false);
        let record = include_str!("fixtures/iam_create_user.json");
        let event = converter.convert(record).unwrap();
        let udm: serde_json::Value = serde_json::from_str(&event.json).unwrap();
        assert_eq!(udm["metadata"]["event_type"], "USER_CREATION");
        assert_eq!(udm["metadata"]["product_name"], "CloudTrail");
        assert_eq!(udm["metadata"]["vendor_name"], "AWS");
        assert_eq!(udm["metadata"]["product_event_type"], "CreateUser");
        let ocsf = Converter::new(OutputFormat::Ocsf, false).convert(record).unwrap();
        assert_eq!(event.time_ms, ocsf.time_ms);
    }

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        let at_limit = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_NESTING - 1), "]".repeat(MAX_NESTING - 1));
        assert!(!nests_deeper_than(at_limit.as_bytes(), MAX_NESTING));
        let beyond = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert!(nests_deeper_than(beyond.as_bytes(), MAX_NESTING));
        let in_string = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(1_000));
        assert!(!nests_deeper_than(in_string.as_bytes(), MAX_NESTING));
        // More brackets than the limit, but side by side: the exact walk, not the count, decides.
        let flat = format!("{{\"a\":[{}1]}}", "[],{}".repeat(MAX_NESTING));
        assert!(!nests_deeper_than(flat.as_bytes(), MAX_NESTING));
        let escaped_quote =
            format!("{{\"a\":\"\\\\\",\"b\":{}1{}}}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        assert!(
            nests_deeper_than(escaped_quote.as_bytes(), MAX_NESTING),
            "a string ending in an escaped backslash ends there"
        );
        let cut = format!("{}\"abc\\", "[".repeat(MAX_NESTING + 1));
        assert!(nests_deeper_than(cut.as_bytes(), MAX_NESTING));
        let cut_in_string = format!("{{\"a\":\"{}\\", "[],".repeat(MAX_NESTING));
        assert!(
            !nests_deeper_than(cut_in_string.as_bytes(), MAX_NESTING),
            "a cut string is left to the parser"
        );
        for format in [OutputFormat::Ocsf, OutputFormat::Udm, OutputFormat::Raw] {
            let record = format!(
                "{{\"eventTime\":\"2014-07-08T17:35:27Z\",\"x\":{}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            );
            let error = Converter::new(format, false).convert(&record).unwrap_err();
            assert_eq!(error, ConvertError::TooDeep(MAX_NESTING));
            assert_eq!(error.to_string(), "arrays and objects nested deeper than 100 levels");
        }
    }

    #[test]
    fn raw_format_rejects_records_without_a_time() {
        let converter = Converter::new(OutputFormat::Raw, false);
        for bad in [r#"{"eventID":"e1"}"#, "3", r#"{"eventTime":"yesterday"}"#] {
            assert!(converter.convert(bad).is_err(), "{bad}");
        }
    }
}
