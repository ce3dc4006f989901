//! `audit-relay verify` (issue 18) on a trail bucket in moto's S3 whose log files and digests a test
//! trail wrote and signed as CloudTrail does, with the public keys from a local stand-in of
//! CloudTrail `ListPublicKeys` reached through the real SDK (`AWS_ENDPOINT_URL_CLOUDTRAIL`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_relay::integrity::trail::{Trail, TrailObject};
use audit_relay_tests::cloudtrail_keys::{serve, KeysStandIn};
use audit_relay_tests::moto::{self, MotoServer};
use audit_relay_tests::trail_bucket::{self, put, verify_cli, FORGER_KEY, SIGNING_KEY};
use serde_json::Value;

const KEY: &str = SIGNING_KEY;
const FORGER: &str = FORGER_KEY;
const ACCOUNT: &str = "111122223333";

fn verify(moto: &MotoServer, keys: &KeysStandIn, args: &[&str]) -> (i32, String, String) {
    verify_cli(moto, keys, args)
}

fn hour(trail: &mut Trail, h: u32, listed: usize) -> (Vec<TrailObject>, TrailObject) {
    trail_bucket::hour(trail, ACCOUNT, h, listed)
}

#[tokio::test]
async fn a_clean_trail_verifies_and_every_kind_of_tampering_is_reported_once() {
    let moto = moto::start().await;
    let bucket = moto.bucket("trail-bucket").await;
    let mut trail = Trail::new(&bucket, "", ACCOUNT, "us-east-1", "main", KEY);
    let keys = serve(vec![trail.public_key(1_700_000_000, 1_800_000_000)]).await;

    // 10:00-16:00, a digest per hour.
    let mut hours = Vec::new();
    for h in 10..16 {
        let (files, digest) = hour(&mut trail, h, if h == 13 { 1 } else { 2 });
        for object in files.iter().chain([&digest]) {
            put(&moto, &bucket, object).await;
        }
        hours.push((files, digest));
    }
    let range = ["--start", "2024-11-19T10:00:00Z", "--end", "2024-11-19T15:00:00Z"];
    let target = format!("s3://{bucket}");
    let (code, out, err) = verify(&moto, &keys, &[&target, range[0], range[1], range[2], range[3]]);
    // 13:35's file is in no digest: CloudTrail never listed it (forwarded by someone else).
    assert_eq!(code, 1, "{out}\n{err}");
    let summary = out.lines().last().unwrap();
    assert_eq!(
        summary, "digests 6 valid / 0 invalid; log files 11 valid / 0 modified / 0 missing / 1 not listed",
        "{out}"
    );
    assert!(out.contains(&format!("not listed\ts3://{bucket}/{}", hours[3].0[1].key)), "{out}");
    assert!(keys.requests.lock().unwrap().iter().all(|(_, signed)| *signed), "SigV4-signed calls");
    assert_eq!(keys.requests.lock().unwrap().len(), 1, "keys listed once for the region");

    // Tampering: 11:05 edited, 12:35 deleted, the 14:00 digest removed, and a forged 16:00 digest.
    let edited = &hours[1].0[0];
    let body = audit_relay::integrity::trail::gzip(br#"{"Records":[]}"#);
    moto.s3_client().put_object().bucket(&bucket).key(&edited.key).body(body.into()).send().await.unwrap();
    moto.s3_client().delete_object().bucket(&bucket).key(&hours[2].0[1].key).send().await.unwrap();
    moto.s3_client().delete_object().bucket(&bucket).key(&hours[4].1.key).send().await.unwrap();
    trail.sign_with(FORGER);
    let (files, forged) = hour(&mut trail, 16, 2);
    for object in files.iter().chain([&forged]) {
        put(&moto, &bucket, object).await;
    }
    let (code, out, err) =
        verify(&moto, &keys, &[&target, "--start", "2024-11-19T10:00:00Z", "--end", "2024-11-19T16:30:00Z"]);
    assert_eq!(code, 1, "{err}");
    let problems: Vec<&str> = out.lines().filter(|l| !l.starts_with("valid\t")).collect();
    let expect = [
        format!("modified\ts3://{bucket}/{}", edited.key),
        format!("missing\ts3://{bucket}/{}", hours[2].0[1].key),
        format!("chain broken\ts3://{bucket}/{}", hours[5].1.key),
        format!("signature invalid\ts3://{bucket}/{}", forged.key),
        format!("not listed\ts3://{bucket}/{}", hours[3].0[1].key),
        format!("not listed\ts3://{bucket}/{}", hours[4].0[0].key),
        format!("not listed\ts3://{bucket}/{}", hours[4].0[1].key),
    ];
    for line in &expect {
        assert_eq!(problems.iter().filter(|p| p.starts_with(line.as_str())).count(), 1, "{line} in\n{out}");
    }
    assert_eq!(problems.len(), expect.len() + 1, "and the summary line:\n{out}");
    assert_eq!(
        *problems.last().unwrap(),
        "digests 4 valid / 2 invalid; log files 7 valid / 1 modified / 1 missing / 3 not listed",
        "the forged digest's files are not checked, the authentic 15:00 digest's are"
    );

    // The same as OCSF Detection Findings, each schema-valid.
    let (code, out, err) = verify(
        &moto,
        &keys,
        &[&target, "--start", "2024-11-19T10:00:00Z", "--end", "2024-11-19T16:30:00Z", "--format", "json"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("1 modified / 1 missing / 3 not listed"), "{err}");
    let findings: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(findings.len(), expect.len());
    for finding in &findings {
        if let Err(errors) = audit_relay::ocsf::validate::validate(finding) {
            panic!("{}\n{finding:#}", errors.join("\n"));
        }
        assert_eq!(finding["class_uid"], 2004);
        assert_eq!(finding["severity_id"], 4);
        assert_eq!(finding["cloud"]["account"]["uid"], ACCOUNT);
    }
    let modified =
        findings.iter().find(|f| f["finding_info"]["title"] == "CloudTrail log file modified").unwrap();
    assert_eq!(modified["resources"][0]["data"]["expected_sha256"], edited.sha256.as_str());
}

#[tokio::test]
async fn organization_trails_backfills_and_a_restarted_chain_verify() {
    let moto = moto::start().await;
    let bucket = moto.bucket("org-trail-bucket").await;
    let mut trail =
        Trail::new(&bucket, "logs/", ACCOUNT, "eu-west-1", "org-trail", KEY).in_organization("o-abc123");
    let keys = serve(vec![trail.public_key(1_700_000_000, 1_800_000_000)]).await;
    let (files, first) = hour(&mut trail, 10, 1);
    // The second file was listed late, in a backfill digest of the same period.
    let backfill = trail.digest("2024-11-19T10:00:00Z", "2024-11-19T11:00:00Z", &[&files[1]], true);
    trail.restart_chain();
    let (more, restarted) = hour(&mut trail, 11, 2);
    let empty = trail.digest("2024-11-19T12:00:00Z", "2024-11-19T13:00:00Z", &[], false);
    for object in files.iter().chain(&more).chain([&first, &backfill, &restarted, &empty]) {
        put(&moto, &bucket, object).await;
    }
    assert!(backfill.key.starts_with("logs/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/eu-west-1/"));
    let (code, out, err) = verify(
        &moto,
        &keys,
        &[&format!("s3://{bucket}/logs"), "--start", "2024-11-19T10:00:00Z", "--end", "2024-11-19T12:30:00Z"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out.lines().last().unwrap(),
        "digests 4 valid / 0 invalid; log files 4 valid / 0 modified / 0 missing / 0 not listed"
    );
    assert_eq!(keys.requests.lock().unwrap().len(), 1);
}
