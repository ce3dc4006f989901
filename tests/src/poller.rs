//! The harness of every scheduled-source scenario: checkpoints and dead letters in moto's S3
//! server, a Splunk HEC receiver, and the `Scheduled` handler wired to them the way the function
//! wires it, with fast retries and a checkpoint every two pages.

use std::time::Duration;

use audit_relay::config::Config;
use audit_relay::env::EnvReader;
use audit_relay::event::Source;
use audit_relay::poller::{ApiHttp, Checkpoint, PollSettings, PollerConfig, RunError, Stream};
use audit_relay::scheduled::{handle, Scheduled};
use audit_relay::setup::Pipeline;
use audit_relay::{dead_letter, sinks};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use wiremock::MockServer;

use crate::moto::{self, MotoServer};
use crate::receiver::{assert_valid_ocsf, hec_events, splunk_hec};

/// moto (bucket `state` for checkpoints and dead letters) and a HEC receiver for one scenario.
pub struct PollScenario {
    /// The S3 server.
    pub moto: MotoServer,
    /// The SIEM.
    pub hec: MockServer,
    /// The bucket checkpoints and dead letters go to.
    pub bucket: String,
}

/// Starts the servers of a scenario.
pub async fn scenario() -> PollScenario {
    let moto = moto::start().await;
    let bucket = moto.bucket("state").await;
    PollScenario { hec: splunk_hec().await, moto, bucket }
}

impl PollScenario {
    /// The environment of a run: the sink, dead-letter and checkpoint settings of this scenario,
    /// then `vars` (which win over them).
    pub fn env(&self, vars: Vec<(&str, String)>) -> EnvReader {
        let mut all: Vec<(&str, String)> = vec![
            ("SIEM_TYPE", "splunk_hec".into()),
            ("SIEM_URL", format!("{}/services/collector/event", self.hec.uri())),
            ("SIEM_TOKEN", "hec-token".into()),
            ("DLQ_BUCKET", self.bucket.clone()),
            ("CHECKPOINT_BUCKET", self.bucket.clone()),
        ];
        all.extend(vars);
        EnvReader::from_map(all, None)
    }

    /// The handler of `source` polling `streams`, with the pipeline and checkpoint store `env`
    /// describes.
    pub async fn scheduled(&self, source: Source, env: &EnvReader, streams: Vec<Stream>) -> Scheduled {
        let config = Config::load(env).await.unwrap();
        let s3 = self.moto.s3_client();
        let sink = config.sink.build(sinks::http_client(config.delivery.request_timeout).unwrap()).unwrap();
        let dead_letter = dead_letter::from_config(&config.dead_letter, Some(s3.clone()));
        let poller = PollerConfig::load(env).unwrap();
        let store = poller.store(source, &s3);
        let settings =
            PollSettings { pages_per_checkpoint: 2, ..PollSettings::new(source, &config, &poller) };
        let http = ApiHttp::new().unwrap().with_backoff(Duration::from_millis(10), Duration::from_millis(50));
        Scheduled::with_settings(
            Pipeline { config, s3, sink, dead_letter },
            source,
            store,
            http,
            settings,
            streams,
        )
    }

    /// The checkpoint stored at `key`.
    pub async fn checkpoint(&self, key: &str) -> Checkpoint {
        let object = self.moto.s3_client().get_object().bucket(&self.bucket).key(key).send().await.unwrap();
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap()
    }

    /// Every event the SIEM received, checked against the OCSF schema, and their uids in order.
    pub async fn delivered(&self) -> Vec<String> {
        let events = hec_events(&self.hec).await;
        assert_valid_ocsf(&events);
        events.iter().map(|e| e["metadata"]["uid"].as_str().unwrap().to_string()).collect()
    }
}

/// One invocation of `scheduled` with `payload` (the schedule's event) and the Lambda deadline
/// `deadline_ms` (0: none).
pub async fn invoke(scheduled: &Scheduled, payload: Value, deadline_ms: u64) -> Result<Value, RunError> {
    let mut context = Context::default();
    context.deadline = deadline_ms;
    handle(scheduled, LambdaEvent::new(payload, context)).await
}
