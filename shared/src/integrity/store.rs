//! The records of log files forwarded and not yet seen in a digest, in the state bucket: one empty
//! object per log file at `<INTEGRITY_PREFIX>files/<bucket>/<log file key>`, its SHA-256 and
//! forwarding time in the object's metadata. A digest's check reads a record with one
//! `HeadObject`; a digest that lists the file removes it; a record left after its period's digests
//! is a log file CloudTrail never listed. A digest leaves a mark at
//! `<INTEGRITY_PREFIX>listed/<bucket>/<key>` for each file it listed, with the hash it listed:
//! forwarding the file later (its notification was still queued, or it was written again) records
//! nothing and compares its hash with the mark's. Marks are left to expire (a lifecycle rule).

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectError;

use super::verify::{Recorded, Records};

/// What a log file held once inflated: what a CloudTrail digest lists of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The hex SHA-256.
    pub sha256: String,
    /// The size in bytes.
    pub size: u64,
    /// The S3 object's ETag when it was read: a digest's check trusts the hash only while the
    /// object still has it.
    pub etag: Option<String>,
}

/// The records of one state bucket.
#[derive(Debug, Clone)]
pub struct RecordStore {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl RecordStore {
    /// Records under `prefix` (ending with `/`) in `bucket`.
    pub fn new(s3: aws_sdk_s3::Client, bucket: String, prefix: String) -> Self {
        Self { s3, bucket, prefix }
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}files/{bucket}/{key}", self.prefix)
    }

    fn mark(&self, bucket: &str, key: &str) -> String {
        format!("{}listed/{bucket}/{key}", self.prefix)
    }

    /// Records that the log file `bucket`/`key` was forwarded with `content` at `now` (RFC 3339).
    pub async fn record(&self, bucket: &str, key: &str, content: &Content, now: &str) -> Result<(), String> {
        let record = self.key(bucket, key);
        let mut put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&record)
            .metadata("sha256", &content.sha256)
            .metadata("size", content.size.to_string())
            .metadata("forwarded", now);
        if let Some(etag) = &content.etag {
            put = put.metadata("etag", etag.trim_matches('"'));
        }
        put.send()
            .await
            .map(|_| ())
            .map_err(|e| format!("PutObject s3://{}/{record}: {}", self.bucket, DisplayErrorContext(&e)))
    }

    /// Removes the record of a log file (there may be none).
    pub async fn forget(&self, bucket: &str, key: &str) -> Result<(), String> {
        self.delete(&self.key(bucket, key)).await
    }

    /// Leaves the mark of a log file the digest `digest` (its key, in the same bucket) listed
    /// with `sha256`: forwarding the file later records nothing, and compares its hash with it.
    pub async fn mark_listed(
        &self,
        bucket: &str,
        key: &str,
        sha256: &str,
        digest: &str,
    ) -> Result<(), String> {
        let mark = self.mark(bucket, key);
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&mark)
            .metadata("sha256", sha256)
            .metadata("digest", digest)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("PutObject s3://{}/{mark}: {}", self.bucket, DisplayErrorContext(&e)))
    }

    /// The mark of a log file a digest listed: the hash it listed and the digest's key.
    pub async fn listed_mark(&self, bucket: &str, key: &str) -> Result<Option<(String, String)>, String> {
        let Some(metadata) = self.head(&self.mark(bucket, key)).await? else { return Ok(None) };
        let field = |name: &str| metadata.get(name).cloned().unwrap_or_default();
        Ok(Some((field("sha256"), field("digest"))))
    }

    /// The metadata of the object `key` of the state bucket (`None`: no such object).
    async fn head(&self, key: &str) -> Result<Option<std::collections::HashMap<String, String>>, String> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => Ok(Some(output.metadata.unwrap_or_default())),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), HeadObjectError::NotFound(_)) => Ok(None),
            Err(e) => Err(format!("HeadObject s3://{}/{key}: {}", self.bucket, DisplayErrorContext(&e))),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("DeleteObject s3://{}/{key}: {}", self.bucket, DisplayErrorContext(&e)))
    }

    /// The log file keys of `bucket` recorded under the log key prefix `log_prefix` (e.g.
    /// `AWSLogs/1111/CloudTrail/us-east-1/2024/11/19/`).
    pub async fn recorded(&self, bucket: &str, log_prefix: &str) -> Result<Vec<String>, String> {
        let prefix = self.key(bucket, log_prefix);
        let strip = self.key(bucket, "");
        let objects =
            crate::s3_object::list(&self.s3, &self.bucket, &prefix).await.map_err(|e| e.to_string())?;
        Ok(objects.into_iter().filter_map(|o| o.key.strip_prefix(&strip).map(str::to_string)).collect())
    }
}

#[async_trait]
impl Records for RecordStore {
    async fn recorded(&self, bucket: &str, key: &str) -> Result<Option<Recorded>, String> {
        let Some(metadata) = self.head(&self.key(bucket, key)).await? else { return Ok(None) };
        let Some(sha256) = metadata.get("sha256").cloned() else { return Ok(None) };
        Ok(Some(Recorded { sha256, etag: metadata.get("etag").cloned() }))
    }
}
