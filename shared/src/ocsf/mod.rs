//! The OCSF 1.8.0 event model every source maps to (api-contracts.md §13).
//!
//! One [`OcsfEvent`] struct carries the base attributes of every class plus optional
//! class-specific attributes; fields left empty are not serialized, so an event never
//! contains nulls or empty arrays. The identifying attributes (`class_uid`, `category_uid`,
//! `activity_id`, `type_uid` and their captions, `severity_id`, `status_id`) are private and
//! derived from enums ([`ClassActivity`], [`Severity`], [`Status`]), so they always agree.
//! Setting [`OcsfEvent::set_cloud`] adds the `cloud` profile to `metadata.profiles`.
//!
//! Which optional attribute a class allows is fixed by the OCSF schema (`additionalProperties:
//! false` in `shared/ocsf-schema/1.8.0/<class>.json`); each field's doc names the classes that have
//! it. Tests check every emitted event with `validate::validate` (test builds and the
//! `schema-validation` feature).
//!
//! ```
//! use audit_relay::ocsf::{ApiActivity, AuthActivity, Metadata, OcsfEvent, Product, User};
//!
//! let metadata = Metadata::new(Product::new("Jira", "Atlassian"));
//! let mut login = OcsfEvent::new(AuthActivity::Logon, 1_700_000_000_000, metadata);
//! login.user = Some(User::named("alice"));
//! assert_eq!(login.type_uid(), 300_201);
//!
//! let api = OcsfEvent::new(ApiActivity::Read, 0, Metadata::new(Product::new("X", "Y")));
//! assert_eq!(api.type_name(), "API Activity: Read");
//! ```

/// Defines a closed set of OCSF ids with their captions, serialized as the numeric id.
macro_rules! id_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $variant:ident = $id:literal => $caption:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( #[doc = concat!("`", stringify!($id), "` ", $caption)] $variant, )+
        }

        impl $name {
            /// The OCSF numeric id.
            pub const fn id(self) -> u32 {
                match self { $( Self::$variant => $id, )+ }
            }

            /// The OCSF caption of the id.
            pub const fn caption(self) -> &'static str {
                match self { $( Self::$variant => $caption, )+ }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u32(self.id())
            }
        }
    };
}

mod classes;
mod compact;
pub mod compat;
mod objects;
#[cfg(any(test, feature = "schema-validation"))]
pub mod schema;
#[cfg(any(test, feature = "schema-validation"))]
pub mod validate;

use std::borrow::Cow;

use serde::Serialize;

pub use classes::{
    AccountChangeActivity, Activity, ApiActivity, AuthActivity, AuthProtocol, Category, ClassActivity,
    DatastoreActivity, DatastoreType, EntityActivity, GroupActivity, LogonType, Severity, Status,
    UserAccessActivity, WebResourceAccessActivity,
};
pub use objects::{
    Account, AccountType, Actor, Api, ApiRequest, ApiResponse, Authorization, Cloud, Database, DatabaseType,
    Databucket, DatabucketType, EntityType, Group, HttpHeader, HttpMethod, HttpRequest, HttpResponse, Idp,
    Location, ManagedEntity, NetworkEndpoint, Observable, ObservableType, Policy, QueryInfo, RawJson,
    ResourceDetails, Service, Session, Table, Unmapped, Url, User, UserType, WebResource,
};

/// The OCSF schema version every event declares in `metadata.version`.
pub(crate) const OCSF_VERSION: &str = "1.8.0";

/// The `cloud` profile: adds the required `cloud` object.
pub(crate) const PROFILE_CLOUD: &str = "cloud";

