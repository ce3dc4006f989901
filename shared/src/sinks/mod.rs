//! SIEM sinks: one file a sink, each owning its encoder (api-contracts.md §8 Splunk HEC, §9.1 SecOps
//! webhook, §10 Datadog), its request limits and its classification of responses (deliver, retry,
//! give up). The delivery engine ([`crate::delivery`]) does the batching, compression, retries and
//! dead-lettering for all of them.
//!
//! A sink splits into two parts:
//! * an [`Encoder`], made once per delivery run for its source and format, which appends one event
//!   as one *record* to a request body, and can give the original event text back from a record
//!   (for the dead-letter store and for resending part of a batch);
//! * the [`Sink`] itself, which sends a finished body and says what the response means ([`Reply`]).
//!
//! Each sink module owns its name, its settings (read from the environment by the sink itself, as a
//! [`SinkSettings`]), its limits, encoder and response rules; `registry.rs` lists them for
//! `SIEM_TYPE`. Adding a sink: its module, one line in the registry, its section in docs/sinks.md.

pub mod datadog;
pub mod elasticsearch;
pub mod firehose;
pub mod http;
mod registry;
pub mod secops_api;
pub mod secops_webhook;
pub mod sentinel;
pub mod splunk_hec;
pub mod stdout;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;

use crate::backoff::parse_retry_after;
use crate::env::{ConfigError, EnvReader};
use crate::event::{OutboundEvent, OutputFormat, Source};
use crate::probe::Probe;
use crate::secret::Secret;

/// `SIEM_TYPE`: which sink receives the events.
pub const SIEM_TYPE: &str = "SIEM_TYPE";
/// `SIEM_URL`: the sink's endpoint.
pub const SIEM_URL: &str = "SIEM_URL";
/// `SIEM_TOKEN`: the sink's credential.
pub const SIEM_TOKEN: &str = "SIEM_TOKEN";
/// The sink when `SIEM_TYPE` is unset.
const DEFAULT_SINK: &str = "stdout";

/// How many bytes of a response body are read (enough for any error document the sinks parse).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// How many bytes of a response body are kept in a [`Reply`]'s summary (logs, dead-letter metadata).
pub(crate) const RESPONSE_SUMMARY_BYTES: usize = 256;

/// Why a sink could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A credential cannot be sent as an HTTP header (it holds control characters).
    #[error("{sink}: {variable} is not a valid HTTP header value")]
    InvalidHeader {
        /// The sink.
        sink: &'static str,
        /// The variable holding the credential (its value is never shown).
        variable: &'static str,
    },
    /// A credential is present but unusable (e.g. a service-account key that does not parse).
    #[error("{sink}: {variable} is not usable: {reason}")]
    Credential {
        /// The sink.
        sink: &'static str,
        /// The variable holding the credential (its value is never shown).
        variable: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A sink's own request limits. The engine applies the lower of these and `BATCH_MAX_BYTES` /
/// `BATCH_MAX_EVENTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkLimits {
    /// Cap on one request's uncompressed body, framing included.
    pub max_body_bytes: usize,
    /// Cap on events in one request.
    pub max_events: usize,
    /// Cap on one encoded record; a larger event is dead-lettered, never sent.
    pub max_record_bytes: usize,
}

/// How records are put together into one body: `prefix record (separator record)* suffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// Written before the first record (`[` for a JSON array).
    pub prefix: &'static [u8],
    /// Written between two records.
    pub separator: &'static [u8],
    /// Written after the last record.
    pub suffix: &'static [u8],
}

impl Framing {
    /// Newline-delimited records, a newline after the last one too (NDJSON, HEC).
    pub const LINES: Framing = Framing { prefix: b"", separator: b"\n", suffix: b"\n" };
    /// A JSON array (Datadog).
    pub const JSON_ARRAY: Framing = Framing { prefix: b"[", separator: b",", suffix: b"]" };
}

/// What an encoder needs to know about the run: which source the events come from and in which
/// format they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeContext {
    /// The source of every event of the run.
    pub source: Source,
    /// The events' format (`SIEM_FORMAT`).
    pub format: OutputFormat,
}

