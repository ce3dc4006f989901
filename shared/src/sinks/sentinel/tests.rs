//! The Sentinel sink against a local Entra ID token endpoint and a local stand-in of the Logs
//! Ingestion API that checks what the documented API checks (bearer token, URL, JSON array, the
//! 1 MB cap) and answers as it does (204, 401, 403, 413, 429 with `Retry-After`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::test_support::{deliver, gunzip};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const DCR: &str = "dcr-00000000000000000000000000000000";
const STREAM_PATH: &str =
    "/dataCollectionRules/dcr-00000000000000000000000000000000/streams/Custom-AuditRelay_CL";

/// What the ingestion stand-in was sent and how it misbehaves.
#[derive(Default)]
struct State {
    /// The bearer tokens it accepts.
    accepted: Vec<String>,
    /// Answers to give first, in order, before accepting (status, Retry-After).
    scripted: Vec<(u16, Option<&'static str>)>,
    /// Bodies over this many bytes (uncompressed) get 413.
    max_body: Option<usize>,
    /// Records stored.
    rows: Vec<Value>,
    /// Uncompressed sizes of the bodies received.
    sizes: Vec<usize>,
    /// When each request came.
    times: Vec<Instant>,
    /// Every token is refused (tokens issued are not accepted either).
    refuse_all: bool,
}

#[derive(Clone, Default)]
struct Ingestion(Arc<Mutex<State>>);

impl Respond for Ingestion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.times.push(Instant::now());
        assert_eq!(request.url.query(), Some("api-version=2023-01-01"));
        assert_eq!(request.headers.get("content-type").unwrap(), "application/json");
        assert!(request.headers.get("x-ms-client-request-id").is_some());
        let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        if state.refuse_all || !state.accepted.iter().any(|token| bearer == format!("Bearer {token}")) {
            return ResponseTemplate::new(401).set_body_json(
                json!({"error": {"code": "InvalidToken", "message": "The provided token is invalid."}}),
            );
        }
        let body = match request.headers.get("content-encoding") {
            Some(encoding) if encoding == "gzip" => gunzip(&request.body),
            _ => String::from_utf8(request.body.clone()).unwrap(),
        };
        state.sizes.push(body.len());
        assert!(body.len() <= 1_000_000, "a call is at most 1 MB: {}", body.len());
        if !state.scripted.is_empty() {
            let (status, retry_after) = state.scripted.remove(0);
            let mut answer = ResponseTemplate::new(status);
            if let Some(seconds) = retry_after {
                answer = answer.insert_header("Retry-After", seconds);
            }
            return answer;
        }
        if state.max_body.is_some_and(|max| body.len() > max) {
            return ResponseTemplate::new(413);
        }
        let rows: Vec<Value> = serde_json::from_str(&body).expect("a JSON array");
        state.rows.extend(rows);
        ResponseTemplate::new(204)
    }
}

/// Entra ID (answering tokens `tok-1`, `tok-2`, … in turn) and the ingestion API, on one server.
async fn stand_in() -> (MockServer, Ingestion) {
    let server = MockServer::start().await;
    let issued = Arc::new(Mutex::new(0u32));
    let ingestion = Ingestion::default();
    let accepted = ingestion.clone();
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(move |request: &Request| {
            let form: HashMap<String, String> =
                url::form_urlencoded::parse(&request.body).into_owned().collect();
            assert_eq!(form["scope"], "https://monitor.azure.com//.default");
            assert_eq!(form["client_id"], CLIENT);
            if form.get("client_secret").map(String::as_str) != Some("app-secret") {
                return ResponseTemplate::new(401).set_body_json(json!({
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided."
                }));
            }
            let mut n = issued.lock().unwrap();
            *n += 1;
            let token = format!("tok-{n}");
            accepted.0.lock().unwrap().accepted.push(token.clone());
            ResponseTemplate::new(200)
                .set_body_json(json!({"token_type": "Bearer", "expires_in": 3599, "access_token": token}))
        })
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path(STREAM_PATH)).respond_with(ingestion.clone()).mount(&server).await;
    (server, ingestion)
}

