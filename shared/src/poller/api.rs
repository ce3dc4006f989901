//! What a scheduled source implements: how to ask an audit API for one page of a time window and
//! how to read the answer (api-contracts.md §5 and §6 for Atlassian, §7 for Azure DevOps). No I/O
//! here: the poll loop sends the requests, so every client gets the same pacing, retries,
//! credential checks and same-host guard.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::encode::{encode, ConvertError, SourceRecord};
use crate::entra::{EntraError, EntraTokenSource};
use crate::event::{OutboundEvent, OutputFormat};
use crate::ocsf::OcsfEvent;
use crate::secret::Secret;

/// Where paging resumes inside a window: opaque to the poll loop, written into the checkpoint as
/// is. Each client picks its shape, e.g. `{"cursor": "…"}`, `{"offset": 200}`,
/// `{"continuationToken": "…"}`, or `{"url": "…"}` for a `next` link.
pub type Resume = serde_json::Value;

/// A query's time range, in milliseconds since the epoch, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start: the last completed window's end minus the overlap.
    pub from_ms: i64,
    /// End: when the window started being read.
    pub to_ms: i64,
}

/// The credential sent in `Authorization` on every request of a stream.
#[derive(Clone)]
pub enum Credential {
    /// `Authorization: Bearer <token>` (Atlassian organization API key, Entra ID token).
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)` (Atlassian e-mail + API token; Azure DevOps
    /// with any user name and a PAT as the password).
    Basic {
        /// The user name (an e-mail for Atlassian; may be empty for Azure DevOps).
        user: String,
        /// The API token or PAT.
        password: Secret,
    },
    /// `Authorization: Bearer <token>` with a Microsoft Entra ID token, fetched and renewed as
    /// it expires (shared by every stream of the identity).
    Entra(Arc<EntraTokenSource>),
}

impl Credential {
    /// The `Authorization` header value of a static credential; `None` for [`Credential::Entra`],
    /// whose token [`Credential::authorization`] fetches.
    pub fn header_value(&self) -> Option<String> {
        use base64::Engine as _;
        match self {
            Self::Bearer(token) => Some(format!("Bearer {}", token.expose())),
            Self::Basic { user, password } => {
                let pair = format!("{user}:{}", password.expose());
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
            }
            Self::Entra(_) => None,
        }
    }

    /// The `Authorization` header value, with the token it carries for an Entra ID credential
    /// (to invalidate it when the API refuses it).
    pub async fn authorization(&self) -> Result<(String, Option<Secret>), EntraError> {
        match self {
            Self::Entra(source) => {
                let token = source.token().await?;
                Ok((format!("Bearer {}", token.expose()), Some(token)))
            }
            other => Ok((other.header_value().unwrap_or_default(), None)),
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("Bearer(***)"),
            Self::Basic { user, .. } => write!(f, "Basic({user}:***)"),
            Self::Entra(source) => write!(f, "Entra({source:?})"),
        }
    }
}

/// One audit record as read from a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolledRecord {
    /// The record's id, unique within the stream: the dedup key kept in the checkpoint.
    pub id: String,
    /// The time the API filters the window by (event time, or processing time where the API
    /// pages by that), in milliseconds since the epoch.
    pub time_ms: i64,
    /// The record's JSON text.
    pub json: String,
}

/// One entry of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageItem {
    /// A record with an id and a time.
    Record(PolledRecord),
    /// An entry that cannot be a record (no id, no time): dead-lettered with the reason.
    Invalid {
        /// Its JSON text.
        raw: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One page of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its entries, in the API's order.
    pub items: Vec<PageItem>,
    /// Where the next page starts; `None` when this was the window's last page.
    pub next: Option<Resume>,
}

/// A page or a request the client cannot make sense of: the stream stops there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PageError(pub String);

/// One stream of one audit API: a client of the poll loop ([`super::Poller`]).
///
/// A client builds page URLs and reads page bodies; it does no I/O. The loop checks every URL
/// against [`StreamApi::origin`] before the credential goes out, so a `next` link to another host
/// is refused whatever the client returns.
pub trait StreamApi: Send + Sync {
    /// Names the stream in checkpoint keys, reports and logs: letters, digits, `-`, `.`, `_`
    /// (e.g. `org-<orgId>`, `jira-<site host>`).
    fn stream_id(&self) -> &str;

    /// The product, for operators: "Atlassian organization audit log", "Jira audit records".
    fn product(&self) -> &str;

    /// What to check when the API answers 401 or 403, naming the variables and the scope
    /// (e.g. "ATLASSIAN_ORG_API_KEY is invalid, expired or lacks the read:events:admin scope").
    fn credential_hint(&self) -> &str;

    /// Scheme, host and port every request must keep.
    fn origin(&self) -> &Url;

    /// The credential.
    fn credential(&self) -> &Credential;

    /// The query parameter of [`StreamApi::page_url`] that sets how many records a page holds
    /// (`audit-relay check` asks for one).
    fn page_size_parameter(&self) -> &'static str;

    /// The URL of the first page of `window` (`resume` `None`), or of the page `resume` names.
    fn page_url(&self, window: Window, resume: Option<&Resume>) -> Result<Url, PageError>;

    /// Reads one page. `resume` is where it was asked from (`None` for the first page), for
    /// APIs that page by offset.
    fn parse_page(&self, body: &[u8], resume: Option<&Resume>) -> Result<Page, PageError>;

    /// Maps one record to OCSF; `include_raw` copies its text into `raw_data`. An error
    /// dead-letters the record with the reason.
    fn map(&self, record: &PolledRecord, include_raw: bool) -> Result<OcsfEvent, ConvertError>;

    /// Maps one record to UDM (`SIEM_FORMAT=udm`): by default the OCSF → UDM translation of
    /// [`StreamApi::map`]; a source with its own UDM mapping (Azure DevOps) overrides it.
    fn udm(&self, record: &PolledRecord) -> Result<serde_json::Value, ConvertError> {
        let event = self.map(record, false)?;
        Ok(crate::udm::from_ocsf::from_event(&event)?)
    }
}

/// The outbound event of `record`, mapped by its stream's `api`, in `format`; `include_raw`
/// copies the record's text into OCSF `raw_data`.
pub fn encode_polled(
    format: OutputFormat,
    include_raw: bool,
    api: &dyn StreamApi,
    record: &PolledRecord,
) -> Result<OutboundEvent, ConvertError> {
    encode(format, &mut Polled { api, record, include_raw })
}

/// A polled record, as the encoder sees it.
struct Polled<'a> {
    api: &'a dyn StreamApi,
    record: &'a PolledRecord,
    include_raw: bool,
}

impl SourceRecord for Polled<'_> {
    fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError> {
        self.api.map(self.record, self.include_raw)
    }

    fn udm(&mut self) -> Result<OutboundEvent, ConvertError> {
        Ok(OutboundEvent { time_ms: self.record.time_ms, json: self.api.udm(self.record)?.to_string() })
    }

    fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError> {
        Ok((self.record.time_ms, Cow::Borrowed(&self.record.json)))
    }

    fn ocsf_size_hint(&self) -> usize {
        self.record.json.len() * 2 + 512
    }
}

/// Whether `url` has the scheme, host and port of `origin`.
pub fn same_origin(origin: &Url, url: &Url) -> bool {
    origin.scheme() == url.scheme()
        && origin.host_str().map(str::to_ascii_lowercase) == url.host_str().map(str::to_ascii_lowercase)
        && origin.port_or_known_default() == url.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_needs_scheme_host_and_port() {
        let origin = Url::parse("https://api.atlassian.com").unwrap();
        let cases = [
            ("https://api.atlassian.com/admin/v1/orgs/x/events?cursor=a", true),
            ("https://API.atlassian.com:443/x", true),
            ("http://api.atlassian.com/x", false),
            ("https://api.atlassian.com:8443/x", false),
            ("https://api.atlassian.com.evil.example/x", false),
            ("https://evil.example/admin/v1/orgs/x/events", false),
            ("https://user@evil.example/@api.atlassian.com", false),
        ];
        for (url, expected) in cases {
            assert_eq!(same_origin(&origin, &Url::parse(url).unwrap()), expected, "{url}");
        }
    }

    #[test]
    fn credentials_make_headers_and_never_print_the_secret() {
        let bearer = Credential::Bearer(Secret::new("org-key-1"));
        assert_eq!(bearer.header_value().as_deref(), Some("Bearer org-key-1"));
        let basic = Credential::Basic { user: "a@example.com".into(), password: Secret::new("tok") };
        assert_eq!(basic.header_value().as_deref(), Some("Basic YUBleGFtcGxlLmNvbTp0b2s="));
        assert_eq!(format!("{bearer:?} {basic:?}"), "Bearer(***) Basic(a@example.com:***)");
    }
}
