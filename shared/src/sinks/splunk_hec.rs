//! Splunk HTTP Event Collector, JSON endpoint (api-contracts.md §8).
//!
//! `POST SIEM_URL` (the full `/services/collector/event` URL) with `Authorization: Splunk <token>`
//! and a gzip body of envelopes, one a line:
//! `{"time":<epoch s.ms>,"host":…,"source":"audit-relay:<source>","sourcetype":…,"index":…,"event":<event>}`.
//! `time` is left out when the event has none (HEC then uses the arrival time), `index` when
//! `SPLUNK_INDEX` is unset (the token's default index). `sourcetype` is `SPLUNK_SOURCETYPE`, else
//! `ocsf` for OCSF events and the source's native sourcetype (`aws:cloudtrail`) for raw ones.
//!
//! Responses are classified by their HEC `code` ([`classify`]): busy/unhealthy/internal (8, 9,
//! 18–20) are retried; token, index and channel errors are logged as errors and the batch is
//! dead-lettered; code 6 with `invalid-event-number` n means the events before n were indexed, event
//! n is dead-lettered and the rest are sent again. Indexer acknowledgement is not used (Splunk Cloud
//! offers it only to Firehose): a 200 counts as delivered.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;

use super::{
    check_request, classify_status, execute, json_string, push_decimal, required_credential, required_url,
    secret_header, EncodeContext, Encoder, Framing, Reply, Sink, SinkError, SinkKind, SinkLimits,
    SinkSettings, Verdict, SIEM_TOKEN,
};
use crate::env::{ConfigError, EnvReader};
use crate::event::{OutboundEvent, OutputFormat, Source};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

/// Default cap on one request body: the 1 MB commonly quoted for Splunk Cloud.
pub(crate) const MAX_BODY_BYTES: usize = 1_000_000;
/// `sourcetype` of OCSF events when `SPLUNK_SOURCETYPE` is unset.
pub(crate) const DEFAULT_OCSF_SOURCETYPE: &str = "ocsf";
const NAME: &str = "splunk_hec";

