//! Microsoft Sentinel through the Azure Monitor Logs Ingestion API (api-contracts.md §12).
//!
//! `POST <endpoint>/dataCollectionRules/<DCR immutable id>/streams/<stream>?api-version=2023-01-01`
//! with a JSON array of events (gzip), `Authorization: Bearer` an Entra ID token for
//! `https://monitor.azure.com//.default` (the same app registration, `AZURE_*` variables and
//! credential modes as the Azure DevOps poller; `SENTINEL_AUTH` picks the mode). Success is 204.
//!
//! Each event goes as it is, with `TimeGenerated` (from the event's time) in front: the data
//! collection rule of `infra/azure/` maps the columns one to one. Azure caps a call at 1 MB and
//! cuts any field over 64 KB without saying so; here a call stays under 1 MB uncompressed, and a
//! top-level field over the limit is cut by us instead, with a marker saying how long it was, its
//! name listed in `AuditRelayTruncated`, a warning logged and the `FieldsTruncated` metric counted.
//!
//! 429 and 5xx are sent again (after `Retry-After`), 413 splits the batch, 401 is tried once more
//! with a new token, and a refused credential (401 again, 403, or Entra ID refusing the app) is
//! alarmed and dead-lettered.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::value::RawValue;

use super::{
    check_request, classify_status, escape_json_into, execute, sanitize, EncodeContext, Encoder, Framing,
    Reply, Sink, SinkError, SinkKind, SinkLimits, SinkSettings, Verdict, SIEM_URL,
};
use crate::entra::{EntraConfig, EntraError, EntraErrorKind, EntraTokenSource, ProofKind};
use crate::env::{ConfigError, EnvReader};
use crate::event::{OutboundEvent, OutputFormat};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

const NAME: &str = "sentinel";

/// `SENTINEL_AUTH`: `entra_secret`, `entra_certificate` or `entra_federated`.
pub(crate) const SENTINEL_AUTH: &str = "SENTINEL_AUTH";
/// `SENTINEL_ENDPOINT`: the DCR's logs ingestion endpoint (or a data collection endpoint).
pub(crate) const SENTINEL_ENDPOINT: &str = "SENTINEL_ENDPOINT";
/// `SENTINEL_DCR_ID`: the data collection rule's immutable id (`dcr-…`).
pub(crate) const SENTINEL_DCR_ID: &str = "SENTINEL_DCR_ID";
/// `SENTINEL_STREAM`: the DCR's input stream.
pub(crate) const SENTINEL_STREAM: &str = "SENTINEL_STREAM";

/// The stream of the data collection rule in `infra/azure/` (`SENTINEL_STREAM` default).
const DEFAULT_STREAM: &str = "Custom-AuditRelay_CL";
/// The Logs Ingestion API version.
const API_VERSION: &str = "2023-01-01";
/// Azure Monitor's token scope in the public cloud; sovereign clouds have their own (see [`scope`]).
const PUBLIC_SCOPE: &str = "https://monitor.azure.com//.default";
/// One call at most 1 MB, compressed or not: the uncompressed body is held under it.
const MAX_BODY_BYTES: usize = 1_000_000;
/// Cap on events in one call (the API sets none; this keeps the JSON array reasonable).
const MAX_EVENTS: usize = 10_000;
/// Azure Monitor truncates a field value over 64 KB: a top-level value longer than this (as JSON
/// text, which is never shorter than the stored value) is cut by the encoder.
const FIELD_MAX_BYTES: usize = 64_000;
/// What is kept of a field that is cut (as JSON string text, marker included, under the limit).
const FIELD_KEEP_BYTES: usize = 60_000;
/// The column listing the fields cut in an event.
const TRUNCATED_COLUMN: &str = "AuditRelayTruncated";
/// The column Azure Monitor keys every record on.
const TIME_PREFIX: &[u8] = b"{\"TimeGenerated\":\"";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The Sentinel sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The whole ingestion URL, `api-version` included.
    url: url::Url,
    /// Who asks Entra ID for tokens.
    entra: EntraConfig,
    /// The token scope for the endpoint's cloud.
    scope: &'static str,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        let url = ingestion_url(env)?;
        let kind = match env.string(SENTINEL_AUTH) {
            None => {
                return Err(ConfigError::missing(
                    SENTINEL_AUTH,
                    "when SIEM_TYPE is sentinel: entra_secret, entra_certificate or entra_federated",
                ))
            }
            Some(mode) => ProofKind::from_mode(&mode).ok_or_else(|| {
                ConfigError::invalid(
                    SENTINEL_AUTH,
                    mode,
                    "expected entra_secret, entra_certificate or entra_federated",
                )
            })?,
        };
        let entra = EntraConfig::from_env(env, kind).await?;
        let scope = scope(&url);
        Ok(Arc::new(Self { url, entra, scope }))
    }
}

