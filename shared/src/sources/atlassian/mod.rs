//! Atlassian Cloud audit logs on a schedule (api-contracts.md §5 organization audit log, §6 Jira
//! and Confluence audit records): the three API clients of the shared poll loop
//! ([`crate::poller`]), their record mapping to OCSF, and the `atlassian-audit` start-up
//! (its handler is [`crate::scheduled`]).

pub mod classify;
pub mod config;
pub mod confluence;
pub mod handler;
pub mod jira;
pub mod mapping;
pub mod org;

use std::sync::Arc;

use url::Url;

use self::config::{AtlassianConfig, OrgConfig, OrgEndpoint, DEFAULT_API_URL};
use self::confluence::ConfluenceAuditApi;
use self::jira::JiraAuditApi;
use self::org::OrgEventsApi;
use crate::poller::{Credential, Pacer, Stream, StreamApi};
use crate::secret::Secret;

/// The streams `config` asks for: the organization log, then Jira and Confluence of each site.
/// Each stream has its own pacer (the limits are per API path and per site).
pub fn streams(config: &AtlassianConfig) -> Vec<Stream> {
    let mut streams = Vec::new();
    if let Some(org) = &config.org {
        streams.push(Stream {
            api: Arc::new(OrgEventsApi::new(org, config.page_size)),
            pacer: Arc::new(Pacer::per_minute(org.requests_per_minute)),
        });
    }
    if let Some(sites) = &config.sites {
        let credential = Credential::Basic { user: sites.email.clone(), password: sites.api_token.clone() };
        for site in &sites.sites {
            if sites.jira {
                streams.push(Stream {
                    api: Arc::new(JiraAuditApi::new(site, credential.clone(), config.page_size)),
                    pacer: Arc::new(Pacer::per_minute(sites.requests_per_minute)),
                });
            }
            if sites.confluence {
                streams.push(Stream {
                    api: Arc::new(ConfluenceAuditApi::new(site, credential.clone(), config.page_size)),
                    pacer: Arc::new(Pacer::per_minute(sites.requests_per_minute)),
                });
            }
        }
    }
    streams
}

/// Which Atlassian API saved pages come from (`audit-relay normalize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedPages {
    /// Organization audit log `/events` or `/events-stream` pages (`{"data":[...]}`).
    Org,
    /// Jira `GET /rest/api/3/auditing/record` pages (`{"records":[...]}`).
    Jira,
    /// Confluence `GET /wiki/rest/api/audit` pages (`{"results":[...]}`).
    Confluence,
}

/// The client that reads saved pages of `kind` (its `parse_page` and `map`), for files: it sends
/// no request and holds no credential. `tenant` is the organization id or the site host the pages
/// came from (`metadata.tenant_uid`; Confluence record ids hash it), when known. Fails when a
/// site host does not make a URL.
pub fn offline_api(kind: SavedPages, tenant: Option<&str>) -> Result<Arc<dyn StreamApi>, url::ParseError> {
    let tenant = tenant.unwrap_or_default();
    let site = || match tenant {
        "" => Url::parse(DEFAULT_API_URL),
        host => Url::parse(&format!("https://{host}")),
    };
    Ok(match kind {
        SavedPages::Org => {
            let config = OrgConfig {
                api_url: Url::parse(DEFAULT_API_URL)?,
                org_id: tenant.to_string(),
                api_key: Secret::new(""),
                endpoint: OrgEndpoint::EventsStream,
                requests_per_minute: 1,
            };
            Arc::new(OrgEventsApi::new(&config, 1))
        }
        SavedPages::Jira => Arc::new(JiraAuditApi::offline(&site()?, tenant)),
        SavedPages::Confluence => Arc::new(ConfluenceAuditApi::offline(&site()?, tenant)),
    })
}

/// A site's host, with its port when it is not the scheme's default (`example.atlassian.net`).
fn site_host(site: &Url) -> String {
    let host = site.host_str().unwrap_or_default().to_ascii_lowercase();
    match site.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// A name safe in an S3 key and a file name: letters, digits, `.`, `_`, `-`; others become `-`.
fn stream_key(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvReader;

    #[tokio::test]
    async fn every_configured_product_and_site_is_a_stream() {
        let env = EnvReader::from_map(
            [
                ("ATLASSIAN_ORG_ID", "org/1"),
                ("ATLASSIAN_ORG_API_KEY", "k"),
                ("ATLASSIAN_SITES", "https://a.atlassian.net,http://127.0.0.1:9000"),
                ("ATLASSIAN_USER_EMAIL", "audit@example.com"),
                ("ATLASSIAN_API_TOKEN", "t"),
            ],
            None,
        );
        let config = AtlassianConfig::load(&env).await.unwrap();
        let ids: Vec<String> = streams(&config).iter().map(|s| s.api.stream_id().to_string()).collect();
        assert_eq!(
            ids,
            [
                "org-org-1",
                "jira-a.atlassian.net",
                "confluence-a.atlassian.net",
                "jira-127.0.0.1-9000",
                "confluence-127.0.0.1-9000"
            ]
        );
    }
}
