//! Verifying one digest: its signature with the key CloudTrail names, its link to the previous
//! digest of its chain, and each log file it lists against the hash recorded when the file was
//! forwarded or, without a record, the file itself.

use std::collections::HashMap;

use async_trait::async_trait;

use super::digest::{sha256_hex, DigestFile, DigestKey};
use super::keys::{verify, KeyRing, KeySource};
use crate::timestamp::parse_rfc3339_ms;

/// The signature algorithm CloudTrail uses.
const ALGORITHM: &str = "SHA256withRSA";

/// An object read for verification: its decompressed content and its user metadata (S3's
/// `x-amz-meta-*` headers, without the prefix).
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The content, gunzipped.
    pub content: Vec<u8>,
    /// The user metadata.
    pub metadata: HashMap<String, String>,
}

/// Reads the objects a verification needs.
#[async_trait]
pub trait Objects: Send + Sync {
    /// A digest: its content and metadata (`Ok(None)`: it does not exist).
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Fetched>, String>;
    /// A log file: the hex SHA-256 of its decompressed content, read as it streams
    /// (`Ok(None)`: it does not exist).
    async fn hash(&self, bucket: &str, key: &str) -> Result<Option<String>, String>;
    /// A log file's ETag, without quotes (`Ok(None)`: it does not exist).
    async fn etag(&self, bucket: &str, key: &str) -> Result<Option<String>, String>;
}

/// What was recorded of a log file when it was forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The hex SHA-256 of its decompressed content.
    pub sha256: String,
    /// Its ETag then, without quotes.
    pub etag: Option<String>,
}

/// The log files forwarded so far.
#[async_trait]
pub trait Records: Send + Sync {
    /// What was recorded of the log file (`Ok(None)`: nothing).
    async fn recorded(&self, bucket: &str, key: &str) -> Result<Option<Recorded>, String>;
}

/// No records: every listed file is read and hashed (`audit-relay verify`).
pub struct NoRecords;

#[async_trait]
impl Records for NoRecords {
    async fn recorded(&self, _bucket: &str, _key: &str) -> Result<Option<Recorded>, String> {
        Ok(None)
    }
}

/// Something wrong a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The digest cannot be checked: not gzip, not JSON, no signature metadata, not where it says
    /// it was written.
    DigestInvalid {
        /// Why.
        reason: String,
    },
    /// The signature does not verify with the key the digest names, or no such key exists.
    SignatureInvalid {
        /// Why.
        reason: String,
    },
    /// The previous digest the digest names is gone, or is not the one it signed.
    ChainBroken {
        /// Why.
        reason: String,
    },
    /// A listed log file whose content is not what the digest hashed.
    Modified {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The digest's hash.
        expected: String,
        /// The hash of what is there now (or was forwarded).
        actual: String,
    },
    /// A listed log file that does not exist.
    Missing {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
        /// The digest's hash.
        expected: String,
    },
    /// A log file no digest of its period lists.
    NotListed {
        /// Its bucket.
        bucket: String,
        /// Its key.
        key: String,
    },
}

impl Problem {
    /// The short name of the kind of problem (`modified`, `missing`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DigestInvalid { .. } => "digest invalid",
            Self::SignatureInvalid { .. } => "signature invalid",
            Self::ChainBroken { .. } => "chain broken",
            Self::Modified { .. } => "modified",
            Self::Missing { .. } => "missing",
            Self::NotListed { .. } => "not listed",
        }
    }

    /// The log file concerned (`None`: the digest itself).
    pub fn object(&self) -> Option<(&str, &str)> {
        match self {
            Self::Modified { bucket, key, .. }
            | Self::Missing { bucket, key, .. }
            | Self::NotListed { bucket, key } => Some((bucket, key)),
            Self::DigestInvalid { .. } | Self::SignatureInvalid { .. } | Self::ChainBroken { .. } => None,
        }
    }
}