fn vars(server: &MockServer) -> Vec<(String, String)> {
    [
        ("SIEM_TYPE", "sentinel"),
        ("SENTINEL_ENDPOINT", server.uri().as_str()),
        ("SENTINEL_DCR_ID", DCR),
        ("SENTINEL_AUTH", "entra_secret"),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_CLIENT_SECRET", "app-secret"),
        ("AZURE_AUTHORITY_HOST", server.uri().as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn load(vars: Vec<(String, String)>) -> Result<Arc<dyn SinkSettings>, ConfigError> {
    crate::sinks::load(&EnvReader::from_map(vars, None)).await
}

async fn sink(server: &MockServer, extra: &[(&str, &str)]) -> Arc<dyn Sink> {
    let mut vars = vars(server);
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    load(vars).await.unwrap().build(crate::sinks::http_client(Duration::from_secs(5)).unwrap()).unwrap()
}

/// An OCSF-like event `n` at 2024-03-05T06:07:08.000Z + `n` s.
fn event(n: u64) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_709_618_828_000 + n as i64 * 1000,
        json: json!({"class_uid": 6003, "time": 1_709_618_828_000u64 + n * 1000, "n": n, "metadata": {"uid": format!("evt-{n}")}, "message": "x".repeat(900)}).to_string(),
    }
}

#[tokio::test]
async fn events_arrive_once_as_rows_with_time_generated_in_calls_under_one_megabyte() {
    let (server, ingestion) = stand_in().await;
    let events: Vec<OutboundEvent> = (0..2_500).map(event).collect();
    let (report, dead) = deliver(sink(&server, &[]).await, &events).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (2_500, 0, 0), "{report:?}");
    assert!(dead.letters().is_empty());
    {
        let state = ingestion.0.lock().unwrap();
        assert!(state.sizes.len() >= 3, "2.5 MB of events take at least three calls: {:?}", state.sizes);
        assert_eq!(state.rows.len(), 2_500);
        for (n, row) in state.rows.iter().enumerate() {
            assert_eq!(row["n"], n as u64);
            let expected = crate::timestamp::format_rfc3339_ms(1_709_618_828_000 + n as i64 * 1000);
            assert_eq!(row["TimeGenerated"], expected.as_str());
            assert_eq!(
                row["time"],
                1_709_618_828_000u64 + n as u64 * 1000,
                "the OCSF fields stay as they are"
            );
        }
        assert_eq!(state.rows[0]["TimeGenerated"], "2024-03-05T06:07:08Z");
    }
    // One token for every call.
    let token_requests = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/oauth2/v2.0/token"))
        .count();
    assert_eq!(token_requests, 1);
}

#[tokio::test]
async fn throttling_is_retried_after_the_retry_after_the_api_sends() {
    let (server, ingestion) = stand_in().await;
    ingestion.0.lock().unwrap().scripted = vec![(429, Some("1")), (503, None)];
    let (report, dead) = deliver(sink(&server, &[]).await, &[event(1), event(2)]).await;
    assert_eq!((report.delivered, report.retries), (2, 2), "{report:?}");
    assert!(dead.letters().is_empty());
    let state = ingestion.0.lock().unwrap();
    assert_eq!(state.rows.len(), 2);
    let waited = state.times[1] - state.times[0];
    assert!(waited >= Duration::from_millis(950), "Retry-After: 1 honoured, waited {waited:?}");
}

