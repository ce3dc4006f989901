//! Turns one log message into the event the sink receives, in the configured format: OCSF
//! (through the mapping), or the record itself (`SIEM_FORMAT=raw`, credential headers redacted),
//! and pushes it to the delivery engine with the counts every caller reports.

use std::borrow::Cow;

use super::mapping::{map_message, LogContext, MapOptions};
use super::record::{self, redact_raw, strip_log4j_prefix};
use crate::delivery::{Delivery, DeliveryError};
use crate::encode::{encode, ConvertError, SourceRecord};
use crate::event::OutboundEvent;
use crate::event::OutputFormat;
use crate::ocsf::OcsfEvent;
use crate::timestamp::parse_rfc3339_ms;

/// Message → outbound event, per the configured output format.
#[derive(Debug, Clone)]
pub struct Converter {
    format: OutputFormat,
    options: MapOptions,
}

/// One converted message.
#[derive(Debug)]
pub struct Converted {
    /// The event to send.
    pub event: OutboundEvent,
    /// Why the message was not one whole record (it was still converted, best effort).
    pub problem: Option<String>,
}

impl Converter {
    /// A converter for `format` with the mapping `options`.
    pub fn new(format: OutputFormat, options: MapOptions) -> Self {
        Self { format, options }
    }

    /// The outbound event for one message, or why it cannot be sent (the caller dead-letters it).
    pub fn convert(&self, message: &str, context: &LogContext<'_>) -> Result<Converted, ConvertError> {
        let mut record = Message { text: message, context, options: &self.options, problem: None };
        let event = encode(self.format, &mut record)?;
        Ok(Converted { event, problem: record.problem })
    }
}

/// One log message, as the encoder sees it; what was wrong with it is kept in `problem`.
struct Message<'a> {
    text: &'a str,
    context: &'a LogContext<'a>,
    options: &'a MapOptions,
    problem: Option<String>,
}

impl SourceRecord for Message<'_> {
    fn ocsf(&mut self) -> Result<OcsfEvent, ConvertError> {
        let mapped = map_message(self.text, self.context, self.options);
        self.problem = mapped.problem;
        Ok(mapped.event)
    }

    fn raw(&mut self) -> Result<(i64, Cow<'_, str>), ConvertError> {
        let (json, _) = strip_log4j_prefix(self.text);
        let mut parsed = record::parse(json);
        let time_ms = parsed
            .members
            .take_str("@timestamp")
            .and_then(|t| parse_rfc3339_ms(&t))
            .or(self.context.timestamp_ms)
            .unwrap_or_default();
        let text = match &parsed.error {
            None => redact_raw(json, &self.options.redact),
            // Not a JSON object: sent as a JSON string of the whole message.
            Some(_) => Cow::Owned(
                serde_json::Value::String(redact_raw(self.text, &self.options.redact).into_owned())
                    .to_string(),
            ),
        };
        self.problem = parsed.error;
        Ok((time_ms, text))
    }

    fn ocsf_size_hint(&self) -> usize {
        self.text.len() * 2 + 512
    }
}

/// What a run of messages yielded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Log events read.
    pub records: u64,
    /// Events pushed to the delivery engine.
    pub events: u64,
    /// Of those, messages that were cut or not JSON, sent best effort with their text.
    pub partial: u64,
    /// Messages that could not be converted at all, dead-lettered with the reason.
    pub rejected: u64,
}

/// Converts one log event and pushes it; a message that cannot be converted is dead-lettered.
/// Never logs the message: only its coordinates and the reason.
pub(crate) async fn forward_message(
    message: &str,
    context: &LogContext<'_>,
    delivery: &mut Delivery,
    converter: &Converter,
    counts: &mut Counts,
) -> Result<(), DeliveryError> {
    counts.records += 1;
    match converter.convert(message, context) {
        Ok(converted) => {
            if let Some(problem) = &converted.problem {
                counts.partial += 1;
                tracing::warn!(
                    log_group = context.log_group,
                    log_stream = context.log_stream,
                    event_id = context.event_id.unwrap_or_default(),
                    chars = message.chars().count(),
                    problem = %problem,
                    "Message is not a whole audit record; sent with its text."
                );
            }
            delivery.push(converted.event).await?;
            counts.events += 1;
        }
        Err(reason) => {
            tracing::warn!(
                log_group = context.log_group,
                log_stream = context.log_stream,
                event_id = context.event_id.unwrap_or_default(),
                reason = %reason,
                "Message dead-lettered."
            );
            let raw = redact_raw(message, &converter.options.redact).into_owned();
            let at = format!(
                "{}:{} event {}",
                context.log_group,
                context.log_stream,
                context.event_id.unwrap_or("(no id)")
            );
            delivery.reject(raw, format!("{at}: {reason}")).await?;
            counts.rejected += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::opensearch::config::RedactHeaders;

    fn raw_converter() -> Converter {
        Converter::new(
            OutputFormat::Raw,
            MapOptions { redact: RedactHeaders::default(), ..MapOptions::default() },
        )
    }

    #[test]
    fn raw_format_sends_the_record_without_prefix_or_credentials() {
        let context = LogContext { timestamp_ms: Some(7), ..LogContext::default() };
        let cases = [
            (
                r#"[2024-08-19T16:34:00,259][INFO ][sgaudit ] [n] {"@timestamp":"2024-08-19T16:34:00.259+00:00","audit_rest_request_headers":{"Authorization":["Basic YTpi"]}}"#,
                r#"{"@timestamp":"2024-08-19T16:34:00.259+00:00","audit_rest_request_headers":{"Authorization":["<redacted>"]}}"#,
                1_724_085_240_259,
                false,
            ),
            (
                "{\n\"audit_category\": \"AUTHENTICATED\"\n}",
                r#"{"audit_category":"AUTHENTICATED"}"#,
                7,
                false,
            ),
            ("[ERROR] First test message", r#""[ERROR] First test message""#, 7, true),
        ];
        for (message, json, time_ms, problem) in cases {
            let converted = raw_converter().convert(message, &context).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(converted.event.json, json, "{message}");
            assert_eq!(converted.event.time_ms, time_ms, "{message}");
            assert_eq!(converted.problem.is_some(), problem, "{message}");
        }
    }

    #[test]
    fn ocsf_format_reports_partial_messages() {
        let converter = Converter::new(OutputFormat::Ocsf, MapOptions::default());
        let whole = converter
            .convert(r#"{"audit_category":"AUTHENTICATED","audit_request_effective_user":"a","audit_cluster_name":"c"}"#, &LogContext::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(whole.problem, None);
        let value: serde_json::Value =
            serde_json::from_str(&whole.event.json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value["user"]["name"], "a");
        let cut =
            converter.convert(r#"{"audit_category":"AUTHENTICATED","audit_req"#, &LogContext::default());
        assert!(cut.map(|c| c.problem.is_some()).unwrap_or(false));
    }
}
