use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::delivery::{Delivery, DeliveryReport};
use crate::sinks::http_client;
use crate::test_support::{event, gunzip, settings, RecordingDeadLetter};

fn hec(url: &str) -> Settings {
    Settings {
        url: url.parse().unwrap(),
        token: Secret::new("hec-token-1"),
        index: None,
        sourcetype: None,
        host: "relay-host".to_string(),
    }
}

fn context(format: OutputFormat) -> EncodeContext {
    EncodeContext { source: Source::Cloudtrail, format }
}

#[test]
fn response_classification_table() {
    let cases: &[(u16, &str, Verdict, Option<i64>)] = &[
        (200, r#"{"text":"Success","code":0}"#, Verdict::Delivered, Some(0)),
        (200, "", Verdict::Delivered, None),
        (403, r#"{"text":"Token disabled","code":1}"#, Verdict::Reject, Some(1)),
        (401, r#"{"text":"Token is required","code":2}"#, Verdict::Reject, Some(2)),
        (401, r#"{"text":"Invalid authorization","code":3}"#, Verdict::Reject, Some(3)),
        (403, r#"{"text":"Invalid token","code":4}"#, Verdict::Reject, Some(4)),
        (400, r#"{"text":"No data","code":5}"#, Verdict::Reject, Some(5)),
        (
            400,
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#,
            Verdict::Partial { accepted: 2 },
            Some(6),
        ),
        (400, r#"{"text":"Invalid data format","code":6}"#, Verdict::Reject, Some(6)),
        (400, r#"{"text":"Incorrect index","code":7,"invalid-event-number":1}"#, Verdict::Reject, Some(7)),
        (500, r#"{"text":"Internal server error","code":8}"#, Verdict::Retry, Some(8)),
        (503, r#"{"text":"Server is busy","code":9}"#, Verdict::Retry, Some(9)),
        (400, r#"{"text":"Data channel is missing","code":10}"#, Verdict::Reject, Some(10)),
        (400, r#"{"text":"Invalid data channel","code":11}"#, Verdict::Reject, Some(11)),
        (400, r#"{"text":"Event field is required","code":12}"#, Verdict::Reject, Some(12)),
        (400, r#"{"text":"Event field cannot be blank","code":13}"#, Verdict::Reject, Some(13)),
        (400, r#"{"text":"ACK is disabled","code":14}"#, Verdict::Reject, Some(14)),
        (400, r#"{"text":"Error in handling indexed fields","code":15}"#, Verdict::Reject, Some(15)),
        (400, r#"{"text":"Query string authorization is not enabled","code":16}"#, Verdict::Reject, Some(16)),
        (503, r#"{"text":"HEC is unhealthy, queues are full","code":18}"#, Verdict::Retry, Some(18)),
        (503, r#"{"text":"HEC is unhealthy","code":19}"#, Verdict::Retry, Some(19)),
        (503, r#"{"text":"HEC is unhealthy","code":20}"#, Verdict::Retry, Some(20)),
        (429, r#"{"text":"Too many requests","code":4}"#, Verdict::Retry, Some(4)),
        (502, "<html>Bad Gateway</html>", Verdict::Retry, None),
        (404, "Not Found", Verdict::Reject, None),
        (408, "", Verdict::Retry, None),
    ];
    for (status, body, verdict, code) in cases {
        let (got, hec) = classify(StatusCode::from_u16(*status).unwrap(), body.as_bytes());
        assert_eq!((got, hec.map(|h| h.code)), (*verdict, *code), "{status} {body}");
    }
}

#[test]
fn envelopes_carry_time_metadata_and_the_event_verbatim() {
    let mut config = hec("https://hec.example.com/services/collector/event");
    config.index = Some("audit".into());
    let sink = SplunkHecSink::new(&config, reqwest::Client::new()).unwrap();
    let encoder = sink.encoder(context(OutputFormat::Ocsf));
    let cases = [
        (1_426_279_439_123, r#"{"time":1426279439.123,"#),
        (1_426_279_439_005, r#"{"time":1426279439.005,"#),
        (1_426_279_439_000, r#"{"time":1426279439.000,"#),
        (999, r#"{"time":0.999,"#),
        (0, "{"),
    ];
    for (time_ms, start) in cases {
        let e = OutboundEvent { time_ms, json: r#"{"class_uid":6003,"s":"a\"b"}"#.into() };
        let mut out = Vec::new();
        encoder.encode(&e, &mut out);
        let expected = format!(
            r#"{start}"host":"relay-host","source":"audit-relay:cloudtrail","sourcetype":"ocsf","index":"audit","event":{}}}"#,
            e.json
        );
        assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
        assert_eq!(encoder.original(&out).as_ref(), e.json.as_bytes());
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["event"]["s"], "a\"b");
    }
}

#[test]
fn sourcetype_defaults_by_format_and_setting_wins() {
    let sourcetype = |configured: Option<&str>, format| {
        let mut config = hec("https://hec.example.com/services/collector/event");
        config.sourcetype = configured.map(str::to_string);
        let encoder = SplunkHecSink::new(&config, reqwest::Client::new()).unwrap().encoder(context(format));
        let mut out = Vec::new();
        encoder.encode(&event(0), &mut out);
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(parsed.get("index").is_none());
        parsed["sourcetype"].as_str().unwrap().to_string()
    };
    assert_eq!(sourcetype(None, OutputFormat::Ocsf), "ocsf");
    assert_eq!(sourcetype(None, OutputFormat::Raw), "aws:cloudtrail");
    assert_eq!(sourcetype(Some("my:type"), OutputFormat::Raw), "my:type");
}

async fn run(server: &MockServer, events: usize) -> (DeliveryReport, std::sync::Arc<RecordingDeadLetter>) {
    let settings = settings(1, 3);
    let sink = hec(&format!("{}/services/collector/event", server.uri()))
        .build(http_client(settings.request_timeout).unwrap())
        .unwrap();
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(10));
    for i in 0..events {
        delivery.push(event(i)).await.unwrap();
    }
    (delivery.finish().await.unwrap(), store)
}

fn envelope(i: usize) -> String {
    let e = event(i);
    format!(
        r#"{{"time":{}.123,"host":"relay-host","source":"audit-relay:cloudtrail","sourcetype":"ocsf","event":{}}}"#,
        1_426_279_439 + i,
        e.json
    )
}

#[tokio::test]
async fn posts_gzip_envelopes_with_the_splunk_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/collector/event"))
        .and(header("authorization", "Splunk hec-token-1"))
        .and(header("content-encoding", "gzip"))
        .and(header("content-type", "application/json"))
        .and(header("user-agent", concat!("audit-relay/", env!("CARGO_PKG_VERSION"))))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"Success","code":0}"#))
        .expect(1)
        .mount(&server)
        .await;
    let (report, store) = run(&server, 3).await;
    let requests = server.received_requests().await.unwrap();
    assert_eq!(gunzip(&requests[0].body), format!("{}\n{}\n{}\n", envelope(0), envelope(1), envelope(2)));
    assert_eq!(
        report,
        DeliveryReport {
            delivered: 3,
            dead_lettered: 0,
            retries: 0,
            bytes_sent: requests[0].body.len() as u64,
            requests: 1,
            sink_millis: report.sink_millis,
            fields_truncated: 0,
        }
    );
    assert!(store.letters().is_empty());
}

#[tokio::test]
async fn invalid_token_is_dead_lettered_with_the_hec_reason_without_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"text":"Invalid token","code":4}"#))
        .expect(1)
        .mount(&server)
        .await;
    let (report, store) = run(&server, 2).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 2, 0));
    let letters = store.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, r#"refused by the sink: 403: {"text":"Invalid token","code":4}"#);
    assert_eq!(letters[0].sink, "splunk_hec");
    assert_eq!(store.lines(), vec![event(0).json, event(1).json]);
}

#[tokio::test]
async fn invalid_event_number_dead_letters_that_event_and_resends_the_rest() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"Success","code":0}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    let (report, store) = run(&server, 4).await;
    let bodies: Vec<String> =
        server.received_requests().await.unwrap().iter().map(|r| gunzip(&r.body)).collect();
    assert_eq!(
        bodies,
        vec![
            (0..4).map(|i| envelope(i) + "\n").collect::<String>(),
            format!("{}\n{}\n", envelope(2), envelope(3))
        ]
    );
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (3, 1, 0));
    let letters = store.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(store.lines(), vec![event(1).json]);
    assert_eq!(
        letters[0].reason,
        r#"event refused by the sink: 400: {"text":"Invalid data format","code":6,"invalid-event-number":1}"#
    );
}

#[tokio::test]
async fn busy_server_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string(r#"{"text":"Server is busy","code":9}"#))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"Success","code":0}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    let (report, store) = run(&server, 2).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (2, 0, 2));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(store.letters().is_empty());
}

/// A HEC stand-in: `health` answers the health endpoint, `token` the empty event request.
async fn hec_stand_in(health: ResponseTemplate, token: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/collector/health"))
        .respond_with(health)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/collector/event"))
        .and(header("authorization", "Splunk hec-token-1"))
        .respond_with(token)
        .mount(&server)
        .await;
    server
}

async fn check(server: &MockServer) -> crate::probe::Probe {
    let sink = hec(&format!("{}/services/collector/event", server.uri()))
        .build(http_client(settings(1, 1).request_timeout).unwrap())
        .unwrap();
    sink.check(Duration::from_secs(5)).await
}

#[tokio::test]
async fn check_reads_health_then_sends_an_empty_request_that_indexes_nothing() {
    let healthy = ResponseTemplate::new(200).set_body_string(r#"{"text":"HEC is healthy","code":17}"#);
    let no_data = ResponseTemplate::new(400).set_body_string(r#"{"text":"No data","code":5}"#);
    let server = hec_stand_in(healthy, no_data).await;
    let probe = check(&server).await;
    assert!(probe.ok, "{probe:?}");
    assert_eq!(probe.target, server.address().to_string());
    assert!(probe.detail.contains("token accepted"), "{}", probe.detail);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].body.is_empty(), "the token check carries no event");
}

#[tokio::test]
async fn check_fails_on_a_refused_token_an_unhealthy_hec_and_a_wrong_path() {
    let healthy = || ResponseTemplate::new(200).set_body_string(r#"{"text":"HEC is healthy","code":17}"#);
    let cases = [
        (
            healthy(),
            ResponseTemplate::new(403).set_body_string(r#"{"text":"Invalid token","code":4}"#),
            "SIEM_TOKEN is not an enabled HEC token",
        ),
        (
            healthy(),
            ResponseTemplate::new(401).set_body_string(r#"{"text":"Token is required","code":2}"#),
            "SIEM_TOKEN is not an enabled HEC token",
        ),
        (
            ResponseTemplate::new(503)
                .set_body_string(r#"{"text":"HEC is unhealthy, queues are full","code":18}"#),
            ResponseTemplate::new(400).set_body_string(r#"{"text":"No data","code":5}"#),
            "not healthy",
        ),
        (healthy(), ResponseTemplate::new(404).set_body_string("Not Found"), "not a HEC event endpoint"),
    ];
    for (health, token, hint) in cases {
        let server = hec_stand_in(health, token).await;
        let probe = check(&server).await;
        assert!(!probe.ok, "{probe:?}");
        assert!(probe.hint.as_deref().unwrap_or_default().contains(hint), "{probe:?}");
        assert!(!format!("{probe:?}").contains("hec-token-1"));
    }
}

#[tokio::test]
async fn check_of_an_unreachable_hec_says_so() {
    // A port nothing listens on (wiremock keeps a dropped server listening for reuse).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/services/collector/event");
    let sink = hec(&url).build(http_client(settings(1, 1).request_timeout).unwrap()).unwrap();
    let probe = sink.check(Duration::from_secs(2)).await;
    assert!(!probe.ok);
    assert!(probe.hint.as_deref().unwrap_or_default().contains("cannot be reached"), "{probe:?}");
}
