//! The pollers' benchmark: a local HTTP server answers like the Atlassian organization events
//! stream and the Azure DevOps audit log with a set of pages holding 10,000 events in all
//! (bodies rendered once, so the server costs little), and each poller's whole run is timed, over
//! several runs: fetch every page, map to OCSF, deliver to a local Splunk HEC receiver with gzip,
//! and save the checkpoints (to a fresh directory each run, so every run reads all pages).
//!
//! `cargo build --release -p audit-relay-tests --bin poller-bench && target/release/poller-bench`
//! (option: `--runs N`, default 10). Prints a Markdown table.
// The whole poll run's future (every stream joined, each delivering) nests deeper than the
// default 128 type-layout queries in an optimized build.
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up should stop it

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use audit_relay::env::EnvReader;
use audit_relay::poller::RunClock;
use audit_relay::scheduled;
use audit_relay::sources::atlassian::handler as atlassian;
use audit_relay::sources::azure_devops::handler as azure_devops;
use audit_relay_tests::audit_apis::{azure_devops_entry, org_event};
use audit_relay_tests::offline;
use audit_relay_tests::stats::{median, peak_rss_mib, runs_arg};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const EVENTS: usize = 10_000;
const ATLASSIAN_PAGE: usize = 100;
const AZURE_DEVOPS_PAGE: usize = 200;
const ORG_ID: &str = "0f0f0f0f-0000-4000-8000-00000000000f";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Answers with the page named by one query parameter (the first page when it is absent).
struct Pages {
    parameter: &'static str,
    bodies: HashMap<String, Arc<Vec<u8>>>,
}

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = request
            .url
            .query_pairs()
            .find(|(name, _)| name == self.parameter)
            .map_or_else(String::new, |(_, value)| value.into_owned());
        match self.bodies.get(&key) {
            Some(body) => ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_bytes(body.as_slice()),
            None => ResponseTemplate::new(400).set_body_string("unknown page"),
        }
    }
}

/// `EVENTS` split into pages of `page_size`, keyed as the next page's link names them (the first
/// page by the empty key, then `page-1`, `page-2`...): `body` renders a page from its events and
/// the key of the page after it, if any.
fn page_set(
    page_size: usize,
    body: impl Fn(std::ops::Range<usize>, Option<String>) -> Value,
) -> HashMap<String, Arc<Vec<u8>>> {
    let pages = EVENTS.div_ceil(page_size);
    (0..pages)
        .map(|page| {
            let events = page * page_size..((page + 1) * page_size).min(EVENTS);
            let next = (page + 1 < pages).then(|| format!("page-{}", page + 1));
            let key = if page == 0 { String::new() } else { format!("page-{page}") };
            (key, Arc::new(serde_json::to_vec(&body(events, next)).unwrap()))
        })
        .collect()
}

/// The events stream's pages, oldest first, chained by `meta.next` cursors.
fn atlassian_pages(base_ms: i64) -> HashMap<String, Arc<Vec<u8>>> {
    page_set(ATLASSIAN_PAGE, |events, next| {
        let data: Vec<Value> = events.map(|i| org_event(i, base_ms + i as i64 * 100)).collect();
        json!({"data": data, "meta": {"next": next, "page_size": ATLASSIAN_PAGE}, "links": {}})
    })
}

/// The audit log's pages, newest first, chained by continuation tokens.
fn azure_devops_pages(base_ms: i64) -> HashMap<String, Arc<Vec<u8>>> {
    page_set(AZURE_DEVOPS_PAGE, |events, next| {
        let entries: Vec<Value> = events.map(|i| azure_devops_entry(i, base_ms - i as i64 * 100)).collect();
        json!({"decoratedAuditLogEntries": entries, "hasMore": next.is_some(), "continuationToken": next})
    })
}

async fn serve(parameter: &'static str, bodies: HashMap<String, Arc<Vec<u8>>>) -> (MockServer, usize) {
    let bytes = bodies.values().map(|b| b.len()).sum();
    let server = MockServer::builder().disable_request_recording().start().await;
    Mock::given(method("GET")).respond_with(Pages { parameter, bodies }).mount(&server).await;
    (server, bytes)
}

