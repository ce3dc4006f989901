//! The CloudTrail splitter fed in two chunks, and the streaming reader (gzip sniffing, inflate cap)
//! on the same bytes: neither may panic, and both must agree on the records.
#![no_main]

use audit_relay::sources::cloudtrail::reader::{RawRecord, RecordReader};
use audit_relay::sources::cloudtrail::splitter::{Item, RecordSplitter};
use libfuzzer_sys::fuzz_target;

fn split(data: &[u8], cut: usize) -> Option<Vec<Vec<u8>>> {
    let mut splitter = RecordSplitter::new(4096);
    let mut out = Vec::new();
    for piece in [&data[..cut], &data[cut..]] {
        splitter.feed(piece);
        loop {
            match splitter.next_item().ok()? {
                Some(Item::Record(range)) => out.push(splitter.slice(range).to_vec()),
                Some(Item::Oversized { size }) => out.push(format!("<{size}>").into_bytes()),
                None => break,
            }
            assert!(out.len() <= data.len() + 1, "more records than bytes: the splitter loops");
        }
    }
    splitter.finish().ok()?;
    Some(out)
}

async fn read(data: Vec<u8>) -> Option<Vec<Vec<u8>>> {
    let mut reader = RecordReader::open(std::io::Cursor::new(data), 1 << 20, 4096).await.ok()?;
    let mut out = Vec::new();
    while let Some((_, record)) = reader.next_record().await.ok()? {
        match record {
            RawRecord::Json(json) => out.push(json.to_vec()),
            RawRecord::Oversized { size } => out.push(format!("<{size}>").into_bytes()),
        }
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let whole = split(data, 0);
    assert_eq!(split(data, cut), whole, "chunking changed the records");
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else { return };
    let read = runtime.block_on(read(data.to_vec()));
    if !data.starts_with(&[0x1f, 0x8b]) && data.len() <= 1 << 20 {
        assert_eq!(read, whole, "the reader and the splitter disagree on plain JSON");
    }
});
