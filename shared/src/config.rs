//! Configuration from the environment: typed, validated once per cold start, every error naming its
//! variable. Any credential variable `X` may instead be given as `X_SECRET_ARN` (see [`crate::secret`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::secret::{self, Secret, SecretFetcher};

/// `SIEM_TYPE`: which sink receives the events.
pub const SIEM_TYPE: &str = "SIEM_TYPE";
/// `SIEM_URL`: the sink's endpoint.
pub const SIEM_URL: &str = "SIEM_URL";
/// `SIEM_TOKEN`: the sink's credential.
pub const SIEM_TOKEN: &str = "SIEM_TOKEN";
/// `SIEM_WEBHOOK_SECRET`: the SecOps webhook's access key.
pub const SIEM_WEBHOOK_SECRET: &str = "SIEM_WEBHOOK_SECRET";
/// `SIEM_FORMAT`: `ocsf`, `raw` or `udm`.
pub const SIEM_FORMAT: &str = "SIEM_FORMAT";
/// `SECOPS_SERVICE_ACCOUNT_JSON`: the Google service-account key (JSON) of the `secops_api` sink.
pub const SECOPS_SERVICE_ACCOUNT_JSON: &str = "SECOPS_SERVICE_ACCOUNT_JSON";
/// `SECOPS_TOKEN_URL`: the OAuth token endpoint of the `secops_api` sink.
pub const SECOPS_TOKEN_URL: &str = "SECOPS_TOKEN_URL";
/// `SECOPS_PROJECT`: the Google Cloud project of the SecOps instance (builds the import URL).
pub const SECOPS_PROJECT: &str = "SECOPS_PROJECT";
/// `SECOPS_LOCATION`: the SecOps instance's region, e.g. `us`, `europe` (builds the import URL).
pub const SECOPS_LOCATION: &str = "SECOPS_LOCATION";
/// `SECOPS_INSTANCE`: the SecOps instance (customer) id (builds the import URL).
pub const SECOPS_INSTANCE: &str = "SECOPS_INSTANCE";
/// `SPLUNK_INDEX`: HEC index.
pub const SPLUNK_INDEX: &str = "SPLUNK_INDEX";
/// `SPLUNK_SOURCETYPE`: HEC sourcetype.
pub const SPLUNK_SOURCETYPE: &str = "SPLUNK_SOURCETYPE";
/// `SPLUNK_HOST`: HEC host field.
pub const SPLUNK_HOST: &str = "SPLUNK_HOST";
/// `DD_SERVICE`: Datadog `service`.
pub const DD_SERVICE: &str = "DD_SERVICE";
/// `DD_TAGS`: Datadog `ddtags`.
pub const DD_TAGS: &str = "DD_TAGS";
/// `DLQ_BUCKET`: dead-letter bucket.
pub const DLQ_BUCKET: &str = "DLQ_BUCKET";
/// `DLQ_PREFIX`: dead-letter key prefix.
pub const DLQ_PREFIX: &str = "DLQ_PREFIX";
/// `DLQ_DIR`: local dead-letter directory (CLI use).
pub const DLQ_DIR: &str = "DLQ_DIR";
/// `BATCH_MAX_BYTES`: cap on one request's uncompressed body.
pub const BATCH_MAX_BYTES: &str = "BATCH_MAX_BYTES";
/// `BATCH_MAX_EVENTS`: cap on events in one request.
pub const BATCH_MAX_EVENTS: &str = "BATCH_MAX_EVENTS";
/// `SINK_CONCURRENCY`: requests in flight at once.
pub const SINK_CONCURRENCY: &str = "SINK_CONCURRENCY";
/// `SINK_TIMEOUT_SECS`: timeout of one request.
pub const SINK_TIMEOUT_SECS: &str = "SINK_TIMEOUT_SECS";
/// `SINK_MAX_ATTEMPTS`: attempts per batch before it is dead-lettered.
pub const SINK_MAX_ATTEMPTS: &str = "SINK_MAX_ATTEMPTS";
/// `INCLUDE_RAW`: copy the source record into OCSF `raw_data`.
pub const INCLUDE_RAW: &str = "INCLUDE_RAW";
/// `MAX_OBJECT_BYTES`: cap on one object's inflated size.
pub const MAX_OBJECT_BYTES: &str = "MAX_OBJECT_BYTES";
/// `MAX_RECORD_BYTES`: cap on one record's size.
pub const MAX_RECORD_BYTES: &str = "MAX_RECORD_BYTES";
/// `LOCAL_DEADLINE_SECS`: how long an invocation may run when the runtime gives no deadline.
pub const LOCAL_DEADLINE_SECS: &str = "LOCAL_DEADLINE_SECS";

