//! SIEM receivers on a real local HTTP server (wiremock): what they were sent, decoded.

use std::io::Read;

use flate2::read::GzDecoder;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Splunk HEC endpoint answering `{"text":"Success","code":0}`, keeping what it receives.
pub async fn splunk_hec() -> MockServer {
    splunk_hec_on(MockServer::start().await).await
}

/// A Splunk HEC endpoint answering `Success` that keeps nothing (benchmarks: no memory grows with
/// what it is sent).
pub async fn splunk_hec_discarding() -> MockServer {
    splunk_hec_on(MockServer::builder().disable_request_recording().start().await).await
}

async fn splunk_hec_on(server: MockServer) -> MockServer {
    Mock::given(method("POST"))
        .and(path("/services/collector/event"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"Success","code":0}"#))
        .mount(&server)
        .await;
    server
}

/// The body of a request, gunzipped when it says `Content-Encoding: gzip`.
pub fn body_of(request: &wiremock::Request) -> Vec<u8> {
    let gzipped =
        request.headers.get("content-encoding").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gzipped {
        return request.body.clone();
    }
    let mut out = Vec::new();
    GzDecoder::new(&request.body[..]).read_to_end(&mut out).expect("gzip body");
    out
}

/// Every HEC envelope the server received, in order.
pub async fn hec_envelopes(server: &MockServer) -> Vec<Value> {
    let mut out = Vec::new();
    for request in server.received_requests().await.unwrap_or_default() {
        let body = body_of(&request);
        for envelope in serde_json::Deserializer::from_slice(&body).into_iter::<Value>() {
            out.push(envelope.expect("HEC envelope is JSON"));
        }
    }
    out
}

/// The `event` of every HEC envelope received.
pub async fn hec_events(server: &MockServer) -> Vec<Value> {
    hec_envelopes(server).await.into_iter().map(|mut e| e["event"].take()).collect()
}

/// Fails the test with the schema errors of any event that is not valid OCSF 1.8.0.
pub fn assert_valid_ocsf(events: &[Value]) {
    for event in events {
        if let Err(errors) = audit_relay::ocsf::validate::validate(event) {
            panic!("invalid OCSF event {}:\n{}", event["metadata"]["uid"], errors.join("\n"));
        }
    }
}
