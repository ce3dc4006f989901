//! The `azure-devops-audit` settings (api-contracts.md §7.1): which organizations to poll, where
//! the audit service is, the credential (`AZDO_AUTH`: a PAT with scope `vso.auditlog`, or a
//! Microsoft Entra ID application by secret, certificate or AWS federation), the page size and
//! the request pace.

use std::sync::Arc;

use url::Url;

use crate::entra::{EntraConfig, EntraTokenSource, ProofKind, AZURE_DEVOPS_SCOPE};
use crate::env::{check_endpoint_url, ConfigError, EnvReader};
use crate::secret::Secret;

/// `AZDO_ORGANIZATIONS`: comma-separated organization names.
pub const AZDO_ORGANIZATIONS: &str = "AZDO_ORGANIZATIONS";
/// `AZDO_AUDIT_URL`: the audit service's base URL.
pub const AZDO_AUDIT_URL: &str = "AZDO_AUDIT_URL";
/// `AZDO_AUTH`: `pat`, `entra_secret`, `entra_certificate` or `entra_federated`.
pub const AZDO_AUTH: &str = "AZDO_AUTH";
/// `AZDO_PAT`: a personal access token (credential).
pub const AZDO_PAT: &str = "AZDO_PAT";
/// No longer read: a static Entra ID token expires within about an hour.
const AZDO_BEARER_TOKEN: &str = "AZDO_BEARER_TOKEN";
/// `AZDO_BATCH_SIZE`: entries asked for per page.
pub const AZDO_BATCH_SIZE: &str = "AZDO_BATCH_SIZE";
/// `AZDO_REQUESTS_PER_MINUTE`: pace of audit log requests, all organizations together.
pub const AZDO_REQUESTS_PER_MINUTE: &str = "AZDO_REQUESTS_PER_MINUTE";

/// The audit service of Azure DevOps Services.
pub(crate) const DEFAULT_AUDIT_URL: &str = "https://auditservice.dev.azure.com";
/// Default `batchSize` (the API publishes no maximum; paging goes on by continuation token
/// whatever the server caps it to).
pub(crate) const DEFAULT_BATCH_SIZE: u32 = 200;
/// Largest accepted `AZDO_BATCH_SIZE`.
pub(crate) const MAX_BATCH_SIZE: u32 = 1000;
/// Default pace. Azure DevOps publishes no request count: it delays, then blocks (429
/// `TF400733`), an identity whose use exceeds 200 times a typical user's in a sliding five
/// minutes, measured in TSTUs. One audit query every 2 s, shared by every organization of the
/// identity, stays far below that and still reads 6,000 entries a minute at the default batch.
pub(crate) const DEFAULT_REQUESTS_PER_MINUTE: u32 = 30;

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum AzureDevOpsAuth {
    /// `AZDO_AUTH=pat`: basic auth with an empty user name and `AZDO_PAT` as password.
    Pat(Secret),
    /// `AZDO_AUTH=entra_*`: `Authorization: Bearer` with an Entra ID token for Azure DevOps
    /// (scope `499b84ac-1321-427f-aa17-267ca6975798/.default`), fetched and renewed by one source
    /// shared by every organization and kept across runs.
    Entra(Arc<EntraTokenSource>),
}

impl AzureDevOpsAuth {
    /// The variable the credential came from.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Pat(_) => AZDO_PAT,
            Self::Entra(source) => source.config().proof_variable(),
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
    /// `AZDO_AUTH` (default `pat`) and its credential.
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
        let auth = auth(env).await?;
        let batch_size: u32 = env.parse_or(AZDO_BATCH_SIZE, DEFAULT_BATCH_SIZE)?;
        if !(1..=MAX_BATCH_SIZE).contains(&batch_size) {
            return Err(ConfigError::invalid(
                AZDO_BATCH_SIZE,
                batch_size.to_string(),
                "must be between 1 and 1000",
            ));
        }
        let requests_per_minute =
            env.positive(AZDO_REQUESTS_PER_MINUTE)?.unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        Ok(Self { organizations, audit_url, auth, batch_size, requests_per_minute })
    }
}

/// `AZDO_AUTH` and the credential it names.
async fn auth(env: &EnvReader) -> Result<AzureDevOpsAuth, ConfigError> {
    if env.string(AZDO_BEARER_TOKEN).is_some()
        || env.string(&format!("{AZDO_BEARER_TOKEN}_SECRET_ARN")).is_some()
    {
        return Err(ConfigError::invalid(
            AZDO_BEARER_TOKEN,
            "***".to_string(),
            "is no longer read: an Entra ID token expires within about an hour; set AZDO_AUTH to \
             entra_secret, entra_certificate or entra_federated so tokens are fetched and renewed",
        ));
    }
    let mode = env.string(AZDO_AUTH).map(|m| m.trim().to_ascii_lowercase());
    let kind = match mode.as_deref() {
        None | Some("pat") => {
            let pat = env.credential(AZDO_PAT).await?.ok_or_else(|| {
                ConfigError::missing(
                    AZDO_PAT,
                    &format!(
                        "(or its _SECRET_ARN): a personal access token of the organization with the \
                     vso.auditlog scope, unless {AZDO_AUTH} names an Entra ID mode"
                    ),
                )
            })?;
            return Ok(AzureDevOpsAuth::Pat(pat));
        }
        Some(other) => ProofKind::from_mode(other).ok_or_else(|| {
            ConfigError::invalid(
                AZDO_AUTH,
                other.to_string(),
                "expected pat, entra_secret, entra_certificate or entra_federated",
            )
        })?,
    };
    let config = EntraConfig::from_env(env, kind).await?;
    let http = crate::poller::api_client().map_err(|e| {
        ConfigError::invalid(AZDO_AUTH, "entra".to_string(), &format!("could not build the HTTP client: {e}"))
    })?;
    let source = EntraTokenSource::new(config, AZURE_DEVOPS_SCOPE, http).map_err(|e| {
        ConfigError::invalid(crate::entra::AZURE_AUTHORITY_HOST, "***".to_string(), &e.to_string())
    })?;
    Ok(AzureDevOpsAuth::Entra(Arc::new(source)))
}

