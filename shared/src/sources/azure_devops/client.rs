//! The Azure DevOps audit log client of the shared poll loop (api-contracts.md §7.1):
//! `GET {AZDO_AUDIT_URL}/{organization}/_apis/audit/auditlog?startTime=&endTime=&batchSize=
//! &continuationToken=&skipAggregation=true&api-version=7.1-preview.1`, times in ISO 8601 UTC,
//! then the page's `continuationToken` while `hasMore`. Pages are `AuditLogQueryResult`, at the
//! top level or wrapped in `value` ([`AuditLogPage::parse`]). No I/O here.

use serde_json::{json, Value};
use url::Url;

use super::config::{AzureDevOpsAuth, AzureDevOpsConfig};
use super::mapping::{map_entry, MapOptions};
use super::record::{AuditEntry, AuditLogPage, Shape};
use super::udm::to_udm;
use crate::encode::ConvertError;
use crate::ocsf::OcsfEvent;
use crate::poller::{Credential, Page, PageError, PageItem, PolledRecord, Resume, StreamApi, Window};
use crate::timestamp::format_rfc3339_ms;

/// `api-version` of every request.
pub(crate) const API_VERSION: &str = "7.1-preview.1";
/// The resume token's member: `{"continuationToken": "<token>"}`.
const TOKEN: &str = "continuationToken";

/// One organization's audit log.
#[derive(Debug)]
pub(crate) struct AuditLogApi {
    organization: String,
    audit_url: Url,
    credential: Credential,
    hint: String,
    batch_size: u32,
}

impl AuditLogApi {
    /// The client of `organization` (a name from [`AzureDevOpsConfig::organizations`]: already
    /// checked to be letters, digits and hyphens).
    pub fn new(config: &AzureDevOpsConfig, organization: &str) -> Self {
        let (credential, hint) = match &config.auth {
            AzureDevOpsAuth::Pat(pat) => (
                Credential::Basic { user: String::new(), password: pat.clone() },
                format!(
                    "AZDO_PAT is invalid, PAT expired, is a global PAT (retired on 2026-12-01: create \
                     one for the organization), lacks vso.auditlog (Auditing: Read audit log), was \
                     created for another organization than {organization}, or its user lacks the \
                     View audit log permission"
                ),
            ),
            AzureDevOpsAuth::Entra(source) => (
                Credential::Entra(source.clone()),
                format!(
                    "Azure DevOps refused the Entra ID token of client {} (tenant {}): add the app's \
                     service principal to {organization} (Organization settings > Users) and give it \
                     the View audit log permission (Organization settings > Permissions), or allow \
                     the tenant's users in {organization}",
                    source.config().client_id,
                    source.config().tenant_id,
                ),
            ),
        };
        Self {
            organization: organization.to_string(),
            audit_url: config.audit_url.clone(),
            credential,
            hint,
            batch_size: config.batch_size,
        }
    }

    /// The record of one page entry, or why it cannot be one.
    fn item(value: Value) -> PageItem {
        let raw = value.to_string();
        let entry = match AuditEntry::from_value(value) {
            Ok(entry) => entry,
            Err(e) => return PageItem::Invalid { raw, reason: e.to_string() },
        };
        let time_ms = entry.time_ms();
        match (entry.id, time_ms) {
            (Some(id), Some(time_ms)) => PageItem::Record(PolledRecord { id, time_ms, json: raw }),
            (None, _) => PageItem::Invalid { raw, reason: "audit entry has no id".to_string() },
            (Some(id), None) => {
                PageItem::Invalid { raw, reason: format!("audit entry {id} has no RFC 3339 timestamp") }
            }
        }
    }
}

impl StreamApi for AuditLogApi {
    fn stream_id(&self) -> &str {
        &self.organization
    }

    fn product(&self) -> &str {
        "Azure DevOps audit log"
    }

    fn credential_hint(&self) -> &str {
        &self.hint
    }

    fn origin(&self) -> &Url {
        &self.audit_url
    }

    fn credential(&self) -> &Credential {
        &self.credential
    }

