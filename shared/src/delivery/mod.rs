//! The delivery engine every sink shares: batches events by the sink's limits, sends batches with
//! bounded concurrency, retries with exponential backoff and full jitter, and dead-letters what
//! cannot be delivered (api-contracts.md §8, §9.1, §10 for the sinks' wire contracts).
//!
//! * Events are encoded straight into the body of the batch being filled (`batch.rs`); a full body
//!   is compressed once (when the sink takes gzip) and sent by its own task. At most
//!   `SINK_CONCURRENCY` batches are in flight: [`Delivery::push`] waits for one to finish before
//!   starting another, so memory holds at most `concurrency + 1` batches.
//! * Connection errors, timeouts and the responses the sink calls retryable (408, 429, 5xx, busy)
//!   are retried up to `SINK_MAX_ATTEMPTS` attempts, waiting a full-jitter backoff or the server's
//!   `Retry-After`, whichever is longer (`retry.rs`). Retries and attempts end a margin before the
//!   invocation deadline so the dead-letter write still fits.
//! * A batch that is refused or runs out of attempts, an event too large for the sink, and a source
//!   record that could not be mapped ([`Delivery::reject`]) go to the dead-letter store. If that
//!   write fails too the events are lost to this invocation: [`DeliveryError::Lost`], so the
//!   invocation fails and is retried; success is never reported for them.

mod batch;
mod retry;
mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::task::JoinSet;

use self::batch::{reframe, Added, Batch, BatchLimits, Sealed};
use self::retry::RetryPolicy;
pub use self::retry::{BACKOFF_BASE, BACKOFF_CAP, DEADLINE_MARGIN, MAX_RETRY_AFTER};
pub use self::settings::DeliverySettings;
use crate::dead_letter::{DeadLetter, DeadLetterStore};
use crate::event::OutboundEvent;
use crate::event::{OutputFormat, Source};
use crate::metrics::InvocationMetrics;
use crate::sinks::{EncodeContext, Encoder, ItemOutcome, Reply, Sink, Verdict};

/// Rejected and oversize events are written to the dead-letter store once they reach this size.
const PENDING_FLUSH_BYTES: usize = 4 * 1024 * 1024;
/// Distinct reasons held before all pending dead letters are written.
const PENDING_MAX_REASONS: usize = 16;
/// Largest buffer preallocated for a batch body.
const MAX_PREALLOCATED_BYTES: usize = 1 << 20;

/// What one engine run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    /// Events the sink accepted.
    pub delivered: u64,
    /// Events written to the dead-letter store.
    pub dead_lettered: u64,
    /// Requests retried.
    pub retries: u64,
    /// Request bodies sent, in bytes as on the wire (every attempt counts).
    pub bytes_sent: u64,
    /// Requests sent (every attempt counts).
    pub requests: u64,
    /// Time spent waiting for the sink's answers, summed over requests, in milliseconds.
    pub sink_millis: u64,
    /// Fields cut to fit the sink's per-field limit (Sentinel's 64 KB), in events delivered as cut.
    pub fields_truncated: u64,
}

impl DeliveryReport {
    /// The invocation metrics of `source` with these figures (records in, skipped and lag are the
    /// caller's to fill).
    pub fn metrics(&self, source: Source) -> InvocationMetrics {
        InvocationMetrics {
            source,
            records_in: 0,
            events_delivered: self.delivered,
            dead_lettered: self.dead_lettered,
            skipped: 0,
            bytes_sent: self.bytes_sent,
            retries: self.retries,
            sink_latency_ms: self.mean_sink_millis(),
            poller_lag_seconds: None,
            fields_truncated: self.fields_truncated,
        }
    }

    /// Mean time of one request to the sink, in milliseconds; `None` when nothing was sent.
    pub fn mean_sink_millis(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.sink_millis as f64 / self.requests as f64)
    }
}

impl std::ops::AddAssign<&DeliveryReport> for DeliveryReport {
    fn add_assign(&mut self, other: &DeliveryReport) {
        self.delivered += other.delivered;
        self.dead_lettered += other.dead_lettered;
        self.retries += other.retries;
        self.bytes_sent += other.bytes_sent;
        self.requests += other.requests;
        self.sink_millis += other.sink_millis;
        self.fields_truncated += other.fields_truncated;
    }
}

/// Why delivery failed in a way that must fail the invocation.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Events could be neither delivered nor dead-lettered.
    #[error("{events} events were neither delivered nor dead-lettered: {reason}")]
    Lost {
        /// How many events.
        events: u64,
        /// Why (sink failure and dead-letter failure).
        reason: String,
    },
}

