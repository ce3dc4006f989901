//! OCSF 1.8.0 objects used by our classes (api-contracts.md §13.2).
//!
//! Only the attributes our sources fill are modelled; every one is optional and skipped when
//! empty. Objects the schema constrains with "at least one of" (user: account/name/uid, group
//! and service: name/uid, network endpoint: ip/uid/name/hostname/svc_name/domain/...) say so in
//! their docs; the mapping must fill one of them.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::compact::{serialize_opt_raw, Compact};

/// Free-form JSON kept as its text (request/response bodies, unmapped source fields).
pub type RawJson = Box<RawValue>;

/// `unmapped`: source fields no OCSF attribute holds, by their source name, values verbatim.
///
/// Serialized as a JSON object in insertion order; inserting a key again replaces its value.
#[derive(Debug, Clone, Default)]
pub struct Unmapped(Vec<(String, RawJson)>);

impl Unmapped {
    /// Stores `value` (JSON text) under `key`.
    pub fn insert_raw(&mut self, key: impl Into<String>, value: RawJson) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Stores `value` serialized to JSON under `key`.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let raw = serde_json::value::to_raw_value(value)?;
        self.insert_raw(key, raw);
        Ok(())
    }

    /// The JSON text stored under `key`.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| &**v)
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is stored (then `unmapped` is not serialized).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Unmapped {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, &Compact(value))?;
        }
        map.end()
    }
}

id_enum! {
    /// `user.type_id`.
    pub enum UserType {
        Unknown = 0 => "Unknown",
        User = 1 => "User",
        Admin = 2 => "Admin",
        System = 3 => "System",
        Service = 4 => "Service",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `account.type_id`.
    pub enum AccountType {
        Unknown = 0 => "Unknown",
        Ldap = 1 => "LDAP Account",
        Windows = 2 => "Windows Account",
        AwsIamUser = 3 => "AWS IAM User",
        AwsIamRole = 4 => "AWS IAM Role",
        Gcp = 5 => "GCP Account",
        AzureAd = 6 => "Azure AD Account",
        AwsAccount = 10 => "AWS Account",
        AzureSubscription = 13 => "Azure Subscription",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `observable.type_id` (the ones our mappings emit).
    pub enum ObservableType {
        Unknown = 0 => "Unknown",
        Hostname = 1 => "Hostname",
        IpAddress = 2 => "IP Address",
        UserName = 4 => "User Name",
        EmailAddress = 5 => "Email Address",
        UrlString = 6 => "URL String",
        ResourceUid = 10 => "Resource UID",
        UserAgent = 16 => "HTTP User-Agent",
        UserCredentialId = 19 => "User Credential ID",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `managed_entity.type_id`.
    pub enum EntityType {
        Unknown = 0 => "Unknown",
        Device = 1 => "Device",
        User = 2 => "User",
        Group = 3 => "Group",
        Organization = 4 => "Organization",
        Policy = 5 => "Policy",
        Email = 6 => "Email",
        NetworkZone = 7 => "Network Zone",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `database.type_id`.
    pub enum DatabaseType {
        Unknown = 0 => "Unknown",
        Relational = 1 => "Relational",
        Network = 2 => "Network",
        ObjectOriented = 3 => "Object Oriented",
        Centralized = 4 => "Centralized",
        Operational = 5 => "Operational",
        NoSql = 6 => "NoSQL",
        Vector = 7 => "Vector",
        KnowledgeGraph = 8 => "Knowledge Graph",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `databucket.type_id`.
    pub enum DatabucketType {
        Unknown = 0 => "Unknown",
        S3 = 1 => "S3",
        AzureBlob = 2 => "Azure Blob",
        GcpBucket = 3 => "GCP Bucket",
        Other = 99 => "Other",
    }
}

/// `http_request.http_method`: the methods the schema allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// CONNECT
    Connect,
    /// DELETE
    Delete,
    /// GET
    Get,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// PATCH
    Patch,
    /// POST
    Post,
    /// PUT
    Put,
    /// TRACE
    Trace,
}

impl std::str::FromStr for HttpMethod {
    type Err = ();

    /// Parses a method name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, ()> {
        const ALL: [(&str, HttpMethod); 9] = [
            ("CONNECT", HttpMethod::Connect),
            ("DELETE", HttpMethod::Delete),
            ("GET", HttpMethod::Get),
            ("HEAD", HttpMethod::Head),
            ("OPTIONS", HttpMethod::Options),
            ("PATCH", HttpMethod::Patch),
            ("POST", HttpMethod::Post),
            ("PUT", HttpMethod::Put),
            ("TRACE", HttpMethod::Trace),
        ];
        ALL.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|(_, method)| *method).ok_or(())
    }
}

/// `actor`: who performed the activity. Needs at least one of `user`, `session`,
/// `invoked_by`, `app_name`, `app_uid` (see [`Actor::is_empty`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Actor {
    /// The user or role that acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The session the actor used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// The service that acted on the user's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// The identity provider that authenticated the actor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<Idp>,
    /// The client application or service that acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_uid: Option<String>,
    /// Authorization decisions about the actor's request (e.g. a privilege granted or missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorizations: Vec<Authorization>,
}

/// `authorization`: one authorization decision and the policy (or privilege) it was about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Authorization {
    /// The decision, e.g. "Allowed" or "Denied".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The policy or privilege evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
}

