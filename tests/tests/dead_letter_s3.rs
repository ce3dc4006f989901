//! The S3 dead-letter store against moto's S3 server: key layout
//! (`dlq/cloudtrail/YYYY/MM/DD/<uuid>.ndjson.gz`), gzip NDJSON lines exactly as the events were,
//! and the reason, sink, attempts and last response as object metadata; then the same through the
//! delivery engine when a Splunk HEC refuses the token, and when the bucket cannot be written.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed set-up should stop the test

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use audit_relay::dead_letter::{DeadLetter, DeadLetterStore, S3DeadLetter};
use audit_relay::delivery::{Delivery, DeliveryError, DeliveryReport, DeliverySettings};
use audit_relay::env::EnvReader;
use audit_relay::event::{OutboundEvent, Source};
use audit_relay::sinks::Sink;
use audit_relay_tests::{moto, offline};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Today's UTC date as `YYYY/MM/DD` (civil-from-days, Howard Hinnant's algorithm).
fn utc_date_path(now: SystemTime) -> String {
    let days = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 / 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}/{month:02}/{day:02}")
}

/// Checks `key` is `dlq/cloudtrail/<date>/<uuid v4>.ndjson.gz` for one of `dates`.
fn assert_key_layout(key: &str, dates: &[String]) {
    let rest = dates
        .iter()
        .find_map(|date| key.strip_prefix(&format!("dlq/cloudtrail/{date}/")))
        .unwrap_or_else(|| panic!("{key} is not under dlq/cloudtrail/{dates:?}/"));
    let uuid = rest.strip_suffix(".ndjson.gz").unwrap_or_else(|| panic!("{key} does not end in .ndjson.gz"));
    let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
    assert_eq!(groups, vec![8, 4, 4, 4, 12], "{key}");
    assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{key}");
    assert_eq!(&uuid[14..15], "4", "{key}: not a v4 UUID");
}

struct Object {
    key: String,
    lines: String,
    metadata: HashMap<String, String>,
    content_type: Option<String>,
}

async fn objects(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<Object> {
    let listed = client.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().unwrap().to_string();
        let got = client.get_object().bucket(bucket).key(&key).send().await.unwrap();
        let metadata = got.metadata().cloned().unwrap_or_default();
        let content_type = got.content_type().map(str::to_string);
        let body = got.body.collect().await.unwrap().into_bytes();
        let mut lines = String::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_string(&mut lines).unwrap();
        out.push(Object { key, lines, metadata, content_type });
    }
    out
}

fn event(i: i64) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_732_000_000_000 + i,
        json: format!(r#"{{"class_uid":6003,"n":{i},"api":{{"operation":"ConsoleLogin"}}}}"#),
    }
}

