//! No credential in logs, errors or dead letters (issue 8). Every sink is pointed at a receiver
//! that echoes the request's headers, URL and body back in its error response, so a credential
//! sent on the wire comes back in the very text the relay logs and dead-letters; the sinks refuse,
//! fail with 5xx, time out and cannot connect. All log output (every level, every crate) is
//! captured, and the captured logs, the returned results and errors, and every dead-letter object
//! (body and metadata) are scanned for the secret values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::sources::cloudtrail::config::CloudtrailConfig;
use audit_relay::sources::cloudtrail::handler::handle;
use audit_relay::{dead_letter, sinks};
use audit_relay_tests::{corpus, moto};
use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_s.json.gz";
const RECORDS: u64 = 5;

/// Log output of every span and event, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Answers `status` with the request's URL, headers and (plain) body as its body, optionally late.
struct Echo {
    status: u16,
    delay: Duration,
}

impl Respond for Echo {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut text = format!("{} ", request.url);
        for (name, value) in &request.headers {
            text.push_str(&format!("{name}={} ", value.to_str().unwrap_or("?")));
        }
        text.push_str(&String::from_utf8_lossy(&request.body[..request.body.len().min(4096)]));
        ResponseTemplate::new(self.status).set_body_string(text).set_delay(self.delay)
    }
}

async fn echo(status: u16, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(Echo { status, delay }).mount(&server).await;
    server
}

/// Runs the `cloudtrail-s3` handler on the test object with `vars`; returns what it returned (the
/// summary, or the error's `Display` and `Debug`).
async fn run(moto: &moto::MotoServer, vars: Vec<(&str, String)>) -> String {
    let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
    let s3 = moto.s3_client();
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    let dead_letter = dead_letter::from_config(&config.dead_letter, Some(s3.clone()));
    let deps = Pipeline { s3, sink, dead_letter, config };
    let payload = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "trail"},
        "object": {"key": KEY, "size": 1}}}]});
    match handle(&deps, &CloudtrailConfig::default(), LambdaEvent::new(payload, Context::default())).await {
        Ok(summary) => {
            assert_eq!(summary["dead_lettered"], RECORDS, "{summary}");
            summary.to_string()
        }
        Err(error) => format!("{error} {error:?}"),
    }
}

/// Every dead-letter object: key, metadata and gunzipped body.
async fn dead_letters(moto: &moto::MotoServer) -> Vec<String> {
    let client = moto.s3_client();
    let listed = client.list_objects_v2().bucket("state").send().await.unwrap();
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().unwrap();
        let got = client.get_object().bucket("state").key(key).send().await.unwrap();
        let metadata = format!("{:?}", got.metadata());
        let body = got.body.collect().await.unwrap().into_bytes();
        let mut lines = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut lines).unwrap();
        out.push(format!("{key} {metadata} {lines}"));
    }
    out
}

/// Fails naming where a secret appears.
fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} shows the secret {secret:?}:\n{text}");
    }
}

/// The Sentinel sink with a client secret, its Entra ID authority at `authority` and its ingestion
/// API at `endpoint`.
fn sentinel_vars(authority: &str, endpoint: &str, secret: &str) -> Vec<(&'static str, String)> {
    let mut vars = audit_relay_tests::logs_ingestion::sink_vars(authority, endpoint, secret);
    vars.extend([
        ("DLQ_BUCKET", "state".to_string()),
        ("SINK_MAX_ATTEMPTS", "2".to_string()),
        ("SINK_TIMEOUT_SECS", "1".to_string()),
    ]);
    vars
}

fn base(siem_type: &str, url: String, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SIEM_TYPE", siem_type.to_string()),
        ("SIEM_URL", url),
        ("SIEM_TOKEN", token.to_string()),
        ("DLQ_BUCKET", "state".to_string()),
        ("SINK_MAX_ATTEMPTS", "2".to_string()),
        ("SINK_TIMEOUT_SECS", "1".to_string()),
    ]
}

