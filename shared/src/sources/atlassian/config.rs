//! The `atlassian-audit` settings: which streams to poll and their credentials (api-contracts.md
//! §5.1 for the organization API, §6 for Jira and Confluence).

use url::Url;

use crate::env::{check_endpoint_url, ConfigError, EnvReader};
use crate::secret::Secret;

/// `ATLASSIAN_API_URL`: the organization API's base URL.
pub const ATLASSIAN_API_URL: &str = "ATLASSIAN_API_URL";
/// `ATLASSIAN_ORG_ID`: the organization id.
pub const ATLASSIAN_ORG_ID: &str = "ATLASSIAN_ORG_ID";
/// `ATLASSIAN_ORG_API_KEY`: the organization API key (credential).
pub const ATLASSIAN_ORG_API_KEY: &str = "ATLASSIAN_ORG_API_KEY";
/// `ATLASSIAN_ORG_ENDPOINT`: `events-stream` or `events`.
pub(crate) const ATLASSIAN_ORG_ENDPOINT: &str = "ATLASSIAN_ORG_ENDPOINT";
/// `ATLASSIAN_SITES`: comma-separated site base URLs.
pub const ATLASSIAN_SITES: &str = "ATLASSIAN_SITES";
/// `ATLASSIAN_USER_EMAIL`: the account the API token belongs to.
pub const ATLASSIAN_USER_EMAIL: &str = "ATLASSIAN_USER_EMAIL";
/// `ATLASSIAN_API_TOKEN`: the Jira/Confluence API token (credential).
pub const ATLASSIAN_API_TOKEN: &str = "ATLASSIAN_API_TOKEN";
/// `ATLASSIAN_PRODUCTS`: which of `org,jira,confluence` to poll.
pub const ATLASSIAN_PRODUCTS: &str = "ATLASSIAN_PRODUCTS";
/// `ATLASSIAN_PAGE_SIZE`: records asked for per page.
pub const ATLASSIAN_PAGE_SIZE: &str = "ATLASSIAN_PAGE_SIZE";
/// `ATLASSIAN_ORG_REQUESTS_PER_MINUTE`: pace of organization API requests.
pub const ATLASSIAN_ORG_REQUESTS_PER_MINUTE: &str = "ATLASSIAN_ORG_REQUESTS_PER_MINUTE";
/// `ATLASSIAN_SITE_REQUESTS_PER_MINUTE`: pace of requests to each site.
pub const ATLASSIAN_SITE_REQUESTS_PER_MINUTE: &str = "ATLASSIAN_SITE_REQUESTS_PER_MINUTE";

/// The default organization API.
pub(crate) const DEFAULT_API_URL: &str = "https://api.atlassian.com";

/// Which organization endpoint to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgEndpoint {
    /// `/events-stream` (default): the polling API, sorted by processing time.
    EventsStream,
    /// `/events`: the query API, limited to 10 requests a minute.
    Events,
}

impl OrgEndpoint {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventsStream => "events-stream",
            Self::Events => "events",
        }
    }

    /// The default pace: `/events` is documented at 10 requests a minute; for `/events-stream`
    /// no figure is published, and 50 a minute matches the rate of the public Elastic client.
    pub fn default_requests_per_minute(self) -> u32 {
        match self {
            Self::EventsStream => 50,
            Self::Events => 10,
        }
    }
}

impl std::str::FromStr for OrgEndpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "events-stream" | "events_stream" => Ok(Self::EventsStream),
            "events" => Ok(Self::Events),
            _ => Err("expected events-stream or events".to_string()),
        }
    }
}

/// The organization audit log stream.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// `ATLASSIAN_API_URL` (default `https://api.atlassian.com`; https unless loopback).
    pub api_url: Url,
    /// `ATLASSIAN_ORG_ID`.
    pub org_id: String,
    /// `ATLASSIAN_ORG_API_KEY` (or `..._SECRET_ARN`): sent as `Authorization: Bearer`.
    pub api_key: Secret,
    /// `ATLASSIAN_ORG_ENDPOINT` (default `events-stream`).
    pub endpoint: OrgEndpoint,
    /// `ATLASSIAN_ORG_REQUESTS_PER_MINUTE` (default 10 for `events`, 50 for `events-stream`).
    pub requests_per_minute: u32,
}

/// The Jira and Confluence streams of every site.
#[derive(Debug, Clone)]
pub struct SitesConfig {
    /// `ATLASSIAN_SITES`: base URLs such as `https://example.atlassian.net`.
    pub sites: Vec<Url>,
    /// `ATLASSIAN_USER_EMAIL`.
    pub email: String,
    /// `ATLASSIAN_API_TOKEN` (or `..._SECRET_ARN`): basic auth with the e-mail.
    pub api_token: Secret,
    /// Poll Jira audit records.
    pub jira: bool,
    /// Poll Confluence audit records.
    pub confluence: bool,
    /// `ATLASSIAN_SITE_REQUESTS_PER_MINUTE` (default 60 per site and product).
    pub requests_per_minute: u32,
}

