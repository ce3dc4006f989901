//! Table-driven mapping tests over the fixtures; every event is checked against the OCSF schema.

use serde_json::{json, Value};

use super::*;
use crate::ocsf::validate;

const ORG: &str = "0f0f0f0f-0000-4000-8000-00000000000f";
const SITE: &str = "example-corp.atlassian.net";

enum Mapper {
    Org,
    Jira,
    Confluence,
}

fn map(mapper: &Mapper, json: &str) -> Value {
    let event = match mapper {
        Mapper::Org => map_org_event(json, ORG, false),
        Mapper::Jira => map_jira_record(json, SITE, false),
        Mapper::Confluence => map_confluence_record(json, SITE, false),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::to_value(&event).unwrap_or_else(|e| panic!("{e}"));
    if let Err(errors) = validate::validate(&value) {
        panic!("{}:\n{}\n{value:#}", event.type_name(), errors.join("\n"));
    }
    value
}

/// (fixture, mapper, type_uid, [(JSON pointer, expected value)])
type Case = (&'static str, Mapper, u64, Vec<(&'static str, Value)>);

#[test]
fn fixtures_map_to_expected_schema_valid_events() {
    let cases: Vec<Case> = vec![
        (
            include_str!("../fixtures/org_user_login.json"),
            Mapper::Org,
            300_201,
            vec![
                ("/metadata/uid", json!("b7e1c2d0-1111-4a00-8000-00000000a001")),
                ("/metadata/product/name", json!("Atlassian Administration")),
                ("/metadata/product/vendor_name", json!("Atlassian")),
                ("/metadata/event_code", json!("user_login")),
                ("/metadata/tenant_uid", json!(ORG)),
                ("/metadata/logged_time", json!(1_741_076_131_000_i64)),
                ("/time", json!(1_741_076_130_250_i64)),
                ("/status", json!("Success")),
                ("/user/uid", json!("712020:0a0a0a0a-0000-4000-8000-000000000001")),
                ("/actor/user/email_addr", json!("ana.lopez@example.com")),
                ("/src_endpoint/ip", json!("198.51.100.24")),
                (
                    "/src_endpoint/location",
                    json!({"city": "Sampleville", "region": "North Province", "continent": "EU", "desc": "Examplestan"}),
                ),
                ("/service/name", json!("Atlassian Administration")),
                ("/message", json!("Ana Lopez logged in")),
            ],
        ),
        (
            include_str!("../fixtures/org_user_login_failed.json"),
            Mapper::Org,
            300_201,
            vec![
                ("/status", json!("Failure")),
                ("/status_id", json!(2)),
                ("/src_endpoint/ip", json!("2001:db8::17")),
                ("/src_endpoint/location/country", json!("DE")),
                ("/actor/user/email_addr", Value::Null),
                ("/unmapped/actor.email", json!("not-an-email")),
            ],
        ),
        (
            include_str!("../fixtures/org_api_token_created.json"),
            Mapper::Org,
            300_199,
            vec![
                ("/user/name", json!("Bo Chen")),
                ("/actor/user/credential_uid", json!("tok-000000000042")),
                ("/unmapped/actor.auth.authType", json!("session")),
                ("/unmapped/actor.auth.tokenLabel", json!("ci pipeline")),
            ],
        ),
        (
            include_str!("../fixtures/org_space_permission_added.json"),
            Mapper::Org,
            300_501,
            vec![
                ("/user/name", json!("Ed Reader")),
                ("/user/email_addr", json!("ed.reader@example.com")),
                ("/privileges", json!(["confluence_added_space_permission"])),
                ("/resources/1/name", json!("Engineering")),
                ("/resources/1/type", json!("spaces")),
                ("/resources/2/type", json!("sites")),
                ("/resources/2/data/siteHostName", json!("https://example-corp.atlassian.net")),
                ("/unmapped/actor.onBehalfOf/name", json!("Di Owner")),
            ],
        ),
        (
            include_str!("../fixtures/org_policy_updated.json"),
            Mapper::Org,
            300_403,
            vec![
                ("/entity/uid", json!("pol-7")),
                ("/entity/name", json!("Contractors")),
                ("/entity/type_id", json!(5)),
                ("/unmapped/container/0/type", json!("orgs")),
                ("/unmapped/extraAttribute", json!("kept")),
                ("/metadata/logged_time", Value::Null),
            ],
        ),
        (
            include_str!("../fixtures/org_group_member_added.json"),
            Mapper::Org,
            300_603,
            vec![
                ("/group/uid", json!("grp-123")),
                ("/group/name", json!("jira-admins")),
                ("/user/name", json!("Fay New")),
                ("/src_endpoint", Value::Null),
            ],
        ),
        (
            include_str!("../fixtures/org_user_deactivated.json"),
            Mapper::Org,
            300_105,
            vec![("/user/name", json!("Gus Leaver")), ("/actor/user/name", json!("Cy Admin"))],
        ),
        (
            include_str!("../fixtures/org_unknown_action.json"),
            Mapper::Org,
            600_302,
            vec![
                ("/api/operation", json!("audit_log_exported")),
                ("/api/service/name", json!("Atlassian Administration")),
                ("/resources/0/type", json!("orgs")),
                ("/src_endpoint/name", json!("Unknown")),
            ],
        ),
        (
            include_str!("../fixtures/jira_user_created.json"),
            Mapper::Jira,
            300_101,
            vec![
                ("/metadata/uid", json!("10042")),
                ("/metadata/product/name", json!("Jira")),
                ("/metadata/product/feature/name", json!("user management")),
                ("/metadata/tenant_uid", json!(SITE)),
                ("/time", json!(1_741_097_106_789_i64)),
                ("/user/name", json!("hana.hire")),
                ("/actor/user/uid", json!("5b10ac8d82e05b22cc7d4ef5")),
                ("/actor/user/name", json!("admin")),
                ("/src_endpoint/ip", json!("192.0.2.15")),
                ("/message", json!("User created")),
                ("/unmapped/changedValues/0/changedTo", json!("hana.hire@example.com")),
            ],
        ),
        (
            include_str!("../fixtures/jira_user_added_to_group.json"),
            Mapper::Jira,
            300_603,
            vec![("/group/name", json!("jira-software-users")), ("/user/name", json!("hana.hire"))],
        ),
        (
            include_str!("../fixtures/jira_permission_scheme_updated.json"),
            Mapper::Jira,
            300_403,
            vec![
                ("/entity/name", json!("Default software scheme")),
                ("/entity/type", json!("PERMISSION_SCHEME")),
                ("/time", json!(1_741_104_420_000_i64)),
                ("/unmapped/remoteAddress", json!("not-an-ip")),
            ],
        ),
        (
            include_str!("../fixtures/confluence_user_added_to_group.json"),
            Mapper::Confluence,
            300_603,
            vec![
                ("/metadata/product/name", json!("Confluence")),
                ("/group/name", json!("confluence-users")),
                ("/user/name", json!("jules")),
                ("/actor/user/uid", json!("5c0c0c0c0c0c0c0c0c0c0c0c")),
                ("/actor/user/name", json!("ivy")),
                ("/time", json!(1_741_097_400_123_i64)),
                ("/unmapped/sysAdmin", json!(false)),
            ],
        ),
        (
            include_str!("../fixtures/confluence_space_created.json"),
            Mapper::Confluence,
            300_401,
            vec![
                ("/entity/name", json!("Team Notes")),
                ("/entity/type", json!("Space")),
                ("/message", json!("Space Team Notes created")),
                ("/actor/user/name", json!("Unknown user")),
            ],
        ),
    ];
    for (fixture, mapper, type_uid, fields) in cases {
        let event = map(&mapper, fixture);
        assert_eq!(event["type_uid"], json!(type_uid), "{fixture}");
        for (pointer, expected) in fields {
            let found = event.pointer(pointer).cloned().unwrap_or(Value::Null);
            assert_eq!(found, expected, "{pointer} in {event:#}");
        }
    }
}

