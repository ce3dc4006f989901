//! The `cloudtrail-s3` Lambda handler: takes an S3 notification (direct, SNS, EventBridge) or an
//! SQS batch of them, streams every CloudTrail log file named, and reports what happened. For SQS
//! it returns `batchItemFailures` naming only the messages whose objects failed, so one bad object
//! does not redeliver the others. The invocation fails (and AWS retries it) only when events could
//! be neither delivered nor dead-lettered, or a direct notification could not be processed. The
//! event `{"audit-relay": "check"}` runs [`crate::check`] instead and returns its report.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::config::CloudtrailConfig;
use super::convert::Converter;
use super::forward::{forward_s3_object, ForwardError, ObjectCounts, ReadLimits};
use super::notification::{self, Notification};
use crate::delivery::{Delivery, DeliveryError};
use crate::event::Source;
use crate::setup::Pipeline;

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// Objects read (fully or partly).
    pub objects: u64,
    /// Records read.
    pub records: u64,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Events and records written to the dead-letter store.
    pub dead_lettered: u64,
    /// Objects skipped (digests, other files) and notifications ignored (S3 test events, deletes).
    pub skipped: u64,
    /// Objects or messages that failed; for SQS, reported as batch item failures.
    pub failed: u64,
    /// Requests to the sink retried.
    pub retries: u64,
}

/// Why the invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Events were neither delivered nor dead-lettered (retryable: AWS retries the invocation).
    #[error("retryable: {0}")]
    Delivery(#[from] DeliveryError),
    /// A direct (non-SQS) notification could not be processed.
    #[error("{0}")]
    Notification(String),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Delivery(_) => "Retryable.DeliveryFailed",
            HandlerError::Notification(_) => "ObjectFailed",
        };
        Self { error_type: error_type.to_string(), error_message: error.to_string() }
    }
}

#[derive(Deserialize)]
struct SqsEnvelope {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(default)]
    body: String,
    #[serde(rename = "eventSource")]
    event_source: String,
}

/// One message of the invocation: an SQS message, or the whole payload when not from SQS.
struct Message {
    id: Option<String>,
    body: String,
}

/// Handles one invocation.
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &Pipeline,
    source: &CloudtrailConfig,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
    if crate::check::requested(&event.payload) {
        return Ok(crate::check::pipeline(deps, Source::Cloudtrail).await.to_json());
    }
    let deadline = crate::deadline::deadline_instant(event.context.deadline, deps.config.local_deadline);
    let (messages, from_sqs) = split_messages(event.payload);
    let mut delivery = deps.delivery(Source::Cloudtrail, Some(deadline));
    let converter = Converter::new(deps.config.format, deps.config.include_raw);
    let limits = source.limits;
    let mut summary = Summary::default();
    let mut counts = ObjectCounts::default();
    let mut failures = Vec::new();
    let mut first_error = None;
    for message in messages {
        let span = tracing::info_span!("message", message_id = message.id.as_deref().unwrap_or("direct"));
        let outcome =
            process_message(deps, &message, &mut delivery, &converter, limits, &mut summary, &mut counts)
                .instrument(span)
                .await;
        match outcome {
            Ok(()) => {}
            Err(MessageError::Fatal(error)) => return Err(error.into()),
            Err(MessageError::Failed(reason)) => {
                summary.failed += 1;
                match message.id {
                    Some(id) => failures.push(id),
                    None => {
                        first_error.get_or_insert(reason);
                    }
                }
            }
        }
    }
    let report = delivery.finish().await?;
    let mut metrics = report.metrics(Source::Cloudtrail);
    metrics.records_in = counts.records;
    metrics.skipped = summary.skipped;
    metrics.emit();
    summary.records = counts.records;
    summary.events_delivered = report.delivered;
    summary.dead_lettered = report.dead_lettered;
    summary.retries = report.retries;
    tracing::info!(
        objects = summary.objects,
        records = summary.records,
        events_delivered = summary.events_delivered,
        dead_lettered = summary.dead_lettered,
        skipped = summary.skipped,
        failed = summary.failed,
        retries = summary.retries,
        "Invocation done."
    );
    if let Some(reason) = first_error {
        return Err(HandlerError::Notification(reason));
    }
    if from_sqs {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        return Ok(serde_json::to_value(response).unwrap_or_default());
    }
    Ok(serde_json::to_value(&summary).unwrap_or_default())
}

enum MessageError {
    /// The whole invocation must fail.
    Fatal(DeliveryError),
    /// This message failed; the reason was logged.
    Failed(String),
}

async fn process_message(
    deps: &Pipeline,
    message: &Message,
    delivery: &mut Delivery,
    converter: &Converter,
    limits: ReadLimits,
    summary: &mut Summary,
    counts: &mut ObjectCounts,
) -> Result<(), MessageError> {
    let objects = match notification::parse(&message.body) {
        Ok(Notification::Objects(objects)) => objects,
        Ok(Notification::Ignore(why)) => {
            tracing::info!(why, "Notification ignored.");
            summary.skipped += 1;
            return Ok(());
        }
        Err(error) => {
            tracing::error!(error = %error, "Message is not an S3 object notification.");
            return Err(MessageError::Failed(error.to_string()));
        }
    };
    let mut failed = None;
    for object in objects {
        if let Some(why) = notification::skip_reason(&object.key) {
            tracing::info!(bucket = object.bucket, key = object.key, why, "Object skipped.");
            summary.skipped += 1;
            continue;
        }
        summary.objects += 1;
        // Boxed: the streaming future is deep, and one allocation per object is nothing.
        match Box::pin(forward_s3_object(&deps.s3, &object, delivery, converter, limits)).await {
            Ok(found) => {
                *counts += found;
                tracing::info!(
                    bucket = object.bucket,
                    key = object.key,
                    records = found.records,
                    events = found.events,
                    rejected = found.rejected,
                    "Object forwarded."
                );
            }
            Err((found, ForwardError::Delivery(error))) => {
                *counts += found;
                return Err(MessageError::Fatal(error));
            }
            Err((found, error)) => {
                *counts += found;
                tracing::error!(
                    bucket = object.bucket,
                    key = object.key,
                    records = found.records,
                    error = %error,
                    "Object failed."
                );
                failed.get_or_insert(error.to_string());
            }
        }
    }
    match failed {
        Some(reason) => Err(MessageError::Failed(reason)),
        None => Ok(()),
    }
}

fn split_messages(payload: serde_json::Value) -> (Vec<Message>, bool) {
    let is_sqs = payload
        .get("Records")
        .and_then(|r| r.get(0))
        .and_then(|r| r.get("eventSource"))
        .and_then(|s| s.as_str())
        == Some("aws:sqs");
    if is_sqs {
        if let Ok(envelope) = serde_json::from_value::<SqsEnvelope>(payload.clone()) {
            if envelope.records.iter().all(|r| r.event_source == "aws:sqs") {
                let messages = envelope
                    .records
                    .into_iter()
                    .map(|r| Message { id: Some(r.message_id), body: r.body })
                    .collect();
                return (messages, true);
            }
        }
    }
    (vec![Message { id: None, body: payload.to_string() }], false)
}
