//! The published CloudTrail records in `fixtures/published/` (listed with their origin in
//! `fixtures/published/SOURCES.md`), each mapped and held against what its event must say.

use serde_json::{json, Value};

use super::convert::Converter;
use super::mapping::{map_record, MapOptions};
use super::reader::{RawRecord, RecordReader};
use crate::event::OutputFormat;
use crate::ocsf::validate::validate;

/// One published record and what its event must say.
struct Published {
    fixture: &'static str,
    record: &'static str,
    class_uid: u64,
    activity_id: u64,
    status_id: u64,
    /// `eventTime` in ms since the epoch.
    time: i64,
    /// `actor.user` as (name, uid, type); `None` when the event has no actor user.
    actor: Option<(Option<&'static str>, Option<&'static str>, &'static str)>,
    src_ip: &'static str,
    /// JSON pointer → expected value (the subject, credentials, what stays unmapped).
    expect: Vec<(&'static str, Value)>,
    /// JSON pointers that must be absent.
    absent: Vec<&'static str>,
}

macro_rules! published {
    ($name:literal) => {
        ($name, include_str!(concat!("fixtures/published/", $name)))
    };
}

const IDC_USER: &str = "94d00cd8-e9e6-4810-b177-b08e84725435";
const IDC_STORE: &str = "arn:aws:identitystore::111122223333:identitystore/d-1234567890";
const IDC_CREDENTIAL: &str = "8f761cae-883d-4a3d-af67-3abf46488f71";

fn corpus() -> Vec<Published> {
    let case = |(fixture, record): (&'static str, &'static str),
                class_uid,
                activity_id,
                status_id,
                time,
                actor,
                src_ip,
                expect,
                absent| Published {
        fixture,
        record,
        class_uid,
        activity_id,
        status_id,
        time,
        actor,
        src_ip,
        expect,
        absent,
    };
    vec![
        case(
            published!("identity_center_credential_challenge.json"),
            3002,
            6,
            1,
            1_607_373_238_000,
            Some((Some("bobsmith@example.com"), Some(IDC_USER), "IdentityCenterUser")),
            "203.0.113.0",
            vec![
                ("/user/name", json!("bobsmith@example.com")),
                ("/user/uid", json!(IDC_USER)),
                ("/user/domain", json!(IDC_STORE)),
                ("/user/credential_uid", json!(IDC_CREDENTIAL)),
                ("/actor/user/type_id", json!(1)),
                ("/actor/user/domain", json!(IDC_STORE)),
                ("/actor/user/credential_uid", json!(IDC_CREDENTIAL)),
                ("/service/name", json!("signin.amazonaws.com")),
                ("/unmapped/additionalEventData/CredentialType", json!("PASSWORD")),
                (
                    "/unmapped/additionalEventData/AuthWorkflowID",
                    json!("9de74b32-8362-4a01-a524-de21df59fd83"),
                ),
            ],
            vec![
                "/unmapped/additionalEventData/UserName",
                "/unmapped/serviceEventDetails",
                "/unmapped/userIdentity/onBehalfOf",
                "/unmapped/userIdentity/credentialId",
                "/actor/user/uid_alt",
            ],
        ),
        case(
            published!("identity_center_credential_verification_success.json"),
            3002,
            6,
            1,
            1_607_373_249_000,
            // The record names the user by id only.
            Some((None, Some(IDC_USER), "IdentityCenterUser")),
            "203.0.113.0",
            vec![("/user/uid", json!(IDC_USER)), ("/api/operation", json!("CredentialVerification"))],
            vec!["/user/name", "/unmapped/serviceEventDetails"],
        ),
        case(
            published!("identity_center_user_authentication_external_idp.json"),
            3002,
            1,
            1,
            1_607_373_249_000,
            Some((Some("bobsmith@example.com"), Some(IDC_USER), "IdentityCenterUser")),
            "203.0.113.0",
            vec![
                ("/user/name", json!("bobsmith@example.com")),
                ("/user/uid", json!(IDC_USER)),
                ("/unmapped/additionalEventData/CredentialType", json!("EXTERNAL_IDP")),
                ("/observables/0/name", json!("actor.user.name")),
                ("/observables/1/name", json!("user.name")),
                ("/observables/1/value", json!("bobsmith@example.com")),
            ],
            vec!["/unmapped/serviceEventDetails"],
        ),
        case(
            published!("identity_center_failed_sign_in_challenge.json"),
            3002,
            6,
            // The challenge was issued: the sign-in fails at the verification that follows.
            1,
            1_607_453_775_000,
            Some((Some("bobsmith@example.com"), None, "Unknown")),
            "203.0.113.0",
            vec![
                ("/user/name", json!("bobsmith@example.com")),
                ("/user/account/uid", json!("111122223333")),
                ("/actor/user/type_id", json!(0)),
            ],
            vec!["/user/uid"],
        ),
        case(
            published!("identity_center_failed_sign_in_verification.json"),
            3002,
            6,
            2,
            1_607_453_781_000,
            // Known by its account only: no name, no id.
            Some((None, None, "Unknown")),
            "203.0.113.0",
            vec![("/status", json!("Failure")), ("/user/account/uid", json!("111122223333"))],
            vec!["/user/name", "/user/uid", "/unmapped/serviceEventDetails"],
        ),
        case(
            published!("sso_legacy_credential_verification_failure.json"),
            3002,
            6,
            2,
            1_607_453_781_000,
            Some((Some("user1"), None, "Unknown")),
            "203.0.113.0",
            vec![("/user/name", json!("user1")), ("/actor/user/uid_alt", json!("111122223333"))],
            vec!["/user/uid"],
        ),
        case(
            published!("identity_center_create_token.json"),
            6003,
            1,
            1,
            1_592_271_075_000,
            Some((None, Some("94d00cd8-e9e6-4810-b177-b08e84775435"), "IdentityCenterUser")),
            "203.0.113.0",
            vec![
                ("/actor/user/domain", json!(IDC_STORE)),
                ("/actor/user/credential_uid", json!("cdee2490-82ed-43b3-96ee-b75fbf0b97a5")),
                ("/api/service/name", json!("sso.amazonaws.com")),
                // The record has no requestID, which `api.request` needs.
                (
                    "/unmapped/requestParameters/grantType",
                    json!("urn:ietf:params:oauth:grant-type:device_code"),
                ),
                ("/api/response/data/expiresIn", json!(28800)),
                ("/resources/0/uid", json!("d-1234567890")),
                ("/resources/0/type", json!("IdentityStoreId")),
            ],
            vec!["/user", "/unmapped/userIdentity", "/api/request"],
        ),
        case(
            published!("root_password_updated_failure.json"),
            3001,
            3,
            2,
            1_546_300_800_000,
            Some((None, Some("arn:aws:iam::123456789012:root"), "Root")),
            "111.111.111.111",
            vec![
                ("/status", json!("Failure")),
                ("/user/uid", json!("arn:aws:iam::123456789012:root")),
                ("/user/type_id", json!(2)),
                ("/api/response/data/PasswordUpdated", json!("Failure")),
                ("/metadata/event_code", json!("AwsConsoleSignIn")),
                // Kept as published, typo and all.
                ("/unmapped/userIdentity/accesKeyId", json!("1111")),
            ],
            vec!["/user/credential_uid"],
        ),
        case(
            published!("root_password_updated_success.json"),
            3001,
            3,
            1,
            1_546_300_800_000,
            Some((None, Some("arn:aws:iam::123456789012:root"), "Root")),
            "111.111.111.111",
            vec![("/user/uid", json!("arn:aws:iam::123456789012:root"))],
            vec![],
        ),
        case(
            published!("iam_upload_ssh_public_key.json"),
            3001,
            99,
            1,
            1_678_809_910_000,
            Some((Some("Alice"), Some("arn:aws:iam::123456789012:user/Alice"), "IAMUser")),
            "198.51.100.7",
            vec![
                ("/user/name", json!("Bob")),
                ("/user/type", json!("IAMUser")),
                ("/user/credential_uid", json!("APKAEIBAERJR2EXAMPLE")),
                ("/api/operation", json!("UploadSSHPublicKey")),
                ("/api/response/data/sSHPublicKey/status", json!("Active")),
            ],
            vec!["/user/uid"],
        ),
    ]
}

#[test]
fn published_records_map_to_what_they_say() {
    for case in corpus() {
        let event = map_record(case.record, &MapOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.fixture));
        let value = serde_json::to_value(&event).unwrap();
        let name = case.fixture;
        if let Err(errors) = validate(&value) {
            panic!("{name}: not valid OCSF: {errors:?}");
        }
        assert_eq!(value["class_uid"], case.class_uid, "{name}: class");
        assert_eq!(value["activity_id"], case.activity_id, "{name}: activity");
        assert_eq!(value["status_id"], case.status_id, "{name}: status");
        assert_eq!(value["time"], case.time, "{name}: time");
        assert_eq!(value["src_endpoint"]["ip"], case.src_ip, "{name}: source IP");
        match case.actor {
            Some((actor_name, uid, type_)) => {
                let user = &value["actor"]["user"];
                assert_eq!(user.get("name").and_then(Value::as_str), actor_name, "{name}: actor name");
                assert_eq!(user.get("uid").and_then(Value::as_str), uid, "{name}: actor uid");
                assert_eq!(user["type"], type_, "{name}: actor type");
            }
            None => assert_eq!(value["actor"].get("user"), None, "{name}: actor user"),
        }
        for (pointer, want) in &case.expect {
            assert_eq!(value.pointer(pointer), Some(want), "{name}: {pointer}");
        }
        for pointer in &case.absent {
            assert_eq!(value.pointer(pointer), None, "{name}: {pointer} must be absent");
        }
    }
}

/// Events of every record in a CloudTrail log file read through the real reader, one JSON text each.
async fn normalize(file: &'static str, include_raw: bool) -> Vec<String> {
    let converter = Converter::new(OutputFormat::Ocsf, include_raw);
    let mut reader =
        RecordReader::open(std::io::Cursor::new(file.as_bytes()), 1 << 20, 1 << 20).await.unwrap();
    let mut events = Vec::new();
    while let Some((index, record)) = reader.next_record().await.unwrap() {
        let RawRecord::Json(bytes) = record else { panic!("record {index} oversized") };
        events.push(converter.convert(std::str::from_utf8(bytes).unwrap()).unwrap().json);
    }
    events
}

#[tokio::test]
async fn pretty_printed_log_file_gives_one_line_per_event_equal_to_the_compact_file() {
    let pretty = include_str!("fixtures/published/identity_center_log_file_pretty.json");
    let compact = include_str!("fixtures/published/identity_center_log_file_compact.json");
    assert!(pretty.lines().count() > 90, "the fixture is pretty-printed");
    for include_raw in [false, true] {
        let from_pretty = normalize(pretty, include_raw).await;
        let from_compact = normalize(compact, include_raw).await;
        assert_eq!(from_pretty.len(), 3);
        for event in &from_pretty {
            assert!(!event.contains(['\n', '\r']), "an event spans lines: {event}");
            let value: Value = serde_json::from_str(event).unwrap();
            if let Err(errors) = validate(&value) {
                panic!("not valid OCSF: {errors:?}");
            }
        }
        assert_eq!(from_pretty, from_compact, "include_raw={include_raw}");
    }
    // The raw parts really are there, compacted: request and response bodies, unmapped
    // fields, and the record itself.
    let events = normalize(pretty, true).await;
    let token: Value = serde_json::from_str(&events[2]).unwrap();
    assert_eq!(token["unmapped"]["requestParameters"]["clientId"], "clientid1234example");
    assert_eq!(token["unmapped"]["readOnly"], false);
    assert!(events[2].contains(r#""requestParameters":{"clientId":"clientid1234example","clientSecret""#));
    assert!(
        events[2].contains(r#""data":{"accessToken":"HIDDEN_DUE_TO_SECURITY_REASONS","tokenType":"Bearer""#)
    );
    let raw = token["raw_data"].as_str().unwrap();
    assert!(
        raw.starts_with(r#"{"eventVersion":"1.05","userIdentity":{"type":"IdentityCenterUser""#),
        "{raw}"
    );
    assert!(events[0].contains(r#""data":{"permissionSetId":"ps-79a0dde74b95ed05"}"#), "{}", events[0]);
}

/// Every record of every fixture (log files split into their records), ours and published: no
/// "Unknown" actor, endpoint, service, operation or group; only what the record states.
#[test]
fn no_event_carries_a_placeholder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources/cloudtrail/fixtures");
    let mut records = Vec::new();
    for file in [dir.clone(), dir.join("published")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        match value.get("Records").and_then(Value::as_array) {
            Some(inner) => records.extend(inner.iter().map(|r| (file.clone(), r.clone()))),
            None => records.push((file, value)),
        }
    }
    assert!(records.len() >= 25, "{} records", records.len());
    for (file, record) in records {
        let event = map_record(&record.to_string(), &MapOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let event = serde_json::to_value(&event).unwrap();
        let found = crate::ocsf::validate::placeholders(&event, &record);
        assert!(found.is_empty(), "{}: {found:?}", file.display());
        validate(&event).unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
    }
}
