//! Google SecOps (Chronicle) API `events:import` (api-contracts.md §9.2): UDM events.
//!
//! `POST SIEM_URL` (the full `…/instances/{instance}/events:import` URL, or the one built from
//! `SECOPS_PROJECT`, `SECOPS_LOCATION` and `SECOPS_INSTANCE`) with `Authorization: Bearer <token>`
//! and the body `{"inline_source":{"events":[{"udm":{…}},…]}}`, uncompressed, at most 1,000,000
//! bytes (the limit commonly applied to Google's ingestion APIs; the real one is unpublished).
//!
//! The token comes from the service-account key (`SECOPS_SERVICE_ACCOUNT_JSON`): a JWT signed with
//! its RS256 key (`iss` = `client_email`, `scope` = cloud-platform, `aud` = the token URL, one
//! hour) is exchanged at the token endpoint (`SECOPS_TOKEN_URL`, else the key's `token_uri`, else
//! `https://oauth2.googleapis.com/token`) with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.
//! The token is shared by every request and refreshed [`REFRESH_MARGIN`] before it expires, or
//! at once when the API answers 401 (the request is then sent once more).
//!
//! 2xx is success; 408, 429 and 5xx are retried (so is a token endpoint that is unreachable or
//! busy); any other answer, and a token endpoint refusing the key, is not.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::{
    classify_status, execute, required_credential, EncodeContext, Encoder, Framing, Reply, Sink, SinkError,
    SinkKind, SinkLimits, SinkSettings, Verdict, SIEM_URL,
};
use crate::env::{check_endpoint_url, ConfigError, EnvReader};
use crate::event::{OutboundEvent, OutputFormat};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

/// Cap on one request body.
pub(crate) const MAX_BODY_BYTES: usize = 1_000_000;
/// `SECOPS_SERVICE_ACCOUNT_JSON`: the Google service-account key (JSON).
pub const SECOPS_SERVICE_ACCOUNT_JSON: &str = "SECOPS_SERVICE_ACCOUNT_JSON";
/// `SECOPS_TOKEN_URL`: the OAuth token endpoint.
pub const SECOPS_TOKEN_URL: &str = "SECOPS_TOKEN_URL";
/// `SECOPS_PROJECT`: the Google Cloud project of the SecOps instance (builds the import URL).
pub(crate) const SECOPS_PROJECT: &str = "SECOPS_PROJECT";
/// `SECOPS_LOCATION`: the SecOps instance's region, e.g. `us`, `europe` (builds the import URL).
pub(crate) const SECOPS_LOCATION: &str = "SECOPS_LOCATION";
/// `SECOPS_INSTANCE`: the SecOps instance (customer) id (builds the import URL).
pub(crate) const SECOPS_INSTANCE: &str = "SECOPS_INSTANCE";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The `events:import` sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`, or the URL built from `SECOPS_PROJECT`, `SECOPS_LOCATION`, `SECOPS_INSTANCE`.
    url: Url,
    /// `SECOPS_SERVICE_ACCOUNT_JSON`: the service-account key file's JSON.
    service_account: Secret,
    /// `SECOPS_TOKEN_URL`: default the key's `token_uri`, else [`DEFAULT_TOKEN_URL`].
    token_url: Option<Url>,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        Ok(Arc::new(Self::read(env).await?))
    }

    async fn read(env: &EnvReader) -> Result<Self, ConfigError> {
        let url = match env.endpoint_url(SIEM_URL)? {
            Some(url) => url,
            None => secops_import_url(env)?,
        };
        Ok(Self {
            url,
            service_account: required_credential(env, SECOPS_SERVICE_ACCOUNT_JSON, NAME).await?,
            token_url: env.endpoint_url(SECOPS_TOKEN_URL)?,
        })
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    /// The Chronicle import API takes UDM only: it is this sink's default and only format.
    fn format(&self, chosen: Option<OutputFormat>) -> Result<OutputFormat, &'static str> {
        match chosen {
            None | Some(OutputFormat::Udm) => Ok(OutputFormat::Udm),
            Some(_) => Err("SIEM_TYPE secops_api imports UDM events: use udm (the default for it)"),
        }
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(SecopsApiSink::new(self, http)?))
    }
}

/// The `events:import` URL of the SecOps instance named by `SECOPS_PROJECT`, `SECOPS_LOCATION`
/// and `SECOPS_INSTANCE` (api-contracts.md §9.2):
/// `https://{location}-chronicle.googleapis.com/v1alpha/projects/{project}/locations/{location}/instances/{instance}/events:import`.
fn secops_import_url(env: &EnvReader) -> Result<Url, ConfigError> {
    let part = |name: &str| {
        let value = env.string(name).ok_or_else(|| {
            ConfigError::missing(name, &format!("when SIEM_TYPE is secops_api and {SIEM_URL} is unset"))
        })?;
        if value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                variable: name.to_string(),
                value,
                reason: "expected letters, digits, '-' or '_'".to_string(),
            })
        }
    };
    let (project, location, instance) =
        (part(SECOPS_PROJECT)?, part(SECOPS_LOCATION)?, part(SECOPS_INSTANCE)?);
    let raw = format!(
        "https://{location}-chronicle.googleapis.com/v1alpha/projects/{project}/locations/{location}/instances/{instance}/events:import"
    );
    Url::parse(&raw).map_err(|e| ConfigError::Invalid {
        variable: SECOPS_LOCATION.to_string(),
        value: location.clone(),
        reason: e.to_string(),
    })
}

