//! Google SecOps (Chronicle) webhook feed (api-contracts.md §9.1).
//!
//! `POST SIEM_URL` (the feed's endpoint URL) with `X-goog-api-key: <SIEM_TOKEN>`,
//! `X-Webhook-Access-Key: <SIEM_WEBHOOK_SECRET>` and `Content-Type: application/json`; the body is
//! the events, one JSON object a line, uncompressed (gzip is not documented for webhooks), at most
//! 4,000,000 bytes (the commonly quoted cap; the real one is unpublished). 2xx is success; 408, 429
//! and 5xx are retried; anything else is not.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use super::{
    check_request, classify_status, execute, required_credential, required_url, secret_header, EncodeContext,
    Encoder, NdjsonEncoder, Reply, Sink, SinkError, SinkKind, SinkLimits, SinkSettings, SIEM_TOKEN,
};
use crate::env::{ConfigError, EnvReader};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

/// Default cap on one request body.
pub(crate) const MAX_BODY_BYTES: usize = 4_000_000;
const NAME: &str = "secops_webhook";

/// `SIEM_WEBHOOK_SECRET`: the SecOps webhook's access key.
pub const SIEM_WEBHOOK_SECRET: &str = "SIEM_WEBHOOK_SECRET";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The webhook sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`: the feed's endpoint URL.
    url: url::Url,
    /// `SIEM_TOKEN`: the Google Cloud API key (`X-goog-api-key`).
    api_key: Secret,
    /// `SIEM_WEBHOOK_SECRET`: the feed's secret (`X-Webhook-Access-Key`).
    access_key: Secret,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        Ok(Arc::new(Self {
            url: required_url(env, NAME)?,
            api_key: required_credential(env, SIEM_TOKEN, NAME).await?,
            access_key: required_credential(env, SIEM_WEBHOOK_SECRET, NAME).await?,
        }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(SecopsWebhookSink::new(self, http)?))
    }
}

/// The SecOps webhook sink.
pub(crate) struct SecopsWebhookSink {
    http: reqwest::Client,
    url: url::Url,
    api_key: HeaderValue,
    access_key: HeaderValue,
    secrets: [Secret; 2],
}

impl SecopsWebhookSink {
    /// A sink posting to the settings' URL with the API key and the webhook's access key.
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, SinkError> {
        Ok(Self {
            http,
            url: settings.url.clone(),
            api_key: secret_header(&settings.api_key, "", NAME, SIEM_TOKEN)?,
            access_key: secret_header(&settings.access_key, "", NAME, SIEM_WEBHOOK_SECRET)?,
            secrets: [settings.api_key.clone(), settings.access_key.clone()],
        })
    }
}

#[async_trait]
impl Sink for SecopsWebhookSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn credential_hint(&self) -> &'static str {
        "SIEM_TOKEN (the Google Cloud API key) or SIEM_WEBHOOK_SECRET is wrong, or the key is not allowed to call the Chronicle API"
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits { max_body_bytes: MAX_BODY_BYTES, max_events: usize::MAX, max_record_bytes: usize::MAX }
    }

    fn gzip(&self) -> bool {
        false
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(NdjsonEncoder)
    }

    async fn send(&self, body: Bytes, _events: usize, timeout: Duration) -> Reply {
        let request = self
            .http
            .post(self.url.clone())
            .header("X-goog-api-key", self.api_key.clone())
            .header("X-Webhook-Access-Key", self.access_key.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        match execute(request, timeout).await {
            Ok(response) => {
                let [token, secret] = &self.secrets;
                response.reply(classify_status(response.status), &[token, secret])
            }
            Err(reply) => reply,
        }
    }

    /// `POST SIEM_URL` with both keys and an empty body: no event to ingest. Google checks the
    /// API key first (an invalid one answers 400 `API_KEY_INVALID`, a key not allowed the API 403),
    /// then the access key (401/403); any other answer means the feed took both keys.
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.url);
        let request = self
            .http
            .post(self.url.clone())
            .header("X-goog-api-key", self.api_key.clone())
            .header("X-Webhook-Access-Key", self.access_key.clone())
            .header(CONTENT_TYPE, "application/json");
        let response = match check_request(request, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let [token, secret] = &self.secrets;
        let summary = response.summary(&[token, secret]);
        let body = String::from_utf8_lossy(&response.body);
        let key_invalid = body.contains("API_KEY_INVALID") || body.contains("API key not valid");
        match response.status.as_u16() {
            200..=299 => Probe::passed(target, format!("keys accepted ({summary})")),
            401 | 403 => Probe::failed(target, summary, self.credential_hint()),
            400 if key_invalid => Probe::failed(target, summary, self.credential_hint()),
            400 => Probe::passed(target, format!("keys accepted; the empty request was refused ({summary})")),
            404 => Probe::failed(
                target,
                summary,
                "SIEM_URL is not the feed's endpoint URL (copy it from the webhook feed's details)",
            ),
            _ => Probe::failed(
                target,
                summary,
                "SecOps answered with an error: try again, and check the feed is enabled",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::Settings;
    use crate::delivery::Delivery;
    use crate::env::EnvReader;
    use crate::event::Source;
    use crate::secret::Secret;
    use crate::sinks::{http_client, SinkSettings as _};
    use crate::test_support::{event, settings, RecordingDeadLetter};

    fn webhook(url: &str) -> Settings {
        Settings {
            url: url.parse().unwrap(),
            api_key: Secret::new("api-key-1"),
            access_key: Secret::new("hook-secret-1"),
        }
    }

    #[tokio::test]
    async fn posts_plain_ndjson_with_both_keys() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/feeds/webhook"))
            .and(header("x-goog-api-key", "api-key-1"))
            .and(header("x-webhook-access-key", "hook-secret-1"))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .expect(1)
            .mount(&server)
            .await;
        let settings = settings(1, 1);
        let config = webhook(&format!("{}/v1/feeds/webhook", server.uri()));
        let sink = config.build(http_client(settings.request_timeout).unwrap()).unwrap();
        let mut delivery =
            Delivery::new(sink, RecordingDeadLetter::new(), &settings, Source::Cloudtrail, None);
        for i in 0..3 {
            delivery.push(event(i)).await.unwrap();
        }
        let report = delivery.finish().await.unwrap();
        assert_eq!((report.delivered, report.dead_lettered), (3, 0));
        let requests = server.received_requests().await.unwrap();
        assert!(requests[0].headers.get("content-encoding").is_none());
        let body = String::from_utf8(requests[0].body.clone()).unwrap();
        assert_eq!(body, format!("{}\n{}\n{}\n", event(0).json, event(1).json, event(2).json));
        assert_eq!(report.bytes_sent, body.len() as u64);
    }

    #[tokio::test]
    async fn both_keys_are_required() {
        let base =
            [("SIEM_URL", "https://x.example.com/hook"), ("SIEM_TOKEN", "k"), ("SIEM_WEBHOOK_SECRET", "s")];
        for missing in ["SIEM_TOKEN", "SIEM_WEBHOOK_SECRET"] {
            let vars = base.iter().copied().filter(|(name, _)| *name != missing);
            let error = Settings::load(&EnvReader::from_map(vars, None)).await.unwrap_err().to_string();
            assert!(error.starts_with(&format!("{missing} is required")), "{error}");
            assert!(error.ends_with("when SIEM_TYPE is secops_webhook"), "{error}");
        }
        assert!(Settings::load(&EnvReader::from_map(base, None)).await.is_ok());
    }

    #[tokio::test]
    async fn responses_never_show_the_keys() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(403).set_body_string("denied key=api-key-1 secret=hook-secret-1"),
            )
            .mount(&server)
            .await;
        let settings = settings(1, 1);
        let config = webhook(&format!("{}/hook", server.uri()));
        let store = RecordingDeadLetter::new();
        let sink = config.build(http_client(settings.request_timeout).unwrap()).unwrap();
        let mut delivery = Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None);
        delivery.push(event(0)).await.unwrap();
        delivery.finish().await.unwrap();
        assert_eq!(store.letters()[0].last_response.as_deref(), Some("403: denied key=*** secret=***"));
    }

    #[tokio::test]
    async fn check_sends_no_event_and_tells_a_refused_key_from_an_empty_body() {
        let invalid_key = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}"#;
        let cases = [
            (200, "{}", true),
            (400, r#"{"error":{"code":400,"message":"empty request","status":"INVALID_ARGUMENT"}}"#, true),
            (400, invalid_key, false),
            (403, "denied api-key-1", false),
            (404, "Not Found", false),
            (503, "unavailable", false),
        ];
        for (status, body, ok) in cases {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/hook"))
                .and(header("x-goog-api-key", "api-key-1"))
                .and(header("x-webhook-access-key", "hook-secret-1"))
                .respond_with(ResponseTemplate::new(status).set_body_string(body))
                .expect(1)
                .mount(&server)
                .await;
            let config = webhook(&format!("{}/hook", server.uri()));
            let sink = config.build(http_client(settings(1, 1).request_timeout).unwrap()).unwrap();
            let probe = sink.check(std::time::Duration::from_secs(5)).await;
            assert_eq!(probe.ok, ok, "{status} {body}: {probe:?}");
            assert!(!format!("{probe:?}").contains("api-key-1"), "{probe:?}");
            let requests = server.received_requests().await.unwrap();
            assert!(requests[0].body.is_empty());
        }
    }
}
