//! Amazon Data Firehose `PutRecordBatch` with the function's own role (api-contracts.md §16.4):
//! one record per event (the event and `\n`: Firehose adds no delimiter), each sent to the
//! delivery stream `FIREHOSE_STREAMS` names for its OCSF `class_uid` (`*` for the rest), so one
//! stream can hold one class, as Amazon Security Lake wants.
//!
//! Limits: 500 records and 4 MiB a call, 1,000 KiB a record (a larger event is dead-lettered by the
//! engine). Firehose answers for each record: a record that failed with `ServiceUnavailableException`
//! or `InternalFailure` is sent again, alone with the other failed ones, after a backoff; any other
//! error code refuses it for good (dead-lettered with the code). A call refused whole is retried when
//! Firehose is throttling or unavailable, and refuses its records otherwise (a missing stream, a
//! refused credential — alarmed).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use bytes::Bytes;
use serde::Deserialize;

use super::{
    sanitize, EncodeContext, Encoder, Framing, ItemOutcome, NdjsonEncoder, Reply, Sink, SinkError, SinkKind,
    SinkLimits, SinkSettings, Verdict,
};
use crate::env::{ConfigError, EnvReader};
use crate::event::OutboundEvent;
use crate::ocsf::compat::Downgrade;
pub use crate::ocsf::compat::Version;
use crate::probe::Probe;

const NAME: &str = "firehose";

/// `FIREHOSE_STREAMS`: `class_uid=stream` pairs, `*=stream` for every other class.
pub(crate) const FIREHOSE_STREAMS: &str = "FIREHOSE_STREAMS";
/// `FIREHOSE_OCSF_VERSION`: `1.3.0` rewrites each OCSF event to that version (Security Lake).
pub(crate) const FIREHOSE_OCSF_VERSION: &str = "FIREHOSE_OCSF_VERSION";

/// Records in one `PutRecordBatch`.
const MAX_RECORDS: usize = 500;
/// Bytes in one `PutRecordBatch` (the records' data).
const MAX_CALL_BYTES: usize = 4 * 1024 * 1024;
/// Bytes of one record, its newline included.
const MAX_RECORD_BYTES: usize = 1_000 * 1024;
/// Record error codes Firehose means as "try again".
const RETRIED_CODES: &[&str] = &["ServiceUnavailableException", "InternalFailure", "ThrottlingException"];
/// Error codes of a refused credential.
const CREDENTIAL_CODES: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// Which delivery stream takes which class.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Routes {
    /// `class_uid` → stream.
    by_class: Vec<(u64, String)>,
    /// The `*` stream.
    other: Option<String>,
}

impl Routes {
    /// Reads `3002=ar-authentication,6003=ar-api-activity,*=ar-other`.
    fn parse(text: &str) -> Result<Self, String> {
        let mut routes = Routes { by_class: Vec::new(), other: None };
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (class, stream) = entry
                .split_once('=')
                .ok_or_else(|| format!("{entry:?} is not class_uid=stream or *=stream"))?;
            let (class, stream) = (class.trim(), stream.trim());
            let valid_name = (1..=64).contains(&stream.len())
                && stream.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !valid_name {
                return Err(format!("{stream:?} is not a delivery stream name (1-64 of a-z A-Z 0-9 _ . -)"));
            }
            if class == "*" {
                if routes.other.replace(stream.to_string()).is_some() {
                    return Err("* is named twice".to_string());
                }
                continue;
            }
            let uid: u64 = class.parse().map_err(|_| format!("{class:?} is not a class_uid or *"))?;
            if routes.by_class.iter().any(|(c, _)| *c == uid) {
                return Err(format!("class {uid} is named twice"));
            }
            routes.by_class.push((uid, stream.to_string()));
        }
        if routes.by_class.is_empty() && routes.other.is_none() {
            return Err("names no stream".to_string());
        }
        Ok(routes)
    }

    /// The stream of an event of `class_uid` (`None`: an event without one).
    fn stream(&self, class_uid: Option<u64>) -> Option<&str> {
        class_uid
            .and_then(|uid| self.by_class.iter().find(|(c, _)| *c == uid).map(|(_, s)| s.as_str()))
            .or(self.other.as_deref())
    }

    /// Every stream named, once.
    fn streams(&self) -> Vec<&str> {
        let mut all: Vec<&str> =
            self.by_class.iter().map(|(_, s)| s.as_str()).chain(self.other.as_deref()).collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// The Firehose sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    routes: Routes,
    downgrade: Option<&'static Downgrade>,
    client: aws_sdk_firehose::Client,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        let text = env.string(FIREHOSE_STREAMS).ok_or_else(|| {
            ConfigError::missing(
                FIREHOSE_STREAMS,
                "when SIEM_TYPE is firehose: class_uid=stream pairs and *=stream for the rest, e.g. *=audit-relay",
            )
        })?;
        let routes = Routes::parse(&text)
            .map_err(|reason| ConfigError::invalid(FIREHOSE_STREAMS, text.clone(), &reason))?;
        let downgrade = match env.string(FIREHOSE_OCSF_VERSION) {
            None => None,
            Some(text) if text.trim() == "1.8.0" => None,
            Some(text) => {
                let version = Version::parse(&text).ok_or_else(|| {
                    ConfigError::invalid(FIREHOSE_OCSF_VERSION, text.clone(), "is neither 1.8.0 nor 1.3.0")
                })?;
                let downgrade = version
                    .downgrade()
                    .map_err(|reason| ConfigError::invalid(FIREHOSE_OCSF_VERSION, text.clone(), &reason))?;
                Some(downgrade)
            }
        };
        let client = aws_sdk_firehose::Client::new(&crate::aws::sdk_config().await);
        Ok(Arc::new(Self { routes, downgrade, client }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, _http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(FirehoseSink {
            routes: self.routes.clone(),
            downgrade: self.downgrade,
            client: self.client.clone(),
        }))
    }
}

