//! The generated columns, and the events of every bundled vendor record held against them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::*;
use crate::ocsf::schema::Field;
use crate::ocsf::ClassActivity;

/// A Glue type read back from its text.
#[derive(Debug, PartialEq)]
enum Hive {
    Primitive(String),
    Struct(Vec<(String, Hive)>),
    Array(Box<Hive>),
}

/// Reads one Glue type from the front of `text`, returning it and the rest.
fn parse(text: &str) -> (Hive, &str) {
    if let Some(rest) = text.strip_prefix("array<") {
        let (item, rest) = parse(rest);
        let rest = rest.strip_prefix('>').unwrap_or_else(|| panic!("array not closed at {rest:.40}"));
        return (Hive::Array(Box::new(item)), rest);
    }
    if let Some(mut rest) = text.strip_prefix("struct<") {
        let mut fields = Vec::new();
        loop {
            let colon = rest.find(':').unwrap();
            let name = rest[..colon].to_string();
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{name}");
            let (kind, after) = parse(&rest[colon + 1..]);
            fields.push((name, kind));
            match after.as_bytes().first() {
                Some(b',') => rest = &after[1..],
                Some(b'>') => return (Hive::Struct(fields), &after[1..]),
                _ => panic!("struct not closed at {after:.40}"),
            }
        }
    }
    let end = text.find([',', '>']).unwrap_or(text.len());
    let name = &text[..end];
    assert!(["string", "bigint", "double", "boolean"].contains(&name), "type {name}");
    (Hive::Primitive(name.to_string()), &text[end..])
}

fn table(class_uid: u32, version: Option<Version>) -> BTreeMap<String, Hive> {
    columns(class_uid, version)
        .unwrap()
        .into_iter()
        .map(|c| {
            let (kind, rest) = parse(&c.kind);
            assert_eq!(rest, "", "{}", c.name);
            (c.name, kind)
        })
        .collect()
}

/// The paths (`a.b`, arrays as `a[]`) of the attributes of any JSON type: string columns that
/// hold JSON text.
fn json_paths(fields: &[Field], prefix: &str, out: &mut BTreeSet<String>) {
    fn walk(shape: &Shape, path: String, out: &mut BTreeSet<String>) {
        match shape {
            Shape::Json => {
                out.insert(path);
            }
            Shape::Array(item) => walk(item, format!("{path}[]"), out),
            Shape::Object(fields) => json_paths(fields, &path, out),
            _ => {}
        }
    }
    for field in fields {
        let path = if prefix.is_empty() { field.name.clone() } else { format!("{prefix}.{}", field.name) };
        walk(&field.shape, path, out);
    }
}

/// What in `value` (at `path`) the column type `kind` cannot hold.
fn misfits(value: &Value, kind: &Hive, path: &str, json: &BTreeSet<String>, out: &mut Vec<String>) {
    match (kind, value) {
        (Hive::Primitive(p), Value::String(_)) if p == "string" => {}
        (Hive::Primitive(p), _) if p == "string" && json.contains(path) => {}
        (Hive::Primitive(p), Value::Number(n)) if p == "bigint" && n.is_i64() => {}
        (Hive::Primitive(p), Value::Number(_)) if p == "double" => {}
        (Hive::Primitive(p), Value::Bool(_)) if p == "boolean" => {}
        (Hive::Array(item), Value::Array(values)) => {
            for v in values {
                misfits(v, item, &format!("{path}[]"), json, out);
            }
        }
        (Hive::Struct(fields), Value::Object(map)) => {
            for (name, v) in map {
                match fields.iter().find(|(n, _)| n == name) {
                    Some((_, k)) => misfits(v, k, &format!("{path}.{name}"), json, out),
                    None => out.push(format!("{path}.{name}: no such field")),
                }
            }
        }
        (kind, value) => out.push(format!("{path}: {value} in a {kind:?} column")),
    }
}

/// What of `event` its class's table cannot hold (empty: every field has a column of its type).
fn check(event: &Value, version: Option<Version>) -> Vec<String> {
    let class_uid = event["class_uid"].as_u64().unwrap() as u32;
    let table = table(class_uid, version);
    let mut json = BTreeSet::new();
    let mut fields = class_fields(class_uid).unwrap();
    if let Some(version) = version {
        fields = version.downgrade().unwrap().class(class_uid).unwrap().restrict(fields);
    }
    json_paths(&fields, "", &mut json);
    let mut out = Vec::new();
    for (name, value) in event.as_object().unwrap() {
        match table.get(name) {
            Some(kind) => misfits(value, kind, name, &json, &mut out),
            None => out.push(format!("{name}: no column")),
        }
    }
    out
}

