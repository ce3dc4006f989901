//! "An object was created" notifications, in every envelope the `cloudtrail-s3` function accepts
//! (api-contracts.md §2): an S3 event notification (direct, as an SQS body, or as the `Message` of
//! an SNS envelope, itself direct or in SQS), an EventBridge "Object Created" event, and the
//! trail's own SNS notification (`{"s3Bucket":..,"s3ObjectKey":[..]}`, sent when a trail names an
//! SNS topic). Keys in S3 notifications are form-encoded and decoded here; the key as received is
//! kept too, for servers that do not encode it (EventBridge's encoding is not documented).

pub use crate::s3_object::ObjectRef;
use serde::Deserialize;

/// What a notification asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// Objects were created.
    Objects(Vec<ObjectRef>),
    /// S3's configuration test message, or an event that creates nothing (delete, restore): ack and
    /// ignore. The string says which.
    Ignore(String),
}

/// A message that is no notification we understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an S3 object notification: {0}")]
pub struct NotificationError(pub String);

#[derive(Deserialize)]
struct S3Event {
    #[serde(rename = "Records")]
    records: Vec<S3EventRecord>,
}

#[derive(Deserialize)]
struct S3EventRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Option<S3Entity>,
    #[serde(rename = "Sns")]
    sns: Option<SnsRecord>,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
    size: Option<u64>,
}

#[derive(Deserialize)]
struct SnsRecord {
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
struct SnsEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

#[derive(Deserialize)]
struct EventBridgeEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    detail: EventBridgeDetail,
}

#[derive(Deserialize)]
struct EventBridgeDetail {
    bucket: S3Bucket,
    object: S3Object,
}

/// CloudTrail's own delivery notification: the bucket and the keys of the files just written.
#[derive(Deserialize)]
struct TrailDelivery {
    #[serde(rename = "s3Bucket")]
    bucket: String,
    #[serde(rename = "s3ObjectKey")]
    keys: Vec<String>,
}

#[derive(Deserialize)]
struct S3TestEvent {
    #[serde(rename = "Event")]
    event: String,
}

/// Parses any supported notification from its JSON text (an SQS body, or a Lambda payload that is
/// not an SQS batch).
pub fn parse(text: &str) -> Result<Notification, NotificationError> {
    parse_depth(text, 0)
}

fn parse_depth(text: &str, depth: u8) -> Result<Notification, NotificationError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| NotificationError(format!("not JSON ({e})")))?;
    let object = value.as_object().ok_or_else(|| NotificationError("not a JSON object".to_string()))?;
    if object.contains_key("Records") {
        let event: S3Event = serde_json::from_value(value)
            .map_err(|e| NotificationError(format!("Records without S3 entries ({e})")))?;
        return from_records(event.records, depth);
    }
    if object.get("Type").and_then(|t| t.as_str()).is_some() && object.contains_key("Message") {
        let envelope: SnsEnvelope =
            serde_json::from_value(value).map_err(|e| NotificationError(format!("SNS envelope ({e})")))?;
        if envelope.kind != "Notification" {
            return Ok(Notification::Ignore(format!("SNS {} message", envelope.kind)));
        }
        return nested(&envelope.message, depth);
    }
    if object.contains_key("detail-type") {
        let event: EventBridgeEvent = serde_json::from_value(value)
            .map_err(|e| NotificationError(format!("EventBridge event without an S3 object ({e})")))?;
        if event.source != "aws.s3" || event.detail_type != "Object Created" {
            return Ok(Notification::Ignore(format!(
                "EventBridge {} from {}",
                event.detail_type, event.source
            )));
        }
        return Ok(Notification::Objects(vec![object_ref(event.detail.bucket, event.detail.object)]));
    }
    if object.contains_key("s3Bucket") && object.contains_key("s3ObjectKey") {
        let delivery: TrailDelivery = serde_json::from_value(value)
            .map_err(|e| NotificationError(format!("CloudTrail delivery notification ({e})")))?;
        let objects = delivery
            .keys
            .into_iter()
            .map(|key| ObjectRef {
                bucket: delivery.bucket.clone(),
                key: key.clone(),
                raw_key: key,
                size: None,
            })
            .collect();
        return Ok(Notification::Objects(objects));
    }
    if let Ok(test) = serde_json::from_value::<S3TestEvent>(value) {
        if test.event == "s3:TestEvent" {
            return Ok(Notification::Ignore("S3 test event".to_string()));
        }
    }
    Err(NotificationError("no Records, SNS Message or EventBridge detail".to_string()))
}

