//! The `cloudtrail-s3` side of integrity: each log file forwarded is recorded with its hash, and
//! each digest that lands is verified at once, its problems sent to the SIEM as findings.
//!
//! Settings: `INTEGRITY_BUCKET` (the state bucket; unset: digests are skipped as before, and no
//! records are written) and `INTEGRITY_PREFIX` (default `integrity/`).

use super::aws::{CloudTrailKeys, S3Objects};
use super::digest::DigestKey;
use super::finding::{finding, Context};
use super::keys::KeyRing;
use super::store::{Content, RecordStore};
use super::verify::{verify_digest, DigestReport, Objects, Problem};
use crate::env::EnvReader;
use crate::event::OutboundEvent;
use crate::metrics::IntegrityMetrics;
use crate::timestamp::{format_rfc3339_ms, parse_rfc3339_ms};

/// `INTEGRITY_BUCKET`: where the records of forwarded log files are kept.
pub const INTEGRITY_BUCKET: &str = "INTEGRITY_BUCKET";
/// `INTEGRITY_PREFIX`: their key prefix.
pub const INTEGRITY_PREFIX: &str = "INTEGRITY_PREFIX";

/// How long after its delivery a log file must be listed: a digest lists the files of the hour
/// before it, so a record older than the verified digest's start by more than this is unlisted.
const LISTING_GRACE_MS: i64 = 3_600_000;

/// The integrity checks of one function.
pub struct Integrity {
    records: RecordStore,
    objects: S3Objects,
    keys: KeyRing<CloudTrailKeys>,
}

/// What one digest's verification produced.
pub struct Checked {
    /// The report.
    pub report: DigestReport,
    /// The findings to send (OCSF Detection Finding JSON), one per problem.
    pub findings: Vec<OutboundEvent>,
    /// The metrics of the digest's region.
    pub metrics: IntegrityMetrics,
}

impl Integrity {
    /// The checks configured by `INTEGRITY_BUCKET`/`INTEGRITY_PREFIX` (`None` when unset), reading
    /// with `s3` and listing keys with the credentials of `sdk`.
    pub fn from_env(env: &EnvReader, sdk: &aws_config::SdkConfig, s3: aws_sdk_s3::Client) -> Option<Self> {
        let bucket = env.string(INTEGRITY_BUCKET)?;
        let prefix = env.string(INTEGRITY_PREFIX).unwrap_or_else(|| "integrity/".to_string());
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        Some(Self::new(s3, bucket, prefix, sdk.clone()))
    }

