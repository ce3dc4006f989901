//! The `cloudtrail-s3` Lambda handler: takes an S3 notification (direct, SNS, EventBridge) or an
//! SQS batch of them, streams every CloudTrail log file named, and reports what happened. For SQS
//! it returns `batchItemFailures` naming only the messages whose objects failed, so one bad object
//! does not redeliver the others. The invocation fails (and AWS retries it) only when events could
//! be neither delivered nor dead-lettered, or a direct notification could not be processed. The
//! event `{"audit-relay": "check"}` runs [`crate::check`] instead and returns its report.

use std::time::Instant;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::config::CloudtrailConfig;
use super::convert::Converter;
use super::forward::{forward_s3_object, ForwardError, ObjectCounts};
use super::notification::ObjectRef;
use super::notification::{self, Notification};
use crate::delivery::{Delivery, DeliveryError};
use crate::event::{OutboundEvent, OutputFormat, Source};
use crate::integrity::digest::DigestKey;
use crate::integrity::service::Integrity;
use crate::integrity::store::Content;
use crate::metrics::{emit_integrity, IntegrityMetrics};
use crate::setup::Pipeline;
use crate::timestamp::epoch_ms;

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
    /// Objects skipped (digests when not checked, other files) and notifications ignored (S3 test
    /// events, deletes).
    pub skipped: u64,
    /// Objects or messages that failed; for SQS, reported as batch item failures.
    pub failed: u64,
    /// Requests to the sink retried.
    pub retries: u64,
    /// What the digest checks did.
    #[serde(flatten)]
    pub integrity: IntegrityMetrics,
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
    let mut run = Run {
        deps,
        source,
        deadline,
        delivery: deps.delivery(Source::Cloudtrail, Some(deadline)),
        findings: None,
        converter: Converter::new(deps.config.format, deps.config.include_raw),
        summary: Summary::default(),
        counts: ObjectCounts::default(),
    };
    let mut failures = Vec::new();
    let mut first_error = None;
    for message in messages {
        let span = tracing::info_span!("message", message_id = message.id.as_deref().unwrap_or("direct"));
        match run.message(&message).instrument(span).await {
            Ok(()) => {}
            Err(MessageError::Fatal(error)) => return Err(error.into()),
            Err(MessageError::Failed(reason)) => {
                run.summary.failed += 1;
                match message.id {
                    Some(id) => failures.push(id),
                    None => {
                        first_error.get_or_insert(reason);
                    }
                }
            }
        }
    }
    let Run { delivery, findings, mut summary, counts, .. } = run;
    let mut report = delivery.finish().await?;
    if let Some(findings) = findings {
        report += &findings.finish().await?;
    }
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
        digests_verified = summary.integrity.digests_verified,
        integrity_failures = summary.integrity.integrity_failures,
        integrity_errors = summary.integrity.integrity_errors,
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

/// One invocation's work in progress.
struct Run<'a> {
    deps: &'a Pipeline,
    source: &'a CloudtrailConfig,
    deadline: Instant,
    /// The events of the log files.
    delivery: Delivery,
    /// The integrity findings, always OCSF (made at the first digest checked).
    findings: Option<Delivery>,
    converter: Converter,
    summary: Summary,
    counts: ObjectCounts,
}

