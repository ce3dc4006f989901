//! `normalize`: log files → OCSF NDJSON on standard output. Records that cannot be mapped are
//! reported on standard error with their file and index, and make the exit status non-zero.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use audit_relay::event::{OutputFormat, Source};
use audit_relay::sources::cloudtrail::convert::Converter;
use audit_relay::sources::cloudtrail::reader::{RawRecord, RecordReader};

const MAX_OBJECT_BYTES: u64 = 64 * 1024 * 1024 * 1024;
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// Normalizes every file (with `hash`, printing to stderr each one's inflated SHA-256 as
/// `sha256sum` does, the hash its digest file lists); fails after
/// all files if any record or file failed.
pub async fn run(
    source: Source,
    format: OutputFormat,
    include_raw: bool,
    hash: bool,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    if source != Source::Cloudtrail {
        anyhow::bail!("--source {source} is not supported by this command");
    }
    let converter = Converter::new(format, include_raw);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut problems = 0u64;
    let mut events = 0u64;
    for path in files {
        let name = path.display().to_string();
        let file = tokio::fs::File::open(path).await.with_context(|| format!("{name}: cannot open"))?;
        let mut reader = match RecordReader::open(file, MAX_OBJECT_BYTES, MAX_RECORD_BYTES).await {
            Ok(reader) if hash => reader.with_hash(),
            Ok(reader) => reader,
            Err(error) => {
                tracing::error!(file = name, error = %error, "File failed.");
                problems += 1;
                continue;
            }
        };
        loop {
            match reader.next_record().await {
                Ok(Some((index, RawRecord::Json(bytes)))) => {
                    let converted = std::str::from_utf8(bytes)
                        .map_err(|e| format!("invalid UTF-8: {e}"))
                        .and_then(|text| converter.convert(text).map_err(|e| e.to_string()));
                    match converted {
                        Ok(event) => {
                            out.write_all(event.json.as_bytes())?;
                            out.write_all(b"\n")?;
                            events += 1;
                        }
                        Err(reason) => {
                            tracing::error!(file = name, record_index = index, reason, "Record not mapped.");
                            problems += 1;
                        }
                    }
                }
                Ok(Some((index, RawRecord::Oversized { size }))) => {
                    tracing::error!(file = name, record_index = index, size, "Record too large; skipped.");
                    problems += 1;
                }
                Ok(None) => {
                    if let Some(sha256) = reader.content_sha256() {
                        eprintln!("{sha256}  {name}");
                    }
                    break;
                }
                Err(error) => {
                    tracing::error!(file = name, records = reader.records(), error = %error, "File failed.");
                    problems += 1;
                    break;
                }
            }
        }
    }
    out.flush()?;
    tracing::debug!(events, problems, "Normalize done.");
    if problems > 0 {
        bail!("{problems} records or files could not be normalized ({events} events written)");
    }
    Ok(())
}