/// Why the configuration was refused. Every variant names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable has a value that does not parse.
    #[error("{variable}: invalid value {value:?}: {reason}")]
    Invalid {
        /// The variable.
        variable: String,
        /// What was given (never a credential).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A variable the chosen setup needs is unset.
    #[error("{variable} is required {reason}")]
    Missing {
        /// The variable.
        variable: String,
        /// For what it is needed.
        reason: String,
    },
    /// A `X_SECRET_ARN` could not be resolved.
    #[error(transparent)]
    Secret(#[from] secret::SecretError),
}

impl ConfigError {
    /// [`ConfigError::Invalid`]: `variable` holds `value` (never a credential: pass "***"), not
    /// what `reason` says.
    pub fn invalid(variable: &str, value: String, reason: &str) -> Self {
        Self::Invalid { variable: variable.to_string(), value, reason: reason.to_string() }
    }
}

/// Reads variables from an environment (the process's, or a map in tests) and resolves credentials.
pub struct EnvReader {
    vars: HashMap<String, String>,
    secrets: Option<Arc<dyn SecretFetcher>>,
}

impl EnvReader {
    /// The process environment, with Secrets Manager (or another fetcher) for `X_SECRET_ARN`.
    pub fn from_process(secrets: Option<Arc<dyn SecretFetcher>>) -> Self {
        Self { vars: std::env::vars().collect(), secrets }
    }

    /// A fixed set of variables (tests, and the CLI's overrides).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        secrets: Option<Arc<dyn SecretFetcher>>,
    ) -> Self {
        Self { vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), secrets }
    }

    /// The trimmed value of `name`; unset and empty are both `None`.
    pub fn string(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// `name` parsed with `FromStr`, or `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.parse(name)?.unwrap_or(default))
    }

    /// `name` parsed with `FromStr`, `None` when unset.
    pub fn parse<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.string(name) {
            None => Ok(None),
            Some(raw) => raw.parse::<T>().map(Some).map_err(|e| ConfigError::Invalid {
                variable: name.to_string(),
                value: raw.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// A boolean: `true/false`, `1/0`, `yes/no`.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.string(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => Ok(true),
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                variable: name.to_string(),
                value: v,
                reason: "expected true or false".to_string(),
            }),
        }
    }

    /// A credential: `name` itself, or the secret named by `name_SECRET_ARN`.
    pub async fn credential(&self, name: &str) -> Result<Option<Secret>, ConfigError> {
        let arn_variable = format!("{name}_SECRET_ARN");
        if let Some(secret_id) = self.string(&arn_variable) {
            let fetcher = self.secrets.as_deref().ok_or_else(|| ConfigError::Missing {
                variable: arn_variable.clone(),
                reason: "to be resolved, but no Secrets Manager client is available".to_string(),
            })?;
            return Ok(Some(secret::resolve(fetcher, name, &secret_id).await?));
        }
        Ok(self.vars.get(name).filter(|v| !v.is_empty()).map(|v| Secret::new(v.as_str())))
    }

    /// An endpoint URL: `https`, or plain `http` only for a loopback host.
    pub fn endpoint_url(&self, name: &str) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = self.string(name) else { return Ok(None) };
        check_endpoint_url(&raw).map(Some).map_err(|reason| ConfigError::Invalid {
            variable: name.to_string(),
            value: redact_url(&raw),
            reason,
        })
    }
}

