//! The `cloudtrail-s3` handler delivering to Microsoft Sentinel (Entra ID and the Logs Ingestion
//! API, local stand-ins) through faults: an API that takes a batch but answers after the request
//! timeout (the resend is taken too: the API keeps no record of what it took, so that batch is
//! stored twice, as documented), an API flapping between 429 (with `Retry-After`) and 503, and an
//! API down for the whole run (everything dead-lettered to S3, in moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use audit_relay_tests::corpus;
use audit_relay_tests::faults::{self, Run};
use audit_relay_tests::logs_ingestion::Ingestion;
use audit_relay_tests::receiver::assert_valid_ocsf;
use serde_json::Value;

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_ms.json.gz";
const RECORDS: u64 = 600;

/// Runs the handler on a corpus file with the sink's variables `vars`.
async fn run(vars: Vec<(&'static str, String)>) -> Run {
    faults::cloudtrail_file(vars, KEY, RECORDS, 43).await
}

/// How many times each corpus record was stored; asserts every record is there, as OCSF rows
/// with `TimeGenerated`.
fn stored(rows: &[Value]) -> BTreeMap<u64, usize> {
    let mut times = BTreeMap::new();
    for row in rows {
        assert!(row["TimeGenerated"].as_str().is_some_and(|t| t.ends_with('Z')), "{}", row["TimeGenerated"]);
        *times
            .entry(corpus::index_of_event_id(row["metadata"]["uid"].as_str().unwrap()).unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(times.keys().copied().collect::<Vec<_>>(), (0..RECORDS).collect::<Vec<_>>(), "every record");
    let events: Vec<Value> = rows[..20]
        .iter()
        .map(|row| {
            let mut event = row.clone();
            event.as_object_mut().unwrap().remove("TimeGenerated");
            event
        })
        .collect();
    assert_valid_ocsf(&events);
    times
}

#[tokio::test]
async fn a_batch_taken_but_answered_too_late_is_resent_and_stored_twice_as_documented() {
    let (server, ingestion) = Ingestion::start(|s| s.slow_first = Some(Duration::from_secs(3))).await;
    let run = run(Ingestion::vars(&server)).await;
    assert_eq!(run.summary["events_delivered"], RECORDS, "{}", run.summary);
    assert_eq!((run.summary["dead_lettered"].as_u64(), run.summary["retries"].as_u64()), (Some(0), Some(1)));
    let times = stored(&ingestion.rows());
    let twice = times.values().filter(|n| **n == 2).count();
    assert_eq!(twice, 200, "the first batch of 200, taken then resent; the rest once");
    assert!(times.values().all(|n| *n <= 2));
    assert!(run.dead_letter_keys.is_empty(), "{:?}", run.dead_letter_keys);
    eprintln!(
        "fault-summary sentinel_slow: sent={RECORDS} rows={} duplicated={twice}",
        ingestion.rows().len()
    );
}

#[tokio::test]
async fn a_flapping_api_gets_every_event_once_after_its_retry_after() {
    let (server, ingestion) =
        Ingestion::start(|s| s.scripted = vec![(429, Some(1)), (503, None), (429, Some(1))]).await;
    let started = Instant::now();
    let run = run(Ingestion::vars(&server)).await;
    assert_eq!(run.summary["events_delivered"], RECORDS, "{}", run.summary);
    assert_eq!(run.summary["retries"], 3);
    assert!(started.elapsed() >= Duration::from_secs(2), "both Retry-After: 1 honoured");
    let times = stored(&ingestion.rows());
    assert!(times.values().all(|n| *n == 1), "each once");
    assert!(run.dead_letter_keys.is_empty());
}

#[tokio::test]
async fn an_api_down_for_the_run_dead_letters_every_event() {
    let (server, _ingestion) = Ingestion::start(|s| s.scripted = vec![(503, None); 100]).await;
    let run = run(Ingestion::vars(&server)).await;
    assert_eq!(run.summary["events_delivered"], 0, "{}", run.summary);
    assert_eq!(run.summary["dead_lettered"], RECORDS);
    assert_eq!(run.dead_letter_keys.len(), 3, "one letter a batch of 200: {:?}", run.dead_letter_keys);
    assert!(run.dead_letter_keys.iter().all(|k| k.contains("cloudtrail")), "{:?}", run.dead_letter_keys);
}
