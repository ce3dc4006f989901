//! The `cloudtrail-s3` handler verifying CloudTrail digests as they land (issue 18): log files and
//! digests a test trail wrote and signed as CloudTrail does, in moto's S3; public keys from a local
//! stand-in of CloudTrail `ListPublicKeys` reached through the real SDK; findings at a Splunk HEC
//! receiver. Each scenario yields exactly the findings and counts expected, and `audit-relay
//! verify` finds the same problems in the same bucket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use audit_relay::integrity::service::Integrity;
use audit_relay::integrity::trail::{Trail, TrailObject};
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use audit_relay_tests::cloudtrail_keys::{serve, KeysStandIn};
use audit_relay_tests::moto::{self, MotoServer};
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events, splunk_hec};
use audit_relay_tests::trail_bucket::{self, put, s3_notification, verify_cli, FORGER_KEY, SIGNING_KEY};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "111122223333";

/// The function, its trail bucket, state bucket, SIEM and key service.
struct Setup {
    moto: MotoServer,
    bucket: String,
    state: String,
    hec: MockServer,
    keys: KeysStandIn,
    deps: Pipeline,
    source: CloudtrailConfig,
    trail: Trail,
}

async fn setup(name: &str) -> Setup {
    let moto = moto::start().await;
    let bucket = moto.bucket(name).await;
    let state = moto.bucket(&format!("{name}-state")).await;
    let hec = splunk_hec().await;
    let trail = Trail::new(&bucket, "", ACCOUNT, "us-east-1", "main", SIGNING_KEY);
    let keys = serve(vec![trail.public_key(1_700_000_000, 1_800_000_000)]).await;
    let deps = moto.hec_pipeline(&hec.uri(), &state).await;
    let source = with_keys_at(&moto, &state, &keys.server.uri());
    Setup { moto, bucket, state, hec, keys, deps, source, trail }
}

/// The source with integrity checks recording under `integrity/` of `state`, keys from `keys_uri`.
fn with_keys_at(moto: &MotoServer, state: &str, keys_uri: &str) -> CloudtrailConfig {
    let keys_sdk = moto.sdk_config().into_builder().endpoint_url(keys_uri).build();
    let integrity = Integrity::new(moto.s3_client(), state.to_string(), "integrity/".to_string(), keys_sdk);
    CloudtrailConfig::default().with_integrity(Some(integrity))
}

impl Setup {
    /// Runs the handler on the direct notification of `objects`; its summary.
    async fn notify(&self, objects: &[&TrailObject]) -> Value {
        let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        let payload = s3_notification(&self.bucket, &keys);
        handle(&self.deps, &self.source, LambdaEvent::new(payload, Context::default())).await.unwrap()
    }

    /// Writes `objects` and notifies the function of them, one invocation each.
    async fn deliver(&self, objects: &[&TrailObject]) -> Vec<Value> {
        let mut summaries = Vec::new();
        for object in objects {
            put(&self.moto, &self.bucket, object).await;
            summaries.push(self.notify(&[object]).await);
        }
        summaries
    }

    /// Every finding the SIEM got so far, as `(kind, s3 URI of the object)`, after checking each
    /// is valid OCSF, High, and names the trail's account.
    async fn findings(&self) -> BTreeSet<(String, String)> {
        let findings: Vec<Value> =
            hec_events(&self.hec).await.into_iter().filter(|e| e["class_uid"] == 2004).collect();
        assert_valid_ocsf(&findings);
        let set: BTreeSet<(String, String)> = findings
            .iter()
            .map(|f| {
                assert_eq!(
                    (f["severity_id"].clone(), f["cloud"]["account"]["uid"].clone()),
                    (json!(4), json!(ACCOUNT))
                );
                let kind = f["finding_info"]["types"][0].as_str().unwrap();
                let kind = kind.strip_prefix("CloudTrail log file integrity: ").unwrap().to_string();
                let object = f["resources"][0]["name"].as_str().unwrap();
                (kind, format!("s3://{}/{object}", self.bucket))
            })
            .collect();
        assert_eq!(set.len(), findings.len(), "each problem reported once: {findings:#?}");
        set
    }

    /// The log files recorded and not yet settled by a digest.
    async fn records(&self) -> usize {
        let listed =
            self.moto.s3_client().list_objects_v2().bucket(&self.state).prefix("integrity/files/").send();
        listed.await.unwrap().key_count().unwrap_or(0) as usize
    }