impl Actor {
    /// Whether none of the attributes the schema needs one of is set.
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.session.is_none()
            && self.invoked_by.is_none()
            && self.app_name.is_none()
            && self.app_uid.is_none()
    }
}

/// `user`: a user or role. Needs at least one of `account`, `name`, `uid`
/// (see [`User::is_identified`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct User {
    /// Unique id (e.g. an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Alternate id (e.g. an AWS principal id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_alt: Option<String>,
    /// User or role name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Email address (the schema checks its shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_addr: Option<String>,
    /// Domain the user belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Kind of user, normalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<UserType>,
    /// Kind of user as the source names it (e.g. CloudTrail "IAMUser").
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The account the user belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// The credential used (e.g. an access key id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_uid: Option<String>,
    /// Whether the user has MFA set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_mfa: Option<bool>,
    /// Groups the user is in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
}

impl User {
    /// A user known by name only.
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: Some(name.into()), ..Self::default() }
    }

    /// Whether one of `account`, `name`, `uid` is set, as the schema requires.
    pub fn is_identified(&self) -> bool {
        self.uid.is_some() || self.name.is_some() || self.account.is_some()
    }
}

/// `account`: a cloud or directory account. Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Account {
    /// Account id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Account name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of account, normalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<AccountType>,
    /// Kind of account as the source names it.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

impl Account {
    /// An account by id.
    pub fn with_uid(uid: impl Into<String>) -> Self {
        Self { uid: Some(uid.into()), ..Self::default() }
    }
}

/// `session`: an authenticated session.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Session {
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Alternate session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_alt: Option<String>,
    /// When the session was created, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_time: Option<i64>,
    /// When the session expires, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<i64>,
    /// Whether the session was authenticated with MFA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_mfa: Option<bool>,
    /// Whether the session is remote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_remote: Option<bool>,
    /// Who issued the session (e.g. the role ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The session's credential id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_uid: Option<String>,
}

impl Session {
    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.uid.is_none()
            && self.uid_alt.is_none()
            && self.created_time.is_none()
            && self.expiration_time.is_none()
            && self.is_mfa.is_none()
            && self.is_remote.is_none()
            && self.issuer.is_none()
            && self.credential_uid.is_none()
    }
}

/// `idp`: an identity provider. Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Idp {
    /// Provider name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Provider id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Protocol name (e.g. "SAML").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_name: Option<String>,
}

/// `api`: an API call. `operation` is required.
#[derive(Debug, Clone, Serialize)]
pub struct Api {
    /// The operation (e.g. "GetObject").
    pub operation: String,
    /// API version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The service called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<ApiRequest>,
    /// The response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ApiResponse>,
}

impl Api {
    /// A call of `operation`.
    pub fn new(operation: impl Into<String>) -> Self {
        Self { operation: operation.into(), version: None, service: None, request: None, response: None }
    }
}

/// `api.request`. `uid` is required.
#[derive(Debug, Clone, Serialize)]
pub struct ApiRequest {
    /// Request id.
    pub uid: String,
    /// Request parameters, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `api.response`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApiResponse {
    /// Numeric response code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Error code (e.g. "AccessDenied").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Response message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Response body, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

impl ApiResponse {
    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.code.is_none()
            && self.error.is_none()
            && self.error_message.is_none()
            && self.message.is_none()
            && self.data.is_none()
    }
}

/// `service`. Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Service {
    /// Service name (e.g. "s3.amazonaws.com").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Service id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Service version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Service {
    /// A service by name.
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: Some(name.into()), ..Self::default() }
    }
}

/// `network_endpoint` (`src_endpoint`, `dst_endpoint`). Needs at least one of `ip`, `uid`,
/// `name`, `hostname`, `svc_name`, `instance_uid`, `domain` (see [`NetworkEndpoint::is_empty`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NetworkEndpoint {
    /// IP address; typed so only real addresses are emitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Domain (e.g. a service principal "ec2.amazonaws.com").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// A name for the endpoint when it is neither an address nor a host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Service name in service-to-service traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub svc_name: Option<String>,
    /// Endpoint id (e.g. a VPC endpoint id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Instance id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_uid: Option<String>,
    /// VPC id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uid: Option<String>,
    /// Where the endpoint is (geolocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// `location`: a geographical location. Needs at least one of `city`, `country`, `region`,
