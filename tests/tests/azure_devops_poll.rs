//! The `azure-devops-audit` handler against a local HTTP server that behaves like the Azure DevOps
//! audit log API (api-contracts.md §7.1: entries filtered by `startTime`/`endTime`, newest first,
//! `batchSize` a page, `continuationToken` + `hasMore`, the result at the top level or wrapped in
//! `value`, 429 `TF400733` with `Retry-After`, 401), checkpoints in moto's S3 server, and a Splunk
//! HEC receiver. Every event must arrive exactly once, as valid OCSF (or as the parser-exact UDM
//! with `SIEM_FORMAT=udm`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use audit_relay::event::Source;
use audit_relay::poller::RunError;
use audit_relay::scheduled::Scheduled;
use audit_relay::sources::azure_devops::config::AzureDevOpsConfig;
use audit_relay::sources::azure_devops::record::{AuditEntry, Shape};
use audit_relay::sources::azure_devops::udm::to_udm;
use audit_relay::timestamp::parse_rfc3339_ms;
use audit_relay_tests::audit_apis::azure_devops_entry as entry;
use audit_relay_tests::poller::{self, scenario, PollScenario};
use audit_relay_tests::receiver::hec_events;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ORG: &str = "fabrikam";
const PAT: &str = "azdo-pat-never-logged";
const CHECKPOINT: &str = "checkpoints/azure_devops/fabrikam.json";
/// base64(":azdo-pat-never-logged"): basic auth with an empty user name.
const BASIC: &str = "Basic OmF6ZG8tcGF0LW5ldmVyLWxvZ2dlZA==";
const TF400733: &str = r#"{"$id":"1","innerException":null,"message":"TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'AuditLog' in namespace 'User'.","typeName":"Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server","typeKey":"RequestBlockedException","errorCode":0,"eventId":3000}"#;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Entries `range`, one a second from `base_ms`.
fn entries(range: std::ops::Range<usize>, base_ms: i64) -> Vec<(i64, Value)> {
    range
        .map(|i| {
            let t = base_ms + i as i64 * 1000;
            (t, entry(i, t))
        })
        .collect()
}

/// A fake of `GET /{org}/_apis/audit/auditlog`: entries whose time is in `[startTime, endTime]`,
/// newest first, `batchSize` a page; the continuation token is the last entry's id, and `hasMore`
/// says whether older ones remain. An unknown token gets 400, as an expired one does.
#[derive(Clone, Default)]
struct FakeAuditLog(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    entries: Vec<(i64, Value)>,
    /// `{"value": {...}}` instead of the result at the top level.
    wrapped: bool,
    requests: usize,
    /// Answers given instead of a page, by request number (1-based).
    overrides: HashMap<usize, ResponseTemplate>,
    delay: Duration,
}