    fn uri(&self, object: &TrailObject) -> String {
        format!("s3://{}/{}", self.bucket, object.key)
    }
}

/// The integrity figures of a summary: digests, log files verified, failures, errors.
fn figures(summary: &Value) -> [u64; 4] {
    ["digests_verified", "log_files_verified", "integrity_failures", "integrity_errors"]
        .map(|name| summary[name].as_u64().unwrap_or_else(|| panic!("{name} in {summary}")))
}

fn problem(kind: &str, uri: String) -> (String, String) {
    (kind.to_string(), uri)
}

#[tokio::test]
async fn each_kind_of_tampering_is_one_finding_and_verify_finds_the_same() {
    let mut s = setup("trail-tampered").await;
    let mut hours = Vec::new();
    for h in 10..18 {
        hours.push(trail_bucket::hour(&mut s.trail, ACCOUNT, h, if h == 12 { 1 } else { 2 }));
        if h == 14 {
            s.trail.sign_with(FORGER_KEY);
        } else if h == 15 {
            s.trail.sign_with(SIGNING_KEY);
        }
    }
    let files = |h: usize| -> Vec<&TrailObject> { hours[h - 10].0.iter().collect() };
    let digest = |h: usize| &hours[h - 10].1;

    // 10:00: all valid. Both files forwarded and recorded, then settled by the digest.
    let summaries = s.deliver(&files(10)).await;
    assert!(summaries.iter().all(|x| x["events_delivered"] == 1 && figures(x) == [0; 4]), "{summaries:?}");
    assert_eq!(s.records().await, 2);
    let checked = s.deliver(&[digest(10)]).await;
    assert_eq!(figures(&checked[0]), [1, 2, 0, 0]);
    assert_eq!(s.records().await, 0);
    assert!(s.findings().await.is_empty());

    // 11:00: one file edited after it was forwarded, one deleted.
    s.deliver(&files(11)).await;
    let edited = TrailObject {
        body: audit_relay::integrity::trail::gzip(br#"{"Records":[]}"#),
        ..files(11)[0].clone()
    };
    put(&s.moto, &s.bucket, &edited).await;
    s.moto.s3_client().delete_object().bucket(&s.bucket).key(&files(11)[1].key).send().await.unwrap();
    assert_eq!(figures(&s.deliver(&[digest(11)]).await[0]), [1, 2, 2, 0]);

    // 12:00: one file forwarded that the digest does not list; 13:00's digest is removed before
    // the function sees it.
    s.deliver(&files(12)).await;
    assert_eq!(figures(&s.deliver(&[digest(12)]).await[0]), [1, 1, 0, 0]);
    s.deliver(&files(13)).await;
    put(&s.moto, &s.bucket, digest(13)).await;
    s.moto.s3_client().delete_object().bucket(&s.bucket).key(&digest(13).key).send().await.unwrap();
    let gone = s.notify(&[digest(13)]).await;
    assert_eq!((figures(&gone), gone["skipped"].clone()), ([0; 4], json!(1)));

    // 14:00's digest breaks the chain, and settles 12:35 as never listed.
    s.deliver(&files(14)).await;
    assert_eq!(figures(&s.deliver(&[digest(14)]).await[0]), [1, 2, 2, 0]);
    // 15:00's digest is forged: reported, its files not checked, nothing settled by it.
    s.deliver(&files(15)).await;
    assert_eq!(figures(&s.deliver(&[digest(15)]).await[0]), [1, 0, 1, 0]);
    // 16:00 and 17:00 are CloudTrail's again: the files only the removed and the forged digest
    // listed are never listed.
    s.deliver(&files(16)).await;
    assert_eq!(figures(&s.deliver(&[digest(16)]).await[0]), [1, 2, 2, 0]);
    s.deliver(&files(17)).await;
    assert_eq!(figures(&s.deliver(&[digest(17)]).await[0]), [1, 2, 2, 0]);

    let expected: BTreeSet<(String, String)> = [
        problem("modified", s.uri(files(11)[0])),
        problem("missing", s.uri(files(11)[1])),
        problem("not listed", s.uri(files(12)[1])),
        problem("chain broken", s.uri(digest(14))),
        problem("signature invalid", s.uri(digest(15))),
        problem("not listed", s.uri(files(13)[0])),
        problem("not listed", s.uri(files(13)[1])),
        problem("not listed", s.uri(files(15)[0])),
        problem("not listed", s.uri(files(15)[1])),
    ]
    .into_iter()
    .collect();
    assert_eq!(s.findings().await, expected);
    // Every record was settled by a digest.
    assert_eq!(s.records().await, 0);

    // The same bucket offline: the same problems.
    let target = format!("s3://{}", s.bucket);
    let (code, out, err) = verify_cli(
        &s.moto,
        &s.keys,
        &[&target, "--start", "2024-11-19T10:00:00Z", "--end", "2024-11-19T18:00:00Z"],
    );
    assert_eq!(code, 1, "{err}");
    let offline: BTreeSet<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(kind, _)| *kind != "valid")
        .map(|(kind, rest)| (kind.to_string(), rest.split('\t').next().unwrap().to_string()))
        .collect();
    assert_eq!(offline, expected, "{out}");
}

