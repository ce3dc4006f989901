//! Streams a CloudTrail log file from any byte source (an S3 GetObject body, a local file): sniffs
//! gzip by its magic bytes (`.json.gz` and plain `.json` both work), inflates incrementally with a
//! cap on the inflated size (`MAX_OBJECT_BYTES`), and yields one record at a time through
//! [`RecordSplitter`]. Memory holds one 64 KiB chunk and one record, whatever the file's size.
//! On request ([`RecordReader::with_hash`]) the inflated bytes are hashed (SHA-256) as they pass,
//! for the CloudTrail digest checks: no second read.

use std::io;
use std::pin::Pin;

use async_compression::tokio::bufread::GzipDecoder;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use super::splitter::{Item, RecordSplitter, SplitError};

const CHUNK_BYTES: usize = 64 * 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The byte source failed (network, S3): worth retrying.
    #[error("reading failed: {0}")]
    Io(io::Error),
    /// The gzip stream is corrupt or cut short: retrying will not help.
    #[error("corrupt gzip data: {0}")]
    CorruptGzip(io::Error),
    /// The inflated document passed `MAX_OBJECT_BYTES` (a gzip bomb, or a limit set too low).
    #[error("inflated size passes the limit of {limit} bytes (MAX_OBJECT_BYTES)")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The inflated document is not a readable CloudTrail log file.
    #[error(transparent)]
    Format(#[from] SplitError),
}

impl ReadError {
    /// Whether reading the object again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Io(_))
    }
}

/// One element of `Records`.
#[derive(Debug, PartialEq, Eq)]
pub enum RawRecord<'a> {
    /// The record's JSON text (bytes as in the file; UTF-8 is checked by the caller).
    Json(&'a [u8]),
    /// A record past `MAX_RECORD_BYTES`, skipped.
    Oversized {
        /// Its size.
        size: u64,
    },
}

/// Reads records from one log file.
pub struct RecordReader {
    input: Pin<Box<dyn AsyncRead + Send>>,
    splitter: RecordSplitter,
    chunk: Vec<u8>,
    inflated: u64,
    max_object_bytes: u64,
    finished: bool,
    /// The SHA-256 of the inflated bytes so far (`None`: not hashed).
    hasher: Option<Sha256>,
}

impl RecordReader {
    /// Opens `raw` (gzip or plain JSON).
    pub async fn open<R>(raw: R, max_object_bytes: u64, max_record_bytes: usize) -> Result<Self, ReadError>
    where
        R: AsyncRead + Send + 'static,
    {
        let mut buffered = Box::pin(BufReader::with_capacity(CHUNK_BYTES, SourceRead(Box::pin(raw))));
        let gzipped = buffered.as_mut().fill_buf().await.map_err(classify)?.starts_with(&GZIP_MAGIC);
        let input: Pin<Box<dyn AsyncRead + Send>> = if gzipped {
            let mut decoder = GzipDecoder::new(buffered);
            // CloudTrail writes one member, but concatenated gzip files are valid gzip too.
            decoder.multiple_members(true);
            Box::pin(decoder)
        } else {
            Box::pin(buffered)
        };
        Ok(Self {
            input,
            splitter: RecordSplitter::new(max_record_bytes),
            chunk: vec![0; CHUNK_BYTES],
            inflated: 0,
            max_object_bytes,
            finished: false,
            hasher: None,
        })
    }

    /// Records read so far.
    pub fn records(&self) -> u64 {
        self.splitter.records()
    }

    /// Inflated bytes read so far.
    pub fn inflated_bytes(&self) -> u64 {
        self.inflated
    }

    /// The hex SHA-256 of the inflated content, once the whole file was read (`None` before, or
    /// when not hashed).
    pub fn content_sha256(&self) -> Option<String> {
        let hasher = self.hasher.as_ref().filter(|_| self.finished)?;
        Some(hex::encode(hasher.clone().finalize()))
    }

    /// This reader, taking the SHA-256 of the inflated bytes as they pass (read by
    /// [`RecordReader::content_sha256`] at the end); call before the first record.
    pub fn with_hash(mut self) -> Self {
        self.hasher = Some(Sha256::new());
        self
    }

    /// The next record with its zero-based index in `Records`; `None` at the end of a complete file.
    pub async fn next_record(&mut self) -> Result<Option<(u64, RawRecord<'_>)>, ReadError> {
        loop {
            match self.splitter.next_item()? {
                Some(Item::Record(range)) => {
                    let index = self.splitter.records() - 1;
                    return Ok(Some((index, RawRecord::Json(self.splitter.slice(range)))));
                }
                Some(Item::Oversized { size }) => {
                    return Ok(Some((self.splitter.records() - 1, RawRecord::Oversized { size })))
                }
                None if self.finished => {
                    self.splitter.finish()?;
                    return Ok(None);
                }
                None => {}
            }
            let read = self.input.read(&mut self.chunk).await.map_err(classify)?;
            if read == 0 {
                self.finished = true;
                continue;
            }
            self.inflated += read as u64;
            if self.inflated > self.max_object_bytes {
                return Err(ReadError::TooLarge { limit: self.max_object_bytes });
            }
            if let Some(hasher) = &mut self.hasher {
                hasher.update(&self.chunk[..read]);
            }
            self.splitter.feed(&self.chunk[..read]);
        }
    }
}

/// An error of the byte source itself (S3, network, disk), as opposed to the decoder's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SourceError(io::Error);

/// Tags the byte source's errors, so they can be told from the decoder's (which are permanent).
struct SourceRead(Pin<Box<dyn AsyncRead + Send>>);

impl AsyncRead for SourceRead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        self.0.as_mut().poll_read(cx, buf).map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

