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
//! `--json` prints, instead of Markdown, one JSON object per figure per line (`table`, `figure`,
//! `value`, `unit`, `at` and what the row is about), to compare runs.
//! `--hashing` prints instead `normalize` with and without the SHA-256 the function takes of each
//! file for the digest checks (`--sha256`), interleaved.

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
    /// User + system CPU time of the child (10 ms resolution).
    cpu_seconds: f64,
    peak_rss_mib: f64,
}

/// Lambda's price per GB-second on arm64 (us-east-1, published on aws.amazon.com/lambda/pricing).
const ARM64_USD_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda's memory size at which a function has one full vCPU.
const MB_PER_VCPU: f64 = 1769.0;
/// The memory sizes the cost table shows: the template's default first.
const COST_MEMORY_MB: [f64; 3] = [256.0, 512.0, 1769.0];

/// Where figures go: Markdown tables, or with `--json` one JSON object per figure per line.
#[derive(Clone, Copy)]
struct Report {
    json: bool,
}

impl Report {
    /// A table's header lines (Markdown only).
    fn header(self, lines: &[&str]) {
        if !self.json {
            for line in lines {
                println!("{line}");
            }
        }
    }

    /// One row: `markdown`, or each of `figures` (name, value, unit) as a line of JSON tagged with
    /// `table` and `key` (what the row is about).
    fn row(self, table: &str, key: serde_json::Value, markdown: String, figures: &[(&str, f64, &str)]) {
        if !self.json {
            println!("{markdown}");
            return;
        }
        let at =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        for (figure, value, unit) in figures {
            let mut line =
                serde_json::json!({"table": table, "figure": figure, "value": value, "unit": unit, "at": at});
            if let (Some(line), Some(key)) = (line.as_object_mut(), key.as_object()) {
                line.extend(key.clone());
            }
            println!("{line}");
        }
    }

    /// A line of text after a table (Markdown only).
    fn note(self, text: String) {
        if !self.json {
            println!("{text}");
        }
    }
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
    // `--hashing`: only the table of what the SHA-256 of each file costs `normalize`.
    let mut hashing = false;
    let mut report = Report { json: false };
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
            "--hashing" => {
                hashing = true;
                i += 1;
            }
            "--json" => {
                report.json = true;
                i += 1;
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
        return sink_table(report, &corpus_file(&dir, records)?, records, repeat);
    }
    if hashing {
        return hashing_table(report, &cli, &dir, &sizes, repeat);
    }

