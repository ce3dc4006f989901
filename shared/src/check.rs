//! `audit-relay check`, and the `{"audit-relay": "check"}` invocation of every function: one
//! cheap, read-only, authenticated call per configured component, with the configuration loaded
//! as the function loads it. Nothing is delivered and no checkpoint moves:
//!
//! * the SIEM: the sink's own check ([`Sink::check`]: HEC health and an empty request, Datadog key
//!   validation, the SecOps token exchange or an empty webhook request, the `http` endpoint
//!   answering `HEAD`);
//! * the dead-letter store and, for a scheduled source, the checkpoint store: a probe object
//!   written conditionally, read back and deleted ([`crate::probe`]);
//! * for a scheduled source, each Entra ID identity (a fresh token) and each stream: the first
//!   page of the last hour, one record long, through the poll loop's own HTTP side (same host
//!   guard, same credential, no retry storm).
//!
//! The report is a table for terminals and JSON for an invocation; a component that fails is also
//! logged as an error. Neither holds a credential: details are the sinks' sanitized summaries and
//! the errors the poll loop and the stores already write to logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use crate::dead_letter::DeadLetterStore;
use crate::entra::EntraTokenSource;
use crate::event::Source;
use crate::poller::{epoch_ms, ApiHttp, CheckpointStore, Credential, FetchError, Poller, Stream, Window};
use crate::probe::{host_of, Probe};
use crate::setup::Pipeline;
use crate::sinks::Sink;

/// The member an invocation event sets to ask for a check: `{"audit-relay": "check"}`.
pub(crate) const EVENT_KEY: &str = "audit-relay";
/// Its value.
pub(crate) const EVENT_VALUE: &str = "check";
/// How long one component may take to answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(15);
/// How far back a stream's check query reads.
const QUERY_SPAN_MS: i64 = 3_600_000;
/// Requests a stream's check makes at most (one retry of a throttled or failing answer).
const STREAM_ATTEMPTS: u32 = 2;

/// Whether an invocation event asks for a check rather than work.
pub(crate) fn requested(event: &serde_json::Value) -> bool {
    event.get(EVENT_KEY).and_then(serde_json::Value::as_str) == Some(EVENT_VALUE)
}

/// One component's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// What was checked: `siem splunk_hec`, `dead letters`, `checkpoints`, `entra id …`,
    /// `source <stream>`.
    pub component: String,
    /// The host or location reached.
    pub target: String,
    /// `ok` or `failed`.
    pub result: &'static str,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// What it answered.
    pub detail: String,
    /// What to fix, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Row {
    fn new(component: impl Into<String>, probe: Probe, latency: Duration) -> Self {
        Self {
            component: component.into(),
            target: probe.target,
            result: if probe.ok { "ok" } else { "failed" },
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            detail: probe.detail,
            hint: probe.hint,
        }
    }

    /// Whether the component works.
    pub fn ok(&self) -> bool {
        self.result == "ok"
    }
}

/// Every component's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `passed` when every component works, else `failed`.
    pub check: &'static str,
    /// The function's source (`cloudtrail`, `atlassian`…).
    pub source: &'static str,
    /// One line a component, in the order checked.
    pub components: Vec<Row>,
}

impl Report {
    fn new(source: Source, components: Vec<Row>) -> Self {
        let check = if components.iter().all(Row::ok) { "passed" } else { "failed" };
        for row in components.iter().filter(|row| !row.ok()) {
            tracing::error!(
                component = %row.component,
                target = %row.target,
                detail = %row.detail,
                hint = row.hint.as_deref().unwrap_or_default(),
                "Check failed."
            );
        }
        Self { check, source: source.as_str(), components }
    }

    /// Whether every component works.
    pub fn passed(&self) -> bool {
        self.check == "passed"
    }

