//! Elasticsearch and OpenSearch `_bulk` API (self-managed, Elastic Cloud, Amazon OpenSearch
//! Service).
//!
//! `POST <SIEM_URL>/_bulk` with `Content-Type: application/x-ndjson` (gzip unless `ELASTIC_GZIP`
//! is false): for each event a `create` action naming the index and a deterministic `_id`, then
//! the event itself. The `_id` is derived from the source and the event's `metadata.uid` (the
//! whole event text when it has none), so an event sent again (a resend after a timeout, a
//! replay) is answered `409 version_conflict_engine_exception` and counted as delivered: stored
//! once. `create` is also the only action data streams take.
//!
//! The response says what became of each event: 2xx and 409 are delivered, 429 and 5xx are sent
//! again (with backoff), anything else (a mapping error, 400) is dead-lettered with the item's
//! error. A 413 splits the batch; 401/403 are a refused credential.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::Deserialize;

use super::{
    check_request, classify_status, escape_json_into, execute_reading, required_credential, required_url,
    sanitize, secret_header, EncodeContext, Encoder, Framing, ItemOutcome, Reply, Sink, SinkError, SinkKind,
    SinkLimits, SinkSettings, Verdict, RESPONSE_SUMMARY_BYTES, SIEM_TOKEN,
};
use crate::aws::AWS_REGION;
use crate::env::{ConfigError, EnvReader};
use crate::event::{OutboundEvent, Source};
use crate::hash::sha256_hex;
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

const NAME: &str = "elasticsearch";

/// `ELASTIC_INDEX`: the index or data stream, with `{source}` and `%Y`, `%m`, `%d` (UTC, from
/// the event's time) filled in.
pub(crate) const ELASTIC_INDEX: &str = "ELASTIC_INDEX";
/// `ELASTIC_PIPELINE`: an ingest pipeline every event goes through.
pub(crate) const ELASTIC_PIPELINE: &str = "ELASTIC_PIPELINE";
/// `ELASTIC_AUTH`: `api_key`, `basic` or `aws_sigv4`.
pub(crate) const ELASTIC_AUTH: &str = "ELASTIC_AUTH";
/// `ELASTIC_USERNAME`: the user of basic authentication.
pub(crate) const ELASTIC_USERNAME: &str = "ELASTIC_USERNAME";
/// `ELASTIC_PASSWORD`: the password of basic authentication (a credential).
pub(crate) const ELASTIC_PASSWORD: &str = "ELASTIC_PASSWORD";
/// `ELASTIC_MAX_BODY_BYTES`: cap on one request's body, uncompressed.
pub(crate) const ELASTIC_MAX_BODY_BYTES: &str = "ELASTIC_MAX_BODY_BYTES";
/// `ELASTIC_GZIP`: whether bodies are gzip-compressed.
pub(crate) const ELASTIC_GZIP: &str = "ELASTIC_GZIP";