/// One OCSF event of any class we emit.
///
/// Build it with [`OcsfEvent::new`], then fill the public fields the class allows.
#[derive(Debug, Clone, Serialize)]
pub struct OcsfEvent {
    /// Event time, ms since the epoch.
    pub time: i64,
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: Severity,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_id: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    /// Status code as the source reports it (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// More about the outcome, as the source says it (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// A short description of the event (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Event metadata: product, ids, original time (all classes).
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud: Option<Cloud>,
    /// Who did it. Every class here except Web Resource Access Activity (6004); required by API
    /// Activity and Datastore Activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The API call (all classes; required by API Activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<Api>,
    /// Where the request came from (all classes; required by API and Datastore Activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_endpoint: Option<NetworkEndpoint>,
    /// Where the request went: API Activity, Authentication, Datastore Activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst_endpoint: Option<NetworkEndpoint>,
    /// The HTTP request (all classes; required by Web Resource Access Activity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_request: Option<HttpRequest>,
    /// The HTTP response (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_response: Option<HttpResponse>,
    /// Resources the event is about: API Activity, User Access Management.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceDetails>,
    /// The one resource: Group Management, User Access Management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceDetails>,
    /// The subject user: Authentication, Account Change, User Access Management (required),
    /// Group Management (optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The user after the change: Account Change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_result: Option<User>,
    /// The group: Group Management (required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The subgroup added or removed: Group Management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subgroup: Option<Group>,
    /// Privileges granted or revoked: Group Management, User Access Management (required).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<String>,
    /// Policies attached or detached: Account Change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Policy>,
    /// The managed entity: Entity Management (required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<ManagedEntity>,
    /// The entity after the change: Entity Management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_result: Option<ManagedEntity>,
    /// A user comment on the change: Entity Management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The session created or used: Authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// The service authenticated to: Authentication, which needs this or `dst_endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol_id: Option<AuthProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon_type_id: Option<LogonType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logon_type: Option<&'static str>,
    /// Whether multi-factor authentication was used: Authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_mfa: Option<bool>,
    /// Whether the logon came from a remote host: Authentication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_remote: Option<bool>,
    #[serde(rename = "type_id", skip_serializing_if = "Option::is_none")]
    datastore_type_id: Option<DatastoreType>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    datastore_type: Option<&'static str>,
    /// The database: Datastore Activity, which needs one of `database`, `databucket`, `table`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<Database>,
    /// The databucket (S3 bucket, blob container): Datastore Activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub databucket: Option<Databucket>,
    /// The table (or index): Datastore Activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// The query: Datastore Activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_info: Option<QueryInfo>,
    /// Web resources accessed: Web Resource Access Activity (required).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web_resources: Vec<WebResource>,
    /// Start of the activity, ms since the epoch (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// End of the activity, ms since the epoch (all classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Values worth indexing, each naming the attribute it came from (all classes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observables: Vec<Observable>,
    /// Source fields no attribute holds (all classes).
    #[serde(skip_serializing_if = "Unmapped::is_empty")]
    pub unmapped: Unmapped,
    /// The source record's text, only when `INCLUDE_RAW` is on (all classes).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "compact::serialize_raw_text")]
    pub raw_data: Option<String>,
}

impl OcsfEvent {
    /// A new event of `activity`'s class at `time_ms`, severity Informational, no status.
    pub fn new(activity: impl Into<ClassActivity>, time_ms: i64, metadata: Metadata) -> Self {
        let activity = activity.into();
        let mut event = Self {
            time: time_ms,
            class_uid: 0,
            class_name: "",
            category_uid: 0,
            category_name: "",
            activity_id: 0,
            activity_name: "",
            type_uid: 0,
            type_name: "",
            severity_id: Severity::Informational,
            severity: Severity::Informational.caption(),
            status_id: None,
            status: None,
            status_code: None,
            status_detail: None,
            message: None,
            metadata,
            cloud: None,
            actor: None,
            api: None,
            src_endpoint: None,
            dst_endpoint: None,
            http_request: None,
            http_response: None,
            resources: Vec::new(),
            resource: None,
            user: None,
            user_result: None,
            group: None,
            subgroup: None,
            privileges: Vec::new(),
            policies: Vec::new(),
            entity: None,
            entity_result: None,
            comment: None,
            session: None,
            service: None,
            auth_protocol_id: None,
            auth_protocol: None,
            logon_type_id: None,
            logon_type: None,
            is_mfa: None,
            is_remote: None,
            datastore_type_id: None,
            datastore_type: None,
            database: None,
            databucket: None,
            table: None,
            query_info: None,
            web_resources: Vec::new(),
            start_time: None,
            end_time: None,
            observables: Vec::new(),
            unmapped: Unmapped::default(),
            raw_data: None,
        };
        event.set_class_activity(activity);
        event
    }