impl Run<'_> {
    async fn message(&mut self, message: &Message) -> Result<(), MessageError> {
        let objects = match notification::parse(&message.body) {
            Ok(Notification::Objects(objects)) => objects,
            Ok(Notification::Ignore(why)) => {
                tracing::info!(why, "Notification ignored.");
                self.summary.skipped += 1;
                return Ok(());
            }
            Err(error) => {
                tracing::error!(error = %error, "Message is not an S3 object notification.");
                return Err(MessageError::Failed(error.to_string()));
            }
        };
        let mut failed = None;
        for object in objects {
            let integrity = self.source.integrity.clone();
            if let Some(integrity) = integrity.filter(|_| Integrity::is_digest(&object.key)) {
                // Boxed, as the forwarding below: these futures are deep.
                if let Err(reason) = Box::pin(self.digest(&integrity, &object)).await? {
                    failed.get_or_insert(reason);
                }
                continue;
            }
            if let Some(why) = notification::skip_reason(&object.key) {
                tracing::info!(bucket = object.bucket, key = object.key, why, "Object skipped.");
                self.summary.skipped += 1;
                continue;
            }
            if let Err(reason) = self.log_file(&object).await? {
                failed.get_or_insert(reason);
            }
        }
        match failed {
            Some(reason) => Err(MessageError::Failed(reason)),
            None => Ok(()),
        }
    }

    /// Forwards one log file and, with integrity checks on, records its hash; `Ok(Err(reason))`
    /// when the object failed (logged).
    async fn log_file(&mut self, object: &ObjectRef) -> Result<Result<(), String>, MessageError> {
        self.summary.objects += 1;
        let (limits, hash) = (self.source.limits, self.source.integrity.is_some());
        // Boxed: the streaming future is deep, and one allocation per object is nothing.
        let forwarded = Box::pin(forward_s3_object(
            &self.deps.s3,
            object,
            &mut self.delivery,
            &self.converter,
            limits,
            hash,
        ))
        .await;
        match forwarded {
            Ok((found, content)) => {
                self.counts += found;
                tracing::info!(
                    bucket = object.bucket,
                    key = object.key,
                    records = found.records,
                    events = found.events,
                    rejected = found.rejected,
                    "Object forwarded."
                );
                if let (Some(integrity), Some(content)) = (self.source.integrity.clone(), content) {
                    Box::pin(self.record(&integrity, object, &content)).await?;
                }
                Ok(Ok(()))
            }
            Err((found, ForwardError::Delivery(error))) => {
                self.counts += found;
                Err(MessageError::Fatal(error))
            }
            Err((found, error)) => {
                self.counts += found;
                tracing::error!(
                    bucket = object.bucket,
                    key = object.key,
                    records = found.records,
                    error = %error,
                    "Object failed."
                );
                Ok(Err(error.to_string()))
            }
        }
    }

    /// Records a forwarded log file's hash, or compares it with the digest that already listed
    /// it. A failure is logged and counted, never fails the forwarding: the digest then reads the
    /// file itself.
    async fn record(
        &mut self,
        integrity: &Integrity,
        object: &ObjectRef,
        content: &Content,
    ) -> Result<(), MessageError> {
        if !Integrity::is_log_file(&object.key) {
            return Ok(());
        }
        match integrity.forwarded(&object.bucket, &object.key, content, epoch_ms()).await {
            Ok(None) => Ok(()),
            Ok(Some(finding)) => {
                let metrics = IntegrityMetrics { integrity_failures: 1, ..IntegrityMetrics::default() };
                self.summary.integrity += metrics;
                emit_integrity(log_region(&object.key).unwrap_or_default(), metrics);
                tracing::error!(
                    bucket = object.bucket,
                    key = object.key,
                    problem = "modified",
                    "CloudTrail integrity problem found: the log file differs from what its digest listed."
                );
                self.send_finding(finding).await
            }
            Err(error) => {
                self.summary.integrity.integrity_errors += 1;
                tracing::error!(
                    bucket = object.bucket,
                    key = object.key,
                    error = %error,
                    "The log file's hash could not be recorded; its digest will read the file."
                );
                Ok(())
            }
        }
    }

    /// Sends one finding through the findings' own delivery (OCSF); with `SIEM_FORMAT=udm` it is
    /// dead-lettered, as it has no UDM form.
    async fn send_finding(&mut self, finding: OutboundEvent) -> Result<(), MessageError> {
        let format = self.deps.config.format;
        let (deps, deadline) = (self.deps, self.deadline);
        let findings = self.findings.get_or_insert_with(|| {
            deps.delivery(Source::Cloudtrail, Some(deadline)).with_format(OutputFormat::Ocsf)
        });
        let sent = if format == OutputFormat::Udm {
            findings.reject(finding.json, UDM_FINDING.to_string()).await
        } else {
            findings.push(finding).await
        };
        sent.map_err(MessageError::Fatal)
    }

    /// Verifies one digest and sends what it found; `Ok(Err(reason))` when it could not be
    /// verified (logged and counted; the message is retried).
    async fn digest(
        &mut self,
        integrity: &Integrity,
        object: &ObjectRef,
    ) -> Result<Result<(), String>, MessageError> {
        let region = DigestKey::parse(&object.key).map(|k| k.region).unwrap_or_default();
        let checked = match integrity.check(&object.bucket, &object.key, epoch_ms()).await {
            Ok(Some(checked)) => checked,
            Ok(None) => {
                tracing::warn!(
                    bucket = object.bucket,
                    key = object.key,
                    "Digest file gone before it was checked."
                );
                self.summary.skipped += 1;
                return Ok(Ok(()));
            }
            Err(error) => {
                let metrics = IntegrityMetrics { integrity_errors: 1, ..IntegrityMetrics::default() };
                self.summary.integrity += metrics;
                emit_integrity(&region, metrics);
                tracing::error!(
                    bucket = object.bucket,
                    key = object.key,
                    error = %error,
                    "Digest file could not be verified; it will be tried again."
                );
                return Ok(Err(format!("digest s3://{}/{}: {error}", object.bucket, object.key)));
            }
        };
        self.summary.integrity += checked.metrics;
        emit_integrity(&region, checked.metrics);
        for (problem, finding) in checked.report.problems.iter().zip(checked.findings) {
            tracing::error!(
                digest = format!("s3://{}/{}", object.bucket, object.key),
                problem = problem.kind(),
                object = problem.object().map(|(bucket, key)| format!("s3://{bucket}/{key}")),
                "CloudTrail integrity problem found."
            );
            self.send_finding(finding).await?;
        }
        tracing::info!(
            bucket = object.bucket,
            key = object.key,
            log_files = checked.metrics.log_files_verified,
            problems = checked.metrics.integrity_failures,
            "Digest file verified."
        );
        Ok(Ok(()))
    }
}

/// The region of a log file key (`…/CloudTrail/<region>/…`).
fn log_region(key: &str) -> Option<&str> {
    key.split_once("/CloudTrail/").and_then(|(_, rest)| rest.split('/').next())
}

/// Why a finding is dead-lettered with `SIEM_FORMAT=udm`.
const UDM_FINDING: &str =
    "CloudTrail integrity finding: OCSF Detection Finding has no UDM form; not sent to a UDM sink";

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
