//! The Lambda handler of every scheduled source (`atlassian-audit`, `azure-devops-audit`): on
//! each invocation, whatever the event, it polls every stream from its checkpoint, delivers, saves,
//! and returns a summary per stream; the event `{"audit-relay": "check"}` runs [`crate::check`]
//! instead and returns its report. The invocation fails when a stream failed (a refused
//! credential, a foreign `next` link, an API that keeps failing, events that could be neither
//! delivered nor dead-lettered); streams only behind, or held by another run, do not fail it.
//!
//! A source contributes only its streams ([`crate::poller::Stream`]); its `handler` module reads
//! its configuration and calls [`Scheduled::new`].

use std::sync::Arc;

use lambda_runtime::LambdaEvent;

use crate::check::{self, Report};
use crate::env::ConfigError;
use crate::event::Source;
use crate::poller::{
    conclude, ApiHttp, CheckpointStore, PollSettings, Poller, PollerConfig, RunClock, RunError, RunSummary,
    Stream,
};
use crate::setup::Pipeline;

/// Everything a scheduled source's run needs, built once per cold start.
pub struct Scheduled {
    source: Source,
    /// The poll loop with the sink, dead-letter and checkpoint stores.
    pub poller: Poller,
    /// The source's streams.
    pub streams: Vec<Stream>,
}

/// Why a scheduled source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl Scheduled {
    /// `source`'s `streams` wired to `pipeline`, with the checkpoints and windows of `poller`.
    pub fn new(
        pipeline: Pipeline,
        source: Source,
        poller: &PollerConfig,
        http: ApiHttp,
        streams: Vec<Stream>,
    ) -> Self {
        let store = poller.store(source, &pipeline.s3);
        let settings = PollSettings::new(source, &pipeline.config, poller);
        Self::with_settings(pipeline, source, store, http, settings, streams)
    }

    /// Wires every part explicitly (tests use this with their own HTTP and paging settings).
    pub fn with_settings(
        pipeline: Pipeline,
        source: Source,
        store: Arc<dyn CheckpointStore>,
        http: ApiHttp,
        settings: PollSettings,
        streams: Vec<Stream>,
    ) -> Self {
        let poller = Poller::new(pipeline.sink, pipeline.dead_letter, store, http, settings);
        Self { source, poller, streams }
    }

    /// The source polled.
    pub fn source(&self) -> Source {
        self.source
    }
}

/// Handles one scheduled invocation (or a check).
#[tracing::instrument(skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    deps: &Scheduled,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, RunError> {
    if check::requested(&event.payload) {
        // Boxed: the check future is deep, and the handler future need not hold it.
        return Ok(Box::pin(run_check(deps)).await.to_json());
    }
    let clock = RunClock::for_invocation(event.context.deadline, deps.poller.local_deadline());
    let (summary, result) = poll(deps, &clock).await;
    result?;
    Ok(serde_json::to_value(&summary).unwrap_or_default())
}

/// Runs one poll of every stream: the summary, and the error the run fails with (if any). Emits
/// the metrics, `PollerLag` included.
pub async fn poll(deps: &Scheduled, clock: &RunClock) -> (RunSummary, Result<(), RunError>) {
    let report = deps.poller.poll(&deps.streams, clock).await;
    conclude(deps.source, report)
}

/// Checks every component without polling (`{"audit-relay": "check"}`, `audit-relay check`).
pub async fn run_check(deps: &Scheduled) -> Report {
    check::poller(&deps.poller, deps.source, &deps.streams).await
}
