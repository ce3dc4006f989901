//! CloudTrail's public keys (`ListPublicKeys`) and the check of a digest's signature with one.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use md5::{Digest as _, Md5};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;

/// One public key of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Hex MD5 of `der`: the `digestPublicKeyFingerprint` of the digests it signed.
    pub fingerprint: String,
    /// The key, DER PKCS#1 `RSAPublicKey`.
    pub der: Vec<u8>,
    /// The start of its validity, epoch seconds.
    pub valid_from: i64,
    /// The end of its validity, epoch seconds.
    pub valid_to: i64,
}

/// Where the keys come from: CloudTrail `ListPublicKeys` of a region and time range.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The keys of `region` valid at some time from `start` to `end` (epoch seconds).
    async fn list(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKey>, String>;
}

/// The keys asked for so far, by region (kept for the life of the process: a cold start asks
/// again).
pub struct KeyRing<S> {
    source: S,
    known: Mutex<HashMap<String, Vec<PublicKey>>>,
}

impl<S: KeySource> KeyRing<S> {
    /// A ring asking `source`.
    pub fn new(source: S) -> Self {
        Self { source, known: Mutex::new(HashMap::new()) }
    }

    /// The key of `region` with `fingerprint` that was valid at `at` (epoch seconds); asks the
    /// source for the keys of the day around `at` when none known matches.
    pub async fn find(&self, region: &str, fingerprint: &str, at: i64) -> Result<Option<PublicKey>, String> {
        let matching = |keys: &[PublicKey]| {
            keys.iter().find(|k| k.fingerprint.eq_ignore_ascii_case(fingerprint)).cloned()
        };
        if let Some(key) = self.known().get(region).and_then(|keys| matching(keys)) {
            return Ok(Some(key));
        }
        let listed = self.source.list(region, at - 86_400, at + 86_400).await?;
        let found = matching(&listed);
        let mut known = self.known();
        let keys = known.entry(region.to_string()).or_default();
        for key in listed {
            if !keys.iter().any(|k| k.fingerprint == key.fingerprint) {
                keys.push(key);
            }
        }
        Ok(found)
    }

    /// The source asked.
    pub fn source(&self) -> &S {
        &self.source
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<PublicKey>>> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Hex MD5 of a key's DER bytes, as CloudTrail names keys.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Md5::digest(der))
}

/// Whether `signature_hex` is the RSA PKCS#1 v1.5 SHA-256 signature of `message` by `der`
/// (`Err`: the key or the signature cannot be read).
pub fn verify(der: &[u8], message: &[u8], signature_hex: &str) -> Result<bool, String> {
    // CloudTrail documents PKCS#1; one of its published sample keys is SubjectPublicKeyInfo.
    let key = RsaPublicKey::from_pkcs1_der(der)
        .or_else(|_| RsaPublicKey::from_public_key_der(der))
        .map_err(|e| format!("the public key cannot be read as PKCS#1 or SubjectPublicKeyInfo: {e}"))?;
    let bytes = hex::decode(signature_hex.trim()).map_err(|e| format!("the signature is not hex: {e}"))?;
    let signature =
        Signature::try_from(bytes.as_slice()).map_err(|e| format!("the signature cannot be read: {e}"))?;
    Ok(VerifyingKey::<Sha256>::new(key).verify(message, &signature).is_ok())
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::EncodePublicKey;

    use super::*;
    use crate::integrity::trail::Trail;

    #[test]
    fn signatures_verify_with_pkcs1_and_spki_keys_and_bad_input_is_an_error() {
        let mut trail = Trail::new(
            "b",
            "",
            "111122223333",
            "us-east-1",
            "t",
            include_str!("fixtures/test-signing-key.pem"),
        );
        let digest = trail.digest("2024-11-19T12:00:00Z", "2024-11-19T13:00:00Z", &[], false);
        let signature = &digest.metadata[0].1;
        let signed = format!("2024-11-19T13:00:00Z\nb/{}\n{}\nnull", digest.key, digest.sha256);
        let public = trail.public_key(0, 1);
        assert_eq!(public.fingerprint.len(), 32);
        assert_eq!(verify(&public.der, signed.as_bytes(), signature), Ok(true));
        assert_eq!(verify(&public.der, b"other", signature), Ok(false));
        let key = RsaPublicKey::from_pkcs1_der(&public.der).unwrap();
        assert_eq!(key.to_pkcs1_der().unwrap().as_bytes(), public.der.as_slice());
        let spki = key.to_public_key_der().unwrap();
        assert_eq!(verify(spki.as_bytes(), signed.as_bytes(), signature), Ok(true));
        assert!(verify(b"junk", b"x", signature).unwrap_err().contains("cannot be read"));
        assert!(verify(&public.der, b"x", "zz").unwrap_err().contains("not hex"));
    }
}
