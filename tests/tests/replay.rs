//! Replay of dead letters from moto's S3 server through a Splunk HEC receiver: every event is sent
//! once, objects move to `replayed/` only when all their events were accepted, events refused
//! again stay, and a second replay sends nothing twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_relay::config::Config;
use audit_relay::dead_letter::{DeadLetter, DeadLetterStore, S3DeadLetter};
use audit_relay::env::EnvReader;
use audit_relay::event::{OutputFormat, Source};
use audit_relay::replay::Replayer;
use audit_relay::sinks;
use audit_relay_tests::moto;
use audit_relay_tests::receiver::{body_of, splunk_hec};
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn replayer(moto: &moto::MotoServer, hec: &MockServer) -> Replayer {
    let env = EnvReader::from_map(
        [
            ("SIEM_TYPE", "splunk_hec".to_string()),
            ("SIEM_URL", format!("{}/services/collector/event", hec.uri())),
            ("SIEM_TOKEN", "replay-token".to_string()),
            ("SINK_CONCURRENCY", "1".to_string()),
            ("SINK_MAX_ATTEMPTS", "2".to_string()),
            ("SINK_TIMEOUT_SECS", "5".to_string()),
        ],
        None,
    );
    let config = Config::load(&env).await.unwrap();
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    Replayer { s3: moto.s3_client(), sink, settings: config.delivery, format: OutputFormat::Ocsf }
}

fn event(uid: &str) -> String {
    format!(r#"{{"class_uid":6003,"time":1700000000000,"metadata":{{"uid":"{uid}"}}}}"#)
}

async fn dead_letter(moto: &moto::MotoServer, uids: &[&str]) -> String {
    let store = S3DeadLetter::new(moto.s3_client(), "state", "dlq/");
    let lines: String = uids.iter().map(|u| event(u) + "\n").collect();
    store
        .write(DeadLetter {
            source: Source::Cloudtrail,
            lines: lines.into_bytes(),
            events: uids.len() as u64,
            reason: "HEC 503 until the deadline".to_string(),
            sink: "splunk_hec".to_string(),
            attempts: 6,
            last_response: Some("503".to_string()),
            times: None,
        })
        .await
        .unwrap()
}

async fn keys(moto: &moto::MotoServer, prefix: &str) -> Vec<String> {
    let listed = moto.s3_client().list_objects_v2().bucket("state").prefix(prefix).send().await.unwrap();
    listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

/// The uids in the requests the receiver answered 200.
async fn accepted_uids(hec: &MockServer, refused_requests: usize) -> Vec<String> {
    let mut uids = Vec::new();
    for request in hec.received_requests().await.unwrap().iter().skip(refused_requests) {
        for envelope in serde_json::Deserializer::from_slice(&body_of(request)).into_iter::<Value>() {
            uids.push(envelope.unwrap()["event"]["metadata"]["uid"].as_str().unwrap().to_string());
        }
    }
    uids.sort();
    uids
}

#[tokio::test]
async fn replay_sends_every_event_once_and_moves_the_objects() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    let first = dead_letter(&moto, &["a", "b", "c"]).await;
    dead_letter(&moto, &["d", "e"]).await;
    let hec = splunk_hec().await;
    let replayer = replayer(&moto, &hec).await;

    let report = replayer.replay_prefix("state", "dlq/").await.unwrap();
    assert_eq!(report.objects, 2);
    assert_eq!(report.objects_replayed, 2);
    assert_eq!(report.events_delivered, 5);
    assert_eq!(report.events_remaining, 0);
    assert_eq!(accepted_uids(&hec, 0).await, vec!["a", "b", "c", "d", "e"]);
    assert!(keys(&moto, "dlq/").await.is_empty());
    let moved = keys(&moto, "replayed/").await;
    assert_eq!(moved.len(), 2);
    assert!(moved.contains(&format!("replayed/{}", first.trim_start_matches("s3://state/"))), "{moved:?}");

    let again = replayer.replay_prefix("state", "dlq/").await.unwrap();
    assert_eq!(again.objects, 0);
    assert_eq!(accepted_uids(&hec, 0).await.len(), 5, "nothing sent twice");
}

#[tokio::test]
async fn events_refused_again_stay_and_the_next_replay_sends_only_them() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    dead_letter(&moto, &["a", "b", "c"]).await;
    let hec = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#),
        )
        .up_to_n_times(1)
        .mount(&hec)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"Success","code":0}"#))
        .mount(&hec)
        .await;
    let replayer = replayer(&moto, &hec).await;

    let report = replayer.replay_prefix("state", "dlq/").await.unwrap();
    assert_eq!((report.objects_replayed, report.objects_kept), (0, 1));
    assert_eq!((report.events_delivered, report.events_remaining), (2, 1));
    let kept = keys(&moto, "dlq/").await;
    assert_eq!(kept.len(), 1);
    let object = moto.s3_client().get_object().bucket("state").key(&kept[0]).send().await.unwrap();
    assert_eq!(object.metadata().and_then(|m| m.get("events")).map(String::as_str), Some("1"));

    let second = replayer.replay_prefix("state", "dlq/").await.unwrap();
    assert_eq!((second.objects_replayed, second.events_delivered), (1, 1));
    // The first request was refused at event 1; every accepted event arrived exactly once.
    let mut first_request: Vec<String> = Vec::new();
    let requests = hec.received_requests().await.unwrap();
    for envelope in serde_json::Deserializer::from_slice(&body_of(&requests[0])).into_iter::<Value>() {
        first_request.push(envelope.unwrap()["event"]["metadata"]["uid"].as_str().unwrap().to_string());
    }
    let mut accepted = vec![first_request[0].clone()];
    accepted.extend(accepted_uids(&hec, 1).await);
    accepted.sort();
    assert_eq!(accepted, vec!["a", "b", "c"]);
    assert!(keys(&moto, "dlq/").await.is_empty());
}
