//! The `cloudtrail-s3` handler delivering through the Firehose sink to moto's Firehose (server
//! mode), which writes each `PutRecordBatch` to its S3 destination in moto: every event arrives
//! once, as one NDJSON line, in the stream of its class (`FIREHOSE_STREAMS`-style routing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use audit_relay::sinks::firehose;
use audit_relay_tests::receiver::assert_valid_ocsf;
use audit_relay_tests::{corpus, faults, moto};
use aws_sdk_firehose::types::{DeliveryStreamType, ExtendedS3DestinationConfiguration};
use serde_json::Value;

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_fh.json.gz";
const RECORDS: u64 = 700;
const STREAMS: [&str; 3] = ["ar-authentication", "ar-api-activity", "ar-other"];

#[tokio::test]
async fn every_event_lands_once_in_the_stream_of_its_class() {
    let moto = moto::start().await;
    let lake = moto.bucket("lake").await;
    let client = aws_sdk_firehose::Client::new(&moto.sdk_config());
    for stream in STREAMS {
        client
            .create_delivery_stream()
            .delivery_stream_name(stream)
            .delivery_stream_type(DeliveryStreamType::DirectPut)
            .extended_s3_destination_configuration(
                ExtendedS3DestinationConfiguration::builder()
                    .role_arn("arn:aws:iam::123456789012:role/firehose")
                    .bucket_arn(format!("arn:aws:s3:::{lake}"))
                    .prefix(format!("{stream}/"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let sink =
        firehose::sink("3002=ar-authentication,6003=ar-api-activity,*=ar-other", None, client).unwrap();
    let vars = vec![("SIEM_TYPE", "stdout".to_string())];
    let run = faults::cloudtrail_file_on(&moto, vars, Some(sink), KEY, RECORDS, 47).await;
    assert_eq!(run.summary["events_delivered"], RECORDS, "{}", run.summary);
    assert!(run.dead_letter_keys.is_empty(), "{:?}", run.dead_letter_keys);

    // Every object of every stream: one event per line.
    let s3 = moto.s3_client();
    let listed = s3.list_objects_v2().bucket(&lake).send().await.unwrap();
    let mut by_stream: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let body = s3.get_object().bucket(&lake).key(key).send().await.unwrap().body.collect().await.unwrap();
        let text = String::from_utf8(body.into_bytes().to_vec()).unwrap();
        assert!(text.ends_with('\n'), "records end with a newline: {key}");
        let stream = key.split('/').next().unwrap().to_string();
        for line in text.lines() {
            by_stream.entry(stream.clone()).or_default().push(serde_json::from_str(line).unwrap());
        }
    }
    let mut indexes = Vec::new();
    for (stream, events) in &by_stream {
        for event in events {
            let class = event["class_uid"].as_u64().unwrap();
            let expected = match class {
                3002 => "ar-authentication",
                6003 => "ar-api-activity",
                _ => "ar-other",
            };
            assert_eq!(stream, expected, "class {class} in its stream");
            indexes.push(corpus::index_of_event_id(event["metadata"]["uid"].as_str().unwrap()).unwrap());
        }
        assert_valid_ocsf(&events[..events.len().min(20)]);
    }
    assert_eq!(by_stream.len(), 3, "the corpus has all three kinds: {:?}", by_stream.keys());
    let distinct: BTreeSet<u64> = indexes.iter().copied().collect();
    assert_eq!(indexes.len(), distinct.len(), "an event stored twice");
    assert_eq!(distinct, (0..RECORDS).collect::<BTreeSet<_>>(), "every event");
    let other: BTreeSet<u64> =
        by_stream["ar-other"].iter().map(|e| e["class_uid"].as_u64().unwrap()).collect();
    eprintln!(
        "firehose-summary: events={RECORDS} streams={:?} other_classes={other:?}",
        by_stream.iter().map(|(s, e)| (s.as_str(), e.len())).collect::<Vec<_>>()
    );
}
