//! `--source opensearch`: `normalize` reads files of audit lines (one JSON record a line, with or
//! without the log4j prefix) or saved subscription payloads (`{"awslogs":{"data":…}}`, or the
//! decoded `DATA_MESSAGE` JSON) and prints OCSF NDJSON; `forward --log-group NAME --since D`
//! backfills a log group's history through the configured sink with FilterLogEvents.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use audit_relay::env::EnvReader;
use audit_relay::event::{OutputFormat, Source};
use audit_relay::setup::Pipeline;
use audit_relay::sources::opensearch::backfill::{self, BackfillRequest};
use audit_relay::sources::opensearch::config::OpensearchConfig;
use audit_relay::sources::opensearch::convert::Converter;
use audit_relay::sources::opensearch::mapping::{LogContext, MapOptions};
use audit_relay::sources::opensearch::payload::{self, SavedInput};
use indicatif::{ProgressBar, ProgressStyle};

/// Prints the events of every file; fails after all files if a file could not be read or decoded.
pub async fn normalize(format: OutputFormat, include_raw: bool, files: &[PathBuf]) -> anyhow::Result<()> {
    let config = OpensearchConfig::load(&EnvReader::from_process(None))?;
    let converter = Converter::new(format, MapOptions::new(&config, include_raw));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let (mut events, mut partial, mut failed) = (0u64, 0u64, 0u64);
    for path in files {
        let name = path.display().to_string();
        let text = tokio::fs::read_to_string(path).await.with_context(|| format!("{name}: cannot read"))?;
        let mut emit = |message: &str, context: &LogContext<'_>| -> anyhow::Result<()> {
            match converter.convert(message, context) {
                Ok(converted) => {
                    if let Some(problem) = converted.problem {
                        tracing::warn!(
                            file = name,
                            event_id = context.event_id.unwrap_or_default(),
                            problem,
                            "Not a whole audit record; converted with its text."
                        );
                        partial += 1;
                    }
                    out.write_all(converted.event.json.as_bytes())?;
                    out.write_all(b"\n")?;
                    events += 1;
                }
                Err(reason) => {
                    tracing::error!(file = name, reason = %reason, "Message not converted.");
                    failed += 1;
                }
            }
            Ok(())
        };
        match payload::classify_saved(&text) {
            Ok(SavedInput::Message(message)) if message.is_control() => {
                tracing::info!(file = name, "Control message: no events.");
            }
            Ok(SavedInput::Message(message)) => {
                for event in &message.log_events {
                    let context = LogContext {
                        log_group: &message.log_group,
                        log_stream: &message.log_stream,
                        event_id: Some(&event.id),
                        timestamp_ms: Some(event.timestamp),
                    };
                    emit(&event.message, &context)?;
                }
            }
            Ok(SavedInput::Lines) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    emit(line, &LogContext::default())?;
                }
            }
            Err(error) => {
                tracing::error!(file = name, error = %error, "File failed.");
                failed += 1;
            }
        }
    }
    out.flush()?;
    tracing::debug!(events, partial, failed, "Normalize done.");
    if failed > 0 {
        bail!("{failed} files or messages could not be normalized ({events} events written)");
    }
    Ok(())
}

/// Backfills `log_group` from `since` ago until now through the configured sink.
pub async fn forward(log_group: &str, log_stream_prefix: Option<&str>, since: &str) -> anyhow::Result<()> {
    let since = parse_duration(since).with_context(|| format!("--since {since:?}"))?;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let request = BackfillRequest {
        log_group: log_group.to_owned(),
        log_stream_prefix: log_stream_prefix.map(str::to_owned),
        start_ms: now_ms.saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX)),
        end_ms: Some(now_ms),
        page_size: backfill::PAGE_LIMIT,
    };
    let sdk = audit_relay::aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    let source = OpensearchConfig::load(&env)?;
    let mut delivery = pipeline.delivery(Source::Opensearch, None);
    let config = pipeline.config;
    let converter = Converter::new(config.format, MapOptions::new(&source, config.include_raw));
    let client = backfill::logs_client(&sdk);

    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]").context("progress template")?,
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    progress.set_message(format!("{log_group}: reading"));
    let result = backfill::backfill(&client, &request, &mut delivery, &converter, |counts| {
        progress.set_message(format!("{log_group}: {} events, {} partial", counts.records, counts.partial));
    })
    .await;
    progress.finish_and_clear();
    let counts = match result {
        Ok(counts) => counts,
        Err((counts, error)) => {
            // Send what was read before the error, then fail.
            let report = delivery.finish().await?;
            eprintln!(
                "{} records before the error: {} events delivered, {} dead-lettered",
                counts.records, report.delivered, report.dead_lettered
            );
            return Err(error.into());
        }
    };
    let report = delivery.finish().await?;
    eprintln!(
        "{log_group}: {} records ({} partial): {} events delivered, {} dead-lettered, {} retries",
        counts.records, counts.partial, report.delivered, report.dead_lettered, report.retries
    );
    Ok(())
}

/// `90s`, `30m`, `24h`, `7d`, `2w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits.parse().with_context(|| format!("{text:?} does not start with a number"))?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        other => bail!("unknown unit {other:?}: use s, m, h, d or w"),
    };
    if amount == 0 {
        bail!("the duration must be above zero");
    }
    amount.checked_mul(seconds).map(Duration::from_secs).context("duration too long")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        let cases = [
            ("90s", Some(90)),
            ("30m", Some(1_800)),
            ("24h", Some(86_400)),
            ("7d", Some(604_800)),
            ("2w", Some(1_209_600)),
            ("45", Some(45)),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text).ok().map(|d| d.as_secs()), seconds, "{text}");
        }
        for bad in ["", "h", "0h", "3y", "-1d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
