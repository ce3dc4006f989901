//! Datadog Logs intake v2 (api-contracts.md §10).
//!
//! `POST SIEM_URL` (`https://http-intake.logs.<site>/api/v2/logs`) with `DD-API-KEY: <token>` and a
//! gzip JSON array of at most 1,000 entries and 5,000,000 bytes uncompressed; an entry over
//! 1,000,000 bytes is dead-lettered (Datadog would truncate it). Each entry is
//! `{"ddsource":…,"ddtags":"source:<source>,format:<format>[,DD_TAGS]","service":DD_SERVICE,
//! "timestamp":<epoch ms>,"message":"<the event JSON as a string>"}`: Datadog parses a JSON message
//! into attributes, and the string keeps the event byte for byte. `timestamp` is left out when the
//! event has none (note that Datadog refuses logs older than 18 hours).
//!
//! 202 is success; 408, 429 and 5xx are retried; 400, 401, 403 and 413 are not (413 means the
//! batching limits are wrong, and is logged as an error).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;

use super::{
    check_request, classify_status, escape_json_into, execute, json_string, push_decimal,
    required_credential, required_url, secret_header, EncodeContext, Encoder, Framing, Reply, Sink,
    SinkError, SinkKind, SinkLimits, SinkSettings, SIEM_TOKEN,
};
use crate::env::{ConfigError, EnvReader};
use crate::event::{OutboundEvent, OutputFormat, Source};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

/// Cap on one request's uncompressed body.
pub(crate) const MAX_BODY_BYTES: usize = 5_000_000;
/// Cap on entries in one request.
pub(crate) const MAX_EVENTS: usize = 1_000;
/// Cap on one entry; larger ones would be truncated by Datadog, so they are dead-lettered.
pub(crate) const MAX_ENTRY_BYTES: usize = 1_000_000;
const NAME: &str = "datadog";

/// `DD_SERVICE`: Datadog `service`.
pub(crate) const DD_SERVICE: &str = "DD_SERVICE";
/// `DD_TAGS`: Datadog `ddtags`.
pub(crate) const DD_TAGS: &str = "DD_TAGS";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The Datadog sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`: `https://http-intake.logs.<site>/api/v2/logs`.
    url: url::Url,
    /// `SIEM_TOKEN`: the API key.
    token: Secret,
    /// `DD_SERVICE` (default `audit-relay`).
    service: String,
    /// `DD_TAGS`: extra `ddtags` (`k:v,k:v`).
    tags: Option<String>,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        Ok(Arc::new(Self {
            url: required_url(env, NAME)?,
            token: required_credential(env, SIEM_TOKEN, NAME).await?,
            service: env.string(DD_SERVICE).unwrap_or_else(|| "audit-relay".to_string()),
            tags: env.string(DD_TAGS),
        }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(DatadogSink::new(self, http)?))
    }
}

/// The Datadog Logs sink.
pub(crate) struct DatadogSink {
    http: reqwest::Client,
    url: url::Url,
    api_key: HeaderValue,
    token: Secret,
    service: String,
    tags: Option<String>,
}

impl DatadogSink {
    /// A sink posting to the settings' URL with their API key.
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, SinkError> {
        Ok(Self {
            http,
            url: settings.url.clone(),
            api_key: secret_header(&settings.token, "", NAME, SIEM_TOKEN)?,
            token: settings.token.clone(),
            service: settings.service.clone(),
            tags: settings.tags.clone(),
        })
    }
}

/// The `ddsource` of a source's events: Datadog's integration name for it.
pub(crate) fn ddsource(source: Source) -> &'static str {
    match source.as_str() {
        "opensearch" => "amazon_opensearch",
        other => other,
    }
}

