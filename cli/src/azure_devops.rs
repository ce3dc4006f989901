//! `normalize --source azure-devops`: reads saved audit logs in every form
//! `audit_relay::sources::azure_devops::record::split_log` reads (an audit log query page as
//! `GET …/_apis/audit/auditlog` returns it, top level or `value`-wrapped; an Azure Monitor
//! `records` export; an Event Grid event or array; a downloaded array of entries; JSON lines) and
//! prints one event a line in the chosen format. An entry that cannot be converted is reported on
//! standard error with its file and index; the run goes on and ends with a non-zero status.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::bail;
use audit_relay::event::OutputFormat;
use audit_relay::sources::azure_devops::convert::convert;
use audit_relay::sources::azure_devops::record::split_log;

/// Files larger than this are refused (saved pages and exports are far smaller).
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// What one file gave.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    events: u64,
    problems: u64,
}

/// Normalizes every file; fails after all files if any entry or file failed.
pub async fn normalize(format: OutputFormat, include_raw: bool, files: &[PathBuf]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut total = Tally::default();
    for path in files {
        let name = path.display().to_string();
        let text = match read(path).await {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(file = name, error = %error, "File failed.");
                total.problems += 1;
                continue;
            }
        };
        let tally = normalize_text(format, include_raw, &name, &text, &mut out)?;
        total.events += tally.events;
        total.problems += tally.problems;
    }
    out.flush()?;
    tracing::debug!(events = total.events, problems = total.problems, "Normalize done.");
    if total.problems > 0 {
        bail!(
            "{} records or files could not be normalized ({} events written)",
            total.problems,
            total.events
        );
    }
    Ok(())
}

/// The file's text, refused when it is too large or not UTF-8.
async fn read(path: &Path) -> anyhow::Result<String> {
    let size = tokio::fs::metadata(path).await?.len();
    if size > MAX_FILE_BYTES {
        bail!("{size} bytes, more than the {MAX_FILE_BYTES} this command reads");
    }
    Ok(tokio::fs::read_to_string(path).await?)
}

/// Writes the events of one file's text to `out`, one a line; reports what failed.
fn normalize_text(
    format: OutputFormat,
    include_raw: bool,
    name: &str,
    text: &str,
    out: &mut impl Write,
) -> std::io::Result<Tally> {
    let mut tally = Tally::default();
    let entries = match split_log(text) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::error!(file = name, error = %error, "File failed.");
            tally.problems += 1;
            return Ok(tally);
        }
    };
    for (index, (value, shape)) in entries.iter().enumerate() {
        match convert(format, value, *shape, include_raw) {
            Ok(event) => {
                out.write_all(event.json.as_bytes())?;
                out.write_all(b"\n")?;
                tally.events += 1;
            }
            Err(reason) => {
                tracing::error!(file = name, record_index = index, reason = %reason, "Record not mapped.");
                tally.problems += 1;
            }
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn run(format: OutputFormat, text: &str) -> (Tally, Vec<Value>) {
        let mut out = Vec::new();
        let tally = normalize_text(format, false, "f.json", text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let events = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (tally, events)
    }

    fn entry(id: &str, action: &str) -> Value {
        json!({"id": id, "timestamp": "2024-05-01T10:00:00Z", "actionId": action, "category": "create",
               "details": "Created pipeline \"ci\"", "data": {"PipelineId": 7, "PipelineName": "ci"},
               "actorUserId": "u-1", "actorUPN": "a@b.example"})
    }

    // These tests print raw and UDM events: the OCSF mapping of the same split entries is tested,
    // and every event schema-validated, in the library (`mapping/tests.rs`), where the validator is.

    #[test]
    fn api_pages_top_level_and_wrapped_print_one_entry_a_line() {
        let page = json!({"decoratedAuditLogEntries": [entry("1", "Pipelines.PipelineCreated"),
                          entry("2", "Pipelines.PipelineDeleted")], "continuationToken": "t", "hasMore": true});
        let wrapped = json!({"value": page.clone()});
        for body in [serde_json::to_string_pretty(&page).unwrap(), wrapped.to_string()] {
            let (tally, events) = run(OutputFormat::Raw, &body);
            assert_eq!(tally, Tally { events: 2, problems: 0 });
            assert_eq!(events[0]["id"], "1");
            assert_eq!(events[1]["actionId"], "Pipelines.PipelineDeleted");
        }
    }

    #[test]
    fn every_claimed_shape_is_read() {
        let e = entry("3", "Pipelines.PipelineCreated");
        let grid = json!({"id": "g-1", "eventType": "Microsoft.VisualStudio.Audit", "subject": "s",
                          "eventTime": "2024-05-01T10:00:01Z", "data": e, "dataVersion": "1.0"});
        let shapes = [
            json!({"records": [{"time": "2024-05-01T10:00:00Z", "data": e}]}).to_string(),
            grid.to_string(),
            json!([grid, grid]).to_string(),
            json!([e]).to_string(),
            format!("{e}\n{e}\n"),
        ];
        for (text, count) in shapes.iter().zip([1, 1, 2, 1, 2]) {
            let (tally, events) = run(OutputFormat::Raw, text);
            assert_eq!(tally, Tally { events: count, problems: 0 }, "{text}");
            assert_eq!(events[0]["actionId"], "Pipelines.PipelineCreated", "{text}");
            assert_eq!(events[0]["id"], "3", "{text}");
        }
    }

    #[test]
    fn raw_and_udm_formats_are_one_line_each() {
        let text = serde_json::to_string_pretty(&json!([entry("4", "Pipelines.PipelineCreated")])).unwrap();
        let (_, raw) = run(OutputFormat::Raw, &text);
        assert_eq!(raw[0]["id"], "4");
        let (_, udm) = run(OutputFormat::Udm, &text);
        assert_eq!(udm[0]["metadata"]["product_log_id"], "4");
    }

    #[test]
    fn a_bad_record_is_reported_and_the_rest_still_printed() {
        let text = json!([entry("5", "Git.RepositoryCreated"), {"id": "no-time"}, "text"]).to_string();
        let (tally, events) = run(OutputFormat::Udm, &text);
        assert_eq!(tally, Tally { events: 1, problems: 2 });
        assert_eq!(events[0]["metadata"]["product_log_id"], "5");
        let (tally, events) = run(OutputFormat::Raw, "not json at all");
        assert_eq!(tally, Tally { events: 0, problems: 1 });
        assert!(events.is_empty());
    }
}
