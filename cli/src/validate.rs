//! `validate`: checks NDJSON events (files, or standard input) against the OCSF 1.8.0 JSON Schema
//! of each event's `class_uid` and profiles. Prints one line per invalid event — where it is
//! (`file:line`), its `metadata.uid`, the first failing JSON pointer and why — then a summary;
//! fails when any line is not valid OCSF or not JSON.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use audit_relay::ocsf::validate::{check, Invalid};
use serde_json::Value;

/// Lines checked, and how many failed.
#[derive(Debug, Default, PartialEq)]
struct Tally {
    events: u64,
    invalid: u64,
    not_json: u64,
}

/// Validates every file (`-` or none: standard input) and prints the summary; `Ok(false)` when any
/// line failed.
pub fn run(files: &[PathBuf]) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    if files.is_empty() {
        check_stream("-", std::io::stdin().lock(), &mut out, &mut tally)?;
    }
    for path in files {
        if path.as_os_str() == "-" {
            check_stream("-", std::io::stdin().lock(), &mut out, &mut tally)?;
            continue;
        }
        let name = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
        check_stream(&name, std::io::BufReader::new(file), &mut out, &mut tally)?;
    }
    let Tally { events, invalid, not_json } = tally;
    let failed = invalid + not_json;
    if failed > 0 {
        writeln!(
            out,
            "{failed} of {events} lines failed: {invalid} not valid OCSF 1.8.0, {not_json} not JSON"
        )?;
    } else {
        writeln!(out, "{events} events valid OCSF 1.8.0")?;
    }
    out.flush()?;
    Ok(failed == 0)
}

/// Checks each line of `input`, writing a line to `out` for each that fails.
fn check_stream(
    name: &str,
    mut input: impl BufRead,
    out: &mut impl Write,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).with_context(|| format!("{name}: read failed"))? == 0 {
            return Ok(());
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        tally.events += 1;
        let event: Value = match serde_json::from_slice(&line) {
            Ok(event) => event,
            Err(error) => {
                tally.not_json += 1;
                writeln!(out, "{name}:{number}: not JSON: {error}")?;
                continue;
            }
        };
        let uid = event.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("-");
        match check(&event) {
            Ok(()) => {}
            Err(Invalid::NoSchema(why)) => {
                tally.invalid += 1;
                writeln!(out, "{name}:{number}: uid {uid}: {why}")?;
            }
            Err(Invalid::Violations { schema, violations, .. }) => {
                tally.invalid += 1;
                let more = match violations.len() {
                    0 | 1 => String::new(),
                    n => format!(" (+{} more)", n - 1),
                };
                let (pointer, reason) =
                    violations.first().map_or(("", ""), |v| (v.pointer.as_str(), v.reason.as_str()));
                let pointer = if pointer.is_empty() { "(event)" } else { pointer };
                writeln!(out, "{name}:{number}: uid {uid}: {schema}: {pointer}: {reason}{more}")?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const VALID: &str = r#"{"class_uid":6003,"category_uid":6,"activity_id":2,"type_uid":600302,"severity_id":1,"time":1,"metadata":{"version":"1.8.0","uid":"ok-1","product":{"name":"Test"},"profiles":["cloud"]},"cloud":{"provider":"AWS"},"actor":{"app_name":"test"},"api":{"operation":"GetObject"},"src_endpoint":{"ip":"192.0.2.1"}}"#;

    fn run_on(input: &str) -> (Tally, Vec<String>) {
        let mut out = Vec::new();
        let mut tally = Tally::default();
        check_stream("events.ndjson", input.as_bytes(), &mut out, &mut tally).unwrap();
        (tally, String::from_utf8(out).unwrap().lines().map(str::to_owned).collect())
    }

    #[test]
    fn valid_events_and_blank_lines_print_nothing() {
        let (tally, lines) = run_on(&format!("{VALID}\n\n{VALID}\n"));
        assert_eq!(tally, Tally { events: 2, invalid: 0, not_json: 0 });
        assert!(lines.is_empty(), "{lines:?}");
    }

    #[test]
    fn each_bad_line_is_named_with_its_number_uid_pointer_and_reason() {
        let bad_ip = VALID.replace("192.0.2.1", "ec2.amazonaws.com").replace("ok-1", "bad-ip");
        let no_class = r#"{"metadata":{"uid":"no-class"}}"#;
        let unknown_profile = VALID.replace(r#"["cloud"]"#, r#"["osint"]"#);
        let input = format!("{VALID}\n{bad_ip}\n{{\"truncated\":\n{no_class}\n{unknown_profile}\n[1,2]\n");
        let (tally, lines) = run_on(&input);
        assert_eq!(tally, Tally { events: 6, invalid: 4, not_json: 1 });
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(
            lines[0].starts_with("events.ndjson:2: uid bad-ip: api_activity.cloud: /src_endpoint/ip: "),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("events.ndjson:3: not JSON: "), "{}", lines[1]);
        assert_eq!(lines[2], "events.ndjson:4: uid no-class: class_uid (missing) has no schema here");
        assert_eq!(lines[3], r#"events.ndjson:5: uid ok-1: profiles ["osint"] have no schema here"#);
        assert_eq!(lines[4], "events.ndjson:6: uid -: class_uid (missing) has no schema here");
    }

    #[test]
    fn invalid_utf8_is_not_json_not_a_panic() {
        let mut out = Vec::new();
        let mut tally = Tally::default();
        check_stream("x", &b"\xff\xfe{}\n"[..], &mut out, &mut tally).unwrap();
        assert_eq!(tally, Tally { events: 1, invalid: 0, not_json: 1 });
    }
}