#[async_trait]
impl Sink for DatadogSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "SIEM_TOKEN is not a valid Datadog API key for the site of SIEM_URL (an application key or another site's key is refused with 403)"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits {
            max_body_bytes: MAX_BODY_BYTES,
            max_events: MAX_EVENTS,
            max_record_bytes: MAX_ENTRY_BYTES,
        }
    }

    fn gzip(&self) -> bool {
        true
    }

    fn encoder(&self, context: EncodeContext) -> Arc<dyn Encoder> {
        let format = match context.format {
            OutputFormat::Ocsf => "ocsf",
            OutputFormat::Raw => "raw",
            OutputFormat::Udm => "udm",
        };
        let mut tags = format!("source:{},format:{format}", context.source);
        if let Some(extra) = &self.tags {
            tags.push(',');
            tags.push_str(extra);
        }
        let head = format!(
            "{{\"ddsource\":{},\"ddtags\":{},\"service\":{}",
            json_string(ddsource(context.source)),
            json_string(&tags),
            json_string(&self.service),
        );
        Arc::new(DatadogEncoder { head: head.into_bytes() })
    }

    async fn send(&self, body: Bytes, events: usize, timeout: Duration) -> Reply {
        let request = self
            .http
            .post(self.url.clone())
            .header("DD-API-KEY", self.api_key.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(body);
        let response = match execute(request, timeout).await {
            Ok(response) => response,
            Err(reply) => return reply,
        };
        if response.status == StatusCode::PAYLOAD_TOO_LARGE {
            tracing::error!(
                sink = NAME,
                status = 413,
                events,
                "Datadog refused a request as too large: the batching limits do not match the intake's."
            );
        }
        response.reply(classify_status(response.status), &[&self.token])
    }

    /// `GET https://api.<site>/api/v1/validate` with the API key (Datadog's "Validate API key"):
    /// 200 `{"valid":true}` for a key of that site, 403 otherwise.
    async fn check(&self, timeout: Duration) -> Probe {
        let url = validate_url(&self.url);
        let target = host_of(&url);
        let request = self.http.get(url).header("DD-API-KEY", self.api_key.clone());
        let response = match check_request(request, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let summary = response.summary(&[&self.token]);
        let valid = serde_json::from_slice::<serde_json::Value>(&response.body)
            .is_ok_and(|body| body.get("valid") == Some(&serde_json::Value::Bool(true)));
        match response.status {
            StatusCode::OK if valid => Probe::passed(target, format!("API key valid ({summary})")),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Probe::failed(target, summary, self.credential_hint())
            }
            _ => Probe::failed(
                target,
                summary,
                "the key validation endpoint did not answer as Datadog's does: check the site in SIEM_URL (https://http-intake.logs.<site>/api/v2/logs)",
            ),
        }
    }
}

/// Datadog's key validation endpoint for the site of `intake` (`http-intake.logs.<site>` →
/// `api.<site>`); another host (a proxy, a test stand-in) is asked itself.
fn validate_url(intake: &url::Url) -> url::Url {
    let mut url = intake.clone();
    if let Some(site) = intake.host_str().and_then(|host| host.strip_prefix("http-intake.logs.")) {
        // A host made of a valid host's labels is valid.
        let _ = url.set_host(Some(&format!("api.{site}")));
    }
    url.set_path("/api/v1/validate");
    url.set_query(None);
    url
}

/// Writes Datadog log entries with the run's fixed attributes.
struct DatadogEncoder {
    /// `{"ddsource":…,"ddtags":…,"service":…`
    head: Vec<u8>,
}

impl Encoder for DatadogEncoder {
    fn framing(&self) -> Framing {
        Framing::JSON_ARRAY
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        if event.time_ms > 0 {
            out.extend_from_slice(b",\"timestamp\":");
            push_decimal(out, event.time_ms.unsigned_abs());
        }
        out.extend_from_slice(b",\"message\":\"");
        escape_json_into(event.json.as_bytes(), out);
        out.extend_from_slice(b"\"}");
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        // `"message":` is the last attribute; the ones before it are escaped strings and a number,
        // so the first match is the message's.
        let message = memchr::memmem::find(record, b"\"message\":")
            .and_then(|at| record.get(at + 10..record.len().saturating_sub(1)))
            .and_then(|quoted| serde_json::from_slice::<String>(quoted).ok());
        match message {
            Some(text) => Cow::Owned(text.into_bytes()),
            None => Cow::Borrowed(record),
        }
    }
}

#[cfg(test)]
mod tests;
