//! `cloudtrail-s3`: streams CloudTrail log files named by S3 notifications (direct, SQS, SNS,
//! EventBridge), normalizes every record to OCSF and forwards it to the configured SIEM; with
//! `INTEGRITY_BUCKET` set, records each log file's hash and verifies each digest file that lands.

use audit_relay::integrity::service::Integrity;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use audit_relay::{aws, telemetry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk = aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    let integrity = Integrity::from_env(&env, &sdk, pipeline.s3.clone());
    let source = CloudtrailConfig::load(&env)?.with_integrity(integrity);
    run(service_fn(|event: LambdaEvent<serde_json::Value>| handle(&pipeline, &source, event))).await
}
