//! Test helpers shared by the sink and engine tests: settings, events, and dead-letter stores that
//! record what they are given (or fail).

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::dead_letter::{DeadLetter, DeadLetterError, DeadLetterStore};
use crate::delivery::DeliverySettings;
use crate::env::EnvReader;
use crate::event::OutboundEvent;
use crate::event::Source;
use crate::sinks::{self, Sink};

/// Delivery settings with the given concurrency and attempts, a 5 s timeout, no extra caps.
pub fn settings(concurrency: usize, max_attempts: u32) -> DeliverySettings {
    DeliverySettings {
        batch_max_bytes: None,
        batch_max_events: None,
        concurrency,
        request_timeout: Duration::from_secs(5),
        max_attempts,
    }
}

/// The sink `SIEM_TYPE=siem_type` posting to `url` with `token` (and any `extra` variables),
/// configured the way the functions do it.
pub async fn sink(
    siem_type: &str,
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    settings: &DeliverySettings,
) -> Arc<dyn Sink> {
    let mut vars = vec![("SIEM_TYPE", siem_type), ("SIEM_URL", url)];
    vars.extend(token.map(|token| ("SIEM_TOKEN", token)));
    vars.extend_from_slice(extra);
    let loaded = sinks::load(&EnvReader::from_map(vars, None)).await.unwrap();
    loaded.build(sinks::http_client(settings.request_timeout).unwrap()).unwrap()
}

/// Delivers `events` through `sink` (one request at a time, 4 attempts, millisecond backoff) into
/// a recording dead-letter store; the report and the store.
pub(crate) async fn deliver(
    sink: Arc<dyn Sink>,
    events: &[OutboundEvent],
) -> (crate::delivery::DeliveryReport, Arc<RecordingDeadLetter>) {
    let dead = RecordingDeadLetter::new();
    let mut delivery =
        crate::delivery::Delivery::new(sink, dead.clone(), &settings(1, 4), Source::Cloudtrail, None)
            .with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    for event in events {
        delivery.push(event.clone()).await.unwrap();
    }
    (delivery.finish().await.unwrap(), dead)
}

/// A small OCSF-like event numbered `i`, at 1426279439.123 s + `i` s.
pub fn event(i: usize) -> OutboundEvent {
    OutboundEvent {
        time_ms: 1_426_279_439_123 + i as i64 * 1_000,
        json: format!(r#"{{"class_uid":6003,"n":{i},"msg":"say \"hi\"\\n"}}"#),
    }
}

/// The gunzipped text of `data`.
pub(crate) fn gunzip(data: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(data).read_to_string(&mut out).unwrap();
    out
}

/// A dead-letter store keeping letters in memory; fails every write when `fail` is set.
#[derive(Default)]
pub(crate) struct RecordingDeadLetter {
    /// The letters written.
    pub letters: Mutex<Vec<DeadLetter>>,
    /// Fail every write.
    pub fail: bool,
}

impl RecordingDeadLetter {
    /// A store that records.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A store whose writes all fail.
    pub fn failing() -> Arc<Self> {
        Arc::new(Self { fail: true, ..Self::default() })
    }

    /// The letters written so far.
    pub fn letters(&self) -> Vec<DeadLetter> {
        self.letters.lock().unwrap().clone()
    }

    /// Every dead-lettered line, in write order.
    pub fn lines(&self) -> Vec<String> {
        self.letters()
            .iter()
            .flat_map(|l| {
                String::from_utf8(l.lines.clone()).unwrap().lines().map(str::to_string).collect::<Vec<_>>()
            })
            .collect()
    }
}

#[async_trait]
impl DeadLetterStore for RecordingDeadLetter {
    async fn write(&self, letter: DeadLetter) -> Result<String, DeadLetterError> {
        if self.fail {
            return Err(DeadLetterError::S3 {
                bucket: "dlq-bucket".into(),
                key: "k".into(),
                message: "AccessDenied".into(),
            });
        }
        assert_eq!(letter.source, Source::Cloudtrail);
        let mut letters = self.letters.lock().unwrap();
        letters.push(letter);
        Ok(format!("mem://{}", letters.len()))
    }

    async fn probe(&self, _source: Source) -> crate::probe::Probe {
        crate::probe::Probe::passed("memory", "a test store")
    }
}
