//! AWS SDK clients, built once per cold start. With an endpoint override (`AWS_ENDPOINT_URL`, as in
//! tests against moto's server) S3 uses path-style addressing, which S3-compatible servers expect.

use aws_config::BehaviorVersion;

/// `AWS_REGION`: the function's region (Lambda sets it).
pub const AWS_REGION: &str = "AWS_REGION";

/// Loads the SDK configuration from the standard environment and credential chain.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client; path-style when the configuration points at a custom endpoint.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let path_style = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(path_style).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A Secrets Manager client.
pub(crate) fn secrets_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(sdk)
}