    report.header(&[
        "| records | inflated MB | zcat s | normalize s | records/s | MB/s | ratio to zcat | peak RSS MiB | Python s | Python RSS MiB | Python / ours | HEC gzip s | HEC events/s | HEC peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]);
    let mut costs = Vec::new();
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
        let compressed_gb = std::fs::metadata(&file)?.len() as f64 / 1e9;
        costs.push((records, compressed_gb, ours.cpu_seconds, hec.cpu_seconds));
        let markdown = format!(
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
        report.row(
            "cloudtrail",
            serde_json::json!({"records": records}),
            markdown,
            &[
                ("zcat_seconds", zcat.seconds, "s"),
                ("normalize_seconds", ours.seconds, "s"),
                ("normalize_records_per_second", records as f64 / ours.seconds, "records/s"),
                ("ratio_to_zcat", ours.seconds / zcat.seconds, "ratio"),
                ("normalize_peak_rss", ours.peak_rss_mib, "MiB"),
                ("normalize_cpu_per_record", ours.cpu_seconds / records as f64 * 1e6, "us"),
                ("python_seconds", python.seconds, "s"),
                ("python_over_ours", python.seconds / ours.seconds, "ratio"),
                ("hec_gzip_events_per_second", records as f64 / hec.seconds, "events/s"),
                ("hec_gzip_peak_rss", hec.peak_rss_mib, "MiB"),
                ("hec_gzip_cpu_per_event", hec.cpu_seconds / records as f64 * 1e6, "us"),
            ],
        );
    }
    cost_table(report, &costs);
    let cold = cold_start(&function)?;
    report.note(String::new());
    report.row(
        "cold_start",
        serde_json::json!({}),
        format!(
            "cold start of cloudtrail-s3 (process start to first runtime API poll): {:.1} ms",
            cold.as_secs_f64() * 1e3
        ),
        &[("cold_start", cold.as_secs_f64() * 1e3, "ms")],
    );
    Ok(())
}

/// What Lambda bills for the CPU time measured per event (the HEC delivery run: read, inflate,
/// map, serialize, gzip, send), on the assumption that a function's CPU share grows with its
/// memory up to one vCPU at 1,769 MB and that this machine's core is as fast as the Lambda's.
/// `costs`: (records, compressed GB of the file, normalize CPU s, HEC delivery CPU s).
fn cost_table(report: Report, costs: &[(u64, f64, f64, f64)]) {
    report.note(String::new());
    report.header(&[
        "| records | CPU µs/event (normalize) | CPU µs/event (HEC gzip) | memory MB | GB-s per million events | USD per million events | USD per compressed GB |",
        "|---|---|---|---|---|---|---|",
    ]);
    for &(records, compressed_gb, normalize_cpu, hec_cpu) in costs {
        let per_event = hec_cpu / records as f64;
        for memory in COST_MEMORY_MB {
            let share = (memory / MB_PER_VCPU).min(1.0);
            let gb_seconds = per_event * 1e6 / share * memory / 1024.0;
            let usd = gb_seconds * ARM64_USD_PER_GB_SECOND;
            let events_per_gb = records as f64 / compressed_gb;
            let usd_per_gb = usd * events_per_gb / 1e6;
            report.row(
                "cost",
                serde_json::json!({"records": records, "memory_mb": memory}),
                format!(
                    "| {records} | {:.2} | {:.2} | {memory:.0} | {gb_seconds:.1} | {usd:.5} | {usd_per_gb:.5} |",
                    normalize_cpu / records as f64 * 1e6,
                    per_event * 1e6,
                ),
                &[
                    ("gb_seconds_per_million_events", gb_seconds, "GB-s"),
                    ("usd_per_million_events", usd, "USD"),
                    ("usd_per_compressed_gb", usd_per_gb, "USD"),
                ],
            );
        }
    }
}

/// `normalize` with and without the SHA-256 of each file, interleaved: the median of each and
/// what hashing adds.
fn hashing_table(
    report: Report,
    cli: &Path,
    dir: &Path,
    sizes: &[u64],
    repeat: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    report.header(&[
        "| records | normalize s (--sha256) | records/s | normalize s | records/s | hashing adds |",
        "|---|---|---|---|---|---|",
    ]);
    for &records in sizes {
        let file = corpus_file(dir, records)?;
        let (mut hashed, mut plain) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            let normalize = || {
                let mut command = Command::new(cli);
                command.args(["normalize", "--source", "cloudtrail"]);
                command
            };
            hashed.push(measure(normalize().arg("--sha256").arg(&file), false)?.0);
            plain.push(measure(normalize().arg(&file), false)?.0);
        }
        let (hashed, plain) = (median(hashed), median(plain));
        let adds = (hashed.seconds / plain.seconds - 1.0) * 100.0;
        report.row(
            "hashing",
            serde_json::json!({"records": records}),
            format!(
                "| {records} | {:.2} | {:.0} | {:.2} | {:.0} | {adds:+.1} % |",
                hashed.seconds,
                records as f64 / hashed.seconds,
                plain.seconds,
                records as f64 / plain.seconds,
            ),
            &[
                ("normalize_sha256_seconds", hashed.seconds, "s"),
                ("normalize_seconds", plain.seconds, "s"),
                ("hashing_adds", adds, "%"),
            ],
        );
    }
    Ok(())
}

/// Runs `command` with output to /dev/null (or captured), sampling its peak RSS (VmHWM).
fn measure(command: &mut Command, capture: bool) -> Result<(Run, String), Box<dyn std::error::Error>> {
    command.stdout(if capture { Stdio::piped() } else { Stdio::null() }).stderr(Stdio::inherit());
    let cpu_before = children_cpu_seconds();
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
    let cpu_seconds = children_cpu_seconds() - cpu_before;
    Ok((Run { seconds, cpu_seconds, peak_rss_mib: peak_kib as f64 / 1024.0 }, captured))
}

/// User + system time of this process's waited-for children so far (`cutime` + `cstime` of
/// `/proc/self/stat`, in USER_HZ = 100 ticks per second).
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |field: usize| fields.get(field - 3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(16) + ticks(17)) / 100.0
}

/// The median time of `runs`, with the highest peak RSS among them.
fn median(mut runs: Vec<Run>) -> Run {
    let peak_rss_mib = runs.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max);
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let middle = &runs[runs.len() / 2];
    Run { seconds: middle.seconds, cpu_seconds: middle.cpu_seconds, peak_rss_mib }
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
fn sink_table(
    report: Report,
    file: &Path,
    records: u64,
    repeat: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut runs: Vec<Vec<Run>> = SINKS.iter().map(|_| Vec::new()).collect();
    for _ in 0..repeat {
        for (sink, runs) in SINKS.iter().zip(&mut runs) {
            runs.push(sink_run(sink, file)?);
        }
    }
    let title =
        format!("| sink ({records} CloudTrail records, local stand-in) | s | events/s | peak RSS MiB |");
    report.header(&[&title, "|---|---|---|---|"]);
    for (sink, runs) in SINKS.iter().zip(runs) {
        let run = median(runs);
        report.row(
            "sinks",
            serde_json::json!({"records": records, "sink": sink}),
            format!(
                "| {sink} | {:.2} | {:.0} | {:.1} |",
                run.seconds,
                records as f64 / run.seconds,
                run.peak_rss_mib
            ),
            &[
                ("seconds", run.seconds, "s"),
                ("events_per_second", records as f64 / run.seconds, "events/s"),
                ("peak_rss", run.peak_rss_mib, "MiB"),
            ],
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
