//! The `atlassian-audit` handler against local HTTP servers that behave like the Atlassian APIs
//! (cursor paging by processing time, offset paging, 429 + Retry-After, 401, foreign `next`
//! links), checkpoints in moto's S3 server, and a Splunk HEC receiver. Every event must arrive
//! exactly once, as valid OCSF.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use audit_relay::event::Source;
use audit_relay::poller::RunError as HandlerError;
use audit_relay::poller::{RunClock, StreamStatus};
use audit_relay::scheduled::{poll, Scheduled};
use audit_relay::sources::atlassian::config::AtlassianConfig;
use audit_relay_tests::audit_apis::org_event;
use audit_relay_tests::poller::{self, scenario, PollScenario};
use audit_relay_tests::receiver::{assert_valid_ocsf, hec_events};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ORG: &str = "0f0f0f0f-0000-4000-8000-00000000000f";
const KEY: &str = "org-admin-key-never-logged";
const CHECKPOINT: &str = "checkpoints/atlassian/org-0f0f0f0f-0000-4000-8000-00000000000f.json";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A fake of `GET /admin/v1/orgs/{org}/events-stream`: events filtered by `processedAt` in
/// `[from, to]`, ascending, `page_size` a page, with an opaque cursor carrying the range.
#[derive(Clone, Default)]
struct FakeOrg(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    events: Vec<(i64, Value)>,
    page_size: usize,
    base: String,
    requests: usize,
    /// Answers given instead of a page, by request number (1-based).
    overrides: HashMap<usize, ResponseTemplate>,
    /// Every request for this page offset fails with this status.
    failing_offset: Option<(usize, u16)>,
    /// After the page at this offset, only empty pages, each with a new cursor.
    empty_page_after: Option<usize>,
    /// The first page's only next link points here.
    foreign_next: Option<String>,
    delay: Duration,
}