/// Turns events into records of a request body. Pure: no I/O.
pub trait Encoder: Send + Sync {
    /// How records are joined into a body.
    fn framing(&self) -> Framing;
    /// Appends `event` as one record to `out` (no separator: the engine writes those).
    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>);
    /// The original event text (`OutboundEvent::json`) of a record this encoder wrote.
    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]>;
    /// Fields this encoder has cut so far to fit the sink's per-field limit (Sentinel).
    fn truncated(&self) -> u64 {
        0
    }
}

/// What a request's response means for the batch it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every event was accepted.
    Delivered,
    /// Nothing was accepted, and sending again later may work (timeouts, 408, 429, 5xx, busy).
    Retry,
    /// Nothing was accepted, and sending again will not help (bad credential, bad request).
    Reject,
    /// The first `accepted` records were accepted, record `accepted` was refused for good and the
    /// records after it were not processed (Splunk HEC code 6 `invalid-event-number`).
    Partial {
        /// Records accepted, and the index of the refused one.
        accepted: usize,
    },
    /// The sink answered for each record ([`Reply::items`], one per record in body order): the
    /// engine counts the delivered ones, dead-letters the refused ones with their reasons and
    /// sends the others again (Elasticsearch `_bulk`).
    Items,
    /// Nothing was accepted because the request was too large (413): the engine sends each half
    /// of the batch as a batch of its own; a single event too large is dead-lettered.
    TooLarge,
}

/// What the sink said about one record of a batch ([`Verdict::Items`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Stored (or already stored: a resend of a record the sink has).
    Delivered,
    /// Not stored, and sending it again later may work.
    Retry,
    /// Refused for good, for this reason (printable, no credential).
    Refused(String),
}

/// The outcome of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What the engine does next.
    pub verdict: Verdict,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The server's `Retry-After`, when sent and valid.
    pub retry_after: Option<Duration>,
    /// Status and the first bytes of the body (or the transport error), printable ASCII, no
    /// credential: for logs and dead-letter metadata.
    pub summary: String,
    /// With [`Verdict::Items`]: the outcome of each record, in body order.
    pub items: Vec<ItemOutcome>,
}

impl Reply {
    /// A reply without an HTTP response (transport error, timeout, a local sink).
    pub fn local(verdict: Verdict, summary: impl Into<String>) -> Self {
        Self { verdict, status: None, retry_after: None, summary: summary.into(), items: Vec::new() }
    }
}

/// A SIEM endpoint: its limits, its encoder, and one request.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The sink's name, as in `SIEM_TYPE`.
    fn name(&self) -> &'static str;
    /// What to check when the SIEM answers 401 or 403 (names variables, never values).
    fn credential_hint(&self) -> &'static str {
        "SIEM_TOKEN is wrong, expired or revoked, or lacks the right to write to SIEM_URL"
    }
    /// The sink's own request limits.
    fn limits(&self) -> SinkLimits;
    /// Whether request bodies are gzip-compressed (the engine compresses, once per body).
    fn gzip(&self) -> bool;
    /// The encoder for one run's events.
    fn encoder(&self, context: EncodeContext) -> Arc<dyn Encoder>;
    /// Sends one body (compressed when [`Sink::gzip`]) of `events` records within `timeout`.
    async fn send(&self, body: Bytes, events: usize, timeout: Duration) -> Reply;
    /// One cheap authenticated request that delivers nothing (`audit-relay check`): whether the
    /// SIEM answers and takes the credential.
    async fn check(&self, timeout: Duration) -> Probe;
}

/// One sink's validated settings, read from the environment by the sink's own module.
pub trait SinkSettings: fmt::Debug + Send + Sync {
    /// The sink's name, as in `SIEM_TYPE`.
    fn name(&self) -> &'static str;
    /// The output format when `SIEM_FORMAT` is `chosen` (`None`: unset), or why this sink cannot
    /// take that format.
    fn format(&self, chosen: Option<OutputFormat>) -> Result<OutputFormat, &'static str> {
        Ok(chosen.unwrap_or(OutputFormat::Ocsf))
    }
    /// The sink, sending through `http`.
    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError>;
}

/// What a sink's settings loader returns.
pub(crate) type LoadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<dyn SinkSettings>, ConfigError>> + Send + 'a>>;

/// A sink `SIEM_TYPE` can name: its name and how it reads its settings.
pub(crate) struct SinkKind {
    /// The `SIEM_TYPE` value.
    pub(crate) name: &'static str,
    /// Reads and validates the sink's settings.
    pub(crate) load: for<'a> fn(&'a EnvReader) -> LoadFuture<'a>,
}