/// The index when `ELASTIC_INDEX` is unset: one a source a day (event time, UTC).
const DEFAULT_INDEX: &str = "audit-relay-{source}-%Y.%m.%d";
/// `http.max_content_length` of the smallest Amazon OpenSearch Service instances (10 MiB): the
/// default request cap.
const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Cap on events in one request.
const MAX_EVENTS: usize = 5_000;
/// How much of a `_bulk` response is read: a status (and error, when there is one) per event.
const MAX_BULK_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Only what the per-event outcome needs is asked for (`filter_path`), which keeps the response
/// small.
const FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// How requests are authenticated.
#[derive(Debug, Clone)]
enum Auth {
    /// `Authorization: ApiKey <SIEM_TOKEN>` (the API key's `encoded` value).
    ApiKey(Secret),
    /// `Authorization: Basic` with `ELASTIC_USERNAME` and `ELASTIC_PASSWORD`.
    Basic { username: String, password: Secret },
    /// AWS Signature Version 4 with the function's own credentials (Amazon OpenSearch Service
    /// `es`, OpenSearch Serverless `aoss`): no stored secret.
    AwsSigV4 { service: &'static str, region: String },
}

/// The Elasticsearch sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`: the cluster's base URL.
    url: url::Url,
    /// `ELASTIC_INDEX`, as a template.
    index: IndexName,
    /// `ELASTIC_PIPELINE`.
    pipeline: Option<String>,
    auth: Auth,
    /// `ELASTIC_MAX_BODY_BYTES`.
    max_body_bytes: usize,
    /// `ELASTIC_GZIP`.
    gzip: bool,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        let url = required_url(env, NAME)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::invalid(
                crate::sinks::SIEM_URL,
                host_of(&url),
                "expected the cluster's base URL, without query or fragment (…/_bulk is added)",
            ));
        }
        let index = env.string(ELASTIC_INDEX).unwrap_or_else(|| DEFAULT_INDEX.to_string());
        let index =
            IndexName::parse(&index).map_err(|reason| ConfigError::invalid(ELASTIC_INDEX, index, reason))?;
        let auth = match env.string(ELASTIC_AUTH).map(|a| a.to_ascii_lowercase()).as_deref() {
            None | Some("api_key") => Auth::ApiKey(required_credential(env, SIEM_TOKEN, NAME).await?),
            Some("basic") => Auth::Basic {
                username: env
                    .string(ELASTIC_USERNAME)
                    .ok_or_else(|| ConfigError::missing(ELASTIC_USERNAME, "when ELASTIC_AUTH is basic"))?,
                password: required_credential(env, ELASTIC_PASSWORD, NAME).await?,
            },
            Some("aws_sigv4") => {
                let (service, region) = aws_endpoint(&url);
                let region = match region.or_else(|| env.string(AWS_REGION)) {
                    Some(region) => region,
                    None => {
                        return Err(ConfigError::missing(
                            AWS_REGION,
                            "for ELASTIC_AUTH=aws_sigv4 when SIEM_URL is not a <domain>.<region>.es.amazonaws.com \
                             or <collection>.<region>.aoss.amazonaws.com host",
                        ))
                    }
                };
                Auth::AwsSigV4 { service, region }
            }
            Some(other) => {
                return Err(ConfigError::invalid(
                    ELASTIC_AUTH,
                    other.to_string(),
                    "expected api_key, basic or aws_sigv4",
                ))
            }
        };
        Ok(Arc::new(Self {
            url,
            index,
            pipeline: env.string(ELASTIC_PIPELINE),
            auth,
            max_body_bytes: env.positive(ELASTIC_MAX_BODY_BYTES)?.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            gzip: env.bool_or(ELASTIC_GZIP, true)?,
        }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        let (authorization, secrets) = match &self.auth {
            Auth::ApiKey(key) => {
                (Signing::Header(secret_header(key, "ApiKey ", NAME, SIEM_TOKEN)?), vec![key.clone()])
            }
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let pair = format!("{username}:{}", password.expose());
                let encoded = Secret::new(base64::engine::general_purpose::STANDARD.encode(pair));
                // A server echoing the header shows the encoded pair: it is masked too.
                let header = secret_header(&encoded, "Basic ", NAME, ELASTIC_PASSWORD)?;
                (Signing::Header(header), vec![password.clone(), encoded])
            }
            Auth::AwsSigV4 { service, region } => (
                Signing::SigV4(Box::new(SigV4 {
                    service,
                    region: region.clone(),
                    credentials: tokio::sync::OnceCell::new(),
                })),
                Vec::new(),
            ),
        };
        // SIEM_URL is an http(s) URL with a host (checked at load), so it has a path to extend.
        let mut bulk = self.url.clone();
        let base = bulk.path().trim_end_matches('/').to_string();
        bulk.set_path(&format!("{base}/_bulk"));
        let check_url = bulk.clone();
        {
            let mut query = bulk.query_pairs_mut();
            query.append_pair("filter_path", FILTER_PATH);
            if let Some(pipeline) = &self.pipeline {
                query.append_pair("pipeline", pipeline);
            }
        }
        Ok(Arc::new(ElasticsearchSink {
            http,
            bulk,
            check_url,
            authorization,
            secrets,
            index: self.index.clone(),
            max_body_bytes: self.max_body_bytes,
            gzip: self.gzip,
        }))
    }
}

