//! The settings every function shares, read and validated once per cold start: the sink (which
//! reads its own settings, see [`crate::sinks`]), the output format, the delivery engine's and the
//! dead-letter store's settings, and how long an invocation may run. Each source reads its own
//! settings beside these.

use std::sync::Arc;
use std::time::Duration;

use crate::dead_letter::DeadLetterConfig;
use crate::delivery::DeliverySettings;
use crate::env::{ConfigError, EnvReader};
use crate::event::OutputFormat;
use crate::sinks::{self, SinkSettings};

/// `SIEM_FORMAT`: `ocsf`, `raw` or `udm`.
pub const SIEM_FORMAT: &str = "SIEM_FORMAT";
/// `INCLUDE_RAW`: copy the source record into OCSF `raw_data`.
pub const INCLUDE_RAW: &str = "INCLUDE_RAW";
/// `LOCAL_DEADLINE_SECS`: how long an invocation may run when the runtime gives no deadline.
pub const LOCAL_DEADLINE_SECS: &str = "LOCAL_DEADLINE_SECS";

/// The settings every function shares.
#[derive(Debug, Clone)]
pub struct Config {
    /// The sink chosen by `SIEM_TYPE`, with its own settings.
    pub sink: Arc<dyn SinkSettings>,
    /// `SIEM_FORMAT` (default `ocsf`, or the sink's own default).
    pub format: OutputFormat,
    /// Delivery engine settings.
    pub delivery: DeliverySettings,
    /// Dead-letter store.
    pub dead_letter: DeadLetterConfig,
    /// `INCLUDE_RAW` (default false): put the source record in OCSF `raw_data`.
    pub include_raw: bool,
    /// `LOCAL_DEADLINE_SECS` (default 900): how long an invocation may run when the runtime gives
    /// no deadline in the future (local runtimes such as `cargo lambda watch`; see [`crate::deadline`]).
    pub local_deadline: Duration,
}

impl Config {
    /// Reads and validates the shared settings.
    pub async fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let sink = sinks::load(env).await?;
        let chosen = env.parse::<OutputFormat>(SIEM_FORMAT)?;
        let format = sink.format(chosen).map_err(|reason| {
            ConfigError::invalid(SIEM_FORMAT, env.string(SIEM_FORMAT).unwrap_or_default(), reason)
        })?;
        Ok(Self {
            sink,
            format,
            delivery: DeliverySettings::from_env(env)?,
            dead_letter: DeadLetterConfig::from_env(env),
            include_raw: env.bool_or(INCLUDE_RAW, false)?,
            local_deadline: env
                .positive::<u64>(LOCAL_DEADLINE_SECS)?
                .map_or(crate::deadline::DEFAULT_LOCAL_DEADLINE, Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvReader {
        EnvReader::from_map(vars.iter().copied(), None)
    }

    #[tokio::test]
    async fn defaults_to_stdout_ocsf() {
        let config = Config::load(&env(&[])).await.unwrap();
        assert_eq!(config.sink.name(), "stdout");
        assert_eq!(config.format, OutputFormat::Ocsf);
        assert_eq!(config.dead_letter.prefix, "dlq/");
        assert_eq!(config.delivery.concurrency, 4);
        assert!(!config.include_raw);
    }

    #[tokio::test]
    async fn errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("SIEM_TYPE", "kafka")], "SIEM_TYPE"),
            (&[("SIEM_TYPE", "splunk_hec")], "SIEM_URL"),
            (
                &[
                    ("SIEM_TYPE", "splunk_hec"),
                    ("SIEM_URL", "https://hec.example.com/services/collector/event"),
                ],
                "SIEM_TOKEN",
            ),
            (&[("SIEM_TYPE", "http"), ("SIEM_URL", "http://siem.example.com/in")], "SIEM_URL"),
            (&[("SIEM_URL", "ftp://127.0.0.1/")], "SIEM_URL"),
            (&[("BATCH_MAX_BYTES", "-1")], "BATCH_MAX_BYTES"),
            (&[("BATCH_MAX_EVENTS", "0")], "BATCH_MAX_EVENTS"),
            (&[("INCLUDE_RAW", "maybe")], "INCLUDE_RAW"),
            (&[("SIEM_FORMAT", "cef")], "SIEM_FORMAT"),
            (
                &[
                    ("SIEM_TYPE", "http"),
                    ("SIEM_URL", "https://siem.example.com/in"),
                    ("SIEM_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x"),
                ],
                "SIEM_TOKEN_SECRET_ARN",
            ),
            (
                &[
                    ("SIEM_TYPE", "secops_webhook"),
                    ("SIEM_URL", "https://x.example.com/"),
                    ("SIEM_TOKEN", "k"),
                ],
                "SIEM_WEBHOOK_SECRET",
            ),
        ];
        for (vars, variable) in cases {
            let err = Config::load(&env(vars)).await.unwrap_err().to_string();
            assert!(err.starts_with(variable), "{vars:?}: {err}");
        }
    }

    #[tokio::test]
    async fn tokens_stay_redacted() {
        let config = Config::load(&env(&[
            ("SIEM_TYPE", "splunk_hec"),
            ("SIEM_URL", "http://127.0.0.1:8088/services/collector/event"),
            ("SIEM_TOKEN", "super-secret-hec-token"),
        ]))
        .await
        .unwrap();
        assert_eq!(config.sink.name(), "splunk_hec");
        assert!(!format!("{config:?}").contains("super-secret-hec-token"));
    }

    #[tokio::test]
    async fn a_refused_url_is_shown_without_its_user_info_or_query() {
        let cases = [
            ("http://siem.example.com/in?api_key=k-123&x=1", "http://siem.example.com/in?***"),
            ("ftp://user:pw-456@siem.example.com/a@b", "ftp://***@siem.example.com/a@b"),
            ("https://u:p@[bad/x?k=1", "https://***@[bad/x?***"),
            ("not a url ?key=k-789", "not a url ?***"),
        ];
        for (raw, shown) in cases {
            let error = Config::load(&env(&[("SIEM_TYPE", "http"), ("SIEM_URL", raw)])).await.unwrap_err();
            assert_eq!(error.to_string().split('"').nth(1), Some(shown), "{error}");
        }
    }
}
