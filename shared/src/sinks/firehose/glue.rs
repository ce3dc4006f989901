//! The Glue tables of the Security Lake route (`infra/security-lake.yaml`): for one OCSF class, a
//! column for every attribute of its vendored `cloud`-profile schema, objects as `struct`s all the
//! way down (an object is not expanded inside itself: see [`class_fields`]). Firehose converts each
//! record to Parquet with these columns, so a field without a column would be dropped on the way.
//! `audit-relay schema glue --class N` prints them.
//!
//! Types: `string`, `bigint` (integers, timestamps too: OCSF times are epoch milliseconds, as in
//! Security Lake's own tables), `double`, `boolean`, `struct<…>`, `array<…>`; attributes of any
//! JSON type (`unmapped`, `data`, …) are `string` columns holding their JSON text.

use serde::Serialize;

use crate::ocsf::compat::Version;
use crate::ocsf::schema::{class_fields, Shape};

/// The longest column type Glue stores (`Column.Type`, 131,072 characters).
pub const MAX_TYPE_CHARS: usize = 131_072;

/// One column, as CloudFormation's `AWS::Glue::Table` `Columns` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Column {
    /// The attribute name.
    pub name: String,
    /// Its Glue (Hive) type.
    #[serde(rename = "Type")]
    pub kind: String,
}

/// The columns of `class_uid`'s table, in the schema's (alphabetical) order: of OCSF 1.8.0, or
/// of the attributes `version` has too, for events the sink rewrites to it
/// (`FIREHOSE_OCSF_VERSION`).
pub fn columns(class_uid: u32, version: Option<Version>) -> Result<Vec<Column>, String> {
    let mut fields = class_fields(class_uid)?;
    if let Some(version) = version {
        let older = version.downgrade()?;
        let attributes = older
            .class(class_uid)
            .ok_or_else(|| format!("OCSF {} has no class {class_uid}", version.as_str()))?;
        fields = attributes.restrict(fields);
    }
    let columns: Vec<Column> =
        fields.into_iter().map(|field| Column { kind: glue_type(&field.shape), name: field.name }).collect();
    if let Some(long) = columns.iter().find(|c| c.kind.len() > MAX_TYPE_CHARS) {
        return Err(format!(
            "class {class_uid}: column {} has a type of {} characters",
            long.name,
            long.kind.len()
        ));
    }
    Ok(columns)
}

/// The Glue type of a shape.
fn glue_type(shape: &Shape) -> String {
    match shape {
        Shape::String | Shape::Json => "string".to_string(),
        Shape::Integer => "bigint".to_string(),
        Shape::Number => "double".to_string(),
        Shape::Boolean => "boolean".to_string(),
        Shape::Array(item) => format!("array<{}>", glue_type(item)),
        Shape::Object(fields) => {
            let inner: Vec<String> =
                fields.iter().map(|f| format!("{}:{}", f.name, glue_type(&f.shape))).collect();
            format!("struct<{}>", inner.join(","))
        }
    }
}

#[cfg(test)]
mod tests;
