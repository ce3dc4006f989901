//! Standard output: the events as NDJSON, one a line (CLI use and local runs).
//!
//! A body is written whole under the stdout lock, so concurrent batches never interleave inside a
//! line. A write error is never retried: the batch goes to the dead-letter store, and without one
//! the run fails.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::env::{ConfigError, EnvReader};

use super::{
    EncodeContext, Encoder, NdjsonEncoder, Reply, Sink, SinkError, SinkKind, SinkLimits, SinkSettings,
    Verdict, SIEM_URL,
};

/// Body size at which a batch is written out.
pub(crate) const MAX_BODY_BYTES: usize = 1_000_000;
const NAME: &str = "stdout";

/// The registry entry.
pub(super) const KIND: SinkKind = SinkKind { name: NAME, load: |env| Box::pin(Settings::load(env)) };

/// The stdout sink has no settings of its own.
#[derive(Debug, Clone, Copy)]
struct Settings;

impl Settings {
    /// Still refuses a `SIEM_URL` that no sink could use, so that a mistyped setting is caught
    /// before `SIEM_TYPE` is set.
    async fn load(env: &EnvReader) -> Result<Arc<dyn SinkSettings>, ConfigError> {
        env.endpoint_url(SIEM_URL)?;
        Ok(Arc::new(Self))
    }
}

impl SinkSettings for Settings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, _http: reqwest::Client) -> Result<Arc<dyn Sink>, SinkError> {
        Ok(Arc::new(StdoutSink::new()))
    }
}

/// Where the sink writes.
type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// The stdout sink.
pub(crate) struct StdoutSink {
    /// `None`: the process's standard output.
    output: Option<Output>,
}

impl StdoutSink {
    /// A sink writing to the process's standard output.
    pub fn new() -> Self {
        Self { output: None }
    }

    /// A sink writing to `writer` instead.
    #[cfg(test)]
    pub fn with_writer(writer: Box<dyn Write + Send>) -> Self {
        Self { output: Some(Arc::new(Mutex::new(writer))) }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn limits(&self) -> SinkLimits {
        SinkLimits { max_body_bytes: MAX_BODY_BYTES, max_events: usize::MAX, max_record_bytes: usize::MAX }
    }

    fn gzip(&self) -> bool {
        false
    }

    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(NdjsonEncoder)
    }

    async fn check(&self, _timeout: Duration) -> crate::probe::Probe {
        crate::probe::Probe::passed(
            "standard output",
            "events are written to standard output; nothing to reach",
        )
    }

    async fn send(&self, body: Bytes, _events: usize, _timeout: Duration) -> Reply {
        let output = self.output.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match output {
                Some(output) => {
                    let mut writer =
                        output.lock().map_err(|_| std::io::Error::other("output lock poisoned"))?;
                    writer.write_all(&body)?;
                    writer.flush()
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(&body)?;
                    stdout.flush()
                }
            }
        })
        .await;
        match written {
            Ok(Ok(())) => Reply::local(Verdict::Delivered, "written"),
            Ok(Err(e)) => Reply::local(Verdict::Reject, format!("stdout write failed: {e}")),
            Err(e) => Reply::local(Verdict::Reject, format!("stdout writer stopped: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Delivery;
    use crate::event::Source;
    use crate::test_support::{event, settings, RecordingDeadLetter};

    /// A writer into a shared buffer, or one that always fails.
    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>, bool);

    impl Write for Buffer {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            if self.1 {
                return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "broken pipe"));
            }
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn writes_one_event_a_line() {
        let buffer = Buffer(Arc::default(), false);
        let sink = Arc::new(StdoutSink::with_writer(Box::new(buffer.clone())));
        let mut settings = settings(3, 1);
        settings.batch_max_events = Some(1);
        let mut delivery =
            Delivery::new(sink, RecordingDeadLetter::new(), &settings, Source::Cloudtrail, None);
        for i in 0..50 {
            delivery.push(event(i)).await.unwrap();
        }
        let report = delivery.finish().await.unwrap();
        assert_eq!((report.delivered, report.retries), (50, 0));
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        let mut expected: Vec<String> = (0..50).map(|i| event(i).json).collect();
        expected.sort_unstable();
        assert_eq!(lines, expected);
        assert_eq!(report.bytes_sent, text.len() as u64);
    }

    #[tokio::test]
    async fn write_errors_are_not_retried_and_dead_lettered() {
        let sink = Arc::new(StdoutSink::with_writer(Box::new(Buffer(Arc::default(), true))));
        let store = RecordingDeadLetter::new();
        let mut delivery = Delivery::new(sink, store.clone(), &settings(1, 5), Source::Cloudtrail, None);
        delivery.push(event(0)).await.unwrap();
        let report = delivery.finish().await.unwrap();
        assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 1, 0));
        assert_eq!(store.letters()[0].reason, "refused by the sink: stdout write failed: broken pipe");
    }
}