impl FakeAuditLog {
    fn add(&self, entries: impl IntoIterator<Item = (i64, Value)>) {
        self.0.lock().unwrap().entries.extend(entries);
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

impl Respond for FakeAuditLog {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        let number = state.requests;
        if let Some(template) = state.overrides.remove(&number) {
            return template;
        }
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        if query.get("api-version").map(String::as_str) != Some("7.1-preview.1")
            || query.get("skipAggregation").map(String::as_str) != Some("true")
        {
            return ResponseTemplate::new(400)
                .set_body_string("api-version and skipAggregation=true expected");
        }
        let time = |name: &str| query.get(name).and_then(|t| parse_rfc3339_ms(t)).unwrap();
        let (start, end) = (time("startTime"), time("endTime"));
        let batch: usize = query["batchSize"].parse().unwrap();
        let mut matching: Vec<&(i64, Value)> =
            state.entries.iter().filter(|(t, _)| (start..=end).contains(t)).collect();
        matching.sort_by(|(a, x), (b, y)| b.cmp(a).then_with(|| y["id"].as_str().cmp(&x["id"].as_str())));
        let from = match query.get("continuationToken") {
            None => 0,
            Some(token) => match matching.iter().position(|(_, e)| e["id"] == token.as_str()) {
                Some(position) => position + 1,
                None => return ResponseTemplate::new(400).set_body_string("invalid continuation token"),
            },
        };
        let page: Vec<Value> = matching.iter().skip(from).take(batch).map(|(_, e)| e.clone()).collect();
        let has_more = from + page.len() < matching.len();
        let token = page.last().map(|e| e["id"].clone()).unwrap_or(Value::Null);
        let result =
            json!({"decoratedAuditLogEntries": page, "continuationToken": token, "hasMore": has_more});
        let body = if state.wrapped { json!({ "value": result }) } else { result };
        ResponseTemplate::new(200).set_body_json(body).set_delay(state.delay)
    }
}

/// The fake audit service with one organization per `(name, wrapped)`.
async fn audit_service(orgs: &[(&str, bool)]) -> (MockServer, Vec<FakeAuditLog>) {
    let server = MockServer::start().await;
    let mut fakes = Vec::new();
    for (org, wrapped) in orgs {
        let fake = FakeAuditLog::default();
        fake.with(|s| s.wrapped = *wrapped);
        Mock::given(method("GET"))
            .and(path(format!("/{org}/_apis/audit/auditlog")))
            .respond_with(fake.clone())
            .mount(&server)
            .await;
        fakes.push(fake);
    }
    (server, fakes)
}

async fn setup() -> PollScenario {
    scenario().await
}

/// The Azure DevOps handler of a scenario.
trait AzureDevOpsRun {
    async fn deps(&self, api: &MockServer, vars: &[(&str, &str)]) -> Scheduled {
        self.deps_with(api, vars, |_| {}).await
    }

    /// As `deps`, with the Azure DevOps settings changed by `change` after loading.
    async fn deps_with(
        &self,
        api: &MockServer,
        vars: &[(&str, &str)],
        change: impl FnOnce(&mut AzureDevOpsConfig),
    ) -> Scheduled;
}

impl AzureDevOpsRun for PollScenario {
    async fn deps_with(
        &self,
        api: &MockServer,
        vars: &[(&str, &str)],
        change: impl FnOnce(&mut AzureDevOpsConfig),
    ) -> Scheduled {
        let mut all: Vec<(&str, String)> = vec![
            ("AZDO_AUDIT_URL", api.uri()),
            ("AZDO_ORGANIZATIONS", ORG.into()),
            ("AZDO_PAT", PAT.into()),
            ("AZDO_REQUESTS_PER_MINUTE", "60000".into()),
        ];
        all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
        let env = self.env(all);
        let mut azure_devops = AzureDevOpsConfig::load(&env).await.unwrap();
        change(&mut azure_devops);
        self.scheduled(Source::AzureDevops, &env, audit_relay::sources::azure_devops::streams(&azure_devops))
            .await
    }
}

/// The ids of `entries`, newest first (the API's order).
fn newest_first(entries: &[(i64, Value)]) -> Vec<String> {
    let mut sorted: Vec<&(i64, Value)> = entries.iter().collect();
    sorted.sort_by(|(a, _), (b, _)| b.cmp(a));
    sorted.iter().map(|(_, e)| e["id"].as_str().unwrap().to_string()).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

async fn invoke(deps: &Scheduled, deadline_ms: u64) -> Result<Value, RunError> {
    let payload: Value =
        serde_json::from_str(include_str!("../../functions/azure-devops-audit/events/schedule.json"))
            .unwrap();
    poller::invoke(deps, payload, deadline_ms).await
}

#[tokio::test]
async fn window_is_read_page_by_page_with_the_continuation_token_in_both_envelopes() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[("fabrikam", false), ("contoso", true)]).await;
    let base = now_ms() - 3_600_000;
    let fabrikam = entries(0..8, base);
    let contoso = entries(100..105, base);
    fakes[0].add(fabrikam.clone());
    fakes[1].add(contoso.clone());
    // Outside the first window (INITIAL_LOOKBACK_HOURS = 24): never returned, never delivered.
    fakes[0].add([(now_ms() - 25 * 3_600_000, entry(50, now_ms() - 25 * 3_600_000))]);
    fakes[0].add([(now_ms() + 3_600_000, entry(51, now_ms() + 3_600_000))]);
    let deps = env.deps(&api, &[("AZDO_ORGANIZATIONS", "fabrikam,contoso"), ("AZDO_BATCH_SIZE", "3")]).await;

