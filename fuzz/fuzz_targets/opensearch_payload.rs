//! The CloudWatch Logs subscription payload decoder (base64, gzip/zlib, message JSON) and the
//! OpenSearch audit-line parser on arbitrary input: no panic.
#![no_main]

use audit_relay::sources::opensearch::{payload, record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = payload::inflate(data);
    let text = String::from_utf8_lossy(data);
    let _ = payload::decode_data(&text);
    let _ = payload::decode_event_text(&text);
    let _ = payload::classify_saved(&text);
    if let Ok(message) = payload::decode_data(&text) {
        for event in &message.log_events {
            let (json, _) = record::strip_log4j_prefix(&event.message);
            let _ = record::parse(json);
        }
    }
});
