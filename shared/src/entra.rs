//! Microsoft Entra ID access tokens by the OAuth 2.0 client credentials grant, for any Azure client
//! (the Azure DevOps poller; a Sentinel sink asks the same with another scope).
//!
//! `POST {AZURE_AUTHORITY_HOST}/{AZURE_TENANT_ID}/oauth2/v2.0/token` with `grant_type=
//! client_credentials`, `client_id`, `scope`, and the client's proof:
//!
//! * a secret ([`ClientProof::Secret`]): `client_secret`;
//! * a certificate ([`ClientProof::Certificate`]): `client_assertion`, a JWT signed RS256 with the certificate's
//!   key, header `x5t#S256` (the certificate's SHA-256 thumbprint), `aud` the token endpoint,
//!   `iss` = `sub` = the client id, a fresh `jti`, ten minutes of life;
//! * federation ([`ClientProof::Federated`]): `client_assertion`, an OIDC token AWS STS `GetWebIdentityToken`
//!   signs for the function's role (audience `api://AzureADTokenExchange`): no secret exists.
//!
//! The token is shared by every request and kept until [`REFRESH_MARGIN`] before its
//! `expires_in`; [`EntraTokenSource::invalidate`] drops it after a 401 so the next request gets a
//! new one. Tokens, secrets and assertions never reach a log line or an error; errors name the
//! tenant and the client id.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use crate::env::{check_endpoint_url, ConfigError, EnvReader};
use crate::secret::Secret;

/// `AZURE_TENANT_ID`: the directory (tenant) id, or a verified domain of it.
pub const AZURE_TENANT_ID: &str = "AZURE_TENANT_ID";
/// `AZURE_CLIENT_ID`: the application (client) id.
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";
/// `AZURE_CLIENT_SECRET`: a client secret (credential).
pub const AZURE_CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
/// `AZURE_CLIENT_CERTIFICATE`: PEM with the private key and the certificate (credential).
pub(crate) const AZURE_CLIENT_CERTIFICATE: &str = "AZURE_CLIENT_CERTIFICATE";
/// `AZURE_AUTHORITY_HOST`: the Entra ID authority.
pub const AZURE_AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// Which proof an application uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// `AZURE_CLIENT_SECRET`.
    Secret,
    /// `AZURE_CLIENT_CERTIFICATE`.
    Certificate,
    /// AWS STS `GetWebIdentityToken`.
    Federated,
}

impl ProofKind {
    /// The mode a setting names: `entra_secret`, `entra_certificate` or `entra_federated` (any
    /// case); `None` for anything else.
    pub fn from_mode(mode: &str) -> Option<Self> {
        match mode.trim().to_ascii_lowercase().as_str() {
            "entra_secret" => Some(Self::Secret),
            "entra_certificate" => Some(Self::Certificate),
            "entra_federated" => Some(Self::Federated),
            _ => None,
        }
    }
}

/// The scope of Azure DevOps (its resource id, `.default`: the permissions granted to the app).
pub const AZURE_DEVOPS_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";
/// The public cloud's authority (`AZURE_AUTHORITY_HOST` default).
pub(crate) const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The audience Entra ID expects of a federated credential's token.
pub(crate) const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
/// `client_assertion_type` of a JWT client assertion (RFC 7523).
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long before its expiry a token is replaced.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Lifetime of a certificate assertion, and of the STS token asked for.
const ASSERTION_SECONDS: u64 = 600;
/// How long one token request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Lifetime assumed when the answer gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// How the application proves it is itself.
#[derive(Clone)]
pub enum ClientProof {
    /// `AZURE_CLIENT_SECRET`.
    Secret(Secret),
    /// `AZURE_CLIENT_CERTIFICATE`: the certificate's key and thumbprint.
    Certificate(Arc<CertificateKey>),
    /// A token from AWS STS `GetWebIdentityToken` (no secret).
    Federated,
}

impl fmt::Debug for ClientProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Secret(_) => "Secret(***)",
            Self::Certificate(_) => "Certificate(***)",
            Self::Federated => "Federated",
        })
    }
}

/// The private key of a certificate credential and the certificate's `x5t#S256`.
pub struct CertificateKey {
    key: EncodingKey,
    thumbprint_s256: String,
}

impl CertificateKey {
    /// From PEM holding the RSA private key and the certificate (in either order, as Azure's
    /// `AZURE_CLIENT_CERTIFICATE_PATH` files do). The error never quotes the PEM.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use rustls_pki_types::pem::PemObject as _;
        use rustls_pki_types::CertificateDer;
        let certificate = CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .ok_or("no CERTIFICATE block")?
            .map_err(|_| "the CERTIFICATE block is not valid PEM")?;
        let key_block = private_key_block(pem).ok_or("no PRIVATE KEY block")?;
        let key = EncodingKey::from_rsa_pem(key_block.as_bytes())
            .map_err(|_| "the private key is not an RSA key in PEM (PKCS#1 or PKCS#8)")?;
        let thumbprint_s256 = base64_url(&Sha256::digest(certificate.as_ref()));
        Ok(Self { key, thumbprint_s256 })
    }

    /// The certificate's SHA-256 thumbprint, base64url (the `x5t#S256` header).
    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }
}

