//! `normalize --source atlassian-org|jira|confluence`: saved API pages → OCSF NDJSON on standard
//! output, read and mapped by the poller's own clients
//! ([`audit_relay::sources::atlassian::offline_api`]): organization audit log `/events` and
//! `/events-stream` pages (`{"data":[...],"links":...,"meta":...}`), Jira
//! `GET /rest/api/3/auditing/record` pages (`{"offset","limit","total","records":[...]}`),
//! Confluence `GET /wiki/rest/api/audit` pages (`{"results":[...],"start","limit","size","_links"}`).
//! A file may hold one page or several one after another (pretty-printed or not). Pages and
//! records that cannot be read or mapped are reported on standard error with their file, page and
//! record index, and make the exit status non-zero once every file is done.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use audit_relay::event::OutputFormat;
use audit_relay::poller::{encode_polled, PageItem, StreamApi};
use audit_relay::sources::atlassian::{offline_api, SavedPages};
use serde_json::value::RawValue;

/// Normalizes every file; fails after all files if any page or record failed.
pub async fn normalize(
    kind: SavedPages,
    tenant: Option<&str>,
    format: OutputFormat,
    include_raw: bool,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let api = offline_api(kind, tenant).context("--tenant is not a site host")?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let (events, problems) = write_events(api.as_ref(), format, include_raw, files, &mut out).await?;
    out.flush()?;
    tracing::debug!(events, problems, "Normalize done.");
    if problems > 0 {
        bail!("{problems} records, pages or files could not be normalized ({events} events written)");
    }
    Ok(())
}

