//! The Log Analytics custom table and the DCR input stream the Sentinel sink writes to
//! (`infra/azure/sentinel.json`), generated from the vendored OCSF schemas: a column for every
//! top-level attribute of the classes the mappings emit, `TimeGenerated` first and
//! `AuditRelayTruncated` last. The stream takes the events as sent; the rule's transformation only
//! renames the attributes whose names Log Analytics reserves (`type`, `resource`) to
//! `ocsf_<name>`. `audit-relay schema sentinel` prints all three.

use serde::Serialize;

use super::TRUNCATED_COLUMN;
use crate::ocsf::schema::{emitted_top_level, AttributeType};

/// Column names Log Analytics reserves (api-contracts.md §12), compared without case.
const RESERVED: &[&str] = &[
    "type",
    "tenantid",
    "resource",
    "resourceid",
    "resourcename",
    "resourcetype",
    "subscriptionid",
    "tenanted",
    "_resourceid",
];

/// One column, as a DCR stream declaration writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// `datetime`, `string`, `long`, `real`, `boolean` or `dynamic` (objects and arrays).
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// The stream, the table and the transformation between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    /// The DCR input stream's columns: the fields of the rows the sink sends.
    pub stream: Vec<Column>,
    /// The table's columns.
    pub table: Vec<Column>,
    /// The DCR's `transformKql`.
    pub transform_kql: String,
}

/// The table definition.
pub fn table() -> Result<Table, String> {
    let mut stream = vec![Column { name: "TimeGenerated".to_string(), kind: "datetime" }];
    for attribute in emitted_top_level()? {
        let kind = match attribute.kind {
            AttributeType::String => "string",
            AttributeType::Integer => "long",
            AttributeType::Number => "real",
            AttributeType::Boolean => "boolean",
            AttributeType::Object | AttributeType::Array => "dynamic",
        };
        stream.push(Column { name: attribute.name, kind });
    }
    stream.push(Column { name: TRUNCATED_COLUMN.to_string(), kind: "dynamic" });
    let mut renames = Vec::new();
    let table = stream
        .iter()
        .map(|column| {
            if RESERVED.contains(&column.name.to_ascii_lowercase().as_str()) {
                let renamed = format!("ocsf_{}", column.name);
                // Bracket-quoted: the name may be a KQL keyword.
                renames.push(format!("{renamed} = ['{}']", column.name));
                Column { name: renamed, kind: column.kind }
            } else {
                column.clone()
            }
        })
        .collect();
    let transform_kql = match renames.is_empty() {
        true => "source".to_string(),
        false => format!("source | project-rename {}", renames.join(", ")),
    };
    Ok(Table { stream, table, transform_kql })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_the_ocsf_types_and_reserved_names_are_renamed() {
        let Table { stream, table, transform_kql } = table().unwrap();
        assert_eq!(stream[0], Column { name: "TimeGenerated".into(), kind: "datetime" });
        assert_eq!(stream.last().unwrap().name, "AuditRelayTruncated");
        let kind = |name: &str| stream.iter().find(|c| c.name == name).map(|c| c.kind);
        assert_eq!(kind("time"), Some("long"));
        assert_eq!(kind("class_uid"), Some("long"));
        assert_eq!(kind("message"), Some("string"));
        assert_eq!(kind("actor"), Some("dynamic"));
        assert_eq!(kind("resources"), Some("dynamic"));
        assert_eq!(kind("raw_data"), Some("string"));
        assert_eq!(kind("resource"), Some("dynamic"), "User Access and Group Management");
        // Log Analytics allows at most 500 columns in a table.
        assert!(stream.len() < 500, "{}", stream.len());
        assert_eq!(table.len(), stream.len());
        for (s, t) in stream.iter().zip(&table) {
            assert_eq!(s.kind, t.kind);
            assert!(!RESERVED.contains(&t.name.to_ascii_lowercase().as_str()), "{}", t.name);
            assert!(t.name == s.name || t.name == format!("ocsf_{}", s.name));
        }
        assert_eq!(
            transform_kql,
            "source | project-rename ocsf_resource = ['resource'], ocsf_type = ['type']"
        );
    }
}
