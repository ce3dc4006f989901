//! The Elasticsearch sink against a local stand-in that speaks the `_bulk` protocol: NDJSON
//! action/source pairs, `create` refused with 409 for an `_id` already stored, per-item 429 and
//! 400 results under `errors: true`, 413 for a body over its limit, and the credential checked.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::*;
use crate::delivery::{Delivery, DeliveryReport};
use crate::test_support::{self, gunzip, settings, RecordingDeadLetter};
use sha2::{Digest, Sha256};

/// What the stand-in stores and how it misbehaves.
#[derive(Default)]
struct State {
    /// Stored documents by (index, id).
    docs: HashMap<(String, String), Value>,
    /// The `Authorization` every request must carry.
    authorization: String,
    /// Events (by their `n`) answered 429 this many more times.
    throttled: HashMap<u64, u32>,
    /// Bodies over this many bytes (uncompressed) get 413.
    max_body: Option<usize>,
    /// Request bodies as received, uncompressed.
    bodies: Vec<String>,
    /// Query strings of the requests.
    queries: Vec<String>,
}

#[derive(Clone, Default)]
struct Bulk(Arc<Mutex<State>>);

impl Respond for Bulk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        if request.headers.get("authorization").and_then(|v| v.to_str().ok())
            != Some(state.authorization.as_str())
        {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"type": "security_exception"}, "status": 401}));
        }
        assert_eq!(request.headers.get("content-type").unwrap(), "application/x-ndjson");
        let body = match request.headers.get("content-encoding") {
            Some(encoding) if encoding == "gzip" => gunzip(&request.body),
            _ => String::from_utf8(request.body.clone()).unwrap(),
        };
        state.queries.push(request.url.query().unwrap_or_default().to_string());
        state.bodies.push(body.clone());
        if state.max_body.is_some_and(|max| body.len() > max) {
            return ResponseTemplate::new(413);
        }
        if body.is_empty() {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": {"type": "action_request_validation_exception"}, "status": 400}),
            );
        }
        let lines: Vec<&str> = body.lines().collect();
        assert!(body.ends_with('\n'), "a _bulk body ends with a newline");
        let mut items = Vec::new();
        let mut errors = false;
        for pair in lines.chunks(2) {
            let action: Value = serde_json::from_str(pair[0]).unwrap();
            let meta = &action["create"];
            let (index, id) =
                (meta["_index"].as_str().unwrap().to_string(), meta["_id"].as_str().unwrap().to_string());
            let doc: Value = serde_json::from_str(pair[1]).unwrap();
            let n = doc["n"].as_u64().unwrap_or(u64::MAX);
            let item = if let Some(left) = state.throttled.get_mut(&n).filter(|left| **left > 0) {
                *left -= 1;
                json!({"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"}})
            } else if doc["bad"] == true {
                json!({"status": 400, "error": {"type": "document_parsing_exception", "reason": "[1:20] failed to parse field [bad] of type [long]"}})
            } else {
                match state.docs.entry((index, id.clone())) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        json!({"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": format!("[{id}]: version conflict, document already exists")}})
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(doc);
                        json!({"status": 201})
                    }
                }
            };
            errors |= item["status"] != 201;
            items.push(json!({ "create": item }));
        }
        ResponseTemplate::new(200).set_body_json(json!({"took": 3, "errors": errors, "items": items}))
    }
}

async fn stand_in(authorization: &str) -> (MockServer, Bulk) {
    let server = MockServer::start().await;
    let bulk = Bulk::default();
    bulk.0.lock().unwrap().authorization = authorization.to_string();
    Mock::given(method("POST")).and(path("/_bulk")).respond_with(bulk.clone()).mount(&server).await;
    (server, bulk)
}

/// An OCSF-like event `n` with `metadata.uid`, at 2024-03-05T06:07:08Z + `n` s.
fn event(n: u64) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_709_618_828_000 + n as i64 * 1000,
        json: json!({"class_uid": 6003, "n": n, "metadata": {"uid": format!("evt-{n}")}}).to_string(),
    }
}

async fn sink(url: &str, extra: &[(&str, &str)]) -> Arc<dyn Sink> {
    test_support::sink(NAME, url, Some("a2V5LWlkOmtleQ=="), extra, &settings(1, 4)).await
}

async fn deliver(
    sink: Arc<dyn Sink>,
    events: &[OutboundEvent],
) -> (DeliveryReport, Arc<RecordingDeadLetter>) {
    let dead = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(sink, dead.clone(), &settings(1, 4), Source::Cloudtrail, None);
    for event in events {
        delivery.push(event.clone()).await.unwrap();
    }
    (delivery.finish().await.unwrap(), dead)
}

