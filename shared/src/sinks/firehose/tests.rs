//! The Firehose sink against a local stand-in speaking Firehose's JSON 1.1 protocol
//! (`X-Amz-Target: Firehose_20150804.PutRecordBatch`, base64 record data, `FailedPutCount` and a
//! `RequestResponses` entry per record in order), through the real AWS SDK client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_firehose::config::{BehaviorVersion, Credentials, Region};
use base64::Engine as _;
use serde_json::{json, Value};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::event::OutboundEvent;
use crate::test_support::deliver;

/// What the stand-in stored and how it misbehaves.
#[derive(Default)]
struct State {
    /// Record data by stream, as stored.
    stored: HashMap<String, Vec<String>>,
    /// Events (by `n`) answered with this record error code this many more times.
    failing: HashMap<u64, (&'static str, u32)>,
    /// Streams that do not exist.
    missing: Vec<String>,
    /// Records per call.
    calls: Vec<usize>,
}

#[derive(Clone, Default)]
struct StandIn(Arc<Mutex<State>>);

impl Respond for StandIn {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let stream = body["DeliveryStreamName"].as_str().unwrap().to_string();
        let target = request.headers.get("x-amz-target").unwrap().to_str().unwrap();
        if state.missing.contains(&stream) {
            return ResponseTemplate::new(400).set_body_raw(
                json!({"__type": "ResourceNotFoundException", "message": format!("Firehose {stream} under account 123456789012 not found.")}).to_string(),
                "application/x-amz-json-1.1",
            );
        }
        if target.ends_with("DescribeDeliveryStream") {
            let description = json!({"DeliveryStreamDescription": {"DeliveryStreamName": stream,
                "DeliveryStreamARN": format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{stream}"),
                "DeliveryStreamStatus": "ACTIVE", "DeliveryStreamType": "DirectPut", "VersionId": "1",
                "Destinations": [], "HasMoreDestinations": false}});
            return ResponseTemplate::new(200)
                .set_body_raw(description.to_string(), "application/x-amz-json-1.1");
        }
        assert!(target.ends_with("PutRecordBatch"), "{target}");
        let records = body["Records"].as_array().unwrap();
        state.calls.push(records.len());
        let mut answers = Vec::new();
        let mut failed = 0;
        for record in records {
            let data =
                base64::engine::general_purpose::STANDARD.decode(record["Data"].as_str().unwrap()).unwrap();
            let text = String::from_utf8(data).unwrap();
            assert!(text.ends_with('\n'), "each record ends with a newline");
            let n = serde_json::from_str::<Value>(&text).unwrap()["n"].as_u64().unwrap_or(u64::MAX);
            match state.failing.get_mut(&n).filter(|(_, left)| *left > 0) {
                Some((code, left)) => {
                    *left -= 1;
                    failed += 1;
                    answers.push(json!({"ErrorCode": code, "ErrorMessage": "Slow down."}));
                }
                None => {
                    state.stored.entry(stream.clone()).or_default().push(text);
                    answers.push(json!({"RecordId": format!("rec-{n}")}));
                }
            }
        }
        let answer = json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": answers});
        ResponseTemplate::new(200).set_body_raw(answer.to_string(), "application/x-amz-json-1.1")
    }
}

async fn stand_in() -> (MockServer, StandIn) {
    let server = MockServer::start().await;
    let state = StandIn::default();
    Mock::given(method("POST"))
        .and(header("content-type", "application/x-amz-json-1.1"))
        .respond_with(state.clone())
        .mount(&server)
        .await;
    (server, state)
}

/// The real SDK client, pointed at the stand-in, without the SDK's own retries (the engine's are
/// under test).
fn client(server: &MockServer) -> aws_sdk_firehose::Client {
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "test-secret", None, None, "test"))
        .endpoint_url(server.uri())
        .retry_config(aws_sdk_firehose::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_firehose::Client::from_conf(config)
}

fn event(n: u64, class_uid: u64) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_709_618_828_000 + n as i64,
        json: json!({"class_uid": class_uid, "n": n, "metadata": {"uid": format!("evt-{n}")}}).to_string(),
    }
}

#[tokio::test]
async fn each_class_goes_to_its_stream_and_only_failed_records_are_resent() {
    let (server, standin) = stand_in().await;
    standin.0.lock().unwrap().failing =
        HashMap::from([(1, ("ServiceUnavailableException", 1)), (4, ("InternalFailure", 2))]);
    let sink = sink("3002=ar-authentication, 6003=ar-api-activity", None, client(&server)).unwrap();
    let mut events: Vec<OutboundEvent> =
        (0..6).map(|n| event(n, if n % 2 == 0 { 6003 } else { 3002 })).collect();
    events.push(event(99, 4001));
    let (report, dead) = deliver(sink, &events).await;
    assert_eq!((report.delivered, report.dead_lettered), (6, 1), "{report:?}");
    assert_eq!(report.retries, 2, "two rounds for the failed records");
    let state = standin.0.lock().unwrap();
    let ns = |stream: &str| -> Vec<u64> {
        let mut ns: Vec<u64> = state.stored[stream]
            .iter()
            .map(|t| serde_json::from_str::<Value>(t).unwrap()["n"].as_u64().unwrap())
            .collect();
        ns.sort_unstable();
        ns
    };
    assert_eq!(ns("ar-api-activity"), [0, 2, 4], "each once");
    assert_eq!(ns("ar-authentication"), [1, 3, 5]);
    // The first round: one call per stream (3 + 3); then only the failed records, by stream.
    assert_eq!(state.calls, [3, 3, 1, 1, 1]);
    assert_eq!(dead.lines(), [events[6].json.clone()]);
    assert!(
        dead.letters()[0].reason.contains("class_uid 4001 has no stream"),
        "{}",
        dead.letters()[0].reason
    );
}