    let started = now_ms();
    let summary = invoke(&deps, 0).await.unwrap();

    let fabrikam_ids = newest_first(&fabrikam);
    let (from_fabrikam, from_contoso): (Vec<String>, Vec<String>) =
        env.delivered().await.into_iter().partition(|id| fabrikam_ids.contains(id));
    assert_eq!(from_fabrikam, newest_first(&fabrikam), "top-level envelope, newest first, each once");
    assert_eq!(from_contoso, newest_first(&contoso), "value-wrapped envelope, each once");
    let streams = summary["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    assert_eq!(
        (&streams[0]["stream"], &streams[0]["status"], &streams[0]["events"], &streams[0]["pages"]),
        (&json!("fabrikam"), &json!("done"), &json!(8), &json!(3)),
        "3 + 3 + 2 entries"
    );
    assert_eq!(
        (&streams[1]["stream"], &streams[1]["events"], &streams[1]["pages"]),
        (&json!("contoso"), &json!(5), &json!(2))
    );
    assert_eq!(streams[0]["newest_event_ms"], base + 7_000);
    assert_eq!(summary["events_delivered"], 13);

    let requests: Vec<Request> = api
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/fabrikam/_apis/audit/auditlog")
        .collect();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.headers.get("authorization").unwrap(), BASIC);
    }
    let first = query(&requests[0]);
    assert_eq!(
        (first["batchSize"].as_str(), first["skipAggregation"].as_str(), first["api-version"].as_str()),
        ("3", "true", "7.1-preview.1")
    );
    assert!(!first.contains_key("continuationToken"));
    let (start, end) =
        (parse_rfc3339_ms(&first["startTime"]).unwrap(), parse_rfc3339_ms(&first["endTime"]).unwrap());
    assert!(first["startTime"].ends_with('Z') && first["endTime"].ends_with('Z'), "UTC: {first:?}");
    assert!((started - 24 * 3_600_000 - start).abs() < 5_000, "first run starts INITIAL_LOOKBACK_HOURS back");
    let ids = newest_first(&fabrikam);
    for (request, token) in requests[1..].iter().zip([&ids[2], &ids[5]]) {
        let next = query(request);
        assert_eq!(&next["continuationToken"], token, "the previous page's token");
        assert_eq!(
            (&next["startTime"], &next["endTime"]),
            (&first["startTime"], &first["endTime"]),
            "same window"
        );
    }

    let checkpoint = env.checkpoint(CHECKPOINT).await;
    assert_eq!(checkpoint.watermark_ms, Some(end));
    assert_eq!(checkpoint.pending, None);
    assert_eq!(checkpoint.lease, None, "released");
    let contoso_checkpoint = env.checkpoint("checkpoints/azure_devops/contoso.json").await;
    assert!(contoso_checkpoint.watermark_ms.is_some() && contoso_checkpoint.pending.is_none());
}

