//! One digest at a time against objects held in memory and a fixed key list.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::integrity::keys::PublicKey;
use crate::integrity::trail::{Trail, TrailObject};

const KEY: &str = include_str!("../fixtures/test-signing-key.pem");
const FORGER: &str = include_str!("../fixtures/other-signing-key.pem");
const BUCKET: &str = "trail-bucket";

/// An object's decompressed content and metadata.
type Stored = (Vec<u8>, HashMap<String, String>);

/// Objects by key; each object's decompressed content is its trail content.
#[derive(Default)]
struct Memory(Mutex<HashMap<String, Stored>>);

impl Memory {
    fn put(&self, object: &TrailObject) {
        let content = gunzip(&object.body);
        self.0
            .lock()
            .unwrap()
            .insert(object.key.clone(), (content, object.metadata.iter().cloned().collect()));
    }
    fn edit(&self, key: &str) {
        self.0.lock().unwrap().get_mut(key).unwrap().0.extend_from_slice(b" ");
    }
    fn delete(&self, key: &str) {
        self.0.lock().unwrap().remove(key);
    }
    fn fetched(&self, key: &str) -> Fetched {
        let (content, metadata) = self.0.lock().unwrap()[key].clone();
        Fetched { content, metadata }
    }
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out).unwrap();
    out
}

#[async_trait]
impl Objects for Memory {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Fetched>, String> {
        assert_eq!(bucket, BUCKET);
        Ok(self.0.lock().unwrap().get(key).map(|(c, m)| Fetched { content: c.clone(), metadata: m.clone() }))
    }
    async fn hash(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        assert_eq!(bucket, BUCKET);
        Ok(self.0.lock().unwrap().get(key).map(|(c, _)| sha256_hex(c)))
    }
    /// The ETag of an object here is the start of its content's SHA-256.
    async fn etag(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        Ok(self.hash(bucket, key).await?.map(|h| h[..32].to_string()))
    }
}

struct Keys(Vec<PublicKey>, Mutex<u32>);

#[async_trait]
impl KeySource for Keys {
    async fn list(&self, region: &str, _start: i64, _end: i64) -> Result<Vec<PublicKey>, String> {
        assert_eq!(region, "us-east-1");
        *self.1.lock().unwrap() += 1;
        Ok(self.0.clone())
    }
}

struct Setup {
    trail: Trail,
    memory: Memory,
    ring: KeyRing<Keys>,
}

fn setup() -> Setup {
    let trail = Trail::new(BUCKET, "", "111122223333", "us-east-1", "main", KEY);
    let keys = Keys(vec![trail.public_key(0, i64::MAX)], Mutex::new(0));
    Setup { trail, memory: Memory::default(), ring: KeyRing::new(keys) }
}

impl Setup {
    /// Two log files and the digest listing them, stored.
    fn hour(&mut self, hour: u32) -> (TrailObject, TrailObject, TrailObject) {
        let a = self.trail.log_file(
            &format!("20241119T{hour:02}05Z"),
            "a",
            &[json!({"eventID": format!("a{hour}")})],
        );
        let b = self.trail.log_file(
            &format!("20241119T{hour:02}35Z"),
            "b",
            &[json!({"eventID": format!("b{hour}")})],
        );
        let digest = self.trail.digest(
            &format!("2024-11-19T{:02}:00:00Z", hour),
            &format!("2024-11-19T{:02}:00:00Z", hour + 1),
            &[&a, &b],
            false,
        );
        for object in [&a, &b, &digest] {
            self.memory.put(object);
        }
        (a, b, digest)
    }

