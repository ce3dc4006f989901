//! The real function binaries (`cloudtrail-s3`, `opensearch-audit`, `azure-devops-audit`) run as
//! Lambda runs them, against a local stand-in of the Lambda runtime API, with moto's S3 and a Splunk
//! HEC receiver. Each runs twice: once with the deadline Lambda sends (an epoch time 60 s ahead) and
//! once with cargo-lambda's `Lambda-Runtime-Deadline-Ms: 600000`, which is no deadline at all. Both
//! times every event arrives once and nothing is dead-lettered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audit_relay::sources::opensearch::payload::{encode_data, LogEvent, LogsMessage};
use audit_relay_tests::audit_apis::azure_devops_entry;
use audit_relay_tests::corpus;
use audit_relay_tests::moto::{self, MotoServer};
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use audit_relay_tests::runtime_api::{Deadline, FunctionProcess, Outcome, RuntimeApi};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DEADLINES: [Deadline; 2] = [Deadline::Ahead(Duration::from_secs(60)), Deadline::Literal(600_000)];
const ANSWER_WITHIN: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The Lambda environment shared by every function: the HEC sink, dead letters and checkpoints in
/// the `state` bucket of `moto`.
fn sink_vars(moto: &MotoServer, hec: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("SIEM_TYPE", "splunk_hec".into()),
        ("SIEM_URL", format!("{}/services/collector/event", hec.uri())),
        ("SIEM_TOKEN", "test-hec-token".into()),
        ("DLQ_BUCKET", "state".into()),
        ("CHECKPOINT_BUCKET", "state".into()),
        ("LOG_LEVEL", "warn".into()),
    ]
}

/// Fails unless every uid in `expected` was delivered exactly once, and nothing else.
fn assert_each_once(events: &[Value], expected: &[String], case: &str) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for event in events {
        *counts.entry(event["metadata"]["uid"].as_str().unwrap_or_default()).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{case}: delivered more than once: {twice:?}");
    let missing: Vec<_> = expected.iter().filter(|uid| !counts.contains_key(uid.as_str())).collect();
    assert!(
        missing.is_empty(),
        "{case}: {} of {} not delivered, e.g. {:?}",
        missing.len(),
        expected.len(),
        missing.first()
    );
    assert_eq!(events.len(), expected.len(), "{case}: events delivered");
    assert_valid_ocsf(events);
}

async fn assert_nothing_dead_lettered(moto: &MotoServer, case: &str) {
    let listed = moto.s3_client().list_objects_v2().bucket("state").prefix("dlq/").send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.is_empty(), "{case}: dead-lettered {keys:?}");
}

#[tokio::test]
async fn cloudtrail_binary_delivers_every_record_with_a_real_or_a_local_deadline() {
    for deadline in DEADLINES {
        let case = format!("cloudtrail-s3, deadline {deadline:?}");
        let moto = moto::start().await;
        moto.bucket("trail").await;
        moto.bucket("state").await;
        let hec = splunk_hec().await;
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/02/111122223333_CloudTrail_us-east-1_20261202T0000Z_loop.json.gz";
        let body = corpus::gz_bytes(5_000, 3);
        moto.s3_client()
            .put_object()
            .bucket("trail")
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        let notification = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0",
            "bucket": {"name": "trail", "arn": "arn:aws:s3:::trail"}, "object": {"key": key, "size": 1}}}]});
        let batch = json!({"Records": [{"messageId": "m-1", "receiptHandle": "h", "body": notification.to_string(),
            "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:trail-notifications", "awsRegion": "us-east-1"}]});

        let api = RuntimeApi::start(deadline).await;
        let _function = FunctionProcess::start("cloudtrail-s3", &api, &sink_vars(&moto, &hec));
        let outcome = api.invoke(&batch, ANSWER_WITHIN).await;

        assert_eq!(outcome, Outcome::Response(json!({"batchItemFailures": []})), "{case}");
        let expected: Vec<String> = (0..5_000)
            .map(|i| {
                let record: Value = serde_json::from_str(&corpus::record(3, i)).unwrap();
                record["eventID"].as_str().unwrap().to_string()
            })
            .collect();
        assert_each_once(&hec_events(&hec).await, &expected, &case);
        assert_nothing_dead_lettered(&moto, &case).await;
        assert_eq!(api.deadlines_sent().len(), 1, "{case}");
    }
}

