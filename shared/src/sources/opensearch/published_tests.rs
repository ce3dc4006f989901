//! The published OpenSearch records in `fixtures/published/` (listed with their origin in
//! `fixtures/published/SOURCES.md`), each mapped and held against what its event must say.

use serde_json::{json, Value};

use super::config::RedactHeaders;
use super::convert::Converter;
use super::mapping::{map_message, LogContext, MapOptions};
use crate::event::OutputFormat;
use crate::ocsf::validate::validate;

fn options() -> MapOptions {
    MapOptions { include_raw: false, region: None, redact: RedactHeaders::default() }
}

fn mapped(message: &str, context: &LogContext<'_>) -> Value {
    let event = serde_json::to_value(&map_message(message, context, &options()).event).unwrap();
    if let Err(errors) = validate(&event) {
        panic!("not valid OCSF: {errors:?}\n{event:#}");
    }
    event
}

#[test]
fn rest_granted_privileges_without_a_privilege_reads_by_its_method() {
    let record = include_str!("fixtures/published/granted_privileges_rest_whoami.json");
    let event = mapped(record, &LogContext::default());
    assert_eq!(event["class_uid"], 6003);
    assert_eq!(event["activity_id"], 2, "GET is a read");
    assert_eq!(event["activity_name"], "Read");
    assert_eq!(event["status_id"], 1);
    assert_eq!(event["time"], 1_692_207_353_531_i64);
    assert_eq!(event["actor"]["user"]["name"], "audit_log_verifier");
    assert_eq!(event["actor"]["user"].get("uid"), None);
    assert_eq!(event["src_endpoint"]["ip"], "127.0.0.1");
    assert_eq!(event["api"]["operation"], "GET /_plugins/_security/whoamiprotected");
    assert_eq!(event["http_request"]["http_method"], "GET");
    assert_eq!(event["metadata"]["event_code"], "GRANTED_PRIVILEGES");
}

#[test]
fn rest_privilege_records_take_their_activity_from_method_and_endpoint() {
    let cases = [
        ("GET", "/_cat/indices", 2),
        ("HEAD", "/logs", 2),
        ("PUT", "/logs/_settings", 3),
        ("PATCH", "/_plugins/_security/api/roles/r", 3),
        ("DELETE", "/logs", 4),
        ("POST", "/logs/_search", 2),
        ("POST", "/logs/_doc", 1),
        ("POST", "/_bulk", 3),
    ];
    for category in ["GRANTED_PRIVILEGES", "MISSING_PRIVILEGES"] {
        for (method, path, activity_id) in cases {
            let record = format!(
                r#"{{"audit_category":"{category}","audit_request_layer":"REST","audit_rest_request_method":"{method}","audit_rest_request_path":"{path}","@timestamp":"2023-08-16T17:35:53.531+00:00","audit_request_effective_user":"u","audit_request_remote_address":"10.0.0.1"}}"#
            );
            let event = mapped(&record, &LogContext::default());
            assert_eq!(event["activity_id"], activity_id, "{category} {method} {path}");
        }
    }
    // A privilege still decides over the method.
    let record = r#"{"audit_category":"GRANTED_PRIVILEGES","audit_rest_request_method":"GET","audit_request_privilege":"indices:admin/delete","@timestamp":"2023-08-16T17:35:53.531+00:00","audit_request_effective_user":"u","audit_request_remote_address":"10.0.0.1"}"#;
    assert_eq!(mapped(record, &LogContext::default())["activity_id"], 4);
}

#[test]
fn non_audit_log4j_line_takes_the_time_of_its_prefix_never_zero() {
    let line = include_str!("fixtures/published/log4j_audit_router_line.txt").trim_end();
    // Read from a file: no CloudWatch time, the prefix's.
    let event = mapped(line, &LogContext::default());
    assert_eq!(event["time"], 1_761_186_532_153_i64);
    // No audit record: Entity Management of OpenSearch, which wrote the line; no actor, no
    // endpoint, no operation made up.
    assert_eq!(event["class_uid"], 3004);
    assert_eq!(event["activity_id"], 99);
    assert_eq!(event["severity_id"], 0);
    assert_eq!(event["entity"], json!({"name": "OpenSearch", "type": "Application"}));
    assert!(event.get("actor").is_none() && event.get("src_endpoint").is_none());
    assert_eq!(event["raw_data"], line);
    assert!(event["unmapped"]["parse_error"].is_string());
    // From CloudWatch Logs: the log event's timestamp, exact and in UTC, decides.
    let context = LogContext { timestamp_ms: Some(1_761_186_532_200), ..LogContext::default() };
    assert_eq!(mapped(line, &context)["time"], 1_761_186_532_200_i64);
    // No time anywhere: the time it is mapped, not 1970.
    let event = mapped("Closing AuditMessageRouter", &LogContext::default());
    assert!(event["time"].as_i64().unwrap() > 1_700_000_000_000, "{}", event["time"]);
}

#[test]
fn pretty_printed_record_gives_a_one_line_event_equal_to_the_compact_record() {
    let record = include_str!("fixtures/published/granted_privileges_rest_whoami.json");
    let compact = include_str!("fixtures/published/granted_privileges_rest_whoami_compact.json").trim_end();
    assert!(record.lines().count() > 30, "the fixture is pretty-printed");
    for include_raw in [false, true] {
        let converter = Converter::new(OutputFormat::Ocsf, MapOptions { include_raw, ..options() });
        let from_pretty = converter.convert(record, &LogContext::default()).unwrap().event.json;
        let from_compact = converter.convert(compact, &LogContext::default()).unwrap().event.json;
        assert!(!from_pretty.contains(['\n', '\r']), "{from_pretty}");
        assert_eq!(from_pretty, from_compact, "include_raw={include_raw}");
        let event: Value = serde_json::from_str(&from_pretty).unwrap();
        if let Err(errors) = validate(&event) {
            panic!("not valid OCSF: {errors:?}");
        }
        if include_raw {
            assert_eq!(event["raw_data"], compact);
        }
    }
}

/// Every record fixture, ours and published, and the published log4j line: no "unknown" user,
/// endpoint, operation or domain; only what the message states.
#[test]
fn no_event_carries_a_placeholder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources/opensearch/fixtures");
    let files: Vec<_> = [dir.clone(), dir.join("published")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "txt"))
        .collect();
    assert!(files.len() >= 20, "{} fixtures", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let event = mapped(text.trim_end(), &LogContext::default());
        // The line's own words: its JSON strings, or the whole line when it is no JSON.
        let stated =
            serde_json::from_str::<Value>(text.trim_end()).unwrap_or_else(|_| json!([text.trim_end()]));
        let found = crate::ocsf::validate::placeholders(&event, &stated);
        assert!(found.is_empty(), "{}: {found:?}", file.display());
    }
}
