//! CloudWatch Logs subscription payloads (api-contracts.md §3): the Lambda event
//! `{"awslogs":{"data":"<base64>"}}`, its compressed bytes, and the decoded `DATA_MESSAGE` or
//! `CONTROL_MESSAGE` JSON.
//!
//! CloudWatch Logs sends gzip. The compression is recognized by its magic bytes, not assumed:
//! gzip (`1f 8b`) and zlib (`78 xx`, as some published test fixtures are encoded) are both
//! inflated; anything else is an error naming the first bytes. Decoding never panics: broken
//! base64, a broken stream or JSON that is no subscription message are [`PayloadError`]s, and the
//! invocation fails with them.

use std::io::Read;

use base64::Engine;
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use serde::Deserialize;

/// Largest inflated payload accepted. CloudWatch Logs batches stay far below it (a Lambda
/// payload is at most 6 MB of base64); the cap stops a decompression bomb.
pub(crate) const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// `messageType` of a health check that carries no log events.
pub const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";
/// `messageType` of a payload that carries log events.
pub const DATA_MESSAGE: &str = "DATA_MESSAGE";

/// Why a payload could not be decoded. The invocation fails with it (CloudWatch Logs invokes
/// asynchronously: Lambda retries, then the function's on-failure destination keeps the event).
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The event is not `{"awslogs":{"data":"..."}}`.
    #[error("invocation payload is not a CloudWatch Logs subscription event: {0}")]
    NotSubscription(String),
    /// `awslogs.data` is not base64.
    #[error("awslogs.data is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// The decoded bytes are neither gzip nor zlib.
    #[error("awslogs.data is neither gzip nor zlib (it starts with {first_bytes})")]
    UnknownCompression {
        /// The first bytes, in hex.
        first_bytes: String,
    },
    /// The compressed stream is corrupt or cut.
    #[error("awslogs.data does not inflate ({compression}): {source}")]
    Inflate {
        /// `gzip` or `zlib`.
        compression: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The stream inflates past [`MAX_INFLATED_BYTES`].
    #[error("awslogs.data inflates past {MAX_INFLATED_BYTES} bytes")]
    TooLarge,
    /// The inflated text is not a subscription message.
    #[error("awslogs.data is not a CloudWatch Logs subscription message: {0}")]
    Message(#[source] serde_json::Error),
}

/// One log event of a subscription message (or of a FilterLogEvents page).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogEvent {
    /// The CloudWatch Logs event id (the same in FilterLogEvents); empty in control messages.
    #[serde(default)]
    pub id: String,
    /// When the event happened, ms since the epoch.
    #[serde(default)]
    pub timestamp: i64,
    /// The log line: one OpenSearch audit record.
    #[serde(default)]
    pub message: String,
}

/// A decoded subscription message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsMessage {
    /// `DATA_MESSAGE` or `CONTROL_MESSAGE`.
    pub message_type: String,
    /// The account that owns the log group (`CloudwatchLogs` in control messages).
    #[serde(default)]
    pub owner: String,
    /// The log group.
    #[serde(default)]
    pub log_group: String,
    /// The log stream (one per OpenSearch node).
    #[serde(default)]
    pub log_stream: String,
    /// The subscription filters that matched.
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    /// The log events, oldest first.
    #[serde(default)]
    pub log_events: Vec<LogEvent>,
    /// `ACCOUNT_LEVEL_POLICY` when an account-level subscription policy sent it.
    #[serde(default)]
    pub policy_level: Option<String>,
}

impl LogsMessage {
    /// Whether this is a health check to acknowledge and ignore.
    pub fn is_control(&self) -> bool {
        self.message_type == CONTROL_MESSAGE
    }
}

#[cfg(test)]
#[derive(Deserialize)]
struct Envelope {
    awslogs: AwsLogs,
}

#[cfg(test)]
#[derive(Deserialize)]
struct AwsLogs {
    data: String,
}

/// Decodes the Lambda event of a subscription filter.
pub fn decode_event(event: &serde_json::Value) -> Result<LogsMessage, PayloadError> {
    let data = event
        .get("awslogs")
        .and_then(|logs| logs.get("data"))
        .ok_or_else(|| PayloadError::NotSubscription("it has no awslogs.data".to_owned()))?
        .as_str()
        .ok_or_else(|| PayloadError::NotSubscription("awslogs.data is not a string".to_owned()))?;
    decode_data(data)
}