impl FakeOrg {
    fn add(&self, events: impl IntoIterator<Item = (i64, Value)>) {
        self.0.lock().unwrap().events.extend(events);
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

impl Respond for FakeOrg {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        state.requests += 1;
        let number = state.requests;
        if let Some(template) = state.overrides.remove(&number) {
            return template;
        }
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let (from, to, offset, empty) = match query.get("cursor") {
            Some(cursor) => {
                let parts: Vec<&str> = cursor.split(':').collect();
                (
                    parts[0].parse().unwrap(),
                    parts[1].parse().unwrap(),
                    parts[2].parse().unwrap(),
                    parts.len() > 3,
                )
            }
            None => {
                (query["from"].parse::<i64>().unwrap(), query["to"].parse::<i64>().unwrap(), 0usize, false)
            }
        };
        if let Some((failing, status)) = state.failing_offset {
            if failing == offset {
                return ResponseTemplate::new(status);
            }
        }
        let mut matching: Vec<&(i64, Value)> =
            state.events.iter().filter(|(t, _)| (from..=to).contains(t)).collect();
        matching.sort_by_key(|(t, _)| *t);
        let (page, next): (Vec<Value>, Option<String>) = if state.empty_page_after == Some(offset) && !empty {
            // The page itself, then an empty page whose cursor goes on.
            let end = (offset + state.page_size).min(matching.len());
            let page = matching[offset..end].iter().map(|(_, e)| e.clone()).collect();
            (page, Some(format!("{from}:{to}:{end}:empty")))
        } else if empty {
            // Like `/events-stream` at its end: no events, and yet another cursor "for seamless
            // polling".
            (Vec::new(), Some(format!("{from}:{to}:{offset}:empty:{number}")))
        } else {
            let end = (offset + state.page_size).min(matching.len());
            let page = matching[offset..end].iter().map(|(_, e)| e.clone()).collect();
            (page, (end < matching.len()).then(|| format!("{from}:{to}:{end}")))
        };
        let link =
            next.as_ref().map(|c| format!("{}/admin/v1/orgs/{ORG}/events-stream?cursor={c}", state.base));
        let body = match (&state.foreign_next, offset) {
            (Some(foreign), 0) => {
                json!({"data": page, "meta": {"page_size": state.page_size}, "links": {"next": foreign}})
            }
            _ => {
                json!({"data": page, "meta": {"next": next, "page_size": state.page_size}, "links": {"next": link}})
            }
        };
        ResponseTemplate::new(200).set_body_json(body).set_delay(state.delay)
    }
}

/// The fake organization API on its own server.
async fn org_api(page_size: usize) -> (MockServer, FakeOrg) {
    let server = MockServer::start().await;
    let fake = FakeOrg::default();
    fake.with(|s| {
        s.page_size = page_size;
        s.base = server.uri();
    });
    Mock::given(method("GET"))
        .and(path(format!("/admin/v1/orgs/{ORG}/events-stream")))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

async fn setup() -> PollScenario {
    scenario().await
}

/// The Atlassian handler of a scenario.
trait AtlassianRun {
    async fn deps(&self, vars: &[(&str, String)]) -> Scheduled;
    async fn org_deps(&self, api: &MockServer) -> Scheduled;
}

impl AtlassianRun for PollScenario {
    async fn deps(&self, vars: &[(&str, String)]) -> Scheduled {
        let mut all: Vec<(&str, String)> = vec![
            ("ATLASSIAN_ORG_REQUESTS_PER_MINUTE", "60000".into()),
            ("ATLASSIAN_SITE_REQUESTS_PER_MINUTE", "60000".into()),
        ];
        all.extend(vars.iter().cloned());
        let env = self.env(all);
        let atlassian = AtlassianConfig::load(&env).await.unwrap();
        self.scheduled(Source::Atlassian, &env, audit_relay::sources::atlassian::streams(&atlassian)).await
    }

    async fn org_deps(&self, api: &MockServer) -> Scheduled {
        self.deps(&[
            ("ATLASSIAN_API_URL", api.uri()),
            ("ATLASSIAN_ORG_ID", ORG.into()),
            ("ATLASSIAN_ORG_API_KEY", KEY.into()),
        ])
        .await
    }
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("evt-{i:04}")).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn invoke(deps: &Scheduled, deadline_ms: u64) -> Result<Value, HandlerError> {
    poller::invoke(deps, json!({"source": "aws.events", "detail-type": "Scheduled Event"}), deadline_ms).await
}

#[tokio::test]
async fn multi_page_run_delivers_every_event_once_and_saves_the_watermark() {
    let env = setup().await;
    let (api, fake) = org_api(3).await;
    let base = now_ms() - 3_600_000;
    fake.add((0..8).map(|i| (base + i as i64 * 1000, org_event(i, base + i as i64 * 1000))));
    // The last page (6..8) hands out a cursor, as the stream does "for seamless polling"; the
    // empty page it leads to ends the run, whose cursor is not followed.
    fake.with(|s| s.empty_page_after = Some(6));
    let deps = env.org_deps(&api).await;

    let started = now_ms();
    let summary = invoke(&deps, 0).await.unwrap();

    assert_eq!(env.delivered().await, ids(0..8), "in order, each once");
    let stream = &summary["streams"][0];
    assert_eq!(stream["stream"], format!("org-{ORG}"));
    assert_eq!(stream["status"], "done");
    assert_eq!(stream["events"], 8);
    // 3 + 3 + 2 (with a cursor) + one empty page (with another cursor, not followed).
    assert_eq!(stream["pages"], 4);
    assert_eq!(stream["behind"], false);
    assert_eq!(stream["newest_event_ms"], base + 7_000);
    assert_eq!(summary["events_delivered"], 8);

    let requests = api.received_requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    for request in &requests {
        assert_eq!(request.headers.get("authorization").unwrap(), &format!("Bearer {KEY}"));
    }
    let first: HashMap<String, String> = requests[0].url.query_pairs().into_owned().collect();
    assert_eq!(first["sortOrder"], "asc");
    assert_eq!(first["limit"], "100");
    let from: i64 = first["from"].parse().unwrap();
    assert!((started - 24 * 3_600_000 - from).abs() < 5_000, "first run starts INITIAL_LOOKBACK_HOURS back");

    let checkpoint = env.checkpoint(CHECKPOINT).await;
    let to: i64 = first["to"].parse().unwrap();
    assert_eq!(checkpoint.watermark_ms, Some(to));
    assert_eq!(checkpoint.pending, None);
    assert_eq!(checkpoint.lease, None, "released");
    assert!(checkpoint.seen.is_empty(), "no event falls in the overlap before {to}: {:?}", checkpoint.seen);
}

#[tokio::test]
async fn next_run_rereads_the_overlap_and_sends_only_late_and_new_events() {
    let env = setup().await;
    let (api, fake) = org_api(50).await;
    let recent = now_ms() - 60_000; // inside the 5-minute overlap of the next run
    fake.add((0..3).map(|i| (recent + i as i64, org_event(i, recent + i as i64))));
    let deps = env.org_deps(&api).await;
    invoke(&deps, 0).await.unwrap();
    let first = env.checkpoint(CHECKPOINT).await;
    assert_eq!(first.seen.len(), 3, "ids inside the overlap are kept");

    // A late event processed before the first run's end, and a new one.
    let watermark = first.watermark_ms.unwrap();
    fake.add([(watermark - 10_000, org_event(3, watermark - 10_000)), (now_ms(), org_event(4, now_ms()))]);
    let summary = invoke(&deps, 0).await.unwrap();

    assert_eq!(sorted(env.delivered().await), ids(0..5), "nothing twice, nothing lost");
    assert_eq!(summary["streams"][0]["events"], 2);
    assert_eq!(summary["streams"][0]["duplicates"], 3);
    let requests = api.received_requests().await.unwrap();
    let second: HashMap<String, String> = requests.last().unwrap().url.query_pairs().into_owned().collect();
    assert_eq!(
        second["from"].parse::<i64>().unwrap(),
        watermark - 5 * 60_000,
        "from = watermark - OVERLAP_MINUTES"
    );
}

#[tokio::test]
async fn throttled_page_waits_for_retry_after_and_continues() {
    let env = setup().await;
    let (api, fake) = org_api(1).await;
    let base = now_ms() - 600_000;
    fake.add((0..4).map(|i| (base + i as i64, org_event(i, base + i as i64))));
    fake.with(|s| {
        s.overrides.insert(2, ResponseTemplate::new(429).insert_header("Retry-After", "1"));
        s.overrides.insert(4, ResponseTemplate::new(503));
    });
    let deps = env.org_deps(&api).await;

    let started = Instant::now();
    let summary = invoke(&deps, 0).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After honoured: {:?}", started.elapsed());
    assert_eq!(env.delivered().await, ids(0..4));
    assert_eq!(summary["streams"][0]["api_retries"], 2);
    assert_eq!(summary["streams"][0]["status"], "done");
    // Four pages, two of them asked twice.
    assert_eq!(api.received_requests().await.unwrap().len(), 6);
}

#[tokio::test]
async fn refused_key_fails_the_run_naming_the_product_and_the_scope() {
    let env = setup().await;
    let (api, fake) = org_api(2).await;
    fake.add([(now_ms() - 1000, org_event(0, now_ms() - 1000))]);
    fake.with(|s| {
        s.overrides.insert(1, ResponseTemplate::new(401).set_body_string(r#"{"message":"Unauthorized"}"#));
    });
    let deps = env.org_deps(&api).await;

    let error = invoke(&deps, 0).await.unwrap_err();

    let HandlerError::Streams { message, retryable } = &error;
    assert!(!retryable, "an operator must fix the key");
    for part in ["Atlassian organization audit log", "HTTP 401", "invalid, expired", "read:events:admin"] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(!error.to_string().contains(KEY));
    assert!(env.delivered().await.is_empty());
    assert_eq!(api.received_requests().await.unwrap().len(), 1, "401 is not retried");
    let checkpoint = env.checkpoint(CHECKPOINT).await;
    assert_eq!(checkpoint.lease, None, "the stream is released for the next run");
    assert_eq!(checkpoint.watermark_ms, None);
}

#[tokio::test]
async fn next_link_to_another_host_is_refused_and_never_gets_the_key() {
    let env = setup().await;
    let (api, fake) = org_api(2).await;
    let foreign = MockServer::start().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(200)).mount(&foreign).await;
    let base = now_ms() - 600_000;
    fake.add((0..4).map(|i| (base + i as i64, org_event(i, base + i as i64))));
    fake.with(|s| {
        s.foreign_next = Some(format!("{}/admin/v1/orgs/{ORG}/events-stream?cursor=stolen", foreign.uri()))
    });
    let deps = env.org_deps(&api).await;

    let error = invoke(&deps, 0).await.unwrap_err().to_string();

    assert!(error.contains("refused to request") && error.contains(&foreign.uri()), "{error}");
    assert!(foreign.received_requests().await.unwrap().is_empty(), "nothing was sent to the other host");
    assert_eq!(env.delivered().await, ids(0..2), "the page before the link was delivered");
    let checkpoint = env.checkpoint(CHECKPOINT).await;
    assert!(checkpoint.pending.is_some() && checkpoint.lease.is_none());
}

#[tokio::test]
async fn run_stopped_by_the_deadline_is_resumed_without_loss_or_duplicates() {
    let env = setup().await;
    let (api, fake) = org_api(2).await;
    let base = now_ms() - 3_600_000;
    fake.add((0..20).map(|i| (base + i as i64 * 10, org_event(i, base + i as i64 * 10))));
    fake.with(|s| s.delay = Duration::from_millis(250));
    let deps = env.org_deps(&api).await;

    // 2.4 s left: paging stops a third of that before the deadline.
    let first = invoke(&deps, (now_ms() + 2_400) as u64).await.unwrap();

    let stream = &first["streams"][0];
    assert_eq!(stream["status"], "behind");
    assert_eq!(stream["behind"], true);
    assert_eq!(first["behind"], true);
    let part = env.delivered().await;
    assert!(!part.is_empty() && part.len() < 20, "{} delivered before the deadline", part.len());
    assert_eq!(part, ids(0..part.len()));
    let checkpoint = env.checkpoint(CHECKPOINT).await;
    let pending = checkpoint.pending.clone().expect("the window is saved part-way");
    assert_eq!(
        pending.resume.unwrap()["cursor"],
        format!("{}:{}:{}", pending.window.from_ms, pending.window.to_ms, part.len())
    );
    assert_eq!(checkpoint.lease, None);

    fake.with(|s| s.delay = Duration::ZERO);
    let second = invoke(&deps, 0).await.unwrap();

    assert_eq!(second["streams"][0]["status"], "done");
    assert_eq!(env.delivered().await, ids(0..20), "every event once, in order");
    let done = env.checkpoint(CHECKPOINT).await;
    assert_eq!(done.pending, None);
    assert!(done.watermark_ms.unwrap() > pending.window.to_ms, "a fresh window followed the resumed one");
}

#[tokio::test]
async fn run_failing_mid_stream_keeps_what_it_delivered_and_the_next_run_resumes_there() {
    let env = setup().await;
    let (api, fake) = org_api(2).await;
    let base = now_ms() - 3_600_000;
    fake.add((0..9).map(|i| (base + i as i64, org_event(i, base + i as i64))));
    // Pages at offsets 0, 2 work; offset 4 keeps failing.
    fake.with(|s| s.failing_offset = Some((4, 500)));
    let deps = env.org_deps(&api).await;

    let error = invoke(&deps, 0).await.unwrap_err();

    assert!(matches!(error, HandlerError::Streams { retryable: true, .. }), "{error}");
    assert!(error.to_string().contains("gave up after 8 attempts: HTTP 500"), "{error}");
    assert_eq!(env.delivered().await, ids(0..4));

    fake.with(|s| s.failing_offset = None);
    invoke(&deps, 0).await.unwrap();
    assert_eq!(env.delivered().await, ids(0..9), "resumed at the failed page: no loss, no duplicates");
}

#[tokio::test]
async fn two_overlapping_runs_deliver_each_event_once() {
    let env = setup().await;
    let (api, fake) = org_api(2).await;
    let base = now_ms() - 3_600_000;
    fake.add((0..6).map(|i| (base + i as i64, org_event(i, base + i as i64))));
    fake.with(|s| s.delay = Duration::from_millis(150));
    let one = env.org_deps(&api).await;
    let two = env.org_deps(&api).await;

    let (clock_one, clock_two) = (
        RunClock::with_time_left(Duration::from_secs(60)),
        RunClock::with_time_left(Duration::from_secs(60)),
    );
    let (a, b) = tokio::join!(poll(&one, &clock_one), poll(&two, &clock_two));

    a.1.unwrap();
    b.1.unwrap();
    let statuses = [a.0.streams[0].status, b.0.streams[0].status];
    let done = statuses.iter().filter(|s| **s == StreamStatus::Done).count();
    let stopped =
        statuses.iter().filter(|s| matches!(s, StreamStatus::Busy | StreamStatus::LostRace)).count();
    assert_eq!((done, stopped), (1, 1), "one reads, the other stops cleanly: {statuses:?}");
    assert_eq!(a.0.events_delivered + b.0.events_delivered, 6);
    assert_eq!(env.delivered().await, ids(0..6));
    assert_eq!(api.received_requests().await.unwrap().len(), 3, "only one run read the API");
}

#[tokio::test]
async fn jira_and_confluence_page_by_offset_with_basic_auth() {
    let env = setup().await;
    let site = MockServer::start().await;
    let created = |i: usize| {
        audit_relay::timestamp::format_rfc3339_ms(now_ms() - 60_000 + i as i64).replace('Z', "+0000")
    };
    let jira: Vec<Value> = (0..3)
        .map(|i| json!({"id": 500 + i, "summary": "User created", "created": created(i), "category": "user management",
                        "authorAccountId": "acc-1", "remoteAddress": "192.0.2.9",
                        "objectItem": {"id": format!("u-{i}"), "name": format!("new{i}"), "typeName": "USER"}}))
        .collect();
    for (offset, records) in [(0, &jira[..2]), (2, &jira[2..])] {
        Mock::given(method("GET"))
            .and(path("/rest/api/3/auditing/record"))
            .and(wiremock::matchers::query_param("offset", offset.to_string()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"offset": offset, "limit": 2, "total": 3, "records": records})),
            )
            .mount(&site)
            .await;
    }
    let confluence = json!({"author": {"type": "user", "displayName": "Ivy", "accountId": "acc-2"}, "remoteAddress": "192.0.2.10",
        "creationDate": now_ms() - 30_000, "summary": "User added to group", "category": "Users and groups",
        "affectedObject": {"name": "confluence-users", "objectType": "Group"}, "associatedObjects": [{"name": "jules", "objectType": "User"}]});
    Mock::given(method("GET"))
        .and(path("/wiki/rest/api/audit"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"results": [confluence], "start": 0, "limit": 2, "size": 1, "_links": {}}),
            ),
        )
        .mount(&site)
        .await;
    let deps = env
        .deps(&[
            ("ATLASSIAN_SITES", site.uri()),
            ("ATLASSIAN_USER_EMAIL", "audit@example.com".into()),
            ("ATLASSIAN_API_TOKEN", "site-token".into()),
            ("ATLASSIAN_PAGE_SIZE", "2".into()),
        ])
        .await;

    let summary = invoke(&deps, 0).await.unwrap();

    let events = hec_events(&env.hec).await;
    assert_valid_ocsf(&events);
    let uids = |product: &str| {
        let mut uids: Vec<&str> = events
            .iter()
            .filter(|e| e["metadata"]["product"]["name"] == product)
            .map(|e| e["metadata"]["uid"].as_str().unwrap())
            .collect();
        uids.sort_unstable();
        uids
    };
    assert_eq!(uids("Jira"), ["500", "501", "502"]);
    assert_eq!(uids("Confluence").len(), 1);
    assert_eq!(events.len(), 4);
    let group = events.iter().find(|e| e["class_uid"] == 3006).unwrap();
    assert_eq!(group["metadata"]["product"]["name"], "Confluence");
    assert_eq!(group["user"]["name"], "jules");
    let streams: Vec<&str> =
        summary["streams"].as_array().unwrap().iter().map(|s| s["stream"].as_str().unwrap()).collect();
    let host = site.uri().trim_start_matches("http://").replace(':', "-");
    assert_eq!(streams, [format!("jira-{host}"), format!("confluence-{host}")]);
    for request in site.received_requests().await.unwrap() {
        // base64("audit@example.com:site-token")
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            "Basic YXVkaXRAZXhhbXBsZS5jb206c2l0ZS10b2tlbg=="
        );
    }
}
