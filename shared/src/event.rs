//! The unit the delivery engine moves: one event already serialized in the output format, and the
//! names every layer tags events with: their source and their format.

use std::fmt;
use std::str::FromStr;

/// One event ready for a sink: its JSON text (OCSF, raw source record, or UDM) and its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEvent {
    /// Event time in milliseconds since the Unix epoch (HEC `time`, Datadog `timestamp`).
    pub time_ms: i64,
    /// The event as one line of compact JSON (no newline).
    pub json: String,
}

/// The `metadata.uid` of an event's JSON text (`None` when it has none: raw and UDM events, or
/// text that is not an object). Borrowed unless the id holds escapes.
pub(crate) fn metadata_uid(json: &str) -> Option<std::borrow::Cow<'_, str>> {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        metadata: Option<Metadata<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata<'a> {
        #[serde(borrow)]
        uid: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Head<'_>>(json).ok().and_then(|h| h.metadata).and_then(|m| m.uid)
}

/// `SIEM_FORMAT` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// OCSF 1.8.0 events.
    Ocsf,
    /// The source record, untouched.
    Raw,
    /// Google SecOps UDM events.
    Udm,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ocsf" => Ok(Self::Ocsf),
            "raw" => Ok(Self::Raw),
            "udm" => Ok(Self::Udm),
            _ => Err("expected ocsf, raw or udm".to_string()),
        }
    }
}

/// The audit-log sources, by the names used everywhere (dead-letter prefixes, metrics, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// AWS CloudTrail log files in S3.
    Cloudtrail,
    /// Amazon OpenSearch Service audit logs through CloudWatch Logs.
    Opensearch,
    /// Atlassian Cloud organization audit log, Jira and Confluence audit records.
    Atlassian,
    /// Azure DevOps audit log.
    AzureDevops,
}

impl Source {
    /// The source's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cloudtrail => "cloudtrail",
            Self::Opensearch => "opensearch",
            Self::Atlassian => "atlassian",
            Self::AzureDevops => "azure_devops",
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cloudtrail" => Ok(Self::Cloudtrail),
            "opensearch" => Ok(Self::Opensearch),
            "atlassian" => Ok(Self::Atlassian),
            "azure_devops" | "azure-devops" => Ok(Self::AzureDevops),
            _ => Err("expected cloudtrail, opensearch, atlassian or azure_devops".to_string()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