/// The ingestion URL: `SIEM_URL` whole, or built from `SENTINEL_ENDPOINT`, `SENTINEL_DCR_ID` and
/// `SENTINEL_STREAM` (one way or the other, not both).
fn ingestion_url(env: &EnvReader) -> Result<url::Url, ConfigError> {
    let whole = env.endpoint_url(SIEM_URL)?;
    let endpoint = env.endpoint_url(SENTINEL_ENDPOINT)?;
    let mut url = match (whole, endpoint) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                SENTINEL_ENDPOINT,
                "(set)".to_string(),
                "give either SIEM_URL (the whole ingestion URL) or SENTINEL_ENDPOINT with SENTINEL_DCR_ID, not both",
            ))
        }
        (Some(url), None) => url,
        (None, Some(mut url)) => {
            let dcr = env.string(SENTINEL_DCR_ID).ok_or_else(|| {
                ConfigError::missing(SENTINEL_DCR_ID, "with SENTINEL_ENDPOINT: the DCR's immutable id (dcr-…)")
            })?;
            let stream = env.string(SENTINEL_STREAM).unwrap_or_else(|| DEFAULT_STREAM.to_string());
            // An http(s) URL with a host (checked by endpoint_url) can take path segments.
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().extend(["dataCollectionRules", dcr.as_str(), "streams", stream.as_str()]);
            }
            url
        }
        (None, None) => {
            return Err(ConfigError::missing(
                SIEM_URL,
                "(or SENTINEL_ENDPOINT and SENTINEL_DCR_ID) when SIEM_TYPE is sentinel",
            ))
        }
    };
    let (dcr, stream) = dcr_and_stream(&url).ok_or_else(|| {
        ConfigError::invalid(
            SIEM_URL,
            host_of(&url),
            "expected <endpoint>/dataCollectionRules/<dcr-…>/streams/<stream>",
        )
    })?;
    let dcr_ok = dcr
        .strip_prefix("dcr-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if !dcr_ok {
        return Err(ConfigError::invalid(
            SENTINEL_DCR_ID,
            dcr,
            "expected the DCR's immutable id: dcr- and 32 hex digits (its JSON view, immutableId)",
        ));
    }
    let stream_ok = (stream.starts_with("Custom-") || stream.starts_with("Microsoft-"))
        && stream.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !stream_ok {
        return Err(ConfigError::invalid(
            SENTINEL_STREAM,
            stream,
            "expected a DCR stream name such as Custom-AuditRelay_CL",
        ));
    }
    if !url.query_pairs().any(|(name, _)| name == "api-version") {
        url.query_pairs_mut().append_pair("api-version", API_VERSION);
    }
    Ok(url)
}

/// The DCR id and stream of an ingestion URL's path (`…/dataCollectionRules/<id>/streams/<stream>`).
fn dcr_and_stream(url: &url::Url) -> Option<(String, String)> {
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., "dataCollectionRules", dcr, "streams", stream] => {
            Some(((*dcr).to_string(), (*stream).to_string()))
        }
        _ => None,
    }
}

/// The Azure Monitor token scope of the endpoint's cloud: `.azure.cn` (21Vianet) and `.azure.us`
/// (US Government) hosts have their own audience.
fn scope(url: &url::Url) -> &'static str {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host.ends_with(".azure.cn") {
        "https://monitor.azure.cn//.default"
    } else if host.ends_with(".azure.us") {
        "https://monitor.azure.us//.default"
    } else {
        PUBLIC_SCOPE
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn format(&self, chosen: Option<OutputFormat>) -> Result<OutputFormat, &'static str> {
        match chosen {
            None | Some(OutputFormat::Ocsf) => Ok(OutputFormat::Ocsf),
            Some(_) => Err("sentinel takes ocsf only: the table and DCR of infra/azure/ hold OCSF columns"),
        }
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        let tokens = EntraTokenSource::new(self.entra.clone(), self.scope, http.clone()).map_err(|e| {
            SinkError::Credential {
                sink: NAME,
                variable: crate::entra::AZURE_AUTHORITY_HOST,
                reason: e.reason,
            }
        })?;
        Ok(Arc::new(SentinelSink { http, url: self.url.clone(), tokens }))
    }
}

/// The Sentinel sink.
struct SentinelSink {
    http: reqwest::Client,
    /// The ingestion URL.
    url: url::Url,
    tokens: EntraTokenSource,
}

/// What to check when the ingestion API refuses the token.
const CREDENTIAL_HINT: &str =
    "the app registration AZURE_CLIENT_ID needs the Monitoring Metrics Publisher role on the \
     data collection rule (403), and its credential (SENTINEL_AUTH) must be valid; 401 also means a token \
     for the wrong cloud";