    /// Changes the class and activity; every id and caption follows.
    pub fn set_class_activity(&mut self, activity: ClassActivity) {
        let category = activity.category();
        self.class_uid = activity.class_uid();
        self.class_name = activity.class_name();
        self.category_uid = category.id();
        self.category_name = category.caption();
        self.activity_id = activity.activity_id();
        self.activity_name = activity.activity_name();
        self.type_uid = activity.type_uid();
        self.type_name = activity.type_name();
    }

    /// The class and activity.
    pub fn class_activity(&self) -> ClassActivity {
        // The ids were set from a ClassActivity, so the lookup cannot fail; fall back to
        // API Activity: Unknown rather than panic.
        ClassActivity::from_ids(self.class_uid, self.activity_id)
            .unwrap_or(ClassActivity::ApiActivity(ApiActivity::Unknown))
    }

    /// `class_uid`, e.g. 3002 for Authentication.
    pub fn class_uid(&self) -> u32 {
        self.class_uid
    }

    /// `category_uid`, e.g. 3 for Identity & Access Management.
    pub fn category_uid(&self) -> u32 {
        self.category_uid
    }

    /// `activity_id` within the class.
    pub fn activity_id(&self) -> u32 {
        self.activity_id
    }

    /// `type_uid` = `class_uid * 100 + activity_id`.
    pub fn type_uid(&self) -> u32 {
        self.type_uid
    }

    /// `type_name`, e.g. "Authentication: Logon".
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Sets `severity_id` and `severity`.
    pub fn set_severity(&mut self, severity: Severity) {
        self.severity_id = severity;
        self.severity = severity.caption();
    }

    /// `severity_id`.
    pub fn severity(&self) -> Severity {
        self.severity_id
    }

    /// Sets `status_id` and `status`.
    pub fn set_status(&mut self, status: Status) {
        self.status_id = Some(status);
        self.status = Some(status.caption());
    }

    /// `status_id`, if set.
    pub fn status(&self) -> Option<Status> {
        self.status_id
    }

    /// Sets the `cloud` object and adds the `cloud` profile to `metadata.profiles`.
    pub fn set_cloud(&mut self, cloud: Cloud) {
        self.cloud = Some(cloud);
        if !self.metadata.profiles.contains(&PROFILE_CLOUD) {
            self.metadata.profiles.push(PROFILE_CLOUD);
        }
    }

    /// The `cloud` object, if set.
    pub fn cloud(&self) -> Option<&Cloud> {
        self.cloud.as_ref()
    }

    /// Sets `auth_protocol_id` and `auth_protocol` (Authentication).
    pub fn set_auth_protocol(&mut self, protocol: AuthProtocol) {
        self.auth_protocol_id = Some(protocol);
        self.auth_protocol = Some(protocol.caption());
    }

    /// `auth_protocol_id`, if set.
    pub fn auth_protocol(&self) -> Option<AuthProtocol> {
        self.auth_protocol_id
    }

    /// Sets `logon_type_id` and `logon_type` (Authentication).
    pub fn set_logon_type(&mut self, logon_type: LogonType) {
        self.logon_type_id = Some(logon_type);
        self.logon_type = Some(logon_type.caption());
    }

    /// `logon_type_id`, if set.
    pub fn logon_type(&self) -> Option<LogonType> {
        self.logon_type_id
    }