/// The `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` block of a PEM text.
fn private_key_block(pem: &str) -> Option<&str> {
    let (begin, _) = pem
        .match_indices("-----BEGIN")
        .find(|&(at, _)| pem[at..].lines().next().is_some_and(|line| line.contains("PRIVATE KEY")))?;
    let rest = &pem[begin..];
    let end_marker = rest.find("-----END")?;
    let line_end = rest[end_marker..].find('\n').map_or(rest.len(), |n| end_marker + n);
    Some(&rest[..line_end])
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Who asks for tokens, and where.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// `AZURE_AUTHORITY_HOST` (https unless loopback).
    pub authority_host: Url,
    /// The proof.
    pub proof: ClientProof,
}

impl EntraConfig {
    /// Reads `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_AUTHORITY_HOST` and the proof's
    /// credential (through Secrets Manager when given as `..._SECRET_ARN`).
    pub async fn from_env(env: &EnvReader, kind: ProofKind) -> Result<Self, ConfigError> {
        let tenant_id = required(env, AZURE_TENANT_ID, "the directory (tenant) id of the app registration")?;
        if !tenant_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Err(ConfigError::invalid(
                AZURE_TENANT_ID,
                tenant_id,
                "expected a tenant id (a GUID) or one of its domains",
            ));
        }
        let client_id =
            required(env, AZURE_CLIENT_ID, "the application (client) id of the app registration")?;
        if uuid::Uuid::parse_str(&client_id).is_err() {
            return Err(ConfigError::invalid(
                AZURE_CLIENT_ID,
                client_id,
                "expected the application (client) id, a GUID",
            ));
        }
        let raw_host = env.string(AZURE_AUTHORITY_HOST).unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());
        let authority_host = check_endpoint_url(&raw_host)
            .ok()
            .filter(|url| url.host_str().is_some() && url.query().is_none() && !url.cannot_be_a_base())
            .ok_or_else(|| ConfigError::invalid(AZURE_AUTHORITY_HOST, raw_host.clone(), "expected an https URL such as https://login.microsoftonline.com (http only for loopback)"))?;
        let proof = match kind {
            ProofKind::Secret => {
                ClientProof::Secret(env.credential(AZURE_CLIENT_SECRET).await?.ok_or_else(|| {
                    ConfigError::missing(
                        AZURE_CLIENT_SECRET,
                        "(or its _SECRET_ARN): a client secret of the app registration",
                    )
                })?)
            }
            ProofKind::Certificate => {
                let pem = env.credential(AZURE_CLIENT_CERTIFICATE).await?.ok_or_else(|| ConfigError::missing(AZURE_CLIENT_CERTIFICATE, "(or its _SECRET_ARN): PEM with the private key and the certificate uploaded to the app registration"))?;
                let key = CertificateKey::from_pem(pem.expose()).map_err(|reason| {
                    ConfigError::invalid(AZURE_CLIENT_CERTIFICATE, "***".to_owned(), &reason)
                })?;
                ClientProof::Certificate(Arc::new(key))
            }
            ProofKind::Federated => ClientProof::Federated,
        };
        Ok(Self { tenant_id, client_id, authority_host, proof })
    }

    /// The proof, in words (`client secret`, `certificate`, `federated`).
    pub fn proof_name(&self) -> &'static str {
        match self.proof {
            ClientProof::Secret(_) => "client secret",
            ClientProof::Certificate(_) => "certificate",
            ClientProof::Federated => "federated",
        }
    }

    /// The variable that holds the proof (what to fix when Entra ID refuses it).
    pub fn proof_variable(&self) -> &'static str {
        match self.proof {
            ClientProof::Secret(_) => AZURE_CLIENT_SECRET,
            ClientProof::Certificate(_) => AZURE_CLIENT_CERTIFICATE,
            ClientProof::Federated => AZURE_CLIENT_ID,
        }
    }

    /// The token endpoint: `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Result<Url, EntraError> {
        let mut url = self.authority_host.clone();
        url.path_segments_mut()
            .map_err(|()| self.error(EntraErrorKind::Config, "AZURE_AUTHORITY_HOST cannot be a base URL"))?
            .pop_if_empty()
            .extend([self.tenant_id.as_str(), "oauth2", "v2.0", "token"]);
        Ok(url)
    }

    fn error(&self, kind: EntraErrorKind, reason: impl Into<String>) -> EntraError {
        EntraError {
            kind,
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            reason: reason.into(),
        }
    }
}

