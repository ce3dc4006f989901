//! Checks events against the official OCSF 1.8.0 JSON Schemas in `../shared/ocsf/1.8.0`
//! (api-contracts.md §13.3), picking the schema file exactly as `../shared/ocsf/validate.py`
//! does: `<class>[.cloud][.datetime].json` from `class_uid` and `metadata.profiles`.
//!
//! Compiled only for this crate's tests and with the `schema-validation` feature, so every test
//! in the workspace can check what it emits:
//!
//! ```ignore
//! let event = serde_json::to_value(&ocsf_event)?;
//! audit_relay::ocsf::validate::validate(&event).map_err(|errors| errors.join("\n"))?;
//! ```
//!
//! The schema folder is `OCSF_SCHEMA_DIR` when set, else `shared/ocsf/1.8.0` beside the repo.
//! Each schema is compiled once per process.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

use super::OcsfEvent;

/// Environment variable overriding the schema folder.
pub const SCHEMA_DIR_ENV: &str = "OCSF_SCHEMA_DIR";

/// The schema folder when [`SCHEMA_DIR_ENV`] is not set.
pub const DEFAULT_SCHEMA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/ocsf/1.8.0");

/// Profiles that have schema files, in file-name order.
const PROFILES: [&str; 2] = ["cloud", "datetime"];

/// Longest error message kept (messages about the IP pattern quote the whole regex).
const MAX_MESSAGE: usize = 300;

/// The schema file stem of an OCSF class, as in `validate.py`.
pub fn class_schema_name(class_uid: u64) -> Option<&'static str> {
    Some(match class_uid {
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
        _ => return None,
    })
}

/// The schema folder in use.
pub fn schema_dir() -> PathBuf {
    std::env::var_os(SCHEMA_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_SCHEMA_DIR))
}

/// Validates one event (as JSON) against its class schema.
///
/// Errors are one readable line each: `class 3002 at /user: <what is wrong>`, or why no schema
/// could be chosen or loaded.
pub fn validate(event: &Value) -> Result<(), Vec<String>> {
    let class_uid = event.get("class_uid");
    let Some(name) = class_uid.and_then(Value::as_u64).and_then(class_schema_name) else {
        return Err(vec![format!(
            "class_uid {} has no schema here",
            class_uid.map_or_else(|| "(missing)".to_owned(), Value::to_string)
        )]);
    };
    let profiles: Vec<&str> = event
        .pointer("/metadata/profiles")
        .and_then(Value::as_array)
        .map(|p| p.iter().map(|v| v.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    let unknown: Vec<&str> = profiles.iter().copied().filter(|p| !PROFILES.contains(p)).collect();
    if !unknown.is_empty() {
        return Err(vec![format!("profiles {unknown:?} have no schema here")]);
    }
    let mut key = name.to_owned();
    for profile in PROFILES {
        if profiles.contains(&profile) {
            key.push('.');
            key.push_str(profile);
        }
    }
    let validator = validator(&key).map_err(|e| vec![e])?;
    let class = event.get("class_uid").map_or(0, |c| c.as_u64().unwrap_or(0));
    let mut errors: Vec<(String, String)> = validator
        .iter_errors(event)
        .map(|error| {
            let path = error.instance_path().to_string();
            // Masked: the message names the problem, not the whole (possibly huge) instance.
            let mut message = format!("{} (schema {})", error.masked(), error.schema_path());
            if message.len() > MAX_MESSAGE {
                let mut end = MAX_MESSAGE;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
                message.push('…');
            }
            (path, message)
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort();
    Err(errors
        .into_iter()
        .map(|(path, message)| {
            let path = if path.is_empty() { "(event)" } else { &path };
            format!("class {class} at {path}: {message}")
        })
        .collect())
}

/// Serializes `event` and validates it.
pub fn validate_event(event: &OcsfEvent) -> Result<(), Vec<String>> {
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
    let path = schema_dir().join(format!("{key}.json"));
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read schema {}: {e}", path.display()))?;
    let schema: Value =
        serde_json::from_str(&text).map_err(|e| format!("schema {} is not JSON: {e}", path.display()))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("schema {} does not compile: {e}", path.display()))?;
    let validator = Arc::new(validator);
    cache.insert(key.to_owned(), Arc::clone(&validator));
    Ok(validator)
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
}
