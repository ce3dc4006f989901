//! One line per event: raw JSON kept verbatim (`unmapped`, the `data` of API requests and
//! responses, resources, policies, entities, queries, and `raw_data`) is written without the
//! whitespace between tokens, so a pretty-printed input (an export, a hand-saved API page) never
//! spreads an event over several lines of NDJSON.
//!
//! Compact input, the usual case, is only scanned: a value is rewritten only when it holds
//! whitespace outside its strings. Dropping that whitespace keeps the value's meaning exactly (key
//! order, duplicate keys and number spellings are untouched, unlike a parse and re-serialize).

use std::borrow::Cow;

use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

/// The offset of the first whitespace outside the strings of `json` at or after `from`, which
/// must be outside a string. Strings are jumped over with a vectorised search for their closing
/// quote (a byte-by-byte walk was 6 % of `normalize`); only the bytes between strings, mostly
/// punctuation, are looked at one by one.
fn next_insignificant_whitespace(json: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let rest = json.get(at..)?;
        let offset = rest.iter().position(|&b| matches!(b, b'"' | b' ' | b'\n' | b'\r' | b'\t'))?;
        at += offset;
        if json.get(at) != Some(&b'"') {
            return Some(at);
        }
        // In a string: find its closing quote, stepping over escapes.
        at += 1;
        loop {
            at += memchr::memchr2(b'"', b'\\', json.get(at..)?)?;
            if json.get(at) == Some(&b'"') {
                at += 1;
                break;
            }
            at += 2;
        }
    }
}

/// `text` (JSON) without the whitespace outside its strings; borrowed when there is none.
pub(crate) fn compact_json(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(mut at) = next_insignificant_whitespace(bytes, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    loop {
        // Whitespace is one ASCII byte: `at` and `at + 1` are character boundaries.
        out.push_str(text.get(from..at).unwrap_or_default());
        from = at + 1;
        match next_insignificant_whitespace(bytes, from) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.push_str(text.get(from..).unwrap_or_default());
    Cow::Owned(out)
}

/// Serializes a raw JSON value compacted.
fn serialize_raw<S: Serializer>(raw: &RawValue, serializer: S) -> Result<S::Ok, S::Error> {
    match compact_json(raw.get()) {
        Cow::Borrowed(_) => raw.serialize(serializer),
        Cow::Owned(text) => RawValue::from_string(text).map_err(S::Error::custom)?.serialize(serializer),
    }
}

/// Newtype so maps and options of raw values serialize compacted too.
pub(crate) struct Compact<'a>(pub(crate) &'a RawValue);

impl Serialize for Compact<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_raw(self.0, serializer)
    }
}

/// `serialize_with` for `Option<Box<RawValue>>` fields.
pub(crate) fn serialize_opt_raw<S: Serializer>(
    raw: &Option<Box<RawValue>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    raw.as_deref().map(Compact).serialize(serializer)
}

/// `serialize_with` for `raw_data`: a record's JSON text is compacted; text that is not JSON (a
/// log line) is kept as it is (a JSON string escapes its line breaks).
pub(crate) fn serialize_raw_text<S: Serializer>(
    text: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let text = text.as_deref().map(|text| match compact_json(text) {
        Cow::Owned(compact) if serde_json::from_str::<&RawValue>(text).is_ok() => Cow::Owned(compact),
        _ => Cow::Borrowed(text),
    });
    text.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_drops_whitespace_between_tokens_only() {
        let cases = [
            ("{\"a\":1,\"b\":[true,null]}", "{\"a\":1,\"b\":[true,null]}"),
            ("{\n  \"a\": 1,\r\n\t\"b\": [ true, null ]\n}", "{\"a\":1,\"b\":[true,null]}"),
            ("{ \"a b\": \" x \\\" y \" }", "{\"a b\":\" x \\\" y \"}"),
            (
                "{\"k\": \"ends in backslash \\\\\", \"n\": 1.50e3}",
                "{\"k\":\"ends in backslash \\\\\",\"n\":1.50e3}",
            ),
            ("[ \"é ü\" , 2 ]", "[\"é ü\",2]"),
            ("{\"a\":\"\\\\\" , \"b\" : 1 }", "{\"a\":\"\\\\\",\"b\":1}"),
            (" {\"s\": \"\\\"quoted\\\" \"} ", "{\"s\":\"\\\"quoted\\\" \"}"),
            ("{\"cut\": \"never closed ", "{\"cut\":\"never closed "),
        ];
        for (input, want) in cases {
            assert_eq!(compact_json(input), want, "{input}");
        }
    }

    /// The byte-by-byte walk the vectorised scan replaced: the reference it must agree with.
    fn walked(text: &str) -> String {
        let (mut in_string, mut escaped) = (false, false);
        let mut out = String::new();
        for c in text.chars() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if matches!(c, ' ' | '\n' | '\r' | '\t') {
                continue;
            }
            out.push(c);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_scan_agrees_with_a_byte_walk(text in "[ \\t\\r\\n\"\\\\{}:,ab1é]{0,40}") {
            proptest::prop_assert_eq!(compact_json(&text).into_owned(), walked(&text));
        }
    }

    #[test]
    fn compact_input_is_borrowed_not_copied() {
        assert!(matches!(compact_json("{\"a\":\"with spaces inside\"}"), Cow::Borrowed(_)));
        assert!(matches!(compact_json("{\"a\": 1}"), Cow::Owned(_)));
    }

    #[test]
    fn raw_text_compacts_json_and_keeps_other_text() {
        #[derive(Serialize)]
        struct T {
            #[serde(serialize_with = "serialize_raw_text")]
            raw: Option<String>,
        }
        let json = T { raw: Some("{\n \"a\": [1, 2]\n}".into()) };
        assert_eq!(serde_json::to_string(&json).unwrap_or_default(), r#"{"raw":"{\"a\":[1,2]}"}"#);
        let line = T { raw: Some("[2024-01-01T00:00:00,000][INFO ] not json".into()) };
        assert_eq!(
            serde_json::to_string(&line).unwrap_or_default(),
            r#"{"raw":"[2024-01-01T00:00:00,000][INFO ] not json"}"#
        );
    }
}