/// The settings of the sink `SIEM_TYPE` names (default `stdout`), read by that sink.
pub async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
    let name = env.string(SIEM_TYPE).map_or_else(|| DEFAULT_SINK.to_string(), |v| v.to_ascii_lowercase());
    match registry::SINKS.iter().find(|kind| kind.name == name) {
        Some(kind) => (kind.load)(env).await,
        None => {
            let names: Vec<&str> = registry::SINKS.iter().map(|kind| kind.name).collect();
            Err(ConfigError::invalid(SIEM_TYPE, name, &format!("expected one of {}", names.join(", "))))
        }
    }
}

/// `SIEM_URL`, required by the sink `sink`.
pub(crate) fn required_url(env: &EnvReader, sink: &str) -> Result<url::Url, ConfigError> {
    env.endpoint_url(SIEM_URL)?
        .ok_or_else(|| ConfigError::missing(SIEM_URL, &format!("when SIEM_TYPE is {sink}")))
}

/// The credential `variable` (or `variable_SECRET_ARN`), required by the sink `sink`.
pub(crate) async fn required_credential(
    env: &EnvReader,
    variable: &str,
    sink: &str,
) -> Result<Secret, ConfigError> {
    env.credential(variable).await?.ok_or_else(|| {
        ConfigError::missing(variable, &format!("(or {variable}_SECRET_ARN) when SIEM_TYPE is {sink}"))
    })
}