#[async_trait]
impl Sink for SentinelSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        CREDENTIAL_HINT
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits {
            max_body_bytes: MAX_BODY_BYTES,
            max_events: MAX_EVENTS,
            max_record_bytes: MAX_BODY_BYTES - 2,
        }
    }

    fn gzip(&self) -> bool {
        true
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(SentinelEncoder::default())
    }

    async fn send(&self, body: Bytes, _events: usize, timeout: Duration) -> Reply {
        let mut refreshed = false;
        loop {
            let token = match self.tokens.token().await {
                Ok(token) => token,
                Err(error) => return self.token_failure(&error),
            };
            let request = match self.request(&token, true) {
                Ok(request) => request.body(body.clone()),
                Err(reply) => return reply,
            };
            let response = match execute(request, timeout).await {
                Ok(response) => response,
                Err(reply) => return reply,
            };
            match response.status {
                status if status.is_success() => return response.reply(Verdict::Delivered, &[&token]),
                StatusCode::UNAUTHORIZED if !refreshed => {
                    // A token refused before its expiry (revoked, or the role just granted):
                    // one more try with a new one.
                    self.tokens.invalidate(&token).await;
                    refreshed = true;
                }
                StatusCode::PAYLOAD_TOO_LARGE => return response.reply(Verdict::TooLarge, &[&token]),
                status => return response.reply(classify_status(status), &[&token]),
            }
        }
    }

    /// A token from Entra ID, then an empty array sent to the stream: the API checks the token
    /// and the role first (401/403), and an empty array delivers nothing.
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.url);
        let lifetime = match self.tokens.refresh().await {
            Ok(lifetime) => lifetime,
            Err(error) => {
                let hint = match error.kind {
                    EntraErrorKind::Unavailable => "Entra ID did not answer: check AZURE_AUTHORITY_HOST and the network path",
                    _ => "fix the Entra ID settings named in the error (AZURE_TENANT_ID, AZURE_CLIENT_ID, SENTINEL_AUTH and its credential)",
                };
                return Probe::failed(target, error.to_string(), hint);
            }
        };
        let token = match self.tokens.token().await {
            Ok(token) => token,
            Err(error) => return Probe::failed(target, error.to_string(), CREDENTIAL_HINT),
        };
        let request = match self.request(&token, false) {
            Ok(request) => request.body("[]"),
            Err(reply) => return Probe::failed(target, reply.summary, CREDENTIAL_HINT),
        };
        let response = match check_request(request, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let summary = response.summary(&[&token]);
        let minutes = lifetime.as_secs() / 60;
        match response.status.as_u16() {
            200..=299 | 400 => Probe::passed(
                target,
                format!("Entra ID token ({} proof, {minutes} min) accepted by the stream ({summary})", self.tokens.config().proof_name()),
            ),
            401 | 403 => Probe::failed(target, summary, CREDENTIAL_HINT),
            404 => Probe::failed(
                target,
                summary,
                "no such data collection rule or stream at this endpoint: check SENTINEL_DCR_ID (immutable id) and SENTINEL_STREAM",
            ),
            _ => Probe::failed(target, summary, "the Logs Ingestion API answers with an error"),
        }
    }
}

impl SentinelSink {
    /// `POST` to the ingestion URL with the bearer token (gzip-encoded body when `gzip`).
    fn request(&self, token: &Secret, gzip: bool) -> Result<reqwest::RequestBuilder, Reply> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| Reply::local(Verdict::Retry, "the Entra ID token is not a valid header value"))?;
        authorization.set_sensitive(true);
        let mut request = self
            .http
            .post(self.url.clone())
            .header(AUTHORIZATION, authorization)
            .header(CONTENT_TYPE, "application/json")
            .header("x-ms-client-request-id", uuid::Uuid::new_v4().to_string());
        if gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        Ok(request)
    }

    /// The reply when no token could be had: Entra ID refusing the app is a refused credential
    /// (alarmed here, since no SIEM status says so), an unreachable Entra ID is retried.
    fn token_failure(&self, error: &EntraError) -> Reply {
        let summary = sanitize(&error.to_string(), &[]);
        match error.kind {
            EntraErrorKind::Unavailable => Reply::local(Verdict::Retry, summary),
            EntraErrorKind::Rejected | EntraErrorKind::Config => {
                crate::metrics::emit_credential_rejected(crate::metrics::Rejected::Sink(NAME));
                tracing::error!(sink = NAME, summary = %summary, "Entra ID refused the app's credential: {CREDENTIAL_HINT}");
                Reply::local(Verdict::Reject, summary)
            }
        }
    }
}