/// What a run shares with its batch tasks.
struct Shared {
    sink: Arc<dyn Sink>,
    encoder: Arc<dyn Encoder>,
    dead_letter: Arc<dyn DeadLetterStore>,
    policy: RetryPolicy,
    source: Source,
}

/// What one batch task did.
#[derive(Debug, Default)]
struct Outcome {
    report: DeliveryReport,
    lost: Option<(u64, String)>,
}

/// Dead letters waiting to be written: rejected records or oversize events with one reason.
struct Pending {
    reason: String,
    lines: Vec<u8>,
    events: u64,
    times: Option<(i64, i64)>,
}

/// One delivery run, for one invocation or CLI run.
pub struct Delivery {
    shared: Arc<Shared>,
    limits: BatchLimits,
    batch: Batch,
    in_flight: JoinSet<Outcome>,
    in_flight_events: HashMap<tokio::task::Id, u64>,
    concurrency: usize,
    pending: Vec<Pending>,
    pending_bytes: usize,
    report: DeliveryReport,
    lost: Option<(u64, String)>,
}

impl Delivery {
    /// Starts a run for `source`; retries stop a margin before `deadline`.
    pub fn new(
        sink: Arc<dyn Sink>,
        dead_letter: Arc<dyn DeadLetterStore>,
        settings: &DeliverySettings,
        source: Source,
        deadline: Option<Instant>,
    ) -> Self {
        let limits = BatchLimits::new(sink.limits(), settings.batch_max_bytes, settings.batch_max_events);
        let encoder = sink.encoder(EncodeContext { source, format: OutputFormat::Ocsf });
        let policy =
            RetryPolicy::new(settings.max_attempts, settings.request_timeout, deadline, Instant::now());
        let batch = Batch::new(encoder.framing(), limits.max_bytes.min(MAX_PREALLOCATED_BYTES));
        Self {
            shared: Arc::new(Shared { sink, encoder, dead_letter, policy, source }),
            limits,
            batch,
            in_flight: JoinSet::new(),
            in_flight_events: HashMap::new(),
            concurrency: settings.concurrency.max(1),
            pending: Vec::new(),
            pending_bytes: 0,
            report: DeliveryReport::default(),
            lost: None,
        }
    }

    /// Tells the sink the events' format (default OCSF): it picks the Splunk `sourcetype` and the
    /// Datadog `format:` tag. Call before the first [`Delivery::push`].
    pub fn with_format(mut self, format: OutputFormat) -> Self {
        let Shared { sink, dead_letter, policy, source, .. } = self.shared.as_ref();
        let encoder = sink.encoder(EncodeContext { source: *source, format });
        self.shared = Arc::new(Shared {
            sink: sink.clone(),
            encoder,
            dead_letter: dead_letter.clone(),
            policy: policy.clone(),
            source: *source,
        });
        self
    }

    /// Adds one event; sends a batch when it is full (waits when too many are in flight).
    pub async fn push(&mut self, event: OutboundEvent) -> Result<(), DeliveryError> {
        self.check_lost()?;
        loop {
            match self.batch.add(self.shared.encoder.as_ref(), &self.limits, &event) {
                Added::Yes => return Ok(()),
                Added::Full => self.send_batch().await?,
                Added::TooLarge { size, limit } => {
                    let reason = format!(
                        "event of {size} bytes exceeds the {} limit of {limit} bytes per event",
                        self.shared.sink.name()
                    );
                    let time = (event.time_ms > 0).then_some(event.time_ms);
                    return self.hold(event.json, reason, time).await;
                }
            }
        }
    }

    /// Dead-letters one source record that could not be mapped, with the reason. Line breaks in the
    /// record become spaces, so that it stays one line of the dead-letter object.
    pub async fn reject(&mut self, raw: String, reason: String) -> Result<(), DeliveryError> {
        self.check_lost()?;
        let raw = if raw.contains(['\n', '\r']) { raw.replace(['\n', '\r'], " ") } else { raw };
        self.hold(raw, reason, None).await
    }

    /// Sends what is left, waits for every request, writes dead letters, and reports.
    pub async fn finish(mut self) -> Result<DeliveryReport, DeliveryError> {
        if !self.batch.is_empty() && self.lost.is_none() {
            // On error the batch stays unsent and is counted as lost below.
            let _ = self.send_batch().await;
        }
        while let Some(joined) = self.in_flight.join_next_with_id().await {
            self.record(joined);
        }
        if self.lost.is_none() {
            self.flush_pending().await;
        }
        if let Some((events, reason)) = self.lost.take() {
            // Once something is lost the invocation fails and is retried whole: what was not sent
            // or written yet is not written now (it would only be duplicated by the retry).
            let unsent = self.batch.len() as u64 + self.pending.iter().map(|p| p.events).sum::<u64>();
            return Err(DeliveryError::Lost { events: events + unsent, reason });
        }
        self.report.fields_truncated += self.shared.encoder.truncated();
        Ok(self.report)
    }

