//! Generic HTTP receiver: gzip NDJSON.
//!
//! `POST SIEM_URL` with `Content-Type: application/x-ndjson`, `Content-Encoding: gzip` and, when
//! `SIEM_TOKEN` is set, `Authorization: Bearer <token>`; the body is the events, one a line, at most
//! 4,000,000 bytes and 10,000 events uncompressed. 2xx is success; 408, 429 and 5xx are retried
//! (honouring `Retry-After`); anything else is not.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};

use super::{
    check_request, classify_status, execute, required_url, secret_header, EncodeContext, Encoder,
    NdjsonEncoder, Reply, Sink, SinkError, SinkKind, SinkLimits, SinkSettings, SIEM_TOKEN,
};
use crate::env::{ConfigError, EnvReader};
use crate::probe::{host_of, Probe};
use crate::secret::Secret;

/// Default cap on one request body.
pub(crate) const MAX_BODY_BYTES: usize = 4_000_000;
/// Default cap on events in one request.
pub(crate) const MAX_EVENTS: usize = 10_000;
const NAME: &str = "http";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The HTTP sink's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `SIEM_URL`: where to post.
    url: url::Url,
    /// `SIEM_TOKEN`: a bearer token, optional.
    token: Option<Secret>,
}

impl Settings {
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        Ok(Arc::new(Self { url: required_url(env, NAME)?, token: env.credential(SIEM_TOKEN).await? }))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(HttpSink::new(self, http)?))
    }
}

/// The generic HTTP sink.
pub(crate) struct HttpSink {
    http: reqwest::Client,
    url: url::Url,
    authorization: Option<HeaderValue>,
    token: Secret,
    /// The URL's password and query values: any may be a key, and a receiver may echo the URL.
    url_secrets: Vec<Secret>,
}

impl HttpSink {
    /// A sink posting to the settings' URL, with a bearer token when they hold one.
    pub(crate) fn new(settings: &Settings, http: reqwest::Client) -> Result<Self, SinkError> {
        let authorization = match &settings.token {
            Some(token) => Some(secret_header(token, "Bearer ", NAME, SIEM_TOKEN)?),
            None => None,
        };
        Ok(Self {
            http,
            url_secrets: url_secrets(&settings.url),
            url: settings.url.clone(),
            authorization,
            token: settings.token.clone().unwrap_or_else(|| Secret::new("")),
        })
    }
}

/// The values in `url` that may be credentials: its password and its query values (those of at
/// least 4 characters, so that `x=1` does not mask every `1` of a response summary).
fn url_secrets(url: &url::Url) -> Vec<Secret> {
    let password = url.password().map(str::to_owned);
    let query = url.query_pairs().map(|(_, value)| value.into_owned());
    password.into_iter().chain(query).filter(|v| v.len() >= 4).map(Secret::new).collect()
}

