//! Moves one CloudTrail log file through the pipeline: read records one at a time, convert, push
//! to the delivery engine. A record that cannot be converted is dead-lettered with its reason; a
//! read that fails for a transient cause (S3, network) is retried from the start of the object,
//! skipping the records this invocation already pushed, so nothing is sent twice.

use tokio::io::AsyncRead;

use super::convert::Converter;
use super::notification::ObjectRef;
use super::reader::{RawRecord, ReadError, RecordReader};
use crate::delivery::{Delivery, DeliveryError};
use crate::integrity::store::Content;
use crate::s3_object::{self, OpenError};

/// Attempts at reading one object when reading fails for a transient cause.
const READ_ATTEMPTS: u32 = 3;

/// What one object yielded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectCounts {
    /// Records read.
    pub records: u64,
    /// Events pushed to the delivery engine.
    pub events: u64,
    /// Records that could not be converted, dead-lettered with the reason.
    pub rejected: u64,
}

impl std::ops::AddAssign for ObjectCounts {
    fn add_assign(&mut self, other: ObjectCounts) {
        self.records += other.records;
        self.events += other.events;
        self.rejected += other.rejected;
    }
}

/// Why an object was not (entirely) forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The object could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Reading stopped; the records before were forwarded.
    #[error("{object}: {source} ({records} records forwarded before it)")]
    Read {
        /// `s3://bucket/key` or the file path.
        object: String,
        /// Records forwarded before the error.
        records: u64,
        /// The cause.
        source: ReadError,
    },
    /// Events could be neither delivered nor dead-lettered: the invocation must fail.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

impl ForwardError {
    /// Whether the object could be read with another attempt.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Open(e) => e.transient,
            Self::Read { source, .. } => source.is_transient(),
            Self::Delivery(_) => false,
        }
    }
}

/// Forwards the records of `reader`, skipping the first `skip` (already pushed by an earlier
/// attempt). `counts` is updated as it goes, so it is right even when an error stops it.
pub(crate) async fn forward_records(
    reader: &mut RecordReader,
    delivery: &mut Delivery,
    converter: &Converter,
    object: &str,
    skip: u64,
    counts: &mut ObjectCounts,
) -> Result<(), ForwardError> {
    loop {
        let (index, record) = match reader.next_record().await {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(()),
            Err(source) => {
                return Err(ForwardError::Read {
                    object: object.to_string(),
                    records: counts.records,
                    source,
                });
            }
        };
        if index < skip {
            continue;
        }
        counts.records += 1;
        let outcome = match record {
            RawRecord::Json(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => converter.convert(text).map_err(|reason| (text.to_string(), reason.to_string())),
                Err(e) => Err((String::from_utf8_lossy(bytes).into_owned(), format!("invalid UTF-8: {e}"))),
            },
            RawRecord::Oversized { size } => Err((
                serde_json::json!({"object": object, "record_index": index, "size": size}).to_string(),
                format!("record of {size} bytes passes MAX_RECORD_BYTES"),
            )),
        };
        match outcome {
            Ok(event) => {
                delivery.push(event).await?;
                counts.events += 1;
            }
            Err((raw, reason)) => {
                tracing::warn!(object, record_index = index, reason = %reason, "Record dead-lettered.");
                delivery.reject(raw, format!("{object} record {index}: {reason}")).await?;
                counts.rejected += 1;
            }
        }
    }
}

/// Forwards one log file from any byte source (a local file, a test buffer).
pub async fn forward_stream<R>(
    input: R,
    object: &str,
    delivery: &mut Delivery,
    converter: &Converter,
    limits: ReadLimits,
    counts: &mut ObjectCounts,
) -> Result<(), ForwardError>
where
    R: AsyncRead + Send + 'static,
{
    let mut reader = RecordReader::open(input, limits.max_object_bytes, limits.max_record_bytes)
        .await
        .map_err(|source| ForwardError::Read { object: object.to_string(), records: 0, source })?;
    forward_records(&mut reader, delivery, converter, object, 0, counts).await
}

/// Caps on what one object may inflate to.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// `MAX_OBJECT_BYTES`.
    pub max_object_bytes: u64,
    /// `MAX_RECORD_BYTES`.
    pub max_record_bytes: usize,
}