/// Decodes the event from its JSON text (a saved payload).
#[cfg(test)]
pub(crate) fn decode_event_text(text: &str) -> Result<LogsMessage, PayloadError> {
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|e| PayloadError::NotSubscription(e.to_string()))?;
    decode_data(&envelope.awslogs.data)
}

/// Decodes `awslogs.data`: base64, then gzip or zlib, then the message JSON.
pub(crate) fn decode_data(data: &str) -> Result<LogsMessage, PayloadError> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(data.trim().as_bytes())
        .map_err(PayloadError::Base64)?;
    let json = inflate(&compressed)?;
    serde_json::from_slice(&json).map_err(PayloadError::Message)
}

/// Inflates gzip or zlib, recognized by the magic bytes, up to [`MAX_INFLATED_BYTES`].
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, PayloadError> {
    let (compression, reader): (&'static str, Box<dyn Read + '_>) = match compressed {
        [0x1f, 0x8b, ..] => ("gzip", Box::new(MultiGzDecoder::new(compressed))),
        // A zlib header: deflate (low nibble 8) and a check value that makes it a multiple of 31.
        [cmf, flg, ..] if cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 => {
            ("zlib", Box::new(ZlibDecoder::new(compressed)))
        }
        _ => {
            let first_bytes =
                compressed.iter().take(4).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
            return Err(PayloadError::UnknownCompression {
                first_bytes: if first_bytes.is_empty() { "nothing".to_owned() } else { first_bytes },
            });
        }
    };
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(8).min(16 << 20));
    reader
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|source| PayloadError::Inflate { compression, source })?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(PayloadError::TooLarge);
    }
    Ok(out)
}

/// What a saved file holds, for `audit-relay normalize`.
#[derive(Debug)]
pub enum SavedInput {
    /// A subscription message: the Lambda event, or its decoded `DATA_MESSAGE` JSON.
    Message(LogsMessage),
    /// Audit lines, one per line (with or without the log4j prefix).
    Lines,
}

/// Tells a saved subscription payload (`{"awslogs":…}` or the decoded message) from a file of
/// audit lines.
pub fn classify_saved(text: &str) -> Result<SavedInput, PayloadError> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return Ok(SavedInput::Lines);
    }
    // Only a single JSON document can be a payload; a file of records has one per line.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) else {
        return Ok(SavedInput::Lines);
    };
    if value.get("awslogs").is_some() {
        return decode_event(&value).map(SavedInput::Message);
    }
    if value.get("messageType").is_some() && value.get("logEvents").is_some() {
        return serde_json::from_str(trimmed).map(SavedInput::Message).map_err(PayloadError::Message);
    }
    Ok(SavedInput::Lines)
}