/// What one digest's verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestReport {
    /// The digest's bucket.
    pub bucket: String,
    /// The digest's key.
    pub key: String,
    /// What its key says (`None`: not a digest key).
    pub location: Option<DigestKey>,
    /// Its content, when it could be read.
    pub digest: Option<DigestFile>,
    /// Its signature (hex), when it has one.
    pub signature: Option<String>,
    /// Whether the digest itself (signature, location, chain) holds.
    pub digest_valid: bool,
    /// Whether it is CloudTrail's (read, in its place, signature verified; the chain may still be
    /// broken): only then are its log files checked, and does it count as listing them.
    pub authentic: bool,
    /// The listed log files whose hash matched.
    pub files_valid: u64,
    /// Everything wrong, the digest's own problems first.
    pub problems: Vec<Problem>,
}

/// Verifies the digest at `bucket`/`key` whose (gunzipped) content and metadata are `fetched`.
/// `Err` when it could not be verified (keys not listed, S3 errors): worth trying again, and no
/// finding about the trail.
pub async fn verify_digest<S: KeySource>(
    bucket: &str,
    key: &str,
    fetched: &Fetched,
    keys: &KeyRing<S>,
    objects: &dyn Objects,
    records: &dyn Records,
) -> Result<DigestReport, String> {
    let mut report = DigestReport {
        bucket: bucket.to_string(),
        key: key.to_string(),
        location: DigestKey::parse(key),
        digest: None,
        signature: fetched.metadata.get("signature").cloned(),
        digest_valid: false,
        authentic: false,
        files_valid: 0,
        problems: Vec::new(),
    };
    let invalid = |reason: String| Problem::DigestInvalid { reason };
    let Some(location) = report.location.clone() else {
        report.problems.push(invalid("the key is not a CloudTrail digest's".to_string()));
        return Ok(report);
    };
    let digest = match DigestFile::parse(&fetched.content) {
        Ok(digest) => digest,
        Err(reason) => {
            report.problems.push(invalid(reason));
            return Ok(report);
        }
    };
    report.digest = Some(digest.clone());
    let digest_ok = check_digest(bucket, key, &location, &digest, fetched, keys, objects).await?;
    report.digest_valid = digest_ok.is_empty();
    report.authentic = digest_ok.iter().all(|p| matches!(p, Problem::ChainBroken { .. }));
    report.problems.extend(digest_ok);
    if !report.authentic {
        // A list not signed by CloudTrail proves nothing about the files it names.
        return Ok(report);
    }
    for file in &digest.log_files {
        match check_file(&file.s3_bucket, &file.s3_object, &file.hash_value, objects, records).await {
            Ok(None) => report.files_valid += 1,
            Ok(Some(problem)) => report.problems.push(problem),
            Err(reason) => {
                return Err(format!(
                    "log file s3://{}/{} could not be checked: {reason}",
                    file.s3_bucket, file.s3_object
                ))
            }
        }
    }
    Ok(report)
}

