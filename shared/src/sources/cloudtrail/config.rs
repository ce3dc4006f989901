//! Settings of the CloudTrail source on top of the shared [`Config`](crate::config::Config): how
//! large one log file and one record may grow when inflated, and the integrity checks of digest
//! files ([`Integrity`], set by `INTEGRITY_BUCKET`).

use std::sync::Arc;

use super::forward::ReadLimits;
use crate::env::{ConfigError, EnvReader};
use crate::integrity::service::Integrity;

/// `MAX_OBJECT_BYTES`: cap on one object's inflated size.
pub const MAX_OBJECT_BYTES: &str = "MAX_OBJECT_BYTES";
/// `MAX_RECORD_BYTES`: cap on one record's size.
pub const MAX_RECORD_BYTES: &str = "MAX_RECORD_BYTES";

/// `MAX_OBJECT_BYTES` when unset: 2 GiB.
const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// `MAX_RECORD_BYTES` when unset: 8 MiB.
const DEFAULT_MAX_RECORD_BYTES: usize = 8 * 1024 * 1024;

/// The CloudTrail source's settings.
#[derive(Clone)]
pub struct CloudtrailConfig {
    /// `MAX_OBJECT_BYTES` (default 2 GiB) and `MAX_RECORD_BYTES` (default 8 MiB).
    pub limits: ReadLimits,
    /// The digest checks and the records of forwarded log files (`None`: digests are skipped).
    pub integrity: Option<Arc<Integrity>>,
}

impl std::fmt::Debug for CloudtrailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudtrailConfig")
            .field("limits", &self.limits)
            .field("integrity", &self.integrity.is_some())
            .finish()
    }
}

impl CloudtrailConfig {
    /// Reads the settings; both caps must be above zero.
    pub fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        Ok(Self {
            limits: ReadLimits {
                max_object_bytes: env.positive(MAX_OBJECT_BYTES)?.unwrap_or(DEFAULT_MAX_OBJECT_BYTES),
                max_record_bytes: env.positive(MAX_RECORD_BYTES)?.unwrap_or(DEFAULT_MAX_RECORD_BYTES),
            },
            integrity: None,
        })
    }

    /// These settings with digests checked by `integrity` (`None`: skipped).
    pub fn with_integrity(mut self, integrity: Option<Integrity>) -> Self {
        self.integrity = integrity.map(Arc::new);
        self
    }
}

impl Default for CloudtrailConfig {
    /// The settings of an environment that sets none of the variables.
    fn default() -> Self {
        Self {
            limits: ReadLimits {
                max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
                max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            },
            integrity: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<CloudtrailConfig, ConfigError> {
        CloudtrailConfig::load(&EnvReader::from_map(vars.iter().copied(), None))
    }

    #[test]
    fn caps_default_and_must_be_above_zero() {
        let limits = load(&[]).unwrap().limits;
        assert_eq!((limits.max_object_bytes, limits.max_record_bytes), (1 << 31, 8 << 20));
        let default = CloudtrailConfig::default().limits;
        assert_eq!((default.max_object_bytes, default.max_record_bytes), (1 << 31, 8 << 20));
        let limits = load(&[("MAX_OBJECT_BYTES", "1000"), ("MAX_RECORD_BYTES", "10")]).unwrap().limits;
        assert_eq!((limits.max_object_bytes, limits.max_record_bytes), (1000, 10));
        for variable in [MAX_OBJECT_BYTES, MAX_RECORD_BYTES] {
            let error = load(&[(variable, "0")]).unwrap_err().to_string();
            assert!(error.starts_with(variable), "{error}");
        }
    }
}