    /// Sets the datastore `type_id` and `type` (Datastore Activity).
    pub fn set_datastore_type(&mut self, datastore_type: DatastoreType) {
        self.datastore_type_id = Some(datastore_type);
        self.datastore_type = Some(datastore_type.caption());
    }

    /// The datastore `type_id`, if set.
    pub fn datastore_type(&self) -> Option<DatastoreType> {
        self.datastore_type_id
    }
}

/// `metadata`: where the event came from.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    version: &'static str,
    /// The product that logged the event (`name` and `vendor_name`).
    pub product: Product,
    /// The source's own event id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Id shared by related events (e.g. a CloudTrail Insights Start/End pair).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_uid: Option<String>,
    /// The source's event type or code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_code: Option<String>,
    /// The log the event came from, e.g. "CloudTrail".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_name: Option<Cow<'static, str>>,
    /// The source's time string, unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_time: Option<String>,
    /// When the source logged the event, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logged_time: Option<i64>,
    /// The tenant (organization, account) the event belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_uid: Option<String>,
    /// Free labels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<&'static str>,
}

impl Metadata {
    /// Metadata for `product` with `version` [`OCSF_VERSION`].
    pub fn new(product: Product) -> Self {
        Self {
            version: OCSF_VERSION,
            product,
            uid: None,
            correlation_uid: None,
            event_code: None,
            log_name: None,
            original_time: None,
            logged_time: None,
            tenant_uid: None,
            labels: Vec::new(),
            profiles: Vec::new(),
        }
    }

    /// `metadata.profiles` (managed by the event: see [`OcsfEvent::set_cloud`]).
    pub fn profiles(&self) -> &[&'static str] {
        &self.profiles
    }
}

/// `metadata.product`.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// Product name, e.g. "CloudTrail".
    pub name: Cow<'static, str>,
    /// Vendor, e.g. "AWS".
    pub vendor_name: Cow<'static, str>,
    /// Product or log-format version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The product feature that logged the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<Feature>,
}

impl Product {
    /// A product by name and vendor.
    pub fn new(name: impl Into<Cow<'static, str>>, vendor: impl Into<Cow<'static, str>>) -> Self {
        Self { name: name.into(), vendor_name: vendor.into(), version: None, feature: None }
    }
}

