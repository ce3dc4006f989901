//! Google SecOps Unified Data Model (UDM) output, `SIEM_FORMAT=udm` (api-contracts.md §9.2).
//!
//! UDM events are built as JSON with the proto field names (`metadata.event_type`,
//! `principal.user.userid`, ...), which the Chronicle API accepts as proto3 JSON and the SecOps
//! webhook feed of log type UDM reads as they are. Two producers exist:
//! * Azure DevOps: the SecOps parser's own field mapping
//!   (`crate::sources::azure_devops::udm`, docs/mappings/azure-devops.md);
//! * every other source: one translation of its OCSF event ([`from_ocsf`]).
//!
//! This module holds what both share: path setters, labels, the event types and the check that an
//! event carries what its type requires (else it becomes `GENERIC_EVENT`).

pub mod from_ocsf;

use serde_json::{Map, Value};

/// UDM `metadata.event_type` values we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    /// `GENERIC_EVENT`: nothing more specific applies.
    Generic,
    /// `STATUS_SHUTDOWN`.
    StatusShutdown,
    /// `STATUS_UPDATE`.
    StatusUpdate,
    /// `RESOURCE_CREATION`.
    ResourceCreation,
    /// `RESOURCE_READ`.
    ResourceRead,
    /// `RESOURCE_WRITTEN`.
    ResourceWritten,
    /// `RESOURCE_DELETION`.
    ResourceDeletion,
    /// `USER_RESOURCE_DELETION`.
    UserResourceDeletion,
    /// `USER_RESOURCE_ACCESS`.
    UserResourceAccess,
    /// `GROUP_CREATION`.
    GroupCreation,
    /// `GROUP_DELETION`.
    GroupDeletion,
    /// `GROUP_MODIFICATION`.
    GroupModification,
    /// `USER_LOGIN`.
    UserLogin,
    /// `USER_LOGOUT`.
    UserLogout,
    /// `USER_CREATION`.
    UserCreation,
    /// `USER_DELETION`.
    UserDeletion,
    /// `USER_CHANGE_PASSWORD`.
    UserChangePassword,
    /// `USER_CHANGE_PERMISSIONS`.
    UserChangePermissions,
    /// `USER_UNCATEGORIZED`.
    UserUncategorized,
}

impl EventType {
    /// The UDM enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "GENERIC_EVENT",
            Self::StatusShutdown => "STATUS_SHUTDOWN",
            Self::StatusUpdate => "STATUS_UPDATE",
            Self::ResourceCreation => "RESOURCE_CREATION",
            Self::ResourceRead => "RESOURCE_READ",
            Self::ResourceWritten => "RESOURCE_WRITTEN",
            Self::ResourceDeletion => "RESOURCE_DELETION",
            Self::UserResourceDeletion => "USER_RESOURCE_DELETION",
            Self::UserResourceAccess => "USER_RESOURCE_ACCESS",
            Self::GroupCreation => "GROUP_CREATION",
            Self::GroupDeletion => "GROUP_DELETION",
            Self::GroupModification => "GROUP_MODIFICATION",
            Self::UserLogin => "USER_LOGIN",
            Self::UserLogout => "USER_LOGOUT",
            Self::UserCreation => "USER_CREATION",
            Self::UserDeletion => "USER_DELETION",
            Self::UserChangePassword => "USER_CHANGE_PASSWORD",
            Self::UserChangePermissions => "USER_CHANGE_PERMISSIONS",
            Self::UserUncategorized => "USER_UNCATEGORIZED",
        }
    }

    /// `self` when `event` carries what the type requires, else [`EventType::Generic`].
    ///
    /// Requirements (Chronicle's UDM usage guide, simplified to what audit events carry):
    /// `STATUS_*` need a principal machine (`principal.ip` or `principal.hostname`); `USER_*` and
    /// `GROUP_*` need a principal and a target user, group or resource; `RESOURCE_*` need a
    /// principal. A principal is a user id, e-mail, display name, IP address, host or application.
    pub fn checked(self, event: &Value) -> Self {
        let principal = |paths: &[&str]| paths.iter().any(|p| get(event, p).is_some());
        let has_principal = principal(&[
            "principal.user.userid",
            "principal.user.email_addresses",
            "principal.user.user_display_name",
            "principal.ip",
            "principal.hostname",
            "principal.application",
        ]);
        let has_machine = principal(&["principal.ip", "principal.hostname"]);
        let has_target = principal(&[
            "target.user.userid",
            "target.user.user_display_name",
            "target.user.email_addresses",
            "target.group.product_object_id",
            "target.group.group_display_name",
            "target.resource.name",
            "target.resource.product_object_id",
        ]);
        let ok = match self {
            Self::Generic => true,
            Self::StatusShutdown | Self::StatusUpdate => has_machine,
            Self::ResourceCreation | Self::ResourceRead | Self::ResourceWritten | Self::ResourceDeletion => {
                has_principal
            }
            Self::UserLogin | Self::UserLogout => has_principal && principal(&["target.user.userid"]),
            _ => has_principal && has_target,
        };
        if ok {
            self
        } else {
            Self::Generic
        }
    }
}

