//! The dead-letter store: where events that cannot be delivered are kept for replay.
//!
//! One object per dead-lettered batch: gzip NDJSON, one line per event, each line exactly the
//! event's text (`OutboundEvent::json`, or the raw source record of a rejected one), so a replay can
//! send the lines again through any sink. Keys are `<DLQ_PREFIX><source>/YYYY/MM/DD/<uuid>.ndjson.gz`
//! (date of the write, UTC). The reason, sink, attempts, last response, event count and event time
//! range travel as S3 user metadata (`x-amz-meta-*`, printable ASCII, under 2 KB in all); a local
//! directory store writes them to a `<uuid>.ndjson.gz.meta.json` file beside the object.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::env::EnvReader;
use crate::event::Source;
use crate::probe::{self, Probe};

/// `DLQ_BUCKET`: dead-letter bucket.
pub const DLQ_BUCKET: &str = "DLQ_BUCKET";
/// `DLQ_PREFIX`: dead-letter key prefix.
pub const DLQ_PREFIX: &str = "DLQ_PREFIX";
/// `DLQ_DIR`: local dead-letter directory (CLI use).
pub const DLQ_DIR: &str = "DLQ_DIR";

/// Where undeliverable events go.
#[derive(Debug, Clone)]
pub struct DeadLetterConfig {
    /// `DLQ_BUCKET`: the bucket. Without it (and without `DLQ_DIR`) a batch that cannot be delivered
    /// fails the invocation.
    pub bucket: Option<String>,
    /// `DLQ_PREFIX` (default `dlq/`).
    pub prefix: String,
    /// `DLQ_DIR`: a local directory instead of a bucket (for the CLI).
    pub dir: Option<String>,
}

impl DeadLetterConfig {
    /// Reads the settings.
    pub fn from_env(env: &EnvReader) -> Self {
        Self {
            bucket: env.string(DLQ_BUCKET),
            prefix: env.string(DLQ_PREFIX).unwrap_or_else(|| "dlq/".to_string()),
            dir: env.string(DLQ_DIR),
        }
    }
}

/// Cap on the `reason` metadata value.
const MAX_REASON_BYTES: usize = 1_024;
/// Cap on the `last-response` metadata value (status and the first ~256 bytes of the body).
const MAX_RESPONSE_BYTES: usize = 300;

/// A batch of undeliverable events and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The source the events came from (the key's second level).
    pub source: Source,
    /// The events, uncompressed NDJSON: one event a line, each line ending in `\n`.
    pub lines: Vec<u8>,
    /// Lines in `lines`.
    pub events: u64,
    /// Why they were not delivered.
    pub reason: String,
    /// The sink (`SIEM_TYPE`) they were meant for.
    pub sink: String,
    /// Requests made for them (0 when never sent).
    pub attempts: u32,
    /// The last response: status and the first bytes of the body, or the transport error.
    pub last_response: Option<String>,
    /// Earliest and latest event time, ms since the epoch, when known.
    pub times: Option<(i64, i64)>,
}

impl DeadLetter {
    /// The metadata pairs stored with the object: printable ASCII, bounded (under 2 KB in all).
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("reason", bounded(&self.reason, MAX_REASON_BYTES)),
            ("sink", bounded(&self.sink, 64)),
            ("attempts", self.attempts.to_string()),
            ("events", self.events.to_string()),
        ];
        if let Some(response) = &self.last_response {
            pairs.push(("last-response", bounded(response, MAX_RESPONSE_BYTES)));
        }
        if let Some((first, last)) = self.times {
            pairs.push(("first-event-time", crate::timestamp::format_rfc3339_ms(first)));
            pairs.push(("last-event-time", crate::timestamp::format_rfc3339_ms(last)));
        }
        pairs
    }
}

/// Printable ASCII (others become `?`), at most `max` bytes (an ellipsis marks a cut).
fn bounded(text: &str, max: usize) -> String {
    let mut out: String =
        text.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' }).collect();
    if out.len() > max {
        out.truncate(max.saturating_sub(3));
        out.push_str("...");
    }
    out
}

/// `ms` as an RFC 3339 UTC timestamp, or the number itself when out of range.
/// The object key of a dead letter for `source` written at `now`: `<prefix><source>/YYYY/MM/DD/<uuid>.ndjson.gz`.
/// A non-empty prefix without a trailing `/` gets one.
pub(crate) fn object_key(prefix: &str, source: Source, now: OffsetDateTime) -> String {
    let slash = if prefix.is_empty() || prefix.ends_with('/') { "" } else { "/" };
    format!(
        "{prefix}{slash}{source}/{:04}/{:02}/{:02}/{}.ndjson.gz",
        now.year(),
        u8::from(now.month()),
        now.day(),
        uuid::Uuid::new_v4()
    )
}

/// Why a dead letter could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// No store is configured.
    #[error("no dead-letter store configured: set DLQ_BUCKET")]
    NotConfigured,
    /// `DLQ_BUCKET` is set but the function was given no S3 client.
    #[error("DLQ_BUCKET {bucket} is set but no S3 client is available")]
    NoClient {
        /// The bucket.
        bucket: String,
    },
    /// S3 refused or failed the upload.
    #[error("could not write s3://{bucket}/{key}: {message}")]
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What S3 said.
        message: String,
    },
    /// The local directory could not be written.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Where undeliverable events are kept for replay.