/// What kind of failure a token request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraErrorKind {
    /// The settings cannot work (bad authority URL, unusable key).
    Config,
    /// Entra ID (or AWS STS, for the federated proof) refused the client: fix the credential.
    Rejected,
    /// The endpoint was unreachable or failing: try again later.
    Unavailable,
}

/// A token could not be had; names the tenant and client, never a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Entra ID token for client {client_id} in tenant {tenant_id}: {reason}")]
pub struct EntraError {
    /// What kind of failure.
    pub kind: EntraErrorKind,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// What happened, and what to check.
    pub reason: String,
}

/// The claims of a certificate assertion.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AssertionClaims {
    /// The token endpoint.
    pub aud: String,
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// A new id for each assertion.
    pub jti: String,
    /// Not before, seconds since the epoch.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Expires at.
    pub exp: u64,
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

/// The token endpoint's error answer (`error`, `error_description` with its AADSTS code).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// Access tokens for one client and scope, cached for their lifetime.
pub struct EntraTokenSource {
    config: EntraConfig,
    scope: String,
    token_url: Url,
    http: reqwest::Client,
    sts: OnceCell<aws_sdk_sts::Client>,
    cached: Mutex<Option<Cached>>,
}

impl fmt::Debug for EntraTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTokenSource")
            .field("tenant_id", &self.config.tenant_id)
            .field("client_id", &self.config.client_id)
            .field("scope", &self.scope)
            .field("proof", &self.config.proof)
            .finish_non_exhaustive()
    }
}

impl EntraTokenSource {
    /// Tokens for `scope`; a federated proof builds its STS client from the AWS environment the
    /// first time it needs one.
    pub fn new(config: EntraConfig, scope: &str, http: reqwest::Client) -> Result<Self, EntraError> {
        let token_url = config.token_url()?;
        Ok(Self {
            config,
            scope: scope.to_owned(),
            token_url,
            http,
            sts: OnceCell::new(),
            cached: Mutex::new(None),
        })
    }

    /// With this STS client for the federated proof (tests, or a caller that has one).
    pub fn with_sts(self, sts: aws_sdk_sts::Client) -> Self {
        Self { sts: OnceCell::new_with(Some(sts)), ..self }
    }

