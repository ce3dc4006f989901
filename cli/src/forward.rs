//! `forward`: sends log files (local, or every object under an S3 prefix) through the sink and
//! dead-letter store configured in the environment, exactly as the Lambda function would.

use std::path::PathBuf;

use anyhow::{bail, Context};
use audit_relay::event::Source;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::convert::Converter;
use audit_relay::sources::cloudtrail::forward::{forward_s3_object, forward_stream, ObjectCounts};
use audit_relay::sources::cloudtrail::notification::{self, ObjectRef};
use audit_relay::{aws, s3_object};
use indicatif::{ProgressBar, ProgressStyle};

enum Target {
    File(PathBuf),
    Object(ObjectRef),
}

impl Target {
    fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Object(object) => format!("s3://{}/{}", object.bucket, object.key),
        }
    }
}

/// Forwards every target; fails after all of them if any failed.
pub async fn run(source: Source, targets: &[String]) -> anyhow::Result<()> {
    if source != Source::Cloudtrail {
        anyhow::bail!("--source {source} is not supported by this command");
    }
    let sdk = aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    let limits = CloudtrailConfig::load(&env)?.limits;
    let mut delivery = pipeline.delivery(source, None);
    let Pipeline { config, s3, .. } = pipeline;
    let converter = Converter::new(config.format, config.include_raw);

    let mut expanded = Vec::new();
    for target in targets {
        match target.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let objects = s3_object::list(&s3, bucket, prefix).await?;
                expanded.extend(objects.into_iter().map(Target::Object));
            }
            None => expanded.push(Target::File(PathBuf::from(target))),
        }
    }

    let progress = ProgressBar::new(expanded.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} objects, {msg} [{elapsed_precise}, eta {eta}]")
            .context("progress template")?,
    );
    let mut counts = ObjectCounts::default();
    let mut failures = 0u64;
    let mut skipped = 0u64;
    for target in &expanded {
        let name = target.name();
        progress.set_message(format!("{} records", counts.records));
        let result = match target {
            Target::Object(object) => {
                if let Some(why) = notification::skip_reason(&object.key) {
                    tracing::debug!(object = name, why, "Object skipped.");
                    skipped += 1;
                    progress.inc(1);
                    continue;
                }
                match forward_s3_object(&s3, object, &mut delivery, &converter, limits, false).await {
                    Ok((found, _)) => {
                        counts += found;
                        Ok(())
                    }
                    Err((found, error)) => {
                        counts += found;
                        Err(error)
                    }
                }
            }
            Target::File(path) => {
                let file =
                    tokio::fs::File::open(path).await.with_context(|| format!("{name}: cannot open"))?;
                forward_stream(file, &name, &mut delivery, &converter, limits, &mut counts).await
            }
        };
        if let Err(error) = result {
            if matches!(error, audit_relay::sources::cloudtrail::forward::ForwardError::Delivery(_)) {
                progress.abandon();
                return Err(error.into());
            }
            progress.suspend(|| tracing::error!(object = name, error = %error, "Object failed."));
            failures += 1;
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let report = delivery.finish().await?;
    eprintln!(
        "{} objects ({skipped} skipped, {failures} failed), {} records: {} events delivered, {} dead-lettered, {} retries",
        expanded.len(),
        counts.records,
        report.delivered,
        report.dead_lettered,
        report.retries
    );
    if failures > 0 {
        bail!("{failures} objects failed");
    }
    Ok(())
}