/// Forwards one S3 object, retrying transient read failures without resending records; returns
/// what it yielded and, when `hash` is set, its inflated [`Content`] (`None` if it was not read
/// to the end).
pub async fn forward_s3_object(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
    delivery: &mut Delivery,
    converter: &Converter,
    limits: ReadLimits,
    hash: bool,
) -> Result<(ObjectCounts, Option<Content>), (ObjectCounts, ForwardError)> {
    let name = format!("s3://{}/{}", object.bucket, object.key);
    let mut counts = ObjectCounts::default();
    let mut attempt = 1;
    loop {
        let result = async {
            let (body, etag) = s3_object::open(client, object).await?;
            let mut reader = RecordReader::open(body, limits.max_object_bytes, limits.max_record_bytes)
                .await
                .map_err(|source| ForwardError::Read { object: name.clone(), records: 0, source })?;
            if hash {
                reader = reader.with_hash();
            }
            let already = counts.records;
            forward_records(&mut reader, delivery, converter, &name, already, &mut counts).await?;
            let content =
                reader.content_sha256().map(|sha256| Content { sha256, size: reader.inflated_bytes(), etag });
            Ok::<_, ForwardError>(content)
        }
        .await;
        match result {
            Ok(content) => return Ok((counts, content)),
            Err(error) if error.is_transient() && attempt < READ_ATTEMPTS => {
                tracing::warn!(object = %name, attempt, records = counts.records, error = %error, "Reading failed; reading again.");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => return Err((counts, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Hostile records through the whole read → convert → deliver path, with a real HTTP receiver
    //! and a recording dead-letter store: one bad record is dead-lettered with its reason, the
    //! records around it are delivered, and nothing overflows the stack.

    use std::sync::Arc;

    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::event::{OutputFormat, Source};
    use crate::sinks::Sink;
    use crate::test_support::{gunzip, settings, RecordingDeadLetter};

    const LIMITS: ReadLimits = ReadLimits { max_object_bytes: 1 << 30, max_record_bytes: 8 << 20 };

    fn good(i: u32) -> String {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-11-19T12:00:0{i}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"good-{i}","sourceIPAddress":"192.0.2.{i}","recipientAccountId":"111122223333","userIdentity":{{"type":"IAMUser","accountId":"111122223333","userName":"u{i}"}}}}"#
        )
    }

    /// Forwards `doc` through an `http` sink on a local server; returns the `metadata.uid`s
    /// delivered, the dead letters as (reason, line), and the result.
    async fn forward_doc(
        doc: Vec<u8>,
        format: OutputFormat,
    ) -> (Vec<String>, Vec<(String, String)>, ObjectCounts, Result<(), ForwardError>) {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
        let settings = settings(1, 1);
        let sink: Arc<dyn Sink> =
            crate::test_support::sink("http", &format!("{}/in", server.uri()), Some("tok"), &[], &settings)
                .await;
        let store = RecordingDeadLetter::new();
        let mut delivery = Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None);
        let converter = Converter::new(format, false);
        let mut counts = ObjectCounts::default();
        let input = std::io::Cursor::new(doc);
        let result = forward_stream(input, "test.json", &mut delivery, &converter, LIMITS, &mut counts).await;
        delivery.finish().await.unwrap();
        let mut uids = Vec::new();
        for request in server.received_requests().await.unwrap() {
            for line in gunzip(&request.body).lines() {
                let event: serde_json::Value = serde_json::from_str(line).unwrap();
                let uid = event["metadata"]["uid"].as_str().or(event["eventID"].as_str());
                uids.push(uid.unwrap().to_string());
            }
        }
        let letters = store
            .letters()
            .into_iter()
            .flat_map(|l| {
                let text = String::from_utf8_lossy(&l.lines).into_owned();
                text.lines().map(|line| (l.reason.clone(), line.to_string())).collect::<Vec<_>>()
            })
            .collect();
        (uids, letters, counts, result)
    }

    fn doc(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"{\"Records\":[".to_vec();
        out.extend(records.join(&b","[..]));
        out.extend_from_slice(b"]}");
        out
    }

    #[tokio::test]
    async fn deeply_nested_records_are_dead_lettered_and_the_next_records_delivered() {
        const DEPTH: usize = 100_000;
        let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
        let in_parameters = format!(
            r#"{{"eventTime":"2024-11-19T12:00:00Z","eventID":"deep-1","eventName":"PutObject","requestParameters":{nested}}}"#
        );
        let in_unknown_field =
            format!(r#"{{"eventTime":"2024-11-19T12:00:00Z","eventID":"deep-2","x":{nested}}}"#);
        let records = [
            good(0),
            nested.clone(),
            good(1),
            in_parameters.clone(),
            good(2),
            in_unknown_field.clone(),
            good(3),
        ];
        let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.clone().into_bytes()).collect();
        for format in [OutputFormat::Ocsf, OutputFormat::Raw] {
            let (uids, letters, counts, result) = forward_doc(doc(&bytes), format).await;
            result.unwrap();
            assert_eq!(counts, ObjectCounts { records: 7, events: 4, rejected: 3 }, "{format:?}");
            assert_eq!(uids, ["good-0", "good-1", "good-2", "good-3"], "{format:?}");
            let reason =
                |i: u32| format!("test.json record {i}: arrays and objects nested deeper than 100 levels");
            let expected = vec![
                (reason(1), nested.clone()),
                (reason(3), in_parameters.clone()),
                (reason(5), in_unknown_field.clone()),
            ];
            assert!(letters == expected, "{format:?}: dead letters differ");
        }
    }

    #[tokio::test]
    async fn invalid_utf8_record_is_dead_lettered_and_the_others_delivered() {
        let mut bad = br#"{"eventTime":"2024-11-19T12:00:00Z","eventID":"bad-utf8","userAgent":"x"#.to_vec();
        bad.extend_from_slice(&[0xff, 0xfe, b'"', b'}']);
        let (uids, letters, counts, result) =
            forward_doc(doc(&[good(0).into_bytes(), bad, good(1).into_bytes()]), OutputFormat::Ocsf).await;
        result.unwrap();
        assert_eq!(counts, ObjectCounts { records: 3, events: 2, rejected: 1 });
        assert_eq!(uids, ["good-0", "good-1"]);
        assert_eq!(
            letters,
            vec![(
                "test.json record 1: invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 71".to_string(),
                "{\"eventTime\":\"2024-11-19T12:00:00Z\",\"eventID\":\"bad-utf8\",\"userAgent\":\"x\u{fffd}\u{fffd}\"}"
                    .to_string()
            )]
        );
    }

    #[tokio::test]
    async fn a_five_megabyte_record_under_the_default_cap_is_mapped_then_held_to_the_sink_limit() {
        let policy = "a".repeat(5 << 20);
        let big = format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-11-19T12:00:09Z","eventSource":"iam.amazonaws.com","eventName":"PutUserPolicy","awsRegion":"us-east-1","eventID":"big-1","sourceIPAddress":"192.0.2.9","userIdentity":{{"type":"IAMUser","accountId":"111122223333","userName":"admin"}},"requestParameters":{{"userName":"bob","policyName":"big","policyDocument":"{policy}"}}}}"#
        );
        assert!(big.len() > 5 << 20 && big.len() < LIMITS.max_record_bytes);
        let event = Converter::new(OutputFormat::Ocsf, false).convert(&big).unwrap();
        let mapped: serde_json::Value = serde_json::from_str(&event.json).unwrap();
        assert_eq!(mapped["metadata"]["uid"], "big-1");
        assert!(event.json.contains(&format!("\"policyDocument\":\"{policy}\"")), "the policy is kept whole");

        // The `http` sink takes at most 4,000,000 bytes a request: the event is dead-lettered whole,
        // with the reason, and its neighbours are delivered.
        let (uids, letters, counts, result) = forward_doc(
            doc(&[good(0).into_bytes(), big.into_bytes(), good(1).into_bytes()]),
            OutputFormat::Ocsf,
        )
        .await;
        result.unwrap();
        assert_eq!(counts, ObjectCounts { records: 3, events: 3, rejected: 0 });
        assert_eq!(uids, ["good-0", "good-1"]);
        assert_eq!(letters.len(), 1);
        let (reason, line) = &letters[0];
        assert_eq!(
            reason,
            &format!("event of {} bytes exceeds the http limit of 3999999 bytes per event", event.json.len())
        );
        assert_eq!(line, &event.json);
    }
}
