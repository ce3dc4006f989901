//! The attributes of OCSF classes as the vendored 1.8.0 JSON Schemas define them: what the tables
//! a SIEM needs declared in advance (Sentinel's custom table, the Glue tables of the Security Lake
//! route) are generated from, so that they follow the schema rather than a hand-written list.

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

/// The `cloud`-profile schema of `class_uid` (every attribute the plain class has, and `cloud`)
/// and its name.
fn cloud_schema(class_uid: u32) -> Result<(String, Value), String> {
    let stem = class_schema_name(u64::from(class_uid))
        .ok_or_else(|| format!("class {class_uid} has no schema here"))?;
    let key = format!("{stem}.cloud");
    let text = schema_text(&key).ok_or_else(|| format!("no schema {key}"))?;
    let schema: Value = serde_json::from_str(text).map_err(|e| format!("{key}: {e}"))?;
    Ok((key, schema))
}

/// The top-level attributes of `class_uid` with the `cloud` profile, in the schema's
/// (alphabetical) order.
pub fn top_level(class_uid: u32) -> Result<Vec<Attribute>, String> {
    let (key, schema) = cloud_schema(class_uid)?;
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

/// An attribute's type with the objects in it expanded to their attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A string.
    String,
    /// An integer (timestamps too: milliseconds since the epoch).
    Integer,
    /// A number with a fraction.
    Number,
    /// `true` / `false`.
    Boolean,
    /// Any JSON value: `json_t` attributes (`data`, …) and the free-form `object` (`unmapped`).
    Json,
    /// An object and its attributes, in the schema's (alphabetical) order.
    Object(Vec<Field>),
    /// An array of one shape.
    Array(Box<Shape>),
}

/// A named attribute and its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The attribute name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
}

/// Every attribute of `class_uid` with the `cloud` profile, objects expanded all the way down.
///
/// OCSF objects nest recursively (a process has a `parent_process`, an LDAP person a `manager`
/// user), which no finite table can hold: an object is not expanded inside itself, so an
/// attribute whose object is already being expanded on its path is left out, and so is an object
/// left with no attributes.
pub fn class_fields(class_uid: u32) -> Result<Vec<Field>, String> {
    let (key, schema) = cloud_schema(class_uid)?;
    let expander = Expander { key: &key, defs: &schema["$defs"] };
    let mut path = Vec::new();
    expander.object(&schema, &mut path)
}

/// Expands the definitions of one class schema.
struct Expander<'a> {
    key: &'a str,
    defs: &'a Value,
}

impl Expander<'_> {
    /// The attributes of an object definition, those that cannot be expanded left out.
    fn object<'s>(&'s self, definition: &'s Value, path: &mut Vec<&'s str>) -> Result<Vec<Field>, String> {
        let Some(properties) = definition.get("properties").and_then(Value::as_object) else {
            return Ok(Vec::new());
        };
        let mut fields = Vec::with_capacity(properties.len());
        for (name, attribute) in properties {
            if let Some(shape) = self.shape(attribute, path).map_err(|e| format!("{name}.{e}"))? {
                fields.push(Field { name: name.clone(), shape });
            }
        }
        Ok(fields)
    }

    /// The shape of one attribute definition; `None` for an object it cannot expand.
    fn shape<'s>(&'s self, attribute: &'s Value, path: &mut Vec<&'s str>) -> Result<Option<Shape>, String> {
        if let Some(reference) = attribute.get("$ref").and_then(Value::as_str) {
            let name = reference
                .strip_prefix("#/$defs/")
                .ok_or_else(|| format!("{}: reference {reference} is not to $defs", self.key))?;
            let definition =
                self.defs.get(name).ok_or_else(|| format!("{}: no definition {name}", self.key))?;
            if definition.get("additionalProperties") == Some(&Value::Bool(true)) {
                return Ok(Some(Shape::Json));
            }
            if path.contains(&name) {
                return Ok(None);
            }
            path.push(name);
            let fields = self.object(definition, path);
            path.pop();
            let fields = fields?;
            return Ok((!fields.is_empty()).then_some(Shape::Object(fields)));
        }
        let shape = match attribute.get("type") {
            Some(Value::String(kind)) => match kind.as_str() {
                "string" => Shape::String,
                "integer" => Shape::Integer,
                "number" => Shape::Number,
                "boolean" => Shape::Boolean,
                "object" => Shape::Json,
                "array" => {
                    let items = attribute
                        .get("items")
                        .ok_or_else(|| format!("{}: an array without items", self.key))?;
                    return Ok(self.shape(items, path)?.map(|item| Shape::Array(Box::new(item))));
                }
                other => return Err(format!("{}: type {other}", self.key)),
            },
            // json_t: any of the JSON types.
            Some(Value::Array(_)) => Shape::Json,
            other => return Err(format!("{}: type {other:?}", self.key)),
        };
        Ok(Some(shape))
    }
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
