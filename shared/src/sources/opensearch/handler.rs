//! The `opensearch-audit` Lambda handler: takes a CloudWatch Logs subscription payload
//! (api-contracts.md §3), acknowledges control messages, maps every log event of a data message
//! to OCSF and delivers it. The invocation fails, so Lambda retries it and then hands it to the
//! function's on-failure destination, when the payload cannot be decoded (broken base64 or gzip)
//! or when events could be neither delivered nor dead-lettered. The
//! event `{"audit-relay": "check"}` runs [`crate::check`] instead and returns its report.

use lambda_runtime::LambdaEvent;
use serde::Serialize;

use super::config::OpensearchConfig;
use super::convert::{forward_message, Converter, Counts};
use super::mapping::{LogContext, MapOptions};
use super::payload::{self, PayloadError};
use crate::delivery::{DeliveryError, DeliveryReport};
use crate::event::Source;
use crate::setup::Pipeline;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    pub message_type: String,
    /// The log group.
    pub log_group: String,
    /// The log stream.
    pub log_stream: String,
    /// Log events in the payload (0 for a control message).
    pub records: u64,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Messages that were cut or not JSON, delivered best effort with their text in `raw_data`.
    pub partial: u64,
    /// Events and messages written to the dead-letter store.
    pub dead_lettered: u64,
    /// Requests to the sink retried.
    pub retries: u64,
}

/// Why the invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The payload cannot be decoded; retrying will not help, the on-failure destination keeps it.
    #[error("{0}")]
    Payload(#[from] PayloadError),
    /// Events were neither delivered nor dead-lettered (retryable: AWS retries the invocation).
    #[error("retryable: {0}")]
    Delivery(#[from] DeliveryError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Payload(_) => "InvalidPayload",
            HandlerError::Delivery(_) => "Retryable.DeliveryFailed",
        };
        Self { error_type: error_type.to_string(), error_message: error.to_string() }
    }
}

/// Handles one invocation.
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &Pipeline,
    source: &OpensearchConfig,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
    if crate::check::requested(&event.payload) {
        return Ok(crate::check::pipeline(deps, Source::Opensearch).await.to_json());
    }
    let deadline = crate::deadline::deadline_instant(event.context.deadline, deps.config.local_deadline);
    let message = match payload::decode_event(&event.payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(error = %error, "Payload not decoded.");
            return Err(error.into());
        }
    };
    let mut summary = Summary {
        message_type: message.message_type.clone(),
        log_group: message.log_group.clone(),
        log_stream: message.log_stream.clone(),
        ..Summary::default()
    };
    if message.is_control() {
        tracing::info!(owner = message.owner, "Control message acknowledged.");
        let mut metrics = DeliveryReport::default().metrics(Source::Opensearch);
        metrics.skipped = 1;
        metrics.emit();
        return Ok(serde_json::to_value(&summary).unwrap_or_default());
    }
    let mut delivery = deps.delivery(Source::Opensearch, Some(deadline));
    let converter = Converter::new(deps.config.format, MapOptions::new(source, deps.config.include_raw));
    let mut counts = Counts::default();
    for log_event in &message.log_events {
        let context = LogContext {
            log_group: &message.log_group,
            log_stream: &message.log_stream,
            event_id: Some(&log_event.id),
            timestamp_ms: Some(log_event.timestamp),
        };
        forward_message(&log_event.message, &context, &mut delivery, &converter, &mut counts).await?;
    }
    let report = delivery.finish().await?;
    let mut metrics = report.metrics(Source::Opensearch);
    metrics.records_in = counts.records;
    metrics.emit();
    summary.records = counts.records;
    summary.events_delivered = report.delivered;
    summary.partial = counts.partial;
    summary.dead_lettered = report.dead_lettered;
    summary.retries = report.retries;
    tracing::info!(
        log_group = summary.log_group,
        log_stream = summary.log_stream,
        records = summary.records,
        events_delivered = summary.events_delivered,
        partial = summary.partial,
        dead_lettered = summary.dead_lettered,
        retries = summary.retries,
        "Payload forwarded."
    );
    Ok(serde_json::to_value(&summary).unwrap_or_default())
}