#[tokio::test]
async fn dead_letters_are_gzip_ndjson_under_the_dated_source_prefix_with_metadata() {
    let moto = moto::start().await;
    let bucket = moto.bucket("audit-relay-dlq").await;
    let client = moto.s3_client();
    let store = S3DeadLetter::new(client.clone(), &bucket, "dlq/");
    let before = utc_date_path(SystemTime::now());
    let letter = DeadLetter {
        source: Source::Cloudtrail,
        lines: format!("{}\n{}\n", event(0).json, event(1).json).into_bytes(),
        events: 2,
        reason: "gave up after 6 attempts: 503: {\"text\":\"Server is busy\",\"code\":9}".to_string(),
        sink: "splunk_hec".to_string(),
        attempts: 6,
        last_response: Some("503: {\"text\":\"Server is busy\",\"code\":9}".to_string()),
        times: Some((1_732_000_000_000, 1_732_000_000_001)),
    };
    let location = store.write(letter).await.unwrap();
    let dates = [before, utc_date_path(SystemTime::now())];

    let objects = objects(&client, &bucket).await;
    assert_eq!(objects.len(), 1);
    let object = &objects[0];
    assert_eq!(location, format!("s3://{bucket}/{}", object.key));
    assert_key_layout(&object.key, &dates);
    assert_eq!(object.lines, format!("{}\n{}\n", event(0).json, event(1).json));
    assert_eq!(object.content_type.as_deref(), Some("application/x-ndjson"));
    let expected: HashMap<String, String> = [
        ("reason", "gave up after 6 attempts: 503: {\"text\":\"Server is busy\",\"code\":9}"),
        ("sink", "splunk_hec"),
        ("attempts", "6"),
        ("events", "2"),
        ("last-response", "503: {\"text\":\"Server is busy\",\"code\":9}"),
        ("first-event-time", "2024-11-19T07:06:40Z"),
        ("last-event-time", "2024-11-19T07:06:40.001Z"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(object.metadata, expected);
}

/// The Splunk HEC sink at `uri` and its delivery settings (3 events a batch, 2 in flight, 3
/// attempts), configured as the functions configure them.
async fn hec_sink(uri: &str) -> (Arc<dyn Sink>, DeliverySettings) {
    let url = format!("{uri}/services/collector/event");
    let env = EnvReader::from_map(
        [
            ("SIEM_TYPE", "splunk_hec"),
            ("SIEM_URL", url.as_str()),
            ("SIEM_TOKEN", "hec-token-xyz"),
            ("BATCH_MAX_EVENTS", "3"),
            ("SINK_CONCURRENCY", "2"),
            ("SINK_TIMEOUT_SECS", "5"),
            ("SINK_MAX_ATTEMPTS", "3"),
        ],
        None,
    );
    let pipeline = offline::pipeline(&env).await;
    (pipeline.sink, pipeline.config.delivery)
}

#[tokio::test]
async fn a_batch_refused_by_splunk_lands_in_the_bucket_with_the_hec_reason() {
    let moto = moto::start().await;
    let bucket = moto.bucket("dlq-hec").await;
    let client = moto.s3_client();
    let hec = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"text":"Invalid token","code":4}"#))
        .expect(2)
        .mount(&hec)
        .await;
    let (sink, settings) = hec_sink(&hec.uri()).await;
    let store: Arc<dyn DeadLetterStore> = Arc::new(S3DeadLetter::new(client.clone(), &bucket, "dlq/"));
    let before = utc_date_path(SystemTime::now());
    let mut delivery = Delivery::new(sink, store, &settings, Source::Cloudtrail, None);
    for i in 0..5 {
        delivery.push(event(i)).await.unwrap();
    }
    delivery
        .reject("{\"eventVersion\":\"1.08\"}".to_string(), "record 7: missing eventTime".to_string())
        .await
        .unwrap();
    let report = delivery.finish().await.unwrap();
    let dates = [before, utc_date_path(SystemTime::now())];
    let requests = hec.received_requests().await.unwrap();
    let sent: u64 = requests.iter().map(|r| r.body.len() as u64).sum();
    assert_eq!(
        report,
        DeliveryReport {
            delivered: 0,
            dead_lettered: 6,
            retries: 0,
            bytes_sent: sent,
            requests: requests.len() as u64,
            sink_millis: report.sink_millis,
            fields_truncated: 0,
        }
    );

    let mut objects = objects(&client, &bucket).await;
    objects.sort_by(|a, b| a.lines.cmp(&b.lines));
    assert_eq!(objects.len(), 3);
    for object in &objects {
        assert_key_layout(&object.key, &dates);
    }
    let lines: Vec<&str> = objects.iter().map(|o| o.lines.as_str()).collect();
    let refused_1 = format!("{}\n{}\n{}\n", event(0).json, event(1).json, event(2).json);
    let refused_2 = format!("{}\n{}\n", event(3).json, event(4).json);
    assert_eq!(lines, vec![refused_1.as_str(), refused_2.as_str(), "{\"eventVersion\":\"1.08\"}\n"]);
    for (object, events) in objects[..2].iter().zip(["3", "2"]) {
        let meta = &object.metadata;
        assert_eq!(meta["reason"], r#"refused by the sink: 403: {"text":"Invalid token","code":4}"#);
        assert_eq!(meta["sink"], "splunk_hec");
        assert_eq!(meta["attempts"], "1");
        assert_eq!(meta["events"], events);
        assert_eq!(meta["last-response"], r#"403: {"text":"Invalid token","code":4}"#);
        assert!(meta.values().all(|v| !v.contains("hec-token-xyz")));
    }
    let rejected = &objects[2].metadata;
    assert_eq!(rejected["reason"], "record 7: missing eventTime");
    assert_eq!(rejected["attempts"], "0");
    assert_eq!(rejected["events"], "1");
    assert!(!rejected.contains_key("last-response"));
}

#[tokio::test]
async fn a_missing_bucket_while_the_sink_refuses_fails_the_run() {
    let moto = moto::start().await;
    let hec = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"text":"Incorrect index","code":7}"#))
        .mount(&hec)
        .await;
    let (sink, settings) = hec_sink(&hec.uri()).await;
    let store = Arc::new(S3DeadLetter::new(moto.s3_client(), "no-such-bucket", "dlq/"));
    let mut delivery = Delivery::new(sink, store, &settings, Source::Cloudtrail, None);
    for i in 0..2 {
        delivery.push(event(i)).await.unwrap();
    }
    let DeliveryError::Lost { events, reason } = delivery.finish().await.unwrap_err();
    assert_eq!(events, 2);
    assert!(
        reason.starts_with(r#"refused by the sink: 400: {"text":"Incorrect index","code":7}; "#),
        "{reason}"
    );
    assert!(reason.contains("could not write s3://no-such-bucket/dlq/cloudtrail/"), "{reason}");
    assert!(reason.contains("NoSuchBucket"), "{reason}");
}