/// `raw` as an error may show it: a URL's user info and query can carry a key, so both are
/// replaced by `***`.
fn redact_url(raw: &str) -> String {
    let (before_query, query) = match raw.split_once('?') {
        Some((before, _)) => (before, "?***"),
        None => (raw, ""),
    };
    let shown = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***{}", &rest[at..]),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    format!("{shown}{query}")
}

/// Accepts `https://…`, and `http://…` only for loopback hosts (tests, a local receiver).
pub fn check_endpoint_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("plain http is allowed only for loopback hosts; use https".to_string()),
        other => Err(format!("unsupported scheme {other}; use https")),
    }
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `SIEM_TYPE` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiemType {
    /// Splunk HTTP Event Collector.
    SplunkHec,
    /// Datadog Logs intake v2.
    Datadog,
    /// Google SecOps webhook feed.
    SecopsWebhook,
    /// Google SecOps (Chronicle) API `events:import`, UDM events.
    SecopsApi,
    /// Generic HTTP endpoint receiving gzip NDJSON.
    Http,
    /// NDJSON on standard output.
    Stdout,
}

impl SiemType {
    /// The name used in `SIEM_TYPE`, metrics and dead-letter metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SplunkHec => "splunk_hec",
            Self::Datadog => "datadog",
            Self::SecopsWebhook => "secops_webhook",
            Self::SecopsApi => "secops_api",
            Self::Http => "http",
            Self::Stdout => "stdout",
        }
    }
}

impl FromStr for SiemType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "splunk_hec" => Ok(Self::SplunkHec),
            "datadog" => Ok(Self::Datadog),
            "secops_webhook" => Ok(Self::SecopsWebhook),
            "secops_api" => Ok(Self::SecopsApi),
            "http" => Ok(Self::Http),
            "stdout" => Ok(Self::Stdout),
            _ => {
                Err("expected one of splunk_hec, datadog, secops_webhook, secops_api, http, stdout"
                    .to_string())
            }
        }
    }
}

impl fmt::Display for SiemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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

/// Where and how events are sent.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// `SIEM_TYPE` (default `stdout`).
    pub siem_type: SiemType,
    /// `SIEM_URL`: the endpoint; https unless loopback. Required for every type but `stdout`.
    pub url: Option<Url>,
    /// `SIEM_TOKEN` (or `SIEM_TOKEN_SECRET_ARN`): HEC token, Datadog API key, SecOps API key, or
    /// bearer token for `http`.
    pub token: Option<Secret>,
    /// `SIEM_WEBHOOK_SECRET` (or `..._SECRET_ARN`): the SecOps webhook's `X-Webhook-Access-Key`.
    pub webhook_secret: Option<Secret>,
    /// `SPLUNK_INDEX`: HEC `index`; omitted when unset (the token's default index).
    pub splunk_index: Option<String>,
    /// `SPLUNK_SOURCETYPE`: HEC `sourcetype`; default `ocsf` for OCSF output, the source's native
    /// sourcetype (e.g. `aws:cloudtrail`) for raw output.
    pub splunk_sourcetype: Option<String>,
    /// `SPLUNK_HOST`: HEC `host`; default the Lambda function name, else `audit-relay`.
    pub splunk_host: String,
    /// `DD_SERVICE`: Datadog `service` (default `audit-relay`).
    pub datadog_service: String,
    /// `DD_TAGS`: extra Datadog `ddtags` (`k:v,k:v`).
    pub datadog_tags: Option<String>,
    /// The `secops_api` sink's credential and token endpoint (set only for that sink).
    pub secops_api: Option<SecopsApiSettings>,
}

