//! The organization audit log client (api-contracts.md §5): `GET {api}/admin/v1/orgs/{orgId}/
//! events-stream` (or `/events`) with `from`/`to` in epoch milliseconds, then the cursor of
//! `meta.next` (or the `links.next` URL, which the poll loop keeps on the configured host).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use url::Url;

use super::config::{OrgConfig, OrgEndpoint};
use super::mapping::{map_org_event, org_position};
use super::stream_key;
use crate::encode::ConvertError;
use crate::ocsf::OcsfEvent;
use crate::poller::{Credential, Page, PageError, PageItem, PolledRecord, Resume, StreamApi, Window};

/// One organization's audit log.
#[derive(Debug)]
pub(crate) struct OrgEventsApi {
    stream_id: String,
    api_url: Url,
    org_id: String,
    endpoint: OrgEndpoint,
    credential: Credential,
    page_size: u32,
}

impl OrgEventsApi {
    /// The client of `config`, asking for `page_size` events a page.
    pub fn new(config: &OrgConfig, page_size: u32) -> Self {
        let suffix = match config.endpoint {
            OrgEndpoint::EventsStream => String::new(),
            OrgEndpoint::Events => "-events".to_string(),
        };
        Self {
            stream_id: format!("org-{}{suffix}", stream_key(&config.org_id)),
            api_url: config.api_url.clone(),
            org_id: config.org_id.clone(),
            endpoint: config.endpoint,
            credential: Credential::Bearer(config.api_key.clone()),
            page_size,
        }
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default)]
    meta: Option<Links>,
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    next: Option<String>,
}

impl StreamApi for OrgEventsApi {
    fn stream_id(&self) -> &str {
        &self.stream_id
    }

    fn product(&self) -> &str {
        "Atlassian organization audit log"
    }

    fn credential_hint(&self) -> &str {
        "ATLASSIAN_ORG_API_KEY is invalid, expired, not an admin key of ATLASSIAN_ORG_ID, or lacks the \
         read:events:admin scope (the audit log also needs Atlassian Guard or Enterprise)"
    }

    fn origin(&self) -> &Url {
        &self.api_url
    }

    fn credential(&self) -> &Credential {
        &self.credential
    }

