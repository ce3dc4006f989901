//! The unit the delivery engine moves: one event already serialized in the output format.

/// One event ready for a sink: its JSON text (OCSF, raw source record, or UDM) and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    /// Event time in milliseconds since the Unix epoch (HEC `time`, Datadog `timestamp`).
    pub time_ms: i64,
    /// The event as one line of compact JSON (no newline).
    pub json: String,
}

impl OutboundEvent {
    /// `value` as compact JSON, written into a buffer of `size_hint` bytes sized by the caller
    /// from the source record, so that an event is not copied again and again while its buffer
    /// grows (the default starts at 128 bytes; an OCSF event is one to a few KiB).
    pub fn serialize<T: serde::Serialize>(time_ms: i64, value: &T, size_hint: usize) -> Result<Self, String> {
        let mut buffer = Vec::with_capacity(size_hint);
        serde_json::to_writer(&mut buffer, value).map_err(|e| format!("could not serialize: {e}"))?;
        let json = String::from_utf8(buffer).map_err(|e| format!("could not serialize: {e}"))?;
        Ok(Self { time_ms, json })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialize_writes_compact_json_whatever_the_size_hint() {
        let value = serde_json::json!({"a": "x\"y", "b": [1, 2], "c": "\u{e9}"});
        for hint in [0, 3, 4096] {
            let event = OutboundEvent::serialize(7, &value, hint).unwrap();
            assert_eq!(event.json, "{\"a\":\"x\\\"y\",\"b\":[1,2],\"c\":\"é\"}");
            assert_eq!(event.time_ms, 7);
        }
    }
}