    fn check_lost(&self) -> Result<(), DeliveryError> {
        match &self.lost {
            Some((events, reason)) => Err(DeliveryError::Lost { events: *events, reason: reason.clone() }),
            None => Ok(()),
        }
    }

    /// Seals the current batch and starts its task, once fewer than `concurrency` are in flight.
    async fn send_batch(&mut self) -> Result<(), DeliveryError> {
        while self.in_flight.len() >= self.concurrency {
            if let Some(joined) = self.in_flight.join_next_with_id().await {
                self.record(joined);
            }
        }
        self.check_lost()?;
        let sealed = self.batch.seal(self.limits.max_bytes.min(MAX_PREALLOCATED_BYTES));
        let events = sealed.records.len() as u64;
        let handle = self.in_flight.spawn(deliver(self.shared.clone(), sealed));
        self.in_flight_events.insert(handle.id(), events);
        Ok(())
    }

    /// Takes in a finished task's outcome.
    fn record(&mut self, joined: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>) {
        let outcome = match joined {
            Ok((id, outcome)) => {
                self.in_flight_events.remove(&id);
                outcome
            }
            Err(e) => {
                let events = self.in_flight_events.remove(&e.id()).unwrap_or(0);
                Outcome { lost: Some((events, format!("batch task failed: {e}"))), ..Outcome::default() }
            }
        };
        self.report += &outcome.report;
        if let Some((events, reason)) = outcome.lost {
            self.add_lost(events, reason);
        }
    }

    fn add_lost(&mut self, events: u64, reason: String) {
        match &mut self.lost {
            Some((total, _)) => *total += events,
            None => self.lost = Some((events, reason)),
        }
    }

    /// Keeps one line for the dead-letter store, writing out what is held when it grows too big
    /// (in bytes, or in distinct reasons).
    async fn hold(&mut self, line: String, reason: String, time: Option<i64>) -> Result<(), DeliveryError> {
        let index = match self.pending.iter().position(|p| p.reason == reason) {
            Some(index) => index,
            None => {
                self.pending.push(Pending { reason, lines: Vec::new(), events: 0, times: None });
                self.pending.len() - 1
            }
        };
        let pending = &mut self.pending[index];
        pending.lines.extend_from_slice(line.as_bytes());
        pending.lines.push(b'\n');
        pending.events += 1;
        if let Some(t) = time {
            let (first, last) = pending.times.unwrap_or((t, t));
            pending.times = Some((first.min(t), last.max(t)));
        }
        self.pending_bytes += line.len() + 1;
        if self.pending_bytes >= PENDING_FLUSH_BYTES || self.pending.len() > PENDING_MAX_REASONS {
            self.flush_pending().await;
        }
        self.check_lost()
    }

    /// Writes every held dead letter.
    async fn flush_pending(&mut self) {
        self.pending_bytes = 0;
        for pending in std::mem::take(&mut self.pending) {
            let letter = DeadLetter {
                source: self.shared.source,
                lines: pending.lines,
                events: pending.events,
                reason: pending.reason,
                sink: self.shared.sink.name().to_string(),
                attempts: 0,
                last_response: None,
                times: pending.times,
            };
            let outcome = dead_letter(&self.shared, letter, None).await;
            self.report += &outcome.report;
            if let Some((events, reason)) = outcome.lost {
                self.add_lost(events, reason);
            }
        }
    }
}

/// Sends one batch until it is delivered, refused, or out of attempts; dead-letters what is left.
async fn deliver(shared: Arc<Shared>, sealed: Sealed) -> Outcome {
    let mut outcome = Outcome::default();
    // A batch the sink finds too large is split; its halves wait here, the first on top.
    let mut parts = vec![sealed];
    while let Some(part) = parts.pop() {
        absorb(&mut outcome, deliver_part(&shared, part, &mut parts).await);
    }
    outcome
}

