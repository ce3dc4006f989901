//! Building request bodies: events are encoded straight into the body buffer, within the byte and
//! count limits; each record's place is kept so that part of a batch can be re-framed (resent or
//! dead-lettered) without decoding the body. Pure: no I/O.

use std::ops::Range;

use crate::event::OutboundEvent;
use crate::sinks::{Encoder, Framing, SinkLimits};

/// The limits a run batches by: the sink's, lowered by `BATCH_MAX_BYTES` / `BATCH_MAX_EVENTS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLimits {
    /// Cap on a body, framing included.
    pub max_bytes: usize,
    /// Cap on records in a body (at least 1).
    pub max_events: usize,
    /// Cap on one record.
    pub max_record_bytes: usize,
}

impl BatchLimits {
    /// The lower of the sink's limits and the configured ones.
    pub fn new(sink: SinkLimits, max_bytes: Option<usize>, max_events: Option<usize>) -> Self {
        Self {
            max_bytes: max_bytes.map_or(sink.max_body_bytes, |m| m.min(sink.max_body_bytes)),
            max_events: max_events.map_or(sink.max_events, |m| m.min(sink.max_events)).max(1),
            max_record_bytes: sink.max_record_bytes,
        }
    }
}

/// What happened to an event offered to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// It is in the batch.
    Yes,
    /// The batch is full: send it, then offer the event to a new one. (Never said of an empty
    /// batch.)
    Full,
    /// The event can never be sent: its record is larger than `limit` bytes on its own.
    TooLarge {
        /// The encoded record's size.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
}

/// A body being filled.
#[derive(Debug)]
pub(crate) struct Batch {
    framing: Framing,
    body: Vec<u8>,
    records: Vec<Range<usize>>,
    times: Option<(i64, i64)>,
}

/// A finished body and the places of its records.
#[derive(Debug, Clone)]
pub(crate) struct Sealed {
    /// The uncompressed body, framing included.
    pub body: Vec<u8>,
    /// Each record's bytes in `body`.
    pub records: Vec<Range<usize>>,
    /// Earliest and latest event time (ms), when any event had one.
    pub times: Option<(i64, i64)>,
}

