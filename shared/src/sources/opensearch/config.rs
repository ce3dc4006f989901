//! Settings of the OpenSearch source on top of the shared [`Config`](crate::config::Config): which
//! request headers are dropped and the region the `cloud` profile names (api-contracts.md §4).

use crate::aws::AWS_REGION;
use crate::env::{ConfigError, EnvReader};

/// `REDACT_HEADERS`: extra request headers to drop, comma-separated, case-insensitive.
pub const REDACT_HEADERS: &str = "REDACT_HEADERS";

/// Headers that carry credentials and are always dropped, lower case.
pub(crate) const ALWAYS_REDACTED: [&str; 4] =
    ["authorization", "proxy-authorization", "cookie", "x-amz-security-token"];

/// The request headers never copied into an event, raw or mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactHeaders {
    /// Lower-case names: [`ALWAYS_REDACTED`] and those of `REDACT_HEADERS`.
    names: Vec<String>,
}

impl Default for RedactHeaders {
    fn default() -> Self {
        Self { names: ALWAYS_REDACTED.iter().map(|n| (*n).to_owned()).collect() }
    }
}

impl RedactHeaders {
    /// [`ALWAYS_REDACTED`] plus the comma-separated `extra` names.
    pub fn with_extra(extra: &str) -> Result<Self, String> {
        let mut headers = Self::default();
        for name in extra.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !name.bytes().all(|b| b.is_ascii_graphic() && !b"\"():;,/<=>?@[\\]{}".contains(&b)) {
                return Err(format!("{name:?} is not an HTTP header name"));
            }
            let lower = name.to_ascii_lowercase();
            if !headers.names.contains(&lower) {
                headers.names.push(lower);
            }
        }
        Ok(headers)
    }

    /// Whether header `name` is dropped.
    pub fn contains(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// The dropped names, lower case.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// Configuration of the `opensearch-audit` function and of `audit-relay … --source opensearch`.
#[derive(Debug, Clone, Default)]
pub struct OpensearchConfig {
    /// `AWS_REGION`: `cloud.region` of every event; omitted when unset.
    pub region: Option<String>,
    /// `REDACT_HEADERS` (plus `Authorization`, `Proxy-Authorization`, `Cookie`,
    /// `X-Amz-Security-Token`, always): headers removed from `audit_rest_request_headers`,
    /// `audit_transport_headers` and from any raw text sent.
    pub redact_headers: RedactHeaders,
}

impl OpensearchConfig {
    /// Reads the source's variables.
    pub fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let redact_headers = match env.string(REDACT_HEADERS) {
            None => RedactHeaders::default(),
            Some(raw) => RedactHeaders::with_extra(&raw).map_err(|reason| ConfigError::Invalid {
                variable: REDACT_HEADERS.to_owned(),
                value: raw.clone(),
                reason,
            })?,
        };
        Ok(Self { region: env.string(AWS_REGION), redact_headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<OpensearchConfig, ConfigError> {
        OpensearchConfig::load(&EnvReader::from_map(vars.iter().copied(), None))
    }

    #[test]
    fn defaults_drop_only_credential_headers_and_name_no_region() {
        let config = load(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.region, None);
        assert_eq!(
            config.redact_headers.names(),
            ["authorization", "proxy-authorization", "cookie", "x-amz-security-token"]
        );
        assert!(config.redact_headers.contains("AUTHORIZATION"));
        assert!(!config.redact_headers.contains("Host"));
    }

    #[test]
    fn redact_headers_adds_names_case_insensitively_and_refuses_bad_ones() {
        let config =
            load(&[("REDACT_HEADERS", " X-Api-Key, x-forwarded-for,,cookie "), ("AWS_REGION", "eu-west-1")])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.region.as_deref(), Some("eu-west-1"));
        assert!(config.redact_headers.contains("x-api-key"));
        assert!(config.redact_headers.contains("X-Forwarded-For"));
        assert_eq!(config.redact_headers.names().len(), 6, "cookie is not added twice");
        let error = load(&[("REDACT_HEADERS", "X-Key, bad header")]).map(|_| ()).unwrap_err().to_string();
        assert!(error.starts_with("REDACT_HEADERS: invalid value"), "{error}");
        assert!(error.contains("\"bad header\" is not an HTTP header name"), "{error}");
    }
}