/// Settings of the `secops_api` sink.
#[derive(Debug, Clone)]
pub struct SecopsApiSettings {
    /// `SECOPS_SERVICE_ACCOUNT_JSON` (or `..._SECRET_ARN`): the service-account key file's JSON.
    pub service_account: Secret,
    /// `SECOPS_TOKEN_URL`: the OAuth token endpoint; default the key's `token_uri`, else
    /// `https://oauth2.googleapis.com/token`.
    pub token_url: Option<Url>,
}

/// Batching, concurrency and retry settings of the delivery engine.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `BATCH_MAX_BYTES`: uncompressed body cap; the sink's own limit applies when lower.
    pub batch_max_bytes: Option<usize>,
    /// `BATCH_MAX_EVENTS`: events per request cap; the sink's own limit applies when lower.
    pub batch_max_events: Option<usize>,
    /// `SINK_CONCURRENCY`: requests in flight at once (default 4).
    pub concurrency: usize,
    /// `SINK_TIMEOUT_SECS`: timeout of one request (default 30 s).
    pub request_timeout: Duration,
    /// `SINK_MAX_ATTEMPTS`: attempts per batch before dead-lettering (default 6).
    pub max_attempts: u32,
}

/// Where undeliverable events go.
#[derive(Debug, Clone)]
pub struct DeadLetterConfig {
    /// `DLQ_BUCKET`: the bucket. Without it (and without `DLQ_DIR`) a batch that cannot be delivered
    /// fails the invocation.
    pub bucket: Option<String>,
    /// `DLQ_PREFIX` (default `dlq/`).
    pub prefix: String,
    /// `DLQ_DIR`: a local directory instead of a bucket (for the CLI).
    pub dir: Option<String>,
}

/// The settings every function shares.
#[derive(Debug, Clone)]
pub struct Config {
    /// The sink.
    pub sink: SinkConfig,
    /// `SIEM_FORMAT` (default `ocsf`).
    pub format: OutputFormat,
    /// Delivery engine settings.
    pub delivery: DeliverySettings,
    /// Dead-letter store.
    pub dead_letter: DeadLetterConfig,
    /// `INCLUDE_RAW` (default false): put the source record in OCSF `raw_data`.
    pub include_raw: bool,
    /// `MAX_OBJECT_BYTES` (default 2 GiB): an object inflating past this is refused.
    pub max_object_bytes: u64,
    /// `MAX_RECORD_BYTES` (default 8 MiB): a single record larger than this is refused.
    pub max_record_bytes: usize,
    /// `LOCAL_DEADLINE_SECS` (default 900): how long an invocation may run when the runtime gives
    /// no deadline in the future (local runtimes such as `cargo lambda watch`; see [`crate::deadline`]).
    pub local_deadline: Duration,
}