/// The sink routing by `streams` (as in `FIREHOSE_STREAMS`) through `client` (a caller, or a test,
/// that has its own), each OCSF event rewritten to `version` when given (`FIREHOSE_OCSF_VERSION`).
pub fn sink(
    streams: &str,
    version: Option<Version>,
    client: aws_sdk_firehose::Client,
) -> Result<Arc<dyn Sink>, String> {
    let downgrade = version.map(Version::downgrade).transpose()?;
    Ok(Arc::new(FirehoseSink { routes: Routes::parse(streams)?, downgrade, client }))
}

/// The Firehose sink.
struct FirehoseSink {
    routes: Routes,
    downgrade: Option<&'static Downgrade>,
    client: aws_sdk_firehose::Client,
}

/// NDJSON records of OCSF events rewritten to an older OCSF version ([`Downgrade::apply`]). An
/// event that cannot be (not OCSF JSON: raw or UDM) is sent as it is, with a warning.
struct DowngradeEncoder {
    downgrade: &'static Downgrade,
}

impl Encoder for DowngradeEncoder {
    fn framing(&self) -> Framing {
        Framing::LINES
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        let rewritten = serde_json::from_str::<serde_json::Value>(&event.json)
            .map_err(|e| e.to_string())
            .and_then(|mut value| self.downgrade.apply(&mut value).map(|()| value))
            .and_then(|value| serde_json::to_writer(&mut *out, &value).map_err(|e| e.to_string()));
        if let Err(reason) = rewritten {
            tracing::warn!(sink = NAME, reason, "Event sent without rewriting it to the older OCSF version.");
            out.extend_from_slice(event.json.as_bytes());
        }
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(record)
    }
}

/// What the engine is told about one record, and why.
type Outcomes = Vec<ItemOutcome>;

