//! Writes a generated CloudTrail log file (gzip) for benchmarks and local runs:
//! `gen-cloudtrail RECORDS OUT.json.gz [SEED]`.

use std::fs::File;
use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(records), Some(out)) = (args.get(1).and_then(|n| n.parse::<u64>().ok()), args.get(2)) else {
        eprintln!("usage: gen-cloudtrail RECORDS OUT.json.gz [SEED]");
        std::process::exit(2);
    };
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(42);
    let inflated = audit_relay_tests::corpus::write_gz(BufWriter::new(File::create(out)?), records, seed)?;
    eprintln!("{out}: {records} records, {inflated} bytes inflated");
    Ok(())
}