/// Sends one batch (or part of one); pushes the halves of a batch the sink refuses as too large
/// onto `split`.
async fn deliver_part(shared: &Arc<Shared>, sealed: Sealed, split: &mut Vec<Sealed>) -> Outcome {
    let Sealed { body, records, times } = sealed;
    let framing = shared.encoder.framing();
    let mut outcome = Outcome::default();
    let mut body = Bytes::from(body);
    let mut records = records;
    // Records refused one by one (HEC code 6), dead-lettered together at the end.
    let mut refused = Refused::default();
    let mut attempts = 0u32;
    let failure = 'send: {
        let mut wire = match compress(shared, &body).await {
            Ok(wire) => wire,
            Err(reply) => break 'send Some(("could not compress the body".to_string(), reply)),
        };
        loop {
            let Some(timeout) = shared.policy.attempt_timeout(Instant::now()) else {
                let reply = Reply::local(Verdict::Retry, "not sent");
                break 'send Some((retry::GiveUp::Deadline.to_string(), reply));
            };
            attempts += 1;
            outcome.report.bytes_sent += wire.len() as u64;
            let started = Instant::now();
            let reply = shared.sink.send(wire.clone(), records.len(), timeout).await;
            outcome.report.requests += 1;
            outcome.report.sink_millis += started.elapsed().as_millis() as u64;
            match reply.verdict {
                Verdict::Delivered => {
                    outcome.report.delivered += records.len() as u64;
                    break 'send None;
                }
                Verdict::Reject => {
                    if matches!(reply.status, Some(401 | 403)) {
                        let sink = shared.sink.name();
                        crate::metrics::emit_credential_rejected(crate::metrics::Rejected::Sink(sink));
                        tracing::error!(
                            sink,
                            summary = %reply.summary,
                            "The SIEM refused the credential: {}",
                            shared.sink.credential_hint()
                        );
                    }
                    break 'send Some(("refused by the sink".to_string(), reply));
                }
                Verdict::Partial { accepted } if accepted < records.len() => {
                    // Events before `accepted` were taken and that one is refused for good; the
                    // rest go again, as a new request that is not a retry.
                    outcome.report.delivered += accepted as u64;
                    let original = shared.encoder.original(&body[records[accepted].clone()]);
                    refused.add(&original, format!("event refused by the sink: {}", reply.summary), &reply);
                    if accepted + 1 == records.len() {
                        break 'send None;
                    }
                    let (rest, places) = reframe(framing, &body, &records[accepted + 1..]);
                    body = Bytes::from(rest);
                    records = places;
                    wire = match compress(shared, &body).await {
                        Ok(wire) => wire,
                        Err(reply) => break 'send Some(("could not compress the body".to_string(), reply)),
                    };
                }
                Verdict::Partial { accepted } => {
                    let why = format!("refused by the sink (invalid event {accepted} of {})", records.len());
                    break 'send Some((why, reply));
                }
                Verdict::Items if reply.items.len() == records.len() => {
                    let mut again = Vec::new();
                    for (record, item) in records.iter().zip(&reply.items) {
                        match item {
                            ItemOutcome::Delivered => outcome.report.delivered += 1,
                            ItemOutcome::Retry => again.push(record.clone()),
                            ItemOutcome::Refused(why) => {
                                let original = shared.encoder.original(&body[record.clone()]);
                                refused.add(&original, format!("event refused by the sink: {why}"), &reply);
                            }
                        }
                    }
                    if again.is_empty() {
                        break 'send None;
                    }
                    // Only the records the sink asked for again go again (after the wait below).
                    let (rest, places) = reframe(framing, &body, &again);
                    body = Bytes::from(rest);
                    records = places;
                    if let Err(give_up) = wait_to_resend(shared, attempts, &reply, &mut outcome.report).await
                    {
                        break 'send Some((give_up.to_string(), reply));
                    }
                    wire = match compress(shared, &body).await {
                        Ok(wire) => wire,
                        Err(reply) => break 'send Some(("could not compress the body".to_string(), reply)),
                    };
                }
                Verdict::TooLarge if records.len() > 1 => {
                    // Each half goes as a batch of its own (and is split again if need be).
                    let middle = records.len() / 2;
                    for half in [&records[middle..], &records[..middle]] {
                        let (body, records) = reframe(framing, &body, half);
                        split.push(Sealed { body, records, times: None });
                    }
                    break 'send None;
                }
                Verdict::TooLarge => {
                    break 'send Some(("larger than the sink takes in one request".to_string(), reply));
                }
                Verdict::Retry | Verdict::Items => {
                    if let Err(give_up) = wait_to_resend(shared, attempts, &reply, &mut outcome.report).await
                    {
                        break 'send Some((give_up.to_string(), reply));
                    }
                }
            }
        }
    };
    for group in std::mem::take(&mut refused.groups) {
        let letter = DeadLetter {
            source: shared.source,
            lines: group.lines,
            events: group.events,
            reason: group.reason,
            sink: shared.sink.name().to_string(),
            attempts,
            last_response: Some(group.last_response),
            times: None,
        };
        absorb(&mut outcome, dead_letter(shared, letter, group.status).await);
    }
    if let Some((why, reply)) = failure {
        let mut lines = Vec::with_capacity(body.len());
        for record in &records {
            lines.extend_from_slice(&shared.encoder.original(&body[record.clone()]));
            lines.push(b'\n');
        }
        let letter = DeadLetter {
            source: shared.source,
            lines,
            events: records.len() as u64,
            reason: format!("{why}: {}", reply.summary),
            sink: shared.sink.name().to_string(),
            attempts,
            last_response: Some(reply.summary),
            times,
        };
        absorb(&mut outcome, dead_letter(shared, letter, reply.status).await);
    }
    outcome
}