#[tokio::test]
async fn spec_example_page_is_delivered_as_valid_ocsf() {
    let env = setup().await;
    let api = MockServer::start().await;
    let example: Value = serde_json::from_str(include_str!(
        "../../shared/src/sources/azure_devops/fixtures/GET__AuditLog_QueryLog_by_date.json"
    ))
    .unwrap();
    Mock::given(method("GET"))
        .and(path("/fabrikam/_apis/audit/auditlog"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&example["responses"]["200"]["body"]))
        .mount(&api)
        .await;
    let deps = env.deps(&api, &[("INCLUDE_RAW", "true")]).await;

    let summary = invoke(&deps, 0).await.unwrap();

    assert_eq!(
        env.delivered().await,
        [
            "2518505060978539161;00000064-0000-8888-8000-000000000000;86fbe369-3f5d-4f52-9ab0-3be7db271948",
            "2518505063644965580;00000002-0000-8888-8000-000000000000;198b13cf-5201-48e8-acef-0d8bb2d9e815"
        ]
    );
    let events = hec_events(&env.hec).await;
    assert_eq!(events[0]["class_uid"], 6003, "AuditLog.AccessLog: API Activity");
    assert_eq!(events[0]["src_endpoint"]["ip"], "167.220.148.131");
    assert_eq!(events[1]["class_uid"], 3004, "Project.CreateCompleted: Entity Management");
    assert_eq!(events[1]["time"], 1_551_794_435_503_i64);
    let raw: Value = serde_json::from_str(events[1]["raw_data"].as_str().unwrap()).unwrap();
    assert_eq!(raw, example["responses"]["200"]["body"]["value"]["decoratedAuditLogEntries"][1]);
    // hasMore is false: its continuationToken is not followed.
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    assert_eq!(summary["streams"][0]["pages"], 1);
}

#[tokio::test]
async fn next_run_rereads_the_overlap_and_sends_only_late_and_new_entries() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    let recent = now_ms() - 60_000; // inside the 5-minute overlap of the next run
    let first_entries = entries(0..3, recent - 3_000);
    fakes[0].add(first_entries.clone());
    let deps = env.deps(&api, &[]).await;
    invoke(&deps, 0).await.unwrap();
    let first = env.checkpoint(CHECKPOINT).await;
    assert_eq!(first.seen.len(), 3, "ids inside the overlap are kept");

    // One entry that shows up late, timed before the first run's end, and a new one.
    let watermark = first.watermark_ms.unwrap();
    let late = vec![(watermark - 10_000, entry(3, watermark - 10_000)), (now_ms(), entry(4, now_ms()))];
    fakes[0].add(late.clone());
    let summary = invoke(&deps, 0).await.unwrap();

    let all: Vec<(i64, Value)> = [first_entries, late].concat();
    assert_eq!(sorted(env.delivered().await), sorted(newest_first(&all)), "nothing twice, nothing lost");
    assert_eq!(summary["streams"][0]["events"], 2);
    assert_eq!(summary["streams"][0]["duplicates"], 3);
    let requests = api.received_requests().await.unwrap();
    let second = query(requests.last().unwrap());
    assert_eq!(
        parse_rfc3339_ms(&second["startTime"]).unwrap(),
        watermark - 5 * 60_000,
        "startTime = watermark - OVERLAP_MINUTES"
    );
}

#[tokio::test]
async fn tf400733_throttling_waits_for_retry_after_and_continues() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    let all = entries(0..4, now_ms() - 600_000);
    fakes[0].add(all.clone());
    fakes[0].with(|s| {
        s.overrides.insert(
            2,
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .insert_header("X-RateLimit-Resource", "AuditLog")
                .insert_header("X-RateLimit-Remaining", "0")
                .set_body_raw(TF400733, "application/json"),
        );
    });
    let deps = env.deps(&api, &[("AZDO_BATCH_SIZE", "2")]).await;

    let started = Instant::now();
    let summary = invoke(&deps, 0).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured: {:?}", started.elapsed());
    assert_eq!(env.delivered().await, newest_first(&all), "each once, none lost to the 429");
    let stream = &summary["streams"][0];
    assert_eq!(
        (&stream["status"], &stream["api_retries"], &stream["pages"]),
        (&json!("done"), &json!(1), &json!(2))
    );
    let requests = api.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "the throttled page asked twice");
    assert_eq!(query(&requests[1]), query(&requests[2]), "the same page asked again");
}

