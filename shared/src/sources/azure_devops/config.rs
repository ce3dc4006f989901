//! The `azure-devops-audit` settings (api-contracts.md §7.1): which organizations to poll, where
//! the audit service is, the credential (a PAT with scope `vso.auditlog`, or an Entra ID bearer
//! token), the page size and the request pace.

use url::Url;

use crate::config::{check_endpoint_url, ConfigError, EnvReader};
use crate::secret::Secret;

/// `AZDO_ORGANIZATIONS`: comma-separated organization names.
pub const AZDO_ORGANIZATIONS: &str = "AZDO_ORGANIZATIONS";
/// `AZDO_AUDIT_URL`: the audit service's base URL.
pub const AZDO_AUDIT_URL: &str = "AZDO_AUDIT_URL";
/// `AZDO_PAT`: a personal access token (credential).
pub const AZDO_PAT: &str = "AZDO_PAT";
/// `AZDO_BEARER_TOKEN`: an Entra ID access token (credential).
pub const AZDO_BEARER_TOKEN: &str = "AZDO_BEARER_TOKEN";
/// `AZDO_BATCH_SIZE`: entries asked for per page.
pub const AZDO_BATCH_SIZE: &str = "AZDO_BATCH_SIZE";
/// `AZDO_REQUESTS_PER_MINUTE`: pace of audit log requests, all organizations together.
pub const AZDO_REQUESTS_PER_MINUTE: &str = "AZDO_REQUESTS_PER_MINUTE";

/// The audit service of Azure DevOps Services.
pub const DEFAULT_AUDIT_URL: &str = "https://auditservice.dev.azure.com";
/// Default `batchSize` (the API publishes no maximum; paging goes on by continuation token
/// whatever the server caps it to).
pub const DEFAULT_BATCH_SIZE: u32 = 200;
/// Largest accepted `AZDO_BATCH_SIZE`.
pub const MAX_BATCH_SIZE: u32 = 1000;
/// Default pace. Azure DevOps publishes no request count: it delays, then blocks (429
/// `TF400733`), an identity whose use exceeds 200 times a typical user's in a sliding five
/// minutes, measured in TSTUs. One audit query every 2 s, shared by every organization of the
/// identity, stays far below that and still reads 6,000 entries a minute at the default batch.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 30;

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum AzureDevOpsAuth {
    /// `AZDO_PAT`: basic auth with an empty user name and the PAT as password.
    Pat(Secret),
    /// `AZDO_BEARER_TOKEN`: `Authorization: Bearer` (an Entra ID token for resource
    /// `499b84ac-1321-427f-aa17-267ca6975798`).
    Bearer(Secret),
}

impl AzureDevOpsAuth {
    /// The variable the credential came from.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Pat(_) => AZDO_PAT,
            Self::Bearer(_) => AZDO_BEARER_TOKEN,
        }
    }
}

/// The `azure-devops-audit` settings.
#[derive(Debug, Clone)]
pub struct AzureDevOpsConfig {
    /// `AZDO_ORGANIZATIONS`: organization names (as in `https://dev.azure.com/<name>`), lower
    /// case, each once; one stream each.
    pub organizations: Vec<String>,
    /// `AZDO_AUDIT_URL` (default `https://auditservice.dev.azure.com`; https unless loopback).
    pub audit_url: Url,
    /// `AZDO_PAT` or `AZDO_BEARER_TOKEN` (either may be `..._SECRET_ARN`); exactly one.
    pub auth: AzureDevOpsAuth,
    /// `AZDO_BATCH_SIZE` (default 200; 1 to 1000): `batchSize` of each query.
    pub batch_size: u32,
    /// `AZDO_REQUESTS_PER_MINUTE` (default 30): requests a minute, shared by every organization
    /// (the limits count per identity).
    pub requests_per_minute: u32,
}

impl AzureDevOpsConfig {
    /// Reads the settings (credentials through Secrets Manager when given as `..._SECRET_ARN`).
    pub async fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let organizations = organizations(env)?;
        let audit_url = match env.string(AZDO_AUDIT_URL) {
            Some(raw) => audit_url(&raw)?,
            None => audit_url(DEFAULT_AUDIT_URL)?,
        };
        let auth = match (env.credential(AZDO_PAT).await?, env.credential(AZDO_BEARER_TOKEN).await?) {
            (Some(pat), None) => AzureDevOpsAuth::Pat(pat),
            (None, Some(token)) => AzureDevOpsAuth::Bearer(token),
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    variable: AZDO_BEARER_TOKEN.to_string(),
                    value: "***".to_string(),
                    reason: format!("set only one of {AZDO_PAT} and {AZDO_BEARER_TOKEN}"),
                })
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    variable: AZDO_PAT.to_string(),
                    reason: format!(
                        "(or {AZDO_BEARER_TOKEN}, or either's _SECRET_ARN): a personal access token \
                         with the vso.auditlog scope"
                    ),
                })
            }
        };
        let batch_size: u32 = env.parse_or(AZDO_BATCH_SIZE, DEFAULT_BATCH_SIZE)?;
        if !(1..=MAX_BATCH_SIZE).contains(&batch_size) {
            return Err(invalid(AZDO_BATCH_SIZE, batch_size.to_string(), "must be between 1 and 1000"));
        }
        let requests_per_minute: u32 = env.parse_or(AZDO_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_MINUTE)?;
        if requests_per_minute == 0 {
            return Err(invalid(AZDO_REQUESTS_PER_MINUTE, "0".to_string(), "must be above zero"));
        }
        Ok(Self { organizations, audit_url, auth, batch_size, requests_per_minute })
    }
}