    /// The settings.
    pub fn config(&self) -> &EntraConfig {
        &self.config
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The current token, fetched when there is none or it is about to expire. Held under the
    /// lock while fetching, so concurrent callers share one request.
    pub async fn token(&self) -> Result<Secret, EntraError> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(current.token.clone());
        }
        Ok(self.fetch_into(&mut cached).await?.0)
    }

    /// Asks for a new token now, whatever the cache holds, and keeps it (`audit-relay check`):
    /// returns how long it lives.
    pub async fn refresh(&self) -> Result<Duration, EntraError> {
        let mut cached = self.cached.lock().await;
        Ok(self.fetch_into(&mut cached).await?.1)
    }

    /// Fetches a token and keeps it in `cached` until [`REFRESH_MARGIN`] before it expires.
    async fn fetch_into(&self, cached: &mut Option<Cached>) -> Result<(Secret, Duration), EntraError> {
        let started = Instant::now();
        let (token, lifetime) = self.fetch().await?;
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: started + lifetime.saturating_sub(REFRESH_MARGIN),
        });
        Ok((token, lifetime))
    }

    /// Forgets `used` (after the API refused it), unless it was already replaced.
    pub async fn invalidate(&self, used: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == used) {
            *cached = None;
        }
    }

    /// One token request.
    async fn fetch(&self) -> Result<(Secret, Duration), EntraError> {
        let config = &self.config;
        // The STS call comes first: the form serializer is not `Send`, so it lives between awaits.
        let assertion = match &config.proof {
            ClientProof::Secret(_) => None,
            ClientProof::Certificate(key) => Some(self.certificate_assertion(key)?),
            ClientProof::Federated => Some(self.federated_assertion().await?),
        };
        let (body, proof) = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &config.client_id)
                .append_pair("scope", &self.scope);
            let proof = match (&config.proof, assertion) {
                (_, Some(assertion)) => {
                    form.append_pair("client_assertion_type", ASSERTION_TYPE)
                        .append_pair("client_assertion", assertion.expose());
                    assertion
                }
                (ClientProof::Secret(secret), None) => {
                    form.append_pair("client_secret", secret.expose());
                    secret.clone()
                }
                (_, None) => {
                    return Err(config.error(EntraErrorKind::Config, "no client assertion was made"));
                }
            };
            (form.finish(), proof)
        };
        let sent = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await;
        let response = sent.map_err(|e| {
            // The causes too (a refused certificate, a refused connection), never the URL.
            let causes = crate::errors::chain(&e.without_url());
            let text = format!("the token endpoint {} did not answer: {causes}", host(&self.token_url));
            config.error(EntraErrorKind::Unavailable, text)
        })?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
                config.error(
                    EntraErrorKind::Unavailable,
                    format!("HTTP {}: the answer holds no access_token", status.as_u16()),
                )
            })?;
            let lifetime = answer.expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs);
            tracing::debug!(
                tenant_id = %config.tenant_id,
                client_id = %config.client_id,
                expires_in = lifetime.as_secs(),
                "Fetched an Entra ID access token."
            );
            return Ok((Secret::new(answer.access_token), lifetime));
        }
        let kind = if status.as_u16() == 429 || status.is_server_error() {
            EntraErrorKind::Unavailable
        } else {
            EntraErrorKind::Rejected
        };
        let said = serde_json::from_slice::<ErrorAnswer>(&body).ok();
        let error = said.as_ref().and_then(|a| a.error.clone()).unwrap_or_default();
        // The first line of the description ("AADSTS7000215: Invalid client secret provided. …"),
        // with the proof cut out should the endpoint ever echo it.
        let description = said
            .and_then(|a| a.error_description)
            .and_then(|d| d.lines().next().map(str::to_owned))
            .unwrap_or_default()
            .replace(proof.expose(), "***");
        let hint = match (&config.proof, error.as_str()) {
            (_, "invalid_client") | (_, "unauthorized_client") => match config.proof {
                ClientProof::Secret(_) => "; check AZURE_CLIENT_SECRET (expired or wrong) and AZURE_CLIENT_ID",
                ClientProof::Certificate(_) => "; check that AZURE_CLIENT_CERTIFICATE is the certificate uploaded to the app registration",
                ClientProof::Federated => "; check the app's federated credential: issuer = this account's IAM outbound identity federation issuer, subject = the function role's ARN, audience api://AzureADTokenExchange",
            },
            (_, "invalid_scope") => "; the scope is not one the app may ask for",
            (_, "invalid_request") if description.contains("AADSTS90002") => "; check AZURE_TENANT_ID",
            _ => "",
        };
        Err(config.error(kind, format!("HTTP {}: {error}: {description}{hint}", status.as_u16())))
    }

    /// A signed client assertion for the certificate proof.
    fn certificate_assertion(&self, key: &CertificateKey) -> Result<Secret, EntraError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut header = Header::new(Algorithm::RS256);
        header.x5t_s256 = Some(key.thumbprint_s256.clone());
        let claims = AssertionClaims {
            aud: self.token_url.as_str().to_owned(),
            iss: self.config.client_id.clone(),
            sub: self.config.client_id.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_SECONDS,
        };
        jsonwebtoken::encode(&header, &claims, &key.key).map(Secret::new).map_err(|e| {
            self.config.error(EntraErrorKind::Config, format!("could not sign the client assertion: {e}"))
        })
    }

    /// A web identity token from AWS STS for the function's role.
    async fn federated_assertion(&self) -> Result<Secret, EntraError> {
        let sts = self
            .sts
            .get_or_init(|| async { aws_sdk_sts::Client::new(&crate::aws::sdk_config().await) })
            .await;
        let answer = sts
            .get_web_identity_token()
            .audience(FEDERATED_AUDIENCE)
            .signing_algorithm("RS256")
            .duration_seconds(ASSERTION_SECONDS as i32)
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sts::error::ProvideErrorMetadata as _;
                let service = e.as_service_error();
                let code = service.and_then(|s| s.code()).unwrap_or_default().to_owned();
                let kind = match service {
                    Some(_) if code == "Throttling" || code == "ServiceUnavailable" => {
                        EntraErrorKind::Unavailable
                    }
                    Some(_) => EntraErrorKind::Rejected,
                    None => EntraErrorKind::Unavailable,
                };
                let reason = match service {
                    Some(s) => format!(
                        "AWS STS GetWebIdentityToken refused: {code}: {}; the function's role needs \
                         sts:GetWebIdentityToken and the account IAM outbound identity federation enabled",
                        s.message().unwrap_or_default()
                    ),
                    None => format!(
                        "AWS STS GetWebIdentityToken failed: {}",
                        aws_sdk_sts::error::DisplayErrorContext(&e)
                    ),
                };
                self.config.error(kind, reason)
            })?;
        answer.web_identity_token().filter(|t| !t.is_empty()).map(Secret::new).ok_or_else(|| {
            self.config.error(EntraErrorKind::Unavailable, "AWS STS answered no WebIdentityToken")
        })
    }
}

fn required(env: &EnvReader, variable: &str, what: &str) -> Result<String, ConfigError> {
    env.string(variable).ok_or_else(|| ConfigError::missing(variable, &format!("for {what}")))
}

/// `scheme://host[:port]` of a URL.
fn host(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests;