#[async_trait]
impl Sink for FirehoseSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "the function's role needs firehose:PutRecordBatch (and firehose:DescribeDeliveryStream for the check) on every stream FIREHOSE_STREAMS names"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits {
            max_body_bytes: MAX_CALL_BYTES,
            max_events: MAX_RECORDS,
            max_record_bytes: MAX_RECORD_BYTES - 1,
        }
    }

    fn gzip(&self) -> bool {
        false
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        match self.downgrade {
            Some(downgrade) => Arc::new(DowngradeEncoder { downgrade }),
            None => Arc::new(NdjsonEncoder),
        }
    }

    async fn send(&self, body: Bytes, events: usize, timeout: Duration) -> Reply {
        // The body is the events, each ended by a newline: each line and its newline is a record.
        let mut records: Vec<Bytes> = Vec::with_capacity(events);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &body) {
            records.push(body.slice(start..=end));
            start = end + 1;
        }
        if records.len() != events {
            return Reply::local(
                Verdict::Retry,
                format!("{} records in a body of {events} events", records.len()),
            );
        }
        let mut outcomes: Outcomes = vec![ItemOutcome::Retry; events];
        // Records by stream, in body order.
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let class_uid = class_uid(record);
            match self.routes.stream(class_uid) {
                Some(stream) => match groups.iter_mut().find(|(s, _)| *s == stream) {
                    Some((_, members)) => members.push(i),
                    None => groups.push((stream, vec![i])),
                },
                None => {
                    let class = class_uid.map_or_else(|| "(none)".to_string(), |c| c.to_string());
                    outcomes[i] = ItemOutcome::Refused(format!(
                        "class_uid {class} has no stream in FIREHOSE_STREAMS, and no *=stream entry"
                    ));
                }
            }
        }
        let mut notes = Vec::new();
        for (stream, members) in groups {
            let batch: Vec<Record> = members
                .iter()
                .filter_map(|&i| Record::builder().data(Blob::new(records[i].to_vec())).build().ok())
                .collect();
            let call =
                self.client.put_record_batch().delivery_stream_name(stream).set_records(Some(batch)).send();
            match tokio::time::timeout(timeout, call).await {
                Err(_) => notes.push(format!("{stream}: timeout")),
                Ok(Ok(output)) => {
                    let answers = output.request_responses();
                    if answers.len() != members.len() {
                        notes.push(format!(
                            "{stream}: {} answers for {} records",
                            answers.len(),
                            members.len()
                        ));
                        continue;
                    }
                    let failed = output.failed_put_count();
                    for (&i, answer) in members.iter().zip(answers) {
                        outcomes[i] = match answer.error_code() {
                            None => ItemOutcome::Delivered,
                            Some(code) if RETRIED_CODES.contains(&code) => ItemOutcome::Retry,
                            Some(code) => ItemOutcome::Refused(sanitize(
                                &format!("{stream}: {code}: {}", answer.error_message().unwrap_or_default()),
                                &[],
                            )),
                        };
                    }
                    if failed > 0 {
                        notes.push(format!("{stream}: FailedPutCount {failed} of {}", members.len()));
                    }
                }
                Ok(Err(error)) => {
                    use aws_sdk_firehose::error::ProvideErrorMetadata as _;
                    let code = error.code().unwrap_or_default().to_string();
                    let message = error.message().unwrap_or_default().to_string();
                    let text = match error.as_service_error() {
                        Some(_) => sanitize(&format!("{stream}: {code}: {message}"), &[]),
                        None => sanitize(
                            &format!("{stream}: {}", aws_sdk_firehose::error::DisplayErrorContext(&error)),
                            &[],
                        ),
                    };
                    let retried = error.as_service_error().is_none()
                        || RETRIED_CODES.contains(&code.as_str())
                        || code == "LimitExceededException";
                    if CREDENTIAL_CODES.contains(&code.as_str()) {
                        crate::metrics::emit_credential_rejected(crate::metrics::Rejected::Sink(NAME));
                        tracing::error!(sink = NAME, summary = %text, "Firehose refused the function's credentials: {}", self.credential_hint());
                    }
                    for &i in &members {
                        outcomes[i] =
                            if retried { ItemOutcome::Retry } else { ItemOutcome::Refused(text.clone()) };
                    }
                    notes.push(text);
                }
            }
        }
        let delivered = outcomes.iter().filter(|o| **o == ItemOutcome::Delivered).count();
        let summary = match notes.is_empty() {
            true => format!("{delivered} of {events} records put"),
            false => format!("{delivered} of {events} records put; {}", notes.join("; ")),
        };
        let mut reply =
            Reply::local(if delivered == events { Verdict::Delivered } else { Verdict::Items }, summary);
        reply.items = outcomes;
        reply
    }

    /// `DescribeDeliveryStream` of every stream named: each exists, is active, and the role may
    /// see it. Nothing is put.
    async fn check(&self, timeout: Duration) -> Probe {
        let streams = self.routes.streams();
        let target = format!("firehose {}", streams.join(", "));
        let mut states = Vec::new();
        for stream in &streams {
            let call = self.client.describe_delivery_stream().delivery_stream_name(*stream).send();
            match tokio::time::timeout(timeout, call).await {
                Err(_) => {
                    return Probe::failed(
                        target,
                        format!("{stream}: timeout"),
                        "Firehose did not answer: check the network path (VPC endpoint, NAT)",
                    )
                }
                Ok(Ok(output)) => {
                    let status = output
                        .delivery_stream_description()
                        .map(|d| d.delivery_stream_status().as_str().to_string())
                        .unwrap_or_default();
                    if status != "ACTIVE" {
                        return Probe::failed(
                            target,
                            format!("{stream}: {status}"),
                            "the delivery stream is not ACTIVE",
                        );
                    }
                    states.push(format!("{stream} ACTIVE"));
                }
                Ok(Err(error)) => {
                    use aws_sdk_firehose::error::ProvideErrorMetadata as _;
                    let detail = format!(
                        "{stream}: {}: {}",
                        error.code().unwrap_or("error"),
                        error.message().unwrap_or_default()
                    );
                    let hint = match error.code() {
                        Some("ResourceNotFoundException") => {
                            "no such delivery stream in this account and region: check FIREHOSE_STREAMS"
                        }
                        _ => self.credential_hint(),
                    };
                    return Probe::failed(target, sanitize(&detail, &[]), hint);
                }
            }
        }
        Probe::passed(target, states.join(", "))
    }
}

/// The `class_uid` of an event record (`None` for raw or UDM events, which have none).
fn class_uid(record: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Head {
        class_uid: Option<u64>,
    }
    serde_json::from_slice::<Head>(record).ok().and_then(|h| h.class_uid)
}

#[cfg(any(test, feature = "schema-validation"))]
pub mod glue;
#[cfg(test)]
mod tests;
