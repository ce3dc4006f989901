//! `check FUNCTION`: loads the configuration as that Lambda function does (the same variables,
//! secrets and defaults) and makes one cheap, read-only call per component
//! ([`audit_relay::check`]); prints the table on standard output and exits 1 when a component
//! fails. Nothing is delivered and no checkpoint moves.

use audit_relay::aws;
use audit_relay::event::Source;
use audit_relay::scheduled;
use audit_relay::setup::Pipeline;
use audit_relay::sources::atlassian::handler as atlassian;
use audit_relay::sources::azure_devops::handler as azure_devops;
use audit_relay::sources::opensearch::config::OpensearchConfig;
use clap::ValueEnum;

/// The functions, by their names in the SAM template.
#[derive(Clone, Copy, ValueEnum)]
pub enum Function {
    /// CloudTrail log files from S3 notifications.
    CloudtrailS3,
    /// OpenSearch audit logs from a CloudWatch Logs subscription.
    OpensearchAudit,
    /// Atlassian organization audit log, Jira and Confluence audit records.
    AtlassianAudit,
    /// Azure DevOps audit log.
    AzureDevopsAudit,
}

/// Checks `function`'s components; `Ok(false)` when any fails.
pub async fn run(function: Function) -> anyhow::Result<bool> {
    let sdk = aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    let report = match function {
        Function::CloudtrailS3 => audit_relay::check::pipeline(&pipeline, Source::Cloudtrail).await,
        Function::OpensearchAudit => {
            // Loaded for its errors only: the function refuses to start without it.
            OpensearchConfig::load(&env)?;
            audit_relay::check::pipeline(&pipeline, Source::Opensearch).await
        }
        Function::AtlassianAudit => scheduled::run_check(&atlassian::from_env(pipeline, &env).await?).await,
        Function::AzureDevopsAudit => {
            scheduled::run_check(&azure_devops::from_env(pipeline, &env).await?).await
        }
    };
    print!("{}", report.table());
    Ok(report.passed())
}
