//! The attributes of OCSF classes as the vendored 1.8.0 JSON Schemas define them: what the tables
//! a SIEM needs declared in advance (Sentinel's custom table) are generated from, so that they
//! follow the schema rather than a hand-written list.

use std::collections::BTreeMap;

use serde_json::Value;

use super::validate::{class_schema_name, schema_text};
use super::ClassActivity;

/// The JSON type of an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// A string (also `*_t` string types: IP addresses, URLs, emails, …).
    String,
    /// An integer (also timestamps: milliseconds since the epoch).
    Integer,
    /// A number with a fraction.
    Number,
    /// `true` / `false`.
    Boolean,
    /// An object.
    Object,
    /// An array.
    Array,
}

/// One top-level attribute of a class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its name (`actor`, `time`, …).
    pub name: String,
    /// Its type.
    pub kind: AttributeType,
}

/// The top-level attributes of `class_uid` with the `cloud` profile (every attribute the plain
/// class has, and `cloud`), in the schema's (alphabetical) order.
pub fn top_level(class_uid: u32) -> Result<Vec<Attribute>, String> {
    let stem = class_schema_name(u64::from(class_uid))
        .ok_or_else(|| format!("class {class_uid} has no schema here"))?;
    let key = format!("{stem}.cloud");
    let text = schema_text(&key).ok_or_else(|| format!("no schema {key}"))?;
    let schema: Value = serde_json::from_str(text).map_err(|e| format!("{key}: {e}"))?;
    let properties = schema["properties"].as_object().ok_or_else(|| format!("{key}: no properties"))?;
    properties
        .iter()
        .map(|(name, definition)| {
            let kind = match definition.get("type").and_then(Value::as_str) {
                Some("string") => AttributeType::String,
                Some("integer") => AttributeType::Integer,
                Some("number") => AttributeType::Number,
                Some("boolean") => AttributeType::Boolean,
                Some("array") => AttributeType::Array,
                Some("object") => AttributeType::Object,
                None if definition.get("$ref").is_some() => AttributeType::Object,
                other => return Err(format!("{key}: {name} has type {other:?}")),
            };
            Ok(Attribute { name: name.clone(), kind })
        })
        .collect()
}

/// The top-level attributes of every class the mappings emit, each name once, sorted by name.
/// A name two classes type differently is an error (no table column could hold both).
pub fn emitted_top_level() -> Result<Vec<Attribute>, String> {
    let mut all: BTreeMap<String, AttributeType> = BTreeMap::new();
    for &class_uid in ClassActivity::CLASS_UIDS {
        for attribute in top_level(class_uid)? {
            match all.get(&attribute.name) {
                Some(kind) if *kind != attribute.kind => {
                    return Err(format!(
                        "{} is {kind:?} in one class and {:?} in {class_uid}",
                        attribute.name, attribute.kind
                    ))
                }
                Some(_) => {}
                None => {
                    all.insert(attribute.name, attribute.kind);
                }
            }
        }
    }
    Ok(all.into_iter().map(|(name, kind)| Attribute { name, kind }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_activity_has_its_required_attributes_typed() {
        let attributes = top_level(6003).unwrap();
        let kind = |name: &str| attributes.iter().find(|a| a.name == name).map(|a| a.kind);
        assert_eq!(kind("time"), Some(AttributeType::Integer));
        assert_eq!(kind("actor"), Some(AttributeType::Object));
        assert_eq!(kind("resources"), Some(AttributeType::Array));
        assert_eq!(kind("message"), Some(AttributeType::String));
        assert_eq!(kind("cloud"), Some(AttributeType::Object), "the cloud profile's attribute");
        assert_eq!(kind("user"), None, "API Activity has no user");
        assert!(top_level(1).is_err());
    }

    #[test]
    fn every_emitted_class_contributes_and_names_are_unique() {
        let all = emitted_top_level().unwrap();
        let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for name in ["api", "user", "database", "web_resources", "privileges", "group", "entity", "metadata"]
        {
            assert!(names.contains(&name), "{name} (from one of the emitted classes)");
        }
    }
}
