//! The backfill (`audit-relay forward --source opensearch --log-group …`): FilterLogEvents against
//! moto's CloudWatch Logs (pagination, event ids) and against a local HTTP server playing
//! CloudWatch Logs (throttling retried, the stream prefix sent). Events from the backfill must be
//! the very events the subscription path produces for the same log events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use audit_relay::config::Config;
use audit_relay::dead_letter::NoDeadLetter;
use audit_relay::delivery::Delivery;
use audit_relay::env::EnvReader;
use audit_relay::event::Source;
use audit_relay::setup::Pipeline;
use audit_relay::sinks;
use audit_relay::sources::opensearch::backfill::{backfill, logs_client, BackfillError, BackfillRequest};
use audit_relay::sources::opensearch::config::OpensearchConfig;
use audit_relay::sources::opensearch::convert::Converter;
use audit_relay::sources::opensearch::handler::handle;
use audit_relay::sources::opensearch::mapping::MapOptions;
use audit_relay::sources::opensearch::payload::{encode_data, LogEvent, LogsMessage};
use audit_relay_tests::moto;
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GROUP: &str = "/aws/OpenSearchService/domains/search-prod/audit-logs";
const RECORDS: [&str; 4] = [
    include_str!("../../shared/src/sources/opensearch/fixtures/authenticated_rest.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/missing_privileges_transport.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/index_event_create.json"),
    include_str!("../../shared/src/sources/opensearch/fixtures/compliance_doc_read.json"),
];

fn source() -> OpensearchConfig {
    OpensearchConfig::load(&EnvReader::from_map([("AWS_REGION", "us-east-1")], None)).unwrap()
}

async fn hec_config(hec_uri: &str) -> Config {
    let env = EnvReader::from_map(
        [
            ("SIEM_TYPE", "splunk_hec".to_string()),
            ("SIEM_URL", format!("{hec_uri}/services/collector/event")),
            ("SIEM_TOKEN", "test-hec-token".to_string()),
        ],
        None,
    );
    Config::load(&env).await.unwrap()
}

fn delivery(config: &Config) -> Delivery {
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    Delivery::new(sink, Arc::new(NoDeadLetter), &config.delivery, Source::Opensearch, None)
}

fn request(page_size: i32, prefix: Option<&str>) -> BackfillRequest {
    BackfillRequest {
        log_group: GROUP.to_string(),
        log_stream_prefix: prefix.map(str::to_string),
        start_ms: 0,
        end_ms: None,
        page_size,
    }
}

#[tokio::test]
async fn backfill_reads_every_page_and_yields_the_events_the_subscription_would() {
    let moto = moto::start().await;
    let logs = logs_client(&moto.sdk_config());
    logs.create_log_group().log_group_name(GROUP).send().await.unwrap();
    // CloudWatch Logs (and moto) refuse events older than 14 days: use the last minutes.
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let base = now_ms - 600_000;
    for (s, stream) in ["node-a", "node-b"].iter().enumerate() {
        logs.create_log_stream().log_group_name(GROUP).log_stream_name(*stream).send().await.unwrap();
        let events: Vec<InputLogEvent> = (0..20)
            .map(|n| {
                InputLogEvent::builder()
                    .timestamp(base + (s as i64) * 100 + n)
                    .message(RECORDS[n as usize % RECORDS.len()].trim_end())
                    .build()
                    .unwrap()
            })
            .collect();
        logs.put_log_events()
            .log_group_name(GROUP)
            .log_stream_name(*stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
    // What CloudWatch Logs holds: the ids a subscription would deliver.
    let stored = logs.filter_log_events().log_group_name(GROUP).send().await.unwrap();
    let stored: Vec<(String, LogEvent)> = stored
        .events()
        .iter()
        .map(|e| {
            let event = LogEvent {
                id: e.event_id().unwrap().to_string(),
                timestamp: e.timestamp().unwrap(),
                message: e.message().unwrap().to_string(),
            };
            (e.log_stream_name().unwrap().to_string(), event)
        })
        .collect();
    assert_eq!(stored.len(), 40);

    let hec = splunk_hec().await;
    let config = hec_config(&hec.uri()).await;
    let mut delivery = delivery(&config);
    let converter = Converter::new(config.format, MapOptions::new(&source(), false));
    let mut pages = 0;
    let counts = backfill(&logs, &request(7, None), &mut delivery, &converter, |_| pages += 1).await.unwrap();
    let report = delivery.finish().await.unwrap();
    assert_eq!(pages, 6, "40 events in pages of 7");
    assert_eq!(counts.records, 40);
    assert_eq!(counts.partial, 0);
    assert_eq!(report.delivered, 40);
    let backfilled = hec_events(&hec).await;
    assert_valid_ocsf(&backfilled);
    let uids: HashSet<&str> = backfilled.iter().filter_map(|e| e["metadata"]["uid"].as_str()).collect();
    let ids: HashSet<&str> = stored.iter().map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(uids, ids);

    // The same log events through the subscription path give the same OCSF events.
    let live = splunk_hec().await;
    let live_config = hec_config(&live.uri()).await;
    let dlq = tempfile::tempdir().unwrap();
    for stream in ["node-a", "node-b"] {
        let message = LogsMessage {
            message_type: "DATA_MESSAGE".to_string(),
            owner: "111122223333".to_string(),
            log_group: GROUP.to_string(),
            log_stream: stream.to_string(),
            subscription_filters: vec!["audit-relay".to_string()],
            log_events: stored.iter().filter(|(s, _)| s == stream).map(|(_, e)| e.clone()).collect(),
            policy_level: None,
        };
        let sink = live_config
            .sink
            .build(sinks::http_client(live_config.delivery.request_timeout).unwrap())
            .unwrap();
        let deps = Pipeline {
            s3: moto.s3_client(),
            sink,
            dead_letter: audit_relay::dead_letter::from_config(
                &audit_relay::dead_letter::DeadLetterConfig {
                    bucket: None,
                    prefix: "dlq/".to_string(),
                    dir: Some(dlq.path().display().to_string()),
                },
                None,
            ),
            config: live_config.clone(),
        };
        let payload = json!({"awslogs": {"data": encode_data(&message)}});
        handle(&deps, &source(), LambdaEvent::new(payload, Context::default())).await.unwrap();
    }
    let mut from_subscription = hec_events(&live).await;
    let mut from_backfill = backfilled.clone();
    let by_uid = |a: &Value, b: &Value| a["metadata"]["uid"].as_str().cmp(&b["metadata"]["uid"].as_str());
    from_subscription.sort_by(by_uid);
    from_backfill.sort_by(by_uid);
    assert_eq!(from_backfill, from_subscription, "backfill and subscription agree event for event");
}

fn fake_logs_sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        // Only the backfill's own retries, so the count of requests is exact.
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "test",
        )))
        .build()
}