/// Writes each event as one object of the JSON array, `TimeGenerated` first, cutting top-level
/// fields over [`FIELD_MAX_BYTES`].
#[derive(Default)]
struct SentinelEncoder {
    /// Fields cut so far.
    truncated: AtomicU64,
}

impl Encoder for SentinelEncoder {
    fn framing(&self) -> Framing {
        Framing::JSON_ARRAY
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(TIME_PREFIX);
        out.extend_from_slice(crate::timestamp::format_rfc3339_ms(event.time_ms).as_bytes());
        out.push(b'"');
        let json = event.json.trim();
        // No field can be over the limit when the whole event is not.
        if json.len() > FIELD_MAX_BYTES && self.shorten(json, out) {
            return;
        }
        match json.strip_prefix('{') {
            Some(rest) if rest.trim_start().starts_with('}') => out.push(b'}'),
            Some(rest) => {
                out.push(b',');
                out.extend_from_slice(rest.as_bytes());
            }
            // Not an object (OCSF events always are): kept whole under one column.
            None => {
                out.extend_from_slice(b",\"event\":");
                out.extend_from_slice(json.as_bytes());
                out.push(b'}');
            }
        }
    }

    /// The event without the `TimeGenerated` the encoder put in front (a cut field stays cut).
    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(rest) = record.strip_prefix(TIME_PREFIX) else { return Cow::Borrowed(record) };
        let Some(end) = memchr::memchr(b'"', rest) else { return Cow::Borrowed(record) };
        let rest = &rest[end + 1..];
        let rest = rest.strip_prefix(b",").unwrap_or(rest);
        let mut original = Vec::with_capacity(rest.len() + 1);
        original.push(b'{');
        original.extend_from_slice(rest);
        Cow::Owned(original)
    }

    fn truncated(&self) -> u64 {
        self.truncated.load(Ordering::Relaxed)
    }
}

impl SentinelEncoder {
    /// Writes the fields of `json` after `TimeGenerated`, each over the limit cut, and the list
    /// of cut fields; `false` (nothing written) when no field is over the limit or `json` is not
    /// an object.
    fn shorten(&self, json: &str, out: &mut Vec<u8>) -> bool {
        let Ok(TopLevel(fields)) = serde_json::from_str::<TopLevel<'_>>(json) else { return false };
        if fields.iter().all(|(_, value)| value.get().len() <= FIELD_MAX_BYTES) {
            return false;
        }
        let mut cut = Vec::new();
        for (name, value) in &fields {
            out.extend_from_slice(b",\"");
            escape_json_into(name.as_bytes(), out);
            out.extend_from_slice(b"\":");
            let text = value.get();
            if text.len() <= FIELD_MAX_BYTES {
                out.extend_from_slice(text.as_bytes());
                continue;
            }
            // A string keeps its own text; anything else its JSON text, as a string.
            let inner: Cow<'_, str> =
                serde_json::from_str::<Cow<'_, str>>(text).unwrap_or(Cow::Borrowed(text));
            write_cut(&inner, text.len(), out);
            cut.push(name.as_str());
        }
        out.extend_from_slice(b",\"");
        out.extend_from_slice(TRUNCATED_COLUMN.as_bytes());
        out.extend_from_slice(b"\":[");
        for (i, name) in cut.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            escape_json_into(name.as_bytes(), out);
            out.push(b'"');
        }
        out.extend_from_slice(b"]}");
        self.truncated.fetch_add(cut.len() as u64, Ordering::Relaxed);
        let uid = crate::event::metadata_uid(json);
        tracing::warn!(
            sink = NAME,
            event_uid = uid.as_deref().unwrap_or(""),
            fields = %cut.join(","),
            "Fields over Azure Monitor's 64 KB limit were cut to {FIELD_KEEP_BYTES} bytes (listed in {TRUNCATED_COLUMN})."
        );
        true
    }
}

/// Writes `text` as a JSON string of at most [`FIELD_KEEP_BYTES`], cut on a character boundary,
/// ending with a marker giving the original length.
fn write_cut(text: &str, original_len: usize, out: &mut Vec<u8>) {
    let marker = format!("…[cut by audit-relay: {original_len} bytes]");
    let room = FIELD_KEEP_BYTES - marker.len() - 2;
    out.push(b'"');
    let start = out.len();
    for c in text.chars() {
        let mut buffer = [0u8; 4];
        let before = out.len();
        escape_json_into(c.encode_utf8(&mut buffer).as_bytes(), out);
        if out.len() - start > room {
            out.truncate(before);
            break;
        }
    }
    escape_json_into(marker.as_bytes(), out);
    out.push(b'"');
}

/// The top-level fields of a JSON object, in order, each value as its JSON text.
struct TopLevel<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(TopLevel(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

#[cfg(any(test, feature = "schema-validation"))]
pub mod table;
#[cfg(test)]
mod tests;