#[tokio::test]
async fn refused_pat_fails_the_run_with_the_scope_and_is_not_retried() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..2, now_ms() - 60_000));
    fakes[0].with(|s| {
        s.overrides.insert(
            1,
            ResponseTemplate::new(401).set_body_raw(
                r#"{"message":"TF400813: The user '' is not authorized to access this resource."}"#,
                "application/json",
            ),
        );
    });
    let deps = env.deps(&api, &[]).await;

    let error = invoke(&deps, 0).await.unwrap_err();

    let RunError::Streams { message, retryable } = &error;
    assert!(!retryable, "an operator must fix the PAT");
    for part in
        ["fabrikam: Azure DevOps audit log", "HTTP 401", "PAT expired", "lacks vso.auditlog", "AZDO_PAT"]
    {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(!error.to_string().contains(PAT), "the PAT never appears");
    assert_eq!(lambda_runtime::Diagnostic::from(error).error_type, "StreamFailed");
    assert!(env.delivered().await.is_empty());
    assert_eq!(api.received_requests().await.unwrap().len(), 1, "401 is not retried");
    let checkpoint = env.checkpoint(CHECKPOINT).await;
    assert_eq!(checkpoint.lease, None, "the stream is released for the next run");
    assert_eq!(checkpoint.watermark_ms, None);
}

#[tokio::test]
async fn run_stopped_by_the_deadline_is_resumed_by_token_without_loss_or_duplicates() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, true)]).await;
    let all = entries(0..20, now_ms() - 3_600_000);
    fakes[0].add(all.clone());
    fakes[0].with(|s| s.delay = Duration::from_millis(250));
    let deps = env.deps(&api, &[("AZDO_BATCH_SIZE", "2")]).await;
    let ids = newest_first(&all);

    // 2.4 s left: paging stops a third of that before the deadline.
    let first = invoke(&deps, (now_ms() + 2_400) as u64).await.unwrap();

    assert_eq!((&first["streams"][0]["status"], &first["behind"]), (&json!("behind"), &json!(true)));
    let part = env.delivered().await;
    assert!(!part.is_empty() && part.len() < 20, "{} delivered before the deadline", part.len());
    assert_eq!(part, ids[..part.len()], "the newest first");
    let checkpoint = env.checkpoint(CHECKPOINT).await;
    let pending = checkpoint.pending.clone().expect("the window is saved part-way");
    assert_eq!(
        pending.resume,
        Some(json!({"continuationToken": ids[part.len() - 1]})),
        "resumes after the last entry delivered"
    );
    assert_eq!(checkpoint.lease, None);

    fakes[0].with(|s| s.delay = Duration::ZERO);
    let second = invoke(&deps, 0).await.unwrap();

    assert_eq!(second["streams"][0]["status"], "done");
    assert_eq!(env.delivered().await, ids, "every entry once, in the API's order");
    let resumed = api.received_requests().await.unwrap();
    let resumed = query(&resumed[resumed.len() - (20 - part.len()).div_ceil(2) - 1]);
    assert_eq!(resumed["continuationToken"], ids[part.len() - 1], "the second run starts at the saved token");
    let done = env.checkpoint(CHECKPOINT).await;
    assert_eq!(done.pending, None);
    assert!(done.watermark_ms.unwrap() > pending.window.to_ms, "a fresh window followed the resumed one");
}

