//! Replay of dead-lettered batches (the layout of [`crate::dead_letter`]): every
//! `<prefix>…/<source>/YYYY/MM/DD/<uuid>.ndjson.gz` object under a prefix is read and its lines are
//! sent again through the configured sink. An object is moved to `replayed/<its key>` only when
//! every line in it was accepted; when some were refused again, the object is rewritten (a
//! conditional write on its ETag) to hold only those, so running the replay twice sends nothing
//! twice.

use std::borrow::Cow;
use std::io::Read;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use serde::Deserialize;

use crate::dead_letter::{DeadLetter, DeadLetterError, DeadLetterStore};
use crate::delivery::DeliverySettings;
use crate::delivery::{Delivery, DeliveryError};
use crate::event::OutboundEvent;
use crate::event::{OutputFormat, Source};
use crate::sinks::Sink;
use crate::timestamp::parse_rfc3339_ms;

/// The folder replayed objects move to, at the top of the bucket.
pub(crate) const REPLAYED_PREFIX: &str = "replayed/";

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayReport {
    /// Dead-letter objects read.
    pub objects: u64,
    /// Objects whose every event was accepted, moved to `replayed/`.
    pub objects_replayed: u64,
    /// Objects rewritten to hold only the events refused again.
    pub objects_kept: u64,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Events refused again, still in the dead-letter store.
    pub events_remaining: u64,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An S3 call failed.
    #[error("{operation} s3://{bucket}/{key}: {message}")]
    S3 {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key or prefix.
        key: String,
        /// What S3 said.
        message: String,
    },
    /// An object is not gzip NDJSON.
    #[error("s3://{bucket}/{key} is not a gzip NDJSON dead letter: {message}")]
    Format {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The delivery engine failed (cannot happen with the replay's own store; kept for safety).
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// Sends dead letters again.
pub struct Replayer {
    /// S3 client of the dead-letter bucket.
    pub s3: aws_sdk_s3::Client,
    /// The sink to resend through.
    pub sink: Arc<dyn Sink>,
    /// Delivery settings.
    pub settings: DeliverySettings,
    /// The events' format (HEC sourcetype, Datadog tags).
    pub format: OutputFormat,
}

impl Replayer {
    /// Replays every dead letter under `s3://bucket/prefix` (objects already under `replayed/` are
    /// left alone).
    pub async fn replay_prefix(&self, bucket: &str, prefix: &str) -> Result<ReplayReport, ReplayError> {
        let mut report = ReplayReport::default();
        let mut keys = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("ListObjectsV2", bucket, prefix, e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.ends_with(".ndjson.gz") && !k.starts_with(REPLAYED_PREFIX))
                    .map(str::to_string),
            );
        }
        for key in keys {
            self.replay_object(bucket, &key, &mut report).await?;
        }
        Ok(report)
    }

    /// Replays one object and moves or rewrites it.
    pub async fn replay_object(
        &self,
        bucket: &str,
        key: &str,
        report: &mut ReplayReport,
    ) -> Result<(), ReplayError> {
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("GetObject", bucket, key, e))?;
        let etag = object.e_tag().map(str::to_string);
        let metadata = object.metadata().cloned().unwrap_or_default();
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| ReplayError::S3 {
                operation: "GetObject",
                bucket: bucket.into(),
                key: key.into(),
                message: e.to_string(),
            })?
            .into_bytes();
        let lines = gunzip(&body).map_err(|e| ReplayError::Format {
            bucket: bucket.into(),
            key: key.into(),
            message: e.to_string(),
        })?;
        let source = source_of(key).unwrap_or(Source::Cloudtrail);
        let refused = Arc::new(Refused::default());
        let mut delivery = Delivery::new(self.sink.clone(), refused.clone(), &self.settings, source, None)
            .with_format(self.format);
        let mut sent = 0u64;
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
            let json = String::from_utf8_lossy(line).into_owned();
            delivery.push(OutboundEvent { time_ms: event_time_ms(&json), json }).await?;
            sent += 1;
        }
        let delivered = delivery.finish().await?.delivered;
        report.objects += 1;
        report.events_delivered += delivered;
        let letters = refused.take();
        if letters.is_empty() {
            let target = format!("{REPLAYED_PREFIX}{key}");
            self.s3
                .copy_object()
                .bucket(bucket)
                .key(&target)
                .copy_source(format!("{bucket}/{}", percent_encoding::utf8_percent_encode(key, KEY_ENCODE)))
                .send()
                .await
                .map_err(|e| s3_error("CopyObject", bucket, &target, e))?;
            self.s3
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| s3_error("DeleteObject", bucket, key, e))?;
            report.objects_replayed += 1;
            tracing::info!(bucket, key, events = sent, "Dead letter replayed.");
            return Ok(());
        }
        let mut remaining = Vec::new();
        let mut events = 0;
        for letter in &letters {
            remaining.extend_from_slice(&letter.lines);
            events += letter.events;
        }
        let last = &letters[letters.len() - 1];
        let rewritten = DeadLetter {
            source,
            lines: remaining,
            events,
            reason: last.reason.clone(),
            sink: last.sink.clone(),
            attempts: metadata.get("attempts").and_then(|a| a.parse::<u32>().ok()).unwrap_or(0)
                + last.attempts,
            last_response: last.last_response.clone(),
            times: None,
        };
        let gz = crate::compress::gzip(&rewritten.lines).map_err(|e| ReplayError::Format {
            bucket: bucket.into(),
            key: key.into(),
            message: e.to_string(),
        })?;
        let mut put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/x-ndjson")
            .content_encoding("gzip")
            .body(ByteStream::from(gz));
        if let Some(etag) = etag {
            // Another replay that rewrote the object first wins; this one stops on the conflict.
            put = put.if_match(etag);
        }
        for (name, value) in rewritten.metadata() {
            put = put.metadata(name, value);
        }
        put.send().await.map_err(|e| s3_error("PutObject", bucket, key, e))?;
        report.objects_kept += 1;
        report.events_remaining += events;
        tracing::warn!(bucket, key, events_delivered = delivered, events_remaining = events, reason = %last.reason, "Dead letter partly replayed; the refused events stay.");
        Ok(())
    }
}

