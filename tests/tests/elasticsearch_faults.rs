//! The `cloudtrail-s3` handler delivering to an Elasticsearch `_bulk` endpoint through faults: a
//! cluster that stores a batch but answers after the request timeout (the resend is answered 409
//! and counted as delivered: stored once), a cluster unavailable (503) for its first requests, and
//! a cluster down for the whole run (everything dead-lettered to S3, in moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use audit_relay_tests::bulk::Bulk;
use audit_relay_tests::corpus;
use audit_relay_tests::faults::{self, Run};
use audit_relay_tests::receiver::assert_valid_ocsf;
use serde_json::Value;

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_es.json.gz";
const RECORDS: u64 = 600;

/// Runs the handler on a corpus file with the sink posting to `siem_url`.
async fn run(siem_url: &str) -> Run {
    let vars = vec![
        ("SIEM_TYPE", "elasticsearch".to_string()),
        ("SIEM_URL", siem_url.to_string()),
        ("SIEM_TOKEN", "ZXMta2V5OnNlY3JldA==".to_string()),
    ];
    faults::cloudtrail_file(vars, KEY, RECORDS, 41).await
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