/// The HTTP client every sink shares: rustls with certificate validation, `request_timeout`,
/// and the user agent `audit-relay/<version>`.
pub fn http_client(request_timeout: Duration) -> Result<reqwest::Client, SinkError> {
    reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("audit-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(SinkError::Client)
}

/// Records that are the events themselves, one a line (`http`, `secops_webhook`, `stdout`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NdjsonEncoder;

impl Encoder for NdjsonEncoder {
    fn framing(&self) -> Framing {
        Framing::LINES
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(event.json.as_bytes());
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(record)
    }
}

/// A credential as a sensitive header value (redacted from the HTTP client's debug output).
fn secret_header(
    secret: &Secret,
    prefix: &str,
    sink: &'static str,
    variable: &'static str,
) -> Result<HeaderValue, SinkError> {
    let mut value = HeaderValue::from_str(&format!("{prefix}{}", secret.expose()))
        .map_err(|_| SinkError::InvalidHeader { sink, variable })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A response as far as the sinks need it.
#[derive(Debug)]
pub(crate) struct HttpReply {
    /// The status.
    pub status: StatusCode,
    /// `Retry-After`, parsed.
    pub retry_after: Option<Duration>,
    /// The start of the body ([`MAX_RESPONSE_BYTES`] unless the sink asked for more).
    pub body: Vec<u8>,
}

/// Sends a request built by a sink and reads the start of the response. A transport error or a
/// timeout becomes a [`Verdict::Retry`] reply (never showing the URL, which may carry a key).
pub(crate) async fn execute(request: reqwest::RequestBuilder, timeout: Duration) -> Result<HttpReply, Reply> {
    execute_reading(request, timeout, MAX_RESPONSE_BYTES).await
}

/// [`execute`], reading up to `max_body` bytes of the response (a sink that parses a result per
/// event needs more than an error document).
pub(crate) async fn execute_reading(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    max_body: usize,
) -> Result<HttpReply, Reply> {
    let transport = |e: reqwest::Error| {
        let kind = if e.is_timeout() { "timeout" } else { "transport error" };
        let text = format!("{kind}: {}", crate::errors::chain(&e.without_url()));
        // Printable ASCII first, so that any cut falls on a character boundary.
        let mut text = sanitize(&text, &[]);
        text.truncate(RESPONSE_SUMMARY_BYTES);
        Reply::local(Verdict::Retry, text)
    };
    let mut response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    let mut body = Vec::new();
    while body.len() < max_body {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max_body - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            // The status is what counts; a body cut short only shortens the summary.
            Err(_) => break,
        }
    }
    Ok(HttpReply { status, retry_after, body })
}

/// What to check when a check request gets no answer at all.
pub(crate) const UNREACHABLE_HINT: &str =
    "SIEM_URL cannot be reached from here: check the host, port, DNS, TLS and the network path (VPC, proxy, firewall)";

/// Sends a check request: the response, or a failed [`Probe`] naming `target` when nothing
/// answered (transport error, timeout).
pub(crate) async fn check_request(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    target: &str,
) -> Result<HttpReply, Probe> {
    execute(request, timeout).await.map_err(|reply| Probe::failed(target, reply.summary, UNREACHABLE_HINT))
}

/// The verdict most HTTP APIs call for: 2xx delivered; 408, 429 and 5xx retried; anything else
/// (other 4xx, unexpected 1xx/3xx) given up.
pub(crate) fn classify_status(status: StatusCode) -> Verdict {
    if status.is_success() {
        Verdict::Delivered
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Verdict::Retry
    } else {
        Verdict::Reject
    }
}

impl HttpReply {
    /// `"<status>: <first 256 bytes of the body>"` (just the status when the body is empty),
    /// printable ASCII, with `secrets` masked.
    pub(crate) fn summary(&self, secrets: &[&Secret]) -> String {
        let head = &self.body[..self.body.len().min(RESPONSE_SUMMARY_BYTES)];
        let text = String::from_utf8_lossy(head);
        match text.trim() {
            "" => self.status.as_u16().to_string(),
            text => sanitize(&format!("{}: {text}", self.status.as_u16()), secrets),
        }
    }

    /// A reply with `verdict` and this response's status, `Retry-After` and summary.
    pub(crate) fn reply(&self, verdict: Verdict, secrets: &[&Secret]) -> Reply {
        Reply {
            verdict,
            status: Some(self.status.as_u16()),
            retry_after: self.retry_after,
            summary: self.summary(secrets),
            items: Vec::new(),
        }
    }
}

/// Printable ASCII only (anything else becomes `?`), each non-empty secret replaced by `***`.
pub(crate) fn sanitize(text: &str, secrets: &[&Secret]) -> String {
    let mut text = Cow::Borrowed(text);
    for secret in secrets {
        let value = secret.expose();
        if !value.is_empty() && text.contains(value) {
            text = Cow::Owned(text.replace(value, "***"));
        }
    }
    text.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' }).collect()
}

/// `s` as a JSON string literal, quotes included.
fn json_string(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    escape_json_into(s.as_bytes(), &mut out);
    out.push(b'"');
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends the JSON string escape of `text` (valid UTF-8) to `out`, without quotes.
pub(crate) fn escape_json_into(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + text.len() / 8 + 2);
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

/// Appends the decimal digits of `n`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification_table() {
        let cases = [
            (200, Verdict::Delivered),
            (202, Verdict::Delivered),
            (204, Verdict::Delivered),
            (301, Verdict::Reject),
            (400, Verdict::Reject),
            (401, Verdict::Reject),
            (403, Verdict::Reject),
            (404, Verdict::Reject),
            (408, Verdict::Retry),
            (413, Verdict::Reject),
            (429, Verdict::Retry),
            (500, Verdict::Retry),
            (502, Verdict::Retry),
            (503, Verdict::Retry),
            (504, Verdict::Retry),
        ];
        for (status, verdict) in cases {
            let code = StatusCode::from_u16(status).unwrap();
            assert_eq!(classify_status(code), verdict, "{status}");
        }
    }

    #[test]
    fn json_escaping_round_trips_through_serde() {
        for text in ["plain", r#"{"a":"b\"c","d":"\\"}"#, "tab\tnl\ncr\r\u{1}\u{1f}", "ünï©ødé ✓", ""]
        {
            let mut out = Vec::new();
            escape_json_into(text.as_bytes(), &mut out);
            let quoted = format!("\"{}\"", String::from_utf8(out).unwrap());
            assert_eq!(serde_json::from_str::<String>(&quoted).unwrap(), text);
            assert_eq!(json_string(text), serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn decimal_digits() {
        for n in [0u64, 7, 10, 1_426_279_439, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn sanitize_masks_secrets_and_non_ascii() {
        let token = Secret::new("tok-123");
        assert_eq!(sanitize("bad token tok-123\n\u{e9}\u{7}x", &[&token]), "bad token ***???x");
        assert_eq!(sanitize("ok", &[&Secret::new("")]), "ok");
    }
}
