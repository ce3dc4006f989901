//! `audit-relay check` and the `{"audit-relay": "check"}` invocation (issue 14): the real CLI and
//! function binaries, configured as in Lambda, against moto (the checkpoint and dead-letter
//! buckets), a Splunk HEC stand-in, Atlassian and Azure DevOps API stand-ins and an Entra ID token
//! endpoint stand-in that answer well and badly. A failure names its component and makes the run
//! exit 1; nothing is delivered, no checkpoint is written, no probe object is left; no credential
//! appears on standard output or in the logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use audit_relay_tests::moto::{self, MotoServer};
use audit_relay_tests::runtime_api::{function_binary, Deadline, FunctionProcess, Outcome, RuntimeApi};
use serde_json::json;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEC_TOKEN: &str = "hec-CHECK-SECRET-41d2";
const ORG_KEY: &str = "org-CHECK-SECRET-77aa";
const SITE_TOKEN: &str = "site-CHECK-SECRET-c3c3";
const PAT: &str = "pat-CHECK-SECRET-9e9e";
const CLIENT_SECRET: &str = "entra-CHECK-SECRET-5b5b";
const ORG_ID: &str = "0f0f-org";
const TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const SECRETS: [&str; 5] = [HEC_TOKEN, ORG_KEY, SITE_TOKEN, PAT, CLIENT_SECRET];

