//! Verifying a time range of a trail bucket (`audit-relay verify`): every digest delivered from
//! the start to an hour after the end (a log file of the last hour is listed in the next digest),
//! under every account and region found below `AWSLogs/`, and every log file of the range that
//! no digest lists.
//!
//! Listing goes day by day (`…/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/`), so a range costs
//! listings of its days, not of the whole bucket.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::error::DisplayErrorContext;

use super::digest::DigestKey;
use super::keys::{KeyRing, KeySource};
use super::verify::{verify_digest, DigestReport, Objects, Problem, Records};
use crate::timestamp::format_rfc3339_ms;

/// One listed log file's verdict, or a digest's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The digest (its signature, location and chain) holds.
    DigestValid,
    /// A log file matched its digest's hash.
    FileValid,
    /// Something wrong.
    Problem(Problem),
}

/// One line of the report: a digest or log file, its verdict, and the digest it was checked by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The object (`s3://bucket/key`).
    pub object: String,
    /// The digest's bucket and key.
    pub digest: (String, String),
    /// What the digest's key says.
    pub location: Option<DigestKey>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The counts of the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Digests that hold.
    pub digests_valid: u64,
    /// Digests that do not.
    pub digests_invalid: u64,
    /// Log files that match.
    pub files_valid: u64,
    /// Log files whose content changed.
    pub files_modified: u64,
    /// Listed log files that are gone.
    pub files_missing: u64,
    /// Log files no digest lists.
    pub files_not_listed: u64,
}

impl Summary {
    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        self.digests_invalid + self.files_modified + self.files_missing + self.files_not_listed > 0
    }

    /// `digests N valid / M invalid; log files N valid / M modified / K missing / J not listed`.
    pub fn line(&self) -> String {
        format!(
            "digests {} valid / {} invalid; log files {} valid / {} modified / {} missing / {} not listed",
            self.digests_valid,
            self.digests_invalid,
            self.files_valid,
            self.files_modified,
            self.files_missing,
            self.files_not_listed
        )
    }

    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::DigestValid => self.digests_valid += 1,
            Verdict::FileValid => self.files_valid += 1,
            Verdict::Problem(Problem::Modified { .. }) => self.files_modified += 1,
            Verdict::Problem(Problem::Missing { .. }) => self.files_missing += 1,
            Verdict::Problem(Problem::NotListed { .. }) => self.files_not_listed += 1,
            Verdict::Problem(_) => self.digests_invalid += 1,
        }
    }
}

/// The range to verify.
#[derive(Debug, Clone)]
pub struct Range {
    /// The trail bucket.
    pub bucket: String,
    /// The trail's key prefix (empty, or ending with `/`).
    pub prefix: String,
    /// The start, epoch ms.
    pub start_ms: i64,
    /// The end, epoch ms.
    pub end_ms: i64,
}

