//! An incremental splitter for a CloudTrail log file, `{"Records":[{...},{...}]}` (api-contracts.md
//! §1.1): fed the inflated bytes chunk by chunk, it yields the JSON text of one record at a time, so
//! memory holds one record, not the file. It only finds record boundaries (strings, escapes and
//! nesting); each record is parsed afterwards by the mapping.

use std::ops::Range;

/// Why the document is not a readable CloudTrail log file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The document is valid so far but is not `{"Records":[...]}` (e.g. a digest file).
    #[error("not a CloudTrail log file: {0}")]
    NotCloudTrail(String),
    /// A byte that JSON does not allow where it stands.
    #[error("invalid JSON at byte {offset}: {found}")]
    Syntax {
        /// Offset in the inflated document.
        offset: u64,
        /// What was found.
        found: String,
    },
    /// The input ended inside the document.
    #[error("the file ends in the middle of the document after {records} records (truncated?)")]
    Truncated {
        /// Records read before the end.
        records: u64,
    },
}

/// One element of the `Records` array, as a range of [`RecordSplitter::slice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A whole record's JSON text.
    Record(Range<usize>),
    /// A record larger than the limit: skipped, only its size is known.
    Oversized {
        /// Its size in bytes.
        size: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the top-level `{`.
    Start,
    /// Inside the top-level object, before a key (or `}`).
    TopKey,
    /// After a top-level key, before its `:`.
    TopColon { records: bool },
    /// After `:`, before the value.
    TopValue { records: bool },
    /// Skipping a top-level value that is not `Records`.
    SkipValue,
    /// After a top-level value, before `,` or `}`.
    TopAfterValue,
    /// Inside `Records`, before an element, `,` or `]`.
    InArray,
    /// Inside an element.
    InElement,
    /// After the top-level `}`.
    Done,
}

/// Scanner state of one JSON value being read (an element, a key, or a skipped value).
#[derive(Debug, Clone, Copy, Default)]
struct ValueScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// The value is a bare scalar (number, true, false, null): ends at a delimiter.
    scalar: bool,
    started: bool,
}

/// The incremental splitter. Feed bytes with [`feed`](Self::feed), take items with
/// [`next_item`](Self::next_item) until it returns `None`, repeat; call [`finish`](Self::finish) at
/// the end of input.
#[derive(Debug)]
pub(crate) struct RecordSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    pos: usize,
    /// Start of the element or key being read, in `buf`.
    mark: usize,
    /// Bytes dropped from the front of `buf` so far (for offsets in errors).
    dropped: u64,
    phase: Phase,
    scan: ValueScan,
    saw_records: bool,
    records: u64,
    max_record_bytes: usize,
    /// Size of an oversized element being skipped (its bytes are not kept).
    oversized: Option<u64>,
    key: Vec<u8>,
}

const WHITESPACE: [u8; 4] = [b' ', b'\n', b'\r', b'\t'];