fn nested(text: &str, depth: u8) -> Result<Notification, NotificationError> {
    // An S3 event inside SNS inside SQS is two levels; more is not a notification.
    if depth >= 2 {
        return Err(NotificationError("envelopes nested too deep".to_string()));
    }
    parse_depth(text, depth + 1)
}

fn from_records(records: Vec<S3EventRecord>, depth: u8) -> Result<Notification, NotificationError> {
    let mut objects = Vec::new();
    let mut ignored = Vec::new();
    for record in records {
        if let Some(sns) = record.sns {
            match nested(&sns.message, depth)? {
                Notification::Objects(found) => objects.extend(found),
                Notification::Ignore(why) => ignored.push(why),
            }
            continue;
        }
        let Some(s3) = record.s3 else {
            return Err(NotificationError("a record has neither s3 nor Sns".to_string()));
        };
        if record.event_name.starts_with("ObjectCreated:") {
            objects.push(object_ref(s3.bucket, s3.object));
        } else {
            ignored.push(format!("S3 {}", record.event_name));
        }
    }
    if objects.is_empty() {
        let why = if ignored.is_empty() { "no records".to_string() } else { ignored.join(", ") };
        return Ok(Notification::Ignore(why));
    }
    Ok(Notification::Objects(objects))
}

fn object_ref(bucket: S3Bucket, object: S3Object) -> ObjectRef {
    ObjectRef { bucket: bucket.name, key: decode_key(&object.key), raw_key: object.key, size: object.size }
}

