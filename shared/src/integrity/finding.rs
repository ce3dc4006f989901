//! Each integrity problem as an OCSF 1.8.0 **Detection Finding** (2004, activity Create): the
//! class OCSF gives to "a detection made by a security control" — here the check of CloudTrail's
//! own integrity proofs — with a finding (`finding_info`), a severity and the resources concerned.
//! Compliance Finding would need a standard and a control, Data Security Finding a data
//! classification; neither is what a tampered or missing log file is.
//!
//! Every finding is High severity. Its `finding_info.uid` (and `metadata.uid`) is a hash of the
//! kind, the object and the digest, so the same problem found twice is the same finding.

use serde_json::{json, Value};

use super::digest::DigestKey;
use super::verify::Problem;

/// `severity_id` High.
const HIGH: u32 = 4;

/// The digest a problem was found with, and where.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The digest's bucket.
    pub bucket: &'a str,
    /// The digest's key.
    pub key: &'a str,
    /// What the digest's key says (account, region, trail).
    pub location: Option<&'a DigestKey>,
    /// When the problem was found, epoch ms.
    pub now_ms: i64,
}

/// The finding of `problem`.
pub fn finding(problem: &Problem, context: &Context<'_>) -> Value {
    let digest = format!("s3://{}/{}", context.bucket, context.key);
    let (title, object, detail) = describe(problem, &digest);
    let (object_bucket, object_key) = object.unwrap_or((context.bucket, context.key));
    let uid = crate::hash::sha256_hex(
        &[problem.kind().as_bytes(), object_bucket.as_bytes(), object_key.as_bytes(), digest.as_bytes()],
        16,
    );
    let mut resources = vec![json!({
        "uid": format!("arn:aws:s3:::{object_bucket}/{object_key}"),
        "name": object_key,
        "type": "AWS::S3::Object",
    })];
    if let Some(data) = hashes(problem) {
        resources[0]["data"] = data;
    }
    if object.is_some() {
        resources.push(json!({
            "uid": format!("arn:aws:s3:::{}/{}", context.bucket, context.key),
            "name": context.key,
            "type": "AWS::S3::Object",
            "role": "CloudTrail digest",
        }));
    }
    let mut event = json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200_401,
        "type_name": "Detection Finding: Create",
        "severity_id": HIGH,
        "severity": "High",
        "status_id": 1,
        "status": "New",
        "time": context.now_ms,
        "message": detail,
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": detail,
            "types": [format!("CloudTrail log file integrity: {}", problem.kind())],
            "data_sources": [digest],
            "created_time": context.now_ms,
        },
        "resources": resources,
        "metadata": {
            "version": "1.8.0",
            "uid": uid,
            "product": {"name": "audit-relay", "vendor_name": "audit-relay", "feature": {"name": "CloudTrail integrity"}},
            "profiles": ["cloud"],
        },
        "cloud": {"provider": "AWS"},
    });
    if let Some(location) = context.location {
        event["cloud"]["region"] = json!(location.region);
        event["cloud"]["account"] = json!({"uid": location.account});
        event["unmapped"] = json!({"trail": location.trail, "trail_home_region": location.home_region});
    }
    event
}

/// The finding's title, the object it is about (`None`: the digest) and its message.
fn describe<'p>(problem: &'p Problem, digest: &str) -> (&'static str, Option<(&'p str, &'p str)>, String) {
    match problem {
        Problem::DigestInvalid { reason } => {
            ("CloudTrail digest file invalid", None, format!("The CloudTrail digest {digest} cannot be verified: {reason}."))
        }
        Problem::SignatureInvalid { reason } => (
            "CloudTrail digest signature invalid",
            None,
            format!("The signature of the CloudTrail digest {digest} is not CloudTrail's: {reason}."),
        ),
        Problem::ChainBroken { reason } => (
            "CloudTrail digest chain broken",
            None,
            format!("The CloudTrail digest {digest} does not link to its previous digest: {reason}."),
        ),
        Problem::Modified { bucket, key, expected, actual } => (
            "CloudTrail log file modified",
            Some((bucket, key)),
            format!(
                "The CloudTrail log file s3://{bucket}/{key} is not the file CloudTrail delivered: the digest {digest} lists SHA-256 {expected}, the file hashes to {actual}."
            ),
        ),
        Problem::Missing { bucket, key, expected } => (
            "CloudTrail log file deleted",
            Some((bucket, key)),
            format!(
                "The CloudTrail log file s3://{bucket}/{key}, listed in the digest {digest} with SHA-256 {expected}, does not exist."
            ),
        ),
        Problem::NotListed { bucket, key } => (
            "CloudTrail log file not in any digest",
            Some((bucket, key)),
            format!(
                "The log file s3://{bucket}/{key} is in no CloudTrail digest of its period (checked up to {digest}): CloudTrail did not deliver it."
            ),
        ),
    }
}

/// The expected and actual hashes of a log file problem.
fn hashes(problem: &Problem) -> Option<Value> {
    match problem {
        Problem::Modified { expected, actual, .. } => {
            Some(json!({"expected_sha256": expected, "actual_sha256": actual}))
        }
        Problem::Missing { expected, .. } => Some(json!({"expected_sha256": expected})),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocsf::validate::validate;

    #[test]
    fn every_kind_of_problem_is_a_valid_high_severity_detection_finding() {
        let key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/11/19/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20241119T130000Z.json.gz";
        let location = DigestKey::parse(key).unwrap();
        let context = Context { bucket: "trail", key, location: Some(&location), now_ms: 1_732_021_200_000 };
        let log = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/f.json.gz".to_string();
        let problems = vec![
            Problem::DigestInvalid { reason: "no signature".into() },
            Problem::SignatureInvalid { reason: "does not verify".into() },
            Problem::ChainBroken { reason: "gone".into() },
            Problem::Modified {
                bucket: "trail".into(),
                key: log.clone(),
                expected: "aa".into(),
                actual: "bb".into(),
            },
            Problem::Missing { bucket: "trail".into(), key: log.clone(), expected: "aa".into() },
            Problem::NotListed { bucket: "trail".into(), key: log.clone() },
        ];
        let mut uids = Vec::new();
        for problem in &problems {
            let event = finding(problem, &context);
            if let Err(errors) = validate(&event) {
                panic!("{}: {}\n{event:#}", problem.kind(), errors.join("\n"));
            }
            assert_eq!(event["severity_id"], 4);
            assert_eq!(event["cloud"]["account"]["uid"], "111122223333");
            assert!(event["message"].as_str().unwrap().contains(key), "names the digest");
            uids.push(event["finding_info"]["uid"].as_str().unwrap().to_string());
        }
        let modified = finding(&problems[3], &context);
        assert_eq!(modified["resources"][0]["uid"], format!("arn:aws:s3:::trail/{log}"));
        assert_eq!(modified["resources"][0]["data"], json!({"expected_sha256": "aa", "actual_sha256": "bb"}));
        assert_eq!(modified["resources"][1]["role"], "CloudTrail digest");
        assert_eq!(finding(&problems[3], &context)["finding_info"]["uid"], uids[3].as_str(), "stable");
        uids.sort();
        uids.dedup();
        assert_eq!(uids.len(), problems.len(), "one uid per problem");
    }
}
