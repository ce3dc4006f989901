//! Pipeline metrics in CloudWatch Embedded Metric Format: one JSON log line per invocation, which
//! CloudWatch turns into metrics without an API call. Namespace `AuditRelay`, dimension `Source`.
//! Printed only inside Lambda (or with `EMF_METRICS=true`), so the CLI's standard output stays
//! pure NDJSON.

use std::io::Write;

use serde_json::{json, Map, Value};

use crate::event::Source;

/// The CloudWatch namespace of every metric.
pub(crate) const NAMESPACE: &str = "AuditRelay";
/// `EMF_METRICS`: force (`true`) or silence (`false`) the metric lines; default: on in Lambda.
pub const EMF_METRICS: &str = "EMF_METRICS";

/// What one invocation did, as metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationMetrics {
    /// The source, the metrics' dimension.
    pub source: Source,
    /// Source records read (log records, audit entries).
    pub records_in: u64,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Events written to the dead-letter store.
    pub dead_lettered: u64,
    /// Objects or notifications skipped.
    pub skipped: u64,
    /// Request bytes sent to the sink.
    pub bytes_sent: u64,
    /// Requests retried.
    pub retries: u64,
    /// Mean sink request time, in milliseconds.
    pub sink_latency_ms: Option<f64>,
    /// Pollers: seconds between now and the newest event delivered.
    pub poller_lag_seconds: Option<f64>,
    /// Fields cut to fit the sink's per-field limit (emitted when any was).
    pub fields_truncated: u64,
}

impl InvocationMetrics {
    /// The EMF log line at `now_ms`.
    pub fn to_emf(&self, now_ms: i64) -> String {
        let mut counts: Vec<(&str, f64, &str)> = vec![
            ("RecordsIn", self.records_in as f64, "Count"),
            ("EventsDelivered", self.events_delivered as f64, "Count"),
            ("DeadLettered", self.dead_lettered as f64, "Count"),
            ("Skipped", self.skipped as f64, "Count"),
            ("BytesSent", self.bytes_sent as f64, "Bytes"),
            ("Retries", self.retries as f64, "Count"),
        ];
        if let Some(latency) = self.sink_latency_ms {
            counts.push(("SinkLatency", latency, "Milliseconds"));
        }
        if let Some(lag) = self.poller_lag_seconds {
            counts.push(("PollerLag", lag, "Seconds"));
        }
        if self.fields_truncated > 0 {
            counts.push(("FieldsTruncated", self.fields_truncated as f64, "Count"));
        }
        let definitions: Vec<Value> =
            counts.iter().map(|(name, _, unit)| json!({"Name": name, "Unit": unit})).collect();
        let mut line = Map::new();
        line.insert(
            "_aws".to_string(),
            json!({
                "Timestamp": now_ms,
                "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Source"]], "Metrics": definitions}],
            }),
        );
        line.insert("Source".to_string(), json!(self.source.as_str()));
        for (name, value, _) in counts {
            line.insert(name.to_string(), json!(value));
        }
        Value::Object(line).to_string()
    }

    /// Prints the EMF line on standard output when metrics are on (see [`EMF_METRICS`]).
    pub fn emit(&self) {
        print_line(|now_ms| self.to_emf(now_ms));
    }
}

/// Whose credential an API or SIEM refused (HTTP 401 or 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected<'a> {
    /// A source API (dimension `Source`).
    Source(Source),
    /// The SIEM (dimension `Sink`, its `SIEM_TYPE`).
    Sink(&'a str),
}

/// The EMF line of one refused credential at `now_ms`: metric `CredentialRejected` (count 1) by
/// `Source` or `Sink`, and without dimensions, so one alarm covers every source and sink.
pub(crate) fn credential_rejected_emf(rejected: Rejected<'_>, now_ms: i64) -> String {
    let (dimension, value) = match rejected {
        Rejected::Source(source) => ("Source", source.as_str()),
        Rejected::Sink(sink) => ("Sink", sink),
    };
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[dimension], []],
                "Metrics": [{"Name": "CredentialRejected", "Unit": "Count"}],
            }],
        },
        dimension: value,
        "CredentialRejected": 1,
    })
    .to_string()
}

/// Prints the `CredentialRejected` line when metrics are on (see [`EMF_METRICS`]).
pub(crate) fn emit_credential_rejected(rejected: Rejected<'_>) {
    print_line(|now_ms| credential_rejected_emf(rejected, now_ms));
}

/// What the CloudTrail integrity checks of one invocation did in one region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityMetrics {
    /// Digests verified (whatever they showed).
    pub digests_verified: u64,
    /// Listed log files checked.
    pub log_files_verified: u64,
    /// Problems found (each one a finding).
    pub integrity_failures: u64,
    /// Digests that could not be verified (keys not listed, S3 errors): retried.
    pub integrity_errors: u64,
}

impl std::ops::AddAssign for IntegrityMetrics {
    fn add_assign(&mut self, other: Self) {
        self.digests_verified += other.digests_verified;
        self.log_files_verified += other.log_files_verified;
        self.integrity_failures += other.integrity_failures;
        self.integrity_errors += other.integrity_errors;
    }
}

