//! An Elasticsearch / OpenSearch `_bulk` endpoint on a local HTTP server (wiremock), speaking the
//! documented protocol: NDJSON `create` action/source pairs (gzip or not), one result per item,
//! `201` for a new `_id`, `409 version_conflict_engine_exception` for one already stored, and
//! `errors: true` when any item failed. It keeps what it stored.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What the endpoint stored and how it misbehaves.
#[derive(Default)]
pub struct BulkState {
    /// Stored documents by (index, id).
    pub docs: HashMap<(String, String), Value>,
    /// Requests answered so far.
    pub requests: usize,
    /// The first this many requests get 503 (nothing stored).
    pub unavailable: usize,
    /// The first request is stored, then answered only after this delay (past the client's
    /// timeout: the client cannot know it was stored).
    pub slow_first: Option<Duration>,
    /// Answer 201 for every item without reading or storing the documents (benchmarks).
    pub discard: bool,
}

/// A running `_bulk` endpoint.
#[derive(Clone, Default)]
pub struct Bulk(pub Arc<Mutex<BulkState>>);

impl Bulk {
    /// The endpoint on its own server, `POST /_bulk`.
    pub async fn start(change: impl FnOnce(&mut BulkState)) -> (MockServer, Bulk) {
        let server = MockServer::builder().disable_request_recording().start().await;
        let bulk = Bulk::default();
        change(&mut bulk.0.lock().unwrap());
        Mock::given(method("POST")).and(path("/_bulk")).respond_with(bulk.clone()).mount(&server).await;
        (server, bulk)
    }

    /// The stored documents.
    pub fn docs(&self) -> Vec<Value> {
        self.0.lock().unwrap().docs.values().cloned().collect()
    }
}

impl Respond for Bulk {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        if state.requests <= state.unavailable {
            return ResponseTemplate::new(503).set_body_json(json!({"error": "unavailable", "status": 503}));
        }
        let mut body = String::new();
        match request.headers.get("content-encoding") {
            Some(encoding) if encoding == "gzip" => {
                flate2::read::GzDecoder::new(&request.body[..]).read_to_string(&mut body).unwrap();
            }
            _ => body = String::from_utf8(request.body.clone()).unwrap(),
        }
        if state.discard {
            let items = vec![json!({"create": {"status": 201}}); body.lines().count() / 2];
            return ResponseTemplate::new(200).set_body_json(json!({"errors": false, "items": items}));
        }
        let lines: Vec<&str> = body.lines().collect();
        let mut items = Vec::new();
        let mut errors = false;
        for pair in lines.chunks(2) {
            let action: Value = serde_json::from_str(pair[0]).unwrap();
            let index = action["create"]["_index"].as_str().unwrap().to_string();
            let id = action["create"]["_id"].as_str().unwrap().to_string();
            let doc: Value = serde_json::from_str(pair[1]).unwrap();
            let item = match state.docs.entry((index, id)) {
                std::collections::hash_map::Entry::Occupied(_) => {
                    errors = true;
                    json!({"create": {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "document already exists"}}})
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(doc);
                    json!({"create": {"status": 201}})
                }
            };
            items.push(item);
        }
        let answer =
            ResponseTemplate::new(200).set_body_json(json!({"took": 1, "errors": errors, "items": items}));
        match state.slow_first.take() {
            Some(delay) => answer.set_delay(delay),
            None => answer,
        }
    }
}