/// `metadata.product.feature`.
#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    /// Feature name, e.g. CloudTrail's event category "Management".
    pub name: String,
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use serde_json::value::RawValue;
    use serde_json::{json, Value};

    use super::*;

    fn metadata() -> Metadata {
        let mut metadata = Metadata::new(Product::new("OpenSearch", "AWS"));
        metadata.uid = Some("evt-1".to_owned());
        metadata
    }

    fn valid_json(event: &OcsfEvent) -> Value {
        if let Err(errors) = validate::validate_event(event) {
            panic!("{}: {}", event.type_name(), errors.join("\n"));
        }
        serde_json::to_value(event).unwrap_or_else(|e| panic!("{e}"))
    }

    fn aws() -> Cloud {
        Cloud { region: Some("eu-west-1".to_owned()), ..Cloud::new("AWS") }
    }

    #[test]
    fn ids_and_captions_come_from_the_class_activity() {
        let mut event = OcsfEvent::new(AuthActivity::Logoff, 7, metadata());
        event.user = Some(User::named("alice"));
        event.service = Some(Service::named("opensearch"));
        event.set_status(Status::Failure);
        event.set_severity(Severity::Low);
        let json = valid_json(&event);
        assert_eq!(json["class_uid"], 3002);
        assert_eq!(json["class_name"], "Authentication");
        assert_eq!(json["category_uid"], 3);
        assert_eq!(json["category_name"], "Identity & Access Management");
        assert_eq!(json["activity_id"], 2);
        assert_eq!(json["activity_name"], "Logoff");
        assert_eq!(json["type_uid"], 300_202);
        assert_eq!(json["type_name"], "Authentication: Logoff");
        assert_eq!(json["status_id"], 2);
        assert_eq!(json["status"], "Failure");
        assert_eq!(json["severity_id"], 2);
        assert_eq!(json["severity"], "Low");
        assert_eq!(json["metadata"]["version"], "1.8.0");
        assert_eq!(event.class_activity(), ClassActivity::Authentication(AuthActivity::Logoff));

        event.set_class_activity(ApiActivity::Delete.into());
        assert_eq!(event.class_uid(), 6003);
        assert_eq!(event.category_uid(), 6);
        assert_eq!(event.type_uid(), 600_304);
    }

    #[test]
    fn empty_fields_are_not_serialized() {
        let event = OcsfEvent::new(ApiActivity::Read, 1, metadata());
        let json = serde_json::to_value(&event).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<&str> =
            json.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        for absent in ["status_id", "cloud", "actor", "resources", "unmapped", "raw_data", "type"] {
            assert!(!keys.contains(&absent), "{absent} in {json}");
        }
        assert!(!json.to_string().contains("null"), "{json}");
    }

    #[test]
    fn set_cloud_adds_the_cloud_profile_once() {
        let mut event = OcsfEvent::new(ApiActivity::Read, 1, metadata());
        event.set_cloud(aws());
        event.set_cloud(aws());
        assert_eq!(event.metadata.profiles(), ["cloud"]);
        assert_eq!(event.cloud().map(|c| &*c.provider), Some("AWS"));
    }

    #[test]
    fn api_activity_built_by_hand_is_schema_valid() {
        let mut event = OcsfEvent::new(ApiActivity::Update, 1_700_000_000_000, metadata());
        event.set_cloud(aws());
        event.set_status(Status::Success);
        event.actor = Some(Actor { user: Some(User::named("admin")), ..Actor::default() });
        let mut api = Api::new("PUT _plugins/_security/api/roles/reader");
        api.request = Some(ApiRequest {
            uid: "req-1".to_owned(),
            data: Some(
                RawValue::from_string(r#"{"cluster_permissions":["read"]}"#.to_owned())
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
        });
        event.api = Some(api);
        event.src_endpoint = Some(NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        event.unmapped.insert("audit_category", "REST").unwrap_or_else(|e| panic!("{e}"));
        let json = valid_json(&event);
        assert_eq!(json["api"]["request"]["data"]["cluster_permissions"][0], "read");
        assert_eq!(json["unmapped"], json!({"audit_category": "REST"}));
    }

    #[test]
    fn datastore_activity_needs_a_datastore_and_validates_with_one() {
        let mut event = OcsfEvent::new(DatastoreActivity::Query, 1, metadata());
        event.actor = Some(Actor { user: Some(User::named("analyst")), ..Actor::default() });
        event.src_endpoint = Some(NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(validate::validate_event(&event).is_err(), "no database/databucket/table");
        event.set_datastore_type(DatastoreType::Table);
        event.table = Some(Table { name: Some("logs-2024.03".to_owned()), ..Table::default() });
        event.database = Some(Database {
            type_id: DatabaseType::NoSql,
            type_: None,
            uid: None,
            name: Some("search-domain".to_owned()),
        });
        event.query_info = Some(QueryInfo {
            query_string: r#"{"match_all":{}}"#.to_owned(),
            uid: None,
            name: Some("_search".to_owned()),
            bytes: None,
            data: None,
        });
        let json = valid_json(&event);
        assert_eq!(json["type_id"], 3);
        assert_eq!(json["type"], "Table");
        assert_eq!(json["database"]["type_id"], 6);
    }

    #[test]
    fn web_resource_access_identity_and_entity_events_are_schema_valid() {
        let mut web = OcsfEvent::new(WebResourceAccessActivity::AccessDeny, 1, metadata());
        web.http_request = Some(HttpRequest {
            http_method: "get".parse().ok(),
            url: Some(Url { path: Some("/_cat/indices".to_owned()), ..Url::default() }),
            ..HttpRequest::default()
        });
        web.web_resources.push(WebResource {
            name: Some("indices:monitor/settings/get".to_owned()),
            ..WebResource::default()
        });
        assert_eq!(valid_json(&web)["http_request"]["http_method"], "GET");

        let mut access = OcsfEvent::new(UserAccessActivity::AssignPrivileges, 1, metadata());
        access.user = Some(User::named("bob"));
        access.privileges.push("ADMINISTER".to_owned());
        valid_json(&access);

        let mut group = OcsfEvent::new(GroupActivity::AddUser, 1, metadata());
        group.group = Some(Group { name: Some("jira-admins".to_owned()), ..Group::default() });
        group.user = Some(User::named("carol"));
        valid_json(&group);

        let mut entity = OcsfEvent::new(EntityActivity::Create, 1, metadata());
        entity.entity = Some(ManagedEntity {
            name: Some("PROJ".to_owned()),
            type_id: Some(EntityType::Other),
            type_: Some("Project".to_owned()),
            ..ManagedEntity::default()
        });
        entity.actor = Some(Actor { user: Some(User::named("dave")), ..Actor::default() });
        entity.observables.push(Observable::new("actor.user.name", ObservableType::UserName, "dave"));
        let json = valid_json(&entity);
        assert_eq!(json["observables"][0]["type"], "User Name");

        let mut change = OcsfEvent::new(AccountChangeActivity::Disable, 1, metadata());
        change.user = Some(User { account: Some(Account::with_uid("acct-1")), ..User::default() });
        change.policies.push(Policy { name: Some("admin".to_owned()), ..Policy::default() });
        valid_json(&change);
    }

    #[test]
    fn actor_authorizations_and_http_headers_are_schema_valid() {
        let mut event = OcsfEvent::new(ApiActivity::Read, 1, metadata());
        event.actor = Some(Actor {
            user: Some(User::named("reader")),
            authorizations: vec![Authorization {
                decision: Some("Denied".to_owned()),
                policy: Some(Policy {
                    name: Some("indices:data/read/search".to_owned()),
                    type_: Some("Privilege".to_owned()),
                    ..Policy::default()
                }),
            }],
            ..Actor::default()
        });
        event.api = Some(Api::new("SearchRequest"));
        event.src_endpoint = Some(NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        event.http_request = Some(HttpRequest {
            http_headers: vec![HttpHeader { name: "Host".to_owned(), value: "search:9200".to_owned() }],
            ..HttpRequest::default()
        });
        let json = valid_json(&event);
        assert_eq!(json["actor"]["authorizations"][0]["decision"], "Denied");
        assert_eq!(json["actor"]["authorizations"][0]["policy"]["name"], "indices:data/read/search");
        assert_eq!(json["http_request"]["http_headers"], json!([{"name": "Host", "value": "search:9200"}]));
        let bare = serde_json::to_value(Actor::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bare, json!({}), "no empty authorizations");
    }

    #[test]
    fn src_endpoint_location_is_schema_valid() {
        let mut event = OcsfEvent::new(AuthActivity::Logon, 1, metadata());
        event.user = Some(User::named("alice"));
        event.service = Some(Service::named("Jira"));
        event.src_endpoint = Some(NetworkEndpoint {
            location: Some(Location {
                city: Some("Example City".to_owned()),
                region: Some("Example Region".to_owned()),
                continent: Some("EU".to_owned()),
                desc: Some("Example Country".to_owned()),
                ..Location::default()
            }),
            ..NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10)))
        });
        let json = valid_json(&event);
        assert_eq!(json["src_endpoint"]["location"]["city"], "Example City");
        assert_eq!(json["src_endpoint"]["location"]["continent"], "EU");
        let nowhere = Location { desc: Some("somewhere".to_owned()), ..Location::default() };
        assert!(!nowhere.is_identified());
        event.src_endpoint = Some(NetworkEndpoint {
            location: Some(nowhere),
            ..NetworkEndpoint::from_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        });
        assert!(
            validate::validate_event(&event).is_err(),
            "a location needs a city, country, region or postal code"
        );
    }
}
