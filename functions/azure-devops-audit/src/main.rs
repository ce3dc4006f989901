//! `azure-devops-audit`: on an EventBridge schedule, polls the Azure DevOps audit log of every
//! organization in `AZDO_ORGANIZATIONS` from where the last run stopped, normalizes it to OCSF (or
//! UDM) and forwards it to the configured SIEM.

use audit_relay::scheduled::handle;
use audit_relay::setup::Pipeline;
use audit_relay::sources::azure_devops::handler;
use audit_relay::{aws, telemetry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk = aws::sdk_config().await;
    let (pipeline, env) = Pipeline::from_env(&sdk).await?;
    let deps = handler::from_env(pipeline, &env).await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| handle(&deps, event))).await
}
