//! `poll`: runs one poll of a scheduled source locally, exactly as its Lambda function does on each
//! schedule: from the checkpoints (`CHECKPOINT_BUCKET`, or `CHECKPOINT_DIR` for files), through
//! the sink configured in the environment. The run summary goes to standard error (standard
//! output may carry the events, with the `stdout` sink).

use audit_relay::aws;
use audit_relay::poller::RunClock;
use audit_relay::scheduled;
use audit_relay::setup::Pipeline;
use audit_relay::sources::atlassian::handler as atlassian;
use audit_relay::sources::azure_devops::handler as azure_devops;
use clap::ValueEnum;

/// The scheduled sources.
#[derive(Clone, Copy, ValueEnum)]
pub enum PollSource {
    /// Atlassian organization audit log, Jira and Confluence audit records.
    Atlassian,
    /// Azure DevOps audit log of every organization in `AZDO_ORGANIZATIONS`.
    AzureDevops,
}

/// Polls every configured stream of `source` once; fails when a stream failed.
pub async fn run(source: PollSource) -> anyhow::Result<()> {
    let sdk = aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    // No Lambda deadline: a run gets the local deadline (`LOCAL_DEADLINE_SECS`).
    let clock = RunClock::with_time_left(pipeline.config.local_deadline);
    let deps = match source {
        PollSource::Atlassian => atlassian::from_env(pipeline, &env).await?,
        PollSource::AzureDevops => azure_devops::from_env(pipeline, &env).await?,
    };
    let (summary, result) = scheduled::poll(&deps, &clock).await;
    let summary = serde_json::to_string_pretty(&summary)?;
    let result = result.map_err(anyhow::Error::from);
    eprintln!("{summary}");
    result
}