#[test]
fn confluence_ids_are_stable_and_differ_by_site_and_content() {
    let record: Value =
        serde_json::from_str(include_str!("../fixtures/confluence_space_created.json")).unwrap();
    let (id, time) = confluence_position(&record, SITE);
    assert_eq!(id.len(), 32);
    assert_eq!(time, Some(1_741_097_500_000));
    // Key order does not matter; the site and the content do.
    let reordered: Value = serde_json::from_str(
        r#"{"associatedObjects":[],"summary":"Space created","category":"Spaces","description":"Space Team Notes created","creationDate":1741097500000,"author":{"publicName":"Unknown user","type":"user","displayName":"System","operations":null,"isExternalCollaborator":false,"accountType":"","externalCollaborator":false},"remoteAddress":"","sysAdmin":true,"superAdmin":false,"affectedObject":{"objectType":"Space","name":"Team Notes"},"changedValues":[{"newValue":"TN","name":"Key","oldValue":"","hiddenOldValue":"","hiddenNewValue":""}]}"#,
    )
    .unwrap();
    assert_eq!(confluence_position(&reordered, SITE).0, id);
    assert_ne!(confluence_position(&record, "other.atlassian.net").0, id);
    let mut changed = record.clone();
    changed["summary"] = json!("Space deleted");
    assert_ne!(confluence_position(&changed, SITE).0, id);
    let event = map(&Mapper::Confluence, include_str!("../fixtures/confluence_space_created.json"));
    assert_eq!(event["metadata"]["uid"], json!(id));
}

