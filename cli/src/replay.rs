//! `replay`: resends dead letters through the sink configured in the environment.

use anyhow::{bail, Context};
use audit_relay::replay::Replayer;
use audit_relay::setup::Pipeline;

/// Replays every dead letter under `target` (`s3://bucket/prefix`) and prints what happened.
pub async fn run(target: &str) -> anyhow::Result<()> {
    let rest = target.strip_prefix("s3://").context("the target must be s3://bucket/prefix")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let sdk = audit_relay::aws::sdk_config().await;
    let (pipeline, _env) = Pipeline::from_env(&sdk).await?;
    let replayer = Replayer {
        s3: pipeline.s3,
        sink: pipeline.sink,
        settings: pipeline.config.delivery.clone(),
        format: pipeline.config.format,
    };
    let report = replayer.replay_prefix(bucket, prefix).await?;
    eprintln!(
        "{} dead letters: {} replayed, {} kept; {} events delivered, {} refused again",
        report.objects,
        report.objects_replayed,
        report.objects_kept,
        report.events_delivered,
        report.events_remaining
    );
    if report.events_remaining > 0 {
        bail!("{} events were refused again and stay in the dead-letter store", report.events_remaining);
    }
    Ok(())
}
