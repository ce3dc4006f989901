//! The poll loop: claim the stream's checkpoint, read its window page by page, deliver, save.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::api::{encode_polled, PageItem, PolledRecord, StreamApi, Window};
use super::checkpoint::{Checkpoint, CheckpointError, CheckpointStore, Lease, PendingWindow};
use super::config::PollerConfig;
use super::http::{ApiHttp, FetchError};
use super::pace::Pacer;
use super::report::{PollError, RunReport, StreamReport, StreamStatus};
use super::seen::SeenIds;
use crate::config::Config;
use crate::dead_letter::DeadLetterStore;
use crate::delivery::Delivery;
use crate::delivery::DeliverySettings;
use crate::encode::ConvertError;
use crate::event::OutboundEvent;
use crate::event::{OutputFormat, Source};
use crate::sinks::Sink;
use crate::timestamp::format_rfc3339_ms;

/// Paging stops this long before the invocation deadline (or a third of the time left when the
/// run starts, whichever is less), leaving time to deliver what was read and save the checkpoint.
pub const PAGING_MARGIN: Duration = Duration::from_secs(60);
/// A run's claim on a stream outlives its deadline by this much (clock differences).
pub const LEASE_GRACE: Duration = Duration::from_secs(60);
/// Pages read between two checkpoint saves (deliver, then save).
pub const PAGES_PER_CHECKPOINT: u32 = 10;

/// How a poller delivers and where windows start.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// The source (dead-letter prefix, sink metadata).
    pub source: Source,
    /// `SIEM_FORMAT`.
    pub format: OutputFormat,
    /// `INCLUDE_RAW`.
    pub include_raw: bool,
    /// The delivery engine's settings.
    pub delivery: DeliverySettings,
    /// `INITIAL_LOOKBACK_HOURS`.
    pub initial_lookback: Duration,
    /// `OVERLAP_MINUTES`.
    pub overlap: Duration,
    /// Pages between checkpoint saves ([`PAGES_PER_CHECKPOINT`]).
    pub pages_per_checkpoint: u32,
    /// `LOCAL_DEADLINE_SECS`: the run's length when the runtime gives no deadline.
    pub local_deadline: Duration,
}

impl PollSettings {
    /// The settings of `source` from the shared and poller configuration.
    pub fn new(source: Source, config: &Config, poller: &PollerConfig) -> Self {
        Self {
            source,
            format: config.format,
            include_raw: config.include_raw,
            delivery: config.delivery.clone(),
            initial_lookback: poller.initial_lookback,
            overlap: poller.overlap,
            pages_per_checkpoint: PAGES_PER_CHECKPOINT,
            local_deadline: config.local_deadline,
        }
    }
}

/// One stream to poll: its client and the pacer of the API it counts against.
#[derive(Clone)]
pub struct Stream {
    /// The client.
    pub api: Arc<dyn StreamApi>,
    /// Shared by the streams of one rate limit.
    pub pacer: Arc<Pacer>,
}

/// One run's identity and time limits.
#[derive(Debug, Clone)]
pub struct RunClock {
    run_id: String,
    deadline: Instant,
    deadline_ms: i64,
    stop_paging_at: Instant,
}

impl RunClock {
    /// A run ending at the Lambda deadline `deadline_epoch_ms`, or `local_deadline` from now when
    /// that is no deadline (see [`crate::deadline`]).
    pub fn for_invocation(deadline_epoch_ms: u64, local_deadline: Duration) -> Self {
        Self::with_time_left(crate::deadline::time_left(deadline_epoch_ms, local_deadline))
    }

    /// A run with `left` to go.
    pub fn with_time_left(left: Duration) -> Self {
        let now = Instant::now();
        let margin = PAGING_MARGIN.min(left / 3);
        Self {
            run_id: uuid::Uuid::new_v4().to_string(),
            deadline: now + left,
            deadline_ms: epoch_ms().saturating_add(left.as_millis() as i64),
            stop_paging_at: now + left.saturating_sub(margin),
        }
    }

    /// The run's id (written in checkpoints and leases).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// When paging stops.
    pub fn stop_paging_at(&self) -> Instant {
        self.stop_paging_at
    }
}

/// The poll loop shared by every scheduled source.
pub struct Poller {
    sink: Arc<dyn Sink>,
    dead_letter: Arc<dyn DeadLetterStore>,
    store: Arc<dyn CheckpointStore>,
    http: ApiHttp,
    settings: PollSettings,
}

/// A stream's checkpoint as this run holds it.
struct Held {
    /// The working copy.
    checkpoint: Checkpoint,
    /// The version last written by this run.
    saved: Checkpoint,
    /// Its tag.
    etag: String,
}

