//! Turns one record's JSON text into the event the sink receives, in the configured format: OCSF
//! (through the mapping), or the record untouched (`SIEM_FORMAT=raw`).

use std::borrow::Cow;

use serde::Deserialize;

use super::mapping::{self, MapOptions};
use crate::config::OutputFormat;
use crate::event::OutboundEvent;
use crate::timestamp::parse_rfc3339_ms;

/// Record → outbound event, per the configured output format.
#[derive(Debug, Clone)]
pub struct Converter {
    format: OutputFormat,
    options: MapOptions,
}

#[derive(Deserialize)]
struct RecordTime<'a> {
    #[serde(rename = "eventTime", borrow)]
    event_time: Cow<'a, str>,
}

impl Converter {
    /// A converter for `format`; `include_raw` puts the record in OCSF `raw_data`.
    pub fn new(format: OutputFormat, include_raw: bool) -> Self {
        Self { format, options: MapOptions { include_raw } }
    }

    /// The outbound event for one record, or why it cannot be sent (the caller dead-letters it).
    pub fn convert(&self, record: &str) -> Result<OutboundEvent, String> {
        match self.format {
            OutputFormat::Ocsf => {
                let event = mapping::map_record(record, &self.options).map_err(|e| e.to_string())?;
                let json = serde_json::to_string(&event).map_err(|e| format!("could not serialize: {e}"))?;
                Ok(OutboundEvent { time_ms: event.time, json })
            }
            OutputFormat::Raw => {
                let time: RecordTime<'_> =
                    serde_json::from_str(record).map_err(|e| format!("not a CloudTrail record: {e}"))?;
                let time_ms = parse_rfc3339_ms(&time.event_time)
                    .ok_or_else(|| format!("eventTime {:?} is not an RFC 3339 time", time.event_time))?;
                // NDJSON needs one line per event: re-serialize only a record that spans lines.
                let json = if memchr::memchr2(b'\n', b'\r', record.as_bytes()).is_some() {
                    let value: serde_json::Value =
                        serde_json::from_str(record).map_err(|e| format!("not a CloudTrail record: {e}"))?;
                    value.to_string()
                } else {
                    record.to_string()
                };
                Ok(OutboundEvent { time_ms, json })
            }
        }
    }
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
    fn raw_format_rejects_records_without_a_time() {
        let converter = Converter::new(OutputFormat::Raw, false);
        for bad in [r#"{"eventID":"e1"}"#, "3", r#"{"eventTime":"yesterday"}"#] {
            assert!(converter.convert(bad).is_err(), "{bad}");
        }
    }
}