#[async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Stores one dead letter; returns where (an `s3://` URL or a path).
    async fn write(&self, letter: DeadLetter) -> Result<String, DeadLetterError>;
    /// Whether `source`'s dead letters can be written (`audit-relay check`): a probe object is
    /// written where they go, read back and deleted.
    async fn probe(&self, source: Source) -> Probe;
}

/// What to check when the dead-letter store cannot be written.
const PROBE_HINT: &str = "the function's role needs s3:PutObject, s3:GetObject and s3:DeleteObject on DLQ_BUCKET/DLQ_PREFIX<source>/audit-relay-check/*, and the bucket must exist";

/// The store `config` asks for: `DLQ_DIR` when set, else `DLQ_BUCKET` with `s3`, else none (every
/// write fails, so the invocation fails rather than dropping events).
pub fn from_config(config: &DeadLetterConfig, s3: Option<aws_sdk_s3::Client>) -> Arc<dyn DeadLetterStore> {
    match (&config.dir, &config.bucket, s3) {
        (Some(dir), _, _) => Arc::new(DirDeadLetter::new(dir)),
        (None, Some(bucket), Some(client)) => Arc::new(S3DeadLetter::new(client, bucket, &config.prefix)),
        (None, Some(bucket), None) => Arc::new(NoClient { bucket: bucket.clone() }),
        (None, None, _) => Arc::new(NoDeadLetter),
    }
}

/// Dead letters in an S3 bucket (`DLQ_BUCKET`, `DLQ_PREFIX`).
#[derive(Debug, Clone)]
pub struct S3DeadLetter {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3DeadLetter {
    /// A store writing to `bucket` under `prefix` (e.g. `dlq/`).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), prefix: prefix.into() }
    }
}

#[async_trait]
impl DeadLetterStore for S3DeadLetter {
    async fn write(&self, letter: DeadLetter) -> Result<String, DeadLetterError> {
        let key = object_key(&self.prefix, letter.source, OffsetDateTime::now_utc());
        let failed =
            |message: String| DeadLetterError::S3 { bucket: self.bucket.clone(), key: key.clone(), message };
        let body = crate::compress::gzip(&letter.lines).map_err(|e| failed(e.to_string()))?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .content_encoding("gzip")
            .body(body.into());
        for (name, value) in letter.metadata() {
            request = request.metadata(name, value);
        }
        request.send().await.map_err(|e| failed(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    async fn probe(&self, source: Source) -> Probe {
        let prefix = format!("{}{source}/", self.prefix);
        probe::s3_round_trip(&self.client, &self.bucket, &prefix, PROBE_HINT).await
    }
}

/// Dead letters in a local directory (`DLQ_DIR`, CLI use), laid out like the bucket's keys, with a
/// `.meta.json` file beside each object.
#[derive(Debug, Clone)]
pub(crate) struct DirDeadLetter {
    dir: PathBuf,
}

impl DirDeadLetter {
    /// A store writing under `dir` (created when needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

#[async_trait]
impl DeadLetterStore for DirDeadLetter {
    async fn write(&self, letter: DeadLetter) -> Result<String, DeadLetterError> {
        let path = self.dir.join(object_key("", letter.source, OffsetDateTime::now_utc()));
        let io =
            |path: &std::path::Path, source| DeadLetterError::Io { path: path.display().to_string(), source };
        let body = crate::compress::gzip(&letter.lines).map_err(|e| io(&path, e))?;
        let metadata: serde_json::Map<String, serde_json::Value> =
            letter.metadata().into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
        let metadata = serde_json::to_vec_pretty(&metadata).map_err(|e| io(&path, e.into()))?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| io(parent, e))?;
        }
        let mut meta_path = path.clone().into_os_string();
        meta_path.push(".meta.json");
        let meta_path = PathBuf::from(meta_path);
        tokio::fs::write(&meta_path, metadata).await.map_err(|e| io(&meta_path, e))?;
        // Written under a temporary name and renamed, so a reader never sees half an object.
        let mut partial = path.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        tokio::fs::write(&partial, body).await.map_err(|e| io(&partial, e))?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| io(&path, e))?;
        Ok(path.display().to_string())
    }

    async fn probe(&self, source: Source) -> Probe {
        probe::dir_round_trip(
            &self.dir.join(source.as_str()),
            "DLQ_DIR must be a directory this process can write",
        )
        .await
    }
}

/// No store: every write fails, so undeliverable events fail the invocation instead of vanishing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDeadLetter;

#[async_trait]
impl DeadLetterStore for NoDeadLetter {
    async fn write(&self, _letter: DeadLetter) -> Result<String, DeadLetterError> {
        Err(DeadLetterError::NotConfigured)
    }