/// An index or data stream name with its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexName(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Source,
    Year,
    Month,
    Day,
}

impl IndexName {
    /// Reads `{source}`, `%Y`, `%m`, `%d` (and `%%`); the rest must be what Elasticsearch takes
    /// in an index name (lowercase, no `\ / * ? " < > | , #` or space, not starting with `-`,
    /// `_` or `+`).
    fn parse(text: &str) -> Result<Self, &'static str> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let (part, len) = if rest.starts_with("{source}") {
                (Some(Part::Source), "{source}".len())
            } else if let Some(spec) = rest.strip_prefix('%') {
                match spec.chars().next() {
                    Some('Y') => (Some(Part::Year), 2),
                    Some('m') => (Some(Part::Month), 2),
                    Some('d') => (Some(Part::Day), 2),
                    Some('%') => {
                        literal.push('%');
                        (None, 2)
                    }
                    _ => return Err("only %Y, %m, %d and {source} are filled in"),
                }
            } else {
                if c.is_ascii_uppercase() || "\\/*?\"<>|, #:".contains(c) {
                    return Err("index names are lowercase, without \\ / * ? \" < > | , # : or spaces");
                }
                literal.push(c);
                (None, c.len_utf8())
            };
            if let Some(part) = part {
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(part);
            }
            rest = &rest[len..];
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        match parts.first() {
            None => Err("empty"),
            Some(Part::Text(t)) if t.starts_with(['-', '_', '+']) => {
                Err("index names do not start with -, _ or +")
            }
            _ => Ok(Self(parts)),
        }
    }

    /// The name for an event of `source` at `time_ms`.
    fn render(&self, source: Source, time_ms: i64, out: &mut String) {
        let date = time::OffsetDateTime::from_unix_timestamp(time_ms.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        for part in &self.0 {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Source => out.push_str(source.as_str()),
                // Writing to a String cannot fail.
                Part::Year => _ = write!(out, "{:04}", date.year()),
                Part::Month => _ = write!(out, "{:02}", u8::from(date.month())),
                Part::Day => _ = write!(out, "{:02}", date.day()),
            }
        }
    }
}

/// The Elasticsearch / OpenSearch sink.
struct ElasticsearchSink {
    http: reqwest::Client,
    /// `<SIEM_URL>/_bulk?filter_path=…[&pipeline=…]`.
    bulk: url::Url,
    /// `<SIEM_URL>/_bulk` without parameters, for the check.
    check_url: url::Url,
    authorization: Signing,
    /// The credentials, masked in every summary.
    secrets: Vec<Secret>,
    index: IndexName,
    max_body_bytes: usize,
    gzip: bool,
}

