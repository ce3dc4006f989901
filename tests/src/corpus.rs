//! A generator of realistic CloudTrail log files for tests and benchmarks: a deterministic mix of
//! services, identity types, sign-ins, IAM changes, data events, errors and Insights, about 1 KB
//! per record like real trails. Written straight into a gzip stream, so a million records never
//! sit in memory.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;

/// A small deterministic PRNG (xorshift), so every run makes the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const USER_AGENTS: &[&str] = &[
    "aws-cli/2.18.0 md/Botocore#1.35.40 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard",
    "Boto3/1.35.40 md/Botocore#1.35.40 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.40",
    "[aws-sdk-java/2.25.0 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy]",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
];

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn identity(rng: &mut Rng, account: &str) -> String {
    match rng.below(10) {
        0..=4 => {
            let session = rng.pick(&["alice", "bob", "carol", "ci-runner", "terraform"]);
            let role = rng.pick(&["Admin", "ReadOnly", "Deploy", "etl", "lambda-exec"]);
            format!(
                r#"{{"type":"AssumedRole","principalId":"AROA{n:016X}:{session}","arn":"arn:aws:sts::{account}:assumed-role/{role}/{session}","accountId":"{account}","accessKeyId":"ASIA{k:016X}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{n:016X}","arn":"arn:aws:iam::{account}:role/{role}","accountId":"{account}","userName":"{role}"}},"attributes":{{"creationDate":"2024-11-19T11:00:00Z","mfaAuthenticated":"{mfa}"}}}}}}"#,
                n = rng.next() >> 8,
                k = rng.next() >> 8,
                mfa = rng.below(2) == 0
            )
        }
        5..=7 => {
            let user = rng.pick(&["dave", "erin", "frank", "backup-bot"]);
            format!(
                r#"{{"type":"IAMUser","principalId":"AIDA{n:016X}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","accessKeyId":"AKIA{k:016X}","userName":"{user}"}}"#,
                n = rng.next() >> 8,
                k = rng.next() >> 8
            )
        }
        8 => r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#.to_string(),
        _ => format!(
            r#"{{"type":"Root","principalId":"{account}","arn":"arn:aws:iam::{account}:root","accountId":"{account}"}}"#
        ),
    }
}

