//! The CloudTrail benchmark: generates realistic log files, then measures, each in its own process
//! (so peak memory is that run's own), on one core for the pipeline:
//! - `audit-relay normalize` (parse + map + serialize to /dev/null): records/s, MB/s, peak RSS;
//! - delivery through the Splunk HEC encoder with gzip into a local HTTP receiver;
//! - `zcat FILE > /dev/null`, the floor, and a Python forwarder's way, the reference;
//! - cold start of the `cloudtrail-s3` binary to its first poll of the Lambda runtime API.
//!
//! `cargo build --release -p audit-relay-cli -p cloudtrail-s3 -p audit-relay-tests && target/release/bench`
//! (options: `--records 100000,1000000`, `--dir DIR` for the generated files, `--repeat N` runs of
//! each measurement, interleaved, default 3: the table shows the median time and the highest peak
//! RSS). Prints a Markdown table. `--sinks N` prints instead the sink table: the N-record file
//! through the converter and each of Splunk HEC, Elasticsearch `_bulk`, Sentinel (gzip) and
//! Firehose (`PutRecordBatch`, uncompressed) into a local stand-in that accepts everything.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_relay::config::Config;
use audit_relay::dead_letter::NoDeadLetter;
use audit_relay::delivery::Delivery;
use audit_relay::env::EnvReader;
use audit_relay::event::{OutputFormat, Source};
use audit_relay::sinks;
use audit_relay::sources::cloudtrail::convert::Converter;
use audit_relay::sources::cloudtrail::forward::{forward_stream, ObjectCounts, ReadLimits};
use audit_relay_tests::corpus;

