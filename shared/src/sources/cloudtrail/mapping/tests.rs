//! The CloudTrail mapping on each fixture and rule.

use serde_json::{json, Value};

use super::*;
use crate::ocsf::validate::validate;
use crate::ocsf::ApiActivity;

/// One fixture and what its event must contain.
struct Case {
    fixture: &'static str,
    record: &'static str,
    class_uid: u64,
    activity_id: u64,
    /// `status_id`, or `None` when the event must have no status.
    status_id: Option<u64>,
    /// JSON pointer → expected value.
    expect: Vec<(&'static str, Value)>,
    /// JSON pointers that must be absent.
    absent: Vec<&'static str>,
}

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("../fixtures/", $name)))
    };
}

fn case(
    (fixture, record): (&'static str, &'static str),
    class_uid: u64,
    activity_id: u64,
    status_id: Option<u64>,
    expect: Vec<(&'static str, Value)>,
    absent: Vec<&'static str>,
) -> Case {
    Case { fixture, record, class_uid, activity_id, status_id, expect, absent }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            fixture!("console_login_success.json"),
            3002,
            1,
            Some(1),
            vec![
                ("/type_name", json!("Authentication: Logon")),
                ("/user/name", json!("alice")),
                ("/user/uid", json!("arn:aws:iam::123456789012:user/alice")),
                ("/user/uid_alt", json!("AIDAEXAMPLEALICE0001")),
                ("/user/type", json!("IAMUser")),
                ("/user/type_id", json!(1)),
                ("/actor/user/name", json!("alice")),
                ("/is_mfa", json!(true)),
                ("/src_endpoint/ip", json!("198.51.100.23")),
                ("/api/operation", json!("ConsoleLogin")),
                ("/service/name", json!("signin.amazonaws.com")),
                ("/api/response/data/ConsoleLogin", json!("Success")),
                ("/metadata/event_code", json!("AwsConsoleSignIn")),
                ("/metadata/uid", json!("3f1c2a9e-5b7d-4e0a-9c11-2d7a6b8e4f01")),
                ("/metadata/log_name", json!("CloudTrail")),
                ("/unmapped/additionalEventData/MobileVersion", json!("No")),
                ("/unmapped/tlsDetails/tlsVersion", json!("TLSv1.3")),
                ("/unmapped/readOnly", json!(false)),
            ],
            vec!["/unmapped/additionalEventData/MFAUsed", "/api/request", "/raw_data"],
        ),
        case(
            fixture!("console_login_failure.json"),
            3002,
            1,
            Some(2),
            vec![
                ("/status", json!("Failure")),
                ("/user/name", json!("JaneDoe")),
                ("/user/account/uid", json!("111122223333")),
                ("/is_mfa", json!(false)),
                ("/api/response/error_message", json!("Failed authentication")),
                ("/cloud/account/uid", json!("111122223333")),
                ("/cloud/region", json!("us-east-2")),
                ("/metadata/product/version", json!("1.05")),
                ("/metadata/original_time", json!("2014-07-08T17:35:27Z")),
                ("/time", json!(1_404_840_927_000_i64)),
                ("/unmapped/additionalEventData/LoginTo", json!("https://console.aws.amazon.com/sns")),
            ],
            vec!["/metadata/event_code", "/api/response/error", "/unmapped/requestParameters"],
        ),
        case(
            fixture!("assume_role_by_service.json"),
            3002,
            3,
            Some(1),
            vec![
                ("/type_uid", json!(300_203)),
                (
                    "/user/uid",
                    json!("arn:aws:sts::123456789012:assumed-role/web-server-role/i-0a1b2c3d4e5f67890"),
                ),
                ("/user/uid_alt", json!("AROAEXAMPLEROLE00001:i-0a1b2c3d4e5f67890")),
                ("/user/name", json!("i-0a1b2c3d4e5f67890")),
                ("/user/type", json!("AssumedRole")),
                ("/actor/invoked_by", json!("ec2.amazonaws.com")),
                ("/src_endpoint/domain", json!("ec2.amazonaws.com")),
                ("/session/credential_uid", json!("ASIAEXAMPLEKEY000001")),
                ("/session/issuer", json!("arn:aws:iam::123456789012:role/web-server-role")),
                ("/http_request/user_agent", json!("ec2.amazonaws.com")),
                ("/api/request/uid", json!("9b1d6c2e-7f3a-4e8b-a0d4-5c6e7f8a9b0c")),
                ("/api/request/data/roleSessionName", json!("i-0a1b2c3d4e5f67890")),
                ("/metadata/correlation_uid", json!("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")),
                ("/unmapped/resources/0/type", json!("AWS::IAM::Role")),
                ("/unmapped/userIdentity/type", json!("AWSService")),
            ],
            vec!["/actor/user", "/src_endpoint/ip", "/resources", "/auth_protocol_id"],
        ),
        case(
            fixture!("assume_role_with_saml.json"),
            3002,
            3,
            Some(1),
            vec![
                ("/auth_protocol_id", json!(5)),
                ("/auth_protocol", json!("SAML")),
                (
                    "/user/uid",
                    json!("arn:aws:sts::123456789012:assumed-role/Engineering/clara@example.com"),
                ),
                ("/user/name", json!("clara@example.com")),
                ("/actor/user/name", json!("clara@example.com")),
                ("/actor/user/type", json!("SAMLUser")),
                ("/actor/idp/name", json!("Rk9PQkFSRXhhbXBsZUlkUA==")),
                ("/session/credential_uid", json!("ASIAEXAMPLEKEY000002")),
                ("/api/response/data/subject", json!("clara@example.com")),
                ("/src_endpoint/ip", json!("203.0.113.77")),
            ],
            vec!["/actor/user/uid"],
        ),
        case(
            fixture!("iam_create_user.json"),
            3001,
            1,
            Some(1),
            vec![
                ("/type_name", json!("Account Change: Create")),
                ("/user/name", json!("carol")),
                ("/user/uid", json!("arn:aws:iam::123456789012:user/carol")),
                ("/user/uid_alt", json!("AIDAEXAMPLECAROL0001")),
                ("/actor/user/uid", json!("arn:aws:sts::123456789012:assumed-role/Admin/bob")),
                ("/actor/user/name", json!("Admin")),
                ("/actor/user/credential_uid", json!("ASIAEXAMPLEKEY000003")),
                ("/actor/session/issuer", json!("arn:aws:iam::123456789012:role/Admin")),
                ("/actor/session/is_mfa", json!(true)),
                ("/actor/session/created_time", json!(1_709_625_600_000_i64)),
                ("/unmapped/sessionCredentialFromConsole", json!("true")),
                ("/unmapped/userIdentity/sessionContext/sessionIssuer/type", json!("Role")),
                ("/http_request/user_agent", json!("AWS Internal")),
            ],
            vec![
                "/unmapped/userIdentity/sessionContext/webIdFederationData",
                "/unmapped/userIdentity/sessionContext/attributes",
            ],
        ),
        case(
            fixture!("iam_create_access_key.json"),
            3001,
            99,
            Some(1),
            vec![
                ("/user/name", json!("dave")),
                ("/user/credential_uid", json!("AKIAEXAMPLENEWKEY001")),
                ("/actor/user/credential_uid", json!("AKIAEXAMPLEOLDKEY001")),
                ("/api/response/data/accessKey/status", json!("Active")),
            ],
            vec!["/api/request/data"],
        ),
        case(
            fixture!("iam_attach_user_policy.json"),
            3001,
            7,
            Some(1),
            vec![
                ("/activity_name", json!("Attach Policy")),
                ("/user/name", json!("carol")),
                ("/policies/0/uid", json!("arn:aws:iam::aws:policy/AdministratorAccess")),
                ("/actor/session/is_mfa", json!(false)),
            ],
            vec!["/api/response"],
        ),
        case(
            fixture!("iam_add_user_to_group.json"),
            3006,
            3,
            Some(1),
            vec![
                ("/type_name", json!("Group Management: Add User")),
                ("/group/name", json!("developers")),
                ("/user/name", json!("carol")),
                ("/actor/user/name", json!("erin")),
            ],
            vec!["/privileges"],
        ),
        case(
            fixture!("iam_remove_user_from_group.json"),
            3006,
            4,
            Some(1),
            vec![
                ("/group/name", json!("developers")),
                ("/user/name", json!("carol")),
            ],
            vec![],
        ),
        case(
            fixture!("api_access_denied.json"),
            6003,
            2,
            Some(2),
            vec![
                ("/api/response/error", json!("AccessDenied")),
                ("/api/operation", json!("GetSecretValue")),
                ("/api/service/name", json!("secretsmanager.amazonaws.com")),
                ("/actor/user/name", json!("payments-fn-role")),
                ("/cloud/region", json!("us-west-2")),
            ],
            vec!["/user", "/api/request/data", "/api/response/data"],
        ),
        case(
            fixture!("s3_get_object.json"),
            6003,
            2,
            Some(1),
            vec![
                ("/src_endpoint/ip", json!("2001:db8:4f2a::17")),
                ("/resources/0/uid", json!("arn:aws:s3:::example-reports/2024/03/q1-summary.csv")),
                ("/resources/0/type", json!("AWS::S3::Object")),
                ("/resources/1/owner/account/uid", json!("123456789012")),
                ("/metadata/product/feature/name", json!("Data")),
                ("/api/request/data/key", json!("2024/03/q1-summary.csv")),
                ("/unmapped/additionalEventData/bytesTransferredOut", json!(18234)),
                ("/unmapped/managementEvent", json!(false)),
                ("/observables/0/value", json!("frank")),
                ("/observables/1/type_id", json!(2)),
            ],
            vec!["/unmapped/resources", "/resources/0/owner"],
        ),
        case(
            fixture!("ec2_describe_instances.json"),
            6003,
            2,
            Some(1),
            vec![
                ("/type_name", json!("API Activity: Read")),
                ("/actor/user/name", json!("ReadOnly")),
                ("/actor/session/is_mfa", json!(true)),
                ("/api/request/data/maxResults", json!(1000)),
            ],
            vec!["/user"],
        ),
        case(
            fixture!("insight_start.json"),
            6003,
            99,
            None,
            vec![
                ("/api/operation", json!("UpdateInstanceInformation")),
                ("/api/service/name", json!("ssm.amazonaws.com")),
                ("/actor/app_name", json!("CloudTrail Insights")),
                ("/src_endpoint/svc_name", json!("cloudtrail.amazonaws.com")),
                ("/severity_id", json!(3)),
                ("/metadata/log_name", json!("CloudTrail-Insight")),
                ("/metadata/correlation_uid", json!("EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE")),
                ("/metadata/product/feature/name", json!("Insight")),
                (
                    "/message",
                    json!("CloudTrail Insight ApiCallRateInsight Start: ssm.amazonaws.com UpdateInstanceInformation"),
                ),
                ("/unmapped/insightDetails/state", json!("Start")),
                ("/unmapped/insightDetails/insightContext/statistics/insight/average", json!(664)),
            ],
            vec!["/unmapped/insightDetails/eventName", "/unmapped/insightDetails/eventSource", "/status"],
        ),
        case(
            fixture!("insight_end.json"),
            6003,
            99,
            None,
            vec![
                ("/severity_id", json!(1)),
                ("/metadata/correlation_uid", json!("EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE")),
                ("/unmapped/insightDetails/state", json!("End")),
                ("/unmapped/insightDetails/insightContext/statistics/insightDuration", json!(1)),
            ],
            vec![],
        ),
        case(
            fixture!("unknown_fields.json"),
            6003,
            2,
            Some(1),
            vec![
                ("/src_endpoint/name", json!("AWS Internal")),
                ("/src_endpoint/uid", json!("vpce-0a1b2c3d4e5f60789")),
                ("/unmapped/futureField/values/2", json!(3)),
                ("/unmapped/eventContext/requestContext/region", json!("us-east-1")),
                ("/unmapped/vpcEndpointAccountId", json!("123456789012")),
                ("/unmapped/userIdentity/credentialId", json!("EXAMPLECREDENTIAL0001")),
                ("/unmapped/userIdentity/inScopeOf/issuerType", json!("AWS::Lambda::Function")),
                ("/unmapped/userIdentity/sessionContext/sourceIdentity", json!("ci-runner-7")),
                ("/metadata/product/version", json!("1.11")),
            ],
            vec!["/src_endpoint/ip", "/src_endpoint/domain"],
        ),
    ]
}

