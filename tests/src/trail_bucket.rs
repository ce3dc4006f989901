//! A trail bucket for the integrity scenarios (issue 18): the objects a test trail wrote put into
//! moto's S3 with their metadata, the S3 notification of a key, and `audit-relay verify` run over
//! the bucket with the keys of a [`KeysStandIn`].

use std::process::{Command, Stdio};

use audit_relay::integrity::trail::{Trail, TrailObject};
use serde_json::{json, Value};

use crate::cloudtrail_keys::KeysStandIn;
use crate::moto::MotoServer;
use crate::runtime_api::function_binary;

/// The test trail's signing key (`shared/src/integrity/fixtures/SOURCES.md`).
pub const SIGNING_KEY: &str = include_str!("../../shared/src/integrity/fixtures/test-signing-key.pem");
/// Another key: what a forger signs with.
pub const FORGER_KEY: &str = include_str!("../../shared/src/integrity/fixtures/other-signing-key.pem");

/// Writes `object` to `bucket` with its metadata.
pub async fn put(moto: &MotoServer, bucket: &str, object: &TrailObject) {
    let mut request =
        moto.s3_client().put_object().bucket(bucket).key(&object.key).body(object.body.clone().into());
    for (name, value) in &object.metadata {
        request = request.metadata(name, value);
    }
    request.send().await.unwrap_or_else(|e| panic!("put {}: {e:?}", object.key));
}

/// The S3 `ObjectCreated:Put` notification of `keys` in `bucket` (keys form-encoded, as S3 does).
pub fn s3_notification(bucket: &str, keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                   "eventName": "ObjectCreated:Put",
                   "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                          "object": {"key": key.replace(' ', "+"), "size": 1}}})
        })
        .collect();
    json!({ "Records": records })
}

/// A CloudTrail record of the trail's account, `n`th of its hour.
pub fn record(account: &str, hour: u32, n: usize) -> Value {
    json!({
        "eventVersion": "1.09", "eventTime": format!("2024-11-19T{hour:02}:{:02}:00Z", 5 + n),
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
        "eventID": format!("{hour:02}-{n}-0000-0000-000000000000"), "sourceIPAddress": "192.0.2.10",
        "recipientAccountId": account, "eventType": "AwsApiCall", "readOnly": true,
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "auditor"}
    })
}

/// An hour of the trail: log files delivered at :05 and :35, and the digest of the hour listing
/// the first `listed` of them.
pub fn hour(trail: &mut Trail, account: &str, hour: u32, listed: usize) -> (Vec<TrailObject>, TrailObject) {
    let files: Vec<TrailObject> = ["a", "b"]
        .iter()
        .enumerate()
        .map(|(i, unique)| {
            trail.log_file(
                &format!("20241119T{hour:02}{:02}Z", 5 + 30 * i),
                unique,
                &[record(account, hour, i)],
            )
        })
        .collect();
    let refs: Vec<&TrailObject> = files.iter().take(listed).collect();
    let digest = trail.digest(
        &format!("2024-11-19T{hour:02}:00:00Z"),
        &format!("2024-11-19T{:02}:00:00Z", hour + 1),
        &refs,
        false,
    );
    (files, digest)
}

/// Runs `audit-relay verify ARGS` against moto and the keys stand-in: exit code, standard output,
/// standard error.
pub fn verify_cli(moto: &MotoServer, keys: &KeysStandIn, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(function_binary("audit-relay"))
        .arg("verify")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", keys.server.uri())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}