#[async_trait]
impl Sink for ElasticsearchSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "the API key (SIEM_TOKEN), ELASTIC_USERNAME/ELASTIC_PASSWORD or the function's role (aws_sigv4) is \
         wrong, expired, or lacks the create_doc (or index) privilege on ELASTIC_INDEX"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits {
            max_body_bytes: self.max_body_bytes,
            max_events: MAX_EVENTS,
            // An action line is at most ~600 bytes (the index name is at most 255).
            max_record_bytes: self.max_body_bytes.saturating_sub(1024),
        }
    }

    fn gzip(&self) -> bool {
        self.gzip
    }

    fn encoder(&self, context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(BulkEncoder { index: self.index.clone(), source: context.source })
    }

    async fn send(&self, body: Bytes, events: usize, timeout: Duration) -> Reply {
        let mut headers = vec![(CONTENT_TYPE.as_str(), "application/x-ndjson")];
        if self.gzip {
            headers.push((CONTENT_ENCODING.as_str(), "gzip"));
        }
        let request = match self.request(&self.bulk, &headers, &body).await {
            Ok(request) => request,
            Err(reply) => return reply,
        };
        let response = match execute_reading(request.body(body), timeout, MAX_BULK_RESPONSE_BYTES).await {
            Ok(response) => response,
            Err(reply) => return reply,
        };
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        if response.status == StatusCode::PAYLOAD_TOO_LARGE {
            return response.reply(Verdict::TooLarge, &secrets);
        }
        if !response.status.is_success() {
            return response.reply(classify_status(response.status), &secrets);
        }
        let mut reply = response.reply(Verdict::Delivered, &secrets);
        match serde_json::from_slice::<BulkResponse>(&response.body) {
            Ok(BulkResponse { errors: false, .. }) => reply,
            Ok(BulkResponse { items, .. }) if items.len() == events => {
                reply.items = items.iter().map(|item| item.outcome(&secrets)).collect();
                reply.verdict = Verdict::Items;
                reply
            }
            // Not the answer for this batch (or cut short): sending again is safe, as every
            // event has its `_id`.
            Ok(BulkResponse { items, .. }) => {
                reply.verdict = Verdict::Retry;
                reply.summary = format!("_bulk answered for {} of {events} events", items.len());
                reply
            }
            Err(e) => {
                reply.verdict = Verdict::Retry;
                reply.summary = format!("{}: unreadable _bulk response: {e}", response.status.as_u16());
                reply
            }
        }
    }

    /// `POST <SIEM_URL>/_bulk` with the credential and an empty body: the cluster authenticates
    /// the request first (401) and then refuses the empty body (400), indexing nothing.
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.check_url);
        let headers = [(CONTENT_TYPE.as_str(), "application/x-ndjson")];
        let request = match self.request(&self.check_url, &headers, &[]).await {
            Ok(request) => request,
            Err(reply) => return Probe::failed(target, reply.summary, self.credential_hint()),
        };
        let response = match check_request(request, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let secrets: Vec<&Secret> = self.secrets.iter().collect();
        let summary = response.summary(&secrets);
        match response.status.as_u16() {
            400 | 200 => Probe::passed(target, format!("credential accepted ({summary})")),
            401 | 403 => Probe::failed(target, summary, self.credential_hint()),
            404 => Probe::failed(target, summary, "no _bulk API at SIEM_URL: give the cluster's base URL"),
            _ => Probe::failed(target, summary, "the cluster answers with an error"),
        }
    }
}