/// The digest's own problems: its location, signature and chain.
async fn check_digest<S: KeySource>(
    bucket: &str,
    key: &str,
    location: &DigestKey,
    digest: &DigestFile,
    fetched: &Fetched,
    keys: &KeyRing<S>,
    objects: &dyn Objects,
) -> Result<Vec<Problem>, String> {
    let mut problems = Vec::new();
    if digest.digest_s3_bucket != bucket || digest.digest_s3_object != key {
        problems.push(Problem::DigestInvalid {
            reason: format!(
                "it says it was written to s3://{}/{}",
                digest.digest_s3_bucket, digest.digest_s3_object
            ),
        });
    }
    let Some(signature) = fetched.metadata.get("signature") else {
        problems.push(Problem::DigestInvalid { reason: "the object has no signature metadata".to_string() });
        return Ok(problems);
    };
    let algorithm = fetched.metadata.get("signature-algorithm").map(String::as_str).unwrap_or(ALGORITHM);
    if algorithm != ALGORITHM || digest.digest_signature_algorithm != ALGORITHM {
        problems.push(Problem::SignatureInvalid {
            reason: format!("signature algorithm {algorithm} / {}", digest.digest_signature_algorithm),
        });
        return Ok(problems);
    }
    // A backfill digest is signed when it is made, with the key of that time.
    let signed_at = match location.backfill {
        true => fetched.metadata.get("backfill-generation-timestamp").map(String::as_str),
        false => None,
    };
    let at = parse_rfc3339_ms(signed_at.unwrap_or(&digest.digest_end_time)).map_or(0, |ms| ms / 1000);
    let found = keys
        .find(&location.region, &digest.digest_public_key_fingerprint, at)
        .await
        .map_err(|reason| format!("the public keys of {} could not be listed: {reason}", location.region))?;
    match found {
        None => problems.push(Problem::SignatureInvalid {
            reason: format!(
                "no public key of {} with fingerprint {} was valid at {}",
                location.region, digest.digest_public_key_fingerprint, digest.digest_end_time
            ),
        }),
        Some(public) => {
            let signed = digest.signing_string(&sha256_hex(&fetched.content));
            match verify(&public.der, signed.as_bytes(), signature) {
                Ok(true) => {}
                Ok(false) => problems.push(Problem::SignatureInvalid {
                    reason: format!("the signature does not verify with key {}", public.fingerprint),
                }),
                Err(reason) => problems.push(Problem::SignatureInvalid { reason }),
            }
        }
    }
    if let (Some(previous_bucket), Some(previous_key)) =
        (&digest.previous_digest_s3_bucket, &digest.previous_digest_s3_object)
    {
        let previous = objects.get(previous_bucket, previous_key).await.map_err(|reason| {
            format!("the previous digest s3://{previous_bucket}/{previous_key} could not be read: {reason}")
        })?;
        match previous {
            None => problems.push(Problem::ChainBroken {
                reason: format!("the previous digest s3://{previous_bucket}/{previous_key} does not exist"),
            }),
            Some(previous) => {
                let hash = sha256_hex(&previous.content);
                if digest.previous_digest_hash_value.as_deref() != Some(hash.as_str()) {
                    problems.push(Problem::ChainBroken {
                        reason: format!(
                            "the previous digest s3://{previous_bucket}/{previous_key} hashes to {hash}, not {}",
                            digest.previous_digest_hash_value.as_deref().unwrap_or("null")
                        ),
                    });
                } else if previous.metadata.get("signature") != digest.previous_digest_signature.as_ref() {
                    problems.push(Problem::ChainBroken {
                        reason: format!(
                            "the previous digest s3://{previous_bucket}/{previous_key} has another signature than the one this digest signed"
                        ),
                    });
                }
            }
        }
    }
    Ok(problems)
}

/// One listed log file against its record, or its content (`Ok(None)`: it matches).
async fn check_file(
    bucket: &str,
    key: &str,
    expected: &str,
    objects: &dyn Objects,
    records: &dyn Records,
) -> Result<Option<Problem>, String> {
    let missing = || Problem::Missing {
        bucket: bucket.to_string(),
        key: key.to_string(),
        expected: expected.to_string(),
    };
    // A recorded hash holds while the object still has the ETag it had when it was forwarded: one
    // HeadObject instead of a read. Gone is missing; another ETag is read and hashed again.
    let trusted = match records.recorded(bucket, key).await? {
        Some(recorded) => match objects.etag(bucket, key).await? {
            None => return Ok(Some(missing())),
            Some(etag) => recorded.etag.filter(|e| *e == etag).map(|_| recorded.sha256),
        },
        None => None,
    };
    let actual = match trusted {
        Some(hash) => hash,
        None => match objects.hash(bucket, key).await? {
            Some(hash) => hash,
            None => return Ok(Some(missing())),
        },
    };
    if actual.eq_ignore_ascii_case(expected) {
        return Ok(None);
    }
    Ok(Some(Problem::Modified {
        bucket: bucket.to_string(),
        key: key.to_string(),
        expected: expected.to_string(),
        actual,
    }))
}

#[cfg(test)]
mod tests;
