//! OCSF 1.8.0 events rewritten for a consumer that reads an older OCSF version: Amazon Security
//! Lake takes "OCSF version 1.3 and earlier" from custom sources (api-contracts.md §16.5).
//!
//! [`Downgrade::apply`] keeps every attribute the older version defines (by the attribute lists
//! in `ocsf-schema/<version>/attributes.json`, derived from the OCSF schema at that version), sets
//! `metadata.version`, and moves the attributes the older version does not have into
//! `unmapped.ocsf_1_8_0`, in the shape they had, so nothing is lost. An attribute the older
//! version has only through a profile (1.3.0: `actor` of Entity, User Access and Group Management
//! comes with `host`) is kept, and the profile added to `metadata.profiles`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

#[cfg(any(test, feature = "schema-validation"))]
use super::schema::{Field, Shape};

/// The `unmapped` key holding what the older version has no attribute for.
pub const MOVED_KEY: &str = "ocsf_1_8_0";

/// An older OCSF version events can be rewritten to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// OCSF 1.3.0: the newest Amazon Security Lake takes from custom sources.
    V1_3_0,
}

impl Version {
    /// Reads `1.3.0`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "1.3.0" => Some(Self::V1_3_0),
            _ => None,
        }
    }

    /// `metadata.version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_3_0 => "1.3.0",
        }
    }

    /// The attribute lists of this version.
    pub fn downgrade(self) -> Result<&'static Downgrade, String> {
        static V1_3_0: OnceLock<Result<Downgrade, String>> = OnceLock::new();
        let cell = match self {
            Self::V1_3_0 => &V1_3_0,
        };
        cell.get_or_init(|| Downgrade::parse(include_str!("../../ocsf-schema/1.3.0/attributes.json")))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The attributes of one older version: per class and per object, each attribute's type (a
/// scalar `*_t` type, or the name of an object).
#[derive(Debug, Deserialize)]
pub struct Downgrade {
    version: String,
    classes: BTreeMap<String, ClassAttributes>,
    objects: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct ClassAttributes {
    /// The attributes the class has with the `cloud` profile.
    attributes: BTreeMap<String, String>,
    /// Per profile, the attributes it adds (1.3.0: `host` gives the IAM classes their `actor`).
    #[serde(default)]
    profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// Both: what an event may have once it declares the profiles whose attributes it uses.
    #[serde(skip)]
    all: BTreeMap<String, String>,
}

impl Downgrade {
    fn parse(text: &str) -> Result<Self, String> {
        let mut downgrade: Self = serde_json::from_str(text).map_err(|e| format!("attributes.json: {e}"))?;
        for class in downgrade.classes.values_mut() {
            class.all = class.attributes.clone();
            for attributes in class.profiles.values() {
                class.all.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        for attributes in downgrade.classes.values().map(|c| &c.all).chain(downgrade.objects.values()) {
            for kind in attributes.values() {
                if !kind.ends_with("_t") && !downgrade.objects.contains_key(kind) {
                    return Err(format!("attributes.json: type {kind} is neither a scalar nor an object"));
                }
            }
        }
        Ok(downgrade)
    }

    /// The version's attributes of class `class_uid`, its profiles' included (`None`: the version
    /// has no such class).
    pub fn class(&self, class_uid: u32) -> Option<Attributes<'_>> {
        self.classes.get(&class_uid.to_string()).map(|c| Attributes { of: &c.all, all: self })
    }

    /// Rewrites `event` (an OCSF 1.8.0 event) to this version. An event of a class the version
    /// does not have is an error.
    pub fn apply(&self, event: &mut Value) -> Result<(), String> {
        let class_uid = event.get("class_uid").and_then(Value::as_u64).ok_or("an event without class_uid")?;
        let definition = self
            .classes
            .get(&class_uid.to_string())
            .ok_or_else(|| format!("OCSF {} has no class {class_uid}", self.version))?;
        let class = Attributes { of: &definition.all, all: self };
        let Value::Object(fields) = event else { return Err("an event that is not an object".to_string()) };
        let moved = class.keep(fields);
        // The profiles whose attributes the event kept (the 1.8.0 class has them unconditionally).
        let used: Vec<&String> = definition
            .profiles
            .iter()
            .filter(|(_, attributes)| attributes.keys().any(|name| fields.contains_key(name)))
            .map(|(profile, _)| profile)
            .collect();
        if let Some(Value::Object(metadata)) = fields.get_mut("metadata") {
            metadata.insert("version".to_string(), Value::String(self.version.clone()));
            if !used.is_empty() {
                let profiles = metadata.entry("profiles").or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(profiles) = profiles {
                    for profile in used {
                        if !profiles.iter().any(|p| p.as_str() == Some(profile)) {
                            profiles.push(Value::String(profile.clone()));
                        }
                    }
                }
            }
        }
        if !moved.is_empty() {
            let unmapped = fields.entry("unmapped").or_insert_with(|| Value::Object(Map::new()));
            match unmapped {
                Value::Object(unmapped) => {
                    unmapped.insert(MOVED_KEY.to_string(), Value::Object(moved));
                }
                // `unmapped` is an object in every version; anything else is kept beside it.
                other => {
                    let previous = std::mem::take(other);
                    let mut map = Map::new();
                    map.insert("value".to_string(), previous);
                    map.insert(MOVED_KEY.to_string(), Value::Object(moved));
                    *other = Value::Object(map);
                }
            }
        }
        Ok(())
    }
}

/// The attributes of one class or object of a version.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    of: &'a BTreeMap<String, String>,
    all: &'a Downgrade,
}

impl<'a> Attributes<'a> {
    /// Whether the version has attribute `name` here.
    pub fn has(&self, name: &str) -> bool {
        self.of.contains_key(name)
    }

