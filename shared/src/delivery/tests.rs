//! Engine scenarios against a real local HTTP server (wiremock) with the generic `http` sink, and a
//! fake sink where exact timing matters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::sinks::{EncodeContext, Encoder, NdjsonEncoder, Reply, Sink, SinkLimits, Verdict};
use crate::test_support::{event, gunzip, settings, RecordingDeadLetter};

const FAST: Duration = Duration::from_millis(20);

async fn http_sink(server: &MockServer, settings: &DeliverySettings) -> Arc<dyn Sink> {
    crate::test_support::sink("http", &format!("{}/in", server.uri()), Some("tok-secret"), &[], settings)
        .await
}

fn lines(n: usize) -> Vec<String> {
    (0..n).map(|i| event(i).json).collect()
}

async fn push_all(delivery: &mut Delivery, n: usize) {
    for i in 0..n {
        delivery.push(event(i)).await.unwrap();
    }
}

async fn bodies(server: &MockServer) -> Vec<Vec<u8>> {
    server.received_requests().await.unwrap().into_iter().map(|r| r.body).collect()
}

#[tokio::test]
async fn retry_after_is_waited_then_the_batch_is_delivered_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let settings = settings(2, 3);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    )
    .with_backoff(FAST, FAST);
    let started = Instant::now();
    push_all(&mut delivery, 3).await;
    let report = delivery.finish().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(gunzip(&bodies[1]), lines(3).join("\n") + "\n");
    assert_eq!(
        report,
        DeliveryReport {
            delivered: 3,
            dead_lettered: 0,
            retries: 1,
            bytes_sent: 2 * bodies[0].len() as u64,
            requests: 2,
            sink_millis: report.sink_millis,
            fields_truncated: 0,
        }
    );
    assert!(store.letters().is_empty());
}

#[tokio::test]
async fn server_error_then_success_is_retried_and_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    let settings = settings(1, 2);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    )
    .with_backoff(FAST, FAST);
    push_all(&mut delivery, 4).await;
    let report = delivery.finish().await.unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (4, 0, 1));
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn timeout_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut settings = settings(1, 2);
    settings.request_timeout = Duration::from_millis(300);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    )
    .with_backoff(FAST, FAST);
    push_all(&mut delivery, 2).await;
    let started = Instant::now();
    let report = delivery.finish().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!((report.delivered, report.retries), (2, 1));
}

#[tokio::test]
async fn client_error_is_dead_lettered_after_exactly_one_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string("bad request for token tok-secret\n\u{1b}[31m"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let settings = settings(2, 6);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    )
    .with_backoff(FAST, FAST);
    push_all(&mut delivery, 3).await;
    let report = delivery.finish().await.unwrap();
    let sent = bodies(&server).await;
    assert_eq!(
        report,
        DeliveryReport {
            delivered: 0,
            dead_lettered: 3,
            retries: 0,
            bytes_sent: sent[0].len() as u64,
            requests: 1,
            sink_millis: report.sink_millis,
            fields_truncated: 0,
        }
    );
    let letters = store.letters();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(store.lines(), lines(3));
    assert_eq!(letter.events, 3);
    assert_eq!(letter.sink, "http");
    assert_eq!(letter.attempts, 1);
    assert_eq!(letter.last_response.as_deref(), Some("400: bad request for token ***??[31m"));
    assert_eq!(letter.reason, "refused by the sink: 400: bad request for token ***??[31m");
    assert_eq!(letter.times, Some((1_426_279_439_123, 1_426_279_441_123)));
}

#[tokio::test]
async fn retries_stop_at_max_attempts_then_dead_letter() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(502)).expect(3).mount(&server).await;
    let settings = settings(1, 3);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    )
    .with_backoff(FAST, FAST);
    push_all(&mut delivery, 2).await;
    let report = delivery.finish().await.unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 2, 2));
    let letters = store.letters();
    assert_eq!(letters[0].attempts, 3);
    assert_eq!(letters[0].reason, "gave up after 3 attempts: 502");
}

#[tokio::test]
async fn deadline_reached_while_sink_is_unavailable_dead_letters_before_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let settings = settings(2, 1_000);
    let store = RecordingDeadLetter::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        Some(deadline),
    )
    .with_backoff(Duration::from_millis(50), Duration::from_millis(200));
    push_all(&mut delivery, 3).await;
    let report = delivery.finish().await.unwrap();
    let finished = Instant::now();
    assert!(finished < deadline, "finished {:?} after the deadline", finished - deadline);
    // The budget ends a quarter of the 2 s before the deadline.
    assert!(finished - started >= Duration::from_millis(1_200), "{:?}", finished - started);
    assert_eq!((report.delivered, report.dead_lettered), (0, 3));
    assert!(report.retries >= 3, "{report:?}");
    let letters = store.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "retry budget ended before the invocation deadline: 503");
    assert_eq!(store.lines(), lines(3));
}