/// A saved token the API no longer accepts (400) makes the poller read the window again from its
/// start. Nothing is lost; only the ids the checkpoint kept (the last page read, the window's
/// overlap) are skipped, so the earlier pages' entries are sent again with the same
/// `metadata.uid` (at-least-once; Azure DevOps tokens name an entry and do not normally expire).
#[tokio::test]
async fn expired_continuation_token_rereads_the_window_without_loss() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    let all = entries(0..6, now_ms() - 3_600_000);
    fakes[0].add(all.clone());
    // Page 3 keeps failing: the run fails with two pages delivered and their token saved.
    fakes[0].with(|s| {
        for n in 3..=10 {
            s.overrides.insert(n, ResponseTemplate::new(503));
        }
    });
    let deps = env.deps(&api, &[("AZDO_BATCH_SIZE", "2")]).await;
    let error = invoke(&deps, 0).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("retryable: fabrikam: Azure DevOps audit log: gave up after 8 attempts: HTTP 503"),
        "{error}"
    );
    let ids = newest_first(&all);
    assert_eq!(env.delivered().await, ids[..4]);
    let saved = env.checkpoint(CHECKPOINT).await.pending.unwrap();
    assert_eq!(saved.resume, Some(json!({"continuationToken": ids[3]})));

    // Meanwhile the token expired (the fake no longer knows the entry it names).
    fakes[0].with(|s| s.entries.retain(|(_, e)| e["id"] != ids[3].as_str()));
    let summary = invoke(&deps, 0).await.unwrap();

    let again: Vec<String> = [&ids[..4], &ids[..2], &ids[4..]].concat();
    assert_eq!(env.delivered().await, again, "nothing lost; the pages before the last one sent again");
    assert_eq!(summary["streams"][0]["duplicates"], 1, "the last page read before the failure is skipped");
    assert_eq!(summary["streams"][0]["status"], "done");
}

#[tokio::test]
async fn udm_format_sends_the_parser_exact_udm_of_each_entry() {
    let env = setup().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    let all = entries(0..4, now_ms() - 600_000);
    fakes[0].add(all.clone());
    let deps = env.deps(&api, &[("SIEM_FORMAT", "udm")]).await;

    invoke(&deps, 0).await.unwrap();

    let events = hec_events(&env.hec).await;
    let mut by_time = all.clone();
    by_time.sort_by(|(a, _), (b, _)| b.cmp(a));
    let expected: Vec<Value> = by_time
        .iter()
        .map(|(_, e)| to_udm(&AuditEntry::from_value(e.clone()).unwrap(), Shape::Entry))
        .collect();
    assert_eq!(events, expected);
    assert_eq!(events[3]["metadata"]["product_log_id"], all[0].1["id"]);
    assert_eq!(events[3]["metadata"]["event_type"], "RESOURCE_CREATION", "Git.CreateRepo");
    assert_eq!(events[3]["metadata"]["product_name"], "Azure DevOps");
}

// ---------------------------------------------------------------------------------------------
// Microsoft Entra ID credentials (AZDO_AUTH=entra_*), against a local token endpoint that
// answers as Entra ID's v2.0 endpoint does.

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const CLIENT_SECRET: &str = "entra-client-secret-never-logged";

/// `POST /{tenant}/oauth2/v2.0/token`: `at-1`, `at-2`, ... one a request, each `expires_in` long.
#[derive(Clone)]
struct FakeEntra {
    issued: Arc<Mutex<usize>>,
    expires_in: u64,
}

impl Respond for FakeEntra {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut issued = self.issued.lock().unwrap();
        *issued += 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": self.expires_in, "ext_expires_in": self.expires_in,
            "access_token": format!("at-{issued}"),
        }))
    }
}

async fn entra(expires_in: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(FakeEntra { issued: Arc::default(), expires_in })
        .mount(&server)
        .await;
    server
}

fn entra_vars(entra: &MockServer) -> Vec<(&'static str, String)> {
    vec![
        ("AZDO_AUTH", "entra_secret".into()),
        ("AZURE_TENANT_ID", TENANT.into()),
        ("AZURE_CLIENT_ID", CLIENT.into()),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
        ("AZURE_AUTHORITY_HOST", entra.uri()),
    ]
}

