//! Property tests (proptest) of the OpenSearch subscription payload decoder and audit record
//! parser: arbitrary input is decoded or refused with an error, never a panic, and what a
//! subscription filter encodes decodes back unchanged.

use base64::Engine;
use proptest::prelude::*;

use super::payload::{self, LogEvent, LogsMessage};
use super::record;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

fn message() -> impl Strategy<Value = LogsMessage> {
    let event = (".{0,20}", any::<i64>(), ".{0,80}").prop_map(|(id, timestamp, message)| LogEvent {
        id,
        timestamp,
        message,
    });
    (
        prop_oneof![
            Just(payload::DATA_MESSAGE.to_string()),
            Just(payload::CONTROL_MESSAGE.to_string()),
            ".{0,12}"
        ],
        ".{0,16}",
        ".{0,32}",
        ".{0,32}",
        prop::collection::vec(".{0,12}", 0..3),
        prop::collection::vec(event, 0..6),
    )
        .prop_map(|(message_type, owner, log_group, log_stream, subscription_filters, log_events)| {
            LogsMessage {
                message_type,
                owner,
                log_group,
                log_stream,
                subscription_filters,
                log_events,
                policy_level: None,
            }
        })
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn encoded_messages_decode_back_unchanged(message in message()) {
        let data = payload::encode_data(&message);
        prop_assert_eq!(payload::decode_data(&data).ok(), Some(message.clone()));
        let event = serde_json::json!({"awslogs": {"data": data}});
        prop_assert_eq!(payload::decode_event(&event).ok(), Some(message.clone()));
        prop_assert_eq!(payload::decode_event_text(&event.to_string()).ok(), Some(message));
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_text(text in ".{0,256}") {
        let _ = payload::decode_data(&text);
        let _ = payload::decode_event_text(&text);
        let _ = payload::classify_saved(&text);
        let _ = payload::decode_event(&serde_json::json!({"awslogs": {"data": text}}));
    }

    #[test]
    fn decoder_never_panics_on_arbitrary_bytes_behind_base64(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        header in prop_oneof![Just(vec![]), Just(vec![0x1f, 0x8b]), Just(vec![0x78, 0x9c]), Just(vec![0x78, 0x01])],
    ) {
        let data = [header, bytes].concat();
        let _ = payload::inflate(&data);
        let _ = payload::decode_data(&b64(&data));
    }

    #[test]
    fn decoder_never_panics_on_mangled_payloads(
        message in message(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let data = payload::encode_data(&message);
        let mut compressed = base64::engine::general_purpose::STANDARD.decode(data.as_bytes()).unwrap();
        for (at, byte) in flips {
            let at = at % compressed.len();
            compressed[at] = byte;
        }
        let _ = payload::decode_data(&b64(&compressed));
        let cut = cut % compressed.len();
        prop_assert!(payload::decode_data(&b64(&compressed[..cut])).is_err(), "a cut stream is refused");
    }

    #[test]
    fn record_parser_never_panics_on_arbitrary_lines(line in ".{0,256}") {
        let (json, _) = record::strip_log4j_prefix(&line);
        let _ = record::parse(json);
        let _ = record::find_category_name(&line);
    }
}
