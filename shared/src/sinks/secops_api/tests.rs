//! The token exchange against a local token endpoint (the JWT verified with the test key's public
//! key), the token cache, the refresh on 401 and the import request's shape.

use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::config::Config;
use crate::delivery::Delivery;
use crate::env::EnvReader;
use crate::event::Source;
use crate::sinks::http_client;
use crate::test_support::{settings, RecordingDeadLetter};

/// A throwaway key made for these tests (see testdata/README.md).
const TEST_KEY: &str = include_str!("testdata/TEST_ONLY_service_account.json");
const TEST_PUBLIC_KEY: &str = include_str!("testdata/TEST_ONLY_public_key.pem");
const CLIENT_EMAIL: &str = "audit-relay-test@audit-relay-tests.iam.gserviceaccount.com";
const IMPORT_PATH: &str = "/v1alpha/projects/p1/locations/us/instances/i1/events:import";

fn config(server: &MockServer, token_url: Option<&str>, key: &str) -> Settings {
    Settings {
        url: Url::parse(&format!("{}{IMPORT_PATH}", server.uri())).unwrap(),
        service_account: Secret::new(key),
        token_url: token_url.map(|u| Url::parse(u).unwrap()),
    }
}

fn udm_event(i: usize) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_732_018_500_000 + i as i64,
        json: format!(r#"{{"metadata":{{"event_type":"GENERIC_EVENT","product_log_id":"e{i}"}}}}"#),
    }
}

async fn token_endpoint(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})),
        )
        .mount(server)
        .await;
}

/// The form fields of a token request.
fn form(request: &wiremock::Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

async fn requests_to(server: &MockServer, wanted: &str) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == wanted).collect()
}

async fn deliver(
    config: &Settings,
    events: usize,
    per_batch: usize,
) -> (crate::delivery::DeliveryReport, Arc<RecordingDeadLetter>) {
    let mut settings = settings(1, 2);
    settings.batch_max_events = Some(per_batch);
    let sink = config.build(http_client(settings.request_timeout).unwrap()).unwrap();
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None);
    for i in 0..events {
        delivery.push(udm_event(i)).await.unwrap();
    }
    (delivery.finish().await.unwrap(), store)
}

#[tokio::test]
async fn token_exchange_sends_a_jwt_grant_signed_by_the_key() {
    let server = MockServer::start().await;
    token_endpoint(&server, "ya29.test-token-1").await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let (report, _) = deliver(&config(&server, Some(&token_url), TEST_KEY), 1, 10).await;
    assert_eq!(report.delivered, 1);

    let token_requests = requests_to(&server, "/token").await;
    assert_eq!(token_requests.len(), 1);
    let fields = form(&token_requests[0]);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(field("grant_type").as_deref(), Some("urn:ietf:params:oauth:grant-type:jwt-bearer"));
    let assertion = field("assertion").unwrap();

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_url.as_str()]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    let decoded = jsonwebtoken::decode::<AssertionClaims>(
        &assertion,
        &DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(decoded.header.alg, Algorithm::RS256);
    assert_eq!(decoded.header.kid.as_deref(), Some("test-key-id-0001"));
    assert_eq!(decoded.claims.scope, "https://www.googleapis.com/auth/cloud-platform");
    assert_eq!(decoded.claims.aud, token_url);
    assert_eq!(decoded.claims.exp - decoded.claims.iat, 3600);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(decoded.claims.iat <= now && decoded.claims.iat + 60 > now, "iat {}", decoded.claims.iat);

    // Another key's signature does not verify: the check above can fail.
    let mut tampered = assertion.clone();
    tampered.pop();
    tampered.push(if assertion.ends_with('A') { 'B' } else { 'A' });
    let invalid = jsonwebtoken::decode::<AssertionClaims>(
        &tampered,
        &DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap(),
        &validation,
    );
    assert!(invalid.is_err());
}