impl RecordSplitter {
    /// A splitter that refuses to hold a record larger than `max_record_bytes`.
    pub fn new(max_record_bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(128 * 1024),
            pos: 0,
            mark: 0,
            dropped: 0,
            phase: Phase::Start,
            scan: ValueScan::default(),
            saw_records: false,
            records: 0,
            max_record_bytes,
            oversized: None,
            key: Vec::new(),
        }
    }

    /// Records yielded so far (oversized ones included).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Appends inflated bytes. Drops what earlier items consumed first, so the buffer holds at most
    /// one partial record plus the new chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        let keep_from = if matches!(self.phase, Phase::InElement) && self.oversized.is_none() {
            self.mark
        } else {
            self.pos
        };
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.dropped += keep_from as u64;
            self.pos -= keep_from;
            self.mark = self.mark.saturating_sub(keep_from);
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The bytes of an item's range; valid until the next `feed`.
    pub fn slice(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// The next complete item in what was fed, `None` when more input is needed.
    pub fn next_item(&mut self) -> Result<Option<Item>, SplitError> {
        loop {
            match self.phase {
                Phase::Start => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    if b != b'{' {
                        return Err(self.not_cloudtrail_or_syntax(b, "the document is not a JSON object"));
                    }
                    self.pos += 1;
                    self.phase = Phase::TopKey;
                }
                Phase::TopKey => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    match b {
                        b'}' => {
                            self.pos += 1;
                            self.phase = Phase::Done;
                        }
                        b'"' => {
                            // Keys are short: read the whole string or wait for more input.
                            let Some(end) = self.string_end(self.pos + 1) else { return Ok(None) };
                            self.key.clear();
                            self.key.extend_from_slice(&self.buf[self.pos + 1..end]);
                            self.pos = end + 1;
                            self.phase = Phase::TopColon { records: self.key == b"Records" };
                        }
                        other => return Err(self.syntax(other)),
                    }
                }
                Phase::TopColon { records } => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    if b != b':' {
                        return Err(self.syntax(b));
                    }
                    self.pos += 1;
                    self.phase = Phase::TopValue { records };
                }
                Phase::TopValue { records } => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    if records {
                        if b != b'[' {
                            return Err(SplitError::NotCloudTrail("\"Records\" is not an array".to_string()));
                        }
                        self.saw_records = true;
                        self.pos += 1;
                        self.phase = Phase::InArray;
                    } else {
                        self.scan = ValueScan::default();
                        self.phase = Phase::SkipValue;
                    }
                }
                Phase::SkipValue => {
                    if !self.scan_value() {
                        return Ok(None);
                    }
                    self.phase = Phase::TopAfterValue;
                }
                Phase::TopAfterValue => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    match b {
                        b',' => {
                            self.pos += 1;
                            self.phase = Phase::TopKey;
                        }
                        b'}' => {
                            self.pos += 1;
                            self.phase = Phase::Done;
                        }
                        other => return Err(self.syntax(other)),
                    }
                }
                Phase::InArray => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    match b {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            self.phase = Phase::TopAfterValue;
                        }
                        // No value starts with `}`, and a scalar scan would end on it at once: an
                        // empty record, forever.
                        b'}' => return Err(self.syntax(b)),
                        _ => {
                            self.mark = self.pos;
                            self.scan = ValueScan::default();
                            self.phase = Phase::InElement;
                        }
                    }
                }
                Phase::InElement => {
                    let done = self.scan_value();
                    if self.oversized.is_none() && self.pos - self.mark > self.max_record_bytes {
                        self.oversized = Some(0);
                    }
                    if let Some(size) = self.oversized.as_mut() {
                        // Count and drop what was scanned: an oversized record is never held.
                        *size += (self.pos - self.mark) as u64;
                        self.mark = self.pos;
                    }
                    if !done {
                        return Ok(None);
                    }
                    self.phase = Phase::InArray;
                    self.records += 1;
                    return Ok(Some(match self.oversized.take() {
                        Some(size) => Item::Oversized { size },
                        None => Item::Record(self.mark..self.pos),
                    }));
                }
                Phase::Done => {
                    let Some(b) = self.next_significant() else { return Ok(None) };
                    return Err(self.syntax(b));
                }
            }
        }
    }

    /// Call at the end of input: an error unless the document was complete and had `Records`.
    pub fn finish(&self) -> Result<(), SplitError> {
        match self.phase {
            Phase::Done if self.saw_records => Ok(()),
            Phase::Done => {
                Err(SplitError::NotCloudTrail("no \"Records\" array (a digest file?)".to_string()))
            }
            Phase::Start if self.buf[self.pos..].iter().all(|b| WHITESPACE.contains(b)) => {
                Err(SplitError::NotCloudTrail("the file is empty".to_string()))
            }
            _ => Err(SplitError::Truncated { records: self.records }),
        }
    }

    /// Skips whitespace; the next byte, if any has been fed.
    fn next_significant(&mut self) -> Option<u8> {
        while let Some(&b) = self.buf.get(self.pos) {
            if !WHITESPACE.contains(&b) {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Index of the closing quote of a string whose content starts at `from`, if fed yet.
    fn string_end(&self, from: usize) -> Option<usize> {
        let mut i = from;
        loop {
            let offset = memchr::memchr2(b'"', b'\\', &self.buf[i..])?;
            let at = i + offset;
            if self.buf[at] == b'"' {
                return Some(at);
            }
            i = at + 2;
            if i > self.buf.len() {
                return None;
            }
        }
    }

    /// Advances over one JSON value from `self.pos`, resuming across feeds. True when it ended.
    fn scan_value(&mut self) -> bool {
        let scan = &mut self.scan;
        let buf = &self.buf;
        let mut i = self.pos;
        if !scan.started {
            match buf.get(i) {
                None => return false,
                Some(b'{' | b'[') => {}
                Some(b'"') => {}
                Some(_) => scan.scalar = true,
            }
            scan.started = true;
        }
        if scan.scalar {
            while let Some(&b) = buf.get(i) {
                if matches!(b, b',' | b']' | b'}') || WHITESPACE.contains(&b) {
                    self.pos = i;
                    return true;
                }
                i += 1;
            }
            self.pos = i;
            return false;
        }
        while i < buf.len() {
            if scan.in_string {
                if scan.escaped {
                    scan.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                    None => {
                        i = buf.len();
                    }
                    Some(offset) => {
                        let at = i + offset;
                        if buf[at] == b'\\' {
                            scan.escaped = true;
                        } else {
                            scan.in_string = false;
                            if scan.depth == 0 {
                                self.pos = at + 1;
                                return true;
                            }
                        }
                        i = at + 1;
                    }
                }
                continue;
            }
            match buf[i] {
                b'"' => scan.in_string = true,
                b'{' | b'[' => scan.depth += 1,
                b'}' | b']' => {
                    scan.depth = scan.depth.saturating_sub(1);
                    if scan.depth == 0 {
                        self.pos = i + 1;
                        return true;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = i;
        false
    }

    fn syntax(&self, found: u8) -> SplitError {
        SplitError::Syntax { offset: self.dropped + self.pos as u64, found: describe(found) }
    }

    fn not_cloudtrail_or_syntax(&self, found: u8, why: &str) -> SplitError {
        if found == b'[' {
            SplitError::NotCloudTrail(format!("{why} (it is an array)"))
        } else if found.is_ascii_graphic() {
            SplitError::Syntax {
                offset: self.dropped + self.pos as u64,
                found: format!("{} ({why})", describe(found)),
            }
        } else {
            SplitError::NotCloudTrail(format!("{why} (binary data)"))
        }
    }
}

fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `doc` fed in chunks of `chunk` bytes; returns the records' text and the final result.
    fn split(doc: &[u8], chunk: usize, max: usize) -> (Vec<String>, Result<(), SplitError>) {
        let mut splitter = RecordSplitter::new(max);
        let mut out = Vec::new();
        for piece in doc.chunks(chunk.max(1)) {
            splitter.feed(piece);
            loop {
                match splitter.next_item() {
                    Ok(Some(Item::Record(r))) => {
                        out.push(String::from_utf8(splitter.slice(r).to_vec()).unwrap())
                    }
                    Ok(Some(Item::Oversized { size })) => out.push(format!("<oversized {size}>")),
                    Ok(None) => break,
                    Err(e) => return (out, Err(e)),
                }
            }
        }
        (out, splitter.finish())
    }

    const DOC: &str = r#" {"Records": [ {"a":"x,}]{\"y","b":[1,{"c":null}]} ,{"eventID":"2","s":"\\"}, 3 ,"str" ], "other": {"k":[1,2]} } "#;

    #[test]
    fn yields_each_record_whatever_the_chunking() {
        let expected = vec![
            r#"{"a":"x,}]{\"y","b":[1,{"c":null}]}"#.to_string(),
            r#"{"eventID":"2","s":"\\"}"#.to_string(),
            "3".to_string(),
            r#""str""#.to_string(),
        ];
        for chunk in [1, 2, 3, 5, 7, 16, 1000] {
            let (records, end) = split(DOC.as_bytes(), chunk, 1 << 20);
            assert_eq!(records, expected, "chunk {chunk}");
            assert_eq!(end, Ok(()), "chunk {chunk}");
        }
    }

    #[test]
    fn records_before_a_cut_are_yielded_then_truncation_is_reported() {
        let doc = r#"{"Records":[{"eventID":"1"},{"eventID":"2"},{"eventID":"3","x":"abc"#;
        for chunk in [1, 4, 100] {
            let (records, end) = split(doc.as_bytes(), chunk, 1 << 20);
            assert_eq!(records, vec![r#"{"eventID":"1"}"#, r#"{"eventID":"2"}"#]);
            assert_eq!(end, Err(SplitError::Truncated { records: 2 }));
        }
    }

    #[test]
    fn non_cloudtrail_documents_are_named() {
        let cases: &[(&str, &str)] = &[
            (r#"{"awsAccountId":"1","logFiles":[{"s3Object":"a"}]}"#, "no \"Records\" array"),
            (r#"{"Records":{"a":1}}"#, "\"Records\" is not an array"),
            (r#"[{"eventID":"1"}]"#, "it is an array"),
            ("", "the file is empty"),
            ("  \n", "the file is empty"),
        ];
        for (doc, why) in cases {
            let (records, end) = split(doc.as_bytes(), 3, 1 << 20);
            assert!(records.is_empty(), "{doc}");
            match end {
                Err(SplitError::NotCloudTrail(message)) => assert!(message.contains(why), "{doc}: {message}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_brace_where_an_element_should_be_is_an_error_not_endless_empty_records() {
        for doc in [&br#"{"Records":[{"a":1}}"#[..], br#"{"Records":[}"#, br#"{"Records":[1, }]}"#] {
            for chunk in [1, 3, doc.len()] {
                let (records, end) = split(doc, chunk, 1 << 20);
                assert!(records.len() <= 1, "{records:?}");
                assert!(
                    matches!(end, Err(SplitError::Syntax { ref found, .. }) if found == "'}'"),
                    "{end:?}"
                );
            }
        }
    }

    #[test]
    fn garbage_is_a_syntax_error_with_its_offset() {
        let (_, end) = split(b"{\"Records\":[]} x", 4, 1 << 20);
        assert_eq!(end, Err(SplitError::Syntax { offset: 15, found: "'x'".to_string() }));
        let (_, end) = split(b"hello", 4, 1 << 20);
        assert!(matches!(end, Err(SplitError::Syntax { offset: 0, .. })), "{end:?}");
        let (_, end) = split(&[0x1f, 0x8b, 0x08, 0x00], 4, 1 << 20);
        assert!(matches!(end, Err(SplitError::NotCloudTrail(_))), "{end:?}");
    }

    #[test]
    fn oversized_records_are_skipped_without_being_held() {
        let big = format!(r#"{{"eventID":"big","pad":"{}"}}"#, "x".repeat(10_000));
        let doc = format!(r#"{{"Records":[{{"eventID":"1"}},{big},{{"eventID":"3"}}]}}"#);
        let mut splitter = RecordSplitter::new(1_000);
        let mut items = Vec::new();
        let mut peak = 0;
        for piece in doc.as_bytes().chunks(256) {
            splitter.feed(piece);
            peak = peak.max(splitter.buf.len());
            while let Some(item) = splitter.next_item().unwrap() {
                items.push(match item {
                    Item::Record(r) => String::from_utf8(splitter.slice(r).to_vec()).unwrap(),
                    Item::Oversized { size } => format!("<oversized {size}>"),
                });
            }
        }
        splitter.finish().unwrap();
        assert_eq!(
            items,
            vec![
                r#"{"eventID":"1"}"#.to_string(),
                format!("<oversized {}>", big.len()),
                r#"{"eventID":"3"}"#.to_string()
            ]
        );
        assert!(peak < 1_000 + 2 * 256, "buffer grew to {peak}");
        assert_eq!(splitter.records(), 3);
    }

    #[test]
    fn buffer_holds_one_record_not_the_file() {
        let record = r#"{"eventID":"00000000-0000-0000-0000-000000000000","eventName":"GetObject","requestParameters":{"bucketName":"b"}}"#;
        let doc = format!("{{\"Records\":[{}]}}", vec![record; 5_000].join(","));
        let mut splitter = RecordSplitter::new(1 << 20);
        let mut count = 0;
        let mut peak = 0;
        for piece in doc.as_bytes().chunks(4096) {
            splitter.feed(piece);
            peak = peak.max(splitter.buf.len());
            while let Some(item) = splitter.next_item().unwrap() {
                assert_eq!(item, Item::Record(item_range(&item)));
                count += 1;
            }
        }
        splitter.finish().unwrap();
        assert_eq!(count, 5_000);
        assert!(peak <= 4096 + record.len() + 1, "buffer grew to {peak}");
    }

    fn item_range(item: &Item) -> Range<usize> {
        match item {
            Item::Record(r) => r.clone(),
            Item::Oversized { .. } => panic!("unexpected oversized"),
        }
    }
}