impl Config {
    /// Reads and validates the shared settings.
    pub async fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let siem_type = env.parse_or(SIEM_TYPE, SiemType::Stdout)?;
        let mut url = env.endpoint_url(SIEM_URL)?;
        if url.is_none() && siem_type == SiemType::SecopsApi {
            url = Some(secops_import_url(env)?);
        }
        if url.is_none() && siem_type != SiemType::Stdout {
            return Err(ConfigError::Missing {
                variable: SIEM_URL.to_string(),
                reason: format!("when SIEM_TYPE is {siem_type}"),
            });
        }
        let token = env.credential(SIEM_TOKEN).await?;
        if token.is_none()
            && matches!(siem_type, SiemType::SplunkHec | SiemType::Datadog | SiemType::SecopsWebhook)
        {
            return Err(ConfigError::Missing {
                variable: SIEM_TOKEN.to_string(),
                reason: format!("(or {SIEM_TOKEN}_SECRET_ARN) when SIEM_TYPE is {siem_type}"),
            });
        }
        let webhook_secret = env.credential(SIEM_WEBHOOK_SECRET).await?;
        if webhook_secret.is_none() && siem_type == SiemType::SecopsWebhook {
            return Err(ConfigError::Missing {
                variable: SIEM_WEBHOOK_SECRET.to_string(),
                reason: format!("(or {SIEM_WEBHOOK_SECRET}_SECRET_ARN) when SIEM_TYPE is secops_webhook"),
            });
        }
        let sink = SinkConfig {
            siem_type,
            url,
            token,
            webhook_secret,
            splunk_index: env.string(SPLUNK_INDEX),
            splunk_sourcetype: env.string(SPLUNK_SOURCETYPE),
            splunk_host: env
                .string(SPLUNK_HOST)
                .or_else(|| env.string("AWS_LAMBDA_FUNCTION_NAME"))
                .unwrap_or_else(|| "audit-relay".to_string()),
            datadog_service: env.string(DD_SERVICE).unwrap_or_else(|| "audit-relay".to_string()),
            datadog_tags: env.string(DD_TAGS),
            secops_api: match siem_type {
                SiemType::SecopsApi => Some(SecopsApiSettings {
                    service_account: env.credential(SECOPS_SERVICE_ACCOUNT_JSON).await?.ok_or_else(|| {
                        ConfigError::Missing {
                            variable: SECOPS_SERVICE_ACCOUNT_JSON.to_string(),
                            reason: format!(
                                "(or {SECOPS_SERVICE_ACCOUNT_JSON}_SECRET_ARN) when SIEM_TYPE is secops_api"
                            ),
                        }
                    })?,
                    token_url: env.endpoint_url(SECOPS_TOKEN_URL)?,
                }),
                _ => None,
            },
        };
        // The Chronicle import API takes UDM only: it is that sink's default and only format.
        let format = match (siem_type, env.parse::<OutputFormat>(SIEM_FORMAT)?) {
            (SiemType::SecopsApi, None | Some(OutputFormat::Udm)) => OutputFormat::Udm,
            (SiemType::SecopsApi, Some(_)) => {
                return Err(ConfigError::Invalid {
                    variable: SIEM_FORMAT.to_string(),
                    value: env.string(SIEM_FORMAT).unwrap_or_default(),
                    reason: "SIEM_TYPE secops_api imports UDM events: use udm (the default for it)"
                        .to_string(),
                })
            }
            (_, format) => format.unwrap_or(OutputFormat::Ocsf),
        };
        let delivery = DeliverySettings {
            batch_max_bytes: positive(env, BATCH_MAX_BYTES)?,
            batch_max_events: positive(env, BATCH_MAX_EVENTS)?,
            concurrency: positive(env, SINK_CONCURRENCY)?.unwrap_or(4),
            request_timeout: Duration::from_secs(positive::<u64>(env, SINK_TIMEOUT_SECS)?.unwrap_or(30)),
            max_attempts: positive(env, SINK_MAX_ATTEMPTS)?.unwrap_or(6),
        };
        let dead_letter = DeadLetterConfig {
            bucket: env.string(DLQ_BUCKET),
            prefix: env.string(DLQ_PREFIX).unwrap_or_else(|| "dlq/".to_string()),
            dir: env.string(DLQ_DIR),
        };
        Ok(Self {
            sink,
            format,
            delivery,
            dead_letter,
            include_raw: env.bool_or(INCLUDE_RAW, false)?,
            max_object_bytes: positive(env, MAX_OBJECT_BYTES)?.unwrap_or(2 * 1024 * 1024 * 1024),
            max_record_bytes: positive(env, MAX_RECORD_BYTES)?.unwrap_or(8 * 1024 * 1024),
            local_deadline: positive::<u64>(env, LOCAL_DEADLINE_SECS)?
                .map_or(crate::deadline::DEFAULT_LOCAL_DEADLINE, Duration::from_secs),
        })
    }
}

