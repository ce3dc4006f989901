//! Backfill from CloudWatch Logs: reads a log group's past events with FilterLogEvents
//! (paginated by `nextToken`, throttling and transient errors retried with full-jitter backoff)
//! and sends them through the same mapping, sink and dead-letter store as the subscription path.
//! FilterLogEvents returns the same `eventId` a subscription delivers, so a backfill that
//! overlaps live delivery yields the same `metadata.uid` and the SIEM can drop the duplicates.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::filter_log_events::{FilterLogEventsError, FilterLogEventsOutput};

use super::convert::{forward_message, Converter, Counts};
use super::mapping::LogContext;
use crate::backoff::full_jitter;
use crate::delivery::{Delivery, DeliveryError};
use crate::delivery::{BACKOFF_BASE, BACKOFF_CAP};

/// Attempts at one page when CloudWatch Logs throttles or fails transiently.
pub(crate) const PAGE_ATTEMPTS: u32 = 8;
/// Events asked for per page (the API's maximum).
pub const PAGE_LIMIT: i32 = 10_000;

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRequest {
    /// The log group.
    pub log_group: String,
    /// Only streams whose name starts with this.
    pub log_stream_prefix: Option<String>,
    /// From this time, ms since the epoch (inclusive).
    pub start_ms: i64,
    /// Up to this time, ms (inclusive); `None` for now.
    pub end_ms: Option<i64>,
    /// Events per page, 1 to [`PAGE_LIMIT`].
    pub page_size: i32,
}

/// Why the backfill stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// FilterLogEvents failed (after the retries, for transient causes).
    #[error(
        "FilterLogEvents on log group {log_group} failed at page {page} after {attempts} attempts: {message}"
    )]
    Api {
        /// The log group.
        log_group: String,
        /// 1-based page number.
        page: u64,
        /// Attempts made.
        attempts: u32,
        /// The error code and message.
        message: String,
    },
    /// Events could be neither delivered nor dead-lettered.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// A CloudWatch Logs client (the SDK configuration's endpoint, e.g. `AWS_ENDPOINT_URL`, applies).
pub fn logs_client(sdk: &aws_config::SdkConfig) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(sdk)
}

/// Reads every event of the request and pushes it; `on_page` sees the counts after each page (a
/// progress bar). Returns the counts, also when an error stopped the run.
pub async fn backfill(
    client: &aws_sdk_cloudwatchlogs::Client,
    request: &BackfillRequest,
    delivery: &mut Delivery,
    converter: &Converter,
    mut on_page: impl FnMut(&Counts),
) -> Result<Counts, (Counts, BackfillError)> {
    let mut counts = Counts::default();
    let mut next_token: Option<String> = None;
    let mut page = 0u64;
    loop {
        page += 1;
        let output = match fetch_page(client, request, next_token.clone(), page).await {
            Ok(output) => output,
            Err(error) => return Err((counts, error)),
        };
        for event in output.events() {
            let context = LogContext {
                log_group: &request.log_group,
                log_stream: event.log_stream_name().unwrap_or_default(),
                event_id: event.event_id(),
                timestamp_ms: event.timestamp(),
            };
            let message = event.message().unwrap_or_default();
            if let Err(error) = forward_message(message, &context, delivery, converter, &mut counts).await {
                return Err((counts, error.into()));
            }
        }
        on_page(&counts);
        tracing::debug!(log_group = request.log_group, page, records = counts.records, "Page forwarded.");
        // The API may repeat the token it was given at the end; stop there too.
        match output.next_token() {
            Some(token) if !token.is_empty() && next_token.as_deref() != Some(token) => {
                next_token = Some(token.to_owned());
            }
            _ => return Ok(counts),
        }
    }
}

async fn fetch_page(
    client: &aws_sdk_cloudwatchlogs::Client,
    request: &BackfillRequest,
    next_token: Option<String>,
    page: u64,
) -> Result<FilterLogEventsOutput, BackfillError> {
    let mut attempt = 1;
    loop {
        let result = client
            .filter_log_events()
            .log_group_name(&request.log_group)
            .set_log_stream_name_prefix(request.log_stream_prefix.clone())
            .start_time(request.start_ms)
            .set_end_time(request.end_ms)
            .set_next_token(next_token.clone())
            .limit(request.page_size.clamp(1, PAGE_LIMIT))
            .send()
            .await;
        match result {
            Ok(output) => return Ok(output),
            Err(error) => {
                let message = describe(&error);
                if is_transient(&error) && attempt < PAGE_ATTEMPTS {
                    let wait = full_jitter(attempt, BACKOFF_BASE, BACKOFF_CAP).max(Duration::from_millis(50));
                    tracing::warn!(
                        log_group = request.log_group,
                        page,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error = %message,
                        "FilterLogEvents failed; trying again."
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                return Err(BackfillError::Api {
                    log_group: request.log_group.clone(),
                    page,
                    attempts: attempt,
                    message,
                });
            }
        }
    }
}

/// Throttling, service unavailability, timeouts and connection failures.
fn is_transient(error: &SdkError<FilterLogEventsError>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let err = service.err();
            err.is_service_unavailable_exception()
                || matches!(
                    err.code(),
                    Some(
                        "ThrottlingException"
                            | "Throttling"
                            | "TooManyRequestsException"
                            | "LimitExceededException"
                    )
                )
                || service.raw().status().as_u16() == 429
                || service.raw().status().is_server_error()
        }
        _ => false,
    }
}

/// `code: message`, or the error's display text.
fn describe(error: &SdkError<FilterLogEventsError>) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_cloudwatchlogs::error::DisplayErrorContext(error).to_string(),
    }
}