#[tokio::test]
async fn a_call_the_api_finds_too_large_is_split() {
    let (server, ingestion) = stand_in().await;
    ingestion.0.lock().unwrap().max_body = Some(2_500);
    let events: Vec<OutboundEvent> = (0..8).map(event).collect();
    let (report, dead) = deliver(sink(&server, &[]).await, &events).await;
    assert_eq!((report.delivered, report.dead_lettered), (8, 0), "{report:?}");
    assert!(dead.letters().is_empty());
    let state = ingestion.0.lock().unwrap();
    let mut ns: Vec<u64> = state.rows.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_a_refused_role_is_dead_lettered() {
    let (server, ingestion) = stand_in().await;
    // The first token is revoked after issue: 401, a new token, delivered.
    let sink = sink(&server, &[]).await;
    let (report, _) = deliver(sink.clone(), &[event(1)]).await;
    assert_eq!(report.delivered, 1);
    ingestion.0.lock().unwrap().accepted.retain(|t| t != "tok-1");
    let (report, dead) = deliver(sink.clone(), &[event(2)]).await;
    assert_eq!((report.delivered, report.dead_lettered), (1, 0), "{report:?}");
    assert!(dead.letters().is_empty());

    // 403 (the app lacks Monitoring Metrics Publisher): not retried, dead-lettered with the answer.
    ingestion.0.lock().unwrap().scripted = vec![(403, None)];
    let (report, dead) = deliver(sink.clone(), &[event(3)]).await;
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 1, 0), "{report:?}");
    let letters = dead.letters();
    assert!(letters[0].reason.contains("refused by the sink: 403"), "{}", letters[0].reason);
    assert_eq!(serde_json::from_str::<Value>(&dead.lines()[0]).unwrap()["n"], 3, "the event as it was");

    // Every token refused: one fresh token, then dead-lettered as refused (401).
    ingestion.0.lock().unwrap().refuse_all = true;
    let (report, dead) = deliver(sink, &[event(4)]).await;
    assert_eq!((report.delivered, report.dead_lettered), (0, 1));
    assert!(dead.letters()[0].reason.contains("401"), "{}", dead.letters()[0].reason);
    let state = ingestion.0.lock().unwrap();
    assert!(!state.rows.iter().any(|r| r["n"] == 4));
    // tok-1 was revoked; tok-2 replaced it; tok-3 was fetched after the last 401, and refused too.
    assert_eq!(state.accepted, ["tok-2", "tok-3"]);
}

#[tokio::test]
async fn an_app_secret_entra_id_refuses_dead_letters_without_showing_the_secret() {
    let (server, _ingestion) = stand_in().await;
    let sink = sink(&server, &[("AZURE_CLIENT_SECRET", "wrong-secret")]).await;
    let (report, dead) = deliver(sink, &[event(1)]).await;
    assert_eq!((report.delivered, report.dead_lettered, report.requests), (0, 1, 1));
    let reason = &dead.letters()[0].reason;
    assert!(reason.contains("AADSTS7000215") && reason.contains(CLIENT), "{reason}");
    assert!(!reason.contains("wrong-secret"), "{reason}");
}

