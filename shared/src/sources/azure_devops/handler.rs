//! The `azure-devops-audit` function's start-up (api-contracts.md §7.1): the Azure DevOps and
//! poller settings read from the environment and wired to the shared scheduled handler
//! ([`crate::scheduled`]), which polls the audit log of every organization in
//! `AZDO_ORGANIZATIONS`.

use super::config::AzureDevOpsConfig;
use super::streams;
use crate::env::EnvReader;
use crate::event::Source;
use crate::poller::{ApiHttp, PollerConfig};
use crate::scheduled::{Scheduled, SetupError};
use crate::setup::Pipeline;

/// Reads the Azure DevOps and poller settings from `env` and wires them to `pipeline`.
pub async fn from_env(pipeline: Pipeline, env: &EnvReader) -> Result<Scheduled, SetupError> {
    let azure_devops = AzureDevOpsConfig::load(env).await?;
    let poller = PollerConfig::load(env)?;
    Ok(Scheduled::new(pipeline, Source::AzureDevops, &poller, ApiHttp::new()?, streams(&azure_devops)))
}