#[test]
fn columns_follow_the_schema_types() {
    let table = table(6003, None);
    assert_eq!(table["time"], Hive::Primitive("bigint".into()), "epoch milliseconds");
    assert_eq!(table["class_uid"], Hive::Primitive("bigint".into()));
    assert_eq!(table["message"], Hive::Primitive("string".into()));
    assert_eq!(table["unmapped"], Hive::Primitive("string".into()), "free-form: its JSON text");
    let Hive::Struct(actor) = &table["actor"] else { panic!("actor is a struct") };
    let user = &actor.iter().find(|(n, _)| n == "user").unwrap().1;
    let Hive::Struct(user) = user else { panic!("actor.user is a struct") };
    assert!(user.iter().any(|(n, k)| n == "name" && *k == Hive::Primitive("string".into())));
    let process = &actor.iter().find(|(n, _)| n == "process").unwrap().1;
    let Hive::Struct(process) = process else { panic!("actor.process is a struct") };
    assert!(process.iter().any(|(n, _)| n == "pid"));
    assert!(!process.iter().any(|(n, _)| n == "parent_process"), "a process is not expanded inside itself");
    let Hive::Array(resource) = &table["resources"] else { panic!("resources is an array") };
    assert!(matches!(**resource, Hive::Struct(_)));
    let Hive::Struct(cloud) = &table["cloud"] else { panic!("the cloud profile's object") };
    assert!(cloud.iter().any(|(n, k)| n == "region" && *k == Hive::Primitive("string".into())));
    assert!(!table.contains_key("user"), "API Activity has no user attribute");

    // Every emitted class has a table; a class outside the vendored schemas has none.
    for &class_uid in ClassActivity::CLASS_UIDS {
        for version in [None, Some(Version::V1_3_0)] {
            let columns = columns(class_uid, version).unwrap();
            assert!(columns.iter().any(|c| c.name == "metadata"), "{class_uid}");
            assert!(columns.iter().all(|c| c.kind.len() <= MAX_TYPE_CHARS));
        }
    }
    assert!(columns(4001, None).is_err());
}

#[test]
fn the_checker_finds_what_a_table_cannot_hold() {
    let event = serde_json::json!({
        "class_uid": 6003,
        "time": 1.5,
        "actor": {"user": {"name": "a", "nickname": "b"}, "process": {"parent_process": {"pid": 1}}},
        "unmapped": {"anything": [1, {"x": true}]},
        "resources": [{"uid": 7}],
        "no_such_attribute": 1,
    });
    let mut found = check(&event, None);
    found.sort();
    assert_eq!(
        found,
        vec![
            "actor.process.parent_process: no such field",
            "actor.user.nickname: no such field",
            "no_such_attribute: no column",
            "resources[].uid: 7 in a Primitive(\"string\") column",
            "time: 1.5 in a Primitive(\"bigint\") column",
        ]
    );
}

/// The mapped events of every bundled vendor record: the published records and our fixtures of
/// all four sources.
fn sample_events() -> Vec<(String, Value)> {
    use crate::sources::{atlassian, azure_devops, cloudtrail, opensearch};

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources");
    let files = |dir: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for sub in ["fixtures", "fixtures/published"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(sub)) else { continue };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    let name = format!("{dir}/{sub}/{}", path.file_name().unwrap().to_string_lossy());
                    out.push((name, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    let mut events = Vec::new();
    let mut push = |name: &str, event: &crate::ocsf::OcsfEvent| {
        events.push((name.to_string(), serde_json::to_value(event).unwrap()));
    };

    let options = cloudtrail::mapping::MapOptions { include_raw: true };
    for (name, text) in files("cloudtrail") {
        let value: Value = serde_json::from_str(&text).unwrap();
        let records = match value.get("Records").and_then(Value::as_array) {
            Some(records) => records.iter().map(Value::to_string).collect(),
            None => vec![text],
        };
        for record in records {
            if let Ok(event) = cloudtrail::mapping::map_record(&record, &options) {
                push(&name, &event);
            }
        }
    }
    let options = opensearch::mapping::MapOptions {
        include_raw: true,
        region: Some("us-east-1".into()),
        redact: Default::default(),
    };
    for (name, text) in files("opensearch") {
        let context = opensearch::mapping::LogContext::default();
        push(&name, &opensearch::mapping::map_message(&text, &context, &options).event);
    }
    for (name, text) in files("atlassian") {
        let file = name.rsplit('/').next().unwrap();
        let event = if file.starts_with("org_page") || file.starts_with("jira_page") {
            continue;
        } else if file.starts_with("org_") {
            atlassian::mapping::map_org_event(&text, "0f0f0f0f-0000-4000-8000-00000000000f", true)
        } else if file.starts_with("jira_") {
            atlassian::mapping::map_jira_record(&text, "example.atlassian.net", true)
        } else {
            atlassian::mapping::map_confluence_record(&text, "example.atlassian.net", true)
        };
        if let Ok(event) = event {
            push(&name, &event);
        }
    }
    let options = azure_devops::mapping::MapOptions { include_raw: true };
    for (name, text) in files("azure_devops") {
        let Ok(entries) = azure_devops::record::split_log(&text) else { continue };
        for (value, _) in entries {
            let Ok(entry) = azure_devops::record::AuditEntry::from_value(value) else { continue };
            if let Ok(event) = azure_devops::mapping::map_entry(&entry, None, &options) {
                push(&name, &event);
            }
        }
    }
    events
}

#[test]
fn every_field_of_our_events_has_a_column_of_its_type() {
    let events = sample_events();
    let mut classes = BTreeMap::<u64, usize>::new();
    let mut problems = Vec::new();
    let older = Version::V1_3_0.downgrade().unwrap();
    for (name, event) in &events {
        *classes.entry(event["class_uid"].as_u64().unwrap()).or_default() += 1;
        for problem in check(event, None) {
            problems.push(format!("{name} ({}): {problem}", event["class_uid"]));
        }
        // Rewritten to OCSF 1.3.0 (the Security Lake route), against the 1.3.0 table.
        let mut rewritten = event.clone();
        older.apply(&mut rewritten).unwrap();
        for problem in check(&rewritten, Some(Version::V1_3_0)) {
            problems.push(format!("{name} ({}) as OCSF 1.3.0: {problem}", event["class_uid"]));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every class the mappings emit is among the samples.
    let emitted: Vec<u64> = ClassActivity::CLASS_UIDS.iter().map(|&c| u64::from(c)).collect();
    assert_eq!(classes.keys().copied().collect::<Vec<_>>(), emitted, "{classes:?}");
    assert!(events.len() > 100, "{} events", events.len());
}