/// The `events:import` URL of the SecOps instance named by `SECOPS_PROJECT`, `SECOPS_LOCATION`
/// and `SECOPS_INSTANCE` (api-contracts.md §9.2):
/// `https://{location}-chronicle.googleapis.com/v1alpha/projects/{project}/locations/{location}/instances/{instance}/events:import`.
fn secops_import_url(env: &EnvReader) -> Result<Url, ConfigError> {
    let part = |name: &str| {
        let value = env.string(name).ok_or_else(|| ConfigError::Missing {
            variable: name.to_string(),
            reason: format!("when SIEM_TYPE is secops_api and {SIEM_URL} is unset"),
        })?;
        if value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                variable: name.to_string(),
                value,
                reason: "expected letters, digits, '-' or '_'".to_string(),
            })
        }
    };
    let (project, location, instance) =
        (part(SECOPS_PROJECT)?, part(SECOPS_LOCATION)?, part(SECOPS_INSTANCE)?);
    let raw = format!(
        "https://{location}-chronicle.googleapis.com/v1alpha/projects/{project}/locations/{location}/instances/{instance}/events:import"
    );
    Url::parse(&raw).map_err(|e| ConfigError::Invalid {
        variable: SECOPS_LOCATION.to_string(),
        value: location.clone(),
        reason: e.to_string(),
    })
}