/// The token endpoint when neither `SECOPS_TOKEN_URL` nor the key's `token_uri` names one.
pub(crate) const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// The OAuth scope the Chronicle API needs.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The OAuth grant type of a signed JWT assertion (RFC 7523).
pub(crate) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long before its expiry a token is replaced.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Lifetime of a signed assertion (Google's maximum).
const ASSERTION_SECONDS: u64 = 3600;
const NAME: &str = "secops_api";
/// Framing of the import body: `{"inline_source":{"events":[` records `]}}`.
const FRAMING: Framing =
    Framing { prefix: b"{\"inline_source\":{\"events\":[", separator: b",", suffix: b"]}}" };
const RECORD_HEAD: &[u8] = b"{\"udm\":";

/// The members of a service-account key file the sink uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// The claims of the signed assertion.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AssertionClaims {
    /// The service account's e-mail.
    pub iss: String,
    /// The OAuth scope asked for.
    pub scope: String,
    /// The token endpoint.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// An access token and when to replace it.
struct CachedToken {
    token: Secret,
    refresh_at: Instant,
}

/// The SecOps `events:import` sink.
pub(crate) struct SecopsApiSink {
    http: reqwest::Client,
    url: Url,
    token_url: Url,
    client_email: String,
    key_id: Option<String>,
    key: EncodingKey,
    cached: Mutex<Option<CachedToken>>,
}

impl SecopsApiSink {
    /// A sink importing into the settings' URL with their service account.
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, SinkError> {
        let unusable = |reason: String| SinkError::Credential {
            sink: NAME,
            variable: SECOPS_SERVICE_ACCOUNT_JSON,
            reason,
        };
        let key: ServiceAccountKey = serde_json::from_str(settings.service_account.expose())
            .map_err(|e| unusable(format!("not a service-account key file (JSON with client_email and private_key): line {} column {}", e.line(), e.column())))?;
        let encoding_key = EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|e| unusable(format!("private_key is not an RSA key in PEM: {e}")))?;
        let token_url = match (&settings.token_url, key.token_uri.as_deref().filter(|u| !u.is_empty())) {
            (Some(url), _) => url.clone(),
            (None, Some(uri)) => check_endpoint_url(uri).map_err(|e| unusable(format!("token_uri: {e}")))?,
            (None, None) => check_endpoint_url(DEFAULT_TOKEN_URL).map_err(|e| SinkError::Credential {
                sink: NAME,
                variable: SECOPS_TOKEN_URL,
                reason: e,
            })?,
        };
        Ok(Self {
            http,
            url: settings.url.clone(),
            token_url,
            client_email: key.client_email,
            key_id: key.private_key_id,
            key: encoding_key,
            cached: Mutex::new(None),
        })
    }

    /// The token endpoint in use.
    #[cfg(test)]
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// A signed assertion issued at `now` (seconds since the epoch).
    fn assertion(&self, now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.key_id.clone();
        let claims = AssertionClaims {
            iss: self.client_email.clone(),
            scope: SCOPE.to_owned(),
            aud: self.token_url.as_str().to_owned(),
            iat: now,
            exp: now + ASSERTION_SECONDS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
    }

    /// The current token, fetched when there is none or it is about to expire. Held under the
    /// lock while fetching, so concurrent requests share one exchange.
    async fn token(&self, timeout: Duration) -> Result<Secret, Reply> {
        let mut cached = self.cached.lock().await;
        if let Some(current) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(current.token.clone());
        }
        let fresh = self.exchange(timeout).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops `used` from the cache (unless another request already replaced it).
    async fn invalidate(&self, used: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == used) {
            *cached = None;
        }
    }

    /// Exchanges a signed assertion for an access token.
    async fn exchange(&self, timeout: Duration) -> Result<CachedToken, Reply> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let assertion = self.assertion(now).map_err(|e| {
            Reply::local(
                Verdict::Reject,
                format!("could not sign the token request with the service-account key: {e}"),
            )
        })?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", GRANT_TYPE)
            .append_pair("assertion", &assertion)
            .finish();
        let request = self
            .http
            .post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let started = Instant::now();
        let response = execute(request, timeout).await.map_err(|mut reply| {
            reply.summary = format!("token endpoint: {}", reply.summary);
            reply
        })?;
        let assertion = Secret::new(assertion);
        if !response.status.is_success() {
            let mut reply = response.reply(classify_status(response.status), &[&assertion]);
            reply.summary = format!("token endpoint: {}", reply.summary);
            if reply.verdict == Verdict::Reject {
                tracing::error!(
                    sink = NAME,
                    status = response.status.as_u16(),
                    summary = %reply.summary,
                    "The token endpoint refused the service account; check SECOPS_SERVICE_ACCOUNT_JSON (a valid, enabled key)."
                );
            }
            return Err(reply);
        }
        let parsed: TokenResponse = serde_json::from_slice(&response.body).map_err(|_| {
            Reply::local(
                Verdict::Retry,
                format!("token endpoint: {}: no access_token in the answer", response.status.as_u16()),
            )
        })?;
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(ASSERTION_SECONDS));
        tracing::debug!(sink = NAME, expires_in = lifetime.as_secs(), "Fetched a SecOps access token.");
        Ok(CachedToken {
            token: Secret::new(parsed.access_token),
            refresh_at: started + lifetime.saturating_sub(REFRESH_MARGIN),
        })
    }
}

