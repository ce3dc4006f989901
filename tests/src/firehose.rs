//! A Firehose endpoint on a local HTTP server (wiremock) that speaks the JSON 1.1 protocol of
//! `PutRecordBatch` and takes every record (`FailedPutCount: 0`, a `RecordId` per record) without
//! keeping it: the benchmarks' receiver. (The sink's unit tests have a stand-in that stores and
//! fails records; `tests/tests/firehose_moto.rs` delivers into moto.)

use aws_sdk_firehose::config::{BehaviorVersion, Credentials, Region};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The endpoint, answering success for every record.
pub async fn accepting() -> MockServer {
    let server = MockServer::builder().disable_request_recording().start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "Firehose_20150804.PutRecordBatch"))
        .respond_with(|request: &Request| {
            // Each record is one `"Data"` member of the body.
            let records = request.body.windows(6).filter(|w| w == b"\"Data\"").count();
            let mut answer = String::from(r#"{"FailedPutCount":0,"Encrypted":false,"RequestResponses":["#);
            for i in 0..records {
                if i > 0 {
                    answer.push(',');
                }
                answer.push_str(&format!(r#"{{"RecordId":"r{i}"}}"#));
            }
            answer.push_str("]}");
            ResponseTemplate::new(200).set_body_raw(answer, "application/x-amz-json-1.1")
        })
        .mount(&server)
        .await;
    server
}

/// The AWS SDK's Firehose client for `endpoint`, with test credentials and without the SDK's own
/// retries.
pub fn client(endpoint: &str) -> aws_sdk_firehose::Client {
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "bench-secret", None, None, "bench"))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_firehose::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_firehose::Client::from_conf(config)
}
