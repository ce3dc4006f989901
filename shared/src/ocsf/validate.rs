//! Checks events against the official OCSF 1.8.0 JSON Schemas vendored in `shared/ocsf-schema/1.8.0`
//! (see its README for their origin and license) and embedded in the binary, picking the schema
//! exactly as the OCSF schema server names its exports: `<class>[.cloud][.datetime].json` from
//! `class_uid` and `metadata.profiles`.
//!
//! Compiled for this crate's tests and with the `schema-validation` feature (the other crates' tests
//! and `audit-relay validate`):
//!
//! ```ignore
//! let event = serde_json::to_value(&ocsf_event)?;
//! audit_relay::ocsf::validate::validate(&event).map_err(|errors| errors.join("\n"))?;
//! ```
//!
//! Each schema is compiled once per process, on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

#[cfg(test)]
use super::OcsfEvent;

/// Profiles that have schema files, in file-name order.
const PROFILES: [&str; 2] = ["cloud", "datetime"];

/// Longest error message kept (messages about the IP pattern quote the whole regex).
const MAX_MESSAGE: usize = 300;

/// Builds, from one list of `class_uid => "file stem"`, the class table and every vendored schema
/// (`(file stem, JSON text)`, each class plain and with each profile set).
macro_rules! classes {
    ($($uid:literal => $class:literal),* $(,)?) => {
        /// Each class with a vendored schema: `(class_uid, file stem)`.
        const CLASSES: &[(u64, &str)] = &[$(($uid, $class)),*];
        const SCHEMAS: &[(&str, &str)] = &[$(
            ($class, include_str!(concat!("../../ocsf-schema/1.8.0/", $class, ".json"))),
            (concat!($class, ".cloud"), include_str!(concat!("../../ocsf-schema/1.8.0/", $class, ".cloud.json"))),
            (concat!($class, ".datetime"), include_str!(concat!("../../ocsf-schema/1.8.0/", $class, ".datetime.json"))),
            (concat!($class, ".cloud.datetime"), include_str!(concat!("../../ocsf-schema/1.8.0/", $class, ".cloud.datetime.json"))),
        )*];
    };
}

classes! {
    2004 => "detection_finding",
    3001 => "account_change",
    3002 => "authentication",
    3003 => "authorize_session",
    3004 => "entity_management",
    3005 => "user_access",
    3006 => "group_management",
    6001 => "web_resources_activity",
    6002 => "application_lifecycle",
    6003 => "api_activity",
    6004 => "web_resource_access_activity",
    6005 => "datastore_activity",
    6006 => "file_hosting",
    6007 => "scan_activity",
    6008 => "application_error",
}

/// The text of the vendored schema `<stem>[.cloud][.datetime]`.
pub(crate) fn schema_text(key: &str) -> Option<&'static str> {
    SCHEMAS.iter().find_map(|(name, text)| (*name == key).then_some(*text))
}

/// The schema file stem of an OCSF class.
pub(crate) fn class_schema_name(class_uid: u64) -> Option<&'static str> {
    CLASSES.iter().find_map(|(uid, stem)| (*uid == class_uid).then_some(*stem))
}

/// One way an event breaks its schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// JSON pointer to the offending value (empty: the event itself).
    pub pointer: String,
    /// What is wrong, and the schema rule it breaks.
    pub reason: String,
}

/// Why an event could not be checked or is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// No schema fits: `class_uid` missing or unknown, or a profile without a schema.
    NoSchema(String),
    /// The event breaks its class schema.
    Violations {
        /// The `class_uid`.
        class_uid: u64,
        /// The schema's file stem (`api_activity.cloud`).
        schema: String,
        /// Every violation, sorted by pointer.
        violations: Vec<Violation>,
    },
}