/// How reading a window ended.
enum WindowEnd {
    /// Every page read.
    Complete,
    /// Stopped: deadline, or an error (kept for the report).
    Stopped(Option<PollError>),
    /// Another run wrote the checkpoint.
    LostRace,
}

impl Poller {
    /// A poller delivering through `sink` (and `dead_letter`) with checkpoints in `store`.
    pub fn new(
        sink: Arc<dyn Sink>,
        dead_letter: Arc<dyn DeadLetterStore>,
        store: Arc<dyn CheckpointStore>,
        http: ApiHttp,
        settings: PollSettings,
    ) -> Self {
        Self { sink, dead_letter, store, http, settings }
    }

    /// The sink events go to.
    pub fn sink(&self) -> &dyn Sink {
        self.sink.as_ref()
    }

    /// The dead-letter store.
    pub fn dead_letter(&self) -> &dyn DeadLetterStore {
        self.dead_letter.as_ref()
    }

    /// The checkpoint store.
    pub fn checkpoints(&self) -> &dyn CheckpointStore {
        self.store.as_ref()
    }

    /// The HTTP side: pacing, credentials, retries.
    pub fn http(&self) -> &ApiHttp {
        &self.http
    }

    /// How long a run may last when the runtime gives no deadline (`LOCAL_DEADLINE_SECS`).
    pub fn local_deadline(&self) -> Duration {
        self.settings.local_deadline
    }

    /// Polls every stream at once; each stops by itself (done, behind, busy, failed).
    pub async fn poll(&self, streams: &[Stream], clock: &RunClock) -> RunReport {
        let runs = streams.iter().map(|stream| self.poll_stream(stream, clock));
        RunReport { streams: futures::future::join_all(runs).await }
    }

    /// Polls one stream from where its checkpoint stands until the run's start time or the
    /// deadline.
    pub async fn poll_stream(&self, stream: &Stream, clock: &RunClock) -> StreamReport {
        let id = stream.api.stream_id().to_string();
        let span = tracing::info_span!("stream", stream = %id, run_id = clock.run_id());
        async {
            let mut report = StreamReport::new(&id);
            if let Err(error) = self.run(stream, clock, &mut report).await {
                if matches!(error, PollError::Fetch(FetchError::Unauthorized { .. })) {
                    crate::metrics::emit_credential_rejected(crate::metrics::Rejected::Source(
                        self.settings.source,
                    ));
                }
                report.status = StreamStatus::Failed;
                report.error = Some(error.to_string());
                report.failure = Some(error);
            }
            report.newest_event_time = report.newest_event_ms.map(format_rfc3339_ms);
            match report.status {
                StreamStatus::Failed => tracing::error!(
                    events = report.events,
                    pages = report.pages,
                    error = report.error.as_deref().unwrap_or_default(),
                    "Stream failed."
                ),
                status => tracing::info!(
                    status = ?status,
                    events = report.events,
                    duplicates = report.duplicates,
                    rejected = report.rejected,
                    pages = report.pages,
                    behind = report.behind,
                    newest_event_time = report.newest_event_time.as_deref().unwrap_or_default(),
                    "Stream polled."
                ),
            }
            report
        }
        .instrument(span)
        .await
    }

    async fn run(
        &self,
        stream: &Stream,
        clock: &RunClock,
        report: &mut StreamReport,
    ) -> Result<(), PollError> {
        let id = stream.api.stream_id();
        let stored = self.store.load(id).await?;
        let (mut checkpoint, etag) = match stored {
            Some(stored) => (stored.checkpoint, Some(stored.etag)),
            None => (Checkpoint::new(id), None),
        };
        report.newest_event_ms = checkpoint.newest_event_ms;
        report.watermark_ms = checkpoint.watermark_ms;
        if let Some(lease) = &checkpoint.lease {
            if lease.run_id != clock.run_id && lease.expires_ms > epoch_ms() {
                tracing::info!(holder = lease.run_id, "Another run holds the stream; skipping it.");
                report.status = StreamStatus::Busy;
                return Ok(());
            }
        }
        checkpoint.lease = Some(Lease {
            run_id: clock.run_id.clone(),
            expires_ms: clock.deadline_ms.saturating_add(LEASE_GRACE.as_millis() as i64),
        });
        let mut held = Held { saved: checkpoint.clone(), checkpoint, etag: etag.clone().unwrap_or_default() };
        match self.write(&mut held, etag.as_deref(), clock).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("Another run claimed the stream first; skipping it.");
                report.status = StreamStatus::LostRace;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let result = self.windows(stream, clock, &mut held, report).await;
        if result.is_err() && held.saved.lease.is_some() {
            // Give the stream back (without the progress that failed) so a retry need not wait
            // for the lease to expire.
            let mut released = held.saved.clone();
            released.lease = None;
            held.checkpoint = released;
            let etag = held.etag.clone();
            if let Err(e) = self.write(&mut held, Some(&etag), clock).await {
                tracing::warn!(error = %e, "Could not release the stream.");
            }
        }
        result
    }

