//! The Confluence audit client (api-contracts.md §6.2): `GET {site}/wiki/rest/api/audit` with
//! `startDate`/`endDate` (epoch ms) and `start`/`limit`, basic auth with the e-mail and API token.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use url::Url;

use super::mapping::{confluence_position, map_confluence_record};
use super::{site_host, stream_key};
use crate::encode::ConvertError;
use crate::ocsf::OcsfEvent;
use crate::poller::{Credential, Page, PageError, PageItem, PolledRecord, Resume, StreamApi, Window};

/// One site's Confluence audit records.
#[derive(Debug)]
pub(crate) struct ConfluenceAuditApi {
    stream_id: String,
    site: Url,
    host: String,
    credential: Credential,
    page_size: u32,
}

impl ConfluenceAuditApi {
    /// The client of `site`.
    pub fn new(site: &Url, credential: Credential, page_size: u32) -> Self {
        let host = site_host(site);
        Self {
            stream_id: format!("confluence-{}", stream_key(&host)),
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
    results: Vec<&'a RawValue>,
    #[serde(default, rename = "_links")]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

/// The start a page was asked from.
fn start(resume: Option<&Resume>) -> u64 {
    resume.and_then(|r| r.get("start")).and_then(Value::as_u64).unwrap_or(0)
}

impl StreamApi for ConfluenceAuditApi {
    fn stream_id(&self) -> &str {
        &self.stream_id
    }

    fn product(&self) -> &str {
        "Confluence audit records"
    }

    fn credential_hint(&self) -> &str {
        "ATLASSIAN_USER_EMAIL / ATLASSIAN_API_TOKEN are invalid or expired, or the account is not a \
         Confluence administrator"
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
            .extend(["wiki", "rest", "api", "audit"]);
        url.query_pairs_mut()
            .append_pair("startDate", &window.from_ms.to_string())
            .append_pair("endDate", &window.to_ms.to_string())
            .append_pair("start", &start(resume).to_string())
            .append_pair("limit", &self.page_size.to_string());
        Ok(url)
    }

    fn parse_page(&self, body: &[u8], resume: Option<&Resume>) -> Result<Page, PageError> {
        let envelope: Envelope<'_> = serde_json::from_slice(body)
            .map_err(|e| PageError(format!("page is not an audit page ({{\"results\":[...]}}): {e}")))?;
        let count = envelope.results.len() as u64;
        let items = envelope
            .results
            .into_iter()
            .map(|raw| {
                let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                match confluence_position(&value, &self.host) {
                    (id, Some(time_ms)) => {
                        PageItem::Record(PolledRecord { id, time_ms, json: raw.get().to_string() })
                    }
                    (_, None) => PageItem::Invalid {
                        raw: raw.get().to_string(),
                        reason: "record has no creationDate".to_string(),
                    },
                }
            })
            .collect();
        let linked = envelope.links.and_then(|l| l.next).is_some_and(|n| !n.is_empty());
        let more = count > 0 && (linked || count >= u64::from(self.page_size));
        Ok(Page { items, next: more.then(|| json!({ "start": start(resume) + count })) })
    }

    fn map(&self, record: &PolledRecord, include_raw: bool) -> Result<OcsfEvent, ConvertError> {
        map_confluence_record(&record.json, &self.host, include_raw).map_err(ConvertError::record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn pages_by_start_while_a_next_link_or_a_full_page_says_there_is_more() {
        let site = Url::parse("http://127.0.0.1:8080/").unwrap();
        let api = ConfluenceAuditApi::new(
            &site,
            Credential::Basic { user: "a@example.com".into(), password: Secret::new("t") },
            50,
        );
        assert_eq!(api.stream_id(), "confluence-127.0.0.1-8080");
        assert_eq!(
            api.page_url(Window { from_ms: 5, to_ms: 9 }, Some(&json!({"start": 50}))).unwrap().as_str(),
            "http://127.0.0.1:8080/wiki/rest/api/audit?startDate=5&endDate=9&start=50&limit=50"
        );
        let record = include_str!("fixtures/confluence_space_created.json").trim();
        let linked = format!(
            r#"{{"results":[{record}],"start":50,"limit":50,"size":1,"_links":{{"next":"/rest/api/audit?start=51"}}}}"#
        );
        let page = api.parse_page(linked.as_bytes(), Some(&json!({"start": 50}))).unwrap();
        assert_eq!(page.next, Some(json!({"start": 51})));
        assert!(
            matches!(&page.items[0], PageItem::Record(r) if r.time_ms == 1_741_097_500_000 && r.id.len() == 32)
        );
        let last = format!(r#"{{"results":[{record}],"start":0,"limit":50,"size":1,"_links":{{}}}}"#);
        assert_eq!(api.parse_page(last.as_bytes(), None).unwrap().next, None);
        assert!(api.parse_page(br#"{"records":[]}"#, None).is_err());
    }
}