#[tokio::test(flavor = "current_thread")]
async fn sink_credentials_never_reach_logs_errors_or_dead_letters() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let moto = moto::start().await;
    moto.bucket("trail").await;
    moto.bucket("state").await;
    moto.s3_client()
        .put_object()
        .bucket("trail")
        .key(KEY)
        .body(ByteStream::from(corpus::gz_bytes(RECORDS, 31)))
        .send()
        .await
        .unwrap();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let service_account = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/src/sinks/secops_api/testdata/TEST_ONLY_service_account.json"
    ))
    .unwrap();
    let private_key: serde_json::Value = serde_json::from_str(&service_account).unwrap();
    let private_key = private_key["private_key"].as_str().unwrap().to_string();
    // A line from the middle of the PEM: any leak of the key shows it.
    let key_line = private_key.lines().nth(5).unwrap().to_string();

    let secrets = [
        "hec-SECRET-7f3a9c",
        "dd-SECRET-51be02",
        "http-SECRET-c0ffee",
        "url-SECRET-beef42",
        "hook-api-SECRET-aa11",
        "hook-access-SECRET-bb22",
        "slow-SECRET-9d9d",
        "refused-SECRET-e1e1",
        "ya29.access-SECRET-f00d",
        key_line.as_str(),
        "es-key-SECRET-1234",
        "es-pass-SECRET-5678",
        // base64("writer:es-pass-SECRET-5678"): what basic authentication sends.
        "d3JpdGVyOmVzLXBhc3MtU0VDUkVULTU2Nzg=",
        "sentinel-app-SECRET-77aa",
        "eyJ0eXAi.sentinel-access-SECRET-88bb",
    ];
    let mut results = Vec::new();

    // Splunk HEC refusing the token (403) with the token in its answer.
    let hec = echo(403, Duration::ZERO).await;
    results.push(
        run(&moto, base("splunk_hec", format!("{}/services/collector/event", hec.uri()), secrets[0])).await,
    );
    // Datadog failing with 500 twice, then dead-lettered.
    let datadog = echo(500, Duration::ZERO).await;
    results.push(run(&moto, base("datadog", format!("{}/api/v2/logs", datadog.uri()), secrets[1])).await);
    // The generic http sink with a key in its URL, failing with 502.
    let http = echo(502, Duration::ZERO).await;
    results.push(
        run(&moto, base("http", format!("{}/in?api_key={}", http.uri(), secrets[3]), secrets[2])).await,
    );
    // The SecOps webhook refusing both keys (401).
    let webhook = echo(401, Duration::ZERO).await;
    let mut vars = base("secops_webhook", format!("{}/v1/feed:importPushLogs", webhook.uri()), secrets[4]);
    vars.push(("SIEM_WEBHOOK_SECRET", secrets[5].to_string()));
    results.push(run(&moto, vars).await);
    // Elasticsearch refusing an API key (401), then failing with 500 under basic authentication.
    let elastic = echo(401, Duration::ZERO).await;
    results.push(run(&moto, base("elasticsearch", elastic.uri(), secrets[10])).await);
    let elastic_basic = echo(500, Duration::ZERO).await;
    let mut vars = base("elasticsearch", elastic_basic.uri(), "unused");
    vars.extend([
        ("ELASTIC_AUTH", "basic".to_string()),
        ("ELASTIC_USERNAME", "writer".to_string()),
        ("ELASTIC_PASSWORD", secrets[11].to_string()),
    ]);
    results.push(run(&moto, vars).await);
    // Sentinel: Entra ID refuses the app's secret and echoes the form that carried it; then a
    // token is issued and the ingestion API refuses it (403), echoing the bearer header.
    let entra_refusing = echo(401, Duration::ZERO).await;
    results.push(run(&moto, sentinel_vars(&entra_refusing.uri(), &entra_refusing.uri(), secrets[13])).await);
    let sentinel = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"token_type": "Bearer", "expires_in": 3599, "access_token": secrets[14]}),
            ),
        )
        .mount(&sentinel)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/dataCollectionRules/"))
        .respond_with(Echo { status: 403, delay: Duration::ZERO })
        .mount(&sentinel)
        .await;
    results.push(run(&moto, sentinel_vars(&sentinel.uri(), &sentinel.uri(), secrets[13])).await);
    // Timeouts: the receiver answers after the 1 s request timeout, every time.
    let slow = echo(500, Duration::from_secs(3)).await;
    results.push(run(&moto, base("http", format!("{}/in?key={}", slow.uri(), secrets[6]), secrets[6])).await);
    // Connection refused, with a key in the URL.
    results.push(
        run(&moto, base("http", format!("http://127.0.0.1:{closed_port}/in?key={}", secrets[7]), secrets[7]))
            .await,
    );
    // SecOps API: the token endpoint refuses the signed assertion and echoes it.
    let token_endpoint = echo(400, Duration::ZERO).await;
    let secops_vars = |token_url: String, import_url: String| {
        vec![
            ("SIEM_TYPE", "secops_api".to_string()),
            ("SIEM_URL", import_url),
            ("SECOPS_SERVICE_ACCOUNT_JSON", service_account.clone()),
            ("SECOPS_TOKEN_URL", token_url),
            ("DLQ_BUCKET", "state".to_string()),
            ("SINK_MAX_ATTEMPTS", "2".to_string()),
            ("SINK_TIMEOUT_SECS", "1".to_string()),
        ]
    };
    results.push(
        run(
            &moto,
            secops_vars(
                format!("{}/token", token_endpoint.uri()),
                format!("{}/import", token_endpoint.uri()),
            ),
        )
        .await,
    );
    // SecOps API: a token is issued, then the import is refused (403) with the bearer token echoed.
    let secops = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": secrets[8], "expires_in": 3600})),
        )
        .mount(&secops)
        .await;
    Mock::given(method("POST"))
        .and(path("/import"))
        .respond_with(Echo { status: 403, delay: Duration::ZERO })
        .mount(&secops)
        .await;
    results.push(
        run(&moto, secops_vars(format!("{}/token", secops.uri()), format!("{}/import", secops.uri()))).await,
    );

    // The receivers did get the credentials: the echoes carried them back.
    let mut wire = String::new();
    for server in [
        &hec,
        &datadog,
        &http,
        &webhook,
        &token_endpoint,
        &secops,
        &elastic,
        &elastic_basic,
        &entra_refusing,
        &sentinel,
    ] {
        for request in server.received_requests().await.unwrap() {
            wire.push_str(&format!(
                "{} {:?} {}\n",
                request.url,
                request.headers,
                String::from_utf8_lossy(&request.body)
            ));
        }
    }
    for secret in secrets[..6].iter().chain([&secrets[10], &secrets[12], &secrets[13], &secrets[14]]) {
        assert!(wire.contains(secret), "{secret} was not sent: the test would prove nothing");
    }
    // Every assertion the token endpoint was sent is a credential too.
    let assertions: Vec<String> = token_endpoint
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            let body = String::from_utf8_lossy(&r.body).into_owned();
            // A JWT is base64url and dots: it needs no form encoding.
            let start = body.find("assertion=")? + "assertion=".len();
            Some(body[start..].split('&').next().unwrap_or_default().to_string())
        })
        .collect();
    assert!(!assertions.is_empty());

    let logs = captured.text();
    let letters = dead_letters(&moto).await;
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend(assertions.iter().map(String::as_str));
    assert_no_secret("the logs", &logs, &all);
    for result in &results {
        assert_no_secret("a handler result", result, &all);
    }
    for letter in &letters {
        assert_no_secret("a dead letter", letter, &all);
    }
    assert_eq!(letters.len(), 12, "one dead letter per run: {letters:#?}");
    assert!(logs.contains("***"), "the masked credentials show as ***");
    eprintln!(
        "security-summary: runs={} secrets={} log_bytes={} dead_letters={} leaks=0",
        results.len(),
        all.len(),
        logs.len(),
        letters.len()
    );
}

