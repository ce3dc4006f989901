//! The `atlassian-audit` function's start-up: the Atlassian and poller settings read from the
//! environment and wired to the shared scheduled handler ([`crate::scheduled`]), which polls the
//! organization audit log and each site's Jira and Confluence audit records.

use super::config::AtlassianConfig;
use super::streams;
use crate::env::EnvReader;
use crate::event::Source;
use crate::poller::{ApiHttp, PollerConfig};
use crate::scheduled::{Scheduled, SetupError};
use crate::setup::Pipeline;

/// Reads the Atlassian and poller settings from `env` and wires them to `pipeline`.
pub async fn from_env(pipeline: Pipeline, env: &EnvReader) -> Result<Scheduled, SetupError> {
    let atlassian = AtlassianConfig::load(env).await?;
    let poller = PollerConfig::load(env)?;
    Ok(Scheduled::new(pipeline, Source::Atlassian, &poller, ApiHttp::new()?, streams(&atlassian)))
}
