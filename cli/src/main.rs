//! `audit-relay`: the same pipeline as the Lambda functions, run from a terminal.
//!
//! - `audit-relay normalize --source cloudtrail FILE...` prints OCSF NDJSON on standard output.
//! - `audit-relay forward --source cloudtrail FILE...|s3://bucket/prefix` sends through the sink
//!   configured in the environment (a backfill of old trail files), with a progress bar on a
//!   terminal.
//! - `audit-relay normalize --source opensearch FILE...` takes audit lines or saved subscription
//!   payloads; `audit-relay forward --source opensearch --log-group NAME --since 7d` backfills a
//!   CloudWatch Logs log group.
//! - `audit-relay normalize --source atlassian-org|jira|confluence FILE...` takes saved API pages
//!   (organization audit log, Jira and Confluence audit records) as the APIs return them.
//! - `audit-relay normalize --source azure-devops FILE...` takes saved audit log pages (as the
//!   query API returns them) and exports (Azure Monitor `records`, Event Grid events, downloads).
//! - `audit-relay poll atlassian` (or `azure-devops`) polls a scheduled source once from its
//!   checkpoints, as its Lambda function does.
//! - `audit-relay check FUNCTION` makes one read-only call per component of a function (SIEM,
//!   dead-letter and checkpoint stores, source credentials) with its configuration, and exits 1
//!   when one fails.
//! - `audit-relay validate [FILE...]` checks OCSF NDJSON (e.g. `normalize`'s output) against the
//!   OCSF 1.8.0 JSON Schemas.
//! - `audit-relay verify s3://BUCKET[/PREFIX] [--start T] [--end T] [--format json]` checks the
//!   trail's digest files and log files (CloudTrail log file integrity) over a time range.

mod atlassian;
mod azure_devops;
mod check;
mod forward;
mod normalize;
mod opensearch;
mod poll;
mod replay;
mod schema;
mod security_lake;
mod validate;
mod verify;

use std::path::PathBuf;

use audit_relay::event::Source;
use audit_relay::sources::atlassian::SavedPages;
use clap::{Parser, Subcommand, ValueEnum};

