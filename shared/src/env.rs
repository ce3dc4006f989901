//! Reading the environment: variables (trimmed, unset and empty alike), typed values, credentials
//! (any credential variable `X` may instead be given as `X_SECRET_ARN`, see [`crate::secret`]) and
//! endpoint URLs, every error naming its variable. Each component reads its own settings with it.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use url::Url;

use crate::secret::{self, Secret, SecretFetcher};

/// Why the configuration was refused. Every variant names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable has a value that does not parse.
    #[error("{variable}: invalid value {value:?}: {reason}")]
    Invalid {
        /// The variable.
        variable: String,
        /// What was given (never a credential).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A variable the chosen setup needs is unset.
    #[error("{variable} is required {reason}")]
    Missing {
        /// The variable.
        variable: String,
        /// For what it is needed.
        reason: String,
    },
    /// A `X_SECRET_ARN` could not be resolved.
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
}

impl ConfigError {
    /// [`ConfigError::Invalid`]: `variable` holds `value` (never a credential: pass "***"), not
    /// what `reason` says.
    pub fn invalid(variable: &str, value: String, reason: &str) -> Self {
        Self::Invalid { variable: variable.to_string(), value, reason: reason.to_string() }
    }

    /// [`ConfigError::Missing`]: `variable` is unset and is required for what `reason` says.
    pub fn missing(variable: &str, reason: &str) -> Self {
        Self::Missing { variable: variable.to_string(), reason: reason.to_string() }
    }
}

/// Reads variables from an environment (the process's, or a map in tests) and resolves credentials.
pub struct EnvReader {
    vars: HashMap<String, String>,
    secrets: Option<Arc<dyn SecretFetcher>>,
}

impl EnvReader {
    /// The process environment, with Secrets Manager (or another fetcher) for `X_SECRET_ARN`.
    pub fn from_process(secrets: Option<Arc<dyn SecretFetcher>>) -> Self {
        Self { vars: std::env::vars().collect(), secrets }
    }

    /// A fixed set of variables (tests, and the CLI's overrides).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        secrets: Option<Arc<dyn SecretFetcher>>,
    ) -> Self {
        Self { vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), secrets }
    }

    /// The trimmed value of `name`; unset and empty are both `None`.
    pub fn string(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// `name` parsed with `FromStr`, or `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.parse(name)?.unwrap_or(default))
    }

    /// `name` parsed with `FromStr`, `None` when unset.
    pub fn parse<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.string(name) {
            None => Ok(None),
            Some(raw) => raw.parse::<T>().map(Some).map_err(|e| ConfigError::Invalid {
                variable: name.to_string(),
                value: raw.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// A boolean: `true/false`, `1/0`, `yes/no`.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.string(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                variable: name.to_string(),
                value: v,
                reason: "expected true or false".to_string(),
            }),
        }
    }

    /// A credential: `name` itself, or the secret named by `name_SECRET_ARN`.
    pub async fn credential(&self, name: &str) -> Result<Option<Secret>, ConfigError> {
        let arn_variable = format!("{name}_SECRET_ARN");
        if let Some(secret_id) = self.string(&arn_variable) {
            let fetcher = self.secrets.as_deref().ok_or_else(|| ConfigError::Missing {
                variable: arn_variable.clone(),
                reason: "to be resolved, but no Secrets Manager client is available".to_string(),
            })?;
            return Ok(Some(secret::resolve(fetcher, name, &secret_id).await?));
        }
        Ok(self.vars.get(name).filter(|v| !v.is_empty()).map(|v| Secret::new(v.as_str())))
    }

    /// A whole number above zero, or `None` when unset.
    pub fn positive<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr + PartialOrd + Default,
        T::Err: fmt::Display,
    {
        match self.parse::<T>(name)? {
            Some(v) if v <= T::default() => {
                Err(ConfigError::invalid(name, self.string(name).unwrap_or_default(), "must be above zero"))
            }
            other => Ok(other),
        }
    }

    /// An endpoint URL: `https`, or plain `http` only for a loopback host.
    pub fn endpoint_url(&self, name: &str) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = self.string(name) else { return Ok(None) };
        check_endpoint_url(&raw).map(Some).map_err(|reason| ConfigError::Invalid {
            variable: name.to_string(),
            value: redact_url(&raw),
            reason,
        })
    }
}

/// `raw` as an error may show it: a URL's user info and query can carry a key, so both are
/// replaced by `***`.
fn redact_url(raw: &str) -> String {
    let (before_query, query) = match raw.split_once('?') {
        Some((before, _)) => (before, "?***"),
        None => (raw, ""),
    };
    let shown = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***{}", &rest[at..]),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    format!("{shown}{query}")
}

/// Accepts `https://…`, and `http://…` only for loopback hosts (tests, a local receiver).
pub(crate) fn check_endpoint_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("plain http is allowed only for loopback hosts; use https".to_string()),
        other => Err(format!("unsupported scheme {other}; use https")),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_hosts() {
        for ok in
            ["http://localhost:1/x", "http://[::1]:2/", "http://127.0.0.1:9/", "https://siem.example.com/"]
        {
            assert!(check_endpoint_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1/", "http://localhost.evil.com/", "file:///etc/passwd"] {
            assert!(check_endpoint_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_trimmed_and_numbers_must_be_above_zero() {
        let env = EnvReader::from_map([("A", "  x "), ("B", ""), ("N", "0"), ("M", "12")], None);
        assert_eq!(env.string("A").as_deref(), Some("x"));
        assert_eq!(env.string("B"), None);
        assert_eq!(env.positive::<u32>("M").unwrap(), Some(12));
        assert_eq!(env.positive::<u32>("unset").unwrap(), None);
        let error = env.positive::<u32>("N").unwrap_err().to_string();
        assert_eq!(error, r#"N: invalid value "0": must be above zero"#);
    }
}
