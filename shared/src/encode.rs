//! The one place a source record becomes the event a sink receives, in the configured output
//! format (`SIEM_FORMAT`): the OCSF event, the UDM event, or the record as received.
//!
//! Each source says how to see one of its records each way ([`SourceRecord`]); [`encode`] picks
//! the way and applies the rules every source shares (compact JSON, one line per event).

use std::borrow::Cow;
use std::fmt;

use crate::event::{OutboundEvent, OutputFormat};
use crate::ocsf::OcsfEvent;

/// Why a record cannot be sent. The caller dead-letters the record with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The record is not one of the source's records, or its mapping refused it.
    #[error("{0}")]
    Record(String),
    /// The record nests arrays and objects deeper than a SIEM's parser would accept.
    #[error("arrays and objects nested deeper than {0} levels")]
    TooDeep(usize),
    /// The record has no time the event could carry.
    #[error("{0}")]
    NoTime(String),
    /// The event could not be written as JSON.
    #[error("could not serialize: {0}")]
    Serialize(String),
}

impl ConvertError {
    /// A record refused for `reason` (a parse or mapping error of the source).
    pub fn record(reason: impl fmt::Display) -> Self {
        Self::Record(reason.to_string())
    }
}

impl From<serde_json::Error> for ConvertError {
    fn from(error: serde_json::Error) -> Self {
        Self::Serialize(error.to_string())
    }
}

/// One record of a source, seen each way it can be sent.
pub(crate) trait SourceRecord {
    /// The record's OCSF event.
    fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError>;

    /// The record's UDM event: by default the OCSF → UDM translation of [`SourceRecord::ocsf`];
    /// a source with its own UDM mapping (Azure DevOps) overrides it.
    fn udm(&mut self) -> Result<OutboundEvent, ConvertError> {
        let event = self.ocsf()?;
        let udm = crate::udm::from_ocsf::from_event(&event)?;
        Ok(OutboundEvent { time_ms: event.time, json: udm.to_string() })
    }

    /// The record as received, for `SIEM_FORMAT=raw`: its time (milliseconds since the epoch)
    /// and its text, which must be one JSON value.
    fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError>;

    /// The size the OCSF event is expected to take, in bytes: its buffer is allocated once at
    /// this size rather than grown from 128 bytes.
    fn ocsf_size_hint(&self) -> usize;
}

/// The event `record` is sent as in `format`.
pub(crate) fn encode(
    format: OutputFormat,
    record: &mut impl SourceRecord,
) -> Result<OutboundEvent, ConvertError> {
    match format {
        OutputFormat::Ocsf => {
            let event = record.ocsf()?;
            serialize(event.time, &event, record.ocsf_size_hint())
        }
        OutputFormat::Udm => record.udm(),
        OutputFormat::Raw => {
            let (time_ms, text) = record.raw()?;
            Ok(OutboundEvent { time_ms, json: one_line(text)? })
        }
    }
}

/// `value` as compact JSON, written into a buffer of `size_hint` bytes, so that an event is not
/// copied again and again while its buffer grows (an OCSF event is one to a few KiB).
pub fn serialize<T: serde::Serialize>(
    time_ms: i64,
    value: &T,
    size_hint: usize,
) -> Result<OutboundEvent, ConvertError> {
    let mut buffer = Vec::with_capacity(size_hint);
    serde_json::to_writer(&mut buffer, value)?;
    let json = String::from_utf8(buffer).map_err(|e| ConvertError::Serialize(e.to_string()))?;
    Ok(OutboundEvent { time_ms, json })
}

/// NDJSON sinks need one line per event: a JSON text that spans lines is re-serialized compact;
/// any other is kept byte for byte.
fn one_line(text: Cow<'_, str>) -> Result<String, ConvertError> {
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_none() {
        return Ok(text.into_owned());
    }
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ConvertError::record(format!("not JSON: {e}")))?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocsf::{AuthActivity, Metadata, Product};

    /// A record whose three views are given outright.
    struct Given {
        ocsf: Result<OcsfEvent, ConvertError>,
        raw: (i64, &'static str),
    }

    impl SourceRecord for Given {
        fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError> {
            self.ocsf.clone()
        }
        fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError> {
            Ok((self.raw.0, Cow::Borrowed(self.raw.1)))
        }
        fn ocsf_size_hint(&self) -> usize {
            64
        }
    }

    fn event() -> OcsfEvent {
        let metadata = Metadata::new(Product::new("CloudTrail", "AWS"));
        OcsfEvent::new(AuthActivity::Logon, 1_404_840_927_000, metadata)
    }

    #[test]
    fn serialize_writes_compact_json_whatever_the_size_hint() {
        let value = serde_json::json!({"a": "x\"y", "b": [1, 2], "c": "\u{e9}"});
        for hint in [0, 3, 4096] {
            let event = serialize(7, &value, hint).unwrap();
            assert_eq!(event.json, "{\"a\":\"x\\\"y\",\"b\":[1,2],\"c\":\"é\"}");
            assert_eq!(event.time_ms, 7);
        }
    }

    #[test]
    fn raw_keeps_one_line_records_byte_for_byte_and_compacts_the_others() {
        let mut record = Given { ocsf: Ok(event()), raw: (5, r#"{"b": 1,  "a":2}"#) };
        let sent = encode(OutputFormat::Raw, &mut record).unwrap();
        assert_eq!(sent, OutboundEvent { time_ms: 5, json: r#"{"b": 1,  "a":2}"#.into() });
        let mut record = Given { ocsf: Ok(event()), raw: (6, "{\n  \"b\": \"x\\ny\"\r\n}") };
        let sent = encode(OutputFormat::Raw, &mut record).unwrap();
        assert_eq!(sent, OutboundEvent { time_ms: 6, json: r#"{"b":"x\ny"}"#.into() });
        let mut record = Given { ocsf: Ok(event()), raw: (6, "{\n  \"b\": ") };
        assert!(
            matches!(encode(OutputFormat::Raw, &mut record), Err(ConvertError::Record(r)) if r.starts_with("not JSON"))
        );
    }

    #[test]
    fn ocsf_and_udm_carry_the_event_time_and_mapping_errors() {
        let mut record = Given { ocsf: Ok(event()), raw: (5, "{}") };
        let ocsf = encode(OutputFormat::Ocsf, &mut record).unwrap();
        assert_eq!(ocsf.time_ms, 1_404_840_927_000);
        let value: serde_json::Value = serde_json::from_str(&ocsf.json).unwrap();
        assert_eq!(value["class_uid"], 3002);
        let udm = encode(OutputFormat::Udm, &mut record).unwrap();
        assert_eq!(udm.time_ms, 1_404_840_927_000);
        let value: serde_json::Value = serde_json::from_str(&udm.json).unwrap();
        assert!(value["metadata"].is_object(), "{value}");
        let mut refused = Given { ocsf: Err(ConvertError::record("unknown shape")), raw: (5, "{}") };
        for format in [OutputFormat::Ocsf, OutputFormat::Udm] {
            assert_eq!(encode(format, &mut refused).unwrap_err().to_string(), "unknown shape");
        }
    }
}