    async fn verify(&self, digest: &TrailObject) -> DigestReport {
        verify_digest(
            BUCKET,
            &digest.key,
            &self.memory.fetched(&digest.key),
            &self.ring,
            &self.memory,
            &NoRecords,
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_valid_chain_verifies_with_one_key_listing() {
    let mut s = setup();
    let (_, _, first) = s.hour(12);
    let (_, _, second) = s.hour(13);
    let report = s.verify(&first).await;
    assert!(report.digest_valid && report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.files_valid, 2);
    assert_eq!(report.digest.as_ref().unwrap().previous_digest_signature, None, "the first of its chain");
    let report = s.verify(&second).await;
    assert!(report.digest_valid && report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(*s.ring_source_calls(), 1, "keys are listed once and kept");
}

impl Setup {
    fn ring_source_calls(&self) -> std::sync::MutexGuard<'_, u32> {
        self.ring.source().1.lock().unwrap()
    }
}

#[tokio::test]
async fn an_edited_and_a_deleted_log_file_are_found_with_their_hashes() {
    let mut s = setup();
    let (a, b, digest) = s.hour(12);
    s.memory.edit(&a.key);
    s.memory.delete(&b.key);
    let report = s.verify(&digest).await;
    assert!(report.digest_valid, "the digest itself holds");
    assert_eq!(report.files_valid, 0);
    let edited = sha256_hex(&s.memory.fetched(&a.key).content);
    assert_eq!(
        report.problems,
        vec![
            Problem::Modified {
                bucket: BUCKET.into(),
                key: a.key.clone(),
                expected: a.sha256.clone(),
                actual: edited
            },
            Problem::Missing { bucket: BUCKET.into(), key: b.key.clone(), expected: b.sha256.clone() },
        ]
    );
}

#[tokio::test]
async fn a_forged_signature_and_a_removed_previous_digest_are_found() {
    let mut s = setup();
    let (_, _, first) = s.hour(12);
    s.trail.sign_with(FORGER);
    let (_, _, forged) = s.hour(13);
    let report = s.verify(&forged).await;
    assert!(!report.digest_valid);
    assert!(
        matches!(&report.problems[..], [Problem::SignatureInvalid { reason }] if reason.contains("no public key")),
        "{:?}",
        report.problems
    );
    assert_eq!(report.files_valid, 0, "a forged list proves nothing: its files are not checked");
    assert!(!report.authentic);

    // The forger also knows the fingerprint: the signature itself fails.
    let mut s = setup();
    s.hour(12);
    let (_, _, second) = s.hour(13);
    let mut fetched = s.memory.fetched(&second.key);
    let bad = fetched.metadata["signature"].replace('a', "b").replace('1', "2");
    fetched.metadata.insert("signature".into(), bad);
    let report = verify_digest(BUCKET, &second.key, &fetched, &s.ring, &s.memory, &NoRecords).await.unwrap();
    assert!(
        matches!(&report.problems[..], [Problem::SignatureInvalid { reason }] if reason.contains("does not verify")),
        "{:?}",
        report.problems
    );

    // The previous digest removed from the chain.
    let mut s = setup();
    let (_, _, first_again) = s.hour(12);
    let (_, _, next) = s.hour(13);
    s.memory.delete(&first_again.key);
    let report = s.verify(&next).await;
    assert!(
        matches!(&report.problems[..], [Problem::ChainBroken { reason }] if reason.contains("does not exist")),
        "{:?}",
        report.problems
    );
    let _ = first;
}

#[tokio::test]
async fn a_digest_without_signature_metadata_or_content_is_invalid_and_nothing_panics() {
    let mut s = setup();
    let (_, _, digest) = s.hour(12);
    let mut fetched = s.memory.fetched(&digest.key);
    fetched.metadata.clear();
    let report = verify_digest(BUCKET, &digest.key, &fetched, &s.ring, &s.memory, &NoRecords).await.unwrap();
    assert!(
        matches!(&report.problems[0], Problem::DigestInvalid { reason } if reason.contains("no signature"))
    );

    let truncated = Fetched { content: b"{\"digestStartTime\":\"2024".to_vec(), metadata: HashMap::new() };
    let report =
        verify_digest(BUCKET, &digest.key, &truncated, &s.ring, &s.memory, &NoRecords).await.unwrap();
    assert!(
        matches!(&report.problems[..], [Problem::DigestInvalid { reason }] if reason.contains("not a CloudTrail digest"))
    );

    // A copy elsewhere is not the digest CloudTrail signed.
    let moved = digest.key.replace("20241119T130000Z", "20241119T130001Z");
    let report =
        verify_digest(BUCKET, &moved, &s.memory.fetched(&digest.key), &s.ring, &s.memory, &NoRecords)
            .await
            .unwrap();
    assert!(report.problems.iter().any(
        |p| matches!(p, Problem::DigestInvalid { reason } if reason.contains("it says it was written"))
    ));
}

#[tokio::test]
async fn a_restarted_chain_and_an_empty_backfill_digest_verify() {
    let mut s = setup();
    s.hour(12);
    s.trail.restart_chain();
    let (_, _, restarted) = s.hour(13);
    let report = s.verify(&restarted).await;
    assert!(report.digest_valid && report.problems.is_empty(), "{:?}", report.problems);

    let backfill = s.trail.digest("2024-11-19T14:00:00Z", "2024-11-19T15:00:00Z", &[], true);
    s.memory.put(&backfill);
    assert!(backfill.key.ends_with("_backfill.json.gz"));
    let report = s.verify(&backfill).await;
    assert!(report.digest_valid && report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.location.unwrap().backfill);
    assert_eq!(report.files_valid, 0);
}

#[tokio::test]
async fn recorded_hashes_are_trusted_while_the_object_keeps_its_etag() {
    /// Records of one file: the hash recorded and the ETag it had.
    struct One(String, Recorded);
    #[async_trait]
    impl Records for One {
        async fn recorded(&self, _bucket: &str, key: &str) -> Result<Option<Recorded>, String> {
            Ok((key == self.0).then(|| self.1.clone()))
        }
    }
    let mut s = setup();
    let (a, b, digest) = s.hour(12);
    let etag = s.memory.etag(BUCKET, &a.key).await.unwrap();
    let verify = |records: One| {
        let fetched = s.memory.fetched(&digest.key);
        let (ring, memory, key) = (&s.ring, &s.memory, digest.key.clone());
        async move { verify_digest(BUCKET, &key, &fetched, ring, memory, &records).await.unwrap() }
    };
    // `a` was forwarded with other content than the digest hashed, and has not changed since: the
    // record is believed, not the object. `b` has no record and is read.
    let forwarded = Recorded { sha256: "00".repeat(32), etag: etag.clone() };
    let report = verify(One(a.key.clone(), forwarded.clone())).await;
    assert_eq!(report.files_valid, 1);
    let modified = Problem::Modified {
        bucket: BUCKET.into(),
        key: a.key.clone(),
        expected: a.sha256.clone(),
        actual: "00".repeat(32),
    };
    assert_eq!(report.problems, vec![modified]);
    // The object changed since (another ETag, or none recorded): it is read, and is as listed.
    for etag in [Some("other".to_string()), None] {
        let report = verify(One(a.key.clone(), Recorded { etag, ..forwarded.clone() })).await;
        assert_eq!((report.files_valid, report.problems.len()), (2, 0));
    }
    // Deleted after it was forwarded: missing, whatever was recorded.
    s.memory.0.lock().unwrap().remove(&a.key);
    let report = verify(One(a.key.clone(), forwarded)).await;
    assert_eq!(
        report.problems,
        vec![Problem::Missing { bucket: BUCKET.into(), key: a.key.clone(), expected: a.sha256 }]
    );
    let _ = b;
}

#[tokio::test]
async fn keys_that_cannot_be_listed_are_an_error_to_retry_not_a_finding() {
    struct Refusing;
    #[async_trait]
    impl KeySource for Refusing {
        async fn list(&self, _region: &str, _start: i64, _end: i64) -> Result<Vec<PublicKey>, String> {
            Err("AccessDeniedException: not authorized to perform cloudtrail:ListPublicKeys".to_string())
        }
    }
    let mut s = setup();
    let (_, _, digest) = s.hour(12);
    let ring = KeyRing::new(Refusing);
    let error =
        verify_digest(BUCKET, &digest.key, &s.memory.fetched(&digest.key), &ring, &s.memory, &NoRecords)
            .await
            .unwrap_err();
    assert!(error.contains("could not be listed") && error.contains("AccessDenied"), "{error}");
}
