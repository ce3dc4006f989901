//! `verify`: CloudTrail log file integrity over a time range, like `aws cloudtrail validate-logs`
//! but reporting each file: every digest's signature (with CloudTrail `ListPublicKeys`) and chain,
//! every listed log file's hash, and log files no digest lists.

use std::io::Write;

use anyhow::Context;
use audit_relay::integrity::aws::{CloudTrailKeys, S3Objects};
use audit_relay::integrity::finding::{finding, Context as FindingContext};
use audit_relay::integrity::keys::KeyRing;
use audit_relay::integrity::range::{verify_range, Range, Verdict};
use audit_relay::integrity::verify::{NoRecords, Problem};
use audit_relay::timestamp::parse_rfc3339_ms;
use indicatif::{ProgressBar, ProgressStyle};

/// How the results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per digest and log file (`<verdict>\t<object>\t<detail>`), then the summary.
    Text,
    /// The findings as NDJSON OCSF Detection Finding events (the summary on standard error).
    Json,
}

/// Verifies `target` (`s3://bucket[/prefix]`) from `start` to `end` (RFC 3339; default: the last
/// 24 hours up to now); `Ok(false)` when anything failed.
pub async fn run(
    target: &str,
    start: Option<&str>,
    end: Option<&str>,
    format: Format,
) -> anyhow::Result<bool> {
    let rest = target.strip_prefix("s3://").context("the target must be s3://bucket[/prefix]")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = match prefix.trim_end_matches('/') {
        "" => String::new(),
        p => format!("{p}/"),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let time = |text: Option<&str>, default: i64| -> anyhow::Result<i64> {
        match text {
            None => Ok(default),
            Some(text) => parse_rfc3339_ms(text).with_context(|| format!("{text} is not an RFC 3339 time")),
        }
    };
    let end_ms = time(end, now)?;
    let start_ms = time(start, end_ms - 86_400_000)?;
    anyhow::ensure!(start_ms < end_ms, "--start must be before --end");

    let sdk = audit_relay::aws::sdk_config().await;
    let s3 = audit_relay::aws::s3_client(&sdk);
    let keys = KeyRing::new(CloudTrailKeys::new(sdk.clone()));
    let objects = S3Objects::new(s3.clone());
    let range = Range { bucket: bucket.to_string(), prefix, start_ms, end_ms };

    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} digests {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    let mut progress = |total: Option<u64>| match total {
        Some(n) => bar.set_length(n),
        None => bar.inc(1),
    };
    let (entries, summary) = verify_range(&s3, &range, &keys, &objects, &NoRecords, &mut progress)
        .await
        .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for entry in &entries {
        match format {
            Format::Text => {
                let (verdict, detail) = describe(&entry.verdict);
                writeln!(out, "{verdict}\t{}\t{detail}", entry.object)?;
            }
            Format::Json => {
                let Verdict::Problem(problem) = &entry.verdict else { continue };
                let context = FindingContext {
                    bucket: &entry.digest.0,
                    key: &entry.digest.1,
                    location: entry.location.as_ref(),
                    now_ms: now,
                };
                writeln!(out, "{}", finding(problem, &context))?;
            }
        }
    }
    match format {
        Format::Text => writeln!(out, "{}", summary.line())?,
        Format::Json => eprintln!("{}", summary.line()),
    }
    out.flush()?;
    Ok(!summary.failed())
}

/// The verdict word and what it rests on.
fn describe(verdict: &Verdict) -> (&'static str, String) {
    match verdict {
        Verdict::DigestValid => ("valid", "digest".to_string()),
        Verdict::FileValid => ("valid", String::new()),
        Verdict::Problem(problem) => {
            let detail = match problem {
                Problem::DigestInvalid { reason }
                | Problem::SignatureInvalid { reason }
                | Problem::ChainBroken { reason } => reason.clone(),
                Problem::Modified { expected, actual, .. } => format!("expected {expected}, found {actual}"),
                Problem::Missing { expected, .. } => format!("expected {expected}, no such object"),
                Problem::NotListed { .. } => "in no digest of its period".to_string(),
            };
            (problem.kind(), detail)
        }
    }
}
