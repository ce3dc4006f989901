use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::delivery::{Delivery, DeliveryReport};
use crate::sinks::http_client;
use crate::test_support::{event, gunzip, settings, RecordingDeadLetter};

fn datadog(url: &str) -> Settings {
    Settings {
        url: url.parse().unwrap(),
        token: Secret::new("dd-key-1"),
        service: "audit-relay".to_string(),
        tags: Some("env:prod,team:sec".into()),
    }
}

#[test]
fn entries_carry_reserved_attributes_and_the_event_as_message() {
    let sink = DatadogSink::new(
        &datadog("https://http-intake.logs.datadoghq.eu/api/v2/logs"),
        reqwest::Client::new(),
    )
    .unwrap();
    let encoder = sink.encoder(EncodeContext { source: Source::Cloudtrail, format: OutputFormat::Ocsf });
    let e = event(0);
    let mut out = Vec::new();
    encoder.encode(&e, &mut out);
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        r#"{"ddsource":"cloudtrail","ddtags":"source:cloudtrail,format:ocsf,env:prod,team:sec","service":"audit-relay","timestamp":1426279439123,"message":"{\"class_uid\":6003,\"n\":0,\"msg\":\"say \\\"hi\\\"\\\\n\"}"}"#
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed["message"].as_str().unwrap(), e.json);
    assert_eq!(encoder.original(&out).as_ref(), e.json.as_bytes());

    let raw = sink.encoder(EncodeContext { source: Source::Cloudtrail, format: OutputFormat::Raw });
    let mut out = Vec::new();
    raw.encode(&OutboundEvent { time_ms: 0, json: "{}".into() }, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"ddsource":"cloudtrail","ddtags":"source:cloudtrail,format:raw,env:prod,team:sec","service":"audit-relay","message":"{}"}"#
    );
}

#[test]
fn limits_follow_the_intake() {
    let sink =
        DatadogSink::new(&datadog("https://x.example.com/api/v2/logs"), reqwest::Client::new()).unwrap();
    assert_eq!(
        sink.limits(),
        SinkLimits { max_body_bytes: 5_000_000, max_events: 1_000, max_record_bytes: 1_000_000 }
    );
}

async fn run(
    server: &MockServer,
    events: Vec<OutboundEvent>,
) -> (DeliveryReport, std::sync::Arc<RecordingDeadLetter>) {
    let settings = settings(2, 3);
    let sink = datadog(&format!("{}/api/v2/logs", server.uri()))
        .build(http_client(settings.request_timeout).unwrap())
        .unwrap();
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(10));
    for e in events {
        delivery.push(e).await.unwrap();
    }
    (delivery.finish().await.unwrap(), store)
}

#[tokio::test]
async fn posts_gzip_json_arrays_of_at_most_1000_entries_with_the_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/logs"))
        .and(header("dd-api-key", "dd-key-1"))
        .and(header("content-encoding", "gzip"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(202).set_body_string("{}"))
        .expect(3)
        .mount(&server)
        .await;
    let (report, store) = run(&server, (0..2_500).map(event).collect()).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (2_500, 0, 0));
    assert!(store.letters().is_empty());
    let mut requests = server.received_requests().await.unwrap();
    let arrays: Vec<Vec<serde_json::Value>> =
        requests.iter_mut().map(|r| serde_json::from_str(&gunzip(&r.body)).unwrap()).collect();
    let mut sizes: Vec<usize> = arrays.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![500, 1_000, 1_000]);
    let mut messages: Vec<String> =
        arrays.iter().flatten().map(|entry| entry["message"].as_str().unwrap().to_string()).collect();
    messages.sort_unstable();
    let mut expected: Vec<String> = (0..2_500).map(|i| event(i).json).collect();
    expected.sort_unstable();
    assert_eq!(messages, expected);
    assert_eq!(arrays[0][0]["ddsource"], "cloudtrail");
    assert_eq!(arrays[0][0]["service"], "audit-relay");
}

#[tokio::test]
async fn an_entry_over_1_mb_is_dead_lettered_and_never_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(202)).expect(1).mount(&server).await;
    let big = OutboundEvent { time_ms: 1, json: format!("{{\"x\":\"{}\"}}", "y".repeat(1_000_000)) };
    let (report, store) = run(&server, vec![event(0), big.clone(), event(1)]).await;
    assert_eq!((report.delivered, report.dead_lettered), (2, 1));
    let letters = store.letters();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].reason.starts_with("event of 1000")
            && letters[0].reason.ends_with("exceeds the datadog limit of 1000000 bytes per event"),
        "{}",
        letters[0].reason
    );
    assert_eq!(store.lines(), vec![big.json]);
    let requests = server.received_requests().await.unwrap();
    let sent: Vec<serde_json::Value> = serde_json::from_str(&gunzip(&requests[0].body)).unwrap();
    assert_eq!(sent.len(), 2);
}

#[tokio::test]
async fn payload_too_large_and_bad_requests_are_not_retried() {
    for status in [400, 401, 403, 413] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let (report, store) = run(&server, vec![event(0), event(1)]).await;
        assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 2, 0), "{status}");
        assert_eq!(store.lines(), vec![event(0).json, event(1).json], "{status}");
        assert_eq!(store.letters()[0].last_response.as_deref(), Some(status.to_string().as_str()));
    }
}

#[tokio::test]
async fn request_timeouts_and_server_errors_are_retried() {
    for status in [408, 429, 500] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(202))
            .with_priority(2)
            .mount(&server)
            .await;
        let (report, _) = run(&server, vec![event(0)]).await;
        assert_eq!((report.delivered, report.retries), (1, 1), "{status}");
    }
}

#[test]
fn the_key_is_validated_at_the_api_host_of_the_intake_site() {
    let validate = |intake: &str| validate_url(&url::Url::parse(intake).unwrap()).to_string();
    assert_eq!(
        validate("https://http-intake.logs.datadoghq.eu/api/v2/logs"),
        "https://api.datadoghq.eu/api/v1/validate"
    );
    assert_eq!(
        validate("https://http-intake.logs.us5.datadoghq.com/api/v2/logs?ddtags=a:b"),
        "https://api.us5.datadoghq.com/api/v1/validate"
    );
    assert_eq!(validate("http://127.0.0.1:9/api/v2/logs"), "http://127.0.0.1:9/api/v1/validate");
}

#[tokio::test]
async fn check_validates_the_key_and_names_a_refused_one() {
    for (status, body, ok) in [
        (200, r#"{"valid":true}"#, true),
        (403, r#"{"errors":["Forbidden"]}"#, false),
        (404, "Not Found", false),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/validate"))
            .and(header("dd-api-key", "dd-key-1"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let config = datadog(&format!("{}/api/v2/logs", server.uri()));
        let sink = config.build(http_client(settings(1, 1).request_timeout).unwrap()).unwrap();
        let probe = sink.check(Duration::from_secs(5)).await;
        assert_eq!(probe.ok, ok, "{status}: {probe:?}");
        if status == 403 {
            assert!(probe.hint.as_deref().unwrap().contains("not a valid Datadog API key"), "{probe:?}");
        }
        assert!(!format!("{probe:?}").contains("dd-key-1"));
    }
}