/// One measured run.
struct Run {
    seconds: f64,
    peak_rss_mib: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("sink-child") {
        return sink_child(&args[2], &args[3], &args[4]);
    }
    let mut sizes = vec![100_000u64, 1_000_000];
    let mut dir = std::env::temp_dir().join("audit-relay-bench");
    let mut repeat = 3usize;
    // `--sinks N`: only the sink table, on the N-record file.
    let mut sink_records: Option<u64> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--records" => {
                sizes = args[i + 1].split(',').map(|n| n.parse()).collect::<Result<_, _>>()?;
                i += 2;
            }
            "--dir" => {
                dir = PathBuf::from(&args[i + 1]);
                i += 2;
            }
            "--sinks" => {
                sink_records = Some(args[i + 1].parse::<u64>()?);
                i += 2;
            }
            "--repeat" => {
                repeat = args[i + 1].parse::<usize>()?.max(1);
                i += 2;
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    std::fs::create_dir_all(&dir)?;
    let release = std::env::current_exe()?.parent().ok_or("no exe dir")?.to_path_buf();
    let cli = release.join("audit-relay");
    let function = release.join("cloudtrail-s3");
    for needed in [&cli, &function] {
        if !needed.is_file() {
            return Err(format!(
                "{} missing: cargo build --release -p audit-relay-cli -p cloudtrail-s3",
                needed.display()
            )
            .into());
        }
    }
    let python_reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/python_reference.py");
    if let Some(records) = sink_records {
        return sink_table(&corpus_file(&dir, records)?, records, repeat);
    }

    println!("| records | inflated MB | zcat s | normalize s | records/s | MB/s | ratio to zcat | peak RSS MiB | Python s | Python RSS MiB | Python / ours | HEC gzip s | HEC events/s | HEC peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for records in sizes {
        let file = corpus_file(&dir, records)?;
        let inflated =
            measure(Command::new("sh").arg("-c").arg(format!("zcat {} | wc -c", file.display())), true)?.1;
        let inflated_mb = inflated.trim().parse::<f64>()? / 1e6;
        // Interleaved, so that a slower spell of a shared machine weighs on every command alike.
        let (mut zcat, mut ours, mut python, mut hec) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeat {
            zcat.push(measure(Command::new("zcat").arg(&file), false)?.0);
            ours.push(
                measure(Command::new(&cli).args(["normalize", "--source", "cloudtrail"]).arg(&file), false)?
                    .0,
            );
            python.push(measure(Command::new("python3").arg(&python_reference).arg(&file), false)?.0);
            hec.push(sink_run("splunk_hec", &file)?);
        }
        let (zcat, ours, python, hec) = (median(zcat), median(ours), median(python), median(hec));
        println!(
            "| {records} | {inflated_mb:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.1} | {:.2} | {:.0} | {:.1} | {:.2} | {:.0} | {:.1} |",
            zcat.seconds,
            ours.seconds,
            records as f64 / ours.seconds,
            inflated_mb / ours.seconds,
            ours.seconds / zcat.seconds,
            ours.peak_rss_mib,
            python.seconds,
            python.peak_rss_mib,
            python.seconds / ours.seconds,
            hec.seconds,
            records as f64 / hec.seconds,
            hec.peak_rss_mib,
        );
    }
    let cold = cold_start(&function)?;
    println!();
    println!(
        "cold start of cloudtrail-s3 (process start to first runtime API poll): {:.1} ms",
        cold.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Runs `command` with output to /dev/null (or captured), sampling its peak RSS (VmHWM).
fn measure(command: &mut Command, capture: bool) -> Result<(Run, String), Box<dyn std::error::Error>> {
    command.stdout(if capture { Stdio::piped() } else { Stdio::null() }).stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = command.spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let mut captured = String::new();
    if capture {
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut captured)?;
        }
    }
    let status = loop {
        peak_kib = peak_kib.max(vm_hwm_kib(&status_path));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok((Run { seconds, peak_rss_mib: peak_kib as f64 / 1024.0 }, captured))
}

/// The median time of `runs`, with the highest peak RSS among them.
fn median(mut runs: Vec<Run>) -> Run {
    let peak_rss_mib = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    Run { seconds: runs[runs.len() / 2].seconds, peak_rss_mib }
}

fn vm_hwm_kib(status_path: &str) -> u64 {
    std::fs::read_to_string(status_path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The benchmark file of `records` records in `dir`, generated on first use.
fn corpus_file(dir: &Path, records: u64) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let file = dir.join(format!("cloudtrail-{records}.json.gz"));
    if !file.is_file() {
        eprintln!("generating {} ...", file.display());
        corpus::write_gz(BufWriter::new(std::fs::File::create(&file)?), records, 42)?;
    }
    Ok(file)
}

/// Prints, for each sink, the median time and events/s of delivering `file` (interleaved runs).
fn sink_table(file: &Path, records: u64, repeat: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut runs: Vec<Vec<Run>> = SINKS.iter().map(|_| Vec::new()).collect();
    for _ in 0..repeat {
        for (sink, runs) in SINKS.iter().zip(&mut runs) {
            runs.push(sink_run(sink, file)?);
        }
    }
    println!("| sink ({records} CloudTrail records, local stand-in) | s | events/s | peak RSS MiB |");
    println!("|---|---|---|---|");
    for (sink, runs) in SINKS.iter().zip(runs) {
        let run = median(runs);
        println!(
            "| {sink} | {:.2} | {:.0} | {:.1} |",
            run.seconds,
            records as f64 / run.seconds,
            run.peak_rss_mib
        );
    }
    Ok(())
}

/// The sinks measured, each against a local stand-in that accepts everything and keeps nothing.
const SINKS: [&str; 4] = ["splunk_hec", "elasticsearch", "sentinel", "firehose"];

/// Starts the stand-in for `sink` and times a child process that delivers `file` to it.
fn sink_run(sink: &str, file: &Path) -> Result<Run, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    let (server, url) = runtime.block_on(async {
        match sink {
            "elasticsearch" => {
                let (server, _) = audit_relay_tests::bulk::Bulk::start(|s| s.discard = true).await;
                let url = server.uri();
                (server, url)
            }
            "sentinel" => {
                let (server, _) =
                    audit_relay_tests::logs_ingestion::Ingestion::start(|s| s.discard = true).await;
                let url = server.uri();
                (server, url)
            }
            "firehose" => {
                let server = audit_relay_tests::firehose::accepting().await;
                let url = server.uri();
                (server, url)
            }
            _ => {
                let server = audit_relay_tests::receiver::splunk_hec_discarding().await;
                let url = format!("{}/services/collector/event", server.uri());
                (server, url)
            }
        }
    });
    let exe = std::env::current_exe()?;
    let (run, _) = measure(Command::new(exe).arg("sink-child").arg(sink).arg(file).arg(&url), false)?;
    drop(server);
    Ok(run)
}

/// The child: one core, the file through the converter and `sink` (gzip) to `url`.
fn sink_child(sink: &str, file: &str, url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut vars: Vec<(&str, String)> = match sink {
            "sentinel" => audit_relay_tests::logs_ingestion::sink_vars(url, url, "bench-secret"),
            "firehose" => vec![("SIEM_TYPE", "stdout".to_string())],
            other => vec![
                ("SIEM_TYPE", other.to_string()),
                ("SIEM_URL", url.to_string()),
                ("SIEM_TOKEN", "YmVuY2g6dG9rZW4=".to_string()),
            ],
        };
        vars.push(("SINK_MAX_ATTEMPTS", "3".to_string()));
        let env = EnvReader::from_map(vars, None);
        let config = Config::load(&env).await?;
        let settings = config.delivery.clone();
        let sink = match sink {
            // The SDK client for the local endpoint (the sink's settings would take the AWS
            // environment's); every event to one stream.
            "firehose" => sinks::firehose::sink("*=bench", None, audit_relay_tests::firehose::client(url))?,
            _ => config.sink.build(sinks::http_client(settings.request_timeout)?)?,
        };
        let mut delivery = Delivery::new(sink, Arc::new(NoDeadLetter), &settings, Source::Cloudtrail, None);
        let converter = Converter::new(OutputFormat::Ocsf, false);
        let limits = ReadLimits { max_object_bytes: u64::MAX, max_record_bytes: 8 << 20 };
        let mut counts = ObjectCounts::default();
        let input = tokio::fs::File::open(file).await?;
        forward_stream(input, file, &mut delivery, &converter, limits, &mut counts).await?;
        let report = delivery.finish().await?;
        if report.delivered != counts.events || report.dead_lettered != 0 {
            return Err(format!("delivered {} of {} events", report.delivered, counts.events).into());
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

/// Time from spawning the function binary to its first request to the runtime API.
fn cold_start(function: &Path) -> Result<Duration, Box<dyn std::error::Error>> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let mut samples = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let mut child = Command::new(function)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("SIEM_TYPE", "stdout")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let (mut stream, _) = listener.accept()?;
        let elapsed = started.elapsed();
        let mut line = String::new();
        BufReader::new(&mut stream).read_line(&mut line)?;
        if !line.contains("/runtime/invocation/next") {
            return Err(format!("unexpected first request: {line}").into());
        }
        let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
        let _ = child.kill();
        let _ = child.wait();
        samples.push(elapsed);
    }
    samples.sort();
    Ok(samples[samples.len() / 2])
}