/// Checks one event against the schema of its class and profiles.
pub fn check(event: &Value) -> Result<(), Invalid> {
    let class_uid = event.get("class_uid");
    let Some((class, name)) =
        class_uid.and_then(Value::as_u64).and_then(|c| Some((c, class_schema_name(c)?)))
    else {
        return Err(Invalid::NoSchema(format!(
            "class_uid {} has no schema here",
            class_uid.map_or_else(|| "(missing)".to_owned(), Value::to_string)
        )));
    };
    let profiles: Vec<&str> = match event.pointer("/metadata/profiles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().unwrap_or("")).collect(),
        Some(other) => return Err(Invalid::NoSchema(format!("metadata.profiles is not an array: {other}"))),
    };
    let unknown: Vec<&str> = profiles.iter().copied().filter(|p| !PROFILES.contains(p)).collect();
    if !unknown.is_empty() {
        return Err(Invalid::NoSchema(format!("profiles {unknown:?} have no schema here")));
    }
    let mut key = name.to_owned();
    for profile in PROFILES {
        if profiles.contains(&profile) {
            key.push('.');
            key.push_str(profile);
        }
    }
    let validator = validator(&key).map_err(Invalid::NoSchema)?;
    let mut violations: Vec<Violation> = validator
        .iter_errors(event)
        .map(|error| {
            // Masked: the message names the problem, not the whole (possibly huge) instance.
            let mut reason = format!("{} (schema {})", error.masked(), error.schema_path());
            if reason.len() > MAX_MESSAGE {
                let mut end = MAX_MESSAGE;
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                reason.truncate(end);
                reason.push('…');
            }
            Violation { pointer: error.instance_path().to_string(), reason }
        })
        .collect();
    if violations.is_empty() {
        return Ok(());
    }
    violations.sort();
    Err(Invalid::Violations { class_uid: class, schema: key, violations })
}

/// Validates one event (as JSON) against its class schema.
///
/// Errors are one readable line each: `class 3002 at /user: <what is wrong>`, or why no schema
/// could be chosen.
pub fn validate(event: &Value) -> Result<(), Vec<String>> {
    match check(event) {
        Ok(()) => Ok(()),
        Err(Invalid::NoSchema(why)) => Err(vec![why]),
        Err(Invalid::Violations { class_uid, violations, .. }) => Err(violations
            .into_iter()
            .map(|Violation { pointer, reason }| {
                let pointer = if pointer.is_empty() { "(event)" } else { &pointer };
                format!("class {class_uid} at {pointer}: {reason}")
            })
            .collect()),
    }
}

/// Serializes `event` and validates it.
#[cfg(test)]
pub(crate) fn validate_event(event: &OcsfEvent) -> Result<(), Vec<String>> {
    let value = serde_json::to_value(event).map_err(|e| vec![format!("not serializable: {e}")])?;
    validate(&value)
}

/// The compiled schema `<key>.json`, compiled on first use.
fn validator(key: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    // A panic elsewhere while holding the lock leaves the map intact; keep using it.
    let mut cache = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(validator) = cache.get(key) {
        return Ok(Arc::clone(validator));
    }
    let text = SCHEMAS
        .iter()
        .find_map(|(stem, text)| (*stem == key).then_some(*text))
        .ok_or_else(|| format!("no schema {key}.json is vendored"))?;
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("schema {key}.json is not JSON: {e}"))?;
    let validator =
        jsonschema::validator_for(&schema).map_err(|e| format!("schema {key}.json does not compile: {e}"))?;
    let validator = Arc::new(validator);
    cache.insert(key.to_owned(), Arc::clone(&validator));
    Ok(validator)
}

