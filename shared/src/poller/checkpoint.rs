//! Where each stream stopped: one small JSON object per stream, in S3 (or a local directory for the
//! CLI), written with a conditional request so two runs cannot both advance it.
//!
//! S3 writes use `If-None-Match: *` for the first version and `If-Match: <ETag>` after; a 412
//! (or 409, a concurrent conditional write) means another run wrote it first. Every write bumps
//! `generation`, so two versions never have the same ETag (no A-B-A).

use std::path::PathBuf;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

use super::api::{Resume, Window};
use crate::probe::{self, Probe};

/// Format version of the checkpoint object.
pub const CHECKPOINT_VERSION: u32 = 1;

/// One stream's position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The stream id.
    pub stream: String,
    /// Every window up to here was read completely (ms since the epoch); `None` before the first.
    #[serde(default)]
    pub watermark_ms: Option<i64>,
    /// A window left part-way (deadline, error): the next run resumes it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWindow>,
    /// Ids already delivered that a later query can return again (the overlap window, and the
    /// last page before a stop).
    #[serde(default)]
    pub seen: Vec<SeenId>,
    /// The newest record time delivered so far (ms): the poller lag is now minus this.
    #[serde(default)]
    pub newest_event_ms: Option<i64>,
    /// The run holding the stream, so that an overlapping run stops before reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// Bumped by every write.
    #[serde(default)]
    pub generation: u64,
    /// The run that wrote this version.
    #[serde(default)]
    pub run_id: String,
    /// When this version was written (ms).
    #[serde(default)]
    pub updated_ms: i64,
}

impl Checkpoint {
    /// A stream never polled before.
    pub fn new(stream: &str) -> Self {
        Self { version: CHECKPOINT_VERSION, stream: stream.to_string(), ..Self::default() }
    }
}

/// A window read part-way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingWindow {
    /// The window.
    pub window: Window,
    /// Where its next page starts; `None`: from its start.
    #[serde(default)]
    pub resume: Option<Resume>,
}

/// An id delivered, with the record's time (it is dropped once no query can return it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenId {
    /// The record id.
    pub id: String,
    /// Its time (ms).
    pub t: i64,
}

/// A run's claim on a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The run.
    pub run_id: String,
    /// After this (ms since the epoch) the claim is void: the run's deadline plus a grace.
    pub expires_ms: i64,
}

/// A checkpoint as stored, with the version tag a conditional write needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The content.
    pub checkpoint: Checkpoint,
    /// Its ETag (S3) or content hash (directory).
    pub etag: String,
}

/// Why a checkpoint could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Another run wrote the checkpoint since it was read: this run must stop without writing.
    #[error("checkpoint {location} was changed by another run")]
    Conflict {
        /// `s3://bucket/key` or the file path.
        location: String,
    },
    /// The stored object is not a checkpoint; an operator must fix or delete it.
    #[error("checkpoint {location} is not readable: {reason} (fix or delete it to start over)")]
    Corrupt {
        /// Where.
        location: String,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error("checkpoint {location}: {message}")]
    Storage {
        /// Where.
        location: String,
        /// What the store said.
        message: String,
    },
}

/// Reads and conditionally writes checkpoints. S3 in Lambda; a directory for local runs.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// Where `stream`'s checkpoint lives, for messages.
    fn location(&self, stream: &str) -> String;

    /// The stored checkpoint of `stream`, or `None` before its first write.
    async fn load(&self, stream: &str) -> Result<Option<Stored>, CheckpointError>;

    /// Writes `checkpoint` if the stored version is still `expected` (`None`: if there is none
    /// yet); returns the new version's tag, or [`CheckpointError::Conflict`].
    async fn save(
        &self,
        stream: &str,
        checkpoint: &Checkpoint,
        expected: Option<&str>,
    ) -> Result<String, CheckpointError>;

    /// Whether checkpoints can be kept here (`audit-relay check`): a probe object is written with
    /// the conditional write checkpoints use, read back and deleted; no checkpoint is touched.
    async fn probe(&self) -> Probe;
}

/// What to check when the checkpoint store cannot be used.
const PROBE_HINT: &str = "the function's role needs s3:GetObject, s3:PutObject and s3:DeleteObject on CHECKPOINT_BUCKET/CHECKPOINT_PREFIX<source>/audit-relay-check/*, and the bucket must exist";

/// Checkpoints as S3 objects `<prefix><stream>.json`.
#[derive(Debug, Clone)]
pub struct S3CheckpointStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3CheckpointStore {
    /// A store in `bucket` under `prefix` (e.g. `checkpoints/atlassian/`).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), prefix: prefix.into() }
    }

    fn key(&self, stream: &str) -> String {
        format!("{}{stream}.json", self.prefix)
    }
}