/// Waits as the retry policy says before sending again after `attempts` attempts, counting the
/// retry; `Err` when the policy gives up (out of attempts or of time).
async fn wait_to_resend(
    shared: &Shared,
    attempts: u32,
    reply: &Reply,
    report: &mut DeliveryReport,
) -> Result<(), retry::GiveUp> {
    let wait = shared.policy.next_wait(attempts, reply.retry_after, Instant::now())?;
    report.retries += 1;
    tokio::time::sleep(wait).await;
    Ok(())
}

/// Records of a batch the sink refused one by one, by reason.
#[derive(Default)]
struct Refused {
    groups: Vec<RefusedGroup>,
}

/// The records refused for one reason.
struct RefusedGroup {
    reason: String,
    lines: Vec<u8>,
    events: u64,
    /// Status and summary of the last response that refused one.
    status: Option<u16>,
    last_response: String,
}

impl Refused {
    fn add(&mut self, original: &[u8], reason: String, reply: &Reply) {
        let index = match self.groups.iter().position(|g| g.reason == reason) {
            Some(index) => index,
            None => {
                self.groups.push(RefusedGroup {
                    reason,
                    lines: Vec::new(),
                    events: 0,
                    status: None,
                    last_response: String::new(),
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        group.lines.extend_from_slice(original);
        group.lines.push(b'\n');
        group.events += 1;
        group.status = reply.status;
        group.last_response.clone_from(&reply.summary);
    }
}

/// Adds a dead-letter write's outcome to a batch's.
fn absorb(outcome: &mut Outcome, part: Outcome) {
    outcome.report += &part.report;
    if let Some((events, reason)) = part.lost {
        let total = outcome.lost.as_ref().map_or(0, |(n, _)| *n) + events;
        let reason = outcome.lost.take().map_or(reason, |(_, first)| first);
        outcome.lost = Some((total, reason));
    }
}

/// Writes one dead letter; its events count as dead-lettered, or as lost when the write fails.
async fn dead_letter(shared: &Shared, letter: DeadLetter, status: Option<u16>) -> Outcome {
    let events = letter.events;
    let attempts = letter.attempts;
    let sink = letter.sink.clone();
    let reason = letter.reason.clone();
    match shared.dead_letter.write(letter).await {
        Ok(location) => {
            tracing::warn!(
                sink,
                status,
                attempts,
                events,
                dlq_key = %location,
                reason = %reason,
                "Events dead-lettered."
            );
            Outcome {
                report: DeliveryReport { dead_lettered: events, ..DeliveryReport::default() },
                lost: None,
            }
        }
        Err(e) => {
            tracing::error!(sink, status, attempts, events, reason = %reason, error = %e, "Events could not be dead-lettered.");
            Outcome {
                report: DeliveryReport::default(),
                lost: Some((events, format!("{reason}; dead-letter write failed: {e}"))),
            }
        }
    }
}

/// The body as sent: gzip-compressed off the async workers when the sink takes gzip.
async fn compress(shared: &Shared, body: &Bytes) -> Result<Bytes, Reply> {
    if !shared.sink.gzip() {
        return Ok(body.clone());
    }
    let body = body.clone();
    match tokio::task::spawn_blocking(move || crate::compress::gzip(&body)).await {
        Ok(Ok(packed)) => Ok(Bytes::from(packed)),
        Ok(Err(e)) => Err(Reply::local(Verdict::Reject, format!("gzip failed: {e}"))),
        Err(e) => Err(Reply::local(Verdict::Reject, format!("gzip task failed: {e}"))),
    }
}

#[cfg(test)]
impl Delivery {
    /// Shorter backoff for tests.
    pub(crate) fn with_backoff(mut self, base: std::time::Duration, cap: std::time::Duration) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.policy.base = base;
            shared.policy.cap = cap;
        }
        self
    }
}

#[cfg(test)]
mod tests;
