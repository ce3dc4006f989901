//! One audit entry of a saved log (the CLI's `normalize`) → the event the sink receives, through
//! [`crate::encode`]: OCSF through [`super::mapping`], UDM through [`super::udm`] (the SecOps
//! parser's mapping), or the entry as received.

use std::borrow::Cow;

use serde_json::Value;

use super::mapping::{self, MapOptions};
use super::record::{AuditEntry, Shape};
use super::udm;
use crate::encode::{encode, ConvertError, SourceRecord};
use crate::event::OutboundEvent;
use crate::event::OutputFormat;
use crate::ocsf::OcsfEvent;

/// The outbound event for one entry split from a saved log ([`super::record::split_log`]), or
/// why it cannot be sent. `shape` says how it reached us (UDM takes `metadata.product_log_id`
/// from it); `include_raw` puts the entry in OCSF `raw_data`.
pub fn convert(
    format: OutputFormat,
    value: &Value,
    shape: Shape,
    include_raw: bool,
) -> Result<OutboundEvent, ConvertError> {
    let entry = AuditEntry::from_value(value.clone()).map_err(ConvertError::record)?;
    let time_ms = entry.time_ms().ok_or_else(|| {
        ConvertError::NoTime(format!(
            "Azure DevOps audit entry {} has no RFC 3339 timestamp",
            entry.id.as_deref().unwrap_or("(no id)")
        ))
    })?;
    encode(format, &mut Entry { entry, value, shape, time_ms, options: MapOptions { include_raw } })
}

/// A saved entry, as the encoder sees it.
struct Entry<'a> {
    entry: AuditEntry,
    value: &'a Value,
    shape: Shape,
    time_ms: i64,
    options: MapOptions,
}

impl SourceRecord for Entry<'_> {
    fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError> {
        let raw = self.options.include_raw.then(|| self.value.to_string());
        mapping::map_entry(&self.entry, raw.as_deref(), &self.options).map_err(ConvertError::record)
    }

    fn udm(&mut self) -> Result<OutboundEvent, ConvertError> {
        Ok(OutboundEvent { time_ms: self.time_ms, json: udm::to_udm(&self.entry, self.shape).to_string() })
    }

    fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError> {
        Ok((self.time_ms, Cow::Owned(self.value.to_string())))
    }

    fn ocsf_size_hint(&self) -> usize {
        2048
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
            let event = convert(format, &entry, Shape::Entry, false).unwrap();
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
        for format in [OutputFormat::Ocsf, OutputFormat::Udm, OutputFormat::Raw] {
            let err = convert(format, &json!({"id": "i-9"}), Shape::Entry, false).unwrap_err();
            assert_eq!(err.to_string(), "Azure DevOps audit entry i-9 has no RFC 3339 timestamp");
            let err = convert(format, &json!("text"), Shape::Entry, false).unwrap_err();
            assert_eq!(err.to_string(), "Azure DevOps audit record is not a JSON object: found string");
        }
    }
}
