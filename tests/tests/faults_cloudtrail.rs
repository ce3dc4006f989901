//! Network and store faults around the `cloudtrail-s3` handler (issue 8): an S3 GetObject body cut
//! mid-stream, a SIEM down for the whole run while the dead-letter bucket is missing, and a SIEM
//! connection closed while the request is being sent. Each test asserts the exact set of events the
//! HEC receiver got and what the dead-letter bucket holds, and prints a one-line summary
//! (`fault-summary ...`) collected in RELIABILITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::net::TcpListener;

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::{handle, HandlerError};
use audit_relay::{dead_letter, sinks};
use audit_relay_tests::proxy::{self, Fault};
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use audit_relay_tests::{corpus, moto};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const TRAIL: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19";

/// A pipeline whose sink posts to `siem_uri` and whose GetObject calls go to `s3_endpoint` (moto,
/// or a proxy in front of it); dead letters go straight to moto.
async fn pipeline(
    moto: &moto::MotoServer,
    s3_endpoint: &str,
    siem_uri: &str,
    extra: &[(&str, &str)],
) -> Pipeline {
    let mut vars = vec![
        ("SIEM_TYPE", "splunk_hec".to_string()),
        ("SIEM_URL", format!("{siem_uri}/services/collector/event")),
        ("SIEM_TOKEN", "test-hec-token".to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
    let s3 = audit_relay::aws::s3_client(&moto.sdk_config().to_builder().endpoint_url(s3_endpoint).build());
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    let dead_letter = dead_letter::from_config(&config.dead_letter, Some(moto.s3_client()));
    Pipeline { s3, sink, dead_letter, config }
}

async fn put(moto: &moto::MotoServer, bucket: &str, key: &str, body: Vec<u8>) {
    moto.s3_client().put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.unwrap();
}

fn s3_notification(bucket: &str, key: &str) -> Value {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": 1}}}]})
}

fn sqs_batch(id: &str, body: &Value) -> Value {
    json!({"Records": [{"messageId": id, "receiptHandle": "h", "body": body.to_string(), "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:trail-notifications", "awsRegion": "us-east-1"}]})
}

/// The corpus indexes of the events received, with how many times each arrived.
fn index_counts(events: &[Value]) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for event in events {
        let uid = event["metadata"]["uid"].as_str().expect("metadata.uid");
        let index = corpus::index_of_event_id(uid).unwrap_or_else(|| panic!("{uid}: not a corpus id"));
        *counts.entry(index).or_insert(0) += 1;
    }
    counts
}

/// Asserts every record `0..records` arrived exactly once; returns the number of duplicates (0).
fn assert_each_once(events: &[Value], records: u64) -> usize {
    let counts = index_counts(events);
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert_eq!(duplicates, 0, "records received more than once");
    let indexes: BTreeSet<u64> = counts.keys().copied().collect();
    assert_eq!(indexes, (0..records).collect::<BTreeSet<_>>(), "every record, none missing");
    duplicates
}

async fn dead_letter_keys(moto: &moto::MotoServer, bucket: &str) -> Vec<String> {
    let listed = moto.s3_client().list_objects_v2().bucket(bucket).send().await.unwrap();
    listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

#[tokio::test]
async fn get_object_cut_mid_body_is_read_again_and_every_record_arrives_once() {
    const RECORDS: u64 = 5_000;
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let state = moto.bucket("state").await;
    let hec = splunk_hec().await;
    let key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1205Z_cut.json.gz");
    let body = corpus::gz_bytes(RECORDS, 21);
    let cut_at = body.len() / 2;
    put(&moto, &trail, &key, body.clone()).await;
    let s3_proxy = proxy::start(
        proxy::addr_of(moto.endpoint()),
        Fault::CutResponse { needle: format!("GET /{trail}/{key}").into_bytes(), after: cut_at },
    )
    .await;

    let deps = pipeline(&moto, &s3_proxy.uri(), &hec.uri(), &[("DLQ_BUCKET", &state)]).await;
    let summary = handle(
        &deps,
        &CloudtrailConfig::default(),
        LambdaEvent::new(s3_notification(&trail, &key), Context::default()),
    )
    .await
    .unwrap();

    assert_eq!(s3_proxy.faults(), 1, "the first GetObject body was cut");
    assert_eq!(summary["objects"], 1);
    assert_eq!(summary["records"], RECORDS, "records already pushed are not counted again");
    assert_eq!(summary["events_delivered"], RECORDS);
    assert_eq!(summary["dead_lettered"], 0);
    assert_eq!(summary["failed"], 0);
    let events = hec_events(&hec).await;
    let duplicates = assert_each_once(&events, RECORDS);
    assert_eq!(events.len() as u64, RECORDS);
    assert_valid_ocsf(&events[..50]);
    assert_eq!(dead_letter_keys(&moto, &state).await, Vec::<String>::new());
    eprintln!(
        "fault-summary s3_body_cut: object_bytes={} cut_after={cut_at} sent={RECORDS} received={} dead_lettered=0 duplicated={duplicates}",
        body.len(),
        events.len()
    );
}

#[tokio::test]
async fn siem_down_and_dead_letter_bucket_missing_fails_the_invocation() {
    const RECORDS: u64 = 300;
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1205Z_down.json.gz");
    put(&moto, &trail, &key, corpus::gz_bytes(RECORDS, 22)).await;
    // A port nobody listens on: every connection is refused.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let siem = format!("http://{closed}");
    let extra =
        [("DLQ_BUCKET", "no-such-dlq-bucket"), ("SINK_MAX_ATTEMPTS", "2"), ("SINK_TIMEOUT_SECS", "2")];
    let deps = pipeline(&moto, moto.endpoint(), &siem, &extra).await;

    let payload = sqs_batch("m-1", &s3_notification(&trail, &key));
    let error = handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap_err();

    let HandlerError::Delivery(lost) = &error else { panic!("not a delivery error: {error}") };
    let audit_relay::delivery::DeliveryError::Lost { events, reason } = lost;
    let events = *events;
    assert_eq!(events, RECORDS, "every event is reported lost, none as delivered");
    assert!(reason.starts_with("gave up after 2 attempts: transport error"), "{reason}");
    assert!(reason.contains("could not write s3://no-such-dlq-bucket/dlq/cloudtrail/"), "{reason}");
    assert!(reason.contains("NoSuchBucket"), "{reason}");
    let message = error.to_string();
    assert!(message.starts_with(&format!("retryable: {RECORDS} events were neither delivered")), "{message}");
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "Retryable.DeliveryFailed");
    let buckets: Vec<String> = moto
        .s3_client()
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect();
    assert_eq!(buckets, vec![trail], "no dead-letter bucket was created behind our back");
    eprintln!(
        "fault-summary siem_down_dlq_missing: sent={RECORDS} received=0 dead_lettered=0 lost={events} invocation=error"
    );
}

#[tokio::test]
async fn siem_connection_closed_mid_request_is_retried_and_delivered_once() {
    const RECORDS: u64 = 1_000;
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let state = moto.bucket("state").await;
    let hec = splunk_hec().await;
    let key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1205Z_drop.json.gz");
    put(&moto, &trail, &key, corpus::gz_bytes(RECORDS, 23)).await;
    let siem_proxy =
        proxy::start(proxy::addr_of(&hec.uri()), Fault::DropRequest { connections: 1, after: 300 }).await;

    let extra = [("DLQ_BUCKET", state.as_str()), ("SINK_CONCURRENCY", "1")];
    let deps = pipeline(&moto, moto.endpoint(), &siem_proxy.uri(), &extra).await;
    let summary = handle(
        &deps,
        &CloudtrailConfig::default(),
        LambdaEvent::new(s3_notification(&trail, &key), Context::default()),
    )
    .await
    .unwrap();

    assert_eq!(siem_proxy.faults(), 1);
    assert_eq!(summary["records"], RECORDS);
    assert_eq!(summary["events_delivered"], RECORDS);
    assert_eq!(summary["retries"], 1, "the dropped request, and only it, was sent again");
    assert_eq!(summary["dead_lettered"], 0);
    let events = hec_events(&hec).await;
    let duplicates = assert_each_once(&events, RECORDS);
    assert_valid_ocsf(&events[..50]);
    assert_eq!(dead_letter_keys(&moto, &state).await, Vec::<String>::new());
    eprintln!(
        "fault-summary siem_connection_dropped: sent={RECORDS} received={} dead_lettered=0 duplicated={duplicates} retries=1 requests={}",
        events.len(),
        hec.received_requests().await.unwrap().len()
    );
}
