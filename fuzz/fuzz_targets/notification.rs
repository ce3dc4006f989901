//! The S3 / SNS / EventBridge notification parser on arbitrary text: no panic.
#![no_main]

use audit_relay::sources::cloudtrail::notification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(notification::Notification::Objects(objects)) = notification::parse(&text) {
        for object in objects {
            let _ = notification::skip_reason(&object.key);
        }
    }
});