/// A whole number above zero, or `None` when unset.
fn positive<T>(env: &EnvReader, name: &str) -> Result<Option<T>, ConfigError>
where
    T: FromStr + PartialOrd + Default,
    T::Err: fmt::Display,
{
    match env.parse::<T>(name)? {
        Some(v) if v <= T::default() => Err(ConfigError::Invalid {
            variable: name.to_string(),
            value: env.string(name).unwrap_or_default(),
            reason: "must be above zero".to_string(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvReader {
        EnvReader::from_map(vars.iter().copied(), None)
    }

    #[tokio::test]
    async fn defaults_to_stdout_ocsf() {
        let config = Config::load(&env(&[])).await.unwrap();
        assert_eq!(config.sink.siem_type, SiemType::Stdout);
        assert_eq!(config.format, OutputFormat::Ocsf);
        assert_eq!(config.dead_letter.prefix, "dlq/");
        assert_eq!(config.delivery.concurrency, 4);
        assert!(!config.include_raw);
    }

    #[tokio::test]
    async fn errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("SIEM_TYPE", "kafka")], "SIEM_TYPE"),
            (&[("SIEM_TYPE", "splunk_hec")], "SIEM_URL"),
            (
                &[
                    ("SIEM_TYPE", "splunk_hec"),
                    ("SIEM_URL", "https://hec.example.com/services/collector/event"),
                ],
                "SIEM_TOKEN",
            ),
            (&[("SIEM_TYPE", "http"), ("SIEM_URL", "http://siem.example.com/in")], "SIEM_URL"),
            (&[("SIEM_URL", "ftp://127.0.0.1/")], "SIEM_URL"),
            (&[("BATCH_MAX_BYTES", "-1")], "BATCH_MAX_BYTES"),
            (&[("BATCH_MAX_EVENTS", "0")], "BATCH_MAX_EVENTS"),
            (&[("INCLUDE_RAW", "maybe")], "INCLUDE_RAW"),
            (&[("SIEM_FORMAT", "cef")], "SIEM_FORMAT"),
            (
                &[("SIEM_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x")],
                "SIEM_TOKEN_SECRET_ARN",
            ),
            (
                &[
                    ("SIEM_TYPE", "secops_webhook"),
                    ("SIEM_URL", "https://x.example.com/"),
                    ("SIEM_TOKEN", "k"),
                ],
                "SIEM_WEBHOOK_SECRET",
            ),
        ];
        for (vars, variable) in cases {
            let err = Config::load(&env(vars)).await.unwrap_err().to_string();
            assert!(err.starts_with(variable), "{vars:?}: {err}");
        }
    }

    #[tokio::test]
    async fn secops_api_builds_its_url_defaults_to_udm_and_needs_a_key() {
        let base = [
            ("SIEM_TYPE", "secops_api"),
            ("SECOPS_PROJECT", "my-project"),
            ("SECOPS_LOCATION", "europe"),
            ("SECOPS_INSTANCE", "0a1b2c3d-4e5f"),
            ("SECOPS_SERVICE_ACCOUNT_JSON", "{\"type\":\"service_account\"}"),
        ];
        let config = Config::load(&env(&base)).await.unwrap();
        assert_eq!(
            config.sink.url.as_ref().map(Url::as_str),
            Some("https://europe-chronicle.googleapis.com/v1alpha/projects/my-project/locations/europe/instances/0a1b2c3d-4e5f/events:import")
        );
        assert_eq!(config.format, OutputFormat::Udm);
        let secops = config.sink.secops_api.as_ref().unwrap();
        assert_eq!(secops.service_account.expose(), "{\"type\":\"service_account\"}");
        assert!(secops.token_url.is_none());

        let mut with_url = base.to_vec();
        with_url.push(("SIEM_URL", "http://127.0.0.1:9/v1alpha/x/events:import"));
        with_url.push(("SECOPS_TOKEN_URL", "http://127.0.0.1:9/token"));
        let config = Config::load(&env(&with_url)).await.unwrap();
        assert_eq!(
            config.sink.url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9/v1alpha/x/events:import")
        );
        let token_url = config.sink.secops_api.as_ref().and_then(|s| s.token_url.as_ref()).map(Url::as_str);
        assert_eq!(token_url, Some("http://127.0.0.1:9/token"));

        let failures: [(Vec<(&str, &str)>, &str); 4] = [
            (
                base.iter().copied().filter(|(k, _)| *k != "SECOPS_INSTANCE").collect(),
                "SECOPS_INSTANCE is required",
            ),
            (
                base.iter().copied().filter(|(k, _)| *k != "SECOPS_SERVICE_ACCOUNT_JSON").collect(),
                "SECOPS_SERVICE_ACCOUNT_JSON is required",
            ),
            ([&base[..], &[("SIEM_FORMAT", "ocsf")]].concat(), "SIEM_FORMAT: invalid value"),
            ([&base[..], &[("SECOPS_LOCATION", "eu/../x")]].concat(), "SECOPS_LOCATION: invalid value"),
        ];
        for (vars, expected) in failures {
            let err = Config::load(&env(&vars)).await.unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
        let udm = Config::load(&env(&[("SIEM_FORMAT", "udm")])).await.unwrap();
        assert_eq!(udm.format, OutputFormat::Udm);
    }

    #[tokio::test]
    async fn http_is_allowed_for_loopback_only_and_tokens_stay_redacted() {
        let config = Config::load(&env(&[
            ("SIEM_TYPE", "splunk_hec"),
            ("SIEM_URL", "http://127.0.0.1:8088/services/collector/event"),
            ("SIEM_TOKEN", "super-secret-hec-token"),
        ]))
        .await
        .unwrap();
        assert_eq!(config.sink.token.as_ref().map(Secret::expose), Some("super-secret-hec-token"));
        assert!(!format!("{config:?}").contains("super-secret-hec-token"));
        for ok in ["http://localhost:1/x", "http://[::1]:2/", "https://siem.example.com/"] {
            assert!(check_endpoint_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1/", "http://localhost.evil.com/", "file:///etc/passwd"] {
            assert!(check_endpoint_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_refused_url_is_shown_without_its_user_info_or_query() {
        let cases = [
            ("http://siem.example.com/in?api_key=k-123&x=1", "http://siem.example.com/in?***"),
            ("ftp://user:pw-456@siem.example.com/a@b", "ftp://***@siem.example.com/a@b"),
            ("https://u:p@[bad/x?k=1", "https://***@[bad/x?***"),
            ("not a url ?key=k-789", "not a url ?***"),
        ];
        for (raw, shown) in cases {
            let error = Config::load(&env(&[("SIEM_TYPE", "http"), ("SIEM_URL", raw)])).await.unwrap_err();
            assert_eq!(error.to_string().split('"').nth(1), Some(shown), "{error}");
        }
    }
}
