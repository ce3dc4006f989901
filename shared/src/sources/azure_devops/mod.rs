//! Azure DevOps audit log (api-contracts.md §7): record and page types, the mapping to OCSF
//! (docs/mappings/azure-devops.md), the mapping to Google SecOps UDM as SecOps' own parser does it
//! (docs/reference/azure-devops-udm-mapping.md), the conversion to outbound events, and the
//! `azure-devops-audit` function: one stream of the shared poll loop ([`crate::poller`]) per
//! organization.

pub mod client;
pub mod config;
pub mod convert;
pub mod handler;
pub mod mapping;
pub mod record;
pub mod udm;

#[cfg(test)]
pub(crate) mod fixtures;

use std::sync::Arc;

use self::client::AuditLogApi;
use self::config::AzureDevOpsConfig;
use crate::poller::{Pacer, Stream};

/// One stream per organization of `config`. They share one pacer: Azure DevOps counts its limits
/// per identity, and every organization is read with the same credential.
pub fn streams(config: &AzureDevOpsConfig) -> Vec<Stream> {
    let pacer = Arc::new(Pacer::per_minute(config.requests_per_minute));
    config
        .organizations
        .iter()
        .map(|organization| Stream {
            api: Arc::new(AuditLogApi::new(config, organization)),
            pacer: pacer.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvReader;

    #[tokio::test]
    async fn every_organization_is_a_stream_sharing_one_pacer() {
        let env = EnvReader::from_map(
            [
                ("AZDO_ORGANIZATIONS", "fabrikam,Contoso-EU"),
                ("AZDO_PAT", "p"),
                ("AZDO_REQUESTS_PER_MINUTE", "12"),
            ],
            None,
        );
        let config = AzureDevOpsConfig::load(&env).await.unwrap();
        let streams = streams(&config);
        let ids: Vec<&str> = streams.iter().map(|s| s.api.stream_id()).collect();
        assert_eq!(ids, ["fabrikam", "contoso-eu"]);
        assert!(Arc::ptr_eq(&streams[0].pacer, &streams[1].pacer));
        assert_eq!(streams[0].pacer.interval(), std::time::Duration::from_secs(5));
    }
}
