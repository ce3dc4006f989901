//! One audit entry → the event the sink receives, in the configured format: OCSF (through
//! [`super::mapping`]), UDM (through [`super::udm`], the SecOps parser's mapping), or the entry as
//! received (`SIEM_FORMAT=raw`, one line of compact JSON).

use serde_json::Value;

use super::mapping::{self, MapOptions};
use super::record::{AuditEntry, Shape};
use super::udm;
use crate::event::OutboundEvent;
use crate::event::OutputFormat;

/// Entry → outbound event, per the configured output format.
#[derive(Debug, Clone)]
pub struct Converter {
    format: OutputFormat,
    options: MapOptions,
}

impl Converter {
    /// A converter for `format`; `include_raw` puts the entry in OCSF `raw_data`.
    pub fn new(format: OutputFormat, include_raw: bool) -> Self {
        Self { format, options: MapOptions { include_raw } }
    }

    /// The outbound event for one entry of an audit log page, or why it cannot be sent (the caller
    /// dead-letters the entry with that reason).
    pub fn convert(&self, value: &Value) -> Result<OutboundEvent, String> {
        self.convert_shaped(value, Shape::Entry)
    }

    /// [`Converter::convert`] for an entry split from a saved log ([`super::record::split_log`]):
    /// `shape` says how it reached us (UDM takes `metadata.product_log_id` from it).
    pub fn convert_shaped(&self, value: &Value, shape: Shape) -> Result<OutboundEvent, String> {
        let entry = AuditEntry::from_value(value.clone()).map_err(|e| e.to_string())?;
        let time_ms = entry.time_ms().ok_or_else(|| {
            format!(
                "Azure DevOps audit entry {} has no RFC 3339 timestamp",
                entry.id.as_deref().unwrap_or("(no id)")
            )
        })?;
        let json = match self.format {
            OutputFormat::Ocsf => {
                let raw = self.options.include_raw.then(|| value.to_string());
                let event =
                    mapping::map_entry(&entry, raw.as_deref(), &self.options).map_err(|e| e.to_string())?;
                serde_json::to_string(&event).map_err(|e| format!("could not serialize: {e}"))?
            }
            OutputFormat::Udm => udm::to_udm(&entry, shape).to_string(),
            OutputFormat::Raw => value.to_string(),
        };
        Ok(OutboundEvent { time_ms, json })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::azure_devops::fixtures;

    #[test]
    fn each_format_keeps_the_entry_time() {
        let entry = fixtures::load("git_repo_created.json");
        for format in [OutputFormat::Ocsf, OutputFormat::Udm, OutputFormat::Raw] {
            let event = Converter::new(format, false).convert(&entry).unwrap();
            assert_eq!(event.time_ms, 1_732_018_500_000, "{format:?}");
            assert!(!event.json.contains('\n'), "{format:?}");
            let json: Value = serde_json::from_str(&event.json).unwrap();
            match format {
                OutputFormat::Ocsf => {
                    crate::ocsf::validate::validate(&json).unwrap_or_else(|e| panic!("{}", e.join("\n")));
                    assert_eq!(json["class_uid"], 3004);
                }
                OutputFormat::Udm => assert_eq!(json["metadata"]["event_type"], "RESOURCE_CREATION"),
                OutputFormat::Raw => assert_eq!(json, entry),
            }
        }
    }

    #[test]
    fn entries_without_time_or_object_are_refused_with_a_reason() {
        let converter = Converter::new(OutputFormat::Raw, false);
        let err = converter.convert(&json!({"id": "i-9"})).unwrap_err();
        assert_eq!(err, "Azure DevOps audit entry i-9 has no RFC 3339 timestamp");
        let err = converter.convert(&json!("text")).unwrap_err();
        assert_eq!(err, "Azure DevOps audit record is not a JSON object: found string");
    }
}
