//! Microsoft Entra ID's token endpoint and the Azure Monitor Logs Ingestion API on one local HTTP
//! server (wiremock), as documented: the token endpoint grants a bearer token for the
//! `https://monitor.azure.com//.default` scope; the ingestion API takes a JSON array (gzip or not)
//! with that token at `/dataCollectionRules/<id>/streams/<stream>?api-version=2023-01-01`, refuses
//! a body over 1 MB with 413, and answers 204. It keeps the rows it took (or only counts them).

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The tenant of the stand-in's token endpoint.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The app registration.
pub const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
/// The DCR's immutable id.
pub const DCR: &str = "dcr-0123456789abcdef0123456789abcdef";
/// The bearer token the endpoint grants and the ingestion API takes.
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.stand-in-token";

/// What the API took and how it misbehaves.
#[derive(Default)]
pub struct IngestionState {
    /// Rows taken (unless `discard`).
    pub rows: Vec<Value>,
    /// Ingestion requests answered so far.
    pub requests: usize,
    /// Answers to give first, in order: a status and its `Retry-After` seconds.
    pub scripted: Vec<(u16, Option<u32>)>,
    /// The first request is taken, then answered only after this delay (past the client's
    /// timeout: the client cannot know it was taken).
    pub slow_first: Option<Duration>,
    /// Answer 204 without reading the body (benchmarks).
    pub discard: bool,
}

/// A running ingestion API.
#[derive(Clone, Default)]
pub struct Ingestion(pub Arc<Mutex<IngestionState>>);

impl Ingestion {
    /// Entra ID and the ingestion API on one server.
    pub async fn start(change: impl FnOnce(&mut IngestionState)) -> (MockServer, Ingestion) {
        let server = MockServer::builder().disable_request_recording().start().await;
        let ingestion = Ingestion::default();
        change(&mut ingestion.0.lock().unwrap());
        Mock::given(method("POST"))
            .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
            .respond_with(|request: &Request| {
                let body = String::from_utf8_lossy(&request.body);
                assert!(body.contains("scope=https%3A%2F%2Fmonitor.azure.com%2F%2F.default"), "{body}");
                ResponseTemplate::new(200)
                    .set_body_json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}))
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!("^/dataCollectionRules/{DCR}/streams/Custom-AuditRelay_CL$")))
            .respond_with(ingestion.clone())
            .mount(&server)
            .await;
        (server, ingestion)
    }

    /// The sink's variables for this stand-in (client secret mode).
    pub fn vars(server: &MockServer) -> Vec<(&'static str, String)> {
        sink_vars(&server.uri(), &server.uri(), "stand-in-secret")
    }

    /// The rows taken.
    pub fn rows(&self) -> Vec<Value> {
        self.0.lock().unwrap().rows.clone()
    }
}

/// The `sentinel` sink's variables: client secret `secret`, Entra ID at `authority`, the ingestion
/// API at `endpoint` (this module's tenant, app and DCR).
pub fn sink_vars(authority: &str, endpoint: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SIEM_TYPE", "sentinel".to_string()),
        ("SENTINEL_ENDPOINT", endpoint.to_string()),
        ("SENTINEL_DCR_ID", DCR.to_string()),
        ("SENTINEL_AUTH", "entra_secret".to_string()),
        ("AZURE_TENANT_ID", TENANT.to_string()),
        ("AZURE_CLIENT_ID", CLIENT.to_string()),
        ("AZURE_CLIENT_SECRET", secret.to_string()),
        ("AZURE_AUTHORITY_HOST", authority.to_string()),
    ]
}

impl Respond for Ingestion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        assert_eq!(request.url.query(), Some("api-version=2023-01-01"));
        let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        if bearer != Some(&format!("Bearer {TOKEN}")) {
            return ResponseTemplate::new(401);
        }
        if !state.scripted.is_empty() {
            let (status, retry_after) = state.scripted.remove(0);
            let answer = ResponseTemplate::new(status);
            return match retry_after {
                Some(seconds) => answer.insert_header("Retry-After", seconds.to_string().as_str()),
                None => answer,
            };
        }
        if state.discard {
            return ResponseTemplate::new(204);
        }
        let mut body = Vec::new();
        match request.headers.get("content-encoding") {
            Some(encoding) if encoding == "gzip" => {
                flate2::read::GzDecoder::new(&request.body[..]).read_to_end(&mut body).unwrap();
            }
            _ => body.clone_from(&request.body),
        }
        if body.len() > 1_000_000 {
            return ResponseTemplate::new(413);
        }
        let rows: Vec<Value> = serde_json::from_slice(&body).unwrap();
        state.rows.extend(rows);
        let answer = ResponseTemplate::new(204);
        match state.slow_first.take() {
            Some(delay) => answer.set_delay(delay),
            None => answer,
        }
    }
}
