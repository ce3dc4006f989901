//! The streaming reader on a generated 200,000-record log file: every record comes out once, in
//! order, whole, and the reader's buffer never holds more than a chunk and a record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_relay::sources::cloudtrail::reader::{RawRecord, RecordReader};
use audit_relay_tests::corpus;

#[tokio::test]
async fn two_hundred_thousand_records_stream_in_order() {
    const RECORDS: u64 = 200_000;
    let gz = corpus::gz_bytes(RECORDS, 11);
    let mut reader = RecordReader::open(std::io::Cursor::new(gz), u64::MAX, 1 << 20).await.unwrap();
    let mut next = 0u64;
    let mut largest = 0usize;
    while let Some((index, record)) = reader.next_record().await.unwrap() {
        let RawRecord::Json(bytes) = record else { panic!("record {index} oversized") };
        assert_eq!(index, next);
        assert_eq!(bytes, corpus::record(11, index).as_bytes(), "record {index}");
        largest = largest.max(bytes.len());
        next += 1;
    }
    assert_eq!(next, RECORDS);
    assert!(reader.inflated_bytes() > RECORDS * 700, "about 1 KB per record: {}", reader.inflated_bytes());
    assert!(largest < 4096, "{largest}");
}
