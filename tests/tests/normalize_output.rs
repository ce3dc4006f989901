//! `audit-relay normalize` writes byte for byte the events it wrote before the performance work
//! of issue 19: the SHA-256 of its output on the bundled samples and on a generated corpus is
//! compared with `tests/fixtures/normalize-output.sha256`, taken before any lever was applied.
//! A mapping changed on purpose changes these: run with `UPDATE_NORMALIZE_OUTPUT=1` to rewrite
//! the file, and say why in the commit.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use audit_relay::integrity::digest::sha256_hex;
use audit_relay_tests::receiver::assert_valid_ocsf;
use audit_relay_tests::{corpus, runtime_api::function_binary};
use serde_json::Value;

const EXPECTED: &str = "fixtures/normalize-output.sha256";

/// Records of the generated file: every kind of record the generator makes, many times over.
const CORPUS_RECORDS: u64 = 20_000;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `normalize --sha256` of `file`: its stdout and the hash it printed for the file.
fn normalize(file: &Path, format: &str) -> (Vec<u8>, String) {
    let output = Command::new(function_binary("audit-relay"))
        .args(["normalize", "--source", "cloudtrail", "--sha256", "--format", format])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{}: {stderr}", file.display());
    let hash = stderr
        .lines()
        .find_map(|line| line.strip_suffix(&format!("  {}", file.display())))
        .unwrap_or_else(|| panic!("no hash line for {} in {stderr}", file.display()))
        .to_string();
    (output.stdout, hash)
}

fn inflated(file: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(file).unwrap()),
        &mut out,
    )
    .unwrap();
    out
}

#[test]
fn normalize_output_is_unchanged_on_the_samples_and_a_generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("corpus.json.gz");
    corpus::write_gz(std::fs::File::create(&generated).unwrap(), CORPUS_RECORDS, 42).unwrap();
    let samples = workspace().join("samples/cloudtrail");
    let mut inputs: Vec<(String, PathBuf)> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), path))
        .collect();
    inputs.sort();
    inputs.push((format!("corpus-{CORPUS_RECORDS}-seed-42"), generated));

    let mut lines = Vec::new();
    for (name, path) in &inputs {
        for format in ["ocsf", "udm"] {
            let (output, hash) = normalize(path, format);
            assert_eq!(hash, sha256_hex(&inflated(path)), "{name}: the hash of the inflated file");
            let events: Vec<Value> = output
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect();
            assert!(!events.is_empty(), "{name}: no events");
            if format == "ocsf" {
                assert_valid_ocsf(&events);
            }
            lines.push(format!("{}  {name} {format} ({} events)", sha256_hex(&output), events.len()));
        }
    }
    let actual = lines.join("\n") + "\n";
    let expected_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPECTED);
    if std::env::var_os("UPDATE_NORMALIZE_OUTPUT").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(actual, expected, "normalize output changed (see {EXPECTED})");
}