/// Writes the events of every file to `out`, one a line; returns the events written and the
/// pages, records or files that failed (each reported on standard error).
async fn write_events(
    api: &dyn StreamApi,
    format: OutputFormat,
    include_raw: bool,
    files: &[PathBuf],
    out: &mut impl Write,
) -> anyhow::Result<(u64, u64)> {
    let mut problems = 0u64;
    let mut events = 0u64;
    for path in files {
        let name = path.display().to_string();
        let bytes = tokio::fs::read(path).await.with_context(|| format!("{name}: cannot read"))?;
        let pages = serde_json::Deserializer::from_slice(&bytes).into_iter::<&RawValue>();
        for (page_index, page) in pages.enumerate() {
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(file = name, page_index, error = %error, "File is not JSON; rest skipped.");
                    problems += 1;
                    break;
                }
            };
            let page = match api.parse_page(page.get().as_bytes(), None) {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(file = name, page_index, error = %error, "Page not read.");
                    problems += 1;
                    continue;
                }
            };
            for (record_index, item) in page.items.into_iter().enumerate() {
                let converted = match &item {
                    PageItem::Record(record) => encode_polled(format, include_raw, api, record)
                        .map(|event| event.json)
                        .map_err(|e| e.to_string()),
                    PageItem::Invalid { reason, .. } => Err(reason.clone()),
                };
                match converted {
                    Ok(line) => {
                        out.write_all(line.as_bytes())?;
                        out.write_all(b"\n")?;
                        events += 1;
                    }
                    Err(reason) => {
                        let record_id = match &item {
                            PageItem::Record(record) => record.id.as_str(),
                            PageItem::Invalid { .. } => "",
                        };
                        tracing::error!(
                            file = name,
                            page_index,
                            record_index,
                            record_id,
                            reason,
                            "Record not mapped."
                        );
                        problems += 1;
                    }
                }
            }
        }
    }
    Ok((events, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/src/sources/atlassian/fixtures/published")
            .join(name)
    }

    async fn run(
        kind: SavedPages,
        tenant: Option<&str>,
        format: OutputFormat,
        files: &[PathBuf],
    ) -> (Vec<Value>, u64) {
        let api = offline_api(kind, tenant).unwrap();
        let mut out = Vec::new();
        let (events, problems) = write_events(api.as_ref(), format, true, files, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len() as u64, events);
        (lines, problems)
    }

    #[tokio::test]
    async fn saved_pages_of_each_api_print_one_valid_event_a_line() {
        let cases = [
            (
                SavedPages::Org,
                None,
                vec!["org_page_events_stream.json", "org_page_last.json"],
                vec!["a1000003-0000-4000-8000-000000000003", "a1000004-0000-4000-8000-000000000004"],
            ),
            (
                SavedPages::Jira,
                Some("example-corp.atlassian.net"),
                vec!["jira_page_api_reference.json"],
                vec!["1"],
            ),
            (
                SavedPages::Confluence,
                Some("example-corp.atlassian.net"),
                vec!["confluence_page_reconstructed.json"],
                vec![],
            ),
        ];
        for (kind, tenant, files, uids) in cases {
            let files: Vec<PathBuf> = files.into_iter().map(fixture).collect();
            let (events, problems) = run(kind, tenant, OutputFormat::Ocsf, &files).await;
            assert_eq!(problems, 0, "{kind:?}");
            assert!(!events.is_empty(), "{kind:?}");
            for event in &events {
                audit_relay::ocsf::validate::validate(event)
                    .unwrap_or_else(|e| panic!("{}\n{event:#}", e.join("\n")));
                // --include-raw: the record, on the event's one line.
                assert!(event["raw_data"].as_str().is_some_and(|r| !r.contains('\n')), "{event:#}");
                assert_eq!(event["metadata"]["tenant_uid"].as_str(), tenant, "{kind:?}");
            }
            for (event, uid) in events.iter().zip(uids) {
                assert_eq!(event["metadata"]["uid"], uid);
            }
            // Class and activity, time, actor, subject and source of each published record.
            let expected: &[&[(&str, Value)]] = match kind {
                SavedPages::Org => &[
                    &[
                        ("/type_uid", json!(600_302)),
                        ("/time", json!(1_779_184_920_000_i64)),
                        ("/actor/user/name", json!("Carol Davis")),
                        ("/actor/user/uid", json!("712020:cccccccc-cccc-cccc-cccc-cccccccccccc")),
                        ("/api/operation", json!("user_profile_viewed")),
                        ("/src_endpoint/ip", json!("203.0.113.20")),
                    ],
                    &[
                        // A permission added to nobody the record names: not a grant to a user.
                        ("/type_uid", json!(600_301)),
                        ("/time", json!(1_779_184_980_000_i64)),
                        ("/actor/user/name", json!("Dana Wilson")),
                        ("/user", Value::Null),
                        ("/resources/0/name", json!("example-corp")),
                        ("/src_endpoint/ip", json!("203.0.113.21")),
                    ],
                ],
                SavedPages::Jira => &[&[("/type_uid", json!(300_101)), ("/user/name", json!("user"))]],
                SavedPages::Confluence => &[
                    &[
                        ("/type_uid", json!(600_303)),
                        ("/actor/user/name", json!("System")),
                        ("/user", Value::Null),
                    ],
                    &[("/type_uid", json!(300_401)), ("/entity/name", json!("Service Catalogue"))],
                ],
            };
            assert_eq!(events.len(), expected.len(), "{kind:?}");
            for (event, fields) in events.iter().zip(expected) {
                for (pointer, value) in fields.iter() {
                    assert_eq!(
                        event.pointer(pointer).unwrap_or(&Value::Null),
                        value,
                        "{pointer} in {event:#}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn raw_format_prints_each_record_compacted() {
        let (records, problems) =
            run(SavedPages::Org, None, OutputFormat::Raw, &[fixture("org_page_events_stream.json")]).await;
        assert_eq!(problems, 0);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0]["attributes"]["action"], "user_profile_viewed");
    }

    #[tokio::test]
    async fn udm_format_prints_udm_events_not_ocsf() {
        let (events, problems) =
            run(SavedPages::Org, None, OutputFormat::Udm, &[fixture("org_page_events_stream.json")]).await;
        assert_eq!(problems, 0);
        assert_eq!(events.len(), 2);
        for event in &events {
            assert!(event["metadata"]["event_type"].is_string(), "{event:#}");
            assert_eq!(event["class_uid"], Value::Null, "{event:#}");
        }
        assert_eq!(events[0]["principal"]["ip"], json!(["203.0.113.20"]), "{:#}", events[0]);
    }

    #[tokio::test]
    async fn bad_pages_and_records_are_counted_and_the_rest_is_printed() {
        let dir = std::env::temp_dir().join(format!("audit-relay-atlassian-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        // A good record, a record without id, then a page of another API, then a good page.
        let record = std::fs::read_to_string(fixture("jira_project_deleted.json")).unwrap();
        std::fs::write(
            &bad,
            format!(
                "{{\"records\":[{},{{\"summary\":\"x\"}}]}}\n{{\"results\":1}}\n{}",
                record.trim(),
                std::fs::read_to_string(fixture("jira_page_api_reference.json")).unwrap()
            ),
        )
        .unwrap();
        let missing = dir.join("missing.json");
        let (events, problems) = run(SavedPages::Jira, None, OutputFormat::Ocsf, &[bad]).await;
        assert_eq!((events.len(), problems), (2, 2));
        assert_eq!(events[0]["metadata"]["uid"], "11959");
        assert_eq!(events[1]["metadata"]["uid"], "1");
        let api = offline_api(SavedPages::Jira, None).unwrap();
        assert!(write_events(api.as_ref(), OutputFormat::Ocsf, false, &[missing], &mut Vec::new())
            .await
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