/// Characters escaped in a `CopySource` key (everything but unreserved characters and `/`).
const KEY_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The events the sink refused during a replay, kept in memory instead of a new dead letter.
#[derive(Default)]
struct Refused(Mutex<Vec<DeadLetter>>);

impl Refused {
    fn take(&self) -> Vec<DeadLetter> {
        self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

#[async_trait]
impl DeadLetterStore for Refused {
    async fn write(&self, letter: DeadLetter) -> Result<String, DeadLetterError> {
        match self.0.lock() {
            Ok(mut letters) => letters.push(letter),
            Err(poisoned) => poisoned.into_inner().push(letter),
        }
        Ok("kept for the rewrite".to_string())
    }

    async fn probe(&self, _source: Source) -> crate::probe::Probe {
        crate::probe::Probe::passed("memory", "refused events are kept in memory for the rewrite")
    }
}

/// The source named in a dead-letter key (`…/<source>/YYYY/MM/DD/<uuid>.ndjson.gz`).
pub(crate) fn source_of(key: &str) -> Option<Source> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    (n >= 5).then(|| parts[n - 5].parse().ok()).flatten()
}

#[derive(Deserialize)]
struct EventTimes<'a> {
    time: Option<i64>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "@timestamp", borrow)]
    at_timestamp: Option<Cow<'a, str>>,
}

/// The time of a dead-lettered line: OCSF `time`, CloudTrail `eventTime` or `@timestamp`; 0 when
/// none (sinks then let the SIEM stamp it).
pub(crate) fn event_time_ms(line: &str) -> i64 {
    let Ok(times) = serde_json::from_str::<EventTimes<'_>>(line) else { return 0 };
    times
        .time
        .or_else(|| times.event_time.as_deref().and_then(parse_rfc3339_ms))
        .or_else(|| times.at_timestamp.as_deref().and_then(parse_rfc3339_ms))
        .unwrap_or(0)
}

fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)?;
    Ok(out)
}

fn s3_error<E, R>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    error: aws_sdk_s3::error::SdkError<E, R>,
) -> ReplayError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    ReplayError::S3 {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        message: DisplayErrorContext(error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_comes_from_the_key_layout() {
        let cases = [
            ("dlq/cloudtrail/2024/11/19/0b6f.ndjson.gz", Some(Source::Cloudtrail)),
            ("team-a/dlq/azure_devops/2024/01/02/x.ndjson.gz", Some(Source::AzureDevops)),
            ("atlassian/2024/01/02/x.ndjson.gz", Some(Source::Atlassian)),
            ("dlq/unknown/2024/01/02/x.ndjson.gz", None),
            ("x.ndjson.gz", None),
        ];
        for (key, expected) in cases {
            assert_eq!(source_of(key), expected, "{key}");
        }
    }

    #[test]
    fn event_time_from_ocsf_cloudtrail_or_timestamp() {
        let cases = [
            (r#"{"class_uid":6003,"time":1700000000123}"#, 1_700_000_000_123),
            (r#"{"eventTime":"2014-07-08T17:35:27Z","eventID":"e"}"#, 1_404_840_927_000),
            (r#"{"@timestamp":"2024-09-20T16:31:50.748+00:00"}"#, 1_726_849_910_748),
            (r#"{"object":"s3://b/k","size":9}"#, 0),
            ("not json", 0),
        ];
        for (line, expected) in cases {
            assert_eq!(event_time_ms(line), expected, "{line}");
        }
    }
}