#[test]
fn times_parse_in_every_atlassian_form() {
    let cases = [
        ("2025-03-04T14:05:06.789+0000", Some(1_741_097_106_789)),
        ("2025-03-04T14:05:06.789-0130", Some(1_741_102_506_789)),
        ("2025-03-04T14:05:06Z", Some(1_741_097_106_000)),
        ("2025-03-04T14:05:06.789+00:00", Some(1_741_097_106_789)),
        ("2025-03-04 14:05:06", None),
        ("+0000", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_atlassian_time(text), expected, "{text}");
    }
}

#[test]
fn records_without_id_or_time_are_errors_naming_the_field() {
    let cases: &[(Mapper, &str, &str)] = &[
        (Mapper::Org, r#"{"attributes":{"time":"2025-03-04T08:15:30Z"}}"#, "id"),
        (Mapper::Org, r#"{"id":"e1","attributes":{"time":"yesterday"}}"#, "attributes.time"),
        (Mapper::Org, r#"{"id":"e1"}"#, "attributes"),
        (Mapper::Jira, r#"{"summary":"x","created":"2025-03-04T14:05:06.789+0000"}"#, "id"),
        (Mapper::Jira, r#"{"id":5,"summary":"x"}"#, "created"),
        (Mapper::Confluence, r#"{"summary":"x"}"#, "creationDate"),
        (Mapper::Org, "[1,2]", "not a JSON object"),
    ];
    for (mapper, json, field) in cases {
        let error = match mapper {
            Mapper::Org => map_org_event(json, ORG, false).err(),
            Mapper::Jira => map_jira_record(json, SITE, false).err(),
            Mapper::Confluence => map_confluence_record(json, SITE, false).err(),
        }
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains(field), "{json}: {error}");
    }
}

#[test]
fn include_raw_copies_the_record() {
    let json = include_str!("../fixtures/org_user_login.json");
    let event = map_org_event(json, ORG, true).unwrap();
    assert_eq!(event.raw_data.as_deref(), Some(json));
    assert_eq!(map_org_event(json, ORG, false).unwrap().raw_data, None);
}
