//! Cold-start wiring every function and the CLI share: configuration (with secrets), the S3 client,
//! the sink and the dead-letter store, built once from the environment.

use std::sync::Arc;
use std::time::Instant;

use crate::aws;
use crate::config::Config;
use crate::dead_letter::{self, DeadLetterStore};
use crate::delivery::Delivery;
use crate::env::{ConfigError, EnvReader};
use crate::event::Source;
use crate::sinks::{self, Sink, SinkError};

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A variable is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The sink could not be built.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// The parts of the pipeline that do not depend on the source.
pub struct Pipeline {
    /// Validated configuration.
    pub config: Config,
    /// S3 client (objects, dead letters, checkpoints).
    pub s3: aws_sdk_s3::Client,
    /// The configured sink.
    pub sink: Arc<dyn Sink>,
    /// The dead-letter store.
    pub dead_letter: Arc<dyn DeadLetterStore>,
}

impl Pipeline {
    /// Builds everything from the process environment and the AWS SDK configuration; `env` also
    /// serves the source's own variables afterwards.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<(Self, EnvReader), SetupError> {
        let env = EnvReader::from_process(Some(Arc::new(aws::secrets_client(sdk))));
        let config = Config::load(&env).await?;
        let s3 = aws::s3_client(sdk);
        let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout)?)?;
        let dead_letter = dead_letter::from_config(&config.dead_letter, Some(s3.clone()));
        Ok((Self { config, s3, sink, dead_letter }, env))
    }

    /// The delivery engine of one run of `source`: this pipeline's sink, dead-letter store,
    /// delivery settings and output format, retrying until `deadline` (none: no deadline).
    pub fn delivery(&self, source: Source, deadline: Option<Instant>) -> Delivery {
        Delivery::new(self.sink.clone(), self.dead_letter.clone(), &self.config.delivery, source, deadline)
            .with_format(self.config.format)
    }
}