#[async_trait]
impl Sink for SecopsApiSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "the SECOPS_SERVICE_ACCOUNT_JSON key is disabled or deleted, or the service account lacks the Chronicle API Editor role on SECOPS_PROJECT"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits {
            max_body_bytes: MAX_BODY_BYTES,
            max_events: usize::MAX,
            max_record_bytes: MAX_BODY_BYTES - FRAMING.prefix.len() - FRAMING.suffix.len(),
        }
    }

    fn gzip(&self) -> bool {
        false
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(ImportEncoder)
    }

    async fn send(&self, body: Bytes, _events: usize, timeout: Duration) -> Reply {
        let mut refreshed = false;
        loop {
            let token = match self.token(timeout).await {
                Ok(token) => token,
                Err(reply) => return reply,
            };
            let mut authorization = match HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
                Ok(value) => value,
                Err(_) => {
                    return Reply::local(
                        Verdict::Reject,
                        "token endpoint: the access token is not a header value",
                    )
                }
            };
            authorization.set_sensitive(true);
            let request = self
                .http
                .post(self.url.clone())
                .header(AUTHORIZATION, authorization)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
            let response = match execute(request, timeout).await {
                Ok(response) => response,
                Err(reply) => return reply,
            };
            if response.status == StatusCode::UNAUTHORIZED && !refreshed {
                // The token was revoked or expired early: fetch a new one and send once more.
                self.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            if matches!(response.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                tracing::error!(
                    sink = NAME,
                    status = response.status.as_u16(),
                    "SecOps refused the import; the service account needs chronicle.events.import on the instance."
                );
            }
            return response.reply(classify_status(response.status), &[&token]);
        }
    }

    /// A fresh token exchange with the service-account key (the import endpoint is not called:
    /// anything it accepts is ingested).
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.token_url);
        match self.exchange(timeout).await {
            Ok(fresh) => {
                let lifetime = fresh.refresh_at.saturating_duration_since(Instant::now()) + REFRESH_MARGIN;
                Probe::passed(
                    target,
                    format!("token issued to {} (valid {} s)", self.client_email, lifetime.as_secs()),
                )
            }
            Err(reply) if reply.verdict == Verdict::Reject => Probe::failed(
                target,
                reply.summary,
                "the token endpoint refused the service account: SECOPS_SERVICE_ACCOUNT_JSON is a disabled or deleted key, or SECOPS_TOKEN_URL is wrong",
            ),
            Err(reply) => Probe::failed(target, reply.summary, super::UNREACHABLE_HINT.replace("SIEM_URL", "the token endpoint")),
        }
    }
}

/// Writes `{"udm":<event>}` records into the import body.
struct ImportEncoder;

impl Encoder for ImportEncoder {
    fn framing(&self) -> Framing {
        FRAMING
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        out.reserve(event.json.len() + RECORD_HEAD.len() + 1);
        out.extend_from_slice(RECORD_HEAD);
        out.extend_from_slice(event.json.as_bytes());
        out.push(b'}');
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        match record.strip_prefix(RECORD_HEAD).and_then(|rest| rest.strip_suffix(b"}")) {
            Some(event) => Cow::Borrowed(event),
            None => Cow::Borrowed(record),
        }
    }
}

#[cfg(test)]
mod tests;