#[async_trait]
impl CheckpointStore for S3CheckpointStore {
    fn location(&self, stream: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(stream))
    }

    async fn load(&self, stream: &str) -> Result<Option<Stored>, CheckpointError> {
        let location = self.location(stream);
        let output = match self.client.get_object().bucket(&self.bucket).key(self.key(stream)).send().await {
            Ok(output) => output,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(CheckpointError::Storage {
                    location,
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                })
            }
        };
        let etag = output.e_tag.clone().unwrap_or_default();
        let body = output.body.collect().await.map_err(|e| CheckpointError::Storage {
            location: location.clone(),
            message: format!("reading the body failed: {e}"),
        })?;
        let checkpoint = decode(&body.into_bytes(), &location)?;
        Ok(Some(Stored { checkpoint, etag }))
    }

    async fn save(
        &self,
        stream: &str,
        checkpoint: &Checkpoint,
        expected: Option<&str>,
    ) -> Result<String, CheckpointError> {
        let location = self.location(stream);
        let body = encode(checkpoint, &location)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(stream))
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match expected {
            Some(etag) => request.if_match(etag),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(output) => Ok(output.e_tag.unwrap_or_default()),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                if matches!(status, Some(412 | 409)) {
                    return Err(CheckpointError::Conflict { location });
                }
                Err(CheckpointError::Storage {
                    location,
                    message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                })
            }
        }
    }

    async fn probe(&self) -> Probe {
        probe::s3_round_trip(&self.client, &self.bucket, &self.prefix, PROBE_HINT).await
    }
}

/// Checkpoints as files `<dir>/<stream>.json` (the CLI). The version tag is the content's hash;
/// the check and the write are not atomic across processes, so one poll at a time per directory.
#[derive(Debug, Clone)]
pub struct DirCheckpointStore {
    dir: PathBuf,
}

impl DirCheckpointStore {
    /// A store in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, stream: &str) -> PathBuf {
        self.dir.join(format!("{stream}.json"))
    }
}

#[async_trait]
impl CheckpointStore for DirCheckpointStore {
    fn location(&self, stream: &str) -> String {
        self.path(stream).display().to_string()
    }

    async fn load(&self, stream: &str) -> Result<Option<Stored>, CheckpointError> {
        let location = self.location(stream);
        match tokio::fs::read(self.path(stream)).await {
            Ok(bytes) => {
                let checkpoint = decode(&bytes, &location)?;
                Ok(Some(Stored { checkpoint, etag: content_tag(&bytes) }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CheckpointError::Storage { location, message: e.to_string() }),
        }
    }

    async fn save(
        &self,
        stream: &str,
        checkpoint: &Checkpoint,
        expected: Option<&str>,
    ) -> Result<String, CheckpointError> {
        let location = self.location(stream);
        let storage = |e: std::io::Error| CheckpointError::Storage {
            location: location.clone(),
            message: e.to_string(),
        };
        let current = match tokio::fs::read(self.path(stream)).await {
            Ok(bytes) => Some(content_tag(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(storage(e)),
        };
        if current.as_deref() != expected {
            return Err(CheckpointError::Conflict { location });
        }
        let body = encode(checkpoint, &location)?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(storage)?;
        let temporary = self.dir.join(format!(".{stream}.json.{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&temporary, &body).await.map_err(storage)?;
        tokio::fs::rename(&temporary, self.path(stream)).await.map_err(storage)?;
        Ok(content_tag(&body))
    }

    async fn probe(&self) -> Probe {
        probe::dir_round_trip(&self.dir, "CHECKPOINT_DIR must be a directory this process can write").await
    }
}

fn encode(checkpoint: &Checkpoint, location: &str) -> Result<Vec<u8>, CheckpointError> {
    serde_json::to_vec(checkpoint).map_err(|e| CheckpointError::Storage {
        location: location.to_string(),
        message: format!("could not serialize: {e}"),
    })
}

fn decode(bytes: &[u8], location: &str) -> Result<Checkpoint, CheckpointError> {
    let checkpoint: Checkpoint = serde_json::from_slice(bytes)
        .map_err(|e| CheckpointError::Corrupt { location: location.to_string(), reason: e.to_string() })?;
    if checkpoint.version != CHECKPOINT_VERSION {
        return Err(CheckpointError::Corrupt {
            location: location.to_string(),
            reason: format!("version {} is not {CHECKPOINT_VERSION}", checkpoint.version),
        });
    }
    Ok(checkpoint)
}

/// The hex SHA-256 of a file's content.
fn content_tag(bytes: &[u8]) -> String {
    crate::hash::sha256_hex(&[bytes], 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn directory_store_writes_only_over_the_version_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirCheckpointStore::new(dir.path().join("atlassian"));
        assert_eq!(store.load("jira-x").await.unwrap(), None);
        let mut checkpoint = Checkpoint::new("jira-x");
        let first = store.save("jira-x", &checkpoint, None).await.unwrap();
        assert!(matches!(
            store.save("jira-x", &checkpoint, None).await,
            Err(CheckpointError::Conflict { .. })
        ));
        checkpoint.generation = 1;
        checkpoint.watermark_ms = Some(42);
        let second = store.save("jira-x", &checkpoint, Some(&first)).await.unwrap();
        assert_ne!(first, second);
        assert!(matches!(
            store.save("jira-x", &checkpoint, Some(&first)).await,
            Err(CheckpointError::Conflict { .. })
        ));
        let stored = store.load("jira-x").await.unwrap().unwrap();
        assert_eq!(stored.etag, second);
        assert_eq!(stored.checkpoint.watermark_ms, Some(42));
    }

    #[tokio::test]
    async fn unreadable_checkpoint_names_its_location() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("org-1.json"), br#"{"version": 7, "stream": "org-1"}"#).unwrap();
        let store = DirCheckpointStore::new(dir.path());
        let error = store.load("org-1").await.unwrap_err().to_string();
        assert!(error.contains("org-1.json") && error.contains("version 7"), "{error}");
    }
}