fn throttled() -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_string(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
}

#[tokio::test]
async fn throttled_pages_are_retried_and_the_stream_prefix_is_sent() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "Logs_20140328.FilterLogEvents"))
        .respond_with(throttled())
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&api)
        .await;
    let page = json!({"events": [
        {"logStreamName": "node-a-1", "timestamp": 1_732_017_914_000_i64, "ingestionTime": 1_732_017_915_000_i64,
         "eventId": "38618464961240385130364429414046216340217542315577196544", "message": RECORDS[1].trim_end()}
    ], "searchedLogStreams": []});
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"logGroupName": GROUP, "logStreamNamePrefix": "node-a", "limit": 10000}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_json(page),
        )
        .with_priority(2)
        .mount(&api)
        .await;
    let logs = logs_client(&fake_logs_sdk(&api.uri()));
    let hec = splunk_hec().await;
    let config = hec_config(&hec.uri()).await;
    let mut delivery = delivery(&config);
    let converter = Converter::new(config.format, MapOptions::new(&source(), false));
    let counts =
        backfill(&logs, &request(10_000, Some("node-a")), &mut delivery, &converter, |_| {}).await.unwrap();
    delivery.finish().await.unwrap();
    assert_eq!(counts.records, 1);
    assert_eq!(api.received_requests().await.unwrap().len(), 4, "3 throttled, then the page");
    let events = hec_events(&hec).await;
    assert_valid_ocsf(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["metadata"]["uid"], "38618464961240385130364429414046216340217542315577196544");
    assert_eq!(events[0]["metadata"]["log_name"], format!("{GROUP}:node-a-1"));
    assert_eq!(events[0]["actor"]["authorizations"][0]["decision"], "Denied");
}

#[tokio::test]
async fn a_missing_log_group_stops_the_backfill_with_its_name() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("content-type", "application/x-amz-json-1.1")
                .set_body_string(r#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#),
        )
        .mount(&api)
        .await;
    let logs = logs_client(&fake_logs_sdk(&api.uri()));
    let hec = splunk_hec().await;
    let config = hec_config(&hec.uri()).await;
    let mut delivery = delivery(&config);
    let converter = Converter::new(config.format, MapOptions::default());
    let (counts, error) =
        backfill(&logs, &request(100, None), &mut delivery, &converter, |_| {}).await.unwrap_err();
    assert_eq!(counts.records, 0);
    assert!(matches!(error, BackfillError::Api { page: 1, attempts: 1, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("FilterLogEvents on log group {GROUP} failed at page 1 after 1 attempts: ResourceNotFoundException: The specified log group does not exist.")
    );
    assert_eq!(api.received_requests().await.unwrap().len(), 1, "not retried");
}
