//! A test trail: log files and digest files made and signed exactly as CloudTrail makes them (the
//! key layout, the digest's fields, the data signing string, the hex signature in the object
//! metadata, the chain), with a test RSA key. For tests only (feature `test-trail`).

use std::io::Write;

use flate2::write::GzEncoder;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

use super::digest::sha256_hex;
use super::keys::{fingerprint, PublicKey};

/// An object the trail wrote.
#[derive(Debug, Clone)]
pub struct TrailObject {
    /// Its key.
    pub key: String,
    /// Its body (gzip).
    pub body: Vec<u8>,
    /// Its user metadata (digests: `signature`, `signature-algorithm`).
    pub metadata: Vec<(String, String)>,
    /// Hex SHA-256 of the decompressed body.
    pub sha256: String,
}

/// One trail of one account and region writing to one bucket.
pub struct Trail {
    bucket: String,
    prefix: String,
    account: String,
    organization: Option<String>,
    region: String,
    name: String,
    key: RsaPrivateKey,
    /// The last digest: key, content hash, signature.
    previous: Option<(String, String, String)>,
}

impl Trail {
    /// A trail `name` of `account` in `region`, writing to `bucket` under `prefix` (empty or ending
    /// with `/`), signing with the PKCS#1 PEM key `signing_key`.
    pub fn new(
        bucket: &str,
        prefix: &str,
        account: &str,
        region: &str,
        name: &str,
        signing_key: &str,
    ) -> Self {
        let key = RsaPrivateKey::from_pkcs1_pem(signing_key).unwrap_or_else(|e| panic!("test key: {e}"));
        Self {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            account: account.to_string(),
            organization: None,
            region: region.to_string(),
            name: name.to_string(),
            key,
            previous: None,
        }
    }

    /// The same trail as an organization trail of `organization` (`AWSLogs/o-…/<account>/…`).
    pub fn in_organization(mut self, organization: &str) -> Self {
        self.organization = Some(organization.to_string());
        self
    }

    /// Signs with another key from now on (a forger, or a key rotation).
    pub fn sign_with(&mut self, signing_key: &str) {
        self.key = RsaPrivateKey::from_pkcs1_pem(signing_key).unwrap_or_else(|e| panic!("test key: {e}"));
    }

    /// Starts a new chain (validation stopped and started again): the next digest has no previous.
    pub fn restart_chain(&mut self) {
        self.previous = None;
    }

    /// The public key of the current signing key, as `ListPublicKeys` gives it, valid from `from`
    /// to `to` (epoch seconds).
    pub fn public_key(&self, from: i64, to: i64) -> PublicKey {
        let der =
            self.key.to_public_key().to_pkcs1_der().unwrap_or_else(|e| panic!("{e}")).as_bytes().to_vec();
        PublicKey { fingerprint: fingerprint(&der), der, valid_from: from, valid_to: to }
    }

    fn logs(&self) -> String {
        match &self.organization {
            Some(org) => format!("{}AWSLogs/{org}/{}", self.prefix, self.account),
            None => format!("{}AWSLogs/{}", self.prefix, self.account),
        }
    }

    /// A log file delivered at `stamp` (`20241119T1205Z`) holding `records`.
    pub fn log_file(&self, stamp: &str, unique: &str, records: &[Value]) -> TrailObject {
        let (y, m, d) = (&stamp[0..4], &stamp[4..6], &stamp[6..8]);
        let key = format!(
            "{}/CloudTrail/{}/{y}/{m}/{d}/{}_CloudTrail_{}_{stamp}_{unique}.json.gz",
            self.logs(),
            self.region,
            self.account,
            self.region
        );
        let content = serde_json::to_vec(&json!({ "Records": records })).unwrap_or_default();
        TrailObject { key, sha256: sha256_hex(&content), body: gzip(&content), metadata: Vec::new() }
    }

    /// The digest of the period from `start` to `end` (`2024-11-19T12:00:00Z`) listing `files`,
    /// chained to the previous digest; `backfill` names it `…_backfill.json.gz`.
    pub fn digest(&mut self, start: &str, end: &str, files: &[&TrailObject], backfill: bool) -> TrailObject {
        let stamp: String = end.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let (y, m, d) = (&stamp[0..4], &stamp[4..6], &stamp[6..8]);
        let suffix = if backfill { "_backfill" } else { "" };
        let key = format!(
            "{}/CloudTrail-Digest/{}/{y}/{m}/{d}/{}_CloudTrail-Digest_{}_{}_{}_{stamp}{suffix}.json.gz",
            self.logs(),
            self.region,
            self.account,
            self.region,
            self.name,
            self.region
        );
        let public = self.public_key(0, 0);
        let (previous_key, previous_hash, previous_signature) = match &self.previous {
            Some((k, h, s)) => (json!(k), json!(h), json!(s)),
            None => (Value::Null, Value::Null, Value::Null),
        };
        let listed: Vec<Value> = files
            .iter()
            .map(|f| {
                json!({
                    "s3Bucket": self.bucket, "s3Object": f.key, "hashValue": f.sha256,
                    "hashAlgorithm": "SHA-256", "newestEventTime": end, "oldestEventTime": start,
                })
            })
            .collect();
        let has_previous = self.previous.is_some();
        let digest = json!({
            "awsAccountId": self.account,
            "digestStartTime": start,
            "digestEndTime": end,
            "digestS3Bucket": self.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": public.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": if files.is_empty() { Value::Null } else { json!(end) },
            "oldestEventTime": if files.is_empty() { Value::Null } else { json!(start) },
            "previousDigestS3Bucket": if has_previous { json!(self.bucket) } else { Value::Null },
            "previousDigestS3Object": previous_key,
            "previousDigestHashValue": previous_hash,
            "previousDigestHashAlgorithm": if has_previous { json!("SHA-256") } else { Value::Null },
            "previousDigestSignature": previous_signature,
            "logFiles": listed,
        });
        let content = serde_json::to_vec(&digest).unwrap_or_default();
        let hash = sha256_hex(&content);
        let signed = format!(
            "{end}\n{}/{key}\n{hash}\n{}",
            self.bucket,
            self.previous.as_ref().map_or("null", |(_, _, s)| s.as_str())
        );
        let signature =
            hex::encode(SigningKey::<Sha256>::new(self.key.clone()).sign(signed.as_bytes()).to_bytes());
        self.previous = Some((key.clone(), hash.clone(), signature.clone()));
        TrailObject {
            key,
            body: gzip(&content),
            sha256: hash,
            metadata: vec![
                ("signature".to_string(), signature),
                ("signature-algorithm".to_string(), "SHA256withRSA".to_string()),
            ],
        }
    }
}

/// `content`, gzipped.
pub fn gzip(content: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(content);
    encoder.finish().unwrap_or_default()
}