/// `AZDO_ORGANIZATIONS`, checked against Azure DevOps' naming rule (letters, digits and hyphens,
/// starting and ending with a letter or digit, at most 50 characters), so a name is safe in a
/// URL path and a checkpoint key.
fn organizations(env: &EnvReader) -> Result<Vec<String>, ConfigError> {
    let text = env.string(AZDO_ORGANIZATIONS).ok_or_else(|| ConfigError::Missing {
        variable: AZDO_ORGANIZATIONS.to_string(),
        reason: "to name the organizations to poll, e.g. fabrikam,contoso".to_string(),
    })?;
    let mut names: Vec<String> = Vec::new();
    for raw in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let valid = raw.len() <= 50
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !valid {
            return Err(invalid(
                AZDO_ORGANIZATIONS,
                raw.to_string(),
                "expected organization names such as fabrikam (the <name> of https://dev.azure.com/<name>)",
            ));
        }
        let name = raw.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(ConfigError::Missing {
            variable: AZDO_ORGANIZATIONS.to_string(),
            reason: "to name the organizations to poll, e.g. fabrikam,contoso".to_string(),
        });
    }
    Ok(names)
}

/// A base URL: https (http for loopback), with a host, no query or fragment.
fn audit_url(raw: &str) -> Result<Url, ConfigError> {
    let url = check_endpoint_url(raw).map_err(|reason| invalid(AZDO_AUDIT_URL, raw.to_string(), &reason))?;
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base()
    {
        return Err(invalid(
            AZDO_AUDIT_URL,
            raw.to_string(),
            "expected a base URL such as https://auditservice.dev.azure.com",
        ));
    }
    Ok(url)
}

fn invalid(variable: &str, value: String, reason: &str) -> ConfigError {
    ConfigError::Invalid { variable: variable.to_string(), value, reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvReader {
        EnvReader::from_map(vars.iter().copied(), None)
    }

    const PAT: &[(&str, &str)] =
        &[("AZDO_ORGANIZATIONS", "Fabrikam, contoso-eu,fabrikam"), ("AZDO_PAT", "p-1")];

    #[tokio::test]
    async fn defaults_and_one_credential_of_either_kind() {
        let config = AzureDevOpsConfig::load(&env(PAT)).await.unwrap();
        assert_eq!(config.organizations, ["fabrikam", "contoso-eu"]);
        assert_eq!(config.audit_url.as_str(), "https://auditservice.dev.azure.com/");
        assert!(matches!(&config.auth, AzureDevOpsAuth::Pat(p) if p.expose() == "p-1"));
        assert_eq!(config.auth.variable(), "AZDO_PAT");
        assert_eq!(config.batch_size, 200);
        assert_eq!(config.requests_per_minute, 30);
        assert!(!format!("{config:?}").contains("p-1"), "the PAT is never printed");

        let bearer = AzureDevOpsConfig::load(&env(&[
            ("AZDO_ORGANIZATIONS", "fabrikam"),
            ("AZDO_BEARER_TOKEN", "eyJ0"),
            ("AZDO_AUDIT_URL", "http://127.0.0.1:8080/"),
            ("AZDO_BATCH_SIZE", "1000"),
            ("AZDO_REQUESTS_PER_MINUTE", "6"),
        ]))
        .await
        .unwrap();
        assert!(matches!(&bearer.auth, AzureDevOpsAuth::Bearer(t) if t.expose() == "eyJ0"));
        assert_eq!(bearer.audit_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!((bearer.batch_size, bearer.requests_per_minute), (1000, 6));
    }

    #[tokio::test]
    async fn errors_name_the_variable() {
        let with = |extra: &[(&'static str, &'static str)]| [PAT, extra].concat();
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("AZDO_PAT", "p")], "AZDO_ORGANIZATIONS"),
            (vec![("AZDO_ORGANIZATIONS", " , "), ("AZDO_PAT", "p")], "AZDO_ORGANIZATIONS"),
            (
                vec![("AZDO_ORGANIZATIONS", "https://dev.azure.com/fabrikam"), ("AZDO_PAT", "p")],
                "AZDO_ORGANIZATIONS",
            ),
            (vec![("AZDO_ORGANIZATIONS", "-fabrikam"), ("AZDO_PAT", "p")], "AZDO_ORGANIZATIONS"),
            (vec![("AZDO_ORGANIZATIONS", "fabrikam")], "AZDO_PAT"),
            (with(&[("AZDO_BEARER_TOKEN", "t")]), "AZDO_BEARER_TOKEN"),
            (with(&[("AZDO_AUDIT_URL", "http://auditservice.dev.azure.com")]), "AZDO_AUDIT_URL"),
            (with(&[("AZDO_AUDIT_URL", "https://auditservice.dev.azure.com/?x=1")]), "AZDO_AUDIT_URL"),
            (with(&[("AZDO_BATCH_SIZE", "0")]), "AZDO_BATCH_SIZE"),
            (with(&[("AZDO_BATCH_SIZE", "1001")]), "AZDO_BATCH_SIZE"),
            (with(&[("AZDO_REQUESTS_PER_MINUTE", "0")]), "AZDO_REQUESTS_PER_MINUTE"),
            (with(&[("AZDO_REQUESTS_PER_MINUTE", "fast")]), "AZDO_REQUESTS_PER_MINUTE"),
        ];
        for (vars, variable) in cases {
            let error = AzureDevOpsConfig::load(&env(&vars)).await.unwrap_err().to_string();
            assert!(error.starts_with(variable), "{vars:?}: {error}");
            assert!(!error.contains("p-1") && !error.contains(": t"), "no secret in {error}");
        }
    }
}