/// Encodes a message as a subscription filter does (gzip, then base64): for tests and samples.
pub fn encode_data(message: &LogsMessage) -> String {
    use std::io::Write;
    let json = serde_json::json!({
        "messageType": message.message_type,
        "owner": message.owner,
        "logGroup": message.log_group,
        "logStream": message.log_stream,
        "subscriptionFilters": message.subscription_filters,
        "logEvents": message.log_events.iter().map(|e| serde_json::json!({
            "id": e.id, "timestamp": e.timestamp, "message": e.message
        })).collect::<Vec<_>>(),
    });
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(json.to_string().as_bytes());
    let bytes = encoder.finish().unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLAIN: &str = include_str!("fixtures/envelopes/cloudWatchLogEvent.json");
    const POLICY_LEVEL: &str = include_str!("fixtures/envelopes/cloudWatchLogEventWithPolicyLevel.json");

    fn expected_events() -> Vec<LogEvent> {
        vec![
            LogEvent {
                id: "eventId1".to_owned(),
                timestamp: 1_440_442_987_000,
                message: "[ERROR] First test message".to_owned(),
            },
            LogEvent {
                id: "eventId2".to_owned(),
                timestamp: 1_440_442_987_001,
                message: "[ERROR] Second test message".to_owned(),
            },
        ]
    }

    #[test]
    fn gzip_fixture_decodes_to_its_data_message() {
        let value: serde_json::Value = serde_json::from_str(PLAIN).unwrap_or_else(|e| panic!("{e}"));
        let message = decode_event(&value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(message.message_type, "DATA_MESSAGE");
        assert_eq!(message.owner, "123456789123");
        assert_eq!(message.log_group, "testLogGroup");
        assert_eq!(message.log_stream, "testLogStream");
        assert_eq!(message.subscription_filters, ["testFilter"]);
        assert_eq!(message.policy_level, None);
        assert_eq!(message.log_events, expected_events());
        assert!(!message.is_control());
    }

    #[test]
    fn zlib_fixture_with_policy_level_decodes_too() {
        let message = decode_event_text(POLICY_LEVEL).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(message.policy_level.as_deref(), Some("ACCOUNT_LEVEL_POLICY"));
        assert_eq!(message.log_events, expected_events());
    }

    #[test]
    fn control_message_is_recognized() {
        let control = LogsMessage {
            message_type: CONTROL_MESSAGE.to_owned(),
            owner: "CloudwatchLogs".to_owned(),
            log_group: String::new(),
            log_stream: String::new(),
            subscription_filters: vec![],
            log_events: vec![LogEvent {
                id: String::new(),
                timestamp: 1_680_683_189_085,
                message: "CWL CONTROL MESSAGE: Checking health of destination Firehose.".to_owned(),
            }],
            policy_level: None,
        };
        let decoded = decode_data(&encode_data(&control)).unwrap_or_else(|e| panic!("{e}"));
        assert!(decoded.is_control());
        assert_eq!(decoded, control);
    }

    #[test]
    fn broken_payloads_are_errors_that_say_what_is_wrong() {
        let gzip_of_text = {
            let mut message = encode_data(&LogsMessage {
                message_type: DATA_MESSAGE.to_owned(),
                owner: "1".to_owned(),
                log_group: "g".to_owned(),
                log_stream: "s".to_owned(),
                subscription_filters: vec![],
                log_events: vec![],
                policy_level: None,
            });
            // Cut the base64 of the gzip stream short (keeping valid base64).
            message.truncate(40);
            message
        };
        let not_json = base64::engine::general_purpose::STANDARD.encode({
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, b"hello").unwrap_or_else(|e| panic!("{e}"));
            e.finish().unwrap_or_else(|e| panic!("{e}"))
        });
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!({"Records": []}), "not a CloudWatch Logs subscription event: it has no awslogs.data"),
            (json!({"awslogs": {"data": 42}}), "awslogs.data is not a string"),
            (json!({"awslogs": {"data": "%%%not base64%%%"}}), "awslogs.data is not valid base64"),
            (
                json!({"awslogs": {"data": "aGVsbG8gd29ybGQ="}}),
                "neither gzip nor zlib (it starts with 68 65 6c 6c)",
            ),
            (json!({"awslogs": {"data": ""}}), "neither gzip nor zlib (it starts with nothing)"),
            (json!({"awslogs": {"data": gzip_of_text}}), "awslogs.data does not inflate (gzip)"),
            (json!({"awslogs": {"data": not_json}}), "not a CloudWatch Logs subscription message"),
        ];
        for (event, expected) in cases {
            match decode_event(&event) {
                Ok(message) => panic!("{event} decoded to {message:?}"),
                Err(error) => {
                    assert!(error.to_string().contains(expected), "{event}: {error} lacks {expected:?}")
                }
            }
        }
    }

    #[test]
    fn saved_files_are_told_apart() {
        let plain_message = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"e1","timestamp":5,"message":"m"}]}"#;
        let cases: [(&str, Option<usize>); 5] = [
            (PLAIN, Some(2)),
            (POLICY_LEVEL, Some(2)),
            (plain_message, Some(1)),
            ("{\"audit_category\":\"AUTHENTICATED\"}\n{\"audit_category\":\"FAILED_LOGIN\"}\n", None),
            ("[2024-08-19T16:34:00,259][INFO ][sgaudit ] [node-0] {}", None),
        ];
        for (text, events) in cases {
            match classify_saved(text).unwrap_or_else(|e| panic!("{e}")) {
                SavedInput::Message(message) => assert_eq!(Some(message.log_events.len()), events),
                SavedInput::Lines => assert_eq!(None, events, "{text}"),
            }
        }
        assert!(classify_saved(r#"{"awslogs":{"data":"!!"}}"#).is_err());
    }
}