#[tokio::test]
async fn every_event_is_stored_once_through_item_retries_refusals_and_a_replay() {
    let (server, bulk) = stand_in("ApiKey a2V5LWlkOmtleQ==").await;
    bulk.0.lock().unwrap().throttled = HashMap::from([(1, 1), (3, 2)]);
    let sink = sink(&server.uri(), &[]).await;
    let mut events: Vec<OutboundEvent> = (0..6).map(event).collect();
    events.push(OutboundEvent { time_ms: 1_709_618_828_000, json: r#"{"n":99,"bad":true}"#.to_string() });

    let (report, dead) = deliver(sink.clone(), &events).await;

    assert_eq!((report.delivered, report.dead_lettered), (6, 1), "{report:?}");
    assert_eq!(report.retries, 2, "two rounds for the throttled items");
    {
        let state = bulk.0.lock().unwrap();
        assert_eq!(state.docs.len(), 6);
        let ns: HashSet<u64> = state.docs.values().map(|d| d["n"].as_u64().unwrap()).collect();
        assert_eq!(ns, (0..6).collect());
        // The first request carries all seven; the retries only the throttled ones.
        let per_request: Vec<usize> = state.bodies.iter().map(|b| b.lines().count() / 2).collect();
        assert_eq!(per_request, [7, 2, 1]);
        for query in &state.queries {
            assert!(query.contains("filter_path=errors%2Citems.*.status"), "{query}");
        }
    }
    let letters = dead.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(dead.lines(), [r#"{"n":99,"bad":true}"#]);
    assert!(
        letters[0].reason.contains("400 document_parsing_exception: [1:20] failed to parse field [bad]"),
        "{}",
        letters[0].reason
    );

    // A replay of the same events: every _id is there already (409), so nothing is stored twice
    // and nothing counts as failed.
    let (again, dead) = deliver(sink, &events[..6]).await;
    assert_eq!((again.delivered, again.dead_lettered, again.retries), (6, 0, 0));
    assert!(dead.letters().is_empty());
    assert_eq!(bulk.0.lock().unwrap().docs.len(), 6);
}

#[tokio::test]
async fn a_body_over_the_clusters_limit_is_split_until_it_fits() {
    let (server, bulk) = stand_in("ApiKey a2V5LWlkOmtleQ==").await;
    let one = {
        let mut out = Vec::new();
        BulkEncoder { index: IndexName::parse(DEFAULT_INDEX).unwrap(), source: Source::Cloudtrail }
            .encode(&event(0), &mut out);
        out.len() + 1
    };
    // Two records fit, three do not.
    bulk.0.lock().unwrap().max_body = Some(one * 2 + 2);
    let events: Vec<OutboundEvent> = (0..8).map(event).collect();
    let (report, dead) = deliver(sink(&server.uri(), &[("ELASTIC_GZIP", "false")]).await, &events).await;
    assert_eq!((report.delivered, report.dead_lettered), (8, 0), "{report:?}");
    assert!(dead.letters().is_empty());
    {
        let state = bulk.0.lock().unwrap();
        assert_eq!(state.docs.len(), 8);
        // 8 → 4 + 4 → 2 + 2 + 2 + 2.
        let sizes: Vec<usize> = state.bodies.iter().map(|b| b.lines().count() / 2).collect();
        assert_eq!(sizes, [8, 4, 2, 2, 4, 2, 2]);

        // One event alone over the limit is dead-lettered, not split forever.
    }
    bulk.0.lock().unwrap().max_body = Some(10);
    let (report, dead) = deliver(sink(&server.uri(), &[]).await, &[event(20)]).await;
    assert_eq!((report.delivered, report.dead_lettered), (0, 1));
    assert!(dead.letters()[0].reason.contains("larger than the sink takes"), "{}", dead.letters()[0].reason);
}

#[tokio::test]
async fn basic_and_api_key_credentials_are_sent_and_a_refused_one_is_dead_lettered() {
    // base64("writer:pa55") = d3JpdGVyOnBhNTU=
    let (server, bulk) = stand_in("Basic d3JpdGVyOnBhNTU=").await;
    let basic = [("ELASTIC_AUTH", "basic"), ("ELASTIC_USERNAME", "writer"), ("ELASTIC_PASSWORD", "pa55")];
    let (report, _) = deliver(sink(&server.uri(), &basic).await, &[event(1)]).await;
    assert_eq!(report.delivered, 1);
    assert!(bulk.0.lock().unwrap().bodies[0]
        .starts_with("{\"create\":{\"_index\":\"audit-relay-cloudtrail-2024.03.05\""));

    let (report, dead) = deliver(sink(&server.uri(), &[]).await, &[event(2)]).await;
    assert_eq!((report.delivered, report.dead_lettered), (0, 1));
    let letter = &dead.letters()[0];
    assert!(letter.reason.starts_with("refused by the sink: 401"), "{}", letter.reason);
    assert!(!letter.reason.contains("a2V5LWlkOmtleQ=="));
}

#[tokio::test]
async fn check_passes_when_the_cluster_takes_the_credential() {
    let (server, _) = stand_in("ApiKey a2V5LWlkOmtleQ==").await;
    let probe = sink(&server.uri(), &[]).await.check(Duration::from_secs(5)).await;
    assert!(probe.ok, "{probe:?}");
    let wrong = test_support::sink(NAME, &server.uri(), Some("other"), &[], &settings(1, 1)).await;
    let probe = wrong.check(Duration::from_secs(5)).await;
    assert!(!probe.ok, "{probe:?}");
}

#[test]
fn index_names_fill_in_the_source_and_the_event_date() {
    let name = IndexName::parse("ocsf-{source}-%Y.%m.%d-100%%").unwrap();
    let mut out = String::new();
    name.render(Source::AzureDevops, 1_709_618_828_000, &mut out);
    assert_eq!(out, "ocsf-azure_devops-2024.03.05-100%");
    let mut out = String::new();
    IndexName::parse("logs-ocsf-default").unwrap().render(Source::Cloudtrail, 0, &mut out);
    assert_eq!(out, "logs-ocsf-default");
    for bad in ["", "Upper", "a b", "a,b", "_hidden", "x-%H", "a:b"] {
        assert!(IndexName::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ids_follow_the_source_and_uid_and_records_give_their_event_back() {
    let a = document_id(Source::Cloudtrail, r#"{"metadata":{"uid":"e1"},"x":1}"#);
    assert_eq!(a.len(), 32);
    assert_eq!(
        a,
        document_id(Source::Cloudtrail, r#"{"x":2,"metadata":{"uid":"e1","v":1}}"#),
        "the uid decides"
    );
    assert_ne!(a, document_id(Source::Opensearch, r#"{"metadata":{"uid":"e1"},"x":1}"#));
    let raw = document_id(Source::Cloudtrail, r#"{"eventID":"e1"}"#);
    assert_eq!(raw, document_id(Source::Cloudtrail, r#"{"eventID":"e1"}"#));
    assert_ne!(raw, document_id(Source::Cloudtrail, r#"{"eventID":"e2"}"#));

    let encoder = BulkEncoder { index: IndexName::parse("i").unwrap(), source: Source::Cloudtrail };
    let mut record = Vec::new();
    let event = event(4);
    encoder.encode(&event, &mut record);
    assert_eq!(&*encoder.original(&record), event.json.as_bytes());
    let action: Value = serde_json::from_slice(&record[..memchr::memchr(b'\n', &record).unwrap()]).unwrap();
    assert_eq!(
        action,
        json!({"create": {"_index": "i", "_id": document_id(Source::Cloudtrail, &event.json)}})
    );
}

#[tokio::test]
async fn settings_are_checked() {
    let load = |vars: Vec<(&'static str, &'static str)>| async move {
        let mut all = vec![("SIEM_TYPE", NAME), ("SIEM_URL", "https://search.example.com:9200")];
        all.extend(vars);
        crate::sinks::load(&EnvReader::from_map(all, None)).await
    };
    let error = load(vec![]).await.unwrap_err().to_string();
    assert!(error.contains("SIEM_TOKEN"), "{error}");
    let error = load(vec![("SIEM_TOKEN", "k"), ("ELASTIC_INDEX", "Bad")]).await.unwrap_err().to_string();
    assert!(error.contains("ELASTIC_INDEX") && error.contains("lowercase"), "{error}");
    let error =
        load(vec![("ELASTIC_AUTH", "basic"), ("ELASTIC_PASSWORD", "p")]).await.unwrap_err().to_string();
    assert!(error.contains("ELASTIC_USERNAME"), "{error}");
    let error = load(vec![("ELASTIC_AUTH", "kerberos")]).await.unwrap_err().to_string();
    assert!(error.contains("expected api_key, basic or aws_sigv4"), "{error}");
    let loaded = load(vec![("SIEM_TOKEN", "k"), ("ELASTIC_PIPELINE", "ocsf-time")]).await.unwrap();
    assert_eq!(loaded.name(), NAME);
}

/// A `_bulk` stand-in for Amazon OpenSearch Service: it checks the SigV4 headers' form (the
/// credential scope names the test key, today, the region and `es`; the signed headers include
/// host, the payload hash and the date; the payload hash is the SHA-256 of the body received).
#[derive(Clone, Default)]
struct SignedBulk(Arc<Mutex<Vec<String>>>);

impl Respond for SignedBulk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let authorization = header("authorization");
        let date = header("x-amz-date");
        let mut problems = Vec::new();
        let day = date.get(..8).unwrap_or_default();
        if date.len() != 16 || !date.ends_with('Z') || date.as_bytes()[8] != b'T' {
            problems.push(format!("x-amz-date {date:?}"));
        }
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/eu-west-1/es/aws4_request, SignedHeaders="
        );
        if !authorization.starts_with(&scope) {
            problems.push(format!("authorization {authorization:?}"));
        }
        let signed_headers = authorization
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or_default();
        for needed in ["content-type", "host", "x-amz-content-sha256", "x-amz-date"] {
            if !signed_headers.split(';').any(|h| h == needed) {
                problems.push(format!("{needed} not signed: {signed_headers}"));
            }
        }
        let signature = authorization.split("Signature=").nth(1).unwrap_or_default();
        if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.push(format!("signature {signature:?}"));
        }
        let body_hash: String = Sha256::digest(&request.body).iter().map(|b| format!("{b:02x}")).collect();
        if header("x-amz-content-sha256") != body_hash {
            problems.push("x-amz-content-sha256 is not the body's hash".to_string());
        }
        if !problems.is_empty() {
            self.0.lock().unwrap().extend(problems);
            return ResponseTemplate::new(403)
                .set_body_json(json!({"message": "The request signature we calculated does not match"}));
        }
        if request.body.is_empty() {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"type": "parse_exception"}, "status": 400}));
        }
        let lines = gunzip(&request.body).lines().count();
        let items: Vec<Value> = (0..lines / 2).map(|_| json!({"create": {"status": 201}})).collect();
        ResponseTemplate::new(200).set_body_json(json!({"errors": false, "items": items}))
    }
}

#[tokio::test]
async fn aws_sigv4_signs_each_request_with_the_functions_own_credentials() {
    let server = MockServer::start().await;
    let stand_in = SignedBulk::default();
    Mock::given(method("POST")).and(path("/_bulk")).respond_with(stand_in.clone()).mount(&server).await;
    let vars = [
        ("AWS_ACCESS_KEY_ID", Some("AKIDEXAMPLE")),
        ("AWS_SECRET_ACCESS_KEY", Some("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")),
        ("AWS_SESSION_TOKEN", None),
        ("AWS_PROFILE", None),
        ("AWS_REGION", Some("eu-west-1")),
        ("AWS_EC2_METADATA_DISABLED", Some("true")),
    ];
    let uri = server.uri();
    let (report, probe) = temp_env::async_with_vars(vars, async {
        let sink = test_support::sink(
            NAME,
            &uri,
            None,
            &[("ELASTIC_AUTH", "aws_sigv4"), ("AWS_REGION", "eu-west-1")],
            &settings(1, 2),
        )
        .await;
        let (report, _) = deliver(sink.clone(), &(0..3).map(event).collect::<Vec<_>>()).await;
        let probe = sink.check(Duration::from_secs(5)).await;
        (report, probe)
    })
    .await;
    let problems = stand_in.0.lock().unwrap().clone();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(report.delivered, 3, "{report:?}");
    // The check's empty body is signed too; the stand-in answers it like a bulk of nothing.
    assert!(probe.ok, "{probe:?}");
}

#[test]
fn the_service_and_region_come_from_amazon_opensearch_host_names() {
    let endpoint = |url: &str| aws_endpoint(&url.parse().unwrap());
    assert_eq!(
        endpoint("https://search-logs-abc123.eu-west-1.es.amazonaws.com"),
        ("es", Some("eu-west-1".into()))
    );
    assert_eq!(endpoint("https://0abc.us-east-2.aoss.amazonaws.com"), ("aoss", Some("us-east-2".into())));
    assert_eq!(
        endpoint("https://vpc-x.eu-central-1.es.amazonaws.com:443/"),
        ("es", Some("eu-central-1".into()))
    );
    assert_eq!(endpoint("https://search.example.com"), ("es", None));
}