#[async_trait]
impl Sink for HttpSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits { max_body_bytes: MAX_BODY_BYTES, max_events: MAX_EVENTS, max_record_bytes: usize::MAX }
    }

    fn gzip(&self) -> bool {
        true
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(NdjsonEncoder)
    }

    async fn send(&self, body: Bytes, _events: usize, timeout: Duration) -> Reply {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/x-ndjson")
            .header(CONTENT_ENCODING, "gzip");
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        match execute(request.body(body), timeout).await {
            Ok(response) => {
                let secrets: Vec<&Secret> = std::iter::once(&self.token).chain(&self.url_secrets).collect();
                response.reply(classify_status(response.status), &secrets)
            }
            Err(reply) => reply,
        }
    }

    /// `HEAD SIEM_URL` with the token, when set: the receiver answers and does not refuse the
    /// credential (a 405 for a POST-only route counts as answering; 401, 403, 404 and 5xx do not).
    async fn check(&self, timeout: Duration) -> Probe {
        let target = host_of(&self.url);
        let mut request = self.http.head(self.url.clone());
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let response = match check_request(request, timeout, &target).await {
            Ok(response) => response,
            Err(probe) => return probe,
        };
        let secrets: Vec<&Secret> = std::iter::once(&self.token).chain(&self.url_secrets).collect();
        let summary = response.summary(&secrets);
        match response.status.as_u16() {
            401 | 403 => Probe::failed(target, summary, self.credential_hint()),
            404 => Probe::failed(target, summary, "nothing answers at SIEM_URL's path"),
            500..=599 => Probe::failed(target, summary, "the receiver answers with a server error"),
            _ => Probe::passed(target, format!("answering (HEAD: {summary})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::Settings;
    use crate::delivery::{Delivery, DeliveryReport};
    use crate::event::Source;
    use crate::secret::Secret;
    use crate::sinks::{http_client, SinkSettings as _};
    use crate::test_support::{event, gunzip, settings, RecordingDeadLetter};

    #[tokio::test]
    async fn posts_gzip_ndjson_with_a_bearer_token_only_when_set() {
        for token in [Some("bearer-tok"), None] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/ingest"))
                .and(header("content-type", "application/x-ndjson"))
                .and(header("content-encoding", "gzip"))
                .respond_with(ResponseTemplate::new(200))
                .expect(1)
                .mount(&server)
                .await;
            let settings = settings(1, 1);
            let config = Settings {
                url: format!("{}/ingest", server.uri()).parse().unwrap(),
                token: token.map(Secret::new),
            };
            let sink = config.build(http_client(settings.request_timeout).unwrap()).unwrap();
            let mut delivery =
                Delivery::new(sink, RecordingDeadLetter::new(), &settings, Source::Cloudtrail, None);
            for i in 0..2 {
                delivery.push(event(i)).await.unwrap();
            }
            let report = delivery.finish().await.unwrap();
            let requests = server.received_requests().await.unwrap();
            assert_eq!(gunzip(&requests[0].body), format!("{}\n{}\n", event(0).json, event(1).json));
            let authorization =
                requests[0].headers.get("authorization").map(|v| v.to_str().unwrap().to_string());
            assert_eq!(authorization, token.map(|t| format!("Bearer {t}")));
            assert_eq!(
                report,
                DeliveryReport {
                    delivered: 2,
                    dead_lettered: 0,
                    retries: 0,
                    bytes_sent: requests[0].body.len() as u64,
                    requests: 1,
                    sink_millis: report.sink_millis,
                    fields_truncated: 0,
                }
            );
        }
    }

    #[test]
    fn url_password_and_query_values_are_masked_in_summaries() {
        let url = url::Url::parse("https://u:pass-word@siem.example.com/in?api_key=k-123456&x=1").unwrap();
        let secrets = super::url_secrets(&url);
        let exposed: Vec<&str> = secrets.iter().map(super::Secret::expose).collect();
        assert_eq!(exposed, ["pass-word", "k-123456"]);
        let refs: Vec<&super::Secret> = secrets.iter().collect();
        let text = "401: bad key k-123456 for https://u:pass-word@siem.example.com/in?api_key=k-123456&x=1";
        assert_eq!(
            crate::sinks::sanitize(text, &refs),
            "401: bad key *** for https://u:***@siem.example.com/in?api_key=***&x=1"
        );
    }

    #[tokio::test]
    async fn check_asks_head_with_the_token_and_fails_on_refusal_or_no_route() {
        for (status, ok) in [(200, true), (405, true), (401, false), (403, false), (404, false), (502, false)]
        {
            let server = MockServer::start().await;
            Mock::given(method("HEAD"))
                .and(path("/ingest"))
                .and(header("authorization", "Bearer bearer-tok"))
                .respond_with(ResponseTemplate::new(status))
                .expect(1)
                .mount(&server)
                .await;
            let config = Settings {
                url: format!("{}/ingest", server.uri()).parse().unwrap(),
                token: Some(Secret::new("bearer-tok")),
            };
            let sink = config.build(http_client(settings(1, 1).request_timeout).unwrap()).unwrap();
            let probe = sink.check(std::time::Duration::from_secs(5)).await;
            assert_eq!(probe.ok, ok, "{status}: {probe:?}");
            assert_eq!(probe.hint.is_some(), !ok);
        }
    }
}
