//! A pipeline wired from configuration alone, for runs that make no AWS call: the S3 client has a
//! region and no endpoint, so dead letters must go to `DLQ_DIR` (or nowhere) and checkpoints to
//! `CHECKPOINT_DIR`.

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::{dead_letter, sinks};
use aws_sdk_s3::config::{BehaviorVersion, Region};

/// The sink, dead-letter store and configuration of `env`, with an S3 client that is never called.
pub async fn pipeline(env: &EnvReader) -> Pipeline {
    let config = Config::load(env).await.unwrap();
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .build();
    let s3 = audit_relay::aws::s3_client(&sdk);
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    let dead_letter = dead_letter::from_config(&config.dead_letter, Some(s3.clone()));
    Pipeline { config, s3, sink, dead_letter }
}
