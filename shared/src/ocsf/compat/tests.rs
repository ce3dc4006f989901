//! Rewriting OCSF 1.8.0 events to 1.3.0.

use serde_json::json;

use super::*;

fn v13() -> &'static Downgrade {
    Version::V1_3_0.downgrade().unwrap()
}

#[test]
fn the_attribute_lists_load_and_name_every_emitted_class() {
    for &class_uid in crate::ocsf::ClassActivity::CLASS_UIDS {
        let class = v13().class(class_uid).unwrap_or_else(|| panic!("1.3.0 has class {class_uid}"));
        assert!(class.has("metadata") && class.has("time") && class.has("unmapped"), "{class_uid}");
        assert!(class.object("metadata").unwrap().has("version"));
    }
    assert!(v13().class(6003).unwrap().object("actor").unwrap().object("user").unwrap().has("name"));
    assert_eq!(Version::parse(" 1.3.0 "), Some(Version::V1_3_0));
    assert_eq!(Version::parse("1.8.0"), None);
    assert!(Downgrade::parse(r#"{"version":"x","classes":{"1":{"attributes":{"a":"nope"}}},"objects":{}}"#)
        .is_err());
}

#[test]
fn attributes_the_older_version_lacks_move_to_unmapped_in_their_shape() {
    let mut event = json!({
        "class_uid": 6003,
        "time": 1,
        "metadata": {"version": "1.8.0", "product": {"name": "CloudTrail"}, "not_in_any": 1},
        "actor": {"user": {"name": "alice", "not_in_any": "x"}},
        "resources": [{"uid": "a"}, {"uid": "b", "not_in_any": true}],
        "unmapped": {"eventName": "GetObject", "nested": {"kept": [1, 2]}},
        "not_in_any": {"deep": 1},
    });
    v13().apply(&mut event).unwrap();
    assert_eq!(
        event,
        json!({
            "class_uid": 6003,
            "time": 1,
            "metadata": {"version": "1.3.0", "product": {"name": "CloudTrail"}},
            "actor": {"user": {"name": "alice"}},
            "resources": [{"uid": "a"}, {"uid": "b"}],
            "unmapped": {
                "eventName": "GetObject",
                "nested": {"kept": [1, 2]},
                "ocsf_1_8_0": {
                    "metadata": {"not_in_any": 1},
                    "actor": {"user": {"not_in_any": "x"}},
                    "resources": [{}, {"not_in_any": true}],
                    "not_in_any": {"deep": 1},
                },
            },
        })
    );
}

#[test]
fn an_event_with_nothing_newer_only_changes_its_version() {
    let mut event =
        json!({"class_uid": 3002, "time": 1, "metadata": {"version": "1.8.0"}, "user": {"name": "a"}});
    v13().apply(&mut event).unwrap();
    assert_eq!(
        event,
        json!({"class_uid": 3002, "time": 1, "metadata": {"version": "1.3.0"}, "user": {"name": "a"}})
    );
    // Applying it again changes nothing (a replayed dead letter).
    let before = event.clone();
    v13().apply(&mut event).unwrap();
    assert_eq!(event, before);
}

#[test]
fn events_it_cannot_rewrite_are_errors() {
    assert!(v13().apply(&mut json!({"time": 1})).unwrap_err().contains("class_uid"));
    assert!(v13().apply(&mut json!({"class_uid": 9})).unwrap_err().contains("no class 9"));
}

#[test]
fn an_attribute_of_a_profile_keeps_its_place_and_declares_the_profile() {
    let mut event = json!({
        "class_uid": 3006,
        "metadata": {"version": "1.8.0", "profiles": ["cloud"]},
        "actor": {"user": {"name": "admin"}},
        "group": {"name": "devs"},
    });
    v13().apply(&mut event).unwrap();
    assert_eq!(event["actor"], json!({"user": {"name": "admin"}}), "1.3.0 has actor with the host profile");
    assert_eq!(event["metadata"]["profiles"], json!(["cloud", "host"]));
    assert_eq!(event.get("unmapped"), None);

    let mut without = json!({"class_uid": 3006, "metadata": {"version": "1.8.0"}, "group": {"name": "devs"}});
    v13().apply(&mut without).unwrap();
    assert_eq!(without["metadata"].get("profiles"), None, "no host attribute, no host profile");
}