    /// Reads windows until the run's start time: a window left by an earlier run first.
    async fn windows(
        &self,
        stream: &Stream,
        clock: &RunClock,
        held: &mut Held,
        report: &mut StreamReport,
    ) -> Result<(), PollError> {
        let mut seen = SeenIds::from_checkpoint(&held.checkpoint.seen);
        loop {
            let pending = held.checkpoint.pending.take();
            let resumed = pending.is_some();
            let from = match pending {
                Some(pending) => pending,
                None => PendingWindow { window: self.fresh_window(&held.checkpoint), resume: None },
            };
            let window = from.window;
            tracing::info!(
                from = %format_rfc3339_ms(window.from_ms),
                to = %format_rfc3339_ms(window.to_ms),
                resumed,
                "Reading window."
            );
            let end = self.window(stream, clock, from, &mut seen, held, report).await?;
            report.watermark_ms = held.checkpoint.watermark_ms;
            match end {
                WindowEnd::Complete if resumed && Instant::now() < clock.stop_paging_at => continue,
                WindowEnd::Complete => {}
                WindowEnd::Stopped(None) => report.status = StreamStatus::Behind,
                WindowEnd::Stopped(Some(error)) => return Err(error),
                WindowEnd::LostRace => {
                    report.status = StreamStatus::LostRace;
                    return Ok(());
                }
            }
            // Release the stream.
            held.checkpoint.lease = None;
            let etag = held.etag.clone();
            if !self.write(held, Some(&etag), clock).await? {
                report.status = StreamStatus::LostRace;
            }
            return Ok(());
        }
    }

    /// The window after the checkpoint's watermark (or the initial lookback), up to now.
    fn fresh_window(&self, checkpoint: &Checkpoint) -> Window {
        let now = epoch_ms();
        let from = match checkpoint.watermark_ms {
            Some(watermark) => watermark.saturating_sub(self.settings.overlap.as_millis() as i64),
            None => now.saturating_sub(self.settings.initial_lookback.as_millis() as i64),
        };
        Window { from_ms: from, to_ms: now.max(from + 1) }
    }

