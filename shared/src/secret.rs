//! Credentials: a redacting string type, and the resolution of `X_SECRET_ARN` variables through
//! AWS Secrets Manager (one fetch per cold start).
//!
//! A secret's `SecretString` is used as is, unless it is a JSON object: then the value under the
//! variable's own name (e.g. `SIEM_TOKEN`) is taken, so one secret can hold several credentials.

use std::fmt;

use async_trait::async_trait;

/// A credential. `Debug` and `Display` print `***`, so it never reaches a log line by accident;
/// the value is read only through [`Secret::expose`], where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for a request header or a signature: never for a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a `X_SECRET_ARN` could not be turned into a credential.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager refused or failed the call.
    #[error("{variable}: could not read secret {secret_id}: {message}")]
    Fetch {
        /// The variable that named the secret (`X_SECRET_ARN`).
        variable: String,
        /// The secret id or ARN.
        secret_id: String,
        /// What the service said (never the secret value).
        message: String,
    },
    /// The secret exists but holds no usable string.
    #[error("{variable}: secret {secret_id} has no string value for {key}")]
    Empty {
        /// The variable that named the secret.
        variable: String,
        /// The secret id or ARN.
        secret_id: String,
        /// The key looked for in a JSON secret.
        key: String,
    },
}

/// Reads secret strings by id or ARN. Implemented for Secrets Manager; tests may use a map.
#[async_trait]
pub trait SecretFetcher: Send + Sync {
    /// The `SecretString` of `secret_id`.
    async fn fetch(&self, secret_id: &str) -> Result<String, String>;
}

#[async_trait]
impl SecretFetcher for aws_sdk_secretsmanager::Client {
    async fn fetch(&self, secret_id: &str) -> Result<String, String> {
        let output = self
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
        output
            .secret_string
            .ok_or_else(|| "secret has no SecretString (binary secrets are not supported)".to_string())
    }
}

/// Resolves the credential named `variable` from the secret `secret_id`: the plain string, or the
/// value under `variable` when the secret is a JSON object.
pub async fn resolve(
    fetcher: &dyn SecretFetcher,
    variable: &str,
    secret_id: &str,
) -> Result<Secret, SecretError> {
    let raw = fetcher.fetch(secret_id).await.map_err(|message| SecretError::Fetch {
        variable: format!("{variable}_SECRET_ARN"),
        secret_id: secret_id.to_string(),
        message,
    })?;
    let value = match serde_json::from_str::<serde_json::Value>(&raw) {
        Ok(serde_json::Value::Object(map)) => {
            map.get(variable).and_then(|v| v.as_str()).map(str::to_string).unwrap_or_default()
        }
        _ => raw.trim().to_string(),
    };
    if value.is_empty() {
        return Err(SecretError::Empty {
            variable: format!("{variable}_SECRET_ARN"),
            secret_id: secret_id.to_string(),
            key: variable.to_string(),
        });
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapFetcher(HashMap<&'static str, &'static str>);

    #[async_trait]
    impl SecretFetcher for MapFetcher {
        async fn fetch(&self, secret_id: &str) -> Result<String, String> {
            self.0
                .get(secret_id)
                .map(|s| s.to_string())
                .ok_or_else(|| "ResourceNotFoundException".to_string())
        }
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("hunter2-token");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "hunter2-token");
    }

    #[tokio::test]
    async fn plain_and_json_secrets_resolve_and_errors_name_the_variable() {
        let fetcher = MapFetcher(HashMap::from([
            ("plain", "  tok-123\n"),
            ("json", r#"{"SIEM_TOKEN":"tok-json","OTHER":"x"}"#),
            ("json-missing", r#"{"OTHER":"x"}"#),
        ]));
        let plain = resolve(&fetcher, "SIEM_TOKEN", "plain").await.unwrap();
        assert_eq!(plain.expose(), "tok-123");
        let json = resolve(&fetcher, "SIEM_TOKEN", "json").await.unwrap();
        assert_eq!(json.expose(), "tok-json");
        let missing = resolve(&fetcher, "SIEM_TOKEN", "json-missing").await.unwrap_err();
        assert!(missing.to_string().contains("SIEM_TOKEN_SECRET_ARN"), "{missing}");
        let absent = resolve(&fetcher, "SIEM_TOKEN", "nope").await.unwrap_err();
        assert!(absent.to_string().contains("ResourceNotFoundException"), "{absent}");
        assert!(!absent.to_string().contains("tok-"), "{absent}");
    }
}