/// Decodes a form-encoded key: `+` is a space, `%XX` a byte.
pub(crate) fn decode_key(key: &str) -> String {
    let spaced = key.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Why an object is not read, or `None` when it should be.
pub fn skip_reason(key: &str) -> Option<&'static str> {
    if key.contains("/CloudTrail-Digest/") || key.contains("_CloudTrail-Digest_") {
        return Some("CloudTrail digest file");
    }
    if !(key.ends_with(".json.gz") || key.ends_with(".json")) {
        return Some("not a .json.gz or .json object");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sources/cloudtrail/fixtures/envelopes/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
    }

    fn objects(notification: Notification) -> Vec<(String, String)> {
        match notification {
            Notification::Objects(objects) => objects.into_iter().map(|o| (o.bucket, o.key)).collect(),
            Notification::Ignore(why) => panic!("ignored: {why}"),
        }
    }

    #[test]
    fn direct_s3_event_fixture() {
        let found = objects(parse(&fixture("s3Event.json")).unwrap());
        assert_eq!(
            found,
            vec![(
                "lambda-artifacts-deafc19498e3f2df".to_string(),
                "b21b84d653bb07b05b1e6b33684dc11b".to_string()
            )]
        );
    }

    #[test]
    fn encoded_key_fixture_is_decoded() {
        let found = objects(parse(&fixture("s3EventDecodedKey.json")).unwrap());
        assert_eq!(found, vec![("sourcebucket".to_string(), "Happy Face.jpg".to_string())]);
    }

    #[test]
    fn eventbridge_fixture() {
        let found = objects(parse(&fixture("s3EventBridgeNotificationObjectCreatedEvent.json")).unwrap());
        assert_eq!(found, vec![("example-bucket".to_string(), "IMG_m7fzo3.jpg".to_string())]);
    }

    #[test]
    fn sqs_fixture_bodies_are_s3_events() {
        let sqs: serde_json::Value = serde_json::from_str(&fixture("s3SqsEvent.json")).unwrap();
        let body = sqs["Records"][0]["body"].as_str().unwrap();
        assert_eq!(objects(parse(body).unwrap()), vec![("xxx".to_string(), "test.pdf".to_string())]);
    }

    #[test]
    fn sns_in_sqs_fixture_without_s3_event_is_an_error() {
        // The fixture's SNS message is `{"message": "hello world", ...}`: not a notification.
        let sqs: serde_json::Value = serde_json::from_str(&fixture("snsSqsEvent.json")).unwrap();
        let body = sqs["Records"][0]["body"].as_str().unwrap();
        let error = parse(body).unwrap_err();
        assert!(error.0.contains("no Records"), "{error}");
    }

    #[test]
    fn plain_sqs_fixture_bodies_are_errors() {
        let sqs: serde_json::Value = serde_json::from_str(&fixture("sqsEvent.json")).unwrap();
        for record in sqs["Records"].as_array().unwrap() {
            assert!(parse(record["body"].as_str().unwrap()).is_err());
        }
    }

    #[test]
    fn sns_envelope_around_an_s3_event() {
        let s3 = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/CloudTrail/us-east-1/2024/01/02/a+b%2Bc.json.gz","size":12}}}]}"#;
        let envelope =
            serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": s3}).to_string();
        let Notification::Objects(found) = parse(&envelope).unwrap() else { panic!() };
        assert_eq!(found[0].key, "AWSLogs/1/CloudTrail/us-east-1/2024/01/02/a b+c.json.gz");
        assert_eq!(found[0].raw_key, "AWSLogs/1/CloudTrail/us-east-1/2024/01/02/a+b%2Bc.json.gz");
        assert_eq!(found[0].size, Some(12));
        let direct_sns =
            serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": s3}}]}).to_string();
        assert_eq!(objects(parse(&direct_sns).unwrap()).len(), 1);
    }

    #[test]
    fn trail_sns_notification_names_its_files_unencoded() {
        let message = r#"{"s3Bucket":"trail","s3ObjectKey":["AWSLogs/1/CloudTrail/us-east-1/2024/11/19/1_CloudTrail_us-east-1_20241119T1205Z_a.json.gz","AWSLogs/1/CloudTrail/eu-west-1/2024/11/19/1_CloudTrail_eu-west-1_20241119T1205Z_b+c.json.gz"]}"#;
        let envelope = serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:trail", "Message": message}).to_string();
        let Notification::Objects(found) = parse(&envelope).unwrap() else { panic!() };
        let keys: Vec<&str> = found.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "AWSLogs/1/CloudTrail/us-east-1/2024/11/19/1_CloudTrail_us-east-1_20241119T1205Z_a.json.gz",
                "AWSLogs/1/CloudTrail/eu-west-1/2024/11/19/1_CloudTrail_eu-west-1_20241119T1205Z_b+c.json.gz"
            ]
        );
        assert!(found.iter().all(|o| o.bucket == "trail"));
    }

    #[test]
    fn test_events_and_deletes_are_ignored() {
        let cases = [
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"trail","RequestId":"r","HostId":"h"}"#.to_string(),
            r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k.json.gz"}}}]}"#.to_string(),
            r#"{"version":"0","detail-type":"Object Deleted","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"k"}}}"#.to_string(),
            serde_json::json!({"Type": "SubscriptionConfirmation", "Message": "confirm"}).to_string(),
        ];
        for case in cases {
            assert!(matches!(parse(&case), Ok(Notification::Ignore(_))), "{case}");
        }
    }

    #[test]
    fn skip_rules() {
        let cases = [
            ("AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz", None),
            ("AWSLogs/o-1/111122223333/CloudTrail-Insight/ca-central-1/2020/09/23/x.json.gz", None),
            ("local/sample.json", None),
            ("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150801T021000Z.json.gz", Some("CloudTrail digest file")),
            ("AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/file.csv", Some("not a .json.gz or .json object")),
            ("AWSLogs/", Some("not a .json.gz or .json object")),
        ];
        for (key, expected) in cases {
            assert_eq!(skip_reason(key), expected, "{key}");
        }
    }
}