fn as_refs<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn authorizations(api: &MockServer) -> Vec<String> {
    let requests = api.received_requests().await.unwrap();
    requests.iter().map(|r| r.headers["authorization"].to_str().unwrap().to_owned()).collect()
}

async fn token_forms(entra: &MockServer) -> Vec<HashMap<String, String>> {
    let requests = entra.received_requests().await.unwrap();
    requests.iter().map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect()).collect()
}

#[tokio::test]
async fn an_entra_token_is_the_bearer_of_every_page_and_reused_across_runs_within_its_life() {
    let env = setup().await;
    let entra = entra(3599).await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..5, now_ms() - 3_600_000));
    let vars = [entra_vars(&entra), vec![("AZDO_BATCH_SIZE", "2".into())]].concat();
    let deps = env.deps(&api, &as_refs(&vars)).await;

    invoke(&deps, 0).await.unwrap();
    // The next run (the same warm function) rereads the overlap with the same token.
    invoke(&deps, 0).await.unwrap();

    assert_eq!(env.delivered().await.len(), 5, "each once");
    let sent = authorizations(&api).await;
    assert!(sent.len() >= 4, "3 pages, then the next run: {sent:?}");
    assert!(sent.iter().all(|a| a == "Bearer at-1"), "{sent:?}");
    let forms = token_forms(&entra).await;
    assert_eq!(forms.len(), 1, "one token for both runs");
    assert_eq!(forms[0]["grant_type"], "client_credentials");
    assert_eq!(forms[0]["client_id"], CLIENT);
    assert_eq!(forms[0]["client_secret"], CLIENT_SECRET);
    assert_eq!(forms[0]["scope"], "499b84ac-1321-427f-aa17-267ca6975798/.default");
}

#[tokio::test]
async fn a_token_near_its_expiry_is_replaced_before_the_next_page() {
    let env = setup().await;
    // Shorter than the five-minute refresh margin: replaced at every page.
    let entra = entra(120).await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..4, now_ms() - 3_600_000));
    let vars = [entra_vars(&entra), vec![("AZDO_BATCH_SIZE", "2".into())]].concat();
    let deps = env.deps(&api, &as_refs(&vars)).await;

    invoke(&deps, 0).await.unwrap();

    assert_eq!(env.delivered().await.len(), 4);
    assert_eq!(authorizations(&api).await, ["Bearer at-1", "Bearer at-2"]);
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_then_the_run_fails_naming_the_client() {
    let env = setup().await;
    let entra = entra(3599).await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..2, now_ms() - 60_000));
    let refused = || {
        ResponseTemplate::new(401).set_body_raw(
            r#"{"message":"TF400813: The user 'aaaaaaaa-0000-0000-0000-000000000000' is not authorized to access this resource."}"#,
            "application/json",
        )
    };
    // Refused once (a token revoked early): a new token, and the run goes on.
    fakes[0].with(|s| {
        s.overrides.insert(1, refused());
    });
    let deps = env.deps(&api, &as_refs(&entra_vars(&entra))).await;
    invoke(&deps, 0).await.unwrap();
    assert_eq!(authorizations(&api).await, ["Bearer at-1", "Bearer at-2"]);
    assert_eq!(env.delivered().await.len(), 2);

    // Refused again with the new token: the run fails, with what to fix.
    fakes[0].add(entries(2..3, now_ms() - 1_000));
    let next = fakes[0].with(|s| s.requests) + 1;
    fakes[0].with(|s| {
        s.overrides.insert(next, refused());
        s.overrides.insert(next + 1, refused());
    });
    let error = invoke(&deps, 0).await.unwrap_err();
    let RunError::Streams { message, retryable } = &error;
    assert!(!retryable);
    for part in ["HTTP 401", CLIENT, TENANT, "View audit log"] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(!message.contains(CLIENT_SECRET) && !message.contains("at-"), "{message}");
    assert_eq!(token_forms(&entra).await.len(), 3, "one new token, not a loop");
    assert_eq!(&authorizations(&api).await[2..], ["Bearer at-2", "Bearer at-3"]);
}