#[tokio::test]
async fn a_field_over_64_kb_is_cut_with_a_marker_listed_and_counted() {
    let (server, ingestion) = stand_in().await;
    let raw = "r".repeat(200_000);
    let big = OutboundEvent {
        time_ms: 1_709_618_828_000,
        json: json!({"class_uid": 6003, "n": 0, "raw_data": raw, "unmapped": {"blob": "u".repeat(70_000), "k": 1}, "message": "kept"}).to_string(),
    };
    let (report, dead) = deliver(sink(&server, &[]).await, &[big, event(1)]).await;
    assert_eq!((report.delivered, report.dead_lettered, report.fields_truncated), (2, 0, 2), "{report:?}");
    assert!(dead.letters().is_empty());
    let state = ingestion.0.lock().unwrap();
    let row = &state.rows[0];
    let cut = row["raw_data"].as_str().unwrap();
    assert!(cut.len() <= 60_000, "{}", cut.len());
    assert!(
        cut.starts_with("rrrr") && cut.ends_with("…[cut by audit-relay: 200002 bytes]"),
        "{}",
        &cut[cut.len() - 60..]
    );
    // An object over the limit becomes its JSON text, cut.
    let unmapped = row["unmapped"].as_str().unwrap();
    assert!(unmapped.starts_with(r#"{"blob":"uuu"#) && unmapped.len() <= 60_000);
    assert_eq!(row["AuditRelayTruncated"], json!(["raw_data", "unmapped"]));
    assert_eq!(row["message"], "kept");
    assert_eq!(row["TimeGenerated"], "2024-03-05T06:07:08Z");
    // An event without a long field carries no list.
    assert!(state.rows[1].get("AuditRelayTruncated").is_none());
}

#[test]
fn the_encoder_gives_the_event_back_without_time_generated() {
    let encoder = SentinelEncoder::default();
    for json in [r#"{"class_uid":6003,"n":1}"#, "{}", r#"{ "a": "b\"c" }"#] {
        let mut out = Vec::new();
        encoder.encode(&OutboundEvent { time_ms: 1_709_618_828_123, json: json.to_string() }, &mut out);
        let row: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(row["TimeGenerated"], "2024-03-05T06:07:08.123Z");
        let back: Value = serde_json::from_slice(&encoder.original(&out)).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
    }
    assert_eq!(encoder.truncated(), 0);
}

#[tokio::test]
async fn settings_build_the_url_check_its_parts_and_take_ocsf_only() {
    let server = MockServer::start().await;
    let settings = load(vars(&server)).await.unwrap();
    assert_eq!(settings.format(None), Ok(OutputFormat::Ocsf));
    assert!(settings.format(Some(OutputFormat::Udm)).is_err());
    let debug = format!("{settings:?}");
    assert!(debug.contains(STREAM_PATH) && debug.contains("\"api-version=2023-01-01\""), "{debug}");
    assert!(!debug.contains("app-secret"), "{debug}");

    // The whole URL in SIEM_URL, for a US Government endpoint: that cloud's scope.
    let mut whole = vars(&server);
    whole.retain(|(k, _)| k != "SENTINEL_ENDPOINT" && k != "SENTINEL_DCR_ID");
    whole.push((
        "SIEM_URL".into(),
        format!("https://my-dcr-abcd.usgovvirginia-1.ingest.monitor.azure.us{STREAM_PATH}"),
    ));
    let debug = format!("{:?}", load(whole.clone()).await.unwrap());
    assert!(debug.contains("https://monitor.azure.us//.default"), "{debug}");

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("SENTINEL_DCR_ID", "my-rule")], "SENTINEL_DCR_ID"),
        (vec![("SENTINEL_STREAM", "AuditRelay_CL")], "SENTINEL_STREAM"),
        (vec![("SENTINEL_AUTH", "pat")], "SENTINEL_AUTH"),
        (vec![("SIEM_URL", "https://example.com/x")], "not both"),
        (vec![("SENTINEL_ENDPOINT", "http://ingest.example.com")], "SENTINEL_ENDPOINT"),
    ];
    for (changes, expected) in cases {
        let mut vars = vars(&server);
        for (k, v) in changes {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        let error = load(vars).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let mut no_auth = vars(&server);
    no_auth.retain(|(k, _)| k != "SENTINEL_AUTH");
    assert!(load(no_auth).await.unwrap_err().to_string().contains("SENTINEL_AUTH"));
    whole.retain(|(k, _)| k != "SIEM_URL");
    assert!(load(whole).await.unwrap_err().to_string().contains("SIEM_URL"));
}

#[tokio::test]
async fn check_fetches_a_token_and_posts_an_empty_array() {
    let (server, ingestion) = stand_in().await;
    let probe = sink(&server, &[]).await.check(Duration::from_secs(5)).await;
    assert!(probe.ok, "{probe:?}");
    assert!(ingestion.0.lock().unwrap().rows.is_empty(), "an empty array stores nothing");

    ingestion.0.lock().unwrap().scripted = vec![(403, None)];
    let probe = sink(&server, &[]).await.check(Duration::from_secs(5)).await;
    assert!(!probe.ok);
    assert!(format!("{probe:?}").contains("Monitoring Metrics Publisher"), "{probe:?}");

    let probe = sink(&server, &[("AZURE_CLIENT_SECRET", "nope")]).await.check(Duration::from_secs(5)).await;
    assert!(!probe.ok);
    let text = format!("{probe:?}");
    assert!(text.contains("AADSTS7000215") && !text.contains("nope"), "{text}");
}
