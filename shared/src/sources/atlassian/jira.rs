//! The Jira audit records client (api-contracts.md §6.1): `GET {site}/rest/api/3/auditing/record`
//! with `from`/`to` and `offset`/`limit`, basic auth with the e-mail and API token.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use url::Url;

use super::mapping::{jira_position, map_jira_record};
use super::{site_host, stream_key};
use crate::encode::ConvertError;
use crate::ocsf::OcsfEvent;
use crate::poller::{Credential, Page, PageError, PageItem, PolledRecord, Resume, StreamApi, Window};
use crate::timestamp::format_rfc3339_ms;

/// One site's Jira audit records.
#[derive(Debug)]
pub(crate) struct JiraAuditApi {
    stream_id: String,
    site: Url,
    host: String,
    credential: Credential,
    page_size: u32,
}

impl JiraAuditApi {
    /// The client of `site`.
    pub fn new(site: &Url, credential: Credential, page_size: u32) -> Self {
        let host = site_host(site);
        Self {
            stream_id: format!("jira-{}", stream_key(&host)),
            site: site.clone(),
            host,
            credential,
            page_size,
        }
    }

    /// A client for saved pages of `site` (no request is made); `host` is the site host the
    /// records name as their tenant, empty when unknown.
    pub(super) fn offline(site: &Url, host: &str) -> Self {
        let credential = Credential::Basic { user: String::new(), password: crate::secret::Secret::new("") };
        Self { host: host.to_string(), ..Self::new(site, credential, 1) }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
    #[serde(default)]
    total: Option<u64>,
}

/// The offset a page was asked from.
fn offset(resume: Option<&Resume>) -> u64 {
    resume.and_then(|r| r.get("offset")).and_then(Value::as_u64).unwrap_or(0)
}

impl StreamApi for JiraAuditApi {
    fn stream_id(&self) -> &str {
        &self.stream_id
    }

    fn product(&self) -> &str {
        "Jira audit records"
    }

    fn credential_hint(&self) -> &str {
        "ATLASSIAN_USER_EMAIL / ATLASSIAN_API_TOKEN are invalid or expired, or the account lacks the \
         Administer Jira global permission (free plans have no audit API)"
    }

    fn origin(&self) -> &Url {
        &self.site
    }

    fn credential(&self) -> &Credential {
        &self.credential
    }

    fn page_size_parameter(&self) -> &'static str {
        "limit"
    }

    fn page_url(&self, window: Window, resume: Option<&Resume>) -> Result<Url, PageError> {
        let mut url = self.site.clone();
        url.path_segments_mut()
            .map_err(|()| PageError("site URL cannot be a base URL".to_string()))?
            .pop_if_empty()
            .extend(["rest", "api", "3", "auditing", "record"]);
        url.query_pairs_mut()
            .append_pair("offset", &offset(resume).to_string())
            .append_pair("limit", &self.page_size.to_string())
            .append_pair("from", &format_rfc3339_ms(window.from_ms))
            .append_pair("to", &format_rfc3339_ms(window.to_ms));
        Ok(url)
    }

    fn parse_page(&self, body: &[u8], resume: Option<&Resume>) -> Result<Page, PageError> {
        let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
            PageError(format!("page is not an audit records page ({{\"records\":[...]}}): {e}"))
        })?;
        let count = envelope.records.len() as u64;
        let items = envelope
            .records
            .into_iter()
            .map(|raw| {
                let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                match jira_position(&value) {
                    (Some(id), Some(time_ms)) => {
                        PageItem::Record(PolledRecord { id, time_ms, json: raw.get().to_string() })
                    }
                    (id, _) => PageItem::Invalid {
                        raw: raw.get().to_string(),
                        reason: format!(
                            "record {} has no id or no readable created time",
                            id.unwrap_or_default()
                        ),
                    },
                }
            })
            .collect();
        let end = offset(resume) + count;
        let more =
            count > 0 && envelope.total.map_or(count >= u64::from(self.page_size), |total| end < total);
        Ok(Page { items, next: more.then(|| json!({ "offset": end })) })
    }

    fn map(&self, record: &PolledRecord, include_raw: bool) -> Result<OcsfEvent, ConvertError> {
        map_jira_record(&record.json, &self.host, include_raw).map_err(ConvertError::record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn api() -> JiraAuditApi {
        let site = Url::parse("https://example-corp.atlassian.net").unwrap();
        JiraAuditApi::new(
            &site,
            Credential::Basic { user: "a@example.com".into(), password: Secret::new("t") },
            2,
        )
    }

    #[test]
    fn pages_by_offset_until_the_total() {
        let api = api();
        let window = Window { from_ms: 1_741_097_106_789, to_ms: 1_741_100_000_000 };
        assert_eq!(
            api.page_url(window, Some(&json!({"offset": 4}))).unwrap().as_str(),
            "https://example-corp.atlassian.net/rest/api/3/auditing/record?offset=4&limit=2&from=2025-03-04T14%3A05%3A06.789Z&to=2025-03-04T14%3A53%3A20Z"
        );
        let record = include_str!("fixtures/jira_user_created.json").trim();
        let body =
            format!(r#"{{"offset":0,"limit":2,"total":3,"records":[{record},{{"summary":"no id"}}]}}"#);
        let page = api.parse_page(body.as_bytes(), None).unwrap();
        assert_eq!(page.next, Some(json!({"offset": 2})));
        assert!(
            matches!(&page.items[0], PageItem::Record(r) if r.id == "10042" && r.time_ms == 1_741_097_106_789)
        );
        assert!(matches!(&page.items[1], PageItem::Invalid { .. }));
        let body = format!(r#"{{"offset":2,"limit":2,"total":3,"records":[{record}]}}"#);
        assert_eq!(api.parse_page(body.as_bytes(), Some(&json!({"offset": 2}))).unwrap().next, None);
        let empty = api.parse_page(br#"{"offset":0,"limit":2,"total":0,"records":[]}"#, None).unwrap();
        assert_eq!(empty, Page { items: vec![], next: None });
        assert_eq!(api.stream_id(), "jira-example-corp.atlassian.net");
        // A page of another API is refused, not read as an empty page.
        assert!(api.parse_page(br#"{"results":[]}"#, None).is_err());
    }
}
