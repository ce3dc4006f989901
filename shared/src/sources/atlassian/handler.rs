//! The `atlassian-audit` Lambda handler: on each scheduled invocation (whatever the event, but the
//! check below) polls every configured stream from its checkpoint, delivers, saves, and returns a
//! summary per stream. The invocation fails when a stream failed (a refused credential, a foreign
//! `next` link, an API that keeps failing, events that could be neither delivered nor
//! dead-lettered); streams that are only behind, or held by another run, do not fail it.
//! The event `{"audit-relay": "check"}` runs [`crate::check`] instead and returns its
//! report.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;

use super::config::AtlassianConfig;
use super::streams;
use crate::config::{ConfigError, EnvReader, Source};
use crate::poller::{
    conclude, ApiHttp, PollSettings, Poller, PollerConfig, RunClock, RunError, RunSummary, Stream,
};
use crate::setup::Pipeline;

/// Everything a run needs, built once per cold start.
pub struct AtlassianDeps {
    /// The poll loop with the sink, dead-letter and checkpoint stores.
    pub poller: Poller,
    /// The configured streams.
    pub streams: Vec<Stream>,
}

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum AtlassianSetupError {
    /// A variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl AtlassianDeps {
    /// Reads the Atlassian and poller settings from `env` and wires them to `pipeline`.
    pub async fn from_env(pipeline: Pipeline, env: &EnvReader) -> Result<Self, AtlassianSetupError> {
        let atlassian = AtlassianConfig::load(env).await?;
        let poller = PollerConfig::load(env)?;
        Ok(Self::new(pipeline, &atlassian, &poller, ApiHttp::new()?))
    }

    /// Wires already-loaded settings (tests use this with their own HTTP client settings).
    pub fn new(
        pipeline: Pipeline,
        atlassian: &AtlassianConfig,
        poller: &PollerConfig,
        http: ApiHttp,
    ) -> Self {
        let store = poller.store(Source::Atlassian, &pipeline.s3);
        let settings = PollSettings::new(Source::Atlassian, &pipeline.config, poller);
        Self::with_settings(pipeline, atlassian, store, http, settings)
    }

    /// Wires every part explicitly.
    pub fn with_settings(
        pipeline: Pipeline,
        atlassian: &AtlassianConfig,
        store: Arc<dyn crate::poller::CheckpointStore>,
        http: ApiHttp,
        settings: PollSettings,
    ) -> Self {
        let poller = Poller::new(pipeline.sink, pipeline.dead_letter, store, http, settings);
        Self { poller, streams: streams(atlassian) }
    }
}

/// What one invocation did (the summary every poller returns).
pub type Summary = RunSummary;

/// Why the invocation fails (as for every poller).
pub type HandlerError = RunError;

/// Handles one scheduled invocation.
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &AtlassianDeps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
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
pub async fn check(deps: &AtlassianDeps) -> crate::check::Report {
    crate::check::poller(&deps.poller, Source::Atlassian, &deps.streams).await
}

/// Runs one poll of every stream: the summary, and the error the run fails with (if any).
pub async fn poll(deps: &AtlassianDeps, clock: &RunClock) -> (Summary, Result<(), HandlerError>) {
    let report = deps.poller.poll(&deps.streams, clock).await;
    conclude(Source::Atlassian, report)
}