/// Verifies `range`: calls `progress` with the number of digests to verify, then once per
/// digest verified, and returns every entry and the summary.
pub async fn verify_range<S: KeySource>(
    s3: &aws_sdk_s3::Client,
    range: &Range,
    keys: &KeyRing<S>,
    objects: &dyn Objects,
    records: &dyn Records,
    progress: &mut dyn FnMut(Option<u64>),
) -> Result<(Vec<Entry>, Summary), String> {
    let days = days(range.start_ms, range.end_ms + 3_600_000);
    let mut digests = Vec::new();
    let mut logs = Vec::new();
    for root in roots(s3, &range.bucket, &range.prefix).await? {
        for region in children(s3, &range.bucket, &format!("{root}CloudTrail-Digest/")).await? {
            for day in &days {
                let digest_prefix = format!("{root}CloudTrail-Digest/{region}{day}/");
                digests.extend(list(s3, &range.bucket, &digest_prefix).await?);
            }
            for day in days.iter().filter(|d| day_within(d, range)) {
                let log_prefix = format!("{root}CloudTrail/{region}{day}/");
                logs.extend(list(s3, &range.bucket, &log_prefix).await?);
            }
        }
    }
    let start_stamp = stamp(range.start_ms);
    let end_stamp = stamp(range.end_ms + 3_600_000);
    let mut digests: Vec<(DigestKey, String)> = digests
        .into_iter()
        .filter_map(|key| DigestKey::parse(&key).map(|parsed| (parsed, key)))
        .filter(|(parsed, _)| parsed.stamp >= start_stamp && parsed.stamp <= end_stamp)
        .collect();
    digests.sort_by(|a, b| {
        (a.0.chain(), &a.0.stamp, a.0.backfill).cmp(&(b.0.chain(), &b.0.stamp, b.0.backfill))
    });
    progress(Some(digests.len() as u64));

    let mut entries = Vec::new();
    let mut summary = Summary::default();
    // Per account and region: what the digests list, and the period they cover.
    let mut listed: BTreeMap<(String, String), Cover> = BTreeMap::new();
    for (location, key) in digests {
        let report = match objects.get(&range.bucket, &key).await? {
            Some(fetched) => verify_digest(&range.bucket, &key, &fetched, keys, objects, records).await?,
            None => continue,
        };
        if let Some(digest) = report.digest.as_ref().filter(|_| report.authentic) {
            let cover =
                listed.entry((location.account.clone(), location.region.clone())).or_insert_with(|| Cover {
                    files: BTreeSet::new(),
                    first: compact(&digest.digest_start_time),
                    last: String::new(),
                    last_digest: key.clone(),
                    location: location.clone(),
                });
            cover
                .files
                .extend(digest.log_files.iter().map(|f| format!("s3://{}/{}", f.s3_bucket, f.s3_object)));
            cover.first = cover.first.clone().min(compact(&digest.digest_start_time));
            let end = compact(&digest.digest_end_time);
            if end > cover.last {
                cover.last = end;
                cover.last_digest = key.clone();
            }
        }
        push_report(&report, &mut entries, &mut summary);
        progress(None);
    }
    // Log files of the range, within the period some digest covers, that none lists.
    for key in logs {
        let Some((account, region, delivered)) = log_file(&key) else { continue };
        let Some(cover) = listed.get(&(account, region)) else { continue };
        let object = format!("s3://{}/{key}", range.bucket);
        let within = delivered >= cover.first && delivered < cover.last;
        if within && !cover.files.contains(&object) {
            let problem = Problem::NotListed { bucket: range.bucket.clone(), key: key.clone() };
            let verdict = Verdict::Problem(problem);
            summary.count(&verdict);
            entries.push(Entry {
                object,
                digest: (range.bucket.clone(), cover.last_digest.clone()),
                location: Some(cover.location.clone()),
                verdict,
            });
        }
    }
    Ok((entries, summary))
}

/// What the digests of one account and region list, and the period they cover.
struct Cover {
    files: BTreeSet<String>,
    /// `YYYYMMDDTHHmmssZ` of the earliest start and the latest end.
    first: String,
    last: String,
    /// The digest of the latest end, and its location.
    last_digest: String,
    location: DigestKey,
}

/// The entries of one digest's report.
fn push_report(report: &DigestReport, entries: &mut Vec<Entry>, summary: &mut Summary) {
    let digest_object = format!("s3://{}/{}", report.bucket, report.key);
    let mut add = |object: String, verdict: Verdict| {
        summary.count(&verdict);
        entries.push(Entry {
            object,
            digest: (report.bucket.clone(), report.key.clone()),
            location: report.location.clone(),
            verdict,
        });
    };
    let mut file_problems = BTreeSet::new();
    let mut digest_problem = false;
    for problem in &report.problems {
        match problem {
            Problem::Modified { bucket, key, .. } | Problem::Missing { bucket, key, .. } => {
                file_problems.insert(format!("s3://{bucket}/{key}"));
                add(format!("s3://{bucket}/{key}"), Verdict::Problem(problem.clone()));
            }
            Problem::NotListed { .. } => {}
            _ => {
                // One verdict per digest: its first problem (the others are in the log).
                if !digest_problem {
                    add(digest_object.clone(), Verdict::Problem(problem.clone()));
                }
                digest_problem = true;
            }
        }
    }
    if !digest_problem {
        add(digest_object, Verdict::DigestValid);
    }
    for file in report.digest.iter().filter(|_| report.authentic).flat_map(|d| &d.log_files) {
        let object = format!("s3://{}/{}", file.s3_bucket, file.s3_object);
        if !file_problems.contains(&object) {
            add(object, Verdict::FileValid);
        }
    }
}