/// The byte source's errors are worth retrying; the decoder's mean corrupt data.
fn classify(error: io::Error) -> ReadError {
    let from_source = error.get_ref().is_some_and(|inner| inner.is::<SourceError>());
    if from_source {
        ReadError::Io(error)
    } else {
        ReadError::CorruptGzip(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    async fn read_all(bytes: Vec<u8>, max_object: u64) -> (Vec<String>, Result<(), ReadError>) {
        let mut reader = match RecordReader::open(io::Cursor::new(bytes), max_object, 1 << 20).await {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Err(e)),
        };
        let mut out = Vec::new();
        loop {
            match reader.next_record().await {
                Ok(Some((_, RawRecord::Json(json)))) => out.push(String::from_utf8(json.to_vec()).unwrap()),
                Ok(Some((_, RawRecord::Oversized { size }))) => out.push(format!("<{size}>")),
                Ok(None) => return (out, Ok(())),
                Err(e) => return (out, Err(e)),
            }
        }
    }

    const DOC: &[u8] = br#"{"Records":[{"eventID":"1"},{"eventID":"2"}]}"#;

    #[tokio::test]
    async fn the_inflated_content_is_hashed_on_the_way() {
        for bytes in [gzip(DOC), DOC.to_vec()] {
            let mut plain =
                RecordReader::open(io::Cursor::new(bytes.clone()), 1 << 20, 1 << 20).await.unwrap();
            while plain.next_record().await.unwrap().is_some() {}
            assert_eq!(plain.content_sha256(), None, "hashed only when asked");
            let mut reader =
                RecordReader::open(io::Cursor::new(bytes), 1 << 20, 1 << 20).await.unwrap().with_hash();
            assert_eq!(reader.content_sha256(), None, "not before the end");
            while reader.next_record().await.unwrap().is_some() {}
            assert_eq!(reader.content_sha256().unwrap(), crate::integrity::digest::sha256_hex(DOC));
        }
    }

    #[tokio::test]
    async fn reads_gzip_and_plain_json_alike() {
        for bytes in [gzip(DOC), DOC.to_vec(), [gzip(&DOC[..20]), gzip(&DOC[20..])].concat()] {
            let (records, end) = read_all(bytes, 1 << 20).await;
            assert_eq!(records, vec![r#"{"eventID":"1"}"#, r#"{"eventID":"2"}"#]);
            end.unwrap();
        }
    }

    #[tokio::test]
    async fn corrupt_gzip_is_permanent_and_named() {
        let mut bytes = gzip(DOC);
        let middle = bytes.len() / 2;
        bytes[middle..].iter_mut().for_each(|b| *b ^= 0x5a);
        let (_, end) = read_all(bytes, 1 << 20).await;
        let error = end.unwrap_err();
        assert!(matches!(error, ReadError::CorruptGzip(_) | ReadError::Format(_)), "{error:?}");
        assert!(!error.is_transient());
    }

    /// A byte source that fails after `ok` bytes, like an S3 body whose connection drops.
    struct Failing {
        data: io::Cursor<Vec<u8>>,
        ok: usize,
    }

    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            if self.data.position() as usize >= self.ok {
                return std::task::Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset",
                )));
            }
            let ok = self.ok;
            let mut limited = buf.take(ok - self.data.position() as usize);
            let before = limited.filled().len();
            let result = Pin::new(&mut self.data).poll_read(cx, &mut limited);
            let read = limited.filled().len() - before;
            buf.advance(read);
            result
        }
    }

    #[tokio::test]
    async fn source_failures_are_transient_and_decoder_failures_are_not() {
        let records: Vec<String> =
            (0..500).map(|i| format!(r#"{{"eventID":"{i}","pad":"{i:0>300}"}}"#)).collect();
        let doc = format!("{{\"Records\":[{}]}}", records.join(","));
        for bytes in [gzip(doc.as_bytes()), doc.clone().into_bytes()] {
            let ok = bytes.len() / 2;
            let input = Failing { data: io::Cursor::new(bytes), ok };
            let mut reader = RecordReader::open(input, u64::MAX, 1 << 20).await.unwrap();
            let mut read = 0;
            let error = loop {
                match reader.next_record().await {
                    Ok(Some(_)) => read += 1,
                    Ok(None) => panic!("the source fails before the end"),
                    Err(e) => break e,
                }
            };
            assert!(read > 0 && read < 500, "{read}");
            assert!(error.is_transient(), "{error:?}");
        }
    }

    #[tokio::test]
    async fn truncated_gzip_delivers_what_came_before() {
        let records: Vec<String> =
            (0..2000).map(|i| format!(r#"{{"eventID":"{i}","pad":"{i:0>200}"}}"#)).collect();
        let doc = format!("{{\"Records\":[{}]}}", records.join(","));
        let bytes = gzip(doc.as_bytes());
        let cut = bytes[..bytes.len() / 2].to_vec();
        let (read, end) = read_all(cut, u64::MAX).await;
        assert!(!read.is_empty() && read.len() < 2000, "{}", read.len());
        assert_eq!(read[..], records[..read.len()]);
        let error = end.unwrap_err();
        assert!(matches!(error, ReadError::CorruptGzip(_)), "{error:?}");
    }

    #[tokio::test]
    async fn gzip_bomb_stops_at_the_cap() {
        let doc = format!("{{\"Records\":[{{\"pad\":\"{}\"}}]}}", "0".repeat(10 << 20));
        let (_, end) = read_all(gzip(doc.as_bytes()), 1 << 20).await;
        assert!(matches!(end, Err(ReadError::TooLarge { limit: 1_048_576 })), "{end:?}");
    }
}
