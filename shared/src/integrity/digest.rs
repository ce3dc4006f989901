//! CloudTrail digest files (api-contracts.md §16.6): where they are, what they hold, and the string
//! CloudTrail signs.

use serde::Deserialize;

/// What a digest object's key says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestKey {
    /// The trail owner's account (`AWSLogs/<account>/…`).
    pub account: String,
    /// The organization (`AWSLogs/o-…/<account>/…`), for organization trails.
    pub organization: Option<String>,
    /// The region whose log files the digest lists.
    pub region: String,
    /// The trail's name.
    pub trail: String,
    /// The trail's home region (the second region of the file name).
    pub home_region: String,
    /// The digest's end time as the name writes it (`20150801T021000Z`).
    pub stamp: String,
    /// A `_backfill` digest: CloudTrail delivered it late, for a period it had missed.
    pub backfill: bool,
}

impl DigestKey {
    /// Reads a digest object key; `None` when the key is not a CloudTrail digest's.
    pub fn parse(key: &str) -> Option<Self> {
        let (_, after) = key.rsplit_once("AWSLogs/")?;
        let mut parts = after.split('/');
        let first = parts.next()?;
        let (organization, account) = if first.starts_with("o-") {
            (Some(first.to_string()), parts.next()?.to_string())
        } else {
            (None, first.to_string())
        };
        if parts.next()? != "CloudTrail-Digest" {
            return None;
        }
        let region = parts.next()?.to_string();
        let (_year, _month, _day) = (parts.next()?, parts.next()?, parts.next()?);
        let name = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let stem = name.strip_suffix(".json.gz")?;
        let (stem, backfill) = match stem.strip_suffix("_backfill") {
            Some(stem) => (stem, true),
            None => (stem, false),
        };
        let head = format!("{account}_CloudTrail-Digest_{region}_");
        let rest = stem.strip_prefix(&head)?;
        let (rest, stamp) = rest.rsplit_once('_')?;
        let (trail, home_region) = rest.rsplit_once('_')?;
        let stamp_ok = stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z');
        if trail.is_empty() || home_region.is_empty() || !stamp_ok {
            return None;
        }
        Some(Self {
            account,
            organization,
            region,
            trail: trail.to_string(),
            home_region: home_region.to_string(),
            stamp: stamp.to_string(),
            backfill,
        })
    }

    /// The chain the digest belongs to: one per trail, account and region.
    pub fn chain(&self) -> String {
        format!("{}/{}/{}/{}", self.account, self.region, self.home_region, self.trail)
    }
}

/// One log file a digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedFile {
    /// Its bucket.
    pub s3_bucket: String,
    /// Its key.
    pub s3_object: String,
    /// Hex SHA-256 of its decompressed content.
    pub hash_value: String,
    /// `SHA-256`.
    pub hash_algorithm: String,
    /// The oldest event in it.
    #[serde(default)]
    pub oldest_event_time: Option<String>,
    /// The newest event in it.
    #[serde(default)]
    pub newest_event_time: Option<String>,
}

/// A digest file's content.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    /// The account.
    #[serde(default)]
    pub aws_account_id: Option<String>,
    /// The period's start (`2015-08-17T14:01:31Z`).
    pub digest_start_time: String,
    /// The period's end, as signed.
    pub digest_end_time: String,
    /// The bucket CloudTrail wrote this digest to.
    pub digest_s3_bucket: String,
    /// The key CloudTrail wrote this digest to.
    pub digest_s3_object: String,
    /// Hex MD5 of the public key that verifies it.
    pub digest_public_key_fingerprint: String,
    /// `SHA256withRSA`.
    pub digest_signature_algorithm: String,
    /// The previous digest of the chain (`None`: the first).
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    /// Its key.
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of its decompressed content.
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    /// `SHA-256`.
    #[serde(default)]
    pub previous_digest_hash_algorithm: Option<String>,
    /// Its signature (hex).
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    /// The log files delivered in the period.
    #[serde(default)]
    pub log_files: Vec<ListedFile>,
}

impl DigestFile {
    /// Reads a digest's decompressed content.
    pub fn parse(content: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(content).map_err(|e| format!("not a CloudTrail digest: {e}"))
    }

    /// The string CloudTrail signs: the end time, the digest's `bucket/key`, the hex SHA-256 of its
    /// decompressed content and the previous digest's signature (`null` for the first), each on
    /// its own line.
    pub fn signing_string(&self, content_sha256: &str) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.digest_end_time,
            self.digest_s3_bucket,
            self.digest_s3_object,
            content_sha256,
            self.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hash::sha256_hex(&[bytes], 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_trails_organizations_and_backfills_are_read() {
        let key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1_20150801T021000Z.json.gz";
        let parsed = DigestKey::parse(key).unwrap();
        assert_eq!(parsed.account, "111122223333");
        assert_eq!(parsed.region, "us-east-2");
        assert_eq!(parsed.trail, "my_trail", "a trail name may hold underscores");
        assert_eq!(parsed.home_region, "us-east-1");
        assert_eq!(parsed.stamp, "20150801T021000Z");
        assert!(!parsed.backfill && parsed.organization.is_none());
        assert_eq!(parsed.chain(), "111122223333/us-east-2/us-east-1/my_trail");

        let org = "prefix/AWSLogs/o-exampleorg/111122223333/CloudTrail-Digest/eu-west-1/2024/11/19/111122223333_CloudTrail-Digest_eu-west-1_org-trail_us-east-1_20241119T120000Z_backfill.json.gz";
        let parsed = DigestKey::parse(org).unwrap();
        assert_eq!(parsed.organization.as_deref(), Some("o-exampleorg"));
        assert_eq!((parsed.trail.as_str(), parsed.backfill), ("org-trail", true));

        for other in [
            "AWSLogs/111122223333/CloudTrail/us-east-1/2015/08/01/111122223333_CloudTrail_us-east-1_20150801T0210Z_abc.json.gz",
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/notes.txt",
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_t_us-east-1_2015.json.gz",
        ] {
            assert_eq!(DigestKey::parse(other), None, "{other}");
        }
    }

    #[test]
    fn the_signing_string_has_four_lines_and_null_for_the_first_digest() {
        let digest = DigestFile::parse(
            br#"{"digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"2015-08-17T15:01:31Z",
            "digestS3Bucket":"b","digestS3Object":"AWSLogs/1/CloudTrail-Digest/r/x.json.gz",
            "digestPublicKeyFingerprint":"ab","digestSignatureAlgorithm":"SHA256withRSA",
            "previousDigestS3Bucket":null,"previousDigestSignature":null,"logFiles":[]}"#,
        )
        .unwrap();
        assert_eq!(
            digest.signing_string("00ff"),
            "2015-08-17T15:01:31Z\nb/AWSLogs/1/CloudTrail-Digest/r/x.json.gz\n00ff\nnull"
        );
        assert!(digest.log_files.is_empty());
        assert!(DigestFile::parse(b"{\"Records\":[]}").unwrap_err().contains("not a CloudTrail digest"));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