#[tokio::test]
async fn configuration_errors_never_show_credentials() {
    let secrets = ["cfg-SECRET-url-key", "cfg-SECRET-password", "cfg-SECRET-token", "cfg-SECRET-hook"];
    let refused: Vec<Vec<(&str, String)>> = vec![
        // Plain http to a non-loopback host, with a key in the query.
        vec![
            ("SIEM_TYPE", "http".into()),
            ("SIEM_URL", format!("http://siem.example.com/in?api_key={}", secrets[0])),
        ],
        // An unsupported scheme, with a password in the URL.
        vec![
            ("SIEM_TYPE", "http".into()),
            ("SIEM_URL", format!("ftp://relay:{}@siem.example.com/in", secrets[1])),
        ],
        // Not a URL at all.
        vec![("SIEM_TYPE", "http".into()), ("SIEM_URL", format!("https://[::1/in?key={}", secrets[0]))],
        // A token endpoint with a key in its URL.
        vec![
            ("SIEM_TYPE", "secops_api".into()),
            ("SIEM_URL", "https://x.example.com/events:import".into()),
            ("SECOPS_SERVICE_ACCOUNT_JSON", "{}".into()),
            ("SECOPS_TOKEN_URL", format!("http://oauth.example.com/token?secret={}", secrets[0])),
        ],
    ];
    for vars in refused {
        let error = Config::load(&EnvReader::from_map(vars.clone(), None)).await.unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(text.contains("***"), "{text}");
        assert_no_secret("a configuration error", &text, &secrets);
    }
    // A token that cannot be a header value is refused by the sink without being shown.
    for siem_type in ["splunk_hec", "datadog", "http", "secops_webhook", "elasticsearch"] {
        let vars = vec![
            ("SIEM_TYPE", siem_type.to_string()),
            ("SIEM_URL", "https://siem.example.com/in".to_string()),
            ("SIEM_TOKEN", format!("{}\nx", secrets[2])),
            ("SIEM_WEBHOOK_SECRET", format!("{}\nx", secrets[3])),
        ];
        let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
        assert_no_secret("the configuration's Debug", &format!("{config:?}"), &secrets);
        let error =
            config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).err().unwrap();
        assert_no_secret("a sink error", &format!("{error} {error:?}"), &secrets);
    }
}