/// The `atlassian-audit` settings.
#[derive(Debug, Clone)]
pub struct AtlassianConfig {
    /// The organization stream, when `org` is polled.
    pub org: Option<OrgConfig>,
    /// The site streams, when `jira` or `confluence` is polled.
    pub sites: Option<SitesConfig>,
    /// `ATLASSIAN_PAGE_SIZE` (default 100; 1 to 1000).
    pub page_size: u32,
}

impl AtlassianConfig {
    /// Reads the settings (credentials through Secrets Manager when given as `..._SECRET_ARN`).
    pub async fn load(env: &EnvReader) -> Result<Self, ConfigError> {
        let api_key = env.credential(ATLASSIAN_ORG_API_KEY).await?;
        let api_token = env.credential(ATLASSIAN_API_TOKEN).await?;
        let org_id = env.string(ATLASSIAN_ORG_ID);
        let email = env.string(ATLASSIAN_USER_EMAIL);
        let sites_text = env.string(ATLASSIAN_SITES);
        let (org, jira, confluence) = match env.string(ATLASSIAN_PRODUCTS) {
            Some(list) => {
                let mut chosen = (false, false, false);
                for product in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match product.to_ascii_lowercase().as_str() {
                        "org" | "organization" => chosen.0 = true,
                        "jira" => chosen.1 = true,
                        "confluence" => chosen.2 = true,
                        _ => {
                            return Err(ConfigError::Invalid {
                                variable: ATLASSIAN_PRODUCTS.to_string(),
                                value: list.clone(),
                                reason: "expected a comma-separated list of org, jira, confluence"
                                    .to_string(),
                            })
                        }
                    }
                }
                chosen
            }
            None => {
                let org = api_key.is_some() || org_id.is_some();
                let sites = api_token.is_some() || sites_text.is_some();
                (org, sites, sites)
            }
        };
        if !org && !jira && !confluence {
            return Err(ConfigError::missing(
                ATLASSIAN_PRODUCTS,
                &format!(
                    "(or {ATLASSIAN_ORG_ID} + {ATLASSIAN_ORG_API_KEY}, or {ATLASSIAN_SITES} + \
                     {ATLASSIAN_USER_EMAIL} + {ATLASSIAN_API_TOKEN}): no stream to poll"
                ),
            ));
        }
        let org = if org {
            let endpoint = env.parse_or(ATLASSIAN_ORG_ENDPOINT, OrgEndpoint::EventsStream)?;
            Some(OrgConfig {
                api_url: env.endpoint_url(ATLASSIAN_API_URL)?.map_or_else(default_api_url, Ok)?,
                org_id: org_id.ok_or_else(|| {
                    ConfigError::missing(ATLASSIAN_ORG_ID, "to poll the organization audit log")
                })?,
                api_key: api_key.ok_or_else(|| {
                    ConfigError::missing(
                        ATLASSIAN_ORG_API_KEY,
                        "(or its _SECRET_ARN) to poll the organization audit log",
                    )
                })?,
                endpoint,
                requests_per_minute: per_minute(
                    env,
                    ATLASSIAN_ORG_REQUESTS_PER_MINUTE,
                    endpoint.default_requests_per_minute(),
                )?,
            })
        } else {
            None
        };
        let sites = if jira || confluence {
            let text = sites_text
                .ok_or_else(|| ConfigError::missing(ATLASSIAN_SITES, "to poll Jira or Confluence"))?;
            let mut sites = Vec::new();
            for raw in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let url = check_endpoint_url(raw).map_err(|reason| ConfigError::Invalid {
                    variable: ATLASSIAN_SITES.to_string(),
                    value: raw.to_string(),
                    reason,
                })?;
                if url.query().is_some() || url.host_str().is_none() {
                    return Err(ConfigError::Invalid {
                        variable: ATLASSIAN_SITES.to_string(),
                        value: raw.to_string(),
                        reason: "expected a site base URL such as https://example.atlassian.net".to_string(),
                    });
                }
                sites.push(url);
            }
            Some(SitesConfig {
                sites,
                email: email.ok_or_else(|| {
                    ConfigError::missing(ATLASSIAN_USER_EMAIL, "to poll Jira or Confluence")
                })?,
                api_token: api_token.ok_or_else(|| {
                    ConfigError::missing(
                        ATLASSIAN_API_TOKEN,
                        "(or its _SECRET_ARN) to poll Jira or Confluence",
                    )
                })?,
                jira,
                confluence,
                requests_per_minute: per_minute(env, ATLASSIAN_SITE_REQUESTS_PER_MINUTE, 60)?,
            })
        } else {
            None
        };
        let page_size: u32 = env.parse_or(ATLASSIAN_PAGE_SIZE, 100)?;
        if !(1..=1000).contains(&page_size) {
            return Err(ConfigError::Invalid {
                variable: ATLASSIAN_PAGE_SIZE.to_string(),
                value: page_size.to_string(),
                reason: "must be between 1 and 1000".to_string(),
            });
        }
        Ok(Self { org, sites, page_size })
    }
}

