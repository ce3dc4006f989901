//! The unit the delivery engine moves: one event already serialized in the output format.

/// One event ready for a sink: its JSON text (OCSF, raw source record, or UDM) and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    /// Event time in milliseconds since the Unix epoch (HEC `time`, Datadog `timestamp`).
    pub time_ms: i64,
    /// The event as one line of compact JSON (no newline).
    pub json: String,
}