/// `AZDO_ORGANIZATIONS`, checked against Azure DevOps' naming rule (letters, digits and hyphens,
/// starting and ending with a letter or digit, at most 50 characters), so a name is safe in a
/// URL path and a checkpoint key.
fn organizations(env: &EnvReader) -> Result<Vec<String>, ConfigError> {
    let missing = || {
        ConfigError::missing(AZDO_ORGANIZATIONS, "to name the organizations to poll, e.g. fabrikam,contoso")
    };
    let text = env.string(AZDO_ORGANIZATIONS).ok_or_else(missing)?;
    let mut names: Vec<String> = Vec::new();
    for raw in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let valid = raw.len() <= 50
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !valid {
            return Err(ConfigError::invalid(
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
        return Err(missing());
    }
    Ok(names)
}

/// A base URL: https (http for loopback), with a host, no query or fragment.
fn audit_url(raw: &str) -> Result<Url, ConfigError> {
    let url = check_endpoint_url(raw)
        .map_err(|reason| ConfigError::invalid(AZDO_AUDIT_URL, raw.to_string(), &reason))?;
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base()
    {
        return Err(ConfigError::invalid(
            AZDO_AUDIT_URL,
            raw.to_string(),
            "expected a base URL such as https://auditservice.dev.azure.com",
        ));
    }
    Ok(url)
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

        let entra = AzureDevOpsConfig::load(&env(&[
            ("AZDO_ORGANIZATIONS", "fabrikam"),
            ("AZDO_AUTH", "Entra_Secret"),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", CLIENT),
            ("AZURE_CLIENT_SECRET", "cs-1"),
            ("AZDO_AUDIT_URL", "http://127.0.0.1:8080/"),
            ("AZDO_BATCH_SIZE", "1000"),
            ("AZDO_REQUESTS_PER_MINUTE", "6"),
        ]))
        .await
        .unwrap();
        let AzureDevOpsAuth::Entra(source) = &entra.auth else { panic!("{:?}", entra.auth) };
        assert_eq!(
            source.token_url().as_str(),
            format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
        );
        assert_eq!(entra.auth.variable(), "AZURE_CLIENT_SECRET");
        assert!(!format!("{entra:?}").contains("cs-1"), "the secret is never printed");
        assert_eq!(entra.audit_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!((entra.batch_size, entra.requests_per_minute), (1000, 6));
    }

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";

    #[tokio::test]
    async fn each_entra_mode_reads_its_own_credential_and_the_authority() {
        let pem = include_str!("../../entra/fixtures/client-certificate.pem");
        let base =
            [("AZDO_ORGANIZATIONS", "fabrikam"), ("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_ID", CLIENT)];
        let certificate = AzureDevOpsConfig::load(&env(&[
            &base[..],
            &[("AZDO_AUTH", "entra_certificate"), ("AZURE_CLIENT_CERTIFICATE", pem)],
        ]
        .concat()))
        .await
        .unwrap();
        assert_eq!(certificate.auth.variable(), "AZURE_CLIENT_CERTIFICATE");
        let federated = AzureDevOpsConfig::load(&env(&[
            &base[..],
            &[("AZDO_AUTH", "entra_federated"), ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")],
        ]
        .concat()))
        .await
        .unwrap();
        let AzureDevOpsAuth::Entra(source) = &federated.auth else { panic!() };
        assert!(source.token_url().as_str().starts_with("https://login.microsoftonline.us/"));
        assert_eq!(federated.auth.variable(), "AZURE_CLIENT_ID", "no secret to name");

        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("AZDO_AUTH", "entra_secret")], "AZURE_CLIENT_SECRET"),
            (vec![("AZDO_AUTH", "entra_certificate")], "AZURE_CLIENT_CERTIFICATE"),
            (
                vec![("AZDO_AUTH", "entra_certificate"), ("AZURE_CLIENT_CERTIFICATE", "not pem")],
                "AZURE_CLIENT_CERTIFICATE",
            ),
            (
                vec![("AZDO_AUTH", "entra_federated"), ("AZURE_AUTHORITY_HOST", "http://login.example")],
                "AZURE_AUTHORITY_HOST",
            ),
            (vec![("AZDO_AUTH", "entra_federated"), ("AZURE_CLIENT_ID", "my-app")], "AZURE_CLIENT_ID"),
            (vec![("AZDO_AUTH", "entra_federated"), ("AZURE_TENANT_ID", "a/b")], "AZURE_TENANT_ID"),
            (vec![("AZDO_AUTH", "oauth")], "AZDO_AUTH"),
        ];
        for (extra, variable) in cases {
            // `extra` comes after `base`, so its values win.
            let mut vars: Vec<(&str, &str)> = base.to_vec();
            vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
            vars.extend(extra.iter().copied());
            let error = AzureDevOpsConfig::load(&env(&vars)).await.unwrap_err().to_string();
            assert!(error.starts_with(variable), "{vars:?}: {error}");
            assert!(!error.contains("PRIVATE KEY"), "{error}");
        }
        let missing = AzureDevOpsConfig::load(&env(&[
            ("AZDO_ORGANIZATIONS", "fabrikam"),
            ("AZDO_AUTH", "entra_secret"),
        ]))
        .await
        .unwrap_err();
        assert!(missing.to_string().starts_with("AZURE_TENANT_ID"), "{missing}");
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
