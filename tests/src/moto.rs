//! Starts `moto_server` (from PyPI, `pip install 'moto[server]'`) on a free loopback port and builds
//! AWS SDK clients pointed at it. The binary is looked up as `$MOTO_SERVER`, then on `PATH`, then in
//! the repository's `.venv/bin/`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::setup::Pipeline;
use audit_relay::{dead_letter, sinks};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// A running moto server, killed on drop.
pub struct MotoServer {
    child: Child,
    endpoint: String,
}

impl MotoServer {
    /// A pipeline as a function builds it from the environment: Splunk HEC at `hec_uri` (token
    /// `test-hec-token`), dead letters to `dlq_bucket` on this server.
    pub async fn hec_pipeline(&self, hec_uri: &str, dlq_bucket: &str) -> Pipeline {
        let env = EnvReader::from_map(
            [
                ("SIEM_TYPE", "splunk_hec".to_string()),
                ("SIEM_URL", format!("{hec_uri}/services/collector/event")),
                ("SIEM_TOKEN", "test-hec-token".to_string()),
                ("DLQ_BUCKET", dlq_bucket.to_string()),
            ],
            None,
        );
        let config = Config::load(&env).await.unwrap();
        let s3 = self.s3_client();
        let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
        let dead_letter = dead_letter::from_config(&config.dead_letter, Some(s3.clone()));
        Pipeline { s3, sink, dead_letter, config }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK configuration with dummy credentials, region `us-east-1` and this server as endpoint.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .build()
    }

    /// A path-style S3 client for this server (the same builder the functions use).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        audit_relay::aws::s3_client(&self.sdk_config())
    }

    /// Creates a bucket and returns its name.
    pub async fn bucket(&self, name: &str) -> String {
        self.s3_client()
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
        name.to_string()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("moto_server");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/moto_server"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

/// Starts a fresh moto server and waits until it answers.
pub async fn start() -> MotoServer {
    let binary = moto_binary();
    let port = free_port();
    let child = Command::new(&binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("could not start {} ({e}); install it with `pip install 'moto[server]'`", binary.display())
        });
    let server = MotoServer { child, endpoint: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return server;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start on port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
