//! Moves one CloudTrail log file through the pipeline: read records one at a time, convert, push
//! to the delivery engine. A record that cannot be converted is dead-lettered with its reason; a
//! read that fails for a transient cause (S3, network) is retried from the start of the object,
//! skipping the records this invocation already pushed, so nothing is sent twice.

use tokio::io::AsyncRead;

use super::convert::Converter;
use super::notification::ObjectRef;
use super::reader::{RawRecord, ReadError, RecordReader};
use crate::delivery::{Delivery, DeliveryError};
use crate::s3_object::{self, OpenError};

/// Attempts at reading one object when reading fails for a transient cause.
const READ_ATTEMPTS: u32 = 3;

/// What one object yielded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectCounts {
    /// Records read.
    pub records: u64,
    /// Events pushed to the delivery engine.
    pub events: u64,
    /// Records that could not be converted, dead-lettered with the reason.
    pub rejected: u64,
}

impl ObjectCounts {
    /// Adds another object's counts.
    pub fn add(&mut self, other: ObjectCounts) {
        self.records += other.records;
        self.events += other.events;
        self.rejected += other.rejected;
    }
}

/// Why an object was not (entirely) forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The object could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Reading stopped; the records before were forwarded.
    #[error("{object}: {source} ({records} records forwarded before it)")]
    Read {
        /// `s3://bucket/key` or the file path.
        object: String,
        /// Records forwarded before the error.
        records: u64,
        /// The cause.
        source: ReadError,
    },
    /// Events could be neither delivered nor dead-lettered: the invocation must fail.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

impl ForwardError {
    /// Whether the object could be read with another attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Open(e) => e.transient,
            Self::Read { source, .. } => source.is_transient(),
            Self::Delivery(_) => false,
        }
    }
}

/// Forwards the records of `reader`, skipping the first `skip` (already pushed by an earlier
/// attempt). `counts` is updated as it goes, so it is right even when an error stops it.
pub async fn forward_records(
    reader: &mut RecordReader,
    delivery: &mut Delivery,
    converter: &Converter,
    object: &str,
    skip: u64,
    counts: &mut ObjectCounts,
) -> Result<(), ForwardError> {
    loop {
        let (index, record) = match reader.next_record().await {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(()),
            Err(source) => {
                return Err(ForwardError::Read {
                    object: object.to_string(),
                    records: counts.records,
                    source,
                });
            }
        };
        if index < skip {
            continue;
        }
        counts.records += 1;
        let outcome = match record {
            RawRecord::Json(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => converter.convert(text).map_err(|reason| (text.to_string(), reason)),
                Err(e) => Err((String::from_utf8_lossy(bytes).into_owned(), format!("invalid UTF-8: {e}"))),
            },
            RawRecord::Oversized { size } => Err((
                serde_json::json!({"object": object, "record_index": index, "size": size}).to_string(),
                format!("record of {size} bytes passes MAX_RECORD_BYTES"),
            )),
        };
        match outcome {
            Ok(event) => {
                delivery.push(event).await?;
                counts.events += 1;
            }
            Err((raw, reason)) => {
                tracing::warn!(object, record_index = index, reason = %reason, "Record dead-lettered.");
                delivery.reject(raw, format!("{object} record {index}: {reason}")).await?;
                counts.rejected += 1;
            }
        }
    }
}

/// Forwards one log file from any byte source (a local file, a test buffer).
pub async fn forward_stream<R>(
    input: R,
    object: &str,
    delivery: &mut Delivery,
    converter: &Converter,
    limits: ReadLimits,
    counts: &mut ObjectCounts,
) -> Result<(), ForwardError>
where
    R: AsyncRead + Send + 'static,
{
    let mut reader = RecordReader::open(input, limits.max_object_bytes, limits.max_record_bytes)
        .await
        .map_err(|source| ForwardError::Read { object: object.to_string(), records: 0, source })?;
    forward_records(&mut reader, delivery, converter, object, 0, counts).await
}

/// Caps on what one object may inflate to.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// `MAX_OBJECT_BYTES`.
    pub max_object_bytes: u64,
    /// `MAX_RECORD_BYTES`.
    pub max_record_bytes: usize,
}

/// Forwards one S3 object, retrying transient read failures without resending records.
pub async fn forward_s3_object(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
    delivery: &mut Delivery,
    converter: &Converter,
    limits: ReadLimits,
) -> Result<ObjectCounts, (ObjectCounts, ForwardError)> {
    let name = format!("s3://{}/{}", object.bucket, object.key);
    let mut counts = ObjectCounts::default();
    let mut attempt = 1;
    loop {
        let result = async {
            let body = s3_object::open(client, object).await?;
            let mut reader = RecordReader::open(body, limits.max_object_bytes, limits.max_record_bytes)
                .await
                .map_err(|source| ForwardError::Read { object: name.clone(), records: 0, source })?;
            let already = counts.records;
            forward_records(&mut reader, delivery, converter, &name, already, &mut counts).await
        }
        .await;
        match result {
            Ok(()) => return Ok(counts),
            Err(error) if error.is_transient() && attempt < READ_ATTEMPTS => {
                tracing::warn!(object = %name, attempt, records = counts.records, error = %error, "Reading failed; reading again.");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err((counts, error)),
        }
    }
}
