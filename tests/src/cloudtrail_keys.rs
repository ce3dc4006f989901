//! A local stand-in of CloudTrail `ListPublicKeys` (JSON 1.1, `CloudTrail_20131101.ListPublicKeys`),
//! answering the keys it is given with their validity, as CloudTrail does: `Value` the base64 of the
//! DER PKCS#1 key, `Fingerprint` the hex MD5 of those bytes, times in epoch seconds. Every request's
//! body is kept, to check what was asked. moto does not implement this API.

use std::sync::{Arc, Mutex};

use audit_relay::integrity::keys::PublicKey;
use base64::Engine as _;
use serde_json::{json, Value};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The stand-in and the requests it got.
pub struct KeysStandIn {
    /// The server (`uri()` is the endpoint).
    pub server: MockServer,
    /// Each request's JSON body, and whether it carried a SigV4 `Authorization` header.
    pub requests: Arc<Mutex<Vec<(Value, bool)>>>,
}

/// Serves `keys` to every `ListPublicKeys` whose range overlaps their validity.
pub async fn serve(keys: Vec<PublicKey>) -> KeysStandIn {
    let server = MockServer::start().await;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    Mock::given(method("POST"))
        .and(header("x-amz-target", "CloudTrail_20131101.ListPublicKeys"))
        .respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let signed = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"));
            let start = body["StartTime"].as_f64().unwrap_or(f64::MIN);
            let end = body["EndTime"].as_f64().unwrap_or(f64::MAX);
            seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((body, signed));
            let list: Vec<Value> = keys
                .iter()
                .filter(|k| (k.valid_from as f64) <= end && (k.valid_to as f64) >= start)
                .map(|k| {
                    json!({
                        "Value": base64::engine::general_purpose::STANDARD.encode(&k.der),
                        "ValidityStartTime": k.valid_from,
                        "ValidityEndTime": k.valid_to,
                        "Fingerprint": k.fingerprint,
                    })
                })
                .collect();
            ResponseTemplate::new(200)
                .set_body_raw(json!({ "PublicKeyList": list }).to_string(), "application/x-amz-json-1.1")
        })
        .mount(&server)
        .await;
    KeysStandIn { server, requests }
}