/// `<prefix>AWSLogs/<account>/` and `<prefix>AWSLogs/<o-id>/<account>/` below the prefix.
async fn roots(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut roots = Vec::new();
    for child in children(s3, bucket, &format!("{prefix}AWSLogs/")).await? {
        let full = format!("{prefix}AWSLogs/{child}");
        if child.starts_with("o-") {
            for account in children(s3, bucket, &full).await? {
                roots.push(format!("{full}{account}"));
            }
        } else {
            roots.push(full);
        }
    }
    Ok(roots)
}

/// The "folders" right below `prefix` (each ending with `/`, without the prefix).
async fn children(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).delimiter("/").into_paginator().send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("ListObjectsV2 s3://{bucket}/{prefix}: {}", DisplayErrorContext(&e)))?;
        for common in page.common_prefixes() {
            if let Some(p) = common.prefix().and_then(|p| p.strip_prefix(prefix)) {
                out.push(p.to_string());
            }
        }
    }
    Ok(out)
}

/// Every key below `prefix`.
async fn list(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    crate::s3_object::list(s3, bucket, prefix)
        .await
        .map(|objects| objects.into_iter().map(|o| o.key).collect())
        .map_err(|e| e.to_string())
}

/// `YYYY/MM/DD` of every UTC day from `start_ms` to `end_ms`, each with a leading `/` removed
/// (`2024/11/19`), as the folders name them.
fn days(start_ms: i64, end_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = start_ms.div_euclid(86_400_000);
    while day <= end_ms.div_euclid(86_400_000) && out.len() < 3_700 {
        let text = format_rfc3339_ms(day * 86_400_000);
        out.push(format!("{}/{}/{}", &text[0..4], &text[5..7], &text[8..10]));
        day += 1;
    }
    out
}

/// Whether the day folder `YYYY/MM/DD` is inside the range (not the extra hour).
fn day_within(day: &str, range: &Range) -> bool {
    let compact: String = day.chars().filter(char::is_ascii_digit).collect();
    compact.as_str() >= &stamp(range.start_ms)[..8] && compact.as_str() <= &stamp(range.end_ms)[..8]
}

/// `YYYYMMDDTHHmmssZ` of an epoch-ms time, as digest names write it.
fn stamp(ms: i64) -> String {
    compact(&format_rfc3339_ms(ms))
}

/// `2024-11-19T12:00:00Z` (or with milliseconds) as `20241119T120000Z`.
fn compact(time: &str) -> String {
    let digits: String = time.chars().filter(char::is_ascii_digit).take(14).collect();
    if digits.len() < 14 {
        return digits;
    }
    format!("{}T{}Z", &digits[..8], &digits[8..14])
}

/// A log file key's account, region and delivery time (`YYYYMMDDTHHmm00Z`).
fn log_file(key: &str) -> Option<(String, String, String)> {
    let name = key.rsplit('/').next()?;
    let mut parts = name.split('_');
    let account = parts.next()?;
    if parts.next()? != "CloudTrail" {
        return None;
    }
    let region = parts.next()?;
    let time = parts.next()?;
    if time.len() != 14 || !time.ends_with('Z') {
        return None;
    }
    Some((account.to_string(), region.to_string(), format!("{}00Z", &time[..13])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_stamps_and_log_file_names_are_read() {
        let start = crate::timestamp::parse_rfc3339_ms("2024-11-30T23:00:00Z").unwrap();
        assert_eq!(days(start, start + 3_600_000), ["2024/11/30", "2024/12/01"]);
        assert_eq!(stamp(start), "20241130T230000Z");
        assert_eq!(compact("2024-11-19T12:00:00.123Z"), "20241119T120000Z");
        assert_eq!(
            log_file("AWSLogs/1/CloudTrail/us-east-1/2024/11/19/111122223333_CloudTrail_us-east-1_20241119T1205Z_abc.json.gz"),
            Some(("111122223333".into(), "us-east-1".into(), "20241119T120500Z".into()))
        );
        assert_eq!(log_file("AWSLogs/1/CloudTrail-Digest/x.json.gz"), None);
        let summary = Summary { digests_valid: 2, files_valid: 3, files_missing: 1, ..Summary::default() };
        assert_eq!(
            summary.line(),
            "digests 2 valid / 0 invalid; log files 3 valid / 0 modified / 1 missing / 0 not listed"
        );
        assert!(summary.failed());
        assert!(!Summary::default().failed());
    }
}