    /// Checks with records in `bucket` under `prefix`, keys from CloudTrail through `keys_sdk`.
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
        keys_sdk: aws_config::SdkConfig,
    ) -> Self {
        Self {
            records: RecordStore::new(s3.clone(), bucket, prefix),
            objects: S3Objects::new(s3),
            keys: KeyRing::new(CloudTrailKeys::new(keys_sdk)),
        }
    }

    /// Records that a log file was forwarded with `content` — unless a digest already listed
    /// it: then its content is compared with what the digest listed, and a file that differs
    /// (written again after the digest) is returned as a [`Problem::Modified`] finding.
    pub async fn forwarded(
        &self,
        bucket: &str,
        key: &str,
        content: &Content,
        now_ms: i64,
    ) -> Result<Option<OutboundEvent>, String> {
        let Some((listed, digest)) = self.records.listed_mark(bucket, key).await? else {
            self.records.record(bucket, key, content, &format_rfc3339_ms(now_ms)).await?;
            return Ok(None);
        };
        if listed.eq_ignore_ascii_case(&content.sha256) {
            return Ok(None);
        }
        let problem = Problem::Modified {
            bucket: bucket.to_string(),
            key: key.to_string(),
            expected: listed,
            actual: content.sha256.clone(),
        };
        let location = DigestKey::parse(&digest);
        let context = Context { bucket, key: &digest, location: location.as_ref(), now_ms };
        Ok(Some(OutboundEvent { time_ms: now_ms, json: finding(&problem, &context).to_string() }))
    }

    /// Verifies the digest at `bucket`/`key`: `Ok(None)` when the object is gone, `Err` when it
    /// could not be verified (to be tried again).
    pub async fn check(&self, bucket: &str, key: &str, now_ms: i64) -> Result<Option<Checked>, String> {
        let Some(fetched) = self.objects.get(bucket, key).await? else { return Ok(None) };
        let mut report =
            verify_digest(bucket, key, &fetched, &self.keys, &self.objects, &self.records).await?;
        if report.authentic {
            self.settle(&mut report).await?;
        }
        let context = Context { bucket, key, location: report.location.as_ref(), now_ms };
        let findings = report
            .problems
            .iter()
            .map(|problem| OutboundEvent { time_ms: now_ms, json: finding(problem, &context).to_string() })
            .collect();
        let checked_files =
            report.digest.as_ref().filter(|_| report.authentic).map_or(0, |d| d.log_files.len());
        let metrics = IntegrityMetrics {
            digests_verified: 1,
            log_files_verified: checked_files as u64,
            integrity_failures: report.problems.len() as u64,
            integrity_errors: 0,
        };
        Ok(Some(Checked { report, findings, metrics }))
    }

    /// After an authentic digest: its listed files are no longer awaited (their records give way
    /// to a mark with the hash listed), and records of files delivered before its period that no
    /// digest listed become [`Problem::NotListed`].
    async fn settle(&self, report: &mut DigestReport) -> Result<(), String> {
        let (Some(digest), Some(location)) = (&report.digest, &report.location) else { return Ok(()) };
        for file in &digest.log_files {
            self.records.mark_listed(&file.s3_bucket, &file.s3_object, &file.hash_value, &report.key).await?;
            self.records.forget(&file.s3_bucket, &file.s3_object).await?;
        }
        let Some(start_ms) = parse_rfc3339_ms(&digest.digest_start_time) else { return Ok(()) };
        let Some(root) = report.key.split("CloudTrail-Digest/").next() else { return Ok(()) };
        let before = start_ms - LISTING_GRACE_MS;
        for day_ms in [before - 86_400_000, before] {
            let day = &format_rfc3339_ms(day_ms)[..10].replace('-', "/");
            let prefix = format!("{root}CloudTrail/{}/{day}/", location.region);
            for key in self.records.recorded(&report.bucket, &prefix).await? {
                let delivered = key.rsplit('/').next().and_then(log_stamp_ms);
                if delivered.is_some_and(|t| t < before) {
                    report
                        .problems
                        .push(Problem::NotListed { bucket: report.bucket.clone(), key: key.clone() });
                    self.records.forget(&report.bucket, &key).await?;
                }
            }
        }
        Ok(())
    }

    /// Whether `key` is a digest this function should verify.
    pub fn is_digest(key: &str) -> bool {
        DigestKey::parse(key).is_some()
    }

    /// Whether `key` is a CloudTrail log file a digest would list
    /// (`…/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<id>.json.gz`):
    /// only those are recorded, so that every record is settled by a digest.
    pub fn is_log_file(key: &str) -> bool {
        key.contains("/CloudTrail/") && key.rsplit('/').next().and_then(log_stamp_ms).is_some()
    }
}

/// The delivery time of a log file name (`…_CloudTrail_<region>_20241119T1205Z_<id>.json.gz`).
fn log_stamp_ms(name: &str) -> Option<i64> {
    let stamp = name.split('_').nth(3)?;
    if stamp.len() != 14 || !stamp.ends_with('Z') {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:00Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13]
    );
    parse_rfc3339_ms(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_file_names_give_their_delivery_time() {
        assert_eq!(
            log_stamp_ms("111122223333_CloudTrail_us-east-1_20241119T1205Z_abc.json.gz"),
            parse_rfc3339_ms("2024-11-19T12:05:00Z")
        );
        assert_eq!(
            log_stamp_ms("111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20241119T120500Z.json.gz"),
            None
        );
        assert!(Integrity::is_log_file(
            "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_abc.json.gz"
        ));
        assert!(!Integrity::is_log_file(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/11/19/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20241119T120500Z.json.gz"
        ));
        assert!(!Integrity::is_log_file("exports/cloudtrail.json.gz"));
    }
}
