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

/// Asserts the event's `type_uid` and the value at each JSON pointer (`Null`: absent).
fn assert_event(event: &Value, type_uid: u64, fields: Vec<(&str, Value)>) {
    assert_eq!(event["type_uid"], json!(type_uid), "{event:#}");
    for (pointer, expected) in fields {
        let found = event.pointer(pointer).cloned().unwrap_or(Value::Null);
        assert_eq!(found, expected, "{pointer} in {event:#}");
    }
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
            // An admin revokes a token whose owner the record does not name: the owner is not
            // the actor, so the event is API Activity (Delete) on the action, with no `user`.
            include_str!("../fixtures/org_api_token_revoked_by_admin.json"),
            Mapper::Org,
            600_304,
            vec![
                ("/actor/user/name", json!("Ada Admin")),
                ("/api/operation", json!("api_token_revoked")),
                ("/user", Value::Null),
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
            // No location: not API Activity with a made-up source, a read of the organization.
            300_402,
            vec![
                ("/metadata/event_code", json!("audit_log_exported")),
                ("/entity/uid", json!(ORG)),
                ("/entity/name", json!("Example Corp")),
                ("/entity/type", json!("orgs")),
                ("/entity/type_id", json!(4)),
                ("/actor/user/name", json!("Cy Admin")),
                ("/api", Value::Null),
                ("/src_endpoint", Value::Null),
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
                ("/actor/user/uid_alt", json!("admin")),
                ("/actor/user/name", Value::Null),
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
                ("/actor/user/name", json!("Ivy Admin")),
                ("/unmapped/author.username", json!("ivy")),
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
                // The System author, not a user named "Unknown user".
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
            ],
        ),
    ];
    for (fixture, mapper, type_uid, fields) in cases {
        assert_event(&map(&mapper, fixture), type_uid, fields);
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

/// Published records (fixtures/published, listed in fixtures/SOURCES.md): for each, the class and
/// activity, status, time, actor (name, uid, type), subject and source IP the record states, and
/// nothing it does not state (`Null`: the field is absent).
#[test]
fn published_records_map_to_what_they_say() {
    let n = Value::Null;
    let cases: Vec<Case> = vec![
        (
            include_str!("../fixtures/published/org_user_login.json"),
            Mapper::Org,
            300_201,
            vec![
                ("/status", json!("Success")),
                ("/time", json!(1_779_184_800_000_i64)),
                ("/metadata/logged_time", json!(1_779_184_801_000_i64)),
                ("/actor/user/name", json!("Alice Johnson")),
                ("/actor/user/uid", json!("712020:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")),
                ("/actor/user/email_addr", json!("alice.johnson@example.com")),
                ("/actor/app_name", n.clone()),
                ("/user/name", json!("Alice Johnson")),
                ("/src_endpoint/ip", json!("198.51.100.10")),
                (
                    "/src_endpoint/location",
                    json!({"city": "Example City", "region": "Example Region", "continent": "NA", "desc": "Example Country"}),
                ),
            ],
        ),
        (
            include_str!("../fixtures/published/org_user_login_failed.json"),
            Mapper::Org,
            300_201,
            vec![
                ("/status", json!("Failure")),
                ("/time", json!(1_779_185_700_000_i64)),
                ("/actor/user/uid", json!("712020:99999999-9999-9999-9999-999999999999")),
                ("/user/name", json!("Unknown User")),
                ("/user/email_addr", json!("unknown@example.com")),
                ("/src_endpoint/ip", json!("198.51.100.99")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_user_logged_in_as_user.json"),
            Mapper::Org,
            300_207,
            vec![
                ("/status", json!("Success")),
                ("/time", json!(1_671_064_515_890_i64)),
                ("/actor/user/name", json!("Example Admin")),
                ("/actor/user/uid", json!("1234567890abcdefghijklmn")),
                ("/actor/user/email_addr", json!("example.admin@example.com")),
                // The impersonated user, not the admin.
                ("/user/name", json!("example.user@example.io")),
                ("/user/email_addr", json!("example.user@example.io")),
                ("/user/uid", n.clone()),
                ("/src_endpoint", n.clone()),
                ("/metadata/logged_time", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/org_api_token_created.json"),
            Mapper::Org,
            300_199,
            vec![
                ("/status", n.clone()),
                ("/time", json!(1_779_185_400_000_i64)),
                ("/actor/user/name", json!("Frank Nguyen")),
                ("/actor/user/credential_uid", json!("token-00000001")),
                ("/user/uid", json!("712020:ffffffff-ffff-ffff-ffff-ffffffffffff")),
                ("/src_endpoint/ip", json!("198.51.100.30")),
                ("/unmapped/actor.auth.tokenLabel", json!("Example API Token")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_marketplace_app_installed.json"),
            Mapper::Org,
            300_401,
            vec![
                ("/status", n.clone()),
                ("/time", json!(1_777_894_215_750_i64)),
                ("/actor/user/name", json!("Eve Martinez")),
                ("/actor/user/uid", json!("712020:eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee")),
                ("/entity/uid", json!("ffeeddcc-bbaa-9988-7766-554433221100")),
                ("/entity/name", json!("Example Time Tracking Helper")),
                ("/entity/type", json!("apps")),
                ("/src_endpoint/ip", json!("198.51.100.50")),
                ("/unmapped/message.format", json!("text/plain")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_org_settings_update.json"),
            Mapper::Org,
            300_403,
            vec![
                ("/time", json!(1_779_198_644_742_i64)),
                ("/actor/user/name", json!("Carol Davis")),
                ("/actor/user/uid", json!("712020:cccccccc-cccc-cccc-cccc-cccccccccccc")),
                ("/entity/uid", json!("00000000-0000-0000-0000-000000000001")),
                ("/entity/name", json!("Example Corp")),
                ("/entity/type_id", json!(4)),
                ("/src_endpoint/ip", json!("192.0.2.10")),
                ("/unmapped/container/0/attributes/settingName", json!("AuthenticationPolicy")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_data_classification_policy_update.json"),
            Mapper::Org,
            300_403,
            vec![
                ("/time", json!(1_779_199_200_000_i64)),
                ("/actor/user/name", json!("Grace Park")),
                ("/actor/user/uid", json!("712020:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")),
                // The policy the action names, not the organization that holds it.
                ("/entity/name", json!("data classification policy")),
                ("/entity/type_id", json!(5)),
                ("/entity/uid", n.clone()),
                ("/src_endpoint/ip", json!("192.0.2.20")),
                ("/unmapped/container/0/type", json!("orgs")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_organization_users_viewed.json"),
            Mapper::Org,
            300_402,
            vec![
                ("/time", json!(1_779_184_860_000_i64)),
                ("/actor/user/name", json!("Bob Smith")),
                ("/actor/user/uid", json!("712020:bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")),
                ("/entity/name", json!("organization users")),
                ("/entity/type_id", json!(4)),
                ("/src_endpoint/ip", json!("198.51.100.11")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_user_invitation_sent.json"),
            Mapper::Org,
            600_301,
            vec![
                ("/time", json!(1_779_188_400_000_i64)),
                ("/api/operation", json!("user_invitation_sent")),
                ("/actor/user/name", json!("Bob Smith")),
                ("/actor/user/uid", json!("712020:bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb")),
                ("/resources/0/uid", json!("00000000-0000-0000-0000-000000000003")),
                ("/resources/0/type", json!("invited-user")),
                ("/resources/0/data/email", json!("carol.davis@example.com")),
                ("/resources/1/name", json!("Example Corp")),
                ("/src_endpoint/ip", json!("203.0.113.10")),
            ],
        ),
        (
            include_str!("../fixtures/published/org_app_actor_geo_only.json"),
            Mapper::Org,
            // No address: Entity Management of the site, which the removal changed (Update).
            300_403,
            vec![
                ("/time", json!(1_779_186_226_830_i64)),
                // An app, not a user named "Confluence" with the e-mail "Atlassian app".
                ("/actor/app_name", json!("Confluence")),
                ("/actor/app_uid", json!("confluence")),
                ("/actor/user", n.clone()),
                ("/unmapped/actor.email", json!("Atlassian app")),
                ("/entity/uid", json!("88888888-8888-8888-8888-888888888888")),
                ("/entity/name", json!("example-corp")),
                ("/entity/type", json!("sites")),
                ("/api", n.clone()),
                ("/src_endpoint", n.clone()),
                // The location is kept although it has no address.
                ("/unmapped/location/continent", json!("EU")),
                ("/src_endpoint/ip", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_project_deleted.json"),
            Mapper::Jira,
            300_404,
            vec![
                ("/time", json!(1_643_014_085_645_i64)),
                ("/status", n.clone()),
                ("/actor", n.clone()),
                ("/entity/uid", json!("10000")),
                ("/entity/name", json!("Test")),
                ("/entity/type", json!("PROJECT")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_project_role_deleted.json"),
            Mapper::Jira,
            300_404,
            vec![
                ("/time", json!(1_643_014_083_355_i64)),
                ("/actor", n.clone()),
                // A role is an entity: no user whose privileges were revoked.
                ("/user", n.clone()),
                ("/privileges", n.clone()),
                ("/entity/uid", json!("10006")),
                ("/entity/name", json!("Viewer")),
                ("/entity/type", json!("PROJECT_ROLE")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_permission_scheme_deleted.json"),
            Mapper::Jira,
            300_404,
            vec![
                ("/time", json!(1_643_014_083_223_i64)),
                ("/actor", n.clone()),
                ("/entity/name", json!("TEST: Simplified Permission Scheme")),
                ("/entity/type", json!("SCHEME")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_user_added_to_group.json"),
            Mapper::Jira,
            300_603,
            vec![
                ("/time", json!(1_642_495_382_838_i64)),
                ("/actor", n.clone()),
                ("/group/name", json!("jira-software-users")),
                ("/group/uid", n.clone()),
                ("/user/uid", json!("ug:2281b112-0f77-4305-b779-66d30930eb83")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_user_created_no_author.json"),
            Mapper::Jira,
            300_101,
            vec![
                ("/time", json!(1_642_495_382_602_i64)),
                ("/actor", n.clone()),
                ("/user/uid", json!("ug:2281b112-0f77-4305-b779-66d30930eb83")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_password_changed.json"),
            Mapper::Jira,
            300_103,
            vec![
                ("/time", json!(1_641_818_681_065_i64)),
                ("/actor", n.clone()),
                (
                    "/user/uid",
                    json!("qm:698d24b2-838f-4c47-8c05-d125e44bc6ae:41e9b5da-f312-4943-807c-02b484a1c682"),
                ),
                ("/src_endpoint/ip", json!("81.2.69.193")),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_workflow_updated.json"),
            Mapper::Jira,
            300_403,
            vec![
                ("/time", json!(1_641_462_547_418_i64)),
                ("/actor/user/uid", json!("5ff328f2a9d0300107c045a6")),
                ("/actor/user/uid_alt", json!("ug:0613fc34-a1b3-4137-b06e-fd92c3094033")),
                ("/actor/user/name", n.clone()),
                ("/entity/name", json!("Software workflow for project 10018")),
                ("/entity/type", json!("WORKFLOW")),
                ("/src_endpoint/ip", json!("10.83.76.139")),
            ],
        ),
        (
            include_str!("../fixtures/published/jira_request_type_deleted.json"),
            Mapper::Jira,
            300_404,
            vec![
                ("/time", json!(1_638_896_208_122_i64)),
                ("/actor/user/uid", json!("5e72548417c6640c385f2a16")),
                // The request type the summary names, not the project it belonged to.
                ("/entity/uid", json!("89")),
                ("/entity/name", json!("Set up VPN to the office")),
                ("/entity/type", json!("Request type")),
                ("/entity/type_id", json!(99)),
                ("/unmapped/objectItem/name", json!("Change Control")),
                ("/src_endpoint/ip", json!("81.2.69.193")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_space_created.json"),
            Mapper::Confluence,
            300_401,
            vec![
                ("/time", json!(1_643_096_679_092_i64)),
                ("/actor/user/name", json!("John Jacobs")),
                ("/actor/user/uid", json!("df856b17d84fcf010f11fcfcc6be4267")),
                ("/actor/user/type_id", json!(1)),
                ("/unmapped/author.publicName", json!("Unknown user")),
                ("/unmapped/author.userKey", json!("26971c016361d1f6a3eb8f62461f1e4e")),
                ("/entity/name", json!("Service Catalogue")),
                ("/entity/type", json!("Space")),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_user_added_to_group_by_system.json"),
            Mapper::Confluence,
            300_603,
            vec![
                ("/time", json!(1_642_495_383_045_i64)),
                // The System author is the system, not a user named "Unknown user".
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
                ("/actor/user/uid", n.clone()),
                ("/group/name", json!("jira-software-users")),
                ("/group/uid", json!("b8d81944-e737-4da0-94ca-165fa5c0635c")),
                ("/user/name", json!("ASP")),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_user_created_by_system.json"),
            Mapper::Confluence,
            300_101,
            vec![
                ("/time", json!(1_642_495_382_767_i64)),
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
                ("/user/name", json!("ASP")),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_group_created.json"),
            Mapper::Confluence,
            300_606,
            vec![
                ("/time", json!(1_641_292_021_947_i64)),
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
                ("/group/name", json!("Detect & Response - Change Approvals")),
                ("/group/uid", json!("12e51e32-77ee-45ef-a643-55d4c7f6327c")),
                ("/user", n.clone()),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_user_details_updated.json"),
            Mapper::Confluence,
            300_199,
            vec![
                ("/time", json!(1_637_164_837_285_i64)),
                ("/actor/user/name", json!("System")),
                ("/user/name", json!("John Doe (Unlicensed)")),
                ("/unmapped/changedValues/0/newValue", json!("No")),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_user_deactivated_empty_object.json"),
            Mapper::Confluence,
            600_303,
            vec![
                ("/time", json!(1_637_164_837_274_i64)),
                ("/api/operation", json!("User deactivated")),
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
                // The record does not say who was deactivated: no user, least of all the actor.
                ("/user", n.clone()),
                ("/resources", n.clone()),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
        (
            include_str!("../fixtures/published/confluence_page_archived.json"),
            Mapper::Confluence,
            300_403,
            vec![
                ("/time", json!(1_637_073_322_812_i64)),
                ("/actor/user/name", json!("John Doe")),
                ("/actor/user/uid", json!("e6dd7842c44d594c024fc7129c1e4e49")),
                ("/entity/name", json!("KB Articles to be Approved")),
                ("/entity/type", json!("Page")),
                ("/src_endpoint/ip", json!("81.2.69.143")),
            ],
        ),
    ];
    for (fixture, mapper, type_uid, fields) in cases {
        assert_event(&map(&mapper, fixture), type_uid, fields);
    }
}

#[test]
fn the_jira_api_reference_page_maps_its_record() {
    let api = super::super::jira::JiraAuditApi::offline(
        &url::Url::parse("https://example-corp.atlassian.net").unwrap(),
        SITE,
    );
    use crate::poller::{PageItem, StreamApi};
    let page =
        api.parse_page(include_bytes!("../fixtures/published/jira_page_api_reference.json"), None).unwrap();
    let [PageItem::Record(record)] = page.items.as_slice() else { panic!("{page:?}") };
    let event = map(&Mapper::Jira, &record.json);
    let expected = [
        ("/type_uid", json!(300_101)),
        ("/time", json!(1_395_254_742_967_i64)),
        ("/status", Value::Null),
        ("/actor/user/uid", json!("5ab8f18d741e9c2c7e9d4538")),
        ("/actor/user/uid_alt", json!("administrator")),
        ("/user/uid", json!("user")),
        ("/user/name", json!("user")),
        ("/src_endpoint/ip", json!("192.168.1.1")),
        ("/message", json!("Optional description")),
        ("/unmapped/eventSource", json!("Jira Connect Plugin")),
    ];
    for (pointer, value) in expected {
        assert_eq!(event.pointer(pointer).cloned().unwrap_or(Value::Null), value, "{pointer} in {event:#}");
    }
}

#[test]
fn pretty_printed_records_keep_raw_data_on_one_line() {
    let json = include_str!("../fixtures/published/org_user_logged_in_as_user.json");
    assert!(json.trim().contains('\n'));
    let event = map_org_event(json, ORG, true).unwrap();
    let raw = event.raw_data.unwrap();
    assert!(!raw.contains('\n'));
    assert_eq!(serde_json::from_str::<Value>(&raw).unwrap(), serde_json::from_str::<Value>(json).unwrap());
}

/// Maps a record and asserts it carries no placeholder (issue 13's rule).
fn map_honestly(mapper: &Mapper, json: &str) -> Value {
    let event = map(mapper, json);
    let found = validate::placeholders(&event, &serde_json::from_str(json).unwrap());
    assert!(found.is_empty(), "{found:?} in {event:#}");
    event
}

/// Every record of every fixture (pages split into their records), ours and published: no
/// "Unknown" actor, endpoint, subject or operation, no zero GUID; only what the record states.
#[test]
fn no_event_carries_a_placeholder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources/atlassian/fixtures");
    let mut files: Vec<_> = [dir.clone(), dir.join("published")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 40, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mapper = match name.split('_').next() {
            Some("org") => Mapper::Org,
            Some("jira") => Mapper::Jira,
            Some("confluence") => Mapper::Confluence,
            _ => panic!("{name}: which product?"),
        };
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let records = match ["data", "records", "results"].iter().find_map(|k| value.get(*k)) {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![value],
        };
        for record in records {
            map_honestly(&mapper, &record.to_string());
        }
    }
}

/// (mapper, record, type_uid, [(JSON pointer, expected value)])
type RecordCase<'a> = (Mapper, &'a str, u64, Vec<(&'static str, Value)>);

/// Records that lack what API Activity requires (an actor, a source address, an action) are
/// Entity Management of the object they name, with only the actor and source they state; a
/// record that names nothing is about its product, activity Other.
#[test]
fn records_without_actor_or_address_are_changes_of_the_object_they_name() {
    let n = Value::Null;
    let published = include_str!("../fixtures/published/jira_custom_email_channel_turned_on.json");
    let mut anonymous: Value = serde_json::from_str(published).unwrap();
    // The same record as most real ones come: no author either.
    anonymous.as_object_mut().unwrap().retain(|k, _| !k.starts_with("author"));
    let anonymous = anonymous.to_string();
    let cases: Vec<RecordCase> = vec![
        (
            Mapper::Jira,
            published,
            300_499,
            vec![
                ("/time", json!(1_638_894_578_789_i64)),
                ("/metadata/event_code", json!("Custom email channel turned on")),
                ("/actor/user/uid", json!("5e72548417c6640c385f2a16")),
                ("/entity/uid", json!("10022")),
                ("/entity/name", json!("Change Control")),
                ("/entity/type", json!("PROJECT")),
                ("/status", n.clone()),
                ("/src_endpoint", n.clone()),
                ("/api", n.clone()),
                ("/unmapped/objectItem/typeName", json!("PROJECT")),
            ],
        ),
        (
            Mapper::Jira,
            &anonymous,
            300_499,
            vec![
                ("/actor", n.clone()),
                ("/entity/name", json!("Change Control")),
                ("/src_endpoint", n.clone()),
            ],
        ),
        (
            Mapper::Confluence,
            include_str!("../fixtures/confluence_restrictions_removed_no_address.json"),
            300_403,
            vec![
                ("/time", json!(1_741_100_000_000_i64)),
                ("/actor/user/name", json!("System")),
                ("/actor/user/type_id", json!(3)),
                // Restrictions removed from the page: the page changed, it was not deleted.
                ("/entity/name", json!("Design notes")),
                ("/entity/type", json!("Page")),
                ("/src_endpoint", n.clone()),
                ("/api", n.clone()),
            ],
        ),
        (
            Mapper::Jira,
            r#"{"id":1,"summary":"Custom email channel turned on","created":"2021-12-07T16:29:38.789+0000"}"#,
            300_499,
            vec![
                ("/entity/name", json!("Jira")),
                ("/entity/type", json!("product")),
                ("/actor", n.clone()),
                ("/message", json!("Custom email channel turned on")),
            ],
        ),
        (
            Mapper::Jira,
            r#"{"id":2,"summary":"Issue type deleted","created":"2021-12-07T16:29:38.789+0000"}"#,
            // The verb is not the product's: Jira was not deleted.
            300_499,
            vec![("/entity/name", json!("Jira")), ("/metadata/event_code", json!("Issue type deleted"))],
        ),
        (
            Mapper::Jira,
            r#"{"id":3,"created":"2021-12-07T16:29:38.789+0000","remoteAddress":"192.0.2.1","authorAccountId":"abc"}"#,
            // No summary: no operation to report, no event code, no message.
            300_499,
            vec![
                ("/metadata/event_code", n.clone()),
                ("/message", n.clone()),
                ("/actor/user/uid", json!("abc")),
                ("/src_endpoint/ip", json!("192.0.2.1")),
            ],
        ),
        (
            Mapper::Confluence,
            r#"{"creationDate":1741100000000,"summary":"Content restrictions removed","author":{"accountId":"5c0c","displayName":"Ivy Admin","type":"user"},"remoteAddress":"192.0.2.9","affectedObject":{"name":"Design notes","objectType":"Page"}}"#,
            // An actor and an address: API Activity stays.
            600_304,
            vec![
                ("/api/operation", json!("Content restrictions removed")),
                ("/src_endpoint/ip", json!("192.0.2.9")),
            ],
        ),
    ];
    for (mapper, json, type_uid, fields) in cases {
        assert_event(&map_honestly(&mapper, json), type_uid, fields);
    }
}
