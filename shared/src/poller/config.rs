//! Settings every scheduled source shares: where checkpoints live, how far back the first run
//! reads, and how much each query re-reads.

use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::{CheckpointStore, DirCheckpointStore, S3CheckpointStore};
use crate::env::{ConfigError, EnvReader};
use crate::event::Source;

/// `CHECKPOINT_BUCKET`: the bucket holding checkpoints.
pub const CHECKPOINT_BUCKET: &str = "CHECKPOINT_BUCKET";
/// `CHECKPOINT_PREFIX`: key prefix of checkpoints.
pub const CHECKPOINT_PREFIX: &str = "CHECKPOINT_PREFIX";
/// `CHECKPOINT_DIR`: a local directory instead of a bucket (CLI use).
pub const CHECKPOINT_DIR: &str = "CHECKPOINT_DIR";
/// `INITIAL_LOOKBACK_HOURS`: how far back a stream's first run starts.
pub const INITIAL_LOOKBACK_HOURS: &str = "INITIAL_LOOKBACK_HOURS";
/// `OVERLAP_MINUTES`: how much of the last window each query reads again.
pub const OVERLAP_MINUTES: &str = "OVERLAP_MINUTES";

/// Where checkpoints are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointLocation {
    /// `CHECKPOINT_BUCKET` and `CHECKPOINT_PREFIX` (default `checkpoints/`).
    Bucket {
        /// The bucket.
        bucket: String,
        /// The prefix; objects are `<prefix><source>/<stream>.json`.
        prefix: String,
    },
    /// `CHECKPOINT_DIR`: files `<dir>/<source>/<stream>.json`.
    Dir(String),
}

/// The shared poller settings.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// `CHECKPOINT_BUCKET` (+ `CHECKPOINT_PREFIX`), or `CHECKPOINT_DIR`; one is required.
    pub checkpoints: CheckpointLocation,
    /// `INITIAL_LOOKBACK_HOURS` (default 24): where a stream's first run starts.
    pub initial_lookback: Duration,
    /// `OVERLAP_MINUTES` (default 5): each query starts this long before the last one ended, for
    /// events that appear late; those already delivered are recognised by id and not sent again.
    pub overlap: Duration,
}

impl PollerConfig {
    /// Reads the settings; a bad value names its variable.
    pub fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let checkpoints = match (env.string(CHECKPOINT_BUCKET), env.string(CHECKPOINT_DIR)) {
            (Some(bucket), _) => CheckpointLocation::Bucket {
                bucket,
                prefix: env.string(CHECKPOINT_PREFIX).unwrap_or_else(|| "checkpoints/".to_string()),
            },
            (None, Some(dir)) => CheckpointLocation::Dir(dir),
            (None, None) => {
                return Err(ConfigError::missing(
                    CHECKPOINT_BUCKET,
                    &format!("(or {CHECKPOINT_DIR} for local runs) to keep each stream's position"),
                ))
            }
        };
        let hours: u64 = env.parse_or(INITIAL_LOOKBACK_HOURS, 24)?;
        if hours == 0 || hours > 24 * 366 {
            return Err(invalid(env, INITIAL_LOOKBACK_HOURS, "must be between 1 and 8784 hours"));
        }
        let minutes: u64 = env.parse_or(OVERLAP_MINUTES, 5)?;
        if minutes > 24 * 60 {
            return Err(invalid(env, OVERLAP_MINUTES, "must be at most 1440 minutes"));
        }
        Ok(Self {
            checkpoints,
            initial_lookback: Duration::from_secs(hours * 3600),
            overlap: Duration::from_secs(minutes * 60),
        })
    }

    /// The checkpoint store of `source` (`s3` is used for a bucket).
    pub fn store(&self, source: Source, s3: &aws_sdk_s3::Client) -> Arc<dyn CheckpointStore> {
        match &self.checkpoints {
            CheckpointLocation::Bucket { bucket, prefix } => {
                Arc::new(S3CheckpointStore::new(s3.clone(), bucket.clone(), format!("{prefix}{source}/")))
            }
            CheckpointLocation::Dir(dir) => {
                Arc::new(DirCheckpointStore::new(std::path::Path::new(dir).join(source.as_str())))
            }
        }
    }
}

fn invalid(env: &EnvReader, variable: &str, reason: &str) -> ConfigError {
    ConfigError::invalid(variable, env.string(variable).unwrap_or_default(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvReader {
        EnvReader::from_map(vars.iter().copied(), None)
    }

    #[test]
    fn defaults_and_errors_name_the_variable() {
        let config = PollerConfig::load(&env(&[("CHECKPOINT_BUCKET", "state")])).unwrap();
        assert_eq!(
            config.checkpoints,
            CheckpointLocation::Bucket { bucket: "state".into(), prefix: "checkpoints/".into() }
        );
        assert_eq!(config.initial_lookback, Duration::from_secs(24 * 3600));
        assert_eq!(config.overlap, Duration::from_secs(300));
        let local =
            PollerConfig::load(&env(&[("CHECKPOINT_DIR", "/tmp/cp"), ("OVERLAP_MINUTES", "0")])).unwrap();
        assert_eq!(local.checkpoints, CheckpointLocation::Dir("/tmp/cp".into()));
        assert_eq!(local.overlap, Duration::ZERO);

        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "CHECKPOINT_BUCKET"),
            (&[("CHECKPOINT_BUCKET", "b"), ("INITIAL_LOOKBACK_HOURS", "0")], "INITIAL_LOOKBACK_HOURS"),
            (&[("CHECKPOINT_BUCKET", "b"), ("INITIAL_LOOKBACK_HOURS", "-3")], "INITIAL_LOOKBACK_HOURS"),
            (&[("CHECKPOINT_BUCKET", "b"), ("OVERLAP_MINUTES", "5m")], "OVERLAP_MINUTES"),
            (&[("CHECKPOINT_BUCKET", "b"), ("OVERLAP_MINUTES", "1441")], "OVERLAP_MINUTES"),
        ];
        for (vars, variable) in cases {
            let error = PollerConfig::load(&env(vars)).unwrap_err().to_string();
            assert!(error.starts_with(variable), "{vars:?}: {error}");
        }
    }
}