#[tokio::test]
async fn opensearch_binary_delivers_every_log_event_with_a_real_or_a_local_deadline() {
    const RECORD: &str = include_str!("../../shared/src/sources/opensearch/fixtures/failed_login_aws.json");
    for deadline in DEADLINES {
        let case = format!("opensearch-audit, deadline {deadline:?}");
        let moto = moto::start().await;
        moto.bucket("state").await;
        let hec = splunk_hec().await;
        let base = now_ms();
        let ids: Vec<String> =
            (0..500).map(|n| format!("38618464961240385130364429414046216340217542315{n:09}")).collect();
        let message = LogsMessage {
            message_type: "DATA_MESSAGE".into(),
            owner: "111122223333".into(),
            log_group: "/aws/OpenSearchService/domains/prod/audit-logs".into(),
            log_stream: "Qm9vdHN0cmFwTm9kZTE".into(),
            subscription_filters: vec!["audit-relay-opensearch".into()],
            log_events: ids
                .iter()
                .enumerate()
                .map(|(n, id)| LogEvent {
                    id: id.clone(),
                    timestamp: base + n as i64,
                    message: RECORD.trim().into(),
                })
                .collect(),
            policy_level: None,
        };
        let payload = json!({"awslogs": {"data": encode_data(&message)}});

        let api = RuntimeApi::start(deadline).await;
        let _function = FunctionProcess::start("opensearch-audit", &api, &sink_vars(&moto, &hec));
        let outcome = api.invoke(&payload, ANSWER_WITHIN).await;

        let Outcome::Response(summary) = outcome else { panic!("{case}: {outcome:?}") };
        assert_eq!(summary["events_delivered"], 500, "{case}: {summary}");
        assert_each_once(&hec_events(&hec).await, &ids, &case);
        assert_nothing_dead_lettered(&moto, &case).await;
    }
}

/// The audit log of `fabrikam`: one page of `entries`, answered with `status`.
async fn audit_log(status: u16, entries: &[Value]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/fabrikam/_apis/audit/auditlog"))
        .respond_with(ResponseTemplate::new(status).set_body_json(
            json!({"decoratedAuditLogEntries": entries, "continuationToken": null, "hasMore": false}),
        ))
        .mount(&server)
        .await;
    server
}

fn azure_devops_vars(moto: &MotoServer, hec: &MockServer, api: &MockServer) -> Vec<(&'static str, String)> {
    let mut vars = sink_vars(moto, hec);
    vars.extend([
        ("AZDO_AUDIT_URL", api.uri()),
        ("AZDO_ORGANIZATIONS", "fabrikam".into()),
        ("AZDO_PAT", "azdo-pat".into()),
    ]);
    vars
}

#[tokio::test]
async fn azure_devops_binary_delivers_every_entry_with_a_real_or_a_local_deadline() {
    for deadline in DEADLINES {
        let case = format!("azure-devops-audit, deadline {deadline:?}");
        let moto = moto::start().await;
        moto.bucket("state").await;
        let hec = splunk_hec().await;
        // One page of entries from the last half hour, newest first, and nothing more.
        let base = now_ms() - 30 * 60_000;
        let entries: Vec<Value> =
            (0..120).rev().map(|i| azure_devops_entry(i, base + i as i64 * 1_000)).collect();
        let ids: Vec<String> = entries.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
        let api_server = audit_log(200, &entries).await;
        let mut vars = azure_devops_vars(&moto, &hec, &api_server);
        vars.push(("AZDO_REQUESTS_PER_MINUTE", "6000".into()));

        let api = RuntimeApi::start(deadline).await;
        let _function = FunctionProcess::start("azure-devops-audit", &api, &vars);
        let outcome = api.invoke(&json!({"source": "aws.scheduler"}), ANSWER_WITHIN).await;

        let Outcome::Response(summary) = outcome else { panic!("{case}: {outcome:?}") };
        assert_eq!(summary["events_delivered"], 120, "{case}: {summary}");
        assert_eq!(summary["behind"], false, "{case}: {summary}");
        assert_each_once(&hec_events(&hec).await, &ids, &case);
        assert_nothing_dead_lettered(&moto, &case).await;
    }
}

/// The `CredentialRejected` metric lines a function printed, as (dimension, value).
fn credential_rejections(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["CredentialRejected"] == 1)
        .map(|line| {
            let dimension =
                line["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0].as_str().unwrap().to_string();
            let value = line[&dimension].as_str().unwrap().to_string();
            (dimension, value)
        })
        .collect()
}

#[tokio::test]
async fn a_refused_source_or_sink_credential_is_counted_as_credential_rejected() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    let entries = vec![azure_devops_entry(1, now_ms() - 60_000)];
    // The audit service refuses the PAT; then accepts it while the SIEM refuses its token.
    for (api_status, hec_status, expected) in
        [(401, 200, ("Source", "azure_devops")), (200, 403, ("Sink", "splunk_hec"))]
    {
        let api_server = audit_log(api_status, &entries).await;
        let hec = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(hec_status).set_body_json(json!({"text": "Invalid token", "code": 4})),
            )
            .mount(&hec)
            .await;
        let vars = azure_devops_vars(&moto, &hec, &api_server);
        let api = RuntimeApi::start(DEADLINES[0]).await;
        let mut function = FunctionProcess::start_with_metrics("azure-devops-audit", &api, &vars);
        let outcome = api.invoke(&json!({"source": "aws.scheduler"}), ANSWER_WITHIN).await;
        let stdout = function.stop();
        let rejections = credential_rejections(&stdout);
        assert_eq!(rejections, [(expected.0.to_string(), expected.1.to_string())], "{outcome:?}\n{stdout}");
        assert!(!stdout.contains("azdo-pat"), "no credential on standard output");
    }
}
