//! The `azure-devops-audit` Lambda handler (api-contracts.md §7.1): on each scheduled invocation
//! (whatever the event, but the check below) polls the audit log of every organization in
//! `AZDO_ORGANIZATIONS` from its checkpoint, delivers, saves, and returns a summary per
//! organization. The invocation fails when a stream failed (a refused credential, an API that
//! keeps failing, events that could be neither delivered nor dead-lettered); streams that are only
//! behind, or held by another run, do not fail it.
//! The event `{"audit-relay": "check"}` runs [`crate::check`] instead and returns its
//! report.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;

use super::config::AzureDevOpsConfig;
use super::streams;
use crate::config::{ConfigError, EnvReader, Source};
use crate::poller::{
    conclude, ApiHttp, CheckpointStore, PollSettings, Poller, PollerConfig, RunClock, RunError, RunSummary,
    Stream,
};
use crate::setup::Pipeline;

/// Everything a run needs, built once per cold start.
pub struct AzureDevOpsDeps {
    /// The poll loop with the sink, dead-letter and checkpoint stores.
    pub poller: Poller,
    /// One stream per organization.
    pub streams: Vec<Stream>,
}

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum AzureDevOpsSetupError {
    /// A variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl AzureDevOpsDeps {
    /// Reads the Azure DevOps and poller settings from `env` and wires them to `pipeline`.
    pub async fn from_env(pipeline: Pipeline, env: &EnvReader) -> Result<Self, AzureDevOpsSetupError> {
        let azure_devops = AzureDevOpsConfig::load(env).await?;
        let poller = PollerConfig::load(env)?;
        Ok(Self::new(pipeline, &azure_devops, &poller, ApiHttp::new()?))
    }

    /// Wires already-loaded settings.
    pub fn new(
        pipeline: Pipeline,
        azure_devops: &AzureDevOpsConfig,
        poller: &PollerConfig,
        http: ApiHttp,
    ) -> Self {
        let store = poller.store(Source::AzureDevops, &pipeline.s3);
        let settings = PollSettings::new(Source::AzureDevops, &pipeline.config, poller);
        Self::with_settings(pipeline, azure_devops, store, http, settings)
    }

    /// Wires every part explicitly (tests use this with their own HTTP and paging settings).
    pub fn with_settings(
        pipeline: Pipeline,
        azure_devops: &AzureDevOpsConfig,
        store: Arc<dyn CheckpointStore>,
        http: ApiHttp,
        settings: PollSettings,
    ) -> Self {
        let poller = Poller::new(pipeline.sink, pipeline.dead_letter, store, http, settings);
        Self { poller, streams: streams(azure_devops) }
    }
}

/// Handles one scheduled invocation.
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &AzureDevOpsDeps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, RunError> {
    if crate::check::requested(&event.payload) {
        // Boxed: the check future is deep, and the handler future need not hold it.
        return Ok(Box::pin(check(deps)).await.to_json());
    }
    let clock = RunClock::for_invocation(event.context.deadline, deps.poller.local_deadline());
    let (summary, result) = poll(deps, &clock).await;
    result?;
    Ok(serde_json::to_value(&summary).unwrap_or_default())
}

/// Checks every component without polling (`{"audit-relay": "check"}`, `audit-relay check`).
pub async fn check(deps: &AzureDevOpsDeps) -> crate::check::Report {
    crate::check::poller(&deps.poller, Source::AzureDevops, &deps.streams).await
}

/// Runs one poll of every organization: the summary, and the error the run fails with (if any).
/// Emits the metrics, `PollerLag` included.
pub async fn poll(deps: &AzureDevOpsDeps, clock: &RunClock) -> (RunSummary, Result<(), RunError>) {
    let report = deps.poller.poll(&deps.streams, clock).await;
    conclude(Source::AzureDevops, report)
}