/// Top-level record fields an OCSF attribute holds: none may also be in `unmapped`
/// (`userIdentity` is split: only its leftovers are, see `MAPPED_IDENTITY`).
const MAPPED: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
];

/// `userIdentity` members `actor` holds.
const MAPPED_IDENTITY: &[&str] = &["arn", "userName", "accountId", "invokedBy", "identityProvider"];

fn map_to_json(record: &str, include_raw: bool) -> Value {
    let event =
        map_record(record, &MapOptions { include_raw }).unwrap_or_else(|e| panic!("mapping failed: {e}"));
    serde_json::to_value(&event).unwrap_or_else(|e| panic!("not serializable: {e}"))
}

fn assert_valid(name: &str, event: &Value) {
    if let Err(errors) = validate(event) {
        panic!("{name}: schema errors:\n{}\nevent: {event:#}", errors.join("\n"));
    }
}

#[test]
fn fixtures_map_to_expected_schema_valid_events() {
    for case in cases() {
        let name = case.fixture;
        let event = map_to_json(case.record, false);
        assert_valid(name, &event);
        assert_eq!(event["class_uid"], case.class_uid, "{name}: class_uid");
        assert_eq!(event["activity_id"], case.activity_id, "{name}: activity_id");
        assert_eq!(event["type_uid"], case.class_uid * 100 + case.activity_id, "{name}: type_uid");
        assert_eq!(event.get("status_id").and_then(Value::as_u64), case.status_id, "{name}");
        assert_eq!(event["metadata"]["version"], "1.8.0", "{name}");
        assert_eq!(event["metadata"]["profiles"], json!(["cloud"]), "{name}");
        assert_eq!(event["metadata"]["product"]["name"], "CloudTrail", "{name}");
        assert_eq!(event["metadata"]["product"]["vendor_name"], "AWS", "{name}");
        assert_eq!(event["cloud"]["provider"], "AWS", "{name}");
        for (pointer, expected) in &case.expect {
            assert_eq!(event.pointer(pointer), Some(expected), "{name}: {pointer} in {event:#}");
        }
        for pointer in &case.absent {
            assert_eq!(event.pointer(pointer), None, "{name}: {pointer} must be absent");
        }
        if let Some(unmapped) = event.get("unmapped").and_then(Value::as_object) {
            for key in MAPPED {
                assert!(!unmapped.contains_key(*key), "{name}: {key} mapped and unmapped");
            }
            if let Some(identity) = unmapped.get("userIdentity").and_then(Value::as_object) {
                for key in MAPPED_IDENTITY {
                    assert!(!identity.contains_key(*key), "{name}: userIdentity.{key} twice");
                }
            }
        }
    }
}

