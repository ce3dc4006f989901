//! The unit the delivery engine moves: one event already serialized in the output format, and the
//! names every layer tags events with: their source and their format.

use std::fmt;
use std::str::FromStr;

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

/// `SIEM_FORMAT` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// OCSF 1.8.0 events.
    Ocsf,
    /// The source record, untouched.
    Raw,
    /// Google SecOps UDM events.
    Udm,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ocsf" => Ok(Self::Ocsf),
            "raw" => Ok(Self::Raw),
            "udm" => Ok(Self::Udm),
            _ => Err("expected ocsf, raw or udm".to_string()),
        }
    }
}

/// The audit-log sources, by the names used everywhere (dead-letter prefixes, metrics, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// AWS CloudTrail log files in S3.
    Cloudtrail,
    /// Amazon OpenSearch Service audit logs through CloudWatch Logs.
    Opensearch,
    /// Atlassian Cloud organization audit log, Jira and Confluence audit records.
    Atlassian,
    /// Azure DevOps audit log.
    AzureDevops,
}

impl Source {
    /// The source's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cloudtrail => "cloudtrail",
            Self::Opensearch => "opensearch",
            Self::Atlassian => "atlassian",
            Self::AzureDevops => "azure_devops",
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cloudtrail" => Ok(Self::Cloudtrail),
            "opensearch" => Ok(Self::Opensearch),
            "atlassian" => Ok(Self::Atlassian),
            "azure_devops" | "azure-devops" => Ok(Self::AzureDevops),
            _ => Err("expected cloudtrail, opensearch, atlassian or azure_devops".to_string()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
