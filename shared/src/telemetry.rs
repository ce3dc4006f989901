//! Logging set-up: JSON lines in Lambda (CloudWatch Logs), readable text on standard error
//! elsewhere (standard output carries events for the `stdout` sink). The level comes from
//! `LOG_LEVEL`, else `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (a full filter), else `info`.

use tracing_subscriber::EnvFilter;

/// `LOG_LEVEL`: `error`, `warn`, `info`, `debug` or `trace`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";

/// Installs the global subscriber. Call once, at start-up.
pub fn init() {
    let filter = std::env::var(LOG_LEVEL)
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .ok()
        .map(|level| EnvFilter::new(level.to_ascii_lowercase()))
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if in_lambda {
        builder.json().with_current_span(false).without_time().with_ansi(false).try_init()
    } else {
        builder.try_init()
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}
