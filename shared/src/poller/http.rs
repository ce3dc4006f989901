//! Sends one page request for a client (api-contracts.md §5.1, §6.3, §7.1 rate limits): paced,
//! with the stream's credential, never to another host, never following redirects. 429 and 503
//! (and 500/502/504, network errors) are retried after `Retry-After` or a full-jitter backoff,
//! within the run's time; 401/403 stop the stream with what the operator must fix.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use url::Url;

use super::api::{same_origin, Credential, StreamApi};
use super::pace::Pacer;
use crate::backoff::{full_jitter, parse_retry_after};
use crate::entra::EntraErrorKind;
use crate::secret::Secret;

/// Attempts at one page before the stream gives up.
pub const MAX_ATTEMPTS: u32 = 8;
/// First backoff ceiling when the API sends no `Retry-After`.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Largest backoff ceiling.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// Timeout of one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of an error body quoted in an error.
const BODY_QUOTE: usize = 200;

/// Why a page could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// 401 or 403: the credential is wrong, expired or lacks a scope. Fails the run.
    #[error("{product}: HTTP {status}: the credential was refused: {hint}")]
    Unauthorized {
        /// The product.
        product: String,
        /// 401 or 403.
        status: u16,
        /// What to check.
        hint: String,
    },
    /// A page URL (usually a `next` link) points at another host: refused, the credential is not
    /// sent there.
    #[error("{product}: refused to request {host}: paging must stay on {origin}")]
    ForeignHost {
        /// The product.
        product: String,
        /// The other host (scheme, host, port).
        host: String,
        /// The configured origin.
        origin: String,
    },
    /// The API refused the request for another reason.
    #[error("{product}: HTTP {status} from {path}: {body}")]
    Status {
        /// The product.
        product: String,
        /// The status.
        status: u16,
        /// The request path (no query: it may carry a cursor).
        path: String,
        /// The first bytes of the body.
        body: String,
    },
    /// Throttled or failing for every attempt.
    #[error("{product}: gave up after {attempts} attempts: {last}")]
    Unavailable {
        /// The product.
        product: String,
        /// Attempts made.
        attempts: u32,
        /// The last answer or error.
        last: String,
    },
    /// The run's time for paging ended before the page could be fetched (waiting included): the
    /// stream stops and saves its progress.
    #[error("{product}: no time left in this run")]
    OutOfTime {
        /// The product.
        product: String,
    },
}

/// The HTTP client of the source APIs and their token endpoints: no redirects (one could leave
/// the configured host), a 10 s connect timeout, our user agent; each request sets its own timeout.
pub fn api_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("audit-relay/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The HTTP side of the poll loop.
#[derive(Debug, Clone)]
pub struct ApiHttp {
    client: reqwest::Client,
    request_timeout: Duration,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_cap: Duration,
}

impl ApiHttp {
    /// A client that does not follow redirects (a redirect could leave the configured host).
    pub fn new() -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: api_client()?,
            request_timeout: REQUEST_TIMEOUT,
            max_attempts: MAX_ATTEMPTS,
            backoff_base: BACKOFF_BASE,
            backoff_cap: BACKOFF_CAP,
        })
    }

    /// At most `attempts` requests a page (at least one).
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Shorter backoff (tests).
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap;
        self
    }

    /// The `Authorization` header for `api`, and the Entra ID token in it, if any.
    async fn authorization(&self, api: &dyn StreamApi) -> Result<(String, Option<Secret>), FetchError> {
        api.credential().authorization().await.map_err(|e| match e.kind {
            EntraErrorKind::Unavailable => FetchError::Unavailable {
                product: api.product().to_string(),
                attempts: 1,
                last: e.to_string(),
            },
            EntraErrorKind::Rejected | EntraErrorKind::Config => FetchError::Unauthorized {
                product: api.product().to_string(),
                status: 401,
                hint: e.to_string(),
            },
        })
    }

    /// GETs `url` for `api`; gives up waiting at `stop_at`. Returns the body and the retries made.
    pub async fn get(
        &self,
        api: &dyn StreamApi,
        pacer: &Pacer,
        url: &Url,
        stop_at: Instant,
    ) -> Result<(Bytes, u32), FetchError> {
        let product = || api.product().to_string();
        if !same_origin(api.origin(), url) {
            return Err(FetchError::ForeignHost {
                product: product(),
                host: url.origin().ascii_serialization(),
                origin: api.origin().origin().ascii_serialization(),
            });
        }
        let (mut authorization, mut token) = self.authorization(api).await?;
        let mut refreshed = false;
        let mut attempts = 0u32;
        loop {
            pacer.wait().await;
            let now = Instant::now();
            if now >= stop_at {
                return Err(FetchError::OutOfTime { product: product() });
            }
            attempts += 1;
            let sent = self
                .client
                .get(url.clone())
                .header(AUTHORIZATION, &authorization)
                .header(ACCEPT, "application/json")
                .timeout(self.request_timeout.min(stop_at - now))
                .send()
                .await;
            let (last, retry_after) = match sent {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(body) => return Ok((body, attempts - 1)),
                            Err(e) => (format!("reading the body failed: {e}"), None),
                        }
                    } else if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                        // An Entra ID token refused: fetch a new one and try once more.
                        if let (Credential::Entra(source), Some(used), false, StatusCode::UNAUTHORIZED) =
                            (api.credential(), token.as_ref(), refreshed, status)
                        {
                            source.invalidate(used).await;
                            (authorization, token) = self.authorization(api).await?;
                            refreshed = true;
                            attempts -= 1;
                            tracing::warn!(
                                stream = api.stream_id(),
                                "The API refused the Entra ID token; asking for a new one and trying once more."
                            );
                            continue;
                        }
                        return Err(FetchError::Unauthorized {
                            product: product(),
                            status: status.as_u16(),
                            hint: api.credential_hint().to_string(),
                        });
                    } else if is_retryable(status) {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        (format!("HTTP {}", status.as_u16()), retry_after)
                    } else {
                        let body = response.bytes().await.unwrap_or_default();
                        return Err(FetchError::Status {
                            product: product(),
                            status: status.as_u16(),
                            path: url.path().to_string(),
                            body: quote(&body),
                        });
                    }
                }
                Err(e) => (format!("request failed: {}", without_url(&e)), None),
            };
            if attempts >= self.max_attempts {
                return Err(FetchError::Unavailable { product: product(), attempts, last });
            }
            let wait = full_jitter(attempts, self.backoff_base, self.backoff_cap)
                .max(retry_after.unwrap_or(Duration::ZERO));
            let resume_at = Instant::now().checked_add(wait);
            if resume_at.is_none_or(|at| at >= stop_at) {
                tracing::warn!(
                    stream = api.stream_id(),
                    last,
                    wait_ms = wait.as_millis() as u64,
                    "API asks to wait past the run's time; stopping."
                );
                return Err(FetchError::OutOfTime { product: product() });
            }
            tracing::warn!(
                stream = api.stream_id(),
                attempt = attempts,
                last,
                wait_ms = wait.as_millis() as u64,
                "Page request throttled or failed; waiting."
            );
            if let Some(at) = resume_at {
                pacer.hold_until(at).await;
            }
        }
    }
}

/// 429, 500, 502, 503, 504.
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// The first bytes of a body, as text.
fn quote(body: &[u8]) -> String {
    let end = body.len().min(BODY_QUOTE);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// A reqwest error without its URL (the query may hold a cursor; logs keep paths only), with its
/// causes: reqwest's own text is only "error sending request", the reason (a refused
/// certificate, a refused connection) is in the chain.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = crate::errors::chain(error);
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), url.path());
    }
    text
}