#[tokio::test]
async fn a_rejected_client_secret_fails_the_run_with_entras_reason() {
    let env = setup().await;
    let entra = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000222: The provided client secret keys for app '00001111-aaaa-2222-bbbb-3333cccc4444' are expired.\r\nTrace ID: 1\r\nCorrelation ID: 2",
            "error_codes": [7000222]
        })))
        .mount(&entra)
        .await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..2, now_ms() - 60_000));
    let deps = env.deps(&api, &as_refs(&entra_vars(&entra))).await;

    let error = invoke(&deps, 0).await.unwrap_err();
    let RunError::Streams { message, retryable } = &error;
    assert!(!retryable);
    for part in ["AADSTS7000222", "check AZURE_CLIENT_SECRET", CLIENT, TENANT] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(!message.contains(CLIENT_SECRET));
    assert!(api.received_requests().await.unwrap().is_empty(), "no request without a token");
    assert!(env.delivered().await.is_empty());
}

/// The AWS STS stand-in: `GetWebIdentityToken` (Query protocol, XML answer), which moto lacks.
async fn sts() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("Action=GetWebIdentityToken"))
        .respond_with(ResponseTemplate::new(200).insert_header("content-type", "text/xml").set_body_string(
            r#"<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcm46YXdzOmlhbTo6MTExMTIyMjIzMzMzOnJvbGUvYXVkaXQtcmVsYXkifQ.c2ln</WebIdentityToken><Expiration>2026-12-02T12:10:00Z</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>"#,
        ))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_federated_mode_reads_azure_devops_with_no_secret_anywhere() {
    use audit_relay::entra::EntraTokenSource;
    use audit_relay::sources::azure_devops::config::AzureDevOpsAuth;

    let env = setup().await;
    let entra = entra(3599).await;
    let sts = sts().await;
    let (api, fakes) = audit_service(&[(ORG, false)]).await;
    fakes[0].add(entries(0..3, now_ms() - 60_000));
    let vars: Vec<(&'static str, String)> = vec![
        ("AZDO_AUTH", "entra_federated".into()),
        ("AZURE_TENANT_ID", TENANT.into()),
        ("AZURE_CLIENT_ID", CLIENT.into()),
        ("AZURE_AUTHORITY_HOST", entra.uri()),
    ];
    // The real aws-sdk-sts client, pointed at the stand-in (AWS_ENDPOINT_URL does the same).
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(sts.uri())
        .credentials_provider(aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "test", None, None, "test"))
        .load()
        .await;
    let deps = env
        .deps_with(&api, &as_refs(&vars), |config| {
            let AzureDevOpsAuth::Entra(source) = &config.auth else { panic!("{:?}", config.auth) };
            let federated = EntraTokenSource::new(
                source.config().clone(),
                audit_relay::entra::AZURE_DEVOPS_SCOPE,
                reqwest::Client::new(),
            )
            .unwrap()
            .with_sts(aws_sdk_sts::Client::new(&sdk));
            config.auth = AzureDevOpsAuth::Entra(Arc::new(federated));
        })
        .await;

    invoke(&deps, 0).await.unwrap();

    assert_eq!(env.delivered().await.len(), 3);
    assert!(authorizations(&api).await.iter().all(|a| a == "Bearer at-1"));
    let forms = token_forms(&entra).await;
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert!(forms[0]["client_assertion"].starts_with("eyJhbGciOiJSUzI1NiJ9."), "the STS token");
    assert!(!forms[0].contains_key("client_secret"));
    let asked = sts.received_requests().await.unwrap();
    let sts_form: HashMap<String, String> =
        url::form_urlencoded::parse(&asked[0].body).into_owned().collect();
    assert_eq!(sts_form["Audience.member.1"], "api://AzureADTokenExchange");
}
