//! End to end: CloudWatch Logs subscription payloads through the `opensearch-audit` handler to a
//! Splunk HEC receiver on a local HTTP server. Every log event must arrive once, as valid OCSF,
//! keyed by its CloudWatch Logs event id, and without credentials.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::sources::opensearch::config::OpensearchConfig;
use audit_relay::sources::opensearch::handler::handle;
use audit_relay::sources::opensearch::payload::{encode_data, LogEvent, LogsMessage};
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const GROUP: &str = "/aws/OpenSearchService/domains/search-prod/audit-logs";
const STREAM: &str = "Qm9vdHN0cmFwTm9kZTE";

/// Records of every category, as the domain writes them.
const RECORDS: [&str; 8] = [
    include_str!("../../shared/src/sources/opensearch/fixtures/authenticated_saml_with_credentials.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/failed_login_aws.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/missing_privileges_run_as_search.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/granted_privileges_transport.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/compliance_doc_write.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/security_index_attempt.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/bad_headers.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/ssl_exception.json"),
];

async fn deps(hec_uri: &str, dlq_dir: &std::path::Path) -> Pipeline {
    let env = EnvReader::from_map(
        [
            ("SIEM_TYPE", "splunk_hec".to_string()),
            ("SIEM_URL", format!("{hec_uri}/services/collector/event")),
            ("SIEM_TOKEN", "test-hec-token".to_string()),
            ("DLQ_DIR", dlq_dir.display().to_string()),
        ],
        None,
    );
    // No S3 call is made: dead letters go to the local directory.
    audit_relay_tests::offline::pipeline(&env).await
}

fn source() -> OpensearchConfig {
    OpensearchConfig::load(&EnvReader::from_map(
        [("AWS_REGION", "eu-west-1"), ("REDACT_HEADERS", "X-Api-Key")],
        None,
    ))
    .unwrap()
}

/// A CloudWatch Logs-like event id for event `n`.
fn event_id(n: u64) -> String {
    format!("3861846496124038513036442941404621634021754231557{:07}", n)
}

fn data_message(events: Vec<LogEvent>) -> Value {
    let message = LogsMessage {
        message_type: "DATA_MESSAGE".to_string(),
        owner: "111122223333".to_string(),
        log_group: GROUP.to_string(),
        log_stream: STREAM.to_string(),
        subscription_filters: vec!["audit-relay-opensearch".to_string()],
        log_events: events,
        policy_level: None,
    };
    json!({"awslogs": {"data": encode_data(&message)}})
}

