//! End to end: CloudTrail log files in moto's S3 server, the `cloudtrail-s3` handler, and a Splunk
//! HEC receiver on a local HTTP server. Every record must arrive exactly once, as valid OCSF.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use audit_relay_tests::{corpus, moto};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

const TRAIL: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19";

async fn put(moto: &moto::MotoServer, bucket: &str, key: &str, body: Vec<u8>) {
    moto.s3_client().put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.unwrap();
}

/// An S3 notification as S3 writes it: keys form-encoded.
fn s3_notification(bucket: &str, keys: &[&str]) -> String {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            let encoded = key.replace(' ', "+");
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                   "eventName": "ObjectCreated:Put",
                   "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                          "object": {"key": encoded, "size": 1}}})
        })
        .collect();
    json!({ "Records": records }).to_string()
}

fn sqs_batch(bodies: &[(&str, String)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| {
            json!({"messageId": id, "receiptHandle": "h", "body": body, "attributes": {}, "messageAttributes": {},
                   "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:trail-notifications", "awsRegion": "us-east-1"})
        })
        .collect();
    json!({ "Records": records })
}

/// Counts of each `metadata.uid`.
fn uid_counts(events: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in events {
        let uid = event["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        *counts.entry(uid).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn sqs_batch_delivers_every_record_once_skips_digests_and_fails_only_the_corrupt_object() {
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let dlq = moto.bucket("state").await;
    let hec = splunk_hec().await;

    let good_key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1205Z_a b.json.gz");
    put(&moto, &trail, &good_key, corpus::gz_bytes(2_000, 7)).await;
    let digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/11/19/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20241119T120500Z.json.gz";
    put(&moto, &trail, digest_key, b"{\"awsAccountId\":\"111122223333\"}".to_vec()).await;
    let mut corrupt = corpus::gz_bytes(50, 8);
    corrupt[12..].iter_mut().for_each(|b| *b ^= 0xa5);
    let corrupt_key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1210Z_corrupt.json.gz");
    put(&moto, &trail, &corrupt_key, corrupt).await;

    let payload = sqs_batch(&[
        ("m-good", s3_notification(&trail, &[&good_key])),
        ("m-digest", s3_notification(&trail, &[digest_key])),
        ("m-corrupt", s3_notification(&trail, &[&corrupt_key])),
        ("m-test", json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": trail}).to_string()),
    ]);
    let deps = moto.hec_pipeline(&hec.uri(), &dlq).await;
    let response = handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();

    assert_eq!(response, json!({"batchItemFailures": [{"itemIdentifier": "m-corrupt"}]}));
    let events = hec_events(&hec).await;
    assert_eq!(events.len(), 2_000);
    let counts = uid_counts(&events);
    assert_eq!(counts.len(), 2_000, "every record exactly once");
    let mut indexes: Vec<u64> = counts.keys().filter_map(|uid| corpus::index_of_event_id(uid)).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..2_000).collect::<Vec<_>>());
    assert_valid_ocsf(&events);
}

#[tokio::test]
async fn truncated_object_delivers_records_before_the_cut_and_names_the_key() {
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let dlq = moto.bucket("state").await;
    let hec = splunk_hec().await;
    let whole = corpus::gz_bytes(3_000, 9);
    let key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1215Z_cut.json.gz");
    put(&moto, &trail, &key, whole[..whole.len() / 2].to_vec()).await;

    let deps = moto.hec_pipeline(&hec.uri(), &dlq).await;
    let payload: Value = serde_json::from_str(&s3_notification(&trail, &[&key])).unwrap();
    let error = handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap_err()
        .to_string();

    assert!(error.contains(&key), "{error}");
    assert!(error.contains("corrupt gzip"), "{error}");
    let events = hec_events(&hec).await;
    let counts = uid_counts(&events);
    assert!(events.len() > 100 && events.len() < 3_000, "{}", events.len());
    assert_eq!(counts.len(), events.len(), "no record twice");
    let mut indexes: Vec<u64> = counts.keys().filter_map(|uid| corpus::index_of_event_id(uid)).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..events.len() as u64).collect::<Vec<_>>(), "the records before the cut, in full");
    assert_valid_ocsf(&events);
}

#[tokio::test]
async fn eventbridge_object_created_forwards_the_bundled_sample() {
    let moto = moto::start().await;
    let trail = moto.bucket("trail").await;
    let dlq = moto.bucket("state").await;
    let hec = splunk_hec().await;
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../samples/cloudtrail/111122223333_CloudTrail_us-east-1_20241119T1205Z_sample0001.json.gz"
    );
    let key = format!("{TRAIL}/111122223333_CloudTrail_us-east-1_20241119T1205Z_sample0001.json.gz");
    put(&moto, &trail, &key, std::fs::read(sample).unwrap()).await;

    let payload = json!({"version": "0", "id": "f5f1e65c-dc3a-93ca-6c1e-b1647eac7963", "detail-type": "Object Created",
        "source": "aws.s3", "account": "111122223333", "time": "2024-11-19T12:05:14Z", "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{trail}")],
        "detail": {"version": "0", "bucket": {"name": trail}, "object": {"key": key, "size": 2444},
                   "request-id": "57H08PA84AB1JZW0", "requester": "cloudtrail.amazonaws.com", "reason": "PutObject"}});
    let deps = moto.hec_pipeline(&hec.uri(), &dlq).await;
    let summary = handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default()))
        .await
        .unwrap();

    assert_eq!(summary["objects"], 1);
    assert_eq!(summary["records"], 7);
    assert_eq!(summary["events_delivered"], 7);
    assert_eq!(summary["dead_lettered"], 0);
    let events = hec_events(&hec).await;
    assert_eq!(events.len(), 7);
    let classes: Vec<u64> = events.iter().map(|e| e["class_uid"].as_u64().unwrap()).collect();
    assert_eq!(classes, vec![3002, 3002, 3002, 3001, 3006, 6003, 6003]);
    assert_valid_ocsf(&events);
}

#[tokio::test]
async fn bundled_invoke_payloads_forward_the_bundled_samples() {
    let moto = moto::start().await;
    let bucket = moto.bucket("audit-relay-local").await;
    let dlq = moto.bucket("state").await;
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/cloudtrail");
    let events_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/cloudtrail-s3/events");
    for (file, folder) in [
        ("111122223333_CloudTrail_us-east-1_20241119T1205Z_sample0001.json.gz", "CloudTrail"),
        ("111122223333_CloudTrail-Insight_us-east-1_20241119T1210Z_sample0002.json.gz", "CloudTrail-Insight"),
    ] {
        let key = format!("AWSLogs/111122223333/{folder}/us-east-1/2024/11/19/{file}");
        put(&moto, &bucket, &key, std::fs::read(format!("{samples}/{file}")).unwrap()).await;
    }
    for (payload_file, expected_events) in
        [("s3-notification.json", 7), ("eventbridge.json", 7), ("sns-in-sqs.json", 7), ("sqs-batch.json", 8)]
    {
        let hec = splunk_hec().await;
        let deps = moto.hec_pipeline(&hec.uri(), &dlq).await;
        let text = std::fs::read_to_string(format!("{events_dir}/{payload_file}")).unwrap();
        let payload: Value = serde_json::from_str(&text).unwrap();
        let response =
            handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default()))
                .await
                .unwrap();
        if let Some(failures) = response.get("batchItemFailures") {
            assert_eq!(failures, &json!([]), "{payload_file}");
        }
        let events = hec_events(&hec).await;
        assert_eq!(events.len(), expected_events, "{payload_file}");
        assert_valid_ocsf(&events);
    }
}