#[tokio::test]
async fn a_digest_before_its_log_files_and_a_backfill_settle_them_and_a_rewrite_is_caught() {
    let mut s = setup("trail-early-digest").await;
    let (files, digest) = trail_bucket::hour(&mut s.trail, ACCOUNT, 10, 2);
    for file in &files {
        put(&s.moto, &s.bucket, file).await;
    }
    // The digest lands while the files' notifications are still queued: the files are read.
    assert_eq!(figures(&s.deliver(&[&digest]).await[0]), [1, 2, 0, 0]);
    let forwarded = s.notify(&[&files[0], &files[1]]).await;
    assert_eq!((forwarded["events_delivered"].clone(), figures(&forwarded)), (json!(2), [0; 4]));
    assert_eq!(s.records().await, 0, "files a digest already listed are not recorded");

    // A file CloudTrail listed late, in a backfill digest of the same hour.
    let late = s.trail.log_file("20241119T1045Z", "late", &[trail_bucket::record(ACCOUNT, 10, 9)]);
    s.deliver(&[&late]).await;
    let backfill = s.trail.digest("2024-11-19T10:00:00Z", "2024-11-19T11:00:00Z", &[&late], true);
    assert!(backfill.key.ends_with("_backfill.json.gz"));
    assert_eq!(figures(&s.deliver(&[&backfill]).await[0]), [1, 1, 0, 0]);
    assert_eq!(s.records().await, 0);
    assert!(s.findings().await.is_empty());

    // Written again after its digest: forwarding it compares it with what the digest listed.
    let rewritten =
        TrailObject { body: audit_relay::integrity::trail::gzip(br#"{"Records":[]}"#), ..files[0].clone() };
    let summary = s.deliver(&[&rewritten]).await.remove(0);
    assert_eq!(figures(&summary), [0, 0, 1, 0]);
    assert_eq!(s.findings().await, BTreeSet::from([problem("modified", s.uri(&files[0]))]));
    let finding = hec_events(&s.hec).await.into_iter().find(|e| e["class_uid"] == 2004).unwrap();
    assert_eq!(finding["resources"][0]["data"]["expected_sha256"], files[0].sha256.as_str());
}

#[tokio::test]
async fn keys_that_cannot_be_listed_fail_only_the_digest_and_are_counted() {
    let mut s = setup("trail-no-keys").await;
    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: cloudtrail:ListPublicKeys"}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&refusing)
        .await;
    s.source = with_keys_at(&s.moto, &s.state, &refusing.uri());
    let (files, digest) = trail_bucket::hour(&mut s.trail, ACCOUNT, 10, 2);
    for object in files.iter().chain([&digest]) {
        put(&s.moto, &s.bucket, object).await;
    }
    let message = |id: &str, object: &TrailObject| {
        json!({"messageId": id, "receiptHandle": "h", "body": s3_notification(&s.bucket, &[&object.key]).to_string(),
               "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
               "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:trail", "awsRegion": "us-east-1"})
    };
    let batch = json!({"Records": [message("m-a", &files[0]), message("m-digest", &digest), message("m-b", &files[1])]});
    let response = handle(&s.deps, &s.source, LambdaEvent::new(batch, Context::default())).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": [{"itemIdentifier": "m-digest"}]}));
    assert_eq!(hec_events(&s.hec).await.len(), 2, "the log files are forwarded");
    assert_eq!(s.records().await, 2);

    // A direct invocation fails, naming the digest and the refusal, to be retried.
    let error = handle(
        &s.deps,
        &s.source,
        LambdaEvent::new(s3_notification(&s.bucket, &[&digest.key]), Context::default()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains(&digest.key) && error.contains("AccessDeniedException"), "{error}");
    assert!(s.findings().await.is_empty(), "an error is not a finding");
}
