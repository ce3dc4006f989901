//! One `cloudtrail-s3` invocation on a generated CloudTrail file in moto, delivering through the
//! sink the given variables configure: the harness of the sink fault scenarios.

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use std::sync::Arc;

use audit_relay::sinks::Sink;
use audit_relay::{dead_letter, sinks};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};

use crate::{corpus, moto};

/// What the invocation did.
pub struct Run {
    /// The handler's summary (or `{"error": …}`).
    pub summary: Value,
    /// The dead-letter objects it wrote.
    pub dead_letter_keys: Vec<String>,
}

/// Runs the handler on a corpus file of `records` records (generated from `seed`) under `key`,
/// with the sink `vars` name, one request at a time, a 1 s timeout, 4 attempts and batches of 200.
pub async fn cloudtrail_file(vars: Vec<(&'static str, String)>, key: &str, records: u64, seed: u64) -> Run {
    cloudtrail_file_on(&moto::start().await, vars, None, key, records, seed).await
}

/// [`cloudtrail_file`] on `moto`, with `sink` (when given) instead of the one `vars` name.
pub async fn cloudtrail_file_on(
    moto: &moto::MotoServer,
    vars: Vec<(&'static str, String)>,
    sink: Option<Arc<dyn Sink>>,
    key: &str,
    records: u64,
    seed: u64,
) -> Run {
    let trail = moto.bucket("trail").await;
    let state = moto.bucket("state").await;
    moto.s3_client()
        .put_object()
        .bucket(&trail)
        .key(key)
        .body(ByteStream::from(corpus::gz_bytes(records, seed)))
        .send()
        .await
        .unwrap();
    let mut vars = vars;
    vars.extend([
        ("DLQ_BUCKET", state.clone()),
        ("SINK_CONCURRENCY", "1".to_string()),
        ("SINK_TIMEOUT_SECS", "1".to_string()),
        ("SINK_MAX_ATTEMPTS", "4".to_string()),
        ("BATCH_MAX_EVENTS", "200".to_string()),
    ]);
    let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
    let sink = match sink {
        Some(sink) => sink,
        None => config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap(),
    };
    let dead_letter = dead_letter::from_config(&config.dead_letter, Some(moto.s3_client()));
    let deps = Pipeline { s3: moto.s3_client(), sink, dead_letter, config };
    let notification = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": trail, "arn": format!("arn:aws:s3:::{trail}")},
               "object": {"key": key, "size": 1}}}]});
    let summary =
        handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(notification, Context::default())).await;
    let summary = summary.unwrap_or_else(|e| json!({"error": e.to_string()}));
    let listed = moto.s3_client().list_objects_v2().bucket(&state).send().await.unwrap();
    let dead_letter_keys = listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    Run { summary, dead_letter_keys }
}
