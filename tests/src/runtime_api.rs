//! A small local stand-in of the AWS Lambda runtime API (the "Lambda Runtime API" of the Lambda
//! developer guide, version `2018-06-01`), so the real function binaries can be run as Lambda runs
//! them: the binary long-polls `GET /2018-06-01/runtime/invocation/next`, gets the event with
//! `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn`
//! and `Lambda-Runtime-Trace-Id`, and answers `POST .../invocation/{id}/response` or
//! `.../invocation/{id}/error` (`POST /runtime/init/error` when start-up fails).
//!
//! [`Deadline`] chooses what the deadline header says: an epoch time ahead, as Lambda sends, or
//! cargo-lambda's `600000`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What `Lambda-Runtime-Deadline-Ms` says.
#[derive(Debug, Clone, Copy)]
pub enum Deadline {
    /// An epoch time this far after the invocation is handed out (as Lambda sends).
    Ahead(Duration),
    /// This literal value: cargo-lambda's local runtime sends `600000`.
    Literal(u64),
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response` with this body.
    Response(Value),
    /// `POST /runtime/invocation/{id}/error` with this body.
    Error(Value),
}

struct Invocation {
    id: String,
    payload: Vec<u8>,
}

struct State {
    deadline: Deadline,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
    deadlines_sent: Mutex<Vec<String>>,
}

/// The runtime API on a free loopback port.
pub struct RuntimeApi {
    address: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts the API; each invocation gets `deadline`.
    pub async fn start(deadline: Deadline) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the runtime API");
        let address = listener.local_addr().expect("runtime API address");
        let (queue, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            deadline,
            next: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::default(),
            init_error: Mutex::default(),
            deadlines_sent: Mutex::default(),
        });
        let served = Arc::clone(&state);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&served);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |request| answer(Arc::clone(&state), request));
                    // A connection the function drops (it is killed at the end) is no error here.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address, queue, state, server }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Hands `payload` to the function and waits (at most `timeout`) for its answer.
    pub async fn invoke(&self, payload: &Value, timeout: Duration) -> Outcome {
        let id = uuid::Uuid::new_v4().to_string();
        let (done, answered) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), done);
        self.queue
            .send(Invocation { id: id.clone(), payload: serde_json::to_vec(payload).unwrap() })
            .expect("runtime API running");
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => panic!("invocation {id} dropped"),
            Err(_) => panic!(
                "invocation {id} got no answer within {timeout:?}; init error: {:?}",
                self.state.init_error.lock().unwrap()
            ),
        }
    }

    /// Every `Lambda-Runtime-Deadline-Ms` value sent so far.
    pub fn deadlines_sent(&self) -> Vec<String> {
        self.state.deadlines_sent.lock().unwrap().clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let body = body.collect().await?.to_bytes();
    let reply = |status: StatusCode, body: &str| {
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = status;
        response
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            let Some(invocation) = state.next.lock().await.recv().await else {
                return Ok(reply(StatusCode::GONE, "{}"));
            };
            let deadline = match state.deadline {
                Deadline::Ahead(ahead) => (epoch_ms() + ahead.as_millis() as u64).to_string(),
                Deadline::Literal(value) => value.to_string(),
            };
            state.deadlines_sent.lock().unwrap().push(deadline.clone());
            let mut response = Response::new(Full::new(Bytes::from(invocation.payload)));
            let headers = response.headers_mut();
            headers.insert("content-type", "application/json".parse().unwrap());
            headers.insert("lambda-runtime-aws-request-id", invocation.id.parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:111122223333:function:audit-relay-test".parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".parse().unwrap(),
            );
            Ok(response)
        }
        (&Method::POST, ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
            let value: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let outcome = if *kind == "response" { Outcome::Response(value) } else { Outcome::Error(value) };
            match state.waiting.lock().unwrap().remove(*id) {
                Some(done) => {
                    let _ = done.send(outcome);
                    Ok(reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
                }
                None => Ok(reply(StatusCode::BAD_REQUEST, r#"{"errorType":"InvalidRequestID"}"#)),
            }
        }
        (&Method::POST, ["2018-06-01", "runtime", "init", "error"]) => {
            *state.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
            Ok(reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, r#"{"errorType":"NotFound"}"#)),
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A function binary running against a [`RuntimeApi`], killed on drop.
pub struct FunctionProcess {
    child: Child,
}

impl FunctionProcess {
    /// Starts the workspace binary `name` (built first if needed) with the Lambda environment for
    /// `api` and `vars`.
    pub fn start(name: &str, api: &RuntimeApi, vars: &[(&str, String)]) -> Self {
        Self::spawn(name, api, vars, false)
    }

    /// As [`FunctionProcess::start`], with the EMF metric lines on and standard output kept for
    /// [`FunctionProcess::stop`].
    pub fn start_with_metrics(name: &str, api: &RuntimeApi, vars: &[(&str, String)]) -> Self {
        Self::spawn(name, api, vars, true)
    }

    /// Stops the function and returns what it printed on standard output (metrics runs only).
    pub fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        }
        out
    }

    fn spawn(name: &str, api: &RuntimeApi, vars: &[(&str, String)], metrics: bool) -> Self {
        let binary = function_binary(name);
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/02/[$LATEST]test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("EMF_METRICS", if metrics { "true" } else { "false" })
            .stdin(Stdio::null())
            .stdout(if metrics { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::inherit());
        for (key, value) in vars {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        Self { child }
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The debug binary `name` of the workspace, built with cargo when missing or stale. Every binary is
/// built, as the test command builds them (`cargo build --workspace --bins`), so that this is a no-op
/// there and features resolve the same way (`-p name` alone would rebuild the library without the
/// features other members enable).
pub fn function_binary(name: &str) -> PathBuf {
    // The test executable is target/<profile>/deps/<test>-<hash>; binaries sit in target/<profile>.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--locked", "--workspace", "--bins"])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", profile_dir.parent().expect("target dir"))
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --workspace --bins failed");
    let binary = profile_dir.join(name);
    assert!(binary.is_file(), "{} not built", binary.display());
    binary
}