/// One record; `i` makes its event id unique and findable (`...-<i as 12 hex digits>`).
pub fn record(rng_seed: u64, i: u64) -> String {
    let mut rng = Rng(rng_seed ^ (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
    let account = "111122223333";
    let region = rng.pick(REGIONS);
    let event_id = format!("{}-{i:012x}", &uuid(&mut rng)[..23]);
    let request_id = uuid(&mut rng);
    let second = i % 86_400;
    let time = format!("2024-11-19T{:02}:{:02}:{:02}Z", second / 3600, (second / 60) % 60, second % 60);
    let ip = format!("{}.{}.{}.{}", 1 + rng.below(222), rng.below(256), rng.below(256), 1 + rng.below(254));
    let agent = rng.pick(USER_AGENTS);
    let user = identity(&mut rng, account);
    let kind = rng.below(100);
    if kind == 0 {
        return format!(
            r#"{{"eventVersion":"1.07","eventTime":"{time}","awsRegion":"{region}","eventID":"{event_id}","eventType":"AwsCloudTrailInsight","recipientAccountId":"{account}","sharedEventID":"{shared}","insightDetails":{{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","insightType":"ApiCallRateInsight","insightContext":{{"statistics":{{"baseline":{{"average":0.5}},"insight":{{"average":32}}}}}}}},"eventCategory":"Insight"}}"#,
            shared = uuid(&mut rng)
        );
    }
    let (source, name, request, response, error, category, read_only) = match kind {
        1..=3 => (
            "signin.amazonaws.com",
            "ConsoleLogin",
            "null".to_string(),
            format!(r#"{{"ConsoleLogin":"{}"}}"#, if kind == 3 { "Failure" } else { "Success" }),
            None,
            "Management",
            false,
        ),
        4..=8 => (
            "sts.amazonaws.com",
            "AssumeRole",
            format!(r#"{{"roleArn":"arn:aws:iam::{account}:role/Deploy","roleSessionName":"session-{i}","durationSeconds":3600}}"#),
            format!(r#"{{"credentials":{{"accessKeyId":"ASIA{k:016X}","sessionToken":"IQoJb3JpZ2luX2VjEXAMPLE{k:016X}","expiration":"Nov 19, 2024, 1:00:13 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLE:session-{i}","arn":"arn:aws:sts::{account}:assumed-role/Deploy/session-{i}"}}}}"#, k = rng.next() >> 8),
            None,
            "Management",
            false,
        ),
        9..=10 => (
            "iam.amazonaws.com",
            "CreateUser",
            format!(r#"{{"userName":"svc-{i}","path":"/"}}"#),
            format!(r#"{{"user":{{"path":"/","userName":"svc-{i}","userId":"AIDA{n:016X}","arn":"arn:aws:iam::{account}:user/svc-{i}","createDate":"Nov 19, 2024, 12:02:45 PM"}}}}"#, n = rng.next() >> 8),
            None,
            "Management",
            false,
        ),
        11 => (
            "iam.amazonaws.com",
            "AddUserToGroup",
            format!(r#"{{"groupName":"deployers","userName":"svc-{i}"}}"#),
            "null".to_string(),
            None,
            "Management",
            false,
        ),
        12..=45 => (
            "s3.amazonaws.com",
            "GetObject",
            format!(r#"{{"bucketName":"data-lake-{region}","Host":"data-lake-{region}.s3.{region}.amazonaws.com","key":"raw/2024/11/19/part-{i:08}.parquet"}}"#),
            "null".to_string(),
            if kind == 45 { Some(("AccessDenied", "Access Denied")) } else { None },
            "Data",
            true,
        ),
        46..=70 => (
            "ec2.amazonaws.com",
            "DescribeInstances",
            r#"{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Environment","valueSet":{"items":[{"value":"production"}]}}]}}"#.to_string(),
            "null".to_string(),
            if kind % 9 == 0 { Some(("Client.RequestLimitExceeded", "Request limit exceeded.")) } else { None },
            "Management",
            true,
        ),
        71..=85 => (
            "kms.amazonaws.com",
            "Decrypt",
            format!(r#"{{"encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:{region}:{account}:function:api-{n}"}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#, n = rng.below(40)),
            "null".to_string(),
            None,
            "Management",
            true,
        ),
        _ => (
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            format!(r#"{{"functionName":"api-{n}","memorySize":256,"timeout":30,"environment":{{}}}}"#, n = rng.below(40)),
            format!(r#"{{"functionName":"api-{n}","functionArn":"arn:aws:lambda:{region}:{account}:function:api-{n}","runtime":"provided.al2023","memorySize":256,"timeout":30,"lastUpdateStatus":"InProgress"}}"#, n = rng.below(40)),
            if kind == 99 { Some(("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource.")) } else { None },
            "Management",
            false,
        ),
    };
    let error = match error {
        Some((code, message)) => format!(r#""errorCode":"{code}","errorMessage":"{message}","#),
        None => String::new(),
    };
    let source_ip = if user.contains("AWSService") { "ec2.amazonaws.com".to_string() } else { ip };
    format!(
        r#"{{"eventVersion":"1.10","userIdentity":{user},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","sourceIPAddress":"{source_ip}","userAgent":"{agent}",{error}"requestParameters":{request},"responseElements":{response},"requestID":"{request_id}","eventID":"{event_id}","readOnly":{read_only},"eventType":"{event_type}","managementEvent":{management},"recipientAccountId":"{account}","eventCategory":"{category}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{host}"}}}}"#,
        event_type = if name == "ConsoleLogin" { "AwsConsoleSignIn" } else { "AwsApiCall" },
        management = category == "Management",
        host = source.replace(".amazonaws.com", &format!(".{region}.amazonaws.com")),
    )
}

/// Writes a gzip CloudTrail log file of `records` records to `out`; returns the inflated size.
pub fn write_gz<W: Write>(out: W, records: u64, seed: u64) -> io::Result<u64> {
    let mut gz = GzEncoder::new(out, Compression::default());
    let mut inflated = 0u64;
    gz.write_all(b"{\"Records\":[")?;
    inflated += 12;
    for i in 0..records {
        if i > 0 {
            gz.write_all(b",")?;
            inflated += 1;
        }
        let r = record(seed, i);
        gz.write_all(r.as_bytes())?;
        inflated += r.len() as u64;
    }
    gz.write_all(b"]}")?;
    gz.finish()?.flush()?;
    Ok(inflated + 2)
}

/// A gzip CloudTrail log file of `records` records, in memory.
pub fn gz_bytes(records: u64, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_gz(&mut out, records, seed).expect("writing to a Vec cannot fail");
    out
}

/// The event id of record `i` ends with `i` in hex: recovers `i` from an event id.
pub fn index_of_event_id(event_id: &str) -> Option<u64> {
    u64::from_str_radix(event_id.rsplit('-').next()?, 16).ok()
}