/// `postal_code` (see [`Location::is_identified`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Location {
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Country: the ISO 3166-1 alpha-2 code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Region or state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Continent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continent: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// A description of the place (e.g. a country name when no code is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
}

impl Location {
    /// Whether one of `city`, `country`, `region`, `postal_code` is set, as the schema requires.
    pub fn is_identified(&self) -> bool {
        self.city.is_some() || self.country.is_some() || self.region.is_some() || self.postal_code.is_some()
    }
}

impl NetworkEndpoint {
    /// An endpoint by IP address.
    pub fn from_ip(ip: IpAddr) -> Self {
        Self { ip: Some(ip), ..Self::default() }
    }

    /// Whether none of the attributes the schema needs one of is set.
    pub fn is_empty(&self) -> bool {
        self.ip.is_none()
            && self.hostname.is_none()
            && self.domain.is_none()
            && self.name.is_none()
            && self.svc_name.is_none()
            && self.uid.is_none()
            && self.instance_uid.is_none()
    }
}

/// `http_request`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpRequest {
    /// User-Agent header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<HttpMethod>,
    /// URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Request id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// HTTP version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Referer header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// X-Forwarded-For addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub x_forwarded_for: Vec<String>,
    /// Request headers, one entry per value (credentials removed by the mapping).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

/// `http_header`: one header value. `name` and `value` are required.
#[derive(Debug, Clone, Serialize)]
pub struct HttpHeader {
    /// Header name as sent.
    pub name: String,
    /// One value.
    pub value: String,
}

/// `http_response`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpResponse {
    /// Status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// Status text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Body length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// `url`. Needs `url_string` or `path`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Url {
    /// The whole URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_string: Option<String>,
    /// Scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Query string, without `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string: Option<String>,
}

/// `cloud`: required with the `cloud` profile; `provider` is required.
#[derive(Debug, Clone, Serialize)]
pub struct Cloud {
    /// Provider, e.g. "AWS".
    pub provider: Cow<'static, str>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// Availability zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

impl Cloud {
    /// A cloud by provider.
    pub fn new(provider: impl Into<Cow<'static, str>>) -> Self {
        Self { provider: provider.into(), region: None, account: None, zone: None }
    }
}

/// `resource_details`: a resource (`resources[]`, `resource`). Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceDetails {
    /// Resource id (e.g. an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of resource as the source names it.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Owner (e.g. the owning account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<User>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// More about the resource, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `group`. Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    /// Group id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Alternate group id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_alt: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of group.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Privileges the group grants.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<String>,
}

/// `policy`. Needs `name`, `type` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Policy {
    /// Policy id (e.g. an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of policy.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The policy document, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `managed_entity` (`entity`, `entity_result`). Needs one of `name`, `uid`, `group`,
/// `policy`, `user`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ManagedEntity {
    /// Entity id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of entity, normalized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_id: Option<EntityType>,
    /// Kind of entity as the source names it.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The entity when it is a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The entity when it is a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// The entity when it is a policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// More about the entity, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `database`. `type_id` is required, and `name` or `uid`.
#[derive(Debug, Clone, Serialize)]
pub struct Database {
    /// Kind of database.
    pub type_id: DatabaseType,
    /// Kind of database as the source names it.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Database id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `databucket`. `type_id` is required, and `name` or `uid`.
#[derive(Debug, Clone, Serialize)]
pub struct Databucket {
    /// Kind of bucket.
    pub type_id: DatabucketType,
    /// Kind of bucket as the source names it.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Bucket id (e.g. an ARN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `table` (or an index). Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    /// Table id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `query_info`. `query_string` is required, and `name` or `uid`.
#[derive(Debug, Clone, Serialize)]
pub struct QueryInfo {
    /// The query text.
    pub query_string: String,
    /// Query id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Query name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Bytes returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// More about the query, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `web_resource`. Needs `name` or `uid`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WebResource {
    /// Resource id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of resource.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// URL of the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_string: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// More about the resource, verbatim.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "serialize_opt_raw")]
    pub data: Option<RawJson>,
}

/// `observable`: a value worth indexing and the attribute path it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Observable {
    /// Attribute path, e.g. "src_endpoint.ip".
    pub name: Cow<'static, str>,
    /// Kind of value.
    pub type_id: ObservableType,
    #[serde(rename = "type")]
    type_caption: &'static str,
    /// The value.
    pub value: String,
}

impl Observable {
    /// An observable of `type_id` at attribute path `name`.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        type_id: ObservableType,
        value: impl Into<String>,
    ) -> Self {
        Self { name: name.into(), type_id, type_caption: type_id.caption(), value: value.into() }
    }
}
