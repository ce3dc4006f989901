//! The OpenSearch benchmark: builds a 10,000-event CloudWatch Logs subscription payload (gzip +
//! base64, records of every category) and measures, over several runs:
//! - decode + map + serialize (no sink): events/s;
//! - the whole `opensearch-audit` handler delivering to a local Splunk HEC receiver: events/s;
//! - peak RSS of the process.
//!
//! `cargo build --release -p audit-relay-tests --bin opensearch-bench && target/release/opensearch-bench`
//! (option: `--runs N`, default 10). Prints a Markdown table.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failed set-up should stop it

use std::time::Instant;

use audit_relay::env::EnvReader;
use audit_relay::event::OutputFormat;
use audit_relay::sources::opensearch::config::OpensearchConfig;
use audit_relay::sources::opensearch::convert::Converter;
use audit_relay::sources::opensearch::handler::handle;
use audit_relay::sources::opensearch::mapping::{LogContext, MapOptions};
use audit_relay::sources::opensearch::payload::{decode_event, encode_data, LogEvent, LogsMessage};
use audit_relay_tests::stats::{median, peak_rss_mib, runs_arg};
use lambda_runtime::{Context, LambdaEvent};

const EVENTS: u64 = 10_000;
const RECORDS: [&str; 10] = [
    include_str!("../../../shared/src/sources/opensearch/fixtures/authenticated_saml_with_credentials.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/failed_login_aws.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/missing_privileges_run_as_search.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/granted_privileges_transport.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/index_event_create.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/compliance_doc_write.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/compliance_doc_read.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/security_index_attempt.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/bad_headers.json"),
    include_str!("../../../shared/src/sources/opensearch/fixtures/internal_config_write.json"),
];

fn payload() -> serde_json::Value {
    let message = LogsMessage {
        message_type: "DATA_MESSAGE".to_string(),
        owner: "111122223333".to_string(),
        log_group: "/aws/OpenSearchService/domains/search-prod/audit-logs".to_string(),
        log_stream: "Qm9vdHN0cmFwTm9kZTE".to_string(),
        subscription_filters: vec!["audit-relay".to_string()],
        log_events: (0..EVENTS)
            .map(|n| LogEvent {
                id: format!("3861846496124038513036442941404621634021754231557{n:07}"),
                timestamp: 1_732_017_914_000 + n as i64,
                message: RECORDS[(n % RECORDS.len() as u64) as usize].trim_end().to_string(),
            })
            .collect(),
        policy_level: None,
    };
    serde_json::json!({"awslogs": {"data": encode_data(&message)}})
}

#[tokio::main]
async fn main() {
    let runs = runs_arg(10);
    let payload = payload();
    let encoded = payload["awslogs"]["data"].as_str().unwrap().len();
    let source = OpensearchConfig::load(&EnvReader::from_map([("AWS_REGION", "eu-west-1")], None)).unwrap();

    // Decode + map + serialize.
    let converter = Converter::new(OutputFormat::Ocsf, MapOptions::new(&source, false));
    let mut pure = Vec::new();
    let mut bytes_out = 0usize;
    for _ in 0..runs {
        let started = Instant::now();
        let message = decode_event(&payload).unwrap();
        bytes_out = 0;
        for event in &message.log_events {
            let context = LogContext {
                log_group: &message.log_group,
                log_stream: &message.log_stream,
                event_id: Some(&event.id),
                timestamp_ms: Some(event.timestamp),
            };
            bytes_out += converter.convert(&event.message, &context).unwrap().event.json.len();
        }
        pure.push(EVENTS as f64 / started.elapsed().as_secs_f64());
    }

    // The whole handler into a local HEC receiver.
    let hec = audit_relay_tests::receiver::splunk_hec().await;
    let env = EnvReader::from_map(
        [
            ("SIEM_TYPE", "splunk_hec".to_string()),
            ("SIEM_URL", format!("{}/services/collector/event", hec.uri())),
            ("SIEM_TOKEN", "bench-token".to_string()),
        ],
        None,
    );
    let deps = audit_relay_tests::offline::pipeline(&env).await;
    let mut whole = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let summary =
            handle(&deps, &source, LambdaEvent::new(payload.clone(), Context::default())).await.unwrap();
        assert_eq!(summary["events_delivered"], EVENTS);
        whole.push(EVENTS as f64 / started.elapsed().as_secs_f64());
    }

    println!(
        "| 10,000-event payload ({} KiB base64, {} KiB OCSF out) | events/s (median of {runs}) |",
        encoded / 1024,
        bytes_out / 1024
    );
    println!("|---|---|");
    println!("| decode + map + serialize | {:.0} |", median(pure));
    println!("| handler → local Splunk HEC (gzip) | {:.0} |", median(whole));
    println!("\npeak RSS: {:.1} MiB", peak_rss_mib());
}