    async fn probe(&self, _source: Source) -> Probe {
        Probe::failed(
            "none",
            "no dead-letter store: events the SIEM refuses fail the invocation",
            "set DLQ_BUCKET (or DLQ_DIR for local runs)",
        )
    }
}

/// `DLQ_BUCKET` without an S3 client: every write fails, naming the bucket.
#[derive(Debug, Clone)]
struct NoClient {
    bucket: String,
}

#[async_trait]
impl DeadLetterStore for NoClient {
    async fn write(&self, _letter: DeadLetter) -> Result<String, DeadLetterError> {
        Err(DeadLetterError::NoClient { bucket: self.bucket.clone() })
    }

    async fn probe(&self, _source: Source) -> Probe {
        let error = DeadLetterError::NoClient { bucket: self.bucket.clone() };
        Probe::failed(
            format!("s3://{}", self.bucket),
            error.to_string(),
            "this build runs without an S3 client",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn letter() -> DeadLetter {
        DeadLetter {
            source: Source::Cloudtrail,
            lines: b"{\"a\":1}\n{\"b\":2}\n".to_vec(),
            events: 2,
            reason: "HEC code 4: Invalid token".to_string(),
            sink: "splunk_hec".to_string(),
            attempts: 1,
            last_response: Some("403: {\"text\":\"Invalid token\",\"code\":4}".to_string()),
            times: Some((1_426_279_439_123, 1_426_279_440_000)),
        }
    }

    #[test]
    fn keys_follow_prefix_source_date_uuid() {
        let now = time::macros::datetime!(2024-03-07 23:59:59 UTC);
        for (prefix, start) in [
            ("dlq/", "dlq/cloudtrail/2024/03/07/"),
            ("dlq", "dlq/cloudtrail/2024/03/07/"),
            ("", "cloudtrail/2024/03/07/"),
        ] {
            let key = object_key(prefix, Source::Cloudtrail, now);
            let uuid = key.strip_prefix(start).and_then(|k| k.strip_suffix(".ndjson.gz"));
            assert!(uuid.is_some_and(|u| uuid::Uuid::parse_str(u).is_ok()), "{prefix:?}: {key}");
        }
        assert_ne!(object_key("", Source::Cloudtrail, now), object_key("", Source::Cloudtrail, now));
    }

    #[test]
    fn metadata_is_ascii_bounded_and_complete() {
        let meta = letter().metadata();
        let get = |k: &str| meta.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("reason"), Some("HEC code 4: Invalid token"));
        assert_eq!(get("sink"), Some("splunk_hec"));
        assert_eq!(get("attempts"), Some("1"));
        assert_eq!(get("events"), Some("2"));
        assert_eq!(get("last-response"), Some("403: {\"text\":\"Invalid token\",\"code\":4}"));
        assert_eq!(get("first-event-time"), Some("2015-03-13T20:43:59.123Z"));
        assert_eq!(get("last-event-time"), Some("2015-03-13T20:44:00Z"));

        let mut huge = letter();
        huge.reason = "é\n".repeat(5_000);
        huge.last_response = Some("x".repeat(5_000));
        huge.sink = "s".repeat(500);
        let meta = huge.metadata();
        let total: usize = meta.iter().map(|(k, v)| "x-amz-meta-".len() + k.len() + v.len()).sum();
        assert!(total < 2_048, "{total}");
        assert!(meta.iter().all(|(_, v)| v.chars().all(|c| c == ' ' || c.is_ascii_graphic())));
        assert!(
            meta[0].1.starts_with("??????")
                && meta[0].1.ends_with("...")
                && meta[0].1.len() == MAX_REASON_BYTES
        );
    }

    #[tokio::test]
    async fn dir_store_writes_gzip_lines_and_metadata_beside() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirDeadLetter::new(dir.path());
        let written = store.write(letter()).await.unwrap();
        let today = OffsetDateTime::now_utc();
        let expected_dir = dir.path().join(format!(
            "cloudtrail/{:04}/{:02}/{:02}",
            today.year(),
            u8::from(today.month()),
            today.day()
        ));
        assert!(written.starts_with(&expected_dir.display().to_string()), "{written}");
        assert!(written.ends_with(".ndjson.gz"), "{written}");
        let mut lines = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&written).unwrap())
            .read_to_string(&mut lines)
            .unwrap();
        assert_eq!(lines, "{\"a\":1}\n{\"b\":2}\n");
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{written}.meta.json")).unwrap()).unwrap();
        assert_eq!(meta["reason"], "HEC code 4: Invalid token");
        assert_eq!(meta["events"], "2");
        assert_eq!(std::fs::read_dir(&expected_dir).unwrap().count(), 2);
    }

    #[tokio::test]
    async fn missing_stores_fail_with_a_clear_error() {
        let none = from_config(&DeadLetterConfig { bucket: None, prefix: "dlq/".into(), dir: None }, None);
        let err = none.write(letter()).await.unwrap_err().to_string();
        assert_eq!(err, "no dead-letter store configured: set DLQ_BUCKET");
        let no_client = from_config(
            &DeadLetterConfig { bucket: Some("b".into()), prefix: "dlq/".into(), dir: None },
            None,
        );
        let err = no_client.write(letter()).await.unwrap_err().to_string();
        assert_eq!(err, "DLQ_BUCKET b is set but no S3 client is available");
    }
}
