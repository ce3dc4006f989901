//! Property tests (proptest) of the CloudTrail parsers against inputs no fixture holds: the splitter
//! yields the same records whatever the chunking, and neither it, the reader, the notification
//! parser nor the converter panics on arbitrary bytes or text.

use proptest::prelude::*;
use serde_json::Value;

use super::convert::Converter;
use super::notification;
use super::reader::{RawRecord, RecordReader};
use super::splitter::{Item, RecordSplitter};
use crate::event::OutputFormat;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// Arbitrary JSON values: scalars, strings with quotes, brackets and escapes, nested arrays and
/// objects.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z\"\\\\\\[\\]{},: \u{e9}\u{1f600}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z\"\\\\{}]{0,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Feeds `doc` cut at `cuts` (offsets, any order) and returns the records' text, or the error.
fn split_at(doc: &[u8], cuts: &[usize], max_record: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (doc.len() + 1)).collect();
    points.push(doc.len());
    points.sort_unstable();
    let mut splitter = RecordSplitter::new(max_record);
    let mut out = Vec::new();
    let mut from = 0;
    for to in points {
        splitter.feed(&doc[from..to]);
        from = to;
        loop {
            match splitter.next_item().map_err(|e| e.to_string())? {
                Some(Item::Record(range)) => out.push(splitter.slice(range).to_vec()),
                Some(Item::Oversized { size }) => out.push(format!("<{size}>").into_bytes()),
                None => break,
            }
            // Every record takes at least one byte: more records than bytes is an endless loop.
            prop_assert_no_loop(out.len(), doc.len())?;
        }
    }
    splitter.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn read_all(bytes: Vec<u8>, max_object: u64, max_record: usize) -> Result<Vec<Vec<u8>>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let mut reader = RecordReader::open(std::io::Cursor::new(bytes), max_object, max_record)
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some((_, record)) = reader.next_record().await.map_err(|e| e.to_string())? {
            match record {
                RawRecord::Json(json) => out.push(json.to_vec()),
                RawRecord::Oversized { size } => out.push(format!("<{size}>").into_bytes()),
            }
            prop_assert_no_loop(out.len(), reader.inflated_bytes() as usize)?;
        }
        Ok(out)
    })
}

fn prop_assert_no_loop(records: usize, bytes: usize) -> Result<(), String> {
    if records > bytes + 1 {
        return Err(format!("{records} records from {bytes} bytes: the splitter loops"));
    }
    Ok(())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A CloudTrail document of `records`, with `pad` as whitespace between tokens and an extra
/// top-level key before `Records`.
fn document(records: &[Value], pad: &str, extra: &Value) -> (Vec<u8>, Vec<Vec<u8>>) {
    let texts: Vec<String> = records.iter().map(Value::to_string).collect();
    let doc = format!(
        "{pad}{{{pad}\"x\"{pad}:{pad}{extra}{pad},{pad}\"Records\"{pad}:{pad}[{pad}{}{pad}]{pad}}}{pad}",
        texts.join(&format!("{pad},{pad}"))
    );
    (doc.into_bytes(), texts.into_iter().map(String::into_bytes).collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn splitter_yields_the_same_records_whatever_the_chunking(
        records in prop::collection::vec(json_value(), 0..8),
        extra in json_value(),
        pad in "[ \t\r\n]{0,2}",
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let (doc, expected) = document(&records, &pad, &extra);
        prop_assert_eq!(split_at(&doc, &cuts, 1 << 20), Ok(expected.clone()));
        prop_assert_eq!(split_at(&doc, &[], 1 << 20), Ok(expected));
    }

    #[test]
    fn splitter_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        max_record in 1usize..64,
    ) {
        let _ = split_at(&bytes, &cuts, max_record);
    }

    #[test]
    fn splitter_never_panics_on_mangled_documents(
        records in prop::collection::vec(json_value(), 1..5),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let (mut doc, _) = document(&records, "", &Value::Null);
        for (at, byte) in flips {
            let at = at % doc.len();
            doc[at] = byte;
        }
        let _ = split_at(&doc, &cuts, 1 << 20);
    }

    #[test]
    fn reader_on_gzip_yields_what_the_splitter_yields(
        records in prop::collection::vec(json_value(), 0..6),
        max_record in prop_oneof![Just(1usize << 20), 1usize..40],
    ) {
        let (doc, _) = document(&records, " ", &Value::Bool(true));
        let from_splitter = split_at(&doc, &[], max_record);
        prop_assert_eq!(read_all(gzip(&doc), u64::MAX, max_record), from_splitter.clone());
        prop_assert_eq!(read_all(doc, u64::MAX, max_record), from_splitter);
    }

    #[test]
    fn reader_on_arbitrary_bytes_returns_records_or_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        gzipped in any::<bool>(),
        gzip_magic in any::<bool>(),
        max_object in prop_oneof![Just(u64::MAX), 0u64..256],
    ) {
        let input = match (gzipped, gzip_magic) {
            (true, _) => gzip(&bytes),
            (false, true) => [&[0x1f, 0x8b][..], &bytes].concat(),
            (false, false) => bytes,
        };
        let _ = read_all(input, max_object, 64);
    }

    #[test]
    fn notification_parse_never_panics(text in ".{0,256}") {
        let _ = notification::parse(&text);
        let _ = notification::skip_reason(&text);
        let _ = notification::decode_key(&text);
    }

    #[test]
    fn notification_parse_never_panics_on_near_notifications(
        key in ".{0,40}",
        name in prop_oneof![Just("ObjectCreated:Put".to_string()), ".{0,12}"],
        wrap in 0u8..4,
        body in json_value(),
    ) {
        let s3 = serde_json::json!({"Records": [{"eventName": name, "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}], "x": body});
        let text = match wrap {
            0 => s3.to_string(),
            1 => serde_json::json!({"Type": "Notification", "Message": s3.to_string()}).to_string(),
            2 => serde_json::json!({"Records": [{"Sns": {"Message": s3.to_string()}}]}).to_string(),
            _ => serde_json::json!({"detail-type": "Object Created", "source": "aws.s3", "detail": body}).to_string(),
        };
        let _ = notification::parse(&text);
    }

    #[test]
    fn converter_returns_an_event_or_a_reason_never_a_panic(
        record in prop_oneof![
            ".{0,128}",
            json_value().prop_map(|v| v.to_string()),
            (json_value(), "[0-9T:Z.+-]{0,26}").prop_map(|(v, t)| {
                serde_json::json!({"eventTime": t, "eventID": "e", "eventName": "X", "requestParameters": v,
                    "userIdentity": v, "resources": v, "eventSource": "s3.amazonaws.com"}).to_string()
            }),
        ],
        format in prop_oneof![Just(OutputFormat::Ocsf), Just(OutputFormat::Udm), Just(OutputFormat::Raw)],
    ) {
        if let Ok(event) = Converter::new(format, true).convert(&record) {
            prop_assert!(serde_json::from_str::<Value>(&event.json).is_ok(), "{}", event.json);
            prop_assert!(!event.json.contains('\n'));
        }
    }
}