/// Sets `value` at the dotted `path` of `event` (an object), creating objects on the way; a
/// `Null` value, an empty string or an empty array sets nothing.
pub fn set(event: &mut Value, path: &str, value: impl Into<Value>) {
    let value = value.into();
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if empty {
        return;
    }
    let mut node = event;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(map) = node else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        node = map.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The value at the dotted `path` of `event`, if any; a number indexes an array
/// (`security_result.0.action`).
pub fn get<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(event, |node, part| match node {
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => node.get(part),
    })
}

/// Appends a `{key, value}` label to the labels array at `path` (e.g.
/// `target.resource.attribute.labels`); an empty value adds nothing.
pub(crate) fn push_label(event: &mut Value, path: &str, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let label = serde_json::json!({ "key": key, "value": value });
    match get_mut(event, path) {
        Some(Value::Array(labels)) => labels.push(label),
        _ => set(event, path, Value::Array(vec![label])),
    }
}

/// Sets `additional.<key>` (`additional` is a proto `Struct`: a JSON object in proto3 JSON) to a
/// string; an empty value adds nothing.
pub(crate) fn push_additional(event: &mut Value, key: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    if !matches!(event.get("additional"), Some(Value::Object(_))) {
        set(event, "additional", Value::Object(Map::from_iter([(key.to_owned(), Value::from(value))])));
        return;
    }
    if let Some(Value::Object(fields)) = event.get_mut("additional") {
        fields.insert(key.to_owned(), Value::from(value));
    }
}

/// The value of the label `key` in the labels array at `path`.
#[cfg(test)]
pub(crate) fn label<'a>(event: &'a Value, path: &str, key: &str) -> Option<&'a str> {
    get(event, path)?
        .as_array()?
        .iter()
        .find(|l| l.get("key").and_then(Value::as_str) == Some(key))?
        .get("value")?
        .as_str()
}

fn get_mut<'a>(event: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(event, |node, part| node.get_mut(part))
}

/// A JSON value as label or `additional` text: strings as they are, anything else as its JSON
/// text; `None` for null.
pub(crate) fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_creates_objects_and_skips_empty_values() {
        let mut event = json!({});
        set(&mut event, "principal.user.userid", "u1");
        set(&mut event, "principal.user.user_display_name", "");
        set(&mut event, "principal.ip", Value::Array(vec![]));
        set(&mut event, "metadata.description", Value::Null);
        assert_eq!(event, json!({"principal": {"user": {"userid": "u1"}}}));
        assert_eq!(get(&event, "principal.user.userid"), Some(&json!("u1")));
        assert_eq!(get(&event, "principal.ip"), None);
    }

    #[test]
    fn labels_and_additional_fields_accumulate() {
        let mut event = json!({});
        push_label(&mut event, "target.resource.attribute.labels", "A", "1");
        push_label(&mut event, "target.resource.attribute.labels", "B", "2");
        push_label(&mut event, "target.resource.attribute.labels", "C", "");
        push_additional(&mut event, "Actor CUID", "c1");
        push_additional(&mut event, "ScopeType", "organization");
        assert_eq!(
            event,
            json!({
                "target": {"resource": {"attribute": {"labels": [
                    {"key": "A", "value": "1"}, {"key": "B", "value": "2"}
                ]}}},
                "additional": {"Actor CUID": "c1", "ScopeType": "organization"}
            })
        );
        assert_eq!(label(&event, "target.resource.attribute.labels", "B"), Some("2"));
    }

    #[test]
    fn event_types_fall_back_to_generic_without_required_fields() {
        let user_only = json!({"principal": {"user": {"userid": "u"}}});
        let with_ip = json!({"principal": {"ip": ["192.0.2.1"]}});
        let with_group =
            json!({"principal": {"user": {"userid": "u"}}, "target": {"group": {"group_display_name": "g"}}});
        let cases = [
            (EventType::StatusUpdate, &user_only, EventType::Generic),
            (EventType::StatusUpdate, &with_ip, EventType::StatusUpdate),
            (EventType::ResourceCreation, &user_only, EventType::ResourceCreation),
            (EventType::ResourceCreation, &json!({}), EventType::Generic),
            (EventType::GroupModification, &user_only, EventType::Generic),
            (EventType::GroupModification, &with_group, EventType::GroupModification),
            (EventType::UserLogin, &user_only, EventType::Generic),
            (EventType::Generic, &json!({}), EventType::Generic),
        ];
        for (wanted, event, expected) in cases {
            assert_eq!(wanted.checked(event), expected, "{wanted:?} {event}");
        }
    }
}