impl Batch {
    /// An empty batch, its buffer sized for `capacity` bytes.
    pub fn new(framing: Framing, capacity: usize) -> Self {
        let mut body = Vec::with_capacity(capacity);
        body.extend_from_slice(framing.prefix);
        Self { framing, body, records: Vec::new(), times: None }
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Encodes `event` into the batch if it fits within `limits`.
    pub fn add(&mut self, encoder: &dyn Encoder, limits: &BatchLimits, event: &OutboundEvent) -> Added {
        if self.records.len() >= limits.max_events {
            return Added::Full;
        }
        let mark = self.body.len();
        if !self.records.is_empty() {
            self.body.extend_from_slice(self.framing.separator);
        }
        let start = self.body.len();
        encoder.encode(event, &mut self.body);
        let size = self.body.len() - start;
        let framing = self.framing.prefix.len() + self.framing.suffix.len();
        let alone = limits.max_bytes.saturating_sub(framing).min(limits.max_record_bytes);
        if size > alone {
            self.body.truncate(mark);
            return Added::TooLarge { size, limit: alone };
        }
        if self.body.len() + self.framing.suffix.len() > limits.max_bytes {
            // Encoding twice once per batch is cheaper than measuring every event beforehand.
            self.body.truncate(mark);
            return Added::Full;
        }
        self.records.push(start..self.body.len());
        if event.time_ms > 0 {
            let (first, last) = self.times.unwrap_or((event.time_ms, event.time_ms));
            self.times = Some((first.min(event.time_ms), last.max(event.time_ms)));
        }
        Added::Yes
    }

    /// Closes the body and hands it over; `self` starts again empty.
    pub fn seal(&mut self, capacity: usize) -> Sealed {
        let mut sealed = std::mem::replace(self, Batch::new(self.framing, capacity));
        sealed.body.extend_from_slice(sealed.framing.suffix);
        Sealed { body: sealed.body, records: sealed.records, times: sealed.times }
    }
}

/// A new body holding `records` of `body` (by their places), framed by `framing`; and their new
/// places.
pub(crate) fn reframe(
    framing: Framing,
    body: &[u8],
    records: &[Range<usize>],
) -> (Vec<u8>, Vec<Range<usize>>) {
    let size: usize = records.iter().map(|r| r.len() + framing.separator.len()).sum();
    let mut out = Vec::with_capacity(size + framing.prefix.len() + framing.suffix.len());
    out.extend_from_slice(framing.prefix);
    let mut places = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(framing.separator);
        }
        let start = out.len();
        out.extend_from_slice(&body[record.clone()]);
        places.push(start..out.len());
    }
    out.extend_from_slice(framing.suffix);
    (out, places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::NdjsonEncoder;

    /// Records wrapped as `{"e":<json>}` in a JSON array: framing overhead of 2, record overhead 6.
    struct ArrayEncoder;

    impl Encoder for ArrayEncoder {
        fn framing(&self) -> Framing {
            Framing::JSON_ARRAY
        }
        fn encode(&self, event: &OutboundEvent, out: &mut Vec<u8>) {
            out.extend_from_slice(b"{\"e\":");
            out.extend_from_slice(event.json.as_bytes());
            out.push(b'}');
        }
        fn original<'a>(&self, record: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
            std::borrow::Cow::Borrowed(&record[5..record.len() - 1])
        }
    }

    fn event(size: usize, time_ms: i64) -> OutboundEvent {
        // A JSON string of exactly `size` bytes (size >= 2).
        OutboundEvent { time_ms, json: format!("\"{}\"", "x".repeat(size - 2)) }
    }

    /// Feeds events of `sizes` and returns the batches' record counts, the oversize events' indexes,
    /// and checks every body against the limits.
    fn run(encoder: &dyn Encoder, limits: BatchLimits, sizes: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut batch = Batch::new(encoder.framing(), 16);
        let mut counts = Vec::new();
        let mut too_large = Vec::new();
        let check = |sealed: Sealed, counts: &mut Vec<usize>| {
            assert!(
                sealed.body.len() <= limits.max_bytes,
                "body {} > {}",
                sealed.body.len(),
                limits.max_bytes
            );
            counts.push(sealed.records.len());
        };
        for (i, size) in sizes.iter().enumerate() {
            let e = event(*size, 1);
            loop {
                match batch.add(encoder, &limits, &e) {
                    Added::Yes => break,
                    Added::TooLarge { .. } => {
                        too_large.push(i);
                        break;
                    }
                    Added::Full => {
                        assert!(!batch.is_empty());
                        check(batch.seal(16), &mut counts);
                    }
                }
            }
        }
        if !batch.is_empty() {
            check(batch.seal(16), &mut counts);
        }
        (counts, too_large)
    }

    #[test]
    fn batches_by_bytes_and_by_count() {
        let limits =
            |max_bytes, max_events, max_record_bytes| BatchLimits { max_bytes, max_events, max_record_bytes };
        // (name, ndjson?, limits, event sizes, expected batch sizes, expected oversize indexes)
        type Case = (&'static str, bool, BatchLimits, Vec<usize>, Vec<usize>, Vec<usize>);
        let cases: Vec<Case> = vec![
            ("count cap", true, limits(1_000, 3, 1_000), vec![10; 7], vec![3, 3, 1], vec![]),
            ("count cap of one", true, limits(1_000, 1, 1_000), vec![10; 3], vec![1, 1, 1], vec![]),
            // NDJSON: each record costs size + 1 (newline).
            ("bytes exact fit", true, limits(33, 100, 1_000), vec![10; 6], vec![3, 3], vec![]),
            ("bytes one short", true, limits(32, 100, 1_000), vec![10; 6], vec![2, 2, 2], vec![]),
            ("record alone fills body", true, limits(11, 100, 1_000), vec![10; 3], vec![1, 1, 1], vec![]),
            ("record over body cap", true, limits(10, 100, 1_000), vec![10, 9, 10], vec![1], vec![0, 2]),
            ("record over record cap", true, limits(1_000, 100, 50), vec![50, 51, 50], vec![2], vec![1]),
            ("mixed sizes", true, limits(100, 100, 1_000), vec![60, 30, 20, 90, 5], vec![2, 1, 2], vec![]),
            // JSON array: 2 bytes of brackets, record = size + 6, separator 1.
            ("array exact fit", false, limits(2 + 16 * 3 + 2, 100, 1_000), vec![10; 5], vec![3, 2], vec![]),
            (
                "array one short",
                false,
                limits(2 + 16 * 3 + 1, 100, 1_000),
                vec![10; 5],
                vec![2, 2, 1],
                vec![],
            ),
            ("array record alone", false, limits(18, 100, 1_000), vec![10, 11], vec![1], vec![1]),
            ("array count cap", false, limits(10_000, 2, 1_000), vec![10; 5], vec![2, 2, 1], vec![]),
        ];
        for (name, ndjson, limits, sizes, batches, oversize) in cases {
            let encoder: &dyn Encoder = if ndjson { &NdjsonEncoder } else { &ArrayEncoder };
            assert_eq!(run(encoder, limits, &sizes), (batches, oversize), "{name}");
        }
    }

    #[test]
    fn limits_take_the_lower_of_sink_and_settings() {
        let sink = SinkLimits { max_body_bytes: 5_000_000, max_events: 1_000, max_record_bytes: 1_000_000 };
        assert_eq!(
            BatchLimits::new(sink, None, None),
            BatchLimits { max_bytes: 5_000_000, max_events: 1_000, max_record_bytes: 1_000_000 }
        );
        assert_eq!(
            BatchLimits::new(sink, Some(100_000), Some(5_000)),
            BatchLimits { max_bytes: 100_000, max_events: 1_000, max_record_bytes: 1_000_000 }
        );
        assert_eq!(BatchLimits::new(sink, Some(9_000_000), Some(10)).max_events, 10);
        assert_eq!(BatchLimits::new(sink, Some(9_000_000), Some(10)).max_bytes, 5_000_000);
    }

    #[test]
    fn sealed_bodies_are_framed_and_records_placed_and_reframed() {
        let limits = BatchLimits { max_bytes: 1_000, max_events: 10, max_record_bytes: 1_000 };
        let mut batch = Batch::new(Framing::JSON_ARRAY, 0);
        for (json, t) in [("1", 30), ("[2]", 10), ("{\"a\":3}", 0)] {
            let e = OutboundEvent { time_ms: t, json: json.to_string() };
            assert_eq!(batch.add(&ArrayEncoder, &limits, &e), Added::Yes);
        }
        let sealed = batch.seal(0);
        assert!(batch.is_empty());
        assert_eq!(String::from_utf8(sealed.body.clone()).unwrap(), r#"[{"e":1},{"e":[2]},{"e":{"a":3}}]"#);
        assert_eq!(sealed.times, Some((10, 30)));
        let originals: Vec<_> = sealed
            .records
            .iter()
            .map(|r| ArrayEncoder.original(&sealed.body[r.clone()]).into_owned())
            .collect();
        assert_eq!(originals, vec![b"1".to_vec(), b"[2]".to_vec(), b"{\"a\":3}".to_vec()]);
        let (body, places) = reframe(Framing::JSON_ARRAY, &sealed.body, &sealed.records[1..]);
        assert_eq!(String::from_utf8(body.clone()).unwrap(), r#"[{"e":[2]},{"e":{"a":3}}]"#);
        assert_eq!(&body[places[1].clone()], br#"{"e":{"a":3}}"#);
        let (body, places) = reframe(Framing::LINES, &sealed.body, &sealed.records[..1]);
        assert_eq!(body, b"{\"e\":1}\n".to_vec());
        assert_eq!(places.len(), 1);
        assert_eq!(places[0], 0..7);
    }
}
