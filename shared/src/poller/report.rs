//! What a poll run reports: each stream's figures and status, and the run's totals.

use serde::Serialize;

use super::api::PageError;
use super::checkpoint::CheckpointError;
use super::http::FetchError;
use crate::delivery::{DeliveryError, DeliveryReport};

/// How a stream's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Read up to the run's start time.
    Done,
    /// Stopped for the deadline (or a long `Retry-After`) with progress saved; the next run goes on.
    Behind,
    /// Another run holds the stream; nothing was read.
    Busy,
    /// Another run wrote the checkpoint first; this run stopped without overwriting it.
    LostRace,
    /// Stopped by an error (progress before it saved when possible); fails the run.
    Failed,
}

/// Why a stream failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// A page could not be fetched (credential refused, foreign host, API errors).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A page could not be read.
    #[error("{product}: {source}")]
    Page {
        /// The product.
        product: String,
        /// What is wrong.
        source: PageError,
    },
    /// The checkpoint could not be read or written.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Events were neither delivered nor dead-lettered; the checkpoint was not advanced past them.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

impl PollError {
    /// Whether running again soon may succeed (not a refused credential or a foreign host).
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Self::Fetch(FetchError::Unauthorized { .. } | FetchError::ForeignHost { .. })
                | Self::Checkpoint(CheckpointError::Corrupt { .. })
        )
    }
}

/// What one stream's run did.
#[derive(Debug, Serialize)]
pub struct StreamReport {
    /// The stream id.
    pub stream: String,
    /// How it ended.
    pub status: StreamStatus,
    /// Records sent to the delivery engine as events.
    pub events: u64,
    /// Records skipped because an earlier run (or page) delivered them.
    pub duplicates: u64,
    /// Records dead-lettered because they could not be mapped.
    pub rejected: u64,
    /// Pages read.
    pub pages: u64,
    /// Whether the stream stopped before reaching the run's start time.
    pub behind: bool,
    /// The newest record time delivered so far, this run or before (ms).
    pub newest_event_ms: Option<i64>,
    /// The same as RFC 3339.
    pub newest_event_time: Option<String>,
    /// The position every window before is complete up to (ms).
    pub watermark_ms: Option<i64>,
    /// Events the sink accepted.
    pub delivered: u64,
    /// Events written to the dead-letter store.
    pub dead_lettered: u64,
    /// API requests retried (429, 5xx, network).
    pub api_retries: u64,
    /// The delivery engine's figures.
    #[serde(skip)]
    pub delivery: DeliveryReport,
    /// The error's text when `Failed`.
    pub error: Option<String>,
    /// The error when `Failed`.
    #[serde(skip)]
    pub failure: Option<PollError>,
}

impl StreamReport {
    pub(super) fn new(stream: &str) -> Self {
        Self {
            stream: stream.to_string(),
            status: StreamStatus::Done,
            events: 0,
            duplicates: 0,
            rejected: 0,
            pages: 0,
            behind: false,
            newest_event_ms: None,
            newest_event_time: None,
            watermark_ms: None,
            delivered: 0,
            dead_lettered: 0,
            api_retries: 0,
            delivery: DeliveryReport::default(),
            error: None,
            failure: None,
        }
    }

    /// Adds the figures of one delivery (a run delivers after every few pages).
    pub(super) fn add_delivery(&mut self, report: &DeliveryReport) {
        self.delivered += report.delivered;
        self.dead_lettered += report.dead_lettered;
        self.delivery += report;
    }

    /// Seconds from the newest record delivered to now.
    pub fn lag_seconds(&self, now_ms: i64) -> Option<f64> {
        self.newest_event_ms.map(|t| (now_ms - t).max(0) as f64 / 1000.0)
    }
}

/// What one run did, stream by stream.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// One report per stream, in the order given.
    pub streams: Vec<StreamReport>,
}

impl RunReport {
    /// The delivery figures of every stream, summed.
    pub fn delivery(&self) -> DeliveryReport {
        let mut total = DeliveryReport::default();
        for s in &self.streams {
            total += &s.delivery;
        }
        total
    }

    /// Records read and turned into events or dead letters, summed.
    pub fn records(&self) -> u64 {
        self.streams.iter().map(|s| s.events + s.rejected).sum()
    }

    /// Whether any stream is behind.
    pub fn behind(&self) -> bool {
        self.streams.iter().any(|s| s.behind)
    }

    /// The largest lag of the streams that delivered something ever (seconds).
    pub fn max_lag_seconds(&self, now_ms: i64) -> Option<f64> {
        self.streams.iter().filter_map(|s| s.lag_seconds(now_ms)).reduce(f64::max)
    }

    /// The failures, by stream.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &PollError)> {
        self.streams.iter().filter_map(|s| s.failure.as_ref().map(|f| (s.stream.as_str(), f)))
    }
}
