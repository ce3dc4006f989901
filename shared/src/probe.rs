//! What one component answers to `audit-relay check` ([`crate::check`]): a [`Probe`] names the
//! target it reached and says whether the component works, with a hint when it does not. Also the
//! storage probes the checkpoint and dead-letter stores share: write a probe object under their
//! prefix (conditionally, as checkpoints are written), read it back, delete it.

use std::path::Path;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

/// The folder, under a store's prefix, that probe objects are written to (and deleted from).
pub(crate) const PROBE_FOLDER: &str = "audit-relay-check/";

/// One component's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What was reached: a host (`splunk.example.com:8088`), `s3://bucket/prefix`, a directory.
    pub target: String,
    /// Whether the component works.
    pub ok: bool,
    /// What it answered (a status, a code, the error), never a credential.
    pub detail: String,
    /// What to fix, when it failed (names variables, never values).
    pub hint: Option<String>,
}

impl Probe {
    /// A component that works.
    pub fn passed(target: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { target: target.into(), ok: true, detail: detail.into(), hint: None }
    }

    /// A component that does not work, and what to fix.
    pub fn failed(target: impl Into<String>, detail: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { target: target.into(), ok: false, detail: detail.into(), hint: Some(hint.into()) }
    }
}

/// The host (and port, when not the scheme's default) of `url`, for the target column.
pub(crate) fn host_of(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => url.scheme().to_string(),
    }
}

/// What S3 said, short: `<code>: <message>` of a service error, else the whole error chain.
fn s3_error<E, R>(error: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_s3::error::DisplayErrorContext(error).to_string(),
    }
}

/// A fresh probe object name (unique, so runs at the same time do not meet).
fn probe_name() -> String {
    format!("{PROBE_FOLDER}{}.probe", uuid::Uuid::new_v4())
}

/// Writes `s3://bucket/<prefix>audit-relay-check/<uuid>.probe` with `If-None-Match: *`, reads it
/// back and deletes it: the rights and the conditional write the store needs. `hint` says what to
/// check when a step fails.
pub(crate) async fn s3_round_trip(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    hint: &str,
) -> Probe {
    let target = format!("s3://{bucket}/{prefix}");
    let key = format!("{prefix}{}", probe_name());
    let body = format!("audit-relay check {key}\n");
    let failed =
        |step: &str, e: String| Probe::failed(&target, format!("{step} s3://{bucket}/{key}: {e}"), hint);
    let written = client
        .put_object()
        .bucket(bucket)
        .key(&key)
        .if_none_match("*")
        .content_type("text/plain")
        .body(ByteStream::from(body.clone().into_bytes()))
        .send()
        .await;
    if let Err(e) = written {
        return failed("conditional write of", s3_error(e));
    }
    let read = match client.get_object().bucket(bucket).key(&key).send().await {
        Ok(output) => output.body.collect().await.map(|b| b.into_bytes()).map_err(|e| e.to_string()),
        Err(e) => Err(s3_error(e)),
    };
    let deleted = client.delete_object().bucket(bucket).key(&key).send().await;
    match (read, deleted) {
        (Err(e), _) => failed("read of", e),
        (Ok(bytes), _) if bytes != body.as_bytes() => {
            failed("read of", "the object read back is not the one written".to_string())
        }
        (Ok(_), Err(e)) => failed("delete of", s3_error(e)),
        (Ok(_), Ok(_)) => Probe::passed(&target, "conditional write, read and delete of a probe object"),
    }
}

/// Creates a probe file in `dir` (created when needed; fails if the name exists), reads it back
/// and removes it.
pub(crate) async fn dir_round_trip(dir: &Path, hint: &str) -> Probe {
    let target = dir.display().to_string();
    let path = dir.join(probe_name());
    let body = format!("audit-relay check {}\n", path.display());
    let result = async {
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, body.as_bytes()).await?;
        drop(file);
        let read = tokio::fs::read(&path).await?;
        tokio::fs::remove_file(&path).await?;
        if let Some(parent) = path.parent() {
            // Only when empty: another run's probe, or anything else, stays.
            let _ = tokio::fs::remove_dir(parent).await;
        }
        Ok::<_, std::io::Error>(read)
    }
    .await;
    match result {
        Ok(read) if read == body.as_bytes() => {
            Probe::passed(target, "create, read and delete of a probe file")
        }
        Ok(_) => Probe::failed(target, format!("{}: read back differs", path.display()), hint),
        Err(e) => Probe::failed(target, format!("{}: {e}", path.display()), hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_keep_a_port_that_is_not_the_default() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            host_of(&url("https://splunk.example.com:8088/services/collector/event")),
            "splunk.example.com:8088"
        );
        assert_eq!(
            host_of(&url("https://http-intake.logs.datadoghq.eu/api/v2/logs")),
            "http-intake.logs.datadoghq.eu"
        );
        assert_eq!(host_of(&url("https://x.example:443/")), "x.example");
    }

    #[tokio::test]
    async fn a_directory_probe_leaves_nothing_and_a_file_in_the_way_fails() {
        let dir = tempfile::tempdir().unwrap();
        let probe = dir_round_trip(&dir.path().join("dlq"), "check DLQ_DIR").await;
        assert!(probe.ok, "{probe:?}");
        assert_eq!(std::fs::read_dir(dir.path().join("dlq")).unwrap().count(), 0);

        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let probe = dir_round_trip(&file, "check DLQ_DIR").await;
        assert!(!probe.ok);
        assert_eq!(probe.hint.as_deref(), Some("check DLQ_DIR"));
        assert!(probe.detail.contains("not-a-dir"), "{}", probe.detail);
    }
}