/// A HEC that is healthy and takes only [`HEC_TOKEN`] (an empty request with it: code 5).
async fn hec() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/collector/health"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"text":"HEC is healthy","code":17}"#))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/collector/event"))
        .and(header("authorization", format!("Splunk {HEC_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_string(r#"{"text":"No data","code":5}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/collector/event"))
        .respond_with(ResponseTemplate::new(403).set_body_string(r#"{"text":"Invalid token","code":4}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// The Atlassian organization API and a Jira site on one stand-in: each answers an empty page to
/// its credential and 401 to any other.
async fn atlassian() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/admin/v1/orgs/{ORG_ID}/events-stream")))
        .and(header("authorization", format!("Bearer {ORG_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "links": {}, "meta": {}})))
        .with_priority(1)
        .mount(&server)
        .await;
    // base64("secops@example.com:" + SITE_TOKEN)
    let basic = "Basic c2Vjb3BzQGV4YW1wbGUuY29tOnNpdGUtQ0hFQ0stU0VDUkVULWMzYzM=";
    Mock::given(method("GET"))
        .and(path("/rest/api/3/auditing/record"))
        .and(header("authorization", basic))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"offset": 0, "limit": 1, "total": 0, "records": []})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"code":401,"message":"Unauthorized"}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// The variables of a function, as the SAM template sets them (plus the stand-ins' URLs).
fn common(
    moto: &MotoServer,
    hec: &MockServer,
    hec_token: &str,
    dlq_bucket: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.endpoint().to_string()),
        ("SIEM_TYPE", "splunk_hec".into()),
        ("SIEM_URL", format!("{}/services/collector/event", hec.uri())),
        ("SIEM_TOKEN", hec_token.into()),
        ("DLQ_BUCKET", dlq_bucket.into()),
        ("DLQ_PREFIX", "dlq/".into()),
        ("CHECKPOINT_BUCKET", "state".into()),
    ]
}

fn atlassian_vars(api: &MockServer, site_token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ATLASSIAN_API_URL", api.uri()),
        ("ATLASSIAN_ORG_ID", ORG_ID.into()),
        ("ATLASSIAN_ORG_API_KEY", ORG_KEY.into()),
        ("ATLASSIAN_SITES", api.uri()),
        ("ATLASSIAN_PRODUCTS", "org,jira".into()),
        ("ATLASSIAN_USER_EMAIL", "secops@example.com".into()),
        ("ATLASSIAN_API_TOKEN", site_token.into()),
    ]
}

/// Runs `audit-relay check FUNCTION` with only `vars` (and the AWS basics) in its environment:
/// exit code, standard output, standard error.
fn run_check(function: &str, vars: &[(&'static str, String)]) -> (i32, String, String) {
    let mut command = Command::new(function_binary("audit-relay"));
    command
        .args(["check", function])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("LOG_LEVEL", "debug")
        .stdin(Stdio::null());
    for (key, value) in vars {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

/// The table line of `component` (its first column).
fn line<'a>(table: &'a str, component: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{component} ")))
        .unwrap_or_else(|| panic!("no line for {component}:\n{table}"))
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

/// Every object left in bucket `state`.
async fn objects(moto: &MotoServer) -> Vec<String> {
    let listed = moto.s3_client().list_objects_v2().bucket("state").send().await.unwrap();
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

#[tokio::test]
async fn atlassian_check_passes_then_names_each_broken_component_and_exits_1() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    let hec = hec().await;
    let api = atlassian().await;

    let good = [common(&moto, &hec, HEC_TOKEN, "state"), atlassian_vars(&api, SITE_TOKEN)].concat();
    let (code, table, logs) = run_check("atlassian-audit", &good);
    assert_eq!(code, 0, "{table}\n{logs}");
    for component in ["siem splunk_hec", "dead letters", "checkpoints", &format!("source org-{ORG_ID}")] {
        assert!(line(&table, component).contains("  ok  "), "{component}:\n{table}");
    }
    let jira = table.lines().find(|l| l.starts_with("source jira-")).unwrap();
    assert!(jira.contains("  ok  "), "{table}");
    assert!(line(&table, "dead letters").contains("s3://state/dlq/atlassian/"), "{table}");
    assert!(line(&table, "checkpoints").contains("s3://state/checkpoints/atlassian/"), "{table}");
    assert!(table.ends_with("check passed: 5 components\n"), "{table}");
    assert!(objects(&moto).await.is_empty(), "probe objects are deleted, no checkpoint is written");
    // One record asked for, the last hour only.
    let requests = api.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let limit = request.url.query_pairs().find(|(k, _)| k == "limit").map(|(_, v)| v.into_owned());
        assert_eq!(limit.as_deref(), Some("1"), "{}", request.url);
    }
    // Nothing was sent for indexing.
    let hec_requests = hec.received_requests().await.unwrap();
    assert!(hec_requests.iter().all(|r| r.body.is_empty()));

    // A wrong HEC token, a dead-letter bucket that does not exist, a site token refused.
    let bad = [common(&moto, &hec, "hec-wrong-token", "no-such-bucket"), atlassian_vars(&api, "site-wrong")]
        .concat();
    let (code, table, logs) = run_check("atlassian-audit", &bad);
    assert_eq!(code, 1, "{table}\n{logs}");
    let siem = line(&table, "siem splunk_hec");
    assert!(siem.contains("failed") && siem.contains("Invalid token"), "{table}");
    assert!(table.contains("hint: SIEM_TOKEN is not an enabled HEC token"), "{table}");
    let dlq = line(&table, "dead letters");
    assert!(dlq.contains("failed") && dlq.contains("s3://no-such-bucket/dlq/atlassian/"), "{table}");
    assert!(dlq.contains("NoSuchBucket: The specified bucket does not exist"), "S3's own words:\n{table}");
    assert!(line(&table, "checkpoints").contains("  ok  "), "{table}");
    assert!(line(&table, &format!("source org-{ORG_ID}")).contains("  ok  "), "{table}");
    let jira = table.lines().find(|l| l.starts_with("source jira-")).unwrap();
    assert!(jira.contains("failed") && jira.contains("HTTP 401"), "{table}");
    assert!(
        table.contains("hint: ATLASSIAN_USER_EMAIL / ATLASSIAN_API_TOKEN"),
        "the site's hint names its variables:\n{table}"
    );
    assert!(table.ends_with("check failed: 3 of 5 components\n"), "{table}");
    assert!(logs.contains("Check failed."), "each failure is logged:\n{logs}");
    assert!(objects(&moto).await.is_empty());

    for (what, text) in [("the good table", &table), ("the logs", &logs)] {
        assert_no_secret(what, text);
    }
}

/// An Azure DevOps audit service stand-in answering one empty page to `Bearer <token>`.
async fn audit_service(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/contoso/_apis/audit/auditlog"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"decoratedAuditLogEntries": [], "continuationToken": null, "hasMore": false}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    // Any other credential, e.g. a PAT without the vso.auditlog scope.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403).set_body_string("Access Denied: the token lacks the scope"))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// An Entra ID token endpoint: a token for [`CLIENT_SECRET`], `invalid_client` for anything else.
async fn entra() -> MockServer {
    let server = MockServer::start().await;
    let token_path = format!("/{TENANT}/oauth2/v2.0/token");
    Mock::given(method("POST"))
        .and(path(token_path.as_str()))
        .and(wiremock::matchers::body_string_contains(format!("client_secret={CLIENT_SECRET}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "entra-access-token-1"}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(".*/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215]
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn azure_devops_check_gets_a_fresh_entra_token_and_queries_one_entry() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    let hec = hec().await;
    let entra = entra().await;
    let audit = audit_service("entra-access-token-1").await;
    let vars = |secret: &str| {
        [
            common(&moto, &hec, HEC_TOKEN, "state"),
            vec![
                ("AZDO_ORGANIZATIONS", "contoso".into()),
                ("AZDO_AUDIT_URL", audit.uri()),
                ("AZDO_AUTH", "entra_secret".into()),
                ("AZURE_TENANT_ID", TENANT.into()),
                ("AZURE_CLIENT_ID", CLIENT.into()),
                ("AZURE_CLIENT_SECRET", secret.into()),
                ("AZURE_AUTHORITY_HOST", entra.uri()),
            ],
        ]
        .concat()
    };

    let (code, table, logs) = run_check("azure-devops-audit", &vars(CLIENT_SECRET));
    assert_eq!(code, 0, "{table}\n{logs}");
    let identity = line(&table, &format!("entra id {CLIENT} (client secret)"));
    assert!(identity.contains("  ok  ") && identity.contains(TENANT), "{table}");
    assert!(line(&table, "source contoso").contains("  ok  "), "{table}");
    let query = &audit.received_requests().await.unwrap()[0];
    let batch = query.url.query_pairs().find(|(k, _)| k == "batchSize").map(|(_, v)| v.into_owned());
    assert_eq!(batch.as_deref(), Some("1"));
    assert_no_secret("the table", &table);
    assert_no_secret("the logs", &logs);
    assert!(!table.contains("entra-access-token-1") && !logs.contains("entra-access-token-1"));

    let (code, table, logs) = run_check("azure-devops-audit", &vars("entra-wrong-secret"));
    assert_eq!(code, 1, "{table}\n{logs}");
    let identity = line(&table, &format!("entra id {CLIENT} (client secret)"));
    assert!(identity.contains("failed") && identity.contains("AADSTS7000215"), "{table}");
    assert!(table.contains("AZURE_CLIENT_SECRET"), "the hint names the proof's variable:\n{table}");
    assert!(line(&table, "source contoso").contains("failed"), "{table}");
    assert!(!table.contains("entra-wrong-secret") && !logs.contains("entra-wrong-secret"));

    // A PAT the service refuses (403: a scope missing): no Entra line, the organization fails.
    let mut pat = vars(CLIENT_SECRET);
    pat.retain(|(k, _)| !k.starts_with("AZURE_") && *k != "AZDO_AUTH");
    pat.push(("AZDO_PAT", PAT.into()));
    let (code, table, logs) = run_check("azure-devops-audit", &pat);
    assert_eq!(code, 1, "{table}\n{logs}");
    assert!(!table.contains("entra id"), "{table}");
    let org = line(&table, "source contoso");
    assert!(org.contains("failed") && org.contains("HTTP 403"), "{table}");
    assert!(table.contains("vso.auditlog"), "the PAT's hint names the scope:\n{table}");
    assert_no_secret("the table", &table);
    assert_no_secret("the logs", &logs);
    assert!(objects(&moto).await.is_empty());
}

#[tokio::test]
async fn each_function_answers_the_check_event_with_the_report_as_json() {
    let moto = moto::start().await;
    moto.bucket("state").await;
    let hec = hec().await;
    let api = atlassian().await;
    let cases = [
        ("cloudtrail-s3", common(&moto, &hec, HEC_TOKEN, "state"), 2),
        ("opensearch-audit", common(&moto, &hec, HEC_TOKEN, "state"), 2),
        (
            "atlassian-audit",
            [common(&moto, &hec, HEC_TOKEN, "state"), atlassian_vars(&api, SITE_TOKEN)].concat(),
            5,
        ),
        (
            "atlassian-audit",
            [common(&moto, &hec, "hec-wrong", "state"), atlassian_vars(&api, SITE_TOKEN)].concat(),
            5,
        ),
    ];
    for (function, vars, components) in cases {
        let api = RuntimeApi::start(Deadline::Ahead(Duration::from_secs(60))).await;
        let mut process = FunctionProcess::start_with_metrics(function, &api, &vars);
        let outcome = api.invoke(&json!({"audit-relay": "check"}), Duration::from_secs(60)).await;
        let output = process.stop();
        let Outcome::Response(report) = outcome else { panic!("{function}: {outcome:?}") };
        let rows = report["components"].as_array().unwrap();
        assert_eq!(rows.len(), components, "{report:#}");
        let wrong_token = vars.iter().any(|(k, v)| *k == "SIEM_TOKEN" && v == "hec-wrong");
        assert_eq!(report["check"], if wrong_token { "failed" } else { "passed" }, "{report:#}");
        assert_eq!(rows[0]["component"], "siem splunk_hec");
        assert_eq!(rows[0]["result"], if wrong_token { "failed" } else { "ok" });
        assert!(rows.iter().all(|r| r["latency_ms"].is_u64() && r["target"].is_string()), "{report:#}");
        assert_no_secret("the report", &report.to_string());
        assert_no_secret("the function's output", &output);
        let posts = hec.received_requests().await.unwrap();
        assert!(posts.iter().all(|r| r.body.is_empty()), "{function}: nothing is sent for indexing");
    }
    assert!(objects(&moto).await.is_empty());
}