#[tokio::test]
async fn dead_letter_failure_while_the_sink_fails_loses_the_events() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(401)).mount(&server).await;
    let mut settings = settings(1, 3);
    settings.batch_max_events = Some(2);
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        RecordingDeadLetter::failing(),
        &settings,
        Source::Cloudtrail,
        None,
    );
    // The first batch fails while the fifth event waits for a free slot: push reports the loss.
    let mut first_error = None;
    for i in 0..5 {
        if let Err(e) = delivery.push(event(i)).await {
            first_error = Some(e);
            break;
        }
    }
    let Some(DeliveryError::Lost { events, reason }) = first_error else { panic!("push never failed") };
    assert_eq!(events, 2);
    assert!(reason.starts_with("refused by the sink: 401; "), "{reason}");
    assert!(
        reason.contains("dead-letter write failed: could not write s3://dlq-bucket/k: AccessDenied"),
        "{reason}"
    );
    let DeliveryError::Lost { events, .. } = delivery.finish().await.unwrap_err();
    assert_eq!(events, 4, "the failed batch and the two events of the unsent one");
}

#[tokio::test]
async fn no_dead_letter_store_turns_a_refused_batch_into_a_lost_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(403)).mount(&server).await;
    let settings = settings(1, 3);
    let store = Arc::new(crate::dead_letter::NoDeadLetter);
    let mut delivery =
        Delivery::new(http_sink(&server, &settings).await, store, &settings, Source::Cloudtrail, None);
    push_all(&mut delivery, 4).await;
    let DeliveryError::Lost { events, reason } = delivery.finish().await.unwrap_err();
    assert_eq!(events, 4);
    assert!(reason.ends_with("no dead-letter store configured: set DLQ_BUCKET"), "{reason}");
}

#[tokio::test]
async fn nothing_pushed_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let settings = settings(1, 3);
    let delivery = Delivery::new(
        http_sink(&server, &settings).await,
        RecordingDeadLetter::new(),
        &settings,
        Source::Cloudtrail,
        None,
    );
    assert_eq!(delivery.finish().await.unwrap(), DeliveryReport::default());
}

#[tokio::test]
async fn batches_split_by_configured_count_and_bytes() {
    let server = MockServer::start().await;
    let one = event(0).json.len() + 1;
    for (max_events, max_bytes, expected) in [
        (Some(2), None, vec![2, 2, 1]),
        (None, Some(one * 3), vec![3, 2]),
        (Some(4), Some(one * 3), vec![3, 2]),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/in"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let mut settings = settings(1, 1);
        settings.batch_max_events = max_events;
        settings.batch_max_bytes = max_bytes;
        let mut delivery = Delivery::new(
            http_sink(&server, &settings).await,
            RecordingDeadLetter::new(),
            &settings,
            Source::Cloudtrail,
            None,
        );
        push_all(&mut delivery, 5).await;
        assert_eq!(delivery.finish().await.unwrap().delivered, 5);
        let counts: Vec<usize> = bodies(&server).await.iter().map(|b| gunzip(b).lines().count()).collect();
        assert_eq!(counts, expected, "{max_events:?} {max_bytes:?}");
        let all: Vec<String> = bodies(&server)
            .await
            .iter()
            .flat_map(|b| gunzip(b).lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
        assert_eq!(all, lines(5));
    }
}

#[tokio::test]
async fn oversize_events_and_rejected_records_are_dead_lettered_with_their_reasons() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let mut settings = settings(1, 1);
    settings.batch_max_bytes = Some(100);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    );
    let big = OutboundEvent { time_ms: 5, json: format!("{{\"x\":\"{}\"}}", "a".repeat(194)) };
    assert_eq!(big.json.len(), 202);
    delivery.push(event(0)).await.unwrap();
    delivery.push(big.clone()).await.unwrap();
    delivery.reject("{\"broken\":\n true}".into(), "missing eventTime".into()).await.unwrap();
    delivery.reject("not json".into(), "invalid JSON at line 1 column 2".into()).await.unwrap();
    delivery.reject("{}".into(), "missing eventTime".into()).await.unwrap();
    delivery.push(event(1)).await.unwrap();
    let report = delivery.finish().await.unwrap();
    assert_eq!((report.delivered, report.dead_lettered), (2, 4));
    let letters = store.letters();
    type Summary = (String, u64, String, Option<(i64, i64)>);
    let summary: Vec<Summary> = letters
        .iter()
        .map(|l| (l.reason.clone(), l.events, String::from_utf8(l.lines.clone()).unwrap(), l.times))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "event of 202 bytes exceeds the http limit of 99 bytes per event".to_string(),
                1,
                big.json + "\n",
                Some((5, 5))
            ),
            ("missing eventTime".to_string(), 2, "{\"broken\":  true}\n{}\n".to_string(), None),
            ("invalid JSON at line 1 column 2".to_string(), 1, "not json\n".to_string(), None),
        ]
    );
    assert!(letters.iter().all(|l| l.attempts == 0 && l.last_response.is_none() && l.sink == "http"));
}