    /// Reads one window from `resume`, delivering and saving every few pages; saves where it
    /// ended (without releasing the stream).
    async fn window(
        &self,
        stream: &Stream,
        clock: &RunClock,
        from: PendingWindow,
        seen: &mut SeenIds,
        held: &mut Held,
        report: &mut StreamReport,
    ) -> Result<WindowEnd, PollError> {
        let PendingWindow { window, mut resume } = from;
        let api = stream.api.as_ref();
        let product = || api.product().to_string();
        // A resume token from an earlier run may have expired: if the API refuses it, the window
        // is read again from its start (ids already seen are still skipped).
        let mut untested_token = resume.is_some();
        let mut delivery = self.delivery(clock);
        let mut last_page: HashSet<String> = HashSet::new();
        let mut pages_since_save = 0u32;
        let mut stop: Option<Option<PollError>> = None;
        loop {
            if Instant::now() >= clock.stop_paging_at {
                stop = Some(None);
                break;
            }
            let url = match api.page_url(window, resume.as_ref()) {
                Ok(url) => url,
                Err(source) => {
                    stop = Some(Some(PollError::Page { product: product(), source }));
                    break;
                }
            };
            let body = match self.http.get(api, &stream.pacer, &url, clock.stop_paging_at).await {
                Ok((body, retries)) => {
                    report.api_retries += u64::from(retries);
                    body
                }
                Err(FetchError::OutOfTime { .. }) => {
                    stop = Some(None);
                    break;
                }
                Err(FetchError::Status { status: 400 | 404 | 410, .. }) if untested_token => {
                    tracing::warn!(
                        "The API refused the saved resume token; reading the window from its start."
                    );
                    untested_token = false;
                    resume = None;
                    continue;
                }
                Err(error) => {
                    stop = Some(Some(error.into()));
                    break;
                }
            };
            untested_token = false;
            let page = match api.parse_page(&body, resume.as_ref()) {
                Ok(page) => page,
                Err(source) => {
                    stop = Some(Some(PollError::Page { product: product(), source }));
                    break;
                }
            };
            report.pages += 1;
            last_page.clear();
            let (items, next) = (page.items, page.next);
            let count = items.len();
            for item in items {
                match item {
                    PageItem::Record(record) => {
                        if seen.contains(&record.id) {
                            report.duplicates += 1;
                            continue;
                        }
                        match self.convert(api, &record) {
                            Ok(event) => {
                                delivery.push(event).await?;
                                report.events += 1;
                            }
                            Err(reason) => {
                                tracing::warn!(record_id = record.id, reason = %reason, "Record dead-lettered.");
                                let reason = format!("{} record {}: {reason}", api.stream_id(), record.id);
                                delivery.reject(record.json.clone(), reason).await?;
                                report.rejected += 1;
                            }
                        }
                        report.newest_event_ms = report.newest_event_ms.max(Some(record.time_ms));
                        last_page.insert(record.id.clone());
                        seen.insert(record.id, record.time_ms);
                    }
                    PageItem::Invalid { raw, reason } => {
                        tracing::warn!(reason = %reason, "Page entry dead-lettered.");
                        delivery.reject(raw, format!("{}: {reason}", api.stream_id())).await?;
                        report.rejected += 1;
                    }
                }
            }
            tracing::info!(page = report.pages, entries = count, more = next.is_some(), "Page read.");
            // A cursor that does not move ends the window (an API answering its last page with
            // the same cursor must not loop).
            if next.is_none() || next == resume {
                break;
            }
            resume = next;
            pages_since_save += 1;
            if pages_since_save >= self.settings.pages_per_checkpoint.max(1) {
                pages_since_save = 0;
                let done = std::mem::replace(&mut delivery, self.delivery(clock));
                report.add_delivery(&done.finish().await?);
                let pending = PendingWindow { window, resume: resume.clone() };
                self.progress(held, seen, window, Some(pending), &last_page, report);
                let etag = held.etag.clone();
                if !self.write(held, Some(&etag), clock).await? {
                    return Ok(WindowEnd::LostRace);
                }
            }
        }
        report.add_delivery(&delivery.finish().await?);
        let (pending, end) = match stop {
            None => (None, WindowEnd::Complete),
            Some(error) => {
                report.behind = true;
                (Some(PendingWindow { window, resume }), WindowEnd::Stopped(error))
            }
        };
        self.progress(held, seen, window, pending, &last_page, report);
        let etag = held.etag.clone();
        if !self.write(held, Some(&etag), clock).await? {
            return Ok(WindowEnd::LostRace);
        }
        Ok(end)
    }

    /// Moves the working checkpoint to what was delivered.
    fn progress(
        &self,
        held: &mut Held,
        seen: &SeenIds,
        window: Window,
        pending: Option<PendingWindow>,
        last_page: &HashSet<String>,
        report: &StreamReport,
    ) {
        let overlap_ms = self.settings.overlap.as_millis() as i64;
        let checkpoint = &mut held.checkpoint;
        checkpoint.seen = seen.retained(window, overlap_ms, pending.is_none(), last_page);
        if pending.is_none() {
            checkpoint.watermark_ms = Some(window.to_ms);
        }
        checkpoint.pending = pending;
        checkpoint.newest_event_ms = report.newest_event_ms;
    }

    /// Writes the working checkpoint over version `expected`; `false` when another run wrote first.
    async fn write(
        &self,
        held: &mut Held,
        expected: Option<&str>,
        clock: &RunClock,
    ) -> Result<bool, CheckpointError> {
        let checkpoint = &mut held.checkpoint;
        checkpoint.generation += 1;
        checkpoint.run_id = clock.run_id.clone();
        checkpoint.updated_ms = epoch_ms();
        let id = checkpoint.stream.clone();
        match self.store.save(&id, checkpoint, expected).await {
            Ok(etag) => {
                held.etag = etag;
                held.saved = held.checkpoint.clone();
                Ok(true)
            }
            Err(CheckpointError::Conflict { location }) => {
                tracing::warn!(
                    checkpoint = location,
                    "Another run changed the checkpoint; stopping this stream."
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn delivery(&self, clock: &RunClock) -> Delivery {
        Delivery::new(
            self.sink.clone(),
            self.dead_letter.clone(),
            &self.settings.delivery,
            self.settings.source,
            Some(clock.deadline),
        )
        .with_format(self.settings.format)
    }

    /// The outbound event of one record in the configured format.
    fn convert(&self, api: &dyn StreamApi, record: &PolledRecord) -> Result<OutboundEvent, ConvertError> {
        encode_polled(self.settings.format, self.settings.include_raw, api, record)
    }
}

pub use crate::timestamp::epoch_ms;
