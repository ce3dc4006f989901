//! The delivery engine's own settings: batch caps, concurrency, request timeout and attempts.

use std::time::Duration;

use crate::env::{ConfigError, EnvReader};

/// `BATCH_MAX_BYTES`: cap on one request's uncompressed body.
pub(crate) const BATCH_MAX_BYTES: &str = "BATCH_MAX_BYTES";
/// `BATCH_MAX_EVENTS`: cap on events in one request.
pub const BATCH_MAX_EVENTS: &str = "BATCH_MAX_EVENTS";
/// `SINK_CONCURRENCY`: requests in flight at once.
pub const SINK_CONCURRENCY: &str = "SINK_CONCURRENCY";
/// `SINK_TIMEOUT_SECS`: timeout of one request.
pub const SINK_TIMEOUT_SECS: &str = "SINK_TIMEOUT_SECS";
/// `SINK_MAX_ATTEMPTS`: attempts per batch before it is dead-lettered.
pub const SINK_MAX_ATTEMPTS: &str = "SINK_MAX_ATTEMPTS";

/// Batching, concurrency and retry settings of the delivery engine.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `BATCH_MAX_BYTES`: uncompressed body cap; the sink's own limit applies when lower.
    pub batch_max_bytes: Option<usize>,
    /// `BATCH_MAX_EVENTS`: events per request cap; the sink's own limit applies when lower.
    pub batch_max_events: Option<usize>,
    /// `SINK_CONCURRENCY`: requests in flight at once (default 4).
    pub concurrency: usize,
    /// `SINK_TIMEOUT_SECS`: timeout of one request (default 30 s).
    pub request_timeout: Duration,
    /// `SINK_MAX_ATTEMPTS`: attempts per batch before dead-lettering (default 6).
    pub max_attempts: u32,
}

impl DeliverySettings {
    /// Reads the settings; every number must be above zero.
    pub fn from_env(env: &EnvReader) -> Result<Self, ConfigError> {
        Ok(Self {
            batch_max_bytes: env.positive(BATCH_MAX_BYTES)?,
            batch_max_events: env.positive(BATCH_MAX_EVENTS)?,
            concurrency: env.positive(SINK_CONCURRENCY)?.unwrap_or(4),
            request_timeout: Duration::from_secs(env.positive::<u64>(SINK_TIMEOUT_SECS)?.unwrap_or(30)),
            max_attempts: env.positive(SINK_MAX_ATTEMPTS)?.unwrap_or(6),
        })
    }
}
