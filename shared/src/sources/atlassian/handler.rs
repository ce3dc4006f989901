//! The `atlassian-audit` Lambda handler: on each scheduled invocation (the event's content does not
//! matter) polls every configured stream from its checkpoint, delivers, saves, and returns a
//! summary per stream. The invocation fails when a stream failed (a refused credential, a foreign
//! `next` link, an API that keeps failing, events that could be neither delivered nor
//! dead-lettered); streams that are only behind, or held by another run, do not fail it.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use serde::Serialize;

use super::config::AtlassianConfig;
use super::streams;
use crate::config::{ConfigError, EnvReader, Source};
use crate::metrics::InvocationMetrics;
use crate::poller::{
    epoch_ms, ApiHttp, PollSettings, Poller, PollerConfig, RunClock, RunReport, Stream, StreamReport,
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

/// What one invocation did.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Per stream: events, pages, behind, newest event time, status.
    pub streams: Vec<StreamReport>,
    /// Events the sink accepted.
    pub events_delivered: u64,
    /// Events and records dead-lettered.
    pub dead_lettered: u64,
    /// Sink requests retried.
    pub retries: u64,
    /// Whether a stream stopped before catching up (the next run continues).
    pub behind: bool,
}

/// Why the invocation fails.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// One or more streams failed; `retryable` is false for refused credentials and foreign hosts,
    /// which need an operator.
    #[error("{}{}", if *.retryable { "retryable: " } else { "" }, .message)]
    Streams {
        /// Every failed stream and why.
        message: String,
        /// Whether running again may succeed.
        retryable: bool,
    },
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Streams { retryable: true, .. } => "Retryable.StreamFailed",
            HandlerError::Streams { retryable: false, .. } => "StreamFailed",
        };
        Self { error_type: error_type.to_string(), error_message: error.to_string() }
    }
}

/// Handles one scheduled invocation.
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &AtlassianDeps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
    let clock = RunClock::until_epoch_ms(event.context.deadline);
    let (summary, result) = poll(deps, &clock).await;
    result?;
    Ok(serde_json::to_value(&summary).unwrap_or_default())
}

/// Runs one poll of every stream: the summary, and the error the run fails with (if any).
pub async fn poll(deps: &AtlassianDeps, clock: &RunClock) -> (Summary, Result<(), HandlerError>) {
    let report = deps.poller.poll(&deps.streams, clock).await;
    let now_ms = epoch_ms();
    let delivery = report.delivery();
    let mut metrics = InvocationMetrics::new(Source::Atlassian, &delivery);
    metrics.records_in = report.records();
    metrics.skipped = report.streams.iter().map(|s| s.duplicates).sum();
    metrics.poller_lag_seconds = report.max_lag_seconds(now_ms);
    metrics.emit();
    let result = failure(&report);
    let summary = Summary {
        events_delivered: delivery.delivered,
        dead_lettered: delivery.dead_lettered,
        retries: delivery.retries,
        behind: report.behind(),
        streams: report.streams,
    };
    tracing::info!(
        streams = summary.streams.len(),
        events_delivered = summary.events_delivered,
        dead_lettered = summary.dead_lettered,
        behind = summary.behind,
        failed = result.is_err(),
        "Poll done."
    );
    (summary, result)
}

fn failure(report: &RunReport) -> Result<(), HandlerError> {
    let mut messages = Vec::new();
    let mut retryable = true;
    for (stream, error) in report.failures() {
        retryable &= error.is_retryable();
        messages.push(format!("{stream}: {error}"));
    }
    if messages.is_empty() {
        Ok(())
    } else {
        Err(HandlerError::Streams { message: messages.join("; "), retryable })
    }
}
