//! OCSF 1.8.0 event → UDM event: the one translation every source but Azure DevOps uses for
//! `SIEM_FORMAT=udm` (the table is in docs/mappings/azure-devops.md, "OCSF → UDM").
//!
//! * `metadata.event_type` from `class_uid` and `activity_id` ([`event_type`]), checked against
//!   what the type requires ([`EventType::checked`]);
//! * `principal` from `actor` and `src_endpoint`; `network.http.user_agent` from `http_request`;
//! * `target` from `user`, `group`, and the first of `entity`, `resource`, `resources[]`;
//!   `target.application` from `api.service.name`;
//! * `security_result[0].action` from `status_id` (Success → `ALLOW`, Failure → `BLOCK`);
//! * `metadata` from `metadata` and `time`; `additional` keeps the OCSF class and correlation id.
//!
//! The translation reads the event's JSON, so it serves any [`OcsfEvent`] the sources build.

use serde_json::{json, Value};

use super::{push_additional, set, EventType};
use crate::ocsf::OcsfEvent;
use crate::timestamp::format_rfc3339_ms;

/// The UDM event of an OCSF event.
pub(crate) fn from_event(event: &OcsfEvent) -> Result<Value, serde_json::Error> {
    Ok(translate(&serde_json::to_value(event)?))
}

/// `metadata.event_type` for an OCSF class and activity, before the required-field check.
pub fn event_type(class_uid: u64, activity_id: u64) -> EventType {
    match (class_uid, activity_id) {
        // Account Change: Create, Delete, Password Change/Reset, Attach/Detach Policy.
        (3001, 1) => EventType::UserCreation,
        (3001, 6) => EventType::UserDeletion,
        (3001, 3 | 4) => EventType::UserChangePassword,
        (3001, 7 | 8) => EventType::UserChangePermissions,
        (3001, _) => EventType::UserUncategorized,
        // Authentication: Logon, Authentication Ticket, Preauth; Logoff.
        (3002, 1 | 3 | 6) => EventType::UserLogin,
        (3002, 2) => EventType::UserLogout,
        (3002, _) => EventType::UserUncategorized,
        // Authorize Session, User Access Management.
        (3003 | 3005, _) => EventType::UserChangePermissions,
        // Group Management: Delete, Create; everything else changes the group.
        (3006, 5) => EventType::GroupDeletion,
        (3006, 6) => EventType::GroupCreation,
        (3006, _) => EventType::GroupModification,
        // Entity Management and API Activity: Create, Read, Update, Delete.
        (3004 | 6003, 1) => EventType::ResourceCreation,
        (3004 | 6003, 2) => EventType::ResourceRead,
        (3004 | 6003, 3) => EventType::ResourceWritten,
        (3004 | 6003, 4) => EventType::ResourceDeletion,
        (3004, _) => EventType::ResourceWritten,
        // Web Resource Access Activity.
        (6004, _) => EventType::UserResourceAccess,
        // Datastore Activity: Read/Query/List, Update/Write, Create, Delete.
        (6005, 1 | 4 | 8) => EventType::ResourceRead,
        (6005, 2 | 5) => EventType::ResourceWritten,
        (6005, 6) => EventType::ResourceCreation,
        (6005, 7) => EventType::ResourceDeletion,
        _ => EventType::Generic,
    }
}