    /// The attributes of the object attribute `name` holds (`None`: a scalar, or no such attribute).
    pub fn object(&self, name: &str) -> Option<Attributes<'a>> {
        let kind = self.of.get(name)?;
        self.all.objects.get(kind).map(|of| Attributes { of, all: self.all })
    }

    /// Whether attribute `name` is free-form (`object_t`, `json_t`): kept whole.
    fn free_form(&self, name: &str) -> bool {
        self.of.get(name).is_some_and(|kind| kind == "object_t" || kind == "json_t")
    }

    /// The 1.8.0 attribute tree `fields` (see [`super::schema::class_fields`]) cut to what this
    /// version has: the columns of a table holding events rewritten by [`Downgrade::apply`].
    #[cfg(any(test, feature = "schema-validation"))]
    pub fn restrict(&self, fields: Vec<Field>) -> Vec<Field> {
        fields
            .into_iter()
            .filter(|field| self.has(&field.name))
            .filter_map(|field| {
                let shape = if self.free_form(&field.name) {
                    Shape::Json
                } else {
                    match (self.object(&field.name), field.shape) {
                        (Some(object), shape) => object.restrict_shape(shape)?,
                        (None, shape) => shape,
                    }
                };
                Some(Field { name: field.name, shape })
            })
            .collect()
    }

    #[cfg(any(test, feature = "schema-validation"))]
    fn restrict_shape(&self, shape: Shape) -> Option<Shape> {
        match shape {
            Shape::Object(fields) => {
                let fields = self.restrict(fields);
                (!fields.is_empty()).then_some(Shape::Object(fields))
            }
            Shape::Array(item) => self.restrict_shape(*item).map(|item| Shape::Array(Box::new(item))),
            other => Some(other),
        }
    }

    /// Removes from `fields` what this version has no attribute for and returns it.
    fn keep(&self, fields: &mut Map<String, Value>) -> Map<String, Value> {
        let mut moved = Map::new();
        let names: Vec<String> = fields.keys().cloned().collect();
        for name in names {
            if !self.has(&name) {
                if let Some(value) = fields.remove(&name) {
                    moved.insert(name, value);
                }
                continue;
            }
            if self.free_form(&name) {
                continue;
            }
            let Some(object) = self.object(&name) else { continue };
            let Some(value) = fields.get_mut(&name) else { continue };
            if let Some(inner) = object.keep_value(value) {
                moved.insert(name, inner);
            }
        }
        moved
    }

    /// [`Self::keep`] on an object value, or on each object of an array value.
    fn keep_value(&self, value: &mut Value) -> Option<Value> {
        match value {
            Value::Object(fields) => {
                let moved = self.keep(fields);
                (!moved.is_empty()).then_some(Value::Object(moved))
            }
            Value::Array(items) => {
                let moved: Vec<Value> = items
                    .iter_mut()
                    .map(|item| self.keep_value(item).unwrap_or_else(|| Value::Object(Map::new())))
                    .collect();
                moved
                    .iter()
                    .any(|m| m.as_object().is_some_and(|o| !o.is_empty()))
                    .then_some(Value::Array(moved))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