/// Test helper for issue 13's rule (a value the source does not state is left out, never made
/// up): the strings of `event` that look like placeholders ("Unknown" in any case, the zero GUID)
/// and are neither a string value of `record` or a line of one (the source's own words) nor the
/// caption of an enum beside its id (`status` beside `status_id`, `activity_name` beside
/// `activity_id`, `class_name` beside `class_uid`). Each as `path = "text"`.
#[cfg(test)]
pub(crate) fn placeholders(event: &Value, record: &Value) -> Vec<String> {
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            // A line of a multi-line text (a stack trace's first line) is the source's words too.
            Value::String(s) => {
                out.extend(s.lines().map(|line| line.trim().to_owned()));
                out.push(s.clone());
            }
            Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    fn walk(value: &Value, stated: &[String], path: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let stem = key.strip_suffix("_name").unwrap_or(key);
                    let caption = [format!("{key}_id"), format!("{stem}_id"), format!("{stem}_uid")]
                        .iter()
                        .any(|k| map.contains_key(k));
                    if !(value.is_string() && caption) {
                        walk(value, stated, &format!("{path}/{key}"), found);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, stated, &format!("{path}/{i}"), found);
                }
            }
            Value::String(text) => {
                let made_up = text.to_ascii_lowercase().contains("unknown")
                    || text.contains("00000000-0000-0000-0000-000000000000");
                if made_up && !stated.contains(text) {
                    found.push(format!("{path} = {text:?}"));
                }
            }
            _ => {}
        }
    }
    let mut stated = Vec::new();
    strings(record, &mut stated);
    let mut found = Vec::new();
    walk(event, &stated, "", &mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal_api_activity() -> Value {
        json!({
            "class_uid": 6003, "category_uid": 6, "activity_id": 2, "type_uid": 600302,
            "severity_id": 1, "time": 1,
            "metadata": {"version": "1.8.0", "product": {"name": "Test"}, "profiles": ["cloud"]},
            "cloud": {"provider": "AWS"},
            "actor": {"app_name": "test"},
            "api": {"operation": "GetObject"},
            "src_endpoint": {"ip": "192.0.2.1"}
        })
    }

    #[test]
    fn minimal_cloud_api_activity_is_valid() {
        assert_eq!(validate(&minimal_api_activity()), Ok(()));
    }

    #[test]
    fn unknown_field_and_bad_ip_are_reported_with_their_path() {
        let mut event = minimal_api_activity();
        event["src_endpoint"]["ip"] = json!("ec2.amazonaws.com");
        event["bogus"] = json!(1);
        let errors = validate(&event).expect_err("must be invalid");
        assert!(errors.iter().any(|e| e.contains("/src_endpoint/ip")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("bogus")), "{errors:?}");
        assert!(errors.iter().all(|e| e.len() < MAX_MESSAGE + 80), "{errors:?}");
    }

    #[test]
    fn cloud_without_profile_is_rejected() {
        let mut event = minimal_api_activity();
        event["metadata"]["profiles"] = json!([]);
        let errors = validate(&event).expect_err("cloud needs the profile");
        assert!(errors.iter().any(|e| e.contains("cloud")), "{errors:?}");
    }

    #[test]
    fn unknown_class_and_profile_are_errors() {
        let mut event = minimal_api_activity();
        event["metadata"]["profiles"] = json!(["osint"]);
        assert_eq!(validate(&event), Err(vec![r#"profiles ["osint"] have no schema here"#.to_owned()]));
        assert_eq!(
            validate(&json!({"class_uid": 1})),
            Err(vec!["class_uid 1 has no schema here".to_owned()])
        );
    }

    #[test]
    fn every_vendored_schema_parses_and_compiles() {
        assert_eq!(SCHEMAS.len(), 60);
        for (stem, _) in SCHEMAS {
            assert!(validator(stem).is_ok(), "{stem}");
        }
    }

    #[test]
    fn check_gives_the_pointer_and_the_schema_chosen() {
        let mut event = minimal_api_activity();
        event["metadata"]["profiles"] = json!(["datetime", "cloud"]);
        event["time"] = json!("yesterday");
        let Err(Invalid::Violations { class_uid, schema, violations }) = check(&event) else {
            panic!("must be invalid");
        };
        assert_eq!((class_uid, schema.as_str()), (6003, "api_activity.cloud.datetime"));
        assert!(violations.iter().any(|v| v.pointer == "/time"), "{violations:?}");
        assert_eq!(
            check(&json!({"class_uid": 6003, "metadata": {"profiles": "cloud"}})),
            Err(Invalid::NoSchema(r#"metadata.profiles is not an array: "cloud""#.to_owned()))
        );
    }

    #[test]
    fn placeholders_are_found_unless_stated_or_enum_captions() {
        let event = json!({
            "status": "Unknown", "status_id": 0, "activity_name": "Unknown", "activity_id": 0,
            "actor": {"app_name": "Unknown"},
            "src_endpoint": {"name": "unknown host"},
            "entity": {"uid": "00000000-0000-0000-0000-000000000000"},
            "unmapped": {"author.publicName": "Unknown user"},
        });
        let record = json!({"author": {"publicName": "Unknown user"}});
        assert_eq!(
            super::placeholders(&event, &record),
            [
                "/actor/app_name = \"Unknown\"",
                "/entity/uid = \"00000000-0000-0000-0000-000000000000\"",
                "/src_endpoint/name = \"unknown host\"",
            ]
        );
    }
}