/// The UDM event of an OCSF event's JSON.
pub(crate) fn translate(ocsf: &Value) -> Value {
    let s = |path: &str| -> Option<&str> { super::get(ocsf, path).and_then(Value::as_str) };
    let n = |path: &str| -> Option<u64> { super::get(ocsf, path).and_then(Value::as_u64) };
    let mut udm = json!({});

    // metadata
    if let Some(time) = super::get(ocsf, "time").and_then(Value::as_i64) {
        set(&mut udm, "metadata.event_timestamp", format_rfc3339_ms(time));
    }
    set(&mut udm, "metadata.vendor_name", s("metadata.product.vendor_name"));
    set(&mut udm, "metadata.product_name", s("metadata.product.name"));
    set(&mut udm, "metadata.product_version", s("metadata.product.version"));
    set(&mut udm, "metadata.product_log_id", s("metadata.uid"));
    let product_event_type = s("api.operation").or(s("metadata.event_code")).or(s("type_name"));
    set(&mut udm, "metadata.product_event_type", product_event_type);
    set(&mut udm, "metadata.description", s("message"));

    // principal
    set(&mut udm, "principal.user.userid", s("actor.user.name").or(s("actor.user.uid")));
    if s("actor.user.name").is_some() {
        set(&mut udm, "principal.user.product_object_id", s("actor.user.uid"));
    }
    set(
        &mut udm,
        "principal.user.user_display_name",
        s("actor.user.display_name").or(s("actor.user.full_name")),
    );
    if let Some(email) = s("actor.user.email_addr") {
        set(&mut udm, "principal.user.email_addresses", json!([email]));
    }
    if n("actor.user.type_id") == Some(4) {
        set(&mut udm, "principal.user.account_type", "SERVICE_ACCOUNT_TYPE");
    }
    set(&mut udm, "principal.application", s("actor.app_name").or(s("actor.invoked_by")));
    if let Some(ip) = s("src_endpoint.ip") {
        set(&mut udm, "principal.ip", json!([ip]));
    }
    set(&mut udm, "principal.hostname", s("src_endpoint.hostname").or(s("src_endpoint.domain")));
    set(&mut udm, "network.http.user_agent", s("http_request.user_agent"));

    // target
    set(&mut udm, "target.user.userid", s("user.name").or(s("user.uid")));
    if s("user.name").is_some() {
        set(&mut udm, "target.user.product_object_id", s("user.uid"));
    }
    set(&mut udm, "target.user.user_display_name", s("user.display_name").or(s("user.full_name")));
    if let Some(email) = s("user.email_addr") {
        set(&mut udm, "target.user.email_addresses", json!([email]));
    }
    set(&mut udm, "target.group.group_display_name", s("group.name"));
    set(&mut udm, "target.group.product_object_id", s("group.uid"));
    let resource = ["entity", "resource", "resources.0"]
        .iter()
        .map(|base| (s(&format!("{base}.name")), s(&format!("{base}.uid")), s(&format!("{base}.type"))))
        .find(|(name, uid, _)| name.is_some() || uid.is_some());
    if let Some((name, uid, kind)) = resource {
        set(&mut udm, "target.resource.name", name);
        set(&mut udm, "target.resource.product_object_id", uid);
        set(&mut udm, "target.resource.resource_subtype", kind);
    }
    set(&mut udm, "target.application", s("api.service.name"));
    let environment = match s("cloud.provider") {
        Some("AWS") => Some("AMAZON_WEB_SERVICES"),
        Some("Azure") => Some("MICROSOFT_AZURE"),
        Some("GCP") => Some("GOOGLE_CLOUD_PLATFORM"),
        _ => None,
    };
    set(&mut udm, "target.resource.attribute.cloud.environment", environment);

    // security_result
    let action = match n("status_id") {
        Some(1) => Some("ALLOW"),
        Some(2) => Some("BLOCK"),
        _ => None,
    };
    if let Some(action) = action {
        let mut result = json!({ "action": [action] });
        set(&mut result, "summary", s("status_detail").or(s("api.response.error")));
        set(&mut udm, "security_result", json!([result]));
    }

    push_additional(&mut udm, "ocsf_type_name", s("type_name").unwrap_or_default());
    push_additional(&mut udm, "correlation_uid", s("metadata.correlation_uid").unwrap_or_default());

    let kind = event_type(n("class_uid").unwrap_or(0), n("activity_id").unwrap_or(0)).checked(&udm);
    set(&mut udm, "metadata.event_type", kind.as_str());
    udm
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::ocsf::{
        AccountChangeActivity, Actor, Api, ApiActivity, AuthActivity, ClassActivity, Cloud, EntityActivity,
        Group, GroupActivity, HttpRequest, ManagedEntity, Metadata, NetworkEndpoint, Product,
        ResourceDetails, Service, Status, User, UserAccessActivity, UserType,
    };
    use crate::udm::get;

    fn event(activity: impl Into<ClassActivity>) -> OcsfEvent {
        let mut metadata = Metadata::new(Product::new("CloudTrail", "AWS"));
        metadata.uid = Some("evt-1".to_owned());
        let mut event = OcsfEvent::new(activity, 1_404_840_927_123, metadata);
        event.actor = Some(Actor {
            user: Some(User {
                name: Some("alice".to_owned()),
                uid: Some("arn:aws:iam::1:user/alice".to_owned()),
                ..User::default()
            }),
            ..Actor::default()
        });
        event.src_endpoint = Some(NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))));
        event
    }

    fn udm_of(event: &OcsfEvent) -> Value {
        crate::ocsf::validate::validate_event(event).unwrap_or_else(|e| panic!("{}", e.join("\n")));
        from_event(event).unwrap()
    }

    #[test]
    fn event_type_from_class_and_activity() {
        let cases: [(ClassActivity, &str); 12] = [
            (AccountChangeActivity::Create.into(), "USER_CREATION"),
            (AccountChangeActivity::Delete.into(), "USER_DELETION"),
            (AccountChangeActivity::PasswordChange.into(), "USER_CHANGE_PASSWORD"),
            (AccountChangeActivity::AttachPolicy.into(), "USER_CHANGE_PERMISSIONS"),
            (AccountChangeActivity::Other.into(), "USER_UNCATEGORIZED"),
            (GroupActivity::AddUser.into(), "GROUP_MODIFICATION"),
            (GroupActivity::Create.into(), "GROUP_CREATION"),
            (UserAccessActivity::AssignPrivileges.into(), "USER_CHANGE_PERMISSIONS"),
            (ApiActivity::Create.into(), "RESOURCE_CREATION"),
            (ApiActivity::Read.into(), "RESOURCE_READ"),
            (ApiActivity::Other.into(), "GENERIC_EVENT"),
            (EntityActivity::Delete.into(), "RESOURCE_DELETION"),
        ];
        for (activity, expected) in cases {
            let mut event = event(activity);
            event.user = Some(User::named("bob"));
            event.group = Some(Group { name: Some("admins".to_owned()), ..Group::default() });
            event.entity = Some(ManagedEntity { name: Some("e".to_owned()), ..ManagedEntity::default() });
            event.privileges.push("p".to_owned());
            event.api = Some(Api::new("Op"));
            // One event carries every target kind: the translation reads the type from the ids
            // alone (schema validity is checked in the tests below).
            let json = serde_json::to_value(&event).unwrap();
            let udm = translate(&json);
            assert_eq!(get(&udm, "metadata.event_type"), Some(&json!(expected)), "{activity:?}");
        }
    }

    #[test]
    fn api_call_maps_principal_target_and_status() {
        let mut event = event(ApiActivity::Delete);
        event.set_status(Status::Failure);
        event.status_detail = Some("AccessDenied".to_owned());
        event.message = Some("deleted a bucket".to_owned());
        event.http_request =
            Some(HttpRequest { user_agent: Some("aws-cli/2".to_owned()), ..HttpRequest::default() });
        let mut api = Api::new("DeleteBucket");
        api.service = Some(Service::named("s3.amazonaws.com"));
        event.api = Some(api);
        event.resources.push(ResourceDetails {
            uid: Some("arn:aws:s3:::b1".to_owned()),
            type_: Some("AWS::S3::Bucket".to_owned()),
            ..ResourceDetails::default()
        });
        event.set_cloud(Cloud::new("AWS"));
        let udm = udm_of(&event);
        let cases = [
            ("metadata.event_timestamp", json!("2014-07-08T17:35:27.123Z")),
            ("metadata.event_type", json!("RESOURCE_DELETION")),
            ("metadata.vendor_name", json!("AWS")),
            ("metadata.product_name", json!("CloudTrail")),
            ("metadata.product_log_id", json!("evt-1")),
            ("metadata.product_event_type", json!("DeleteBucket")),
            ("metadata.description", json!("deleted a bucket")),
            ("principal.user.userid", json!("alice")),
            ("principal.user.product_object_id", json!("arn:aws:iam::1:user/alice")),
            ("principal.ip", json!(["192.0.2.7"])),
            ("network.http.user_agent", json!("aws-cli/2")),
            ("target.resource.product_object_id", json!("arn:aws:s3:::b1")),
            ("target.resource.resource_subtype", json!("AWS::S3::Bucket")),
            ("target.resource.attribute.cloud.environment", json!("AMAZON_WEB_SERVICES")),
            ("target.application", json!("s3.amazonaws.com")),
            ("security_result", json!([{"action": ["BLOCK"], "summary": "AccessDenied"}])),
            ("additional.ocsf_type_name", json!("API Activity: Delete")),
        ];
        for (path, expected) in cases {
            assert_eq!(get(&udm, path), Some(&expected), "{path} in {udm}");
        }
    }

    #[test]
    fn identity_events_map_target_user_and_group() {
        let mut group = event(GroupActivity::AddUser);
        group.set_status(Status::Success);
        group.user =
            Some(User { name: Some("bob".to_owned()), uid: Some("u-2".to_owned()), ..User::default() });
        group.group =
            Some(Group { name: Some("admins".to_owned()), uid: Some("g-1".to_owned()), ..Group::default() });
        let udm = udm_of(&group);
        assert_eq!(get(&udm, "metadata.event_type"), Some(&json!("GROUP_MODIFICATION")));
        assert_eq!(get(&udm, "target.user.userid"), Some(&json!("bob")));
        assert_eq!(get(&udm, "target.user.product_object_id"), Some(&json!("u-2")));
        assert_eq!(get(&udm, "target.group.group_display_name"), Some(&json!("admins")));
        assert_eq!(get(&udm, "target.group.product_object_id"), Some(&json!("g-1")));
        assert_eq!(get(&udm, "security_result"), Some(&json!([{"action": ["ALLOW"]}])));

        let mut login = event(AuthActivity::Logon);
        login.user = Some(User {
            name: Some("alice".to_owned()),
            type_id: Some(UserType::Service),
            ..User::default()
        });
        login.service = Some(Service::named("signin.aws.amazon.com"));
        let udm = udm_of(&login);
        assert_eq!(get(&udm, "metadata.event_type"), Some(&json!("USER_LOGIN")));
    }

    #[test]
    fn a_type_whose_required_fields_are_missing_becomes_generic() {
        let mut event = event(GroupActivity::AddUser);
        event.actor = None;
        event.src_endpoint = None;
        event.group = Some(Group { name: Some("admins".to_owned()), ..Group::default() });
        let udm = udm_of(&event);
        assert_eq!(get(&udm, "metadata.event_type"), Some(&json!("GENERIC_EVENT")));
    }
}