/// The EMF line of the integrity checks of `region` at `now_ms`: `DigestsVerified`,
/// `LogFilesVerified`, `IntegrityFailures`, `IntegrityErrors` by `Region`, and without dimensions
/// (one alarm over every region).
pub(crate) fn integrity_emf(region: &str, metrics: IntegrityMetrics, now_ms: i64) -> String {
    let names = ["DigestsVerified", "LogFilesVerified", "IntegrityFailures", "IntegrityErrors"];
    let values = [
        metrics.digests_verified,
        metrics.log_files_verified,
        metrics.integrity_failures,
        metrics.integrity_errors,
    ];
    let definitions: Vec<Value> = names.iter().map(|n| json!({"Name": n, "Unit": "Count"})).collect();
    let mut line = Map::new();
    line.insert(
        "_aws".to_string(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Region"], []], "Metrics": definitions}],
        }),
    );
    line.insert("Region".to_string(), json!(region));
    for (name, value) in names.iter().zip(values) {
        line.insert((*name).to_string(), json!(value));
    }
    Value::Object(line).to_string()
}

/// Prints the integrity line of `region` when metrics are on.
pub(crate) fn emit_integrity(region: &str, metrics: IntegrityMetrics) {
    print_line(|now_ms| integrity_emf(region, metrics, now_ms));
}

/// Prints the line `make` builds for the current time, when metrics are on.
fn print_line(make: impl FnOnce(i64) -> String) {
    let enabled = match std::env::var(EMF_METRICS).map(|v| v.to_ascii_lowercase()) {
        Ok(v) => v == "true" || v == "1",
        Err(_) => std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some(),
    };
    if !enabled {
        return;
    }
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let line = make(now_ms as i64);
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(error = %error, "Could not write the metrics line.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_metrics_are_by_region_and_in_total() {
        let metrics = IntegrityMetrics {
            digests_verified: 1,
            log_files_verified: 12,
            integrity_failures: 2,
            integrity_errors: 0,
        };
        let line: Value = serde_json::from_str(&integrity_emf("eu-west-1", metrics, 5)).unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Region"], []]));
        assert_eq!(line["Region"], "eu-west-1");
        assert_eq!(
            (line["DigestsVerified"].as_u64(), line["IntegrityFailures"].as_u64()),
            (Some(1), Some(2))
        );
        assert_eq!(line["LogFilesVerified"], 12);
    }

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let metrics = InvocationMetrics {
            source: Source::Atlassian,
            records_in: 100,
            events_delivered: 90,
            dead_lettered: 10,
            skipped: 1,
            bytes_sent: 4096,
            retries: 2,
            sink_latency_ms: Some(25.0),
            poller_lag_seconds: Some(42.5),
            fields_truncated: 3,
        };
        let line: Value = serde_json::from_str(&metrics.to_emf(1_700_000_000_000)).unwrap();
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AuditRelay");
        assert_eq!(directive["Dimensions"], json!([["Source"]]));
        assert_eq!(line["Source"], "atlassian");
        let expected = [
            ("RecordsIn", 100.0, "Count"),
            ("EventsDelivered", 90.0, "Count"),
            ("DeadLettered", 10.0, "Count"),
            ("Skipped", 1.0, "Count"),
            ("BytesSent", 4096.0, "Bytes"),
            ("Retries", 2.0, "Count"),
            ("SinkLatency", 25.0, "Milliseconds"),
            ("PollerLag", 42.5, "Seconds"),
            ("FieldsTruncated", 3.0, "Count"),
        ];
        let declared = directive["Metrics"].as_array().unwrap();
        assert_eq!(declared.len(), expected.len());
        for ((name, value, unit), definition) in expected.iter().zip(declared) {
            assert_eq!(definition, &json!({"Name": name, "Unit": unit}));
            assert_eq!(line[name].as_f64(), Some(*value), "{name}");
        }
    }

    #[test]
    fn a_refused_credential_is_counted_by_source_or_sink_and_in_total() {
        let line: Value =
            serde_json::from_str(&credential_rejected_emf(Rejected::Source(Source::AzureDevops), 5)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AuditRelay");
        assert_eq!(directive["Dimensions"], json!([["Source"], []]));
        assert_eq!(directive["Metrics"], json!([{"Name": "CredentialRejected", "Unit": "Count"}]));
        assert_eq!((&line["Source"], &line["CredentialRejected"]), (&json!("azure_devops"), &json!(1)));
        let line: Value =
            serde_json::from_str(&credential_rejected_emf(Rejected::Sink("splunk_hec"), 5)).unwrap();
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Sink"], []]));
        assert_eq!(line["Sink"], "splunk_hec");
        assert!(line.get("Source").is_none());
    }

    #[test]
    fn latency_and_lag_are_left_out_when_unknown() {
        let metrics = InvocationMetrics {
            source: Source::Cloudtrail,
            records_in: 0,
            events_delivered: 0,
            dead_lettered: 0,
            skipped: 0,
            bytes_sent: 0,
            retries: 0,
            sink_latency_ms: None,
            poller_lag_seconds: None,
            fields_truncated: 0,
        };
        let line: Value = serde_json::from_str(&metrics.to_emf(0)).unwrap();
        assert!(line.get("SinkLatency").is_none());
        assert!(line.get("PollerLag").is_none());
        assert!(line.get("FieldsTruncated").is_none());
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 6);
    }
}