fn default_api_url() -> Result<Url, ConfigError> {
    Url::parse(DEFAULT_API_URL).map_err(|e| ConfigError::Invalid {
        variable: ATLASSIAN_API_URL.to_string(),
        value: DEFAULT_API_URL.to_string(),
        reason: e.to_string(),
    })
}

fn per_minute(env: &EnvReader, variable: &str, default: u32) -> Result<u32, ConfigError> {
    Ok(env.positive(variable)?.unwrap_or(default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvReader {
        EnvReader::from_map(vars.iter().copied(), None)
    }

    const ORG: &[(&str, &str)] = &[("ATLASSIAN_ORG_ID", "org-1"), ("ATLASSIAN_ORG_API_KEY", "key-1")];
    const SITES: &[(&str, &str)] = &[
        ("ATLASSIAN_SITES", "https://a.atlassian.net, https://b.atlassian.net/"),
        ("ATLASSIAN_USER_EMAIL", "audit@example.com"),
        ("ATLASSIAN_API_TOKEN", "tok-1"),
    ];

    #[tokio::test]
    async fn products_default_to_the_configured_credentials() {
        let org_only = AtlassianConfig::load(&env(ORG)).await.unwrap();
        let org = org_only.org.unwrap();
        assert_eq!(org.api_url.as_str(), "https://api.atlassian.com/");
        assert_eq!(org.endpoint, OrgEndpoint::EventsStream);
        assert_eq!(org.requests_per_minute, 50);
        assert!(org_only.sites.is_none());
        assert_eq!(org_only.page_size, 100);

        let sites_only = AtlassianConfig::load(&env(SITES)).await.unwrap();
        let sites = sites_only.sites.unwrap();
        assert!(sites_only.org.is_none());
        assert!(sites.jira && sites.confluence);
        assert_eq!(sites.sites.len(), 2);
        assert_eq!(sites.api_token.expose(), "tok-1");

        let mut both: Vec<(&str, &str)> = [ORG, SITES].concat();
        both.extend([("ATLASSIAN_PRODUCTS", "org, jira"), ("ATLASSIAN_ORG_ENDPOINT", "events")]);
        let chosen = AtlassianConfig::load(&env(&both)).await.unwrap();
        assert_eq!(chosen.org.as_ref().map(|o| o.requests_per_minute), Some(10));
        assert_eq!(chosen.sites.as_ref().map(|s| (s.jira, s.confluence)), Some((true, false)));
    }

    #[tokio::test]
    async fn errors_name_the_variable() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "ATLASSIAN_PRODUCTS"),
            (vec![("ATLASSIAN_ORG_ID", "o")], "ATLASSIAN_ORG_API_KEY"),
            (vec![("ATLASSIAN_ORG_API_KEY", "k")], "ATLASSIAN_ORG_ID"),
            (vec![("ATLASSIAN_PRODUCTS", "bitbucket")], "ATLASSIAN_PRODUCTS"),
            (
                vec![
                    ("ATLASSIAN_PRODUCTS", "jira"),
                    ("ATLASSIAN_USER_EMAIL", "a@b.c"),
                    ("ATLASSIAN_API_TOKEN", "t"),
                ],
                "ATLASSIAN_SITES",
            ),
            (
                vec![
                    ("ATLASSIAN_SITES", "http://jira.example.com"),
                    ("ATLASSIAN_USER_EMAIL", "a@b.c"),
                    ("ATLASSIAN_API_TOKEN", "t"),
                ],
                "ATLASSIAN_SITES",
            ),
            (
                vec![("ATLASSIAN_SITES", "https://a.atlassian.net"), ("ATLASSIAN_API_TOKEN", "t")],
                "ATLASSIAN_USER_EMAIL",
            ),
            ([ORG, &[("ATLASSIAN_ORG_ENDPOINT", "audit")]].concat(), "ATLASSIAN_ORG_ENDPOINT"),
            ([ORG, &[("ATLASSIAN_API_URL", "http://api.example.com")]].concat(), "ATLASSIAN_API_URL"),
            ([ORG, &[("ATLASSIAN_PAGE_SIZE", "5000")]].concat(), "ATLASSIAN_PAGE_SIZE"),
            (
                [ORG, &[("ATLASSIAN_ORG_REQUESTS_PER_MINUTE", "0")]].concat(),
                "ATLASSIAN_ORG_REQUESTS_PER_MINUTE",
            ),
        ];
        for (vars, variable) in cases {
            let error = AtlassianConfig::load(&env(&vars)).await.unwrap_err().to_string();
            assert!(error.starts_with(variable), "{vars:?}: {error}");
        }
    }
}