#[tokio::test]
async fn a_missing_stream_dead_letters_its_records_with_the_error_and_a_lone_star_takes_everything() {
    let (server, standin) = stand_in().await;
    standin.0.lock().unwrap().missing = vec!["gone".to_string()];
    let (report, dead) =
        deliver(sink("*=gone", None, client(&server)).unwrap(), &[event(1, 3002), event(2, 6003)]).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 2, 0), "{report:?}");
    assert!(
        dead.letters()[0].reason.contains("gone: ResourceNotFoundException"),
        "{}",
        dead.letters()[0].reason
    );

    let raw = OutboundEvent { time_ms: 0, json: r#"{"eventName":"ConsoleLogin"}"#.to_string() };
    let (report, _) = deliver(sink("*=all", None, client(&server)).unwrap(), &[event(3, 3002), raw]).await;
    assert_eq!(report.delivered, 2, "an event without class_uid goes to *");
    assert_eq!(standin.0.lock().unwrap().stored["all"].len(), 2);
}

#[tokio::test]
async fn check_describes_every_stream_named() {
    let (server, standin) = stand_in().await;
    let probe = sink("3002=a,*=b", None, client(&server)).unwrap().check(Duration::from_secs(5)).await;
    assert!(probe.ok, "{probe:?}");
    assert_eq!(probe.detail, "a ACTIVE, b ACTIVE");
    standin.0.lock().unwrap().missing = vec!["b".to_string()];
    let probe = sink("3002=a,*=b", None, client(&server)).unwrap().check(Duration::from_secs(5)).await;
    assert!(!probe.ok && probe.detail.contains("b: ResourceNotFoundException"), "{probe:?}");
    assert!(standin.0.lock().unwrap().calls.is_empty(), "the check puts nothing");
}

#[test]
fn streams_are_read_by_class_with_a_star_for_the_rest() {
    let routes = Routes::parse("3002=ar-authentication,6003=ar-api-activity,*=ar-other").unwrap();
    assert_eq!(routes.stream(Some(3002)), Some("ar-authentication"));
    assert_eq!(routes.stream(Some(3005)), Some("ar-other"));
    assert_eq!(routes.stream(None), Some("ar-other"));
    assert_eq!(routes.streams(), ["ar-api-activity", "ar-authentication", "ar-other"]);
    let only = Routes::parse("6003=api").unwrap();
    assert_eq!(only.stream(Some(3002)), None);
    for (text, reason) in [
        ("", "names no stream"),
        ("3002", "is not class_uid=stream"),
        ("auth=x", "is not a class_uid"),
        ("3002=a,3002=b", "named twice"),
        ("*=a,*=b", "named twice"),
        ("*=has space", "not a delivery stream name"),
    ] {
        let error = Routes::parse(text).unwrap_err();
        assert!(error.contains(reason), "{text}: {error}");
    }
}

#[tokio::test]
async fn with_an_ocsf_version_each_event_is_rewritten_to_it_and_raw_events_pass_as_they_are() {
    let (server, standin) = stand_in().await;
    let newer = OutboundEvent {
        time_ms: 1_709_618_828_000,
        json: json!({
            "class_uid": 6003,
            "time": 1_709_618_828_000_i64,
            "metadata": {"version": "1.8.0", "uid": "evt-1", "log_source": "s3://trail/key"},
            "actor": {"user": {"name": "alice", "display_name": "Alice"}},
            "http_response": {"code": 200},
        })
        .to_string(),
    };
    let raw = OutboundEvent { time_ms: 0, json: r#"{"eventName":"ConsoleLogin"}"#.to_string() };
    let sink = sink("*=sl", Some(Version::V1_3_0), client(&server)).unwrap();
    let (report, _) = deliver(sink, &[newer, raw.clone()]).await;
    assert_eq!(report.delivered, 2, "{report:?}");
    let state = standin.0.lock().unwrap();
    let stored: Vec<Value> = state.stored["sl"].iter().map(|t| serde_json::from_str(t).unwrap()).collect();
    assert_eq!(
        stored[0],
        json!({
            "class_uid": 6003,
            "time": 1_709_618_828_000_i64,
            "metadata": {"version": "1.3.0", "uid": "evt-1"},
            "actor": {"user": {"name": "alice"}},
            "unmapped": {"ocsf_1_8_0": {
                "metadata": {"log_source": "s3://trail/key"},
                "actor": {"user": {"display_name": "Alice"}},
                "http_response": {"code": 200},
            }},
        })
    );
    assert_eq!(state.stored["sl"][1].trim_end(), raw.json, "not OCSF: sent as it is");
}
