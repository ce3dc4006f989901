//! TLS certificate validation is never disabled: a real TLS server on loopback presents a
//! certificate for `localhost` issued by a private test CA (`tests/fixtures/tls/`, test-only keys;
//! the CA's key was thrown away), which no system trust store holds, and both HTTP
//! clients the functions use, the sinks' and the pollers', must refuse it before sending a byte of
//! a request. A control client that is told to trust the test CA gets an answer from the same
//! server, so the refusal can only come from certificate validation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::event::Source;
use audit_relay::poller::{ApiHttp, PollSettings, PollerConfig, RunClock};
use audit_relay::scheduled::{poll, Scheduled};
use audit_relay::sinks::Sink;
use audit_relay::sinks::{self, Verdict};
use audit_relay::sources::azure_devops::config::AzureDevOpsConfig;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

const CERT: &[u8] = include_bytes!("../fixtures/tls/cert.pem");
const TEST_CA: &[u8] = include_bytes!("../fixtures/tls/ca.pem");
const KEY: &[u8] = include_bytes!("../fixtures/tls/key.pem");
const ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 27\r\nconnection: close\r\n\r\n{\"text\":\"Success\",\"code\":0}";

/// A TLS server with the test CA's certificate for `localhost`; counts the handshakes that completed and the
/// requests it read.
struct UntrustedServer {
    port: u16,
    handshakes: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

async fn untrusted_server() -> UntrustedServer {
    let certs = vec![CertificateDer::from_pem_slice(CERT).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let (done, read) = (handshakes.clone(), requests.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, done, read) = (acceptor.clone(), done.clone(), read.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                done.fetch_add(1, Ordering::SeqCst);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                read.fetch_add(1, Ordering::SeqCst);
                let _ = tls.write_all(ANSWER).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    UntrustedServer { port, handshakes, requests }
}

fn env(vars: &[(&str, String)]) -> EnvReader {
    EnvReader::from_map(vars.iter().cloned(), None)
}

#[tokio::test]
async fn a_client_that_trusts_the_test_ca_is_answered_so_the_server_is_sound() {
    let server = untrusted_server().await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(TEST_CA).unwrap())
        .build()
        .unwrap();
    let response = client.get(format!("https://localhost:{}/", server.port)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"text":"Success","code":0}"#);
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_sink_refuses_a_certificate_it_cannot_verify_before_sending_the_batch() {
    let server = untrusted_server().await;
    let url = format!("https://localhost:{}/services/collector/event", server.port);
    for (siem_type, extra) in [
        ("splunk_hec", ("SIEM_TOKEN", "hec-token")),
        ("datadog", ("SIEM_TOKEN", "dd-key")),
        ("http", ("SIEM_TOKEN", "bearer-token")),
        ("elasticsearch", ("SIEM_TOKEN", "es-key")),
    ] {
        let config = Config::load(&env(&[
            ("SIEM_TYPE", siem_type.to_string()),
            ("SIEM_URL", url.clone()),
            (extra.0, extra.1.to_string()),
        ]))
        .await
        .unwrap();
        let sink: Arc<dyn Sink> =
            config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
        let reply = sink.send(Bytes::from_static(b"{\"event\":1}\n"), 1, Duration::from_secs(5)).await;
        assert_eq!(reply.verdict, Verdict::Retry, "{siem_type}: {}", reply.summary);
        assert_eq!(reply.status, None, "{siem_type}: no HTTP answer without a trusted certificate");
        assert!(
            reply.summary.to_ascii_lowercase().contains("certificate"),
            "{siem_type}: the reason names the certificate: {}",
            reply.summary
        );
    }
    // Sentinel: the Entra ID token endpoint (and the ingestion API) behind the same certificate.
    let origin = format!("https://localhost:{}", server.port);
    let vars = audit_relay_tests::logs_ingestion::sink_vars(&origin, &origin, "app-secret");
    let config = Config::load(&env(&vars)).await.unwrap();
    let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
    let reply = sink.send(Bytes::from_static(b"[{\"n\":1}]"), 1, Duration::from_secs(5)).await;
    assert_eq!((reply.verdict, reply.status), (Verdict::Retry, None), "sentinel: {}", reply.summary);
    assert!(reply.summary.to_ascii_lowercase().contains("certificate"), "sentinel: {}", reply.summary);
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0, "no handshake completed");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0, "no request reached the server");
}

#[tokio::test]
async fn a_poller_refuses_a_certificate_it_cannot_verify_and_fails_the_run() {
    let server = untrusted_server().await;
    let checkpoints = tempfile::tempdir().unwrap();
    let vars = env(&[
        ("SIEM_TYPE", "stdout".to_string()),
        ("CHECKPOINT_DIR", checkpoints.path().display().to_string()),
        ("AZDO_AUDIT_URL", format!("https://localhost:{}", server.port)),
        ("AZDO_ORGANIZATIONS", "fabrikam".to_string()),
        ("AZDO_PAT", "azdo-pat".to_string()),
        ("AZDO_REQUESTS_PER_MINUTE", "60000".to_string()),
    ]);
    let pipeline = audit_relay_tests::offline::pipeline(&vars).await;
    let poller = PollerConfig::load(&vars).unwrap();
    let store = poller.store(Source::AzureDevops, &pipeline.s3);
    let settings = PollSettings::new(Source::AzureDevops, &pipeline.config, &poller);
    let http = ApiHttp::new().unwrap().with_backoff(Duration::from_millis(5), Duration::from_millis(20));
    let streams = audit_relay::sources::azure_devops::streams(&AzureDevOpsConfig::load(&vars).await.unwrap());
    let deps = Scheduled::with_settings(pipeline, Source::AzureDevops, store, http, settings, streams);

    let (summary, result) = poll(&deps, &RunClock::with_time_left(Duration::from_secs(60))).await;

    let error = result.unwrap_err().to_string();
    assert!(
        error.to_ascii_lowercase().contains("certificate"),
        "the run's error names the certificate: {error}"
    );
    assert_eq!(summary.events_delivered, 0);
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0, "no handshake completed");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0, "the PAT never reached the server");
}