/// A sink that answers after `delay`, counting requests in flight.
struct SlowSink {
    delay: Duration,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    requests: AtomicUsize,
}

#[async_trait]
impl Sink for SlowSink {
    fn name(&self) -> &'static str {
        "slow"
    }
    fn limits(&self) -> SinkLimits {
        SinkLimits { max_body_bytes: 1_000_000, max_events: 1, max_record_bytes: 1_000_000 }
    }
    fn gzip(&self) -> bool {
        false
    }
    fn encoder(&self, _context: EncodeContext) -> Arc<dyn Encoder> {
        Arc::new(NdjsonEncoder)
    }
    async fn send(&self, _body: Bytes, _events: usize, _timeout: Duration) -> Reply {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.requests.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Reply::local(Verdict::Delivered, "ok")
    }
    async fn check(&self, _timeout: Duration) -> crate::probe::Probe {
        crate::probe::Probe::passed("memory", "a test sink")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_exceed_the_setting() {
    for concurrency in [1, 3] {
        let sink = Arc::new(SlowSink {
            delay: Duration::from_millis(100),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
        });
        let settings = settings(concurrency, 1);
        let mut delivery =
            Delivery::new(sink.clone(), RecordingDeadLetter::new(), &settings, Source::Cloudtrail, None);
        let started = Instant::now();
        push_all(&mut delivery, 9).await;
        let report = delivery.finish().await.unwrap();
        assert_eq!(report.delivered, 9);
        assert_eq!(sink.requests.load(Ordering::SeqCst), 9);
        assert_eq!(sink.max_in_flight.load(Ordering::SeqCst), concurrency);
        let waves = (9 / concurrency) as u32;
        assert!(started.elapsed() >= Duration::from_millis(100) * waves, "{:?}", started.elapsed());
    }
}

#[tokio::test]
async fn connection_errors_are_retried_then_dead_lettered_with_the_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = settings(1, 2);
    let sink =
        crate::test_support::sink("http", &format!("http://127.0.0.1:{port}/in"), None, &[], &settings).await;
    let store = RecordingDeadLetter::new();
    let mut delivery =
        Delivery::new(sink, store.clone(), &settings, Source::Cloudtrail, None).with_backoff(FAST, FAST);
    push_all(&mut delivery, 1).await;
    let report = delivery.finish().await.unwrap();
    assert_eq!((report.delivered, report.dead_lettered, report.retries), (0, 1, 1));
    let letter = &store.letters()[0];
    assert_eq!(letter.attempts, 2);
    let response = letter.last_response.as_deref().unwrap();
    assert!(response.starts_with("transport error: error sending request"), "{response}");
    assert!(response.to_ascii_lowercase().contains("connection refused"), "{response}");
    assert!(!response.contains(&port.to_string()), "{response}");
}

#[tokio::test]
async fn held_dead_letters_are_written_once_too_many_reasons_or_bytes_are_held() {
    let server = MockServer::start().await;
    let settings = settings(1, 1);
    let store = RecordingDeadLetter::new();
    let mut delivery = Delivery::new(
        http_sink(&server, &settings).await,
        store.clone(),
        &settings,
        Source::Cloudtrail,
        None,
    );
    for i in 0..16 {
        delivery.reject(format!("{{\"r\":{i}}}"), format!("reason {i}")).await.unwrap();
    }
    assert!(store.letters().is_empty());
    delivery.reject("{\"r\":16}".into(), "reason 16".into()).await.unwrap();
    assert_eq!(store.letters().len(), 17);
    let big = "x".repeat(1024 * 1024);
    for _ in 0..3 {
        delivery.reject(big.clone(), "too big".into()).await.unwrap();
    }
    assert_eq!(store.letters().len(), 17);
    delivery.reject(big.clone(), "too big".into()).await.unwrap();
    assert_eq!(store.letters().len(), 18);
    assert_eq!(store.letters()[17].events, 4);
    let report = delivery.finish().await.unwrap();
    assert_eq!(report.dead_lettered, 21);
    assert_eq!(store.letters().len(), 18);
}