/// A receiver echoing every request (any method) with `status`; a HEC health answer beside it.
async fn echo_any(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/collector/health"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"HEC is healthy","code":17}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Echo { status, delay: Duration::ZERO })
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn checks_never_show_credentials_a_siem_echoes_back() {
    let secrets = [
        "chk-hec-SECRET-1a",
        "chk-dd-SECRET-2b",
        "chk-hook-api-SECRET-3c",
        "chk-hook-access-SECRET-4d",
        "chk-es-pass-SECRET-6f",
        // base64("writer:chk-es-pass-SECRET-6f"): what basic authentication sends.
        "d3JpdGVyOmNoay1lcy1wYXNzLVNFQ1JFVC02Zg==",
        "chk-sentinel-app-SECRET-7g",
    ];
    let service_account = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/src/sinks/secops_api/testdata/TEST_ONLY_service_account.json"
    ))
    .unwrap();
    let hec = echo_any(403).await;
    let datadog = echo_any(403).await;
    let webhook = echo_any(401).await;
    let token_endpoint = echo_any(400).await;
    let elastic = echo_any(401).await;
    // Entra ID refusing the Sentinel app's secret, echoing it.
    let entra = echo_any(401).await;
    let mut webhook_vars =
        base("secops_webhook", format!("{}/v1/feed:importPushLogs", webhook.uri()), secrets[2]);
    webhook_vars.push(("SIEM_WEBHOOK_SECRET", secrets[3].to_string()));
    let configs = vec![
        base("splunk_hec", format!("{}/services/collector/event", hec.uri()), secrets[0]),
        base("datadog", format!("{}/api/v2/logs", datadog.uri()), secrets[1]),
        webhook_vars,
        vec![
            ("SIEM_TYPE", "elasticsearch".to_string()),
            ("SIEM_URL", elastic.uri()),
            ("ELASTIC_AUTH", "basic".to_string()),
            ("ELASTIC_USERNAME", "writer".to_string()),
            ("ELASTIC_PASSWORD", secrets[4].to_string()),
        ],
        sentinel_vars(&entra.uri(), &entra.uri(), secrets[6]),
        vec![
            ("SIEM_TYPE", "secops_api".to_string()),
            ("SIEM_URL", format!("{}/import", token_endpoint.uri())),
            ("SECOPS_SERVICE_ACCOUNT_JSON", service_account),
            ("SECOPS_TOKEN_URL", format!("{}/token", token_endpoint.uri())),
            ("DLQ_BUCKET", "state".to_string()),
        ],
    ];
    let mut probes = String::new();
    for vars in configs {
        let config = Config::load(&EnvReader::from_map(vars, None)).await.unwrap();
        let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
        let probe = sink.check(Duration::from_secs(5)).await;
        assert!(!probe.ok, "{probe:?}");
        probes.push_str(&format!("{probe:?}\n"));
    }
    let mut wire = String::new();
    for server in [&hec, &datadog, &webhook, &elastic, &entra] {
        for request in server.received_requests().await.unwrap() {
            wire.push_str(&format!("{:?} {}\n", request.headers, String::from_utf8_lossy(&request.body)));
        }
    }
    // The password goes base64-encoded with the user name (the last secret).
    for secret in secrets.iter().filter(|s| **s != secrets[4]) {
        assert!(wire.contains(secret), "{secret} was not sent: the test would prove nothing");
    }
    let assertion = token_endpoint.received_requests().await.unwrap()[0].body.clone();
    let assertion = String::from_utf8(assertion).unwrap();
    let assertion = assertion.split("assertion=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let mut all = secrets.to_vec();
    all.push(&assertion);
    assert_no_secret("a check's answer", &probes, &all);
    assert!(probes.contains("***"), "the echoed credentials show as ***:\n{probes}");
}