/// Collects security audit logs, normalizes them to OCSF 1.8.0, and forwards them to a SIEM.
#[derive(Parser)]
#[command(name = "audit-relay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the OCSF events of log files as NDJSON on standard output.
    Normalize {
        /// The files' source.
        #[arg(long, value_enum)]
        source: SourceArg,
        /// `ocsf` (default), `raw` or `udm`.
        #[arg(long, value_enum, default_value_t = FormatArg::Ocsf)]
        format: FormatArg,
        /// Copy each source record into OCSF `raw_data`.
        #[arg(long)]
        include_raw: bool,
        /// atlassian-org, jira, confluence: the organization id or site host the pages came from
        /// (`metadata.tenant_uid`; Confluence record ids hash it), e.g. `example.atlassian.net`.
        #[arg(long)]
        tenant: Option<String>,
        /// cloudtrail: also print to stderr each file's SHA-256 of its inflated content, the hash
        /// its CloudTrail digest file lists (and what `cloudtrail-s3` takes as it forwards).
        #[arg(long)]
        sha256: bool,
        /// Files (`.json.gz` or `.json`; for opensearch, audit lines or a saved subscription
        /// payload; for atlassian-org, jira and confluence, saved API pages; for azure-devops, saved
        /// audit log pages or exports).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Sends log files through the sink configured in the environment (SIEM_TYPE, SIEM_URL...).
    Forward {
        /// The files' source.
        #[arg(long, value_enum)]
        source: SourceArg,
        /// Local files, or `s3://bucket/prefix` for every log file under a prefix.
        #[arg(required_unless_present = "log_group")]
        targets: Vec<String>,
        /// opensearch: the CloudWatch Logs log group to backfill with FilterLogEvents.
        #[arg(long, requires = "since", conflicts_with = "targets")]
        log_group: Option<String>,
        /// opensearch: only log streams whose name starts with this.
        #[arg(long, requires = "log_group")]
        log_stream_prefix: Option<String>,
        /// opensearch: how far back to read, e.g. `90m`, `24h`, `7d`.
        #[arg(long, requires = "log_group")]
        since: Option<String>,
    },
    /// Sends dead-lettered batches under `s3://bucket/prefix` again through the configured sink;
    /// each object moves to `replayed/` once every event in it is accepted.
    Replay {
        /// `s3://bucket/prefix` of the dead letters (e.g. `s3://state-bucket/dlq/cloudtrail/2024/11/`).
        target: String,
    },
    /// Polls a scheduled source once from its checkpoints, as its Lambda function does.
    Poll {
        /// The source.
        #[arg(value_enum)]
        source: poll::PollSource,
    },
    /// Loads a function's configuration as the function does and makes one cheap, read-only,
    /// authenticated call per component (SIEM, dead-letter and checkpoint buckets, each source
    /// credential); prints a table and exits 1 when any fails. Nothing is delivered.
    Check {
        /// The function whose configuration the environment holds.
        #[arg(value_enum)]
        function: check::Function,
    },
    /// Checks OCSF events (NDJSON) against the OCSF 1.8.0 JSON Schema of each event's class and
    /// profiles; exits 1 when any line is invalid or not JSON.
    Validate {
        /// NDJSON files (none, or `-`: standard input).
        files: Vec<PathBuf>,
    },
    /// Verifies CloudTrail log file integrity from the trail's digest files over a time range:
    /// each digest's signature and chain, each listed log file's SHA-256, and log files no digest
    /// lists; prints each file's verdict and a summary, exits 1 on any failure.
    Verify {
        /// `s3://bucket[/prefix]`: the trail bucket (and the trail's key prefix).
        target: String,
        /// The start (RFC 3339; default: 24 hours before the end).
        #[arg(long)]
        start: Option<String>,
        /// The end (RFC 3339; default: now).
        #[arg(long)]
        end: Option<String>,
        /// `text`: a line per digest and log file; `json`: the findings as NDJSON OCSF Detection
        /// Finding events.
        #[arg(long, value_enum, default_value_t = verify::Format::Text)]
        format: verify::Format,
    },
    /// Prints a table definition generated from the OCSF 1.8.0 schemas of the classes emitted.
    Schema {
        #[command(subcommand)]
        target: schema::Target,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SourceArg {
    /// AWS CloudTrail log files.
    Cloudtrail,
    /// OpenSearch audit logs (lines, subscription payloads, or a CloudWatch Logs log group).
    Opensearch,
    /// Saved Atlassian organization audit log pages (`/events`, `/events-stream`).
    AtlassianOrg,
    /// Saved Jira audit record pages (`/rest/api/3/auditing/record`).
    Jira,
    /// Saved Confluence audit record pages (`/wiki/rest/api/audit`).
    Confluence,
    /// Azure DevOps audit log (saved query pages, Azure Monitor and Event Grid exports).
    AzureDevops,
}

impl From<SourceArg> for Source {
    fn from(value: SourceArg) -> Self {
        match value {
            SourceArg::Cloudtrail => Source::Cloudtrail,
            SourceArg::Opensearch => Source::Opensearch,
            SourceArg::AtlassianOrg | SourceArg::Jira | SourceArg::Confluence => Source::Atlassian,
            SourceArg::AzureDevops => Source::AzureDevops,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// OCSF 1.8.0.
    Ocsf,
    /// The source records untouched.
    Raw,
    /// Google SecOps UDM.
    Udm,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    audit_relay::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::Normalize { source, format, include_raw, tenant, sha256, files } => {
            let format = match format {
                FormatArg::Ocsf => audit_relay::event::OutputFormat::Ocsf,
                FormatArg::Raw => audit_relay::event::OutputFormat::Raw,
                FormatArg::Udm => audit_relay::event::OutputFormat::Udm,
            };
            match source {
                SourceArg::Opensearch => opensearch::normalize(format, include_raw, &files).await,
                SourceArg::AtlassianOrg | SourceArg::Jira | SourceArg::Confluence => {
                    let kind = match source {
                        SourceArg::Jira => SavedPages::Jira,
                        SourceArg::Confluence => SavedPages::Confluence,
                        _ => SavedPages::Org,
                    };
                    atlassian::normalize(kind, tenant.as_deref(), format, include_raw, &files).await
                }
                SourceArg::AzureDevops => azure_devops::normalize(format, include_raw, &files).await,
                _ => normalize::run(source.into(), format, include_raw, sha256, &files).await,
            }
        }
        Command::Forward { source: SourceArg::Opensearch, log_group, log_stream_prefix, since, .. } => {
            match (log_group, since) {
                (Some(group), Some(since)) => {
                    opensearch::forward(&group, log_stream_prefix.as_deref(), &since).await
                }
                _ => anyhow::bail!("--source opensearch forwards a log group: give --log-group and --since"),
            }
        }
        Command::Forward { source, targets, log_group: None, .. } => {
            forward::run(source.into(), &targets).await
        }
        Command::Forward { .. } => anyhow::bail!("--log-group is for --source opensearch"),
        Command::Replay { target } => replay::run(&target).await,
        Command::Poll { source } => poll::run(source).await,
        Command::Check { function } => {
            if !check::run(function).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Schema { target } => schema::run(target),
        Command::Verify { target, start, end, format } => {
            if !verify::run(&target, start.as_deref(), end.as_deref(), format).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Validate { files } => {
            if !validate::run(&files)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