fn invoke(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn ten_thousand_event_payload_arrives_once_each_as_valid_ocsf_keyed_by_event_id() {
    let hec = splunk_hec().await;
    let dlq = tempfile::tempdir().unwrap();
    let deps = deps(&hec.uri(), dlq.path()).await;
    let events: Vec<LogEvent> = (0..10_000u64)
        .map(|n| LogEvent {
            id: event_id(n),
            timestamp: 1_732_017_914_000 + n as i64,
            message: RECORDS[(n % RECORDS.len() as u64) as usize].trim_end().to_string(),
        })
        .collect();
    let summary = handle(&deps, &source(), invoke(data_message(events))).await.unwrap();

    assert_eq!(summary["records"], 10_000);
    assert_eq!(summary["events_delivered"], 10_000);
    assert_eq!(summary["partial"], 0);
    assert_eq!(summary["dead_lettered"], 0);
    assert_eq!(summary["log_group"], GROUP);
    let received = hec_events(&hec).await;
    assert_eq!(received.len(), 10_000);
    let uids: HashSet<String> =
        received.iter().map(|e| e["metadata"]["uid"].as_str().unwrap_or_default().to_string()).collect();
    let expected: HashSet<String> = (0..10_000).map(event_id).collect();
    assert_eq!(uids, expected, "every event once, uid = CloudWatch Logs event id");
    let classes: HashSet<u64> = received.iter().filter_map(|e| e["class_uid"].as_u64()).collect();
    assert_eq!(classes, HashSet::from([3002, 6003, 6004, 6005]));
    for event in &received {
        assert_eq!(event["metadata"]["log_name"], format!("{GROUP}:{STREAM}"));
        assert_eq!(event["cloud"]["region"], "eu-west-1");
    }
    let body = serde_json::to_string(&received).unwrap();
    for secret in ["eyJhbGciOiJSUzI1NiJ9", "Fe26.2", "k-7f3e2d1c"] {
        assert!(!body.contains(secret), "{secret} reached the SIEM");
    }
    assert_valid_ocsf(&received);
}

#[tokio::test]
async fn control_message_is_acknowledged_and_sends_nothing() {
    let hec = splunk_hec().await;
    let dlq = tempfile::tempdir().unwrap();
    let deps = deps(&hec.uri(), dlq.path()).await;
    let payload: Value =
        serde_json::from_str(include_str!("../../functions/opensearch-audit/events/control-message.json"))
            .unwrap();
    let summary = handle(&deps, &source(), invoke(payload)).await.unwrap();
    assert_eq!(summary["message_type"], "CONTROL_MESSAGE");
    assert_eq!(summary["records"], 0);
    assert_eq!(summary["events_delivered"], 0);
    assert!(hec.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn broken_base64_or_gzip_fails_the_invocation_with_a_clear_error() {
    let hec = splunk_hec().await;
    let dlq = tempfile::tempdir().unwrap();
    let deps = deps(&hec.uri(), dlq.path()).await;
    let good =
        data_message(vec![LogEvent { id: event_id(1), timestamp: 1, message: RECORDS[0].to_string() }]);
    let data = good["awslogs"]["data"].as_str().unwrap();
    let cut_gzip = {
        // Valid base64 of a gzip stream cut in the middle.
        let bytes = data.len() / 4 * 2;
        data[..bytes - bytes % 4].to_string()
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            serde_json::from_str(include_str!("../../functions/opensearch-audit/events/broken-payload.json"))
                .unwrap(),
            "awslogs.data is not valid base64",
        ),
        (json!({"awslogs": {"data": cut_gzip}}), "awslogs.data does not inflate (gzip)"),
        (json!({"awslogs": {"data": "bm90IGNvbXByZXNzZWQ="}}), "awslogs.data is neither gzip nor zlib"),
        (json!({"Records": []}), "not a CloudWatch Logs subscription event"),
    ];
    for (payload, expected) in cases {
        let error = handle(&deps, &source(), invoke(payload)).await.unwrap_err();
        assert!(error.to_string().contains(expected), "{error} lacks {expected:?}");
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "InvalidPayload");
    }
    assert!(hec.received_requests().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn real_envelopes_gzip_and_zlib_deliver_their_plain_text_lines_best_effort() {
    let hec = splunk_hec().await;
    let dlq = tempfile::tempdir().unwrap();
    let deps = deps(&hec.uri(), dlq.path()).await;
    for fixture in [
        include_str!("../../shared/src/sources/opensearch/fixtures/envelopes/cloudWatchLogEvent.json"),
        include_str!(
            "../../shared/src/sources/opensearch/fixtures/envelopes/cloudWatchLogEventWithPolicyLevel.json"
        ),
    ] {
        let summary = handle(&deps, &source(), invoke(serde_json::from_str(fixture).unwrap())).await.unwrap();
        assert_eq!(summary["records"], 2);
        assert_eq!(summary["events_delivered"], 2);
        assert_eq!(summary["partial"], 2, "plain text lines are counted");
    }
    let received = hec_events(&hec).await;
    assert_eq!(received.len(), 4);
    assert_valid_ocsf(&received);
    let first = &received[0];
    // No audit record: Entity Management of OpenSearch, which wrote the line.
    assert_eq!(first["class_uid"], 3004);
    assert_eq!(first["activity_id"], 99);
    assert_eq!(first["entity"]["name"], "OpenSearch");
    assert_eq!(first["raw_data"], "[ERROR] First test message");
    assert_eq!(first["metadata"]["uid"], "eventId1");
    assert_eq!(first["metadata"]["log_name"], "testLogGroup:testLogStream");
    assert_eq!(first["time"], 1_440_442_987_000_i64);
    assert!(first["unmapped"]["parse_error"].as_str().unwrap_or_default().contains("invalid type: sequence"));
    assert_eq!(received[3]["metadata"]["uid"], "eventId2");
}

#[tokio::test]
async fn sample_invoke_payload_delivers_every_category_and_the_cut_message_with_its_text() {
    let hec = splunk_hec().await;
    let dlq = tempfile::tempdir().unwrap();
    let deps = deps(&hec.uri(), dlq.path()).await;
    let payload: Value =
        serde_json::from_str(include_str!("../../functions/opensearch-audit/events/data-message.json"))
            .unwrap();
    let first = handle(&deps, &source(), invoke(payload.clone())).await.unwrap();
    assert_eq!(first["records"], 13);
    assert_eq!(first["events_delivered"], 13);
    assert_eq!(first["partial"], 1);
    let again = handle(&deps, &source(), invoke(payload)).await.unwrap();
    assert_eq!(again["events_delivered"], 13);

    let received = hec_events(&hec).await;
    assert_eq!(received.len(), 26);
    assert_valid_ocsf(&received);
    let (run1, run2) = received.split_at(13);
    let uids = |events: &[Value]| -> Vec<String> {
        events.iter().map(|e| e["metadata"]["uid"].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(uids(run1), uids(run2), "a redelivered payload keeps its uids");
    let cut = &run1[12];
    // The user name came after the cut: Authentication requires it, so the cut FAILED_LOGIN is
    // Entity Management of its cluster, still a failure from its address; what came before the
    // cut is mapped, and no user is made up.
    assert_eq!(cut["class_uid"], 3004);
    assert_eq!(cut["metadata"]["event_code"], "FAILED_LOGIN");
    assert_eq!(cut["status_id"], 2);
    assert!(cut.get("user").is_none() && cut.get("actor").is_none());
    assert_eq!(cut["src_endpoint"]["ip"], "123.123.123.123");
    assert_eq!(cut["http_request"]["url"]["path"], "/_plugins/_security/authinfo");
    assert_eq!(cut["raw_data"].as_str().map(str::len), Some(10_000));
    assert!(cut["unmapped"]["parse_error"].as_str().unwrap_or_default().starts_with("EOF while parsing"));
    let text = serde_json::to_string(&received).unwrap();
    for secret in ["eyJhbGciOiJSUzI1NiJ9", "Fe26.2", "k-7f3e2d1c"] {
        assert!(!text.contains(secret), "{secret} reached the SIEM");
    }
}