#[test]
fn event_time_becomes_milliseconds_and_original_time_is_kept() {
    let record = r#"{"eventTime":"2024-03-05T09:14:22.123Z","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}}"#;
    let event = map_to_json(record, false);
    assert_valid("millis", &event);
    assert_eq!(event["time"], 1_709_630_062_123_i64);
    assert_eq!(event["metadata"]["original_time"], "2024-03-05T09:14:22.123Z");
    assert_eq!(event["actor"]["user"]["type_id"], 2, "Root is an admin");
}

#[test]
fn include_raw_copies_the_record_only_when_on() {
    let (_, record) = fixture!("iam_create_user.json");
    let with_raw = map_to_json(record, true);
    assert_valid("raw on", &with_raw);
    // The record's text, less the whitespace between tokens (here the file's final newline).
    assert_eq!(with_raw["raw_data"], record.trim_end());
    let without = map_to_json(record, false);
    assert_eq!(without.get("raw_data"), None);
}

#[test]
fn bad_records_are_errors_that_say_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        ("[]", "not a JSON object: found array"),
        (r#""ConsoleLogin""#, "not a JSON object: found string"),
        ("", "found empty input"),
        ("<Records/>", "found not JSON"),
        ("42", "found number"),
        (r#"{"eventTime": "2024-03-05T09:14:22Z""#, "not valid"),
        (r#"{"eventTime": 1709630062}"#, "not valid: invalid type: integer"),
        (r#"{"eventName":"GetObject","eventID":"abc-1"}"#, "record abc-1 has no eventTime"),
        (r#"{"eventTime":null}"#, "(no eventID) has no eventTime"),
        (r#"{"eventTime":""}"#, "has no eventTime"),
        (
            r#"{"eventTime":"05/03/2024 09:14","eventID":"abc-2"}"#,
            r#"record abc-2 has an eventTime that is not an RFC 3339 time: "05/03/2024 09:14""#,
        ),
        (r#"{"eventTime":"2024-03-05T09:14:22Z","userIdentity":"me"}"#, "not valid"),
    ];
    for (record, expected) in cases {
        match map_record(record, &MapOptions::default()) {
            Ok(event) => panic!("{record:?} mapped to {event:?}"),
            Err(error) => {
                let message = error.to_string();
                assert!(message.contains(expected), "{record:?}: {message:?} lacks {expected:?}");
            }
        }
    }
}

#[test]
fn api_activity_follows_the_verb_of_the_event_name() {
    let cases = [
        ("CreateBucket", None, ApiActivity::Create),
        ("RunInstances", None, ApiActivity::Create),
        ("StartSession", None, ApiActivity::Create),
        ("GenerateDataKey", None, ApiActivity::Create),
        ("GetObject", None, ApiActivity::Read),
        ("ListBuckets", Some(true), ApiActivity::Read),
        ("DescribeInstances", None, ApiActivity::Read),
        ("HeadObject", None, ApiActivity::Read),
        ("BatchGetItem", None, ApiActivity::Read),
        ("PutBucketPolicy", None, ApiActivity::Update),
        ("ModifyInstanceAttribute", None, ApiActivity::Update),
        ("SetDefaultPolicyVersion", None, ApiActivity::Update),
        ("DeleteBucket", None, ApiActivity::Delete),
        ("TerminateInstances", None, ApiActivity::Delete),
        ("RemoveTagsFromResource", None, ApiActivity::Delete),
        ("BatchDeleteImage", None, ApiActivity::Delete),
        ("Decrypt", Some(true), ApiActivity::Read),
        ("Decrypt", Some(false), ApiActivity::Other),
        ("Invoke", None, ApiActivity::Other),
        ("Batch", None, ApiActivity::Other),
        ("Getaway", None, ApiActivity::Other),
        ("", None, ApiActivity::Other),
    ];
    for (name, read_only, expected) in cases {
        assert_eq!(api_activity(name, read_only), expected, "{name}");
    }
}

#[test]
fn source_address_becomes_ip_domain_or_name() {
    let cases: [(&str, Value); 5] = [
        ("192.0.2.7", json!({"ip": "192.0.2.7"})),
        ("2001:db8::1", json!({"ip": "2001:db8::1"})),
        ("cloudformation.amazonaws.com", json!({"domain": "cloudformation.amazonaws.com"})),
        ("AWS Internal", json!({"name": "AWS Internal"})),
        ("AWS Internal/3", json!({"name": "AWS Internal/3"})),
    ];
    for (source, expected) in cases {
        let endpoint =
            serde_json::to_value(src_endpoint(Some(source), None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(endpoint, expected, "{source}");
    }
}

#[test]
fn iam_calls_without_a_user_name_change_the_caller() {
    let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEHANK0001","arn":"arn:aws:iam::123456789012:user/hank","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEHANKKEY1","userName":"hank"},"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ChangePassword","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.9","userAgent":"AWS Internal","requestParameters":null,"responseElements":null,"requestID":"11111111-2222-4333-8444-555555555555","eventID":"66666666-7777-4888-9999-000000000000","eventType":"AwsApiCall","recipientAccountId":"123456789012","eventCategory":"Management"}"#;
    let event = map_to_json(record, false);
    assert_valid("ChangePassword", &event);
    assert_eq!(event["type_name"], "Account Change: Password Change");
    assert_eq!(event["user"]["uid"], "arn:aws:iam::123456789012:user/hank");
    assert_eq!(event["actor"]["user"]["name"], "hank");
}

#[test]
fn iam_names_from_other_services_stay_api_activity() {
    let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"mq.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"192.0.2.9","requestID":"r-1","requestParameters":{"username":"app"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/ivan","userName":"ivan"}}"#;
    let event = map_to_json(record, false);
    assert_valid("mq CreateUser", &event);
    assert_eq!(event["type_name"], "API Activity: Create");
    assert_eq!(event.get("user"), None);
}

#[test]
fn failed_assume_role_names_the_requested_role() {
    let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEJUDY0001","arn":"arn:aws:iam::123456789012:user/judy","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEJUDYKEY1","userName":"judy"},"eventTime":"2024-03-07T11:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.99","userAgent":"aws-cli/2.15.20","errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::123456789012:user/judy is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Admin","requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/Admin","roleSessionName":"judy"},"responseElements":null,"requestID":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","eventID":"ffffffff-0000-4111-8222-333333333333","eventType":"AwsApiCall","recipientAccountId":"123456789012","eventCategory":"Management"}"#;
    let event = map_to_json(record, false);
    assert_valid("failed AssumeRole", &event);
    assert_eq!(event["status_id"], 2);
    assert_eq!(event["user"]["uid"], "arn:aws:iam::123456789012:role/Admin");
    assert_eq!(event["user"]["name"], "judy");
    assert_eq!(event.get("session").and_then(|s| s.get("credential_uid")), None);
}

#[test]
fn sign_in_outcome_comes_from_the_record_or_is_unknown() {
    let base = r#""eventTime":"2024-03-07T10:00:00Z","sourceIPAddress":"192.0.2.9","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/kim","userName":"kim"}"#;
    let cases = [
        // (members, status_id, status_detail)
        (
            r#""eventSource":"signin.amazonaws.com","eventName":"CredentialVerification","serviceEventDetails":{"CredentialVerification":"Failure"}"#,
            2,
            None,
        ),
        (
            r#""eventSource":"signin.amazonaws.com","eventName":"UserAuthentication","serviceEventDetails":{"UserAuthentication":"Success"}"#,
            1,
            None,
        ),
        (r#""eventSource":"signin.amazonaws.com","eventName":"CredentialChallenge""#, 0, None),
        (
            r#""eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","eventName":"SwitchRole","responseElements":{"SwitchRole":"Failure"}"#,
            2,
            None,
        ),
        (r#""eventSource":"signin.amazonaws.com","eventName":"SwitchRole""#, 0, None),
        (
            r#""eventSource":"signin.amazonaws.com","eventName":"CheckMfa","responseElements":{"CheckMfa":"Pending"}"#,
            99,
            Some("Pending"),
        ),
        (
            r#""eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","errorCode":"Throttling","responseElements":{"ConsoleLogin":"Success"}"#,
            2,
            None,
        ),
        // Not a sign-in: no errorCode means the call succeeded.
        (r#""eventSource":"s3.amazonaws.com","eventName":"ListBuckets","requestID":"r-1""#, 1, None),
    ];
    for (members, status_id, detail) in cases {
        let record = format!("{{{base},{members}}}");
        let event = map_to_json(&record, false);
        assert_valid(members, &event);
        assert_eq!(event["status_id"], status_id, "{members}");
        assert_eq!(event.get("status_detail").and_then(Value::as_str), detail, "{members}");
    }
}

/// A record without what CloudTrail documents as always there, and the class needs, is
/// refused (and dead-lettered by the caller), naming what is missing: never a placeholder.
#[test]
fn records_missing_documented_fields_are_refused_naming_the_field() {
    let identity = r#""userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"alice"}"#;
    for (record, field) in [
        (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","sourceIPAddress":"192.0.2.1",{identity}}}"#), "eventName"),
        (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventName":"GetObject","sourceIPAddress":"192.0.2.1",{identity}}}"#), "eventSource"),
        (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject",{identity}}}"#), "sourceIPAddress"),
        (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"192.0.2.1"}"#.to_owned(), "userIdentity that names the caller"),
        (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"AWSService"}}"#.to_owned(), "userIdentity that names the caller"),
        (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"192.0.2.1"}"#.to_owned(), "user (no userIdentity naming one, no recipientAccountId)"),
        (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start"}}"#.to_owned(), "insightDetails.eventName"),
    ] {
        match map_record(&record, &MapOptions::default()) {
            Err(MappingError::MissingField { event_id, field: missing }) => {
                assert_eq!((event_id.as_deref(), missing), (Some("e-1"), field), "{record}");
            }
            other => panic!("{record}: {other:?}"),
        }
    }
    let error = map_record(
        r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com"}"#,
        &MapOptions::default(),
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "CloudTrail record e-1 has no eventName");
}

/// Sign-in and STS events without a source address leave `src_endpoint` out; a console
/// sign-in with no user named is a user of the account signed in to.
#[test]
fn sign_in_without_address_or_user_leaves_out_what_is_not_said() {
    let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","recipientAccountId":"111122223333","responseElements":{"ConsoleLogin":"Failure"}}"#;
    let event = map_to_json(record, false);
    assert_valid("ConsoleLogin", &event);
    assert_eq!(event["class_uid"], 3002);
    assert_eq!(event["status_id"], 2);
    assert_eq!(event["user"], json!({"account": {"uid": "111122223333"}}));
    assert_eq!(event["service"], json!({"name": "signin.amazonaws.com"}));
    assert!(event.get("src_endpoint").is_none() && event.get("actor").is_none(), "{event:#}");
}

/// Group Management needs the group: a group call that names none is an API call.
#[test]
fn group_call_without_a_group_name_is_api_activity() {
    let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"errorCode":"ValidationException","requestParameters":null}"#;
    let event = map_to_json(record, false);
    assert_valid("AddUserToGroup", &event);
    assert_eq!(event["class_uid"], 6003);
    assert_eq!(event["api"]["operation"], "AddUserToGroup");
    assert_eq!(event["status_id"], 2);
    assert!(event.get("group").is_none());
}

/// An Insight that does not say its type or state leaves them out of the message.
#[test]
fn insight_message_says_only_what_the_record_says() {
    let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventType":"AwsCloudTrailInsight","insightDetails":{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}}"#;
    let event = map_to_json(record, false);
    assert_valid("insight", &event);
    assert_eq!(event["message"], "CloudTrail Insight: ec2.amazonaws.com RunInstances");
}

#[test]
fn service_event_details_of_other_events_stay_unmapped_verbatim() {
    let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey","eventType":"AwsServiceEvent","recipientAccountId":"123456789012","serviceEventDetails":{"keyId":"k-1","RotateKey":"Failure"}}"#;
    let event = map_to_json(record, false);
    assert_valid("RotateKey", &event);
    assert_eq!(event["status_id"], 1);
    assert_eq!(event["unmapped"]["serviceEventDetails"], json!({"keyId": "k-1", "RotateKey": "Failure"}));
    // A service event generated by its event source, which names no caller or address:
    // that service acted, from itself.
    assert_eq!(event["actor"], json!({"app_name": "kms.amazonaws.com"}));
    assert_eq!(event["src_endpoint"], json!({"svc_name": "kms.amazonaws.com"}));
}

#[test]
fn credential_changes_of_a_user_are_account_changes() {
    for (name, params, response, key) in [
        (
            "UploadSSHPublicKey",
            r#"{"userName":"bob","sSHPublicKeyBody":"ssh-rsa AAAA"}"#,
            r#"{"sSHPublicKey":{"userName":"bob","sSHPublicKeyId":"APKA1"}}"#,
            "APKA1",
        ),
        (
            "UpdateSSHPublicKey",
            r#"{"userName":"bob","sSHPublicKeyId":"APKA1","status":"Inactive"}"#,
            "null",
            "APKA1",
        ),
        ("DeleteSSHPublicKey", r#"{"userName":"bob","sSHPublicKeyId":"APKA1"}"#, "null", "APKA1"),
        (
            "UploadSigningCertificate",
            r#"{"userName":"bob"}"#,
            r#"{"certificate":{"userName":"bob","certificateId":"C1"}}"#,
            "C1",
        ),
        (
            "DeleteServiceSpecificCredential",
            r#"{"userName":"bob","serviceSpecificCredentialId":"S1"}"#,
            "null",
            "S1",
        ),
        (
            "CreateAccessKey",
            r#"{"userName":"bob"}"#,
            r#"{"accessKey":{"userName":"bob","accessKeyId":"AKIA1"}}"#,
            "AKIA1",
        ),
    ] {
        let record = format!(
            r#"{{"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","requestID":"r-1","sourceIPAddress":"192.0.2.9","requestParameters":{params},"responseElements":{response},"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/kim","userName":"kim"}}}}"#
        );
        let event = map_to_json(&record, false);
        assert_valid(name, &event);
        assert_eq!(event["type_name"], "Account Change: Other", "{name}");
        assert_eq!(event["user"]["name"], "bob", "{name}");
        assert_eq!(event["user"]["credential_uid"], key, "{name}");
        assert_eq!(event["actor"]["user"]["name"], "kim", "{name}");
    }
}