    fn page_size_parameter(&self) -> &'static str {
        "batchSize"
    }

    fn page_url(&self, window: Window, resume: Option<&Resume>) -> Result<Url, PageError> {
        let mut url = self.audit_url.clone();
        url.path_segments_mut()
            .map_err(|()| PageError("AZDO_AUDIT_URL cannot be a base URL".to_string()))?
            .pop_if_empty()
            .extend([self.organization.as_str(), "_apis", "audit", "auditlog"]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("startTime", &format_rfc3339_ms(window.from_ms))
                .append_pair("endTime", &format_rfc3339_ms(window.to_ms))
                .append_pair("batchSize", &self.batch_size.to_string());
            if let Some(token) = resume.and_then(|r| r.get(TOKEN)).and_then(Value::as_str) {
                query.append_pair("continuationToken", token);
            }
            query.append_pair("skipAggregation", "true").append_pair("api-version", API_VERSION);
        }
        Ok(url)
    }

    fn parse_page(&self, body: &[u8], _resume: Option<&Resume>) -> Result<Page, PageError> {
        let page = AuditLogPage::parse(body).map_err(|e| {
            if body.trim_ascii_start().starts_with(b"<") {
                // Azure DevOps answers some refused credentials with a sign-in page and 203.
                PageError(format!(
                    "the audit service answered an HTML page, not JSON: the credential was probably \
                     refused ({})",
                    self.hint
                ))
            } else {
                PageError(e.to_string())
            }
        })?;
        let next = match (page.has_more, page.continuation_token) {
            (true, Some(token)) => Some(json!({ TOKEN: token })),
            (true, None) => {
                return Err(PageError("the page says hasMore but carries no continuationToken".to_string()))
            }
            // The last page may still carry a token (the spec's example does): it is not followed.
            (false, _) => None,
        };
        Ok(Page { items: page.entries.into_iter().map(Self::item).collect(), next })
    }

    fn map(&self, record: &PolledRecord, include_raw: bool) -> Result<OcsfEvent, ConvertError> {
        let entry = AuditEntry::parse(&record.json).map_err(ConvertError::record)?;
        let raw = include_raw.then_some(record.json.as_str());
        map_entry(&entry, raw, &MapOptions { include_raw }).map_err(ConvertError::record)
    }

    fn udm(&self, record: &PolledRecord) -> Result<Value, ConvertError> {
        let entry = AuditEntry::parse(&record.json).map_err(ConvertError::record)?;
        Ok(to_udm(&entry, Shape::Entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvReader;
    use crate::sources::azure_devops::fixtures;

    async fn api(vars: &[(&str, &str)]) -> AuditLogApi {
        let mut all = vec![("AZDO_ORGANIZATIONS", "fabrikam")];
        all.extend_from_slice(vars);
        let config = AzureDevOpsConfig::load(&EnvReader::from_map(all, None)).await.unwrap();
        AuditLogApi::new(&config, "fabrikam")
    }

    #[tokio::test]
    async fn page_urls_carry_the_window_batch_and_token() {
        let api = api(&[("AZDO_PAT", "pat-1"), ("AZDO_BATCH_SIZE", "50")]).await;
        let window = Window { from_ms: 1_551_708_359_928, to_ms: 1_551_794_759_928 };
        let first = "https://auditservice.dev.azure.com/fabrikam/_apis/audit/auditlog?\
                     startTime=2019-03-04T14%3A05%3A59.928Z&endTime=2019-03-05T14%3A05%3A59.928Z&batchSize=50\
                     &skipAggregation=true&api-version=7.1-preview.1";
        assert_eq!(api.page_url(window, None).unwrap().as_str(), first);
        let token =
            json!({"continuationToken": "2518505063644965580;00000002-0000-8888-8000-000000000000;198b"});
        assert_eq!(
            api.page_url(window, Some(&token)).unwrap().as_str(),
            "https://auditservice.dev.azure.com/fabrikam/_apis/audit/auditlog?\
             startTime=2019-03-04T14%3A05%3A59.928Z&endTime=2019-03-05T14%3A05%3A59.928Z&batchSize=50\
             &continuationToken=2518505063644965580%3B00000002-0000-8888-8000-000000000000%3B198b\
             &skipAggregation=true&api-version=7.1-preview.1"
        );
        let proxied = api_with_url("http://127.0.0.1:9000/audit/").await;
        assert!(proxied
            .page_url(window, None)
            .unwrap()
            .as_str()
            .starts_with("http://127.0.0.1:9000/audit/fabrikam/_apis/audit/auditlog?"));
    }

    async fn api_with_url(url: &str) -> AuditLogApi {
        api(&[("AZDO_PAT", "p"), ("AZDO_AUDIT_URL", url)]).await
    }

    #[tokio::test]
    async fn credentials_are_basic_with_an_empty_user_or_bearer_and_hints_name_the_variable() {
        let pat = api(&[("AZDO_PAT", "pat-1")]).await;
        // base64(":pat-1")
        assert_eq!(pat.credential().header_value().as_deref(), Some("Basic OnBhdC0x"));
        assert!(pat.credential_hint().starts_with("AZDO_PAT is invalid, PAT expired, is a global PAT"));
        assert!(pat.credential_hint().contains("lacks vso.auditlog"));
        assert!(pat.credential_hint().contains("fabrikam"));
        assert!(pat.credential_hint().contains("global PAT"));
        let entra = api(&[
            ("AZDO_AUTH", "entra_federated"),
            ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
            ("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
        ])
        .await;
        assert!(matches!(entra.credential(), Credential::Entra(_)));
        assert_eq!(entra.credential().header_value(), None, "fetched, not static");
        assert!(entra.credential_hint().starts_with(
            "Azure DevOps refused the Entra ID token of client 00001111-aaaa-2222-bbbb-3333cccc4444 (tenant contoso.onmicrosoft.com)"
        ));
        assert_eq!((pat.stream_id(), pat.product()), ("fabrikam", "Azure DevOps audit log"));
        assert!(!pat.credential_hint().contains("pat-1"));
    }

    #[tokio::test]
    async fn spec_example_page_yields_both_entries_and_no_next_page() {
        let api = api(&[("AZDO_PAT", "p")]).await;
        let page = api.parse_page(&fixtures::spec_body(), None).unwrap();
        assert_eq!(page.next, None, "hasMore is false: its token is not followed");
        let records: Vec<(&str, i64)> = page
            .items
            .iter()
            .map(|item| match item {
                PageItem::Record(r) => (r.id.as_str(), r.time_ms),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            records,
            [
                (
                    "2518505060978539161;00000064-0000-8888-8000-000000000000;86fbe369-3f5d-4f52-9ab0-3be7db271948",
                    1_551_794_702_146
                ),
                (
                    "2518505063644965580;00000002-0000-8888-8000-000000000000;198b13cf-5201-48e8-acef-0d8bb2d9e815",
                    1_551_794_435_503
                ),
            ]
        );
        for item in page.items {
            let PageItem::Record(record) = item else { unreachable!() };
            let event = serde_json::to_value(api.map(&record, true).unwrap()).unwrap();
            crate::ocsf::validate::validate(&event).unwrap_or_else(|e| panic!("{}", e.join("\n")));
            assert_eq!(event["metadata"]["uid"], record.id.as_str());
            assert_eq!(event["raw_data"], record.json.as_str());
            let udm = api.udm(&record).unwrap();
            assert_eq!(udm["metadata"]["product_log_id"], record.id.as_str());
        }
    }

    #[tokio::test]
    async fn pages_follow_has_more_and_dead_letter_unusable_entries() {
        let api = api(&[("AZDO_PAT", "p")]).await;
        let entry = fixtures::text("git_repo_created.json");
        let body = format!(
            r#"{{"decoratedAuditLogEntries":[{entry},{{"actionId":"Git.CreateRepo","timestamp":"2024-11-19T12:15:00Z"}},{{"id":"i-2","timestamp":"yesterday"}},"text"],"continuationToken":"t-1","hasMore":true}}"#
        );
        let page = api.parse_page(body.as_bytes(), None).unwrap();
        assert_eq!(page.next, Some(json!({"continuationToken": "t-1"})));
        assert!(matches!(&page.items[0], PageItem::Record(r) if r.time_ms == 1_732_018_500_000));
        let reasons: Vec<&str> = page.items[1..]
            .iter()
            .map(|item| match item {
                PageItem::Invalid { reason, .. } => reason.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "audit entry has no id",
                "audit entry i-2 has no RFC 3339 timestamp",
                "Azure DevOps audit record is not a JSON object: found string"
            ]
        );

        let wrapped = api
            .parse_page(
                br#"{"value":{"decoratedAuditLogEntries":[],"continuationToken":"t-2","hasMore":true}}"#,
                None,
            )
            .unwrap();
        assert_eq!(wrapped, Page { items: vec![], next: Some(json!({"continuationToken": "t-2"})) });
        let error = api.parse_page(br#"{"decoratedAuditLogEntries":[],"hasMore":true}"#, None).unwrap_err();
        assert_eq!(error.0, "the page says hasMore but carries no continuationToken");
        let html = api.parse_page(b"\r\n<!DOCTYPE html><html>Sign in</html>", None).unwrap_err();
        assert!(html.0.starts_with("the audit service answered an HTML page") && html.0.contains("AZDO_PAT"));
        assert!(api.parse_page(b"[]", None).unwrap_err().0.contains("AuditLogQueryResult"));
    }
}