/// `SPLUNK_INDEX`: HEC index.
pub(crate) const SPLUNK_INDEX: &str = "SPLUNK_INDEX";
/// `SPLUNK_SOURCETYPE`: HEC sourcetype.
pub(crate) const SPLUNK_SOURCETYPE: &str = "SPLUNK_SOURCETYPE";
/// `SPLUNK_HOST`: HEC host field.
pub(crate) const SPLUNK_HOST: &str = "SPLUNK_HOST";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The HEC sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`: the full `/services/collector/event` URL.
    url: url::Url,
    /// `SIEM_TOKEN`: the HEC token.
    token: Secret,
    /// `SPLUNK_INDEX`: omitted when unset (the token's default index).
    index: Option<String>,
    /// `SPLUNK_SOURCETYPE`: default `ocsf` for OCSF output, the source's native sourcetype for raw.
    sourcetype: Option<String>,
    /// `SPLUNK_HOST`: default the Lambda function name, else `audit-relay`.
    host: String,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        Ok(Arc::new(Self {
            url: required_url(env, NAME)?,
            token: required_credential(env, SIEM_TOKEN, NAME).await?,
            index: env.string(SPLUNK_INDEX),
            sourcetype: env.string(SPLUNK_SOURCETYPE),
            host: env
                .string(SPLUNK_HOST)
                .or_else(|| env.string("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "audit-relay".to_string()),
        }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(SplunkHecSink::new(self, http)?))
    }
}

/// The Splunk HEC sink.
pub(crate) struct SplunkHecSink {
    http: reqwest::Client,
    url: url::Url,
    authorization: HeaderValue,
    token: Secret,
    host: String,
    sourcetype: Option<String>,
    index: Option<String>,
}

impl SplunkHecSink {
    /// A sink posting to the settings' URL with their token.
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, SinkError> {
        Ok(Self {
            http,
            url: settings.url.clone(),
            authorization: secret_header(&settings.token, "Splunk ", NAME, SIEM_TOKEN)?,
            token: settings.token.clone(),
            host: settings.host.clone(),
            sourcetype: settings.sourcetype.clone(),
            index: settings.index.clone(),
        })
    }
}

/// The native sourcetype of a source's raw records.
fn raw_sourcetype(source: Source) -> &'static str {
    match source.as_str() {
        "cloudtrail" => "aws:cloudtrail",
        _ => "_json",
    }
}

#[async_trait]
impl Sink for SplunkHecSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "SIEM_TOKEN is not an enabled HEC token (Splunk answers 401 for an unknown or disabled token, 403 for a token not allowed SPLUNK_INDEX)"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits { max_body_bytes: MAX_BODY_BYTES, max_events: usize::MAX, max_record_bytes: usize::MAX }
    }

    fn gzip(&self) -> bool {
        true
    }

    fn encoder(&self, context: EncodeContext) -> Arc<dyn Encoder> {
        let sourcetype = self.sourcetype.clone().unwrap_or_else(|| match context.format {
            OutputFormat::Ocsf => DEFAULT_OCSF_SOURCETYPE.to_string(),
            OutputFormat::Udm => "udm".to_string(),
            OutputFormat::Raw => raw_sourcetype(context.source).to_string(),
        });
        let mut fields = format!(
            ",\"host\":{},\"source\":{},\"sourcetype\":{}",
            json_string(&self.host),
            json_string(&format!("audit-relay:{}", context.source)),
            json_string(&sourcetype),
        );
        if let Some(index) = &self.index {
            fields.push_str(&format!(",\"index\":{}", json_string(index)));
        }
        fields.push_str(",\"event\":");
        Arc::new(HecEncoder { fields: fields.into_bytes() })
    }

    async fn send(&self, body: Bytes, _events: usize, timeout: Duration) -> Reply {
        let request = self
            .http
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, "gzip")
            .body(body);
        let response = match execute(request, timeout).await {
            Ok(response) => response,
            Err(reply) => return reply,
        };
        let secrets = [&self.token];
        let (verdict, hec) = classify(response.status, &response.body);
        if let Some(HecStatus { code, text }) = hec.filter(|_| verdict == Verdict::Reject) {
            tracing::error!(
                sink = NAME,
                status = response.status.as_u16(),
                hec_code = code,
                hec_text = %super::sanitize(&text, &secrets),
                "Splunk HEC refused the batch; check the token, index and HEC settings."
            );
        }
        response.reply(verdict, &secrets)
    }

    /// `GET /services/collector/health` on SIEM_URL's host (code 17: healthy), then an empty
    /// `POST SIEM_URL` with the token: HEC checks the token before the body, so code 5 ("No data")
    /// means the token is accepted, and nothing is indexed.
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.url);
        let secrets = [&self.token];
        let mut health_url = self.url.clone();
        health_url.set_path("/services/collector/health");
        health_url.set_query(None);
        let health = match check_request(self.http.get(health_url), timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        if !health.status.is_success() {
            return Probe::failed(
                target,
                format!("health: {}", health.summary(&secrets)),
                "HEC is not enabled or not healthy at SIEM_URL's host (it answers code 17 when healthy, 18-20 when its queues are full)",
            );
        }
        let empty = self
            .http
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json");
        let token = match check_request(empty, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let summary = token.summary(&secrets);
        match classify(token.status, &token.body).1.map(|hec| hec.code) {
            Some(5) => {
                Probe::passed(target, format!("healthy; token accepted (an empty request: {summary})"))
            }
            Some(1..=4) => Probe::failed(target, summary, self.credential_hint()),
            _ if token.status.is_success() => {
                Probe::passed(target, format!("healthy; token accepted ({summary})"))
            }
            _ => Probe::failed(
                target,
                summary,
                "SIEM_URL is not a HEC event endpoint (https://<host>:8088/services/collector/event)",
            ),
        }
    }
}

/// The code and text of a HEC error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HecStatus {
    /// HEC `code`.
    pub code: i64,
    /// HEC `text`.
    pub text: String,
}

#[derive(serde::Deserialize)]
struct HecResponse {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<usize>,
}

/// What a HEC response means (§8 table), and its code and text when the body had them.
pub(crate) fn classify(status: StatusCode, body: &[u8]) -> (Verdict, Option<HecStatus>) {
    let parsed = serde_json::from_slice::<HecResponse>(body).ok();
    let hec = parsed
        .as_ref()
        .and_then(|r| r.code.map(|code| HecStatus { code, text: r.text.clone().unwrap_or_default() }));
    if status.is_success() {
        return (Verdict::Delivered, hec);
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT {
        return (Verdict::Retry, hec);
    }
    let verdict = match parsed.as_ref().and_then(|r| r.code.map(|c| (c, r.invalid_event_number))) {
        // Internal error, server busy, unhealthy (queues full, ack service unavailable).
        Some((8 | 9 | 18..=20, _)) => Verdict::Retry,
        Some((6, Some(n))) => Verdict::Partial { accepted: n },
        Some(_) => Verdict::Reject,
        None => classify_status(status),
    };
    (verdict, hec)
}

/// Writes HEC envelopes with the run's fixed fields.
struct HecEncoder {
    /// `,"host":…,"source":…,"sourcetype":…[,"index":…],"event":`
    fields: Vec<u8>,
}

impl Encoder for HecEncoder {
    fn framing(&self) -> Framing {
        Framing::LINES
    }

    fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
        out.reserve(event.json.len() + self.fields.len() + 32);
        if event.time_ms > 0 {
            let ms = event.time_ms.unsigned_abs();
            out.extend_from_slice(b"{\"time\":");
            push_decimal(out, ms / 1000);
            let frac = ms % 1000;
            out.extend_from_slice(&[
                b'.',
                b'0' + (frac / 100) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ]);
            out.extend_from_slice(&self.fields);
        } else {
            // No time: the fixed fields start the object (without their leading comma).
            out.push(b'{');
            out.extend_from_slice(&self.fields[1..]);
        }
        out.extend_from_slice(event.json.as_bytes());
        out.push(b'}');
    }

    fn original<'a>(&self, record: &'a [u8]) -> Cow<'a, [u8]> {
        // Only `"event":` ends with `:` after a closing quote among the fields written before the
        // event, whose string values are escaped, so the first match is the event's.
        match memchr::memmem::find(record, b"\"event\":") {
            Some(at) if record.len() > at + 9 => Cow::Borrowed(&record[at + 8..record.len() - 1]),
            _ => Cow::Borrowed(record),
        }
    }
}

#[cfg(test)]
mod tests;