impl ElasticsearchSink {
    /// A `POST url` with `headers` and the credential: the fixed header, or a SigV4 signature
    /// over the method, URL, headers and `body` (the bytes sent, compressed or not).
    async fn request(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder, Reply> {
        let mut request = self.http.post(url.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        match &self.authorization {
            Signing::Header(value) => Ok(request.header(AUTHORIZATION, value.clone())),
            Signing::SigV4(signer) => {
                let signed = signer.sign(url, headers, body).await.map_err(|reason| {
                    Reply::local(Verdict::Retry, format!("could not sign the request: {reason}"))
                })?;
                for (name, value) in signed {
                    request = request.header(name, value);
                }
                Ok(request)
            }
        }
    }
}

/// How a request carries the credential.
enum Signing {
    /// A fixed `Authorization` header (API key, basic).
    Header(HeaderValue),
    /// A signature per request.
    SigV4(Box<SigV4>),
}

/// Signs requests with the function's AWS credentials (from the SDK's default chain: the Lambda
/// role's, or the environment's).
struct SigV4 {
    service: &'static str,
    region: String,
    credentials: tokio::sync::OnceCell<Option<aws_credential_types::provider::SharedCredentialsProvider>>,
}

impl SigV4 {
    /// The headers that sign a `POST url` with `headers` and `body`: `authorization`,
    /// `x-amz-date`, `x-amz-content-sha256` (which OpenSearch Serverless requires) and, with
    /// temporary credentials, `x-amz-security-token`.
    async fn sign(
        &self,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(&'static str, HeaderValue)>, String> {
        use aws_credential_types::provider::ProvideCredentials as _;
        use aws_sigv4::http_request::{
            sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
        };

        let provider = self
            .credentials
            .get_or_init(|| async { crate::aws::sdk_config().await.credentials_provider() })
            .await
            .as_ref()
            .ok_or("no AWS credentials are configured")?;
        let credentials =
            provider.provide_credentials().await.map_err(|e| format!("AWS credentials: {e}"))?;
        let identity = credentials.into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(std::time::SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let signable =
            SignableRequest::new("POST", url.as_str(), headers.iter().copied(), SignableBody::Bytes(body))
                .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
        let (signed, _) = instructions.into_parts();
        signed
            .into_iter()
            .map(|header| {
                let mut value = HeaderValue::from_str(header.value()).map_err(|e| e.to_string())?;
                value.set_sensitive(header.sensitive() || header.name() == "authorization");
                Ok((header.name(), value))
            })
            .collect()
    }
}

/// The service (`aoss` for `*.aoss.amazonaws.com`, else `es`) and, from an Amazon OpenSearch
/// Service or Serverless host name, the region.
fn aws_endpoint(url: &url::Url) -> (&'static str, Option<String>) {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    for (suffix, service) in [(".aoss.amazonaws.com", "aoss"), (".es.amazonaws.com", "es")] {
        if let Some(rest) = host.strip_suffix(suffix) {
            let region = rest.rsplit('.').next().filter(|r| !r.is_empty() && *r != rest);
            return (service, region.map(str::to_owned));
        }
    }
    ("es", None)
}

/// Writes each event as `{"create":{"_index":…,"_id":…}}` and the event on the next line.
struct BulkEncoder {
    index: IndexName,
    source: Source,
}

impl Encoder for BulkEncoder {
    fn framing(&self) -> Framing {
        Framing::LINES
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        let mut index = String::with_capacity(48);
        self.index.render(self.source, event.time_ms, &mut index);
        out.extend_from_slice(b"{\"create\":{\"_index\":\"");
        escape_json_into(index.as_bytes(), out);
        out.extend_from_slice(b"\",\"_id\":\"");
        out.extend_from_slice(document_id(self.source, &event.json).as_bytes());
        out.extend_from_slice(b"\"}}\n");
        out.extend_from_slice(event.json.as_bytes());
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        match memchr::memchr(b'\n', record) {
            Some(at) => Cow::Borrowed(&record[at + 1..]),
            None => Cow::Borrowed(record),
        }
    }
}

/// The `_id` of an event: SHA-256 of the source and the event's `metadata.uid` (of the whole
/// event text when it has none), as 32 hex digits (128 bits).
fn document_id(source: Source, json: &str) -> String {
    let uid = crate::event::metadata_uid(json);
    let source = source.as_str().as_bytes();
    match &uid {
        Some(uid) => sha256_hex(&[source, b"\nuid\n", uid.as_bytes()], 16),
        None => sha256_hex(&[source, b"\nevent\n", json.as_bytes()], 16),
    }
}

/// The part of a `_bulk` response read (`filter_path` keeps it to this).
#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<BulkItem>,
}

/// One item of the response: `{"create": {"status": …, "error": …}}`.
#[derive(Deserialize)]
struct BulkItem {
    #[serde(default)]
    create: Option<BulkResult>,
}

#[derive(Deserialize)]
struct BulkResult {
    status: u16,
    error: Option<BulkError>,
}

#[derive(Deserialize)]
struct BulkError {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
}

impl BulkItem {
    /// What became of the event; an item without a `create` result is sent again.
    fn outcome(&self, secrets: &[&Secret]) -> ItemOutcome {
        let Some(result) = &self.create else {
            return ItemOutcome::Retry;
        };
        match result.status {
            200..=299 | 409 => ItemOutcome::Delivered,
            429 | 500..=599 => ItemOutcome::Retry,
            status => {
                let error = result.error.as_ref();
                let kind = error.and_then(|e| e.kind.as_deref()).unwrap_or("error");
                let reason = error.and_then(|e| e.reason.as_deref()).unwrap_or("");
                let mut text = sanitize(&format!("{status} {kind}: {reason}"), secrets);
                text.truncate(RESPONSE_SUMMARY_BYTES);
                ItemOutcome::Refused(text.trim_end_matches([' ', ':']).to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests;
