//! The end of a scheduled invocation, the same for every polled source (api-contracts.md §5–§7):
//! the metrics line (with `PollerLag`), the summary the handler returns, and whether the
//! invocation fails. A stream that failed fails it; streams only behind, or held by another run,
//! do not.

use serde::Serialize;

use super::report::{RunReport, StreamReport};
use super::run::epoch_ms;
use crate::event::Source;

/// What one invocation did.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    /// Per stream: events, pages, behind, newest event time, status.
    pub streams: Vec<StreamReport>,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Events and records dead-lettered.
    pub dead_lettered: u64,
    /// Sink requests retried.
    pub retries: u64,
    /// Whether a stream stopped before catching up (the next run continues).
    pub behind: bool,
}

/// Why the invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// One or more streams failed; `retryable` is false for refused credentials and foreign hosts,
    /// which need an operator.
    #[error("{}{}", if *.retryable { "retryable: " } else { "" }, .message)]
    Streams {
        /// Every failed stream and why.
        message: String,
        /// Whether running again may succeed.
        retryable: bool,
    },
}

impl From<RunError> for lambda_runtime::Diagnostic {
    fn from(error: RunError) -> Self {
        let error_type = match &error {
            RunError::Streams { retryable: true, .. } => "Retryable.StreamFailed",
            RunError::Streams { retryable: false, .. } => "StreamFailed",
        };
        Self { error_type: error_type.to_string(), error_message: error.to_string() }
    }
}

/// Emits the metrics of `report` for `source`, logs one summary line, and returns the summary and
/// the error the invocation fails with (if any).
pub fn conclude(source: Source, report: RunReport) -> (RunSummary, Result<(), RunError>) {
    let now_ms = epoch_ms();
    let delivery = report.delivery();
    let mut metrics = delivery.metrics(source);
    metrics.records_in = report.records();
    metrics.skipped = report.streams.iter().map(|s| s.duplicates).sum();
    metrics.poller_lag_seconds = report.max_lag_seconds(now_ms);
    metrics.emit();
    let result = failure(&report);
    let summary = RunSummary {
        events_delivered: delivery.delivered,
        dead_lettered: delivery.dead_lettered,
        retries: delivery.retries,
        behind: report.behind(),
        streams: report.streams,
    };
    tracing::info!(
        source = source.as_str(),
        streams = summary.streams.len(),
        events_delivered = summary.events_delivered,
        dead_lettered = summary.dead_lettered,
        behind = summary.behind,
        failed = result.is_err(),
        "Poll done."
    );
    (summary, result)
}

fn failure(report: &RunReport) -> Result<(), RunError> {
    let mut messages = Vec::new();
    let mut retryable = true;
    for (stream, error) in report.failures() {
        retryable &= error.is_retryable();
        messages.push(format!("{stream}: {error}"));
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(RunError::Streams { message: messages.join("; "), retryable })
    }
}
