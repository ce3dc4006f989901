//! The `cloudtrail-s3` handler delivering to an Elasticsearch `_bulk` endpoint through faults: a
//! cluster that stores a batch but answers after the request timeout (the resend is answered 409
//! and counted as delivered: stored once), a cluster unavailable (503) for its first requests, and
//! a cluster down for the whole run (everything dead-lettered to S3, in moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use audit_relay::{dead_letter, sinks};
use audit_relay_tests::bulk::Bulk;
use audit_relay_tests::receiver::assert_valid_ocsf;
use audit_relay_tests::{corpus, moto};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_es.json.gz";
const RECORDS: u64 = 600;

struct Run {
    summary: Value,
    dead_letter_keys: Vec<String>,
}

/// Runs the handler on a corpus file with the sink posting to `siem_url`.
async fn run(siem_url: &str) -> Run {
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let state = moto.bucket("state").await;
    moto.s3_client()
        .put_object()
        .bucket(&trail)
        .key(KEY)
        .body(ByteStream::from(corpus::gz_bytes(RECORDS, 41)))
        .send()
        .await
        .unwrap();
    let vars = vec![
        ("SIEM_TYPE", "elasticsearch".to_string()),
        ("SIEM_URL", siem_url.to_string()),
        ("SIEM_TOKEN", "ZXMta2V5OnNlY3JldA==".to_string()),
        ("DLQ_BUCKET", state.clone()),
        ("SINK_CONCURRENCY", "1".to_string()),
        ("SINK_TIMEOUT_SECS", "1".to_string()),
        ("SINK_MAX_ATTEMPTS", "4".to_string()),
        ("BATCH_MAX_EVENTS", "200".to_string()),
    ];
    let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    let dead_letter = dead_letter::from_config(&config.dead_letter, Some(moto.s3_client()));
    let deps = Pipeline { s3: moto.s3_client(), sink, dead_letter, config };
    let notification = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": trail, "arn": format!("arn:aws:s3:::{trail}")},
               "object": {"key": KEY, "size": 1}}}]});
    let summary =
        handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(notification, Context::default())).await;
    let summary = summary.unwrap_or_else(|e| json!({"error": e.to_string()}));
    let listed = moto.s3_client().list_objects_v2().bucket(&state).send().await.unwrap();
    let dead_letter_keys = listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    Run { summary, dead_letter_keys }
}

/// Asserts the stored documents are the corpus records `0..RECORDS`, each once, as valid OCSF.
fn assert_stored_once(docs: &[Value]) {
    let indexes: Vec<u64> = docs
        .iter()
        .map(|d| corpus::index_of_event_id(d["metadata"]["uid"].as_str().unwrap()).unwrap())
        .collect();
    let distinct: BTreeSet<u64> = indexes.iter().copied().collect();
    assert_eq!(indexes.len(), distinct.len(), "a record stored twice");
    assert_eq!(distinct, (0..RECORDS).collect::<BTreeSet<_>>(), "every record, none missing");
    assert_valid_ocsf(&docs[..20]);
}

#[tokio::test]
async fn a_batch_stored_but_answered_too_late_is_resent_and_counted_once() {
    let (server, bulk) = Bulk::start(|s| s.slow_first = Some(Duration::from_secs(3))).await;
    let run = run(&server.uri()).await;
    assert_eq!(run.summary["events_delivered"], RECORDS, "{}", run.summary);
    assert_eq!(run.summary["dead_lettered"], 0);
    assert_eq!(run.summary["retries"], 1, "the timed-out request, and only it");
    let docs = bulk.docs();
    assert_stored_once(&docs);
    assert!(run.dead_letter_keys.is_empty(), "{:?}", run.dead_letter_keys);
    eprintln!(
        "fault-summary elasticsearch_slow: sent={RECORDS} stored={} requests={} dead_lettered=0",
        docs.len(),
        bulk.0.lock().unwrap().requests
    );
}

#[tokio::test]
async fn a_cluster_unavailable_at_first_gets_every_event_once() {
    let (server, bulk) = Bulk::start(|s| s.unavailable = 2).await;
    let run = run(&server.uri()).await;
    assert_eq!(run.summary["events_delivered"], RECORDS, "{}", run.summary);
    assert_eq!(run.summary["retries"], 2);
    assert_stored_once(&bulk.docs());
    assert!(run.dead_letter_keys.is_empty());
}

#[tokio::test]
async fn a_cluster_down_for_the_run_dead_letters_every_event() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let run = run(&format!("http://127.0.0.1:{closed}")).await;
    assert_eq!(run.summary["events_delivered"], 0, "{}", run.summary);
    assert_eq!(run.summary["dead_lettered"], RECORDS);
    assert_eq!(run.dead_letter_keys.len(), 3, "one letter a batch of 200: {:?}", run.dead_letter_keys);
    assert!(run.dead_letter_keys.iter().all(|k| k.contains("cloudtrail")), "{:?}", run.dead_letter_keys);
}