    /// The report as the invocation returns it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The report as a table: component, target, result, latency, detail; a failed component's
    /// hint on the line below.
    pub fn table(&self) -> String {
        let headers = ["COMPONENT", "TARGET", "RESULT", "LATENCY"];
        let cells: Vec<[String; 4]> = self
            .components
            .iter()
            .map(|r| {
                [r.component.clone(), r.target.clone(), r.result.to_string(), format!("{} ms", r.latency_ms)]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let line = |cells: [&str; 4], detail: &str| {
            let [a, b, c, d] = cells;
            let [wa, wb, wc, wd] = widths;
            format!("{a:<wa$}  {b:<wb$}  {c:<wc$}  {d:>wd$}  {detail}").trim_end().to_string() + "\n"
        };
        let mut out = line(headers, "DETAIL");
        let indent = widths.iter().sum::<usize>() + 8;
        for (row, cell) in self.components.iter().zip(&cells) {
            out.push_str(&line([&cell[0], &cell[1], &cell[2], &cell[3]], &row.detail));
            if let Some(hint) = &row.hint {
                out.push_str(&format!("{:indent$}hint: {hint}\n", ""));
            }
        }
        let failed = self.components.iter().filter(|r| !r.ok()).count();
        out.push_str(&match failed {
            0 => format!("check passed: {} components\n", self.components.len()),
            n => format!("check failed: {n} of {} components\n", self.components.len()),
        });
        out
    }
}

/// Checks a function without a scheduled source (`cloudtrail-s3`, `opensearch-audit`): the SIEM
/// and the dead-letter store.
pub async fn pipeline(pipeline: &Pipeline, source: Source) -> Report {
    let mut rows = vec![sink(pipeline.sink.as_ref()).await];
    rows.push(dead_letter(pipeline.dead_letter.as_ref(), source).await);
    Report::new(source, rows)
}

/// Checks a scheduled source's function: the SIEM, the dead-letter and checkpoint stores, each
/// Entra ID identity and each stream.
pub async fn poller(poller: &Poller, source: Source, streams: &[Stream]) -> Report {
    let mut rows = vec![sink(poller.sink()).await];
    rows.push(dead_letter(poller.dead_letter(), source).await);
    rows.push(checkpoints(poller.checkpoints()).await);
    for identity in identities(streams) {
        rows.push(entra(&identity).await);
    }
    let http = poller.http().clone().with_attempts(STREAM_ATTEMPTS);
    let queries = streams.iter().map(|s| stream(&http, s));
    rows.extend(futures::future::join_all(queries).await);
    Report::new(source, rows)
}

async fn timed(component: impl Into<String>, probe: impl std::future::Future<Output = Probe>) -> Row {
    let started = Instant::now();
    let probe = probe.await;
    Row::new(component, probe, started.elapsed())
}

async fn sink(sink: &dyn Sink) -> Row {
    timed(format!("siem {}", sink.name()), sink.check(TIMEOUT)).await
}

async fn dead_letter(store: &dyn DeadLetterStore, source: Source) -> Row {
    timed("dead letters", store.probe(source)).await
}

async fn checkpoints(store: &dyn CheckpointStore) -> Row {
    timed("checkpoints", store.probe()).await
}

/// The Entra ID identities of `streams`, each once.
fn identities(streams: &[Stream]) -> Vec<Arc<EntraTokenSource>> {
    let mut found: Vec<Arc<EntraTokenSource>> = Vec::new();
    for stream in streams {
        if let Credential::Entra(source) = stream.api.credential() {
            if !found.iter().any(|known| Arc::ptr_eq(known, source)) {
                found.push(source.clone());
            }
        }
    }
    found
}

async fn entra(source: &EntraTokenSource) -> Row {
    let config = source.config();
    let component = format!("entra id {} ({})", config.client_id, config.proof_name());
    let target = host_of(source.token_url());
    let refreshed = tokio::time::timeout(TIMEOUT, source.refresh());
    timed(component, async {
        match refreshed.await {
            Ok(Ok(lifetime)) => Probe::passed(
                target,
                format!("token issued for tenant {} (valid {} s)", config.tenant_id, lifetime.as_secs()),
            ),
            Ok(Err(error)) => Probe::failed(
                target,
                error.to_string(),
                format!(
                    "the app registration, its {} and, for federation, its federated credential (docs/azure-devops.md)",
                    config.proof_variable()
                ),
            ),
            Err(_) => Probe::failed(
                target,
                format!("no answer within {} s", TIMEOUT.as_secs()),
                "AZURE_AUTHORITY_HOST cannot be reached from here",
            ),
        }
    })
    .await
}

/// The first page of the last hour, one record long.
async fn stream(http: &ApiHttp, stream: &Stream) -> Row {
    let api = stream.api.as_ref();
    let component = format!("source {}", api.stream_id());
    let target = host_of(api.origin());
    timed(component, async {
        let now = epoch_ms();
        let window = Window { from_ms: now - QUERY_SPAN_MS, to_ms: now };
        let url = match api.page_url(window, None) {
            Ok(url) => one_record(url, api.page_size_parameter()),
            Err(error) => return Probe::failed(target, error.to_string(), "the source's settings"),
        };
        match http.get(api, &stream.pacer, &url, Instant::now() + TIMEOUT).await {
            Ok((body, _)) => match api.parse_page(&body, None) {
                Ok(page) => Probe::passed(
                    target,
                    format!("{}: audit query answered ({} of the last hour's entries read)", api.product(), page.items.len()),
                ),
                Err(error) => Probe::failed(
                    target,
                    format!("{}: the answer is not an audit page: {error}", api.product()),
                    "the configured site or organization is not the API's (check its URL settings)",
                ),
            },
            Err(FetchError::Unauthorized { product, status, hint }) => Probe::failed(
                target,
                format!("{product}: HTTP {status}: the credential was refused"),
                hint,
            ),
            Err(error) => Probe::failed(
                target,
                error.to_string(),
                "the API is unreachable or failing from here: check the network path and the API's status page",
            ),
        }
    })
    .await
}

/// `url` with its page-size parameter set to 1.
fn one_record(mut url: Url, parameter: &str) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| {
            let value = if name == parameter { "1".into() } else { value };
            (name.into_owned(), value.into_owned())
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_check_event_asks_for_a_check() {
        assert!(requested(&serde_json::json!({"audit-relay": "check"})));
        for other in [
            serde_json::json!({"audit-relay": "poll"}),
            serde_json::json!({"Records": []}),
            serde_json::json!("check"),
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
        ] {
            assert!(!requested(&other), "{other}");
        }
    }

    #[test]
    fn the_page_size_becomes_one_and_the_rest_stays() {
        let url =
            Url::parse("https://x.example/a?offset=0&limit=100&from=2024-01-01T00%3A00%3A00.000Z").unwrap();
        assert_eq!(
            one_record(url, "limit").as_str(),
            "https://x.example/a?offset=0&limit=1&from=2024-01-01T00%3A00%3A00.000Z"
        );
    }

    fn row(component: &str, probe: Probe) -> Row {
        Row::new(component, probe, Duration::from_millis(12))
    }

    #[test]
    fn the_table_aligns_columns_puts_hints_below_and_counts_failures() {
        let report = Report::new(
            Source::Atlassian,
            vec![
                row("siem splunk_hec", Probe::passed("hec.example:8088", "healthy; token accepted")),
                row(
                    "dead letters",
                    Probe::failed("s3://state/dlq/atlassian/", "AccessDenied", "grant s3:PutObject"),
                ),
            ],
        );
        assert!(!report.passed());
        let expected = [
            "COMPONENT        TARGET                     RESULT  LATENCY  DETAIL".to_string(),
            "siem splunk_hec  hec.example:8088           ok        12 ms  healthy; token accepted"
                .to_string(),
            "dead letters     s3://state/dlq/atlassian/  failed    12 ms  AccessDenied".to_string(),
            format!("{:61}hint: grant s3:PutObject", ""),
            "check failed: 1 of 2 components".to_string(),
        ];
        assert_eq!(report.table(), expected.join("\n") + "\n");
        let json = report.to_json();
        assert_eq!(json["check"], "failed");
        assert_eq!(json["source"], "atlassian");
        assert_eq!(json["components"][0]["result"], "ok");
        assert!(json["components"][0].get("hint").is_none());
        assert_eq!(json["components"][1]["hint"], "grant s3:PutObject");
        assert_eq!(json["components"][1]["latency_ms"], 12);
    }
}