    fn page_size_parameter(&self) -> &'static str {
        "limit"
    }

    fn page_url(&self, window: Window, resume: Option<&Resume>) -> Result<Url, PageError> {
        if let Some(link) = resume.and_then(|r| r.get("url")).and_then(Value::as_str) {
            return self
                .api_url
                .join(link)
                .map_err(|e| PageError(format!("next link {link:?} is not a URL: {e}")));
        }
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .map_err(|()| PageError("ATLASSIAN_API_URL cannot be a base URL".to_string()))?
            .pop_if_empty()
            .extend(["admin", "v1", "orgs", &self.org_id, self.endpoint.as_str()]);
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &self.page_size.to_string());
            let cursor = resume.and_then(|r| r.get("cursor")).and_then(Value::as_str);
            // The stream keeps its range and order in the cursor; the query API is given both.
            if cursor.is_none() || self.endpoint == OrgEndpoint::Events {
                query.append_pair("from", &window.from_ms.to_string());
                query.append_pair("to", &window.to_ms.to_string());
            }
            if cursor.is_none() && self.endpoint == OrgEndpoint::EventsStream {
                query.append_pair("sortOrder", "asc");
            }
            if let Some(cursor) = cursor {
                query.append_pair("cursor", cursor);
            }
        }
        Ok(url)
    }

    fn parse_page(&self, body: &[u8], _resume: Option<&Resume>) -> Result<Page, PageError> {
        let envelope: Envelope<'_> = serde_json::from_slice(body)
            .map_err(|e| PageError(format!("page is not an events page ({{\"data\":[...]}}): {e}")))?;
        let mut items = Vec::with_capacity(envelope.data.len());
        for raw in envelope.data {
            let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            let item = match org_position(&value) {
                (Some(id), Some(time_ms)) => PageItem::Record(PolledRecord {
                    id: id.to_string(),
                    time_ms,
                    json: raw.get().to_string(),
                }),
                (None, _) => {
                    PageItem::Invalid { raw: raw.get().to_string(), reason: "event has no id".to_string() }
                }
                (Some(id), None) => PageItem::Invalid {
                    raw: raw.get().to_string(),
                    reason: format!("event {id} has no readable attributes.time"),
                },
            };
            items.push(item);
        }
        let text = |links: Option<Links>| links.and_then(|l| l.next).filter(|n| !n.is_empty());
        // `/events-stream` hands out a cursor even on its last page ("for seamless polling"), so
        // a page with no events ends the window: following that cursor would page through empty
        // pages until the deadline. The next run starts a fresh window from the watermark (less
        // the overlap), which the stream reads from the same point; the cursor, which keeps the
        // old window's range, is not needed for that.
        if items.is_empty() {
            return Ok(Page { items, next: None });
        }
        let next = match (text(envelope.meta), text(envelope.links)) {
            (Some(cursor), _) => Some(json!({ "cursor": cursor })),
            (None, Some(link)) => Some(json!({ "url": link })),
            (None, None) => None,
        };
        Ok(Page { items, next })
    }

    fn map(&self, record: &PolledRecord, include_raw: bool) -> Result<OcsfEvent, ConvertError> {
        map_org_event(&record.json, &self.org_id, include_raw).map_err(ConvertError::record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn api(endpoint: OrgEndpoint) -> OrgEventsApi {
        let config = OrgConfig {
            api_url: Url::parse("https://api.atlassian.com").unwrap(),
            org_id: "0f0f-org".into(),
            api_key: Secret::new("k"),
            endpoint,
            requests_per_minute: 10,
        };
        OrgEventsApi::new(&config, 100)
    }

    #[test]
    fn page_urls_follow_the_endpoint_and_the_cursor() {
        let window = Window { from_ms: 1_000, to_ms: 2_000 };
        let stream = api(OrgEndpoint::EventsStream);
        let events = api(OrgEndpoint::Events);
        let cursor = json!({"cursor": "c/2+="});
        let link = json!({"url": "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events?cursor=n"});
        let cases = [
            (&stream, None, "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events-stream?limit=100&from=1000&to=2000&sortOrder=asc"),
            (&stream, Some(&cursor), "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events-stream?limit=100&cursor=c%2F2%2B%3D"),
            (&events, None, "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events?limit=100&from=1000&to=2000"),
            (&events, Some(&cursor), "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events?limit=100&from=1000&to=2000&cursor=c%2F2%2B%3D"),
            (&events, Some(&link), "https://api.atlassian.com/admin/v1/orgs/0f0f-org/events?cursor=n"),
        ];
        for (api, resume, expected) in cases {
            assert_eq!(api.page_url(window, resume).unwrap().as_str(), expected);
        }
        assert_eq!(stream.stream_id(), "org-0f0f-org");
        assert_eq!(events.stream_id(), "org-0f0f-org-events");
    }

    #[test]
    fn pages_yield_records_invalid_entries_and_the_next_position() {
        let api = api(OrgEndpoint::EventsStream);
        let body = format!(
            r#"{{"data":[{},{{"type":"events","attributes":{{"time":"2025-03-04T08:15:30Z"}}}},{{"id":"e9","attributes":{{}}}}],"meta":{{"next":"cur-2","page_size":3}},"links":{{"next":"https://api.atlassian.com/x?cursor=cur-2"}}}}"#,
            include_str!("fixtures/org_user_login.json").trim()
        );
        let page = api.parse_page(body.as_bytes(), None).unwrap();
        assert_eq!(page.next, Some(json!({"cursor": "cur-2"})));
        assert_eq!(page.items.len(), 3);
        match &page.items[0] {
            // processedAt, not time: the stream pages by processing time.
            PageItem::Record(r) => assert_eq!(
                (r.id.as_str(), r.time_ms),
                ("b7e1c2d0-1111-4a00-8000-00000000a001", 1_741_076_131_000)
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&page.items[1], PageItem::Invalid { reason, .. } if reason == "event has no id"));
        assert!(matches!(&page.items[2], PageItem::Invalid { reason, .. } if reason.contains("e9")));

        let links_only = api
            .parse_page(
                format!(
                    r#"{{"data":[{}],"links":{{"next":"https://evil.example/next"}}}}"#,
                    include_str!("fixtures/org_user_login.json").trim()
                )
                .as_bytes(),
                None,
            )
            .unwrap();
        assert_eq!(links_only.next, Some(json!({"url": "https://evil.example/next"})));
        let last = api
            .parse_page(br#"{"data":[],"meta":{"next":null,"page_size":25,"total":0},"links":{}}"#, None)
            .unwrap();
        assert_eq!(last, Page { items: vec![], next: None });
        assert!(api.parse_page(b"<html>", None).is_err());
        assert!(api.parse_page(br#"{"records":[]}"#, None).is_err());
    }

    #[test]
    fn a_page_without_events_ends_the_window_even_with_a_cursor() {
        for endpoint in [OrgEndpoint::EventsStream, OrgEndpoint::Events] {
            let api = api(endpoint);
            // Atlassian's terminal page as Elastic's mock of the API serves it.
            let last = api.parse_page(include_bytes!("fixtures/published/org_page_last.json"), None).unwrap();
            assert_eq!(last, Page { items: vec![], next: None });
            // The stream's "seamless polling" cursor on an empty page is not followed.
            let empty = br#"{"data":[],"meta":{"next":"cur-9","page_size":25},"links":{"next":"https://api.atlassian.com/admin/v1/orgs/0f0f-org/events-stream?cursor=cur-9"}}"#;
            let resume = json!({"cursor": "cur-8"});
            assert_eq!(api.parse_page(empty, Some(&resume)).unwrap(), Page { items: vec![], next: None });
        }
        // A published page with events goes on to its cursor.
        let api = api(OrgEndpoint::EventsStream);
        let page =
            api.parse_page(include_bytes!("fixtures/published/org_page_events_stream.json"), None).unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, Some(json!({"cursor": "cursor-page-3"})));
    }
}