#[tokio::test]
async fn import_request_carries_the_udm_events_and_the_bearer_token() {
    let server = MockServer::start().await;
    token_endpoint(&server, "ya29.test-token-1").await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .and(header("authorization", "Bearer ya29.test-token-1"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let (report, store) =
        deliver(&config(&server, Some(&format!("{}/token", server.uri())), TEST_KEY), 2, 10).await;
    assert_eq!((report.delivered, report.dead_lettered), (2, 0));
    assert!(store.letters().is_empty());
    let import = &requests_to(&server, IMPORT_PATH).await[0];
    assert!(import.headers.get("content-encoding").is_none());
    let body: Value = serde_json::from_slice(&import.body).unwrap();
    assert_eq!(
        body,
        json!({"inline_source": {"events": [
            {"udm": {"metadata": {"event_type": "GENERIC_EVENT", "product_log_id": "e0"}}},
            {"udm": {"metadata": {"event_type": "GENERIC_EVENT", "product_log_id": "e1"}}}
        ]}})
    );
}

#[tokio::test]
async fn one_token_serves_several_batches() {
    let server = MockServer::start().await;
    token_endpoint(&server, "ya29.test-token-1").await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    let (report, _) =
        deliver(&config(&server, Some(&format!("{}/token", server.uri())), TEST_KEY), 3, 1).await;
    assert_eq!(report.delivered, 3);
    assert_eq!(requests_to(&server, "/token").await.len(), 1);
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_sends_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.old", "expires_in": 3599})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    token_endpoint(&server, "ya29.new").await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .and(header("authorization", "Bearer ya29.old"))
        .respond_with(ResponseTemplate::new(401).set_body_string("token revoked"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .and(header("authorization", "Bearer ya29.new"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (report, store) =
        deliver(&config(&server, Some(&format!("{}/token", server.uri())), TEST_KEY), 1, 10).await;
    assert_eq!((report.delivered, report.dead_lettered), (1, 0));
    assert!(store.letters().is_empty());
    assert_eq!(requests_to(&server, "/token").await.len(), 2);
    assert_eq!(requests_to(&server, IMPORT_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_refused_key_dead_letters_the_batch_with_the_token_endpoint_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#),
        )
        .mount(&server)
        .await;
    let (report, store) =
        deliver(&config(&server, Some(&format!("{}/token", server.uri())), TEST_KEY), 1, 10).await;
    assert_eq!((report.delivered, report.dead_lettered), (0, 1));
    let letter = &store.letters()[0];
    assert_eq!(
        letter.last_response.as_deref(),
        Some(
            r#"token endpoint: 400: {"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
        )
    );
    assert!(requests_to(&server, IMPORT_PATH).await.is_empty());
    assert_eq!(store.lines(), [udm_event(0).json]);
}

#[tokio::test]
async fn the_key_files_token_uri_is_used_without_secops_token_url() {
    let server = MockServer::start().await;
    token_endpoint(&server, "ya29.from-token-uri").await;
    Mock::given(method("POST"))
        .and(path(IMPORT_PATH))
        .and(header("authorization", "Bearer ya29.from-token-uri"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let mut key: Value = serde_json::from_str(TEST_KEY).unwrap();
    key["token_uri"] = json!(format!("{}/token", server.uri()));
    let (report, _) = deliver(&config(&server, None, &key.to_string()), 1, 10).await;
    assert_eq!(report.delivered, 1);
}

#[test]
fn token_url_precedence_and_unusable_keys() {
    let config = |token_url: Option<&str>, key: &str| Settings {
        url: Url::parse("https://us-chronicle.googleapis.com/v1alpha/x/events:import").unwrap(),
        service_account: Secret::new(key),
        token_url: token_url.map(|u| Url::parse(u).unwrap()),
    };
    let http = reqwest::Client::new();
    let sink = SecopsApiSink::new(&config(None, TEST_KEY), http.clone()).unwrap();
    assert_eq!(sink.token_url().as_str(), "https://oauth2.googleapis.com/token");
    let sink = SecopsApiSink::new(&config(Some("http://127.0.0.1:1/t"), TEST_KEY), http.clone()).unwrap();
    assert_eq!(sink.token_url().as_str(), "http://127.0.0.1:1/t");

    let mut plain_http: Value = serde_json::from_str(TEST_KEY).unwrap();
    plain_http["token_uri"] = json!("http://oauth.example.com/token");
    let mut bad_key: Value = serde_json::from_str(TEST_KEY).unwrap();
    bad_key["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    let cases = [
        (
            "not json".to_owned(),
            "secops_api: SECOPS_SERVICE_ACCOUNT_JSON is not usable: not a service-account key file",
        ),
        (
            r#"{"client_email":"a@b.c"}"#.to_owned(),
            "secops_api: SECOPS_SERVICE_ACCOUNT_JSON is not usable: not a service-account key file",
        ),
        (
            bad_key.to_string(),
            "secops_api: SECOPS_SERVICE_ACCOUNT_JSON is not usable: private_key is not an RSA key",
        ),
        (
            plain_http.to_string(),
            "secops_api: SECOPS_SERVICE_ACCOUNT_JSON is not usable: token_uri: plain http",
        ),
    ];
    for (key, expected) in cases {
        let err = SecopsApiSink::new(&config(None, &key), http.clone())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with(expected), "{err}");
        assert!(!err.contains("BEGIN PRIVATE KEY"), "{err}");
    }
}

#[test]
fn encoder_wraps_each_event_and_gives_it_back() {
    let encoder = ImportEncoder;
    let mut record = Vec::new();
    encoder.encode(&udm_event(4), &mut record);
    assert_eq!(String::from_utf8(record.clone()).unwrap(), format!(r#"{{"udm":{}}}"#, udm_event(4).json));
    assert_eq!(&*encoder.original(&record), udm_event(4).json.as_bytes());
    assert_eq!(&*encoder.original(b"other"), b"other");
}

#[tokio::test]
async fn check_exchanges_a_token_and_imports_nothing() {
    let server = MockServer::start().await;
    token_endpoint(&server, "ya29.check-token").await;
    let token_url = format!("{}/token", server.uri());
    let sink = config(&server, Some(&token_url), TEST_KEY)
        .build(http_client(settings(1, 1).request_timeout).unwrap())
        .unwrap();
    let probe = sink.check(Duration::from_secs(5)).await;
    assert!(probe.ok, "{probe:?}");
    assert!(probe.detail.contains(CLIENT_EMAIL), "{}", probe.detail);
    assert!(!format!("{probe:?}").contains("ya29.check-token"));
    assert!(requests_to(&server, IMPORT_PATH).await.is_empty(), "nothing is imported");
    assert_eq!(requests_to(&server, "/token").await.len(), 1);
}

#[tokio::test]
async fn check_names_a_refused_service_account() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
            ),
        )
        .mount(&server)
        .await;
    let token_url = format!("{}/token", server.uri());
    let sink = config(&server, Some(&token_url), TEST_KEY)
        .build(http_client(settings(1, 1).request_timeout).unwrap())
        .unwrap();
    let probe = sink.check(Duration::from_secs(5)).await;
    assert!(!probe.ok);
    assert!(probe.detail.contains("invalid_grant"), "{}", probe.detail);
    assert!(probe.hint.unwrap().contains("SECOPS_SERVICE_ACCOUNT_JSON"));
}

#[tokio::test]
async fn builds_its_url_defaults_to_udm_and_needs_a_key() {
    let base = [
        ("SIEM_TYPE", "secops_api"),
        ("SECOPS_PROJECT", "my-project"),
        ("SECOPS_LOCATION", "europe"),
        ("SECOPS_INSTANCE", "0a1b2c3d-4e5f"),
        ("SECOPS_SERVICE_ACCOUNT_JSON", "{\"type\":\"service_account\"}"),
    ];
    let env = |vars: &[(&str, &str)]| EnvReader::from_map(vars.iter().copied(), None);
    let config = Config::load(&env(&base)).await.unwrap();
    assert_eq!(config.format, OutputFormat::Udm);
    let settings = Settings::read(&env(&base)).await.unwrap();
    assert_eq!(
        Some(settings.url.as_str()),
        Some("https://europe-chronicle.googleapis.com/v1alpha/projects/my-project/locations/europe/instances/0a1b2c3d-4e5f/events:import")
    );
    assert_eq!(settings.service_account.expose(), "{\"type\":\"service_account\"}");
    assert!(settings.token_url.is_none());

    let mut with_url = base.to_vec();
    with_url.push(("SIEM_URL", "http://127.0.0.1:9/v1alpha/x/events:import"));
    with_url.push(("SECOPS_TOKEN_URL", "http://127.0.0.1:9/token"));
    let settings = Settings::read(&env(&with_url)).await.unwrap();
    assert_eq!(settings.url.as_str(), "http://127.0.0.1:9/v1alpha/x/events:import");
    let token_url = settings.token_url.as_ref().map(Url::as_str);
    assert_eq!(token_url, Some("http://127.0.0.1:9/token"));

    let failures: [(Vec<(&str, &str)>, &str); 4] = [
        (
            base.iter().copied().filter(|(k, _)| *k != "SECOPS_INSTANCE").collect(),
            "SECOPS_INSTANCE is required",
        ),
        (
            base.iter().copied().filter(|(k, _)| *k != "SECOPS_SERVICE_ACCOUNT_JSON").collect(),
            "SECOPS_SERVICE_ACCOUNT_JSON is required",
        ),
        ([&base[..], &[("SIEM_FORMAT", "ocsf")]].concat(), "SIEM_FORMAT: invalid value"),
        ([&base[..], &[("SECOPS_LOCATION", "eu/../x")]].concat(), "SECOPS_LOCATION: invalid value"),
    ];
    for (vars, expected) in failures {
        let err = Config::load(&env(&vars)).await.unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
    let udm = Config::load(&env(&[("SIEM_FORMAT", "udm")])).await.unwrap();
    assert_eq!(udm.format, OutputFormat::Udm);
}