fn environment(hec: &MockServer, checkpoints: &std::path::Path, vars: &[(&str, String)]) -> EnvReader {
    let mut all: Vec<(&str, String)> = vec![
        ("SIEM_TYPE", "splunk_hec".into()),
        ("SIEM_URL", format!("{}/services/collector/event", hec.uri())),
        ("SIEM_TOKEN", "bench-token".into()),
        ("CHECKPOINT_DIR", checkpoints.display().to_string()),
    ];
    all.extend(vars.iter().cloned());
    EnvReader::from_map(all, None)
}

fn delivered(summary: &impl serde::Serialize) -> u64 {
    serde_json::to_value(summary).unwrap()["events_delivered"].as_u64().unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs = runs_arg(10);
    let hec = audit_relay_tests::receiver::splunk_hec_discarding().await;
    // Inside the first run's window (INITIAL_LOOKBACK_HOURS, 24 h by default), before now.
    let base_ms = now_ms() - 3_600_000;

    let (atlassian_api, atlassian_bytes) = serve("cursor", atlassian_pages(base_ms)).await;
    let mut atlassian_rates = Vec::new();
    for _ in 0..runs {
        let checkpoints = tempfile::tempdir().unwrap();
        let env = environment(
            &hec,
            checkpoints.path(),
            &[
                ("ATLASSIAN_API_URL", atlassian_api.uri()),
                ("ATLASSIAN_ORG_ID", ORG_ID.into()),
                ("ATLASSIAN_ORG_API_KEY", "bench-key".into()),
                ("ATLASSIAN_PAGE_SIZE", ATLASSIAN_PAGE.to_string()),
                ("ATLASSIAN_ORG_REQUESTS_PER_MINUTE", "600000".into()),
            ],
        );
        let deps = atlassian::from_env(offline::pipeline(&env).await, &env).await.unwrap();
        let started = Instant::now();
        let (summary, result) =
            scheduled::poll(&deps, &RunClock::with_time_left(audit_relay::deadline::DEFAULT_LOCAL_DEADLINE))
                .await;
        let seconds = started.elapsed().as_secs_f64();
        result.unwrap();
        assert_eq!(delivered(&summary), EVENTS as u64, "every Atlassian event delivered");
        atlassian_rates.push(EVENTS as f64 / seconds);
    }

    let (azure_api, azure_bytes) = serve("continuationToken", azure_devops_pages(base_ms + 3_000_000)).await;
    let mut azure_rates = Vec::new();
    for _ in 0..runs {
        let checkpoints = tempfile::tempdir().unwrap();
        let env = environment(
            &hec,
            checkpoints.path(),
            &[
                ("AZDO_AUDIT_URL", azure_api.uri()),
                ("AZDO_ORGANIZATIONS", "fabrikam".into()),
                ("AZDO_PAT", "bench-pat".into()),
                ("AZDO_BATCH_SIZE", AZURE_DEVOPS_PAGE.to_string()),
                ("AZDO_REQUESTS_PER_MINUTE", "600000".into()),
            ],
        );
        let deps = azure_devops::from_env(offline::pipeline(&env).await, &env).await.unwrap();
        let started = Instant::now();
        let (summary, result) =
            scheduled::poll(&deps, &RunClock::with_time_left(audit_relay::deadline::DEFAULT_LOCAL_DEADLINE))
                .await;
        let seconds = started.elapsed().as_secs_f64();
        result.unwrap();
        assert_eq!(delivered(&summary), EVENTS as u64, "every Azure DevOps entry delivered");
        azure_rates.push(EVENTS as f64 / seconds);
    }

    println!("| 10,000 events, whole run (pages → OCSF → local Splunk HEC, gzip; checkpoints saved) | pages | page JSON KiB | events/s (median of {runs}) |");
    println!("|---|---|---|---|");
    println!(
        "| Atlassian organization events stream | {} of {ATLASSIAN_PAGE} | {} | {:.0} |",
        EVENTS.div_ceil(ATLASSIAN_PAGE),
        atlassian_bytes / 1024,
        median(atlassian_rates)
    );
    println!(
        "| Azure DevOps audit log | {} of {AZURE_DEVOPS_PAGE} | {} | {:.0} |",
        EVENTS.div_ceil(AZURE_DEVOPS_PAGE),
        azure_bytes / 1024,
        median(azure_rates)
    );
    println!("\npeak RSS: {:.1} MiB", peak_rss_mib());
}
