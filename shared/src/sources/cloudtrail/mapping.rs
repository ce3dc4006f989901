//! CloudTrail record → OCSF 1.8.0 (api-contracts.md §1.2, §1.3 and §13.4; the whole table and
//! every decision are in `docs/mappings/cloudtrail.md`).
//!
//! One record's JSON text is read once into borrowed, typed fields (free-form objects stay
//! unparsed [`RawValue`]s); fields the mapping does not know are kept verbatim and end up in
//! `unmapped`, nested objects (`userIdentity`, `additionalEventData`, `insightDetails`) keeping
//! their leftovers under their own name. Class selection:
//!
//! * Insights records (`eventType` `AwsCloudTrailInsight`) → API Activity, activity Other.
//! * Sign-in events and STS credential issuance → Authentication (3002).
//! * IAM user and role mutations (`iam.amazonaws.com`) → Account Change (3001).
//! * IAM group mutations → Group Management (3006).
//! * Everything else → API Activity (6003), activity from the verb of `eventName`.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ocsf::{
    Account, AccountChangeActivity, Actor, Api, ApiActivity, ApiRequest, ApiResponse, AuthActivity,
    AuthProtocol, ClassActivity, Cloud, Feature, Group, GroupActivity, HttpRequest, Idp, Metadata,
    NetworkEndpoint, Observable, ObservableType, OcsfEvent, Policy, Product, ResourceDetails, Service,
    Session, Severity, Status, User, UserType,
};
use crate::timestamp::parse_rfc3339_ms;

/// Mapping options from configuration.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `INCLUDE_RAW`: copy the record's JSON text into `raw_data`.
    pub include_raw: bool,
}

/// Why a record could not be mapped (the caller dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The text is JSON of another kind, or not JSON at all.
    #[error("CloudTrail record is not a JSON object: found {found}")]
    NotAnObject {
        /// What was found instead ("array", "string", "not JSON", ...).
        found: &'static str,
    },
    /// The object is not valid JSON, or a known field has the wrong JSON type.
    #[error("CloudTrail record is not valid: {0}")]
    Invalid(#[source] serde_json::Error),
    /// `eventTime` is absent, null or empty.
    #[error("CloudTrail record {} has no eventTime", .event_id.as_deref().unwrap_or("(no eventID)"))]
    MissingEventTime {
        /// The record's `eventID`, if it has one.
        event_id: Option<String>,
    },
    /// `eventTime` is not an RFC 3339 time.
    #[error("CloudTrail record {} has an eventTime that is not an RFC 3339 time: {value:?}", .event_id.as_deref().unwrap_or("(no eventID)"))]
    BadEventTime {
        /// The record's `eventID`, if it has one.
        event_id: Option<String>,
        /// The `eventTime` text.
        value: String,
    },
    /// A field CloudTrail documents as always present, and the event's class needs, is absent
    /// (a placeholder would state something the record does not say).
    #[error("CloudTrail record {} has no {field}", .event_id.as_deref().unwrap_or("(no eventID)"))]
    MissingField {
        /// The record's `eventID`, if it has one.
        event_id: Option<String>,
        /// What is missing (`eventName`, `sourceIPAddress`, ...).
        field: &'static str,
    },
}

/// Maps one CloudTrail record (its JSON text) to an OCSF event.
pub fn map_record(record: &str, options: &MapOptions) -> Result<OcsfEvent, MappingError> {
    let found = json_kind(record);
    if found != "object" {
        return Err(MappingError::NotAnObject { found });
    }
    let mut rec: Record<'_> = serde_json::from_str(record).map_err(MappingError::Invalid)?;
    let event_id = || rec.event_id.as_ref().map(|id| id.0.to_string());
    let Some(event_time) = rec.event_time.take().filter(|t| !t.0.is_empty()) else {
        return Err(MappingError::MissingEventTime { event_id: event_id() });
    };
    let Some(time_ms) = parse_rfc3339_ms(&event_time.0) else {
        return Err(MappingError::BadEventTime { event_id: event_id(), value: event_time.0.into_owned() });
    };

    let kind = Kind::of(&rec);
    if let Some(field) = kind.missing_field(&rec) {
        return Err(MappingError::MissingField { event_id: event_id(), field });
    }
    let mut event = OcsfEvent::new(kind.class_activity(), time_ms, metadata(&mut rec, &kind));
    event.metadata.original_time = Some(event_time.0.into_owned());
    event.set_cloud(cloud(&rec));
    let mut unmapped = Leftovers::default();

    if let Kind::Insight = kind {
        map_insight(&mut rec, &mut event, &mut unmapped);
    } else {
        map_call(&mut rec, &kind, &mut event, &mut unmapped)
            .map_err(|field| MappingError::MissingField { event_id: event.metadata.uid.clone(), field })?;
    }

    // Fields no rule above took, in record order, then the nested leftovers.
    for (key, value) in rec.rest {
        event.unmapped.insert_raw(key, value.to_owned());
    }
    for (key, value) in unmapped.0 {
        match serde_json::value::to_raw_value(&value) {
            Ok(raw) => event.unmapped.insert_raw(key, raw),
            // Serializing borrowed JSON text cannot fail; should it, the field is dropped
            // rather than the event.
            Err(_) => continue,
        }
    }
    if options.include_raw {
        event.raw_data = Some(record.to_owned());
    }
    Ok(event)
}

// ---------------------------------------------------------------------------------------------
// Record types: borrowed from the record text, unknown members kept in `rest`.

/// A string borrowed from the record unless it contains escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// The non-empty text of an optional string field, owned.
fn owned(text: Option<Text<'_>>) -> Option<String> {
    text.filter(|t| !t.0.is_empty()).map(|t| t.0.into_owned())
}

/// The non-empty text of an optional string field, borrowed.
fn text<'t>(text: &'t Option<Text<'_>>) -> Option<&'t str> {
    text.as_ref().map(|t| &*t.0).filter(|t| !t.is_empty())
}

/// A JSON object read into the listed fields; every other member is kept in `rest`.
macro_rules! record_object {
    (
        $(#[$meta:meta])*
        struct $name:ident<$lt:lifetime> { $( $key:literal => $field:ident: $ty:ty, )* }
    ) => {
        $(#[$meta])*
        #[derive(Default)]
        struct $name<$lt> {
            $( $field: Option<$ty>, )*
            /// Members not listed above, verbatim, in record order.
            rest: Vec<(Cow<$lt, str>, &$lt RawValue)>,
        }

        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $name<'de>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a JSON object (", stringify!($name), ")"))
                    }

                    #[allow(clippy::match_single_binding)]
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut out = $name::default();
                        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                            match &*key {
                                $( $key => out.$field = map.next_value()?, )*
                                _ => out.rest.push((key, map.next_value()?)),
                            }
                        }
                        Ok(out)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

record_object! {
    /// One CloudTrail record (api-contracts.md §1.2).
    struct Record<'a> {
        "eventVersion" => event_version: Text<'a>,
        "userIdentity" => user_identity: UserIdentity<'a>,
        "eventTime" => event_time: Text<'a>,
        "eventSource" => event_source: Text<'a>,
        "eventName" => event_name: Text<'a>,
        "awsRegion" => aws_region: Text<'a>,
        "sourceIPAddress" => source_ip_address: Text<'a>,
        "userAgent" => user_agent: Text<'a>,
        "errorCode" => error_code: Text<'a>,
        "errorMessage" => error_message: Text<'a>,
        "requestParameters" => request_parameters: &'a RawValue,
        "responseElements" => response_elements: &'a RawValue,
        "additionalEventData" => additional_event_data: &'a RawValue,
        "requestID" => request_id: Text<'a>,
        "eventID" => event_id: Text<'a>,
        "eventType" => event_type: Text<'a>,
        "apiVersion" => api_version: Text<'a>,
        "resources" => resources: &'a RawValue,
        "recipientAccountId" => recipient_account_id: Text<'a>,
        "sharedEventID" => shared_event_id: Text<'a>,
        "vpcEndpointId" => vpc_endpoint_id: Text<'a>,
        "eventCategory" => event_category: Text<'a>,
        "insightDetails" => insight_details: InsightDetails<'a>,
        "serviceEventDetails" => service_event_details: &'a RawValue,
    }
}

record_object! {
    /// `userIdentity`.
    struct UserIdentity<'a> {
        "type" => type_: Text<'a>,
        "principalId" => principal_id: Text<'a>,
        "arn" => arn: Text<'a>,
        "accountId" => account_id: Text<'a>,
        "accessKeyId" => access_key_id: Text<'a>,
        "userName" => user_name: Text<'a>,
        "invokedBy" => invoked_by: Text<'a>,
        "identityProvider" => identity_provider: Text<'a>,
        "sessionContext" => session_context: SessionContext<'a>,
        "onBehalfOf" => on_behalf_of: OnBehalfOf<'a>,
        "credentialId" => credential_id: Text<'a>,
    }
}

record_object! {
    /// `userIdentity.onBehalfOf`: the IAM Identity Center user a call or sign-in is for.
    struct OnBehalfOf<'a> {
        "userId" => user_id: Text<'a>,
        "identityStoreArn" => identity_store_arn: Text<'a>,
    }
}

record_object! {
    /// `userIdentity.sessionContext`.
    struct SessionContext<'a> {
        "attributes" => attributes: SessionAttributes<'a>,
        "sessionIssuer" => session_issuer: SessionIssuer<'a>,
        "webIdFederationData" => web_id_federation_data: WebIdFederationData<'a>,
    }
}

record_object! {
    /// `userIdentity.sessionContext.attributes`; values kept raw so an unexpected one is kept.
    struct SessionAttributes<'a> {
        "creationDate" => creation_date: &'a RawValue,
        "mfaAuthenticated" => mfa_authenticated: &'a RawValue,
    }
}

record_object! {
    /// `userIdentity.sessionContext.sessionIssuer`.
    struct SessionIssuer<'a> {
        "arn" => arn: Text<'a>,
        "userName" => user_name: Text<'a>,
    }
}

record_object! {
    /// `userIdentity.sessionContext.webIdFederationData`.
    struct WebIdFederationData<'a> {
        "federatedProvider" => federated_provider: Text<'a>,
    }
}

record_object! {
    /// `insightDetails` of an Insights record.
    struct InsightDetails<'a> {
        "eventSource" => event_source: Text<'a>,
        "eventName" => event_name: Text<'a>,
    }
}

record_object! {
    /// Any JSON object, all members kept (`additionalEventData`, sign-in `responseElements`).
    struct AnyObject<'a> {}
}

impl<'a> AnyObject<'a> {
    /// Removes member `key` and returns it as a string, if it is one.
    fn take_str(&mut self, key: &str) -> Option<Cow<'a, str>> {
        let at = self.rest.iter().position(|(k, _)| k == key)?;
        let text: Text<'a> = serde_json::from_str(self.rest[at].1.get()).ok()?;
        self.rest.remove(at);
        Some(text.0)
    }

    /// Member `key` as a string, if it is one.
    fn get_str(&self, key: &str) -> Option<Cow<'a, str>> {
        let (_, raw) = self.rest.iter().find(|(k, _)| k == key)?;
        serde_json::from_str::<Text<'a>>(raw.get()).ok().map(|t| t.0)
    }
}

/// `resources[]` element.
#[derive(Deserialize)]
struct ResourceRecord<'a> {
    #[serde(rename = "ARN", borrow)]
    arn: Option<Text<'a>>,
    #[serde(rename = "ARNPrefix", borrow)]
    arn_prefix: Option<Text<'a>>,
    #[serde(rename = "accountId", borrow)]
    account_id: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    type_: Option<Text<'a>>,
}

/// The `requestParameters` members the IAM and STS rules read.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params<'a> {
    #[serde(borrow)]
    user_name: Option<Text<'a>>,
    #[serde(borrow)]
    new_user_name: Option<Text<'a>>,
    #[serde(borrow)]
    role_name: Option<Text<'a>>,
    #[serde(borrow)]
    group_name: Option<Text<'a>>,
    #[serde(borrow)]
    policy_arn: Option<Text<'a>>,
    #[serde(borrow)]
    policy_name: Option<Text<'a>>,
    #[serde(borrow)]
    permissions_boundary: Option<Text<'a>>,
    #[serde(borrow)]
    access_key_id: Option<Text<'a>>,
    /// SSH public key, signing certificate or service-specific credential (UpdateSSHPublicKey, ...).
    #[serde(
        rename = "sSHPublicKeyId",
        alias = "certificateId",
        alias = "serviceSpecificCredentialId",
        borrow
    )]
    credential_id: Option<Text<'a>>,
    #[serde(borrow)]
    role_arn: Option<Text<'a>>,
    #[serde(borrow)]
    role_session_name: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
}

/// The `responseElements` members the IAM and STS rules read.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    #[serde(borrow)]
    user: Option<IamEntity<'a>>,
    #[serde(borrow)]
    role: Option<IamEntity<'a>>,
    #[serde(borrow)]
    group: Option<IamEntity<'a>>,
    #[serde(borrow)]
    access_key: Option<AccessKey<'a>>,
    /// UploadSSHPublicKey, UploadSigningCertificate, CreateServiceSpecificCredential, ...
    #[serde(rename = "sSHPublicKey", alias = "certificate", alias = "serviceSpecificCredential", borrow)]
    credential: Option<UserCredential<'a>>,
    #[serde(borrow)]
    assumed_role_user: Option<IssuedIdentity<'a>>,
    #[serde(borrow)]
    federated_user: Option<IssuedIdentity<'a>>,
    #[serde(borrow)]
    credentials: Option<Credentials<'a>>,
}

/// An IAM user, role or group in a response.
#[derive(Deserialize)]
struct IamEntity<'a> {
    #[serde(borrow)]
    arn: Option<Text<'a>>,
    #[serde(rename = "userId", alias = "roleId", alias = "groupId", borrow)]
    id: Option<Text<'a>>,
}

/// `responseElements.accessKey`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessKey<'a> {
    #[serde(borrow)]
    user_name: Option<Text<'a>>,
    #[serde(borrow)]
    access_key_id: Option<Text<'a>>,
}

/// `responseElements.sSHPublicKey` / `certificate` / `serviceSpecificCredential`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserCredential<'a> {
    #[serde(borrow)]
    user_name: Option<Text<'a>>,
    #[serde(
        rename = "sSHPublicKeyId",
        alias = "certificateId",
        alias = "serviceSpecificCredentialId",
        borrow
    )]
    id: Option<Text<'a>>,
}

/// `responseElements.assumedRoleUser` / `federatedUser`.
#[derive(Deserialize)]
struct IssuedIdentity<'a> {
    #[serde(borrow)]
    arn: Option<Text<'a>>,
    #[serde(rename = "assumedRoleId", alias = "federatedUserId", borrow)]
    id: Option<Text<'a>>,
}

/// `responseElements.credentials`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    #[serde(borrow)]
    access_key_id: Option<Text<'a>>,
}

/// A free-form object read only when a rule needs it; `Default` when absent or not an object.
fn parse_or_default<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> T {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Leftovers of nested objects, serialized into `unmapped` under their source names.

/// A leftover value: verbatim JSON, a string, or an object of leftovers.
enum Left<'a> {
    Raw(&'a RawValue),
    Str(Cow<'a, str>),
    Object(Leftovers<'a>),
}

/// Members of a source object that no OCSF attribute holds.
#[derive(Default)]
struct Leftovers<'a>(Vec<(Cow<'a, str>, Left<'a>)>);

impl<'a> Leftovers<'a> {
    fn from_rest(rest: Vec<(Cow<'a, str>, &'a RawValue)>) -> Self {
        Self(rest.into_iter().map(|(k, v)| (k, Left::Raw(v))).collect())
    }

    fn raw(&mut self, key: impl Into<Cow<'a, str>>, value: &'a RawValue) {
        self.0.push((key.into(), Left::Raw(value)));
    }

    fn string(&mut self, key: &'static str, value: Option<Text<'a>>) {
        if let Some(value) = value {
            self.0.push((Cow::Borrowed(key), Left::Str(value.0)));
        }
    }

    fn owned_string(&mut self, key: &'static str, value: Option<String>) {
        if let Some(value) = value {
            self.0.push((Cow::Borrowed(key), Left::Str(Cow::Owned(value))));
        }
    }

    fn object(&mut self, key: &'static str, value: Leftovers<'a>) {
        if !value.0.is_empty() {
            self.0.push((Cow::Borrowed(key), Left::Object(value)));
        }
    }
}

impl Serialize for Leftovers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for Left<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Left::Raw(raw) => raw.serialize(serializer),
            Left::Str(text) => serializer.serialize_str(text),
            Left::Object(object) => object.serialize(serializer),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Class selection.

/// The `eventType` of Insights records.
const INSIGHT_EVENT_TYPE: &str = "AwsCloudTrailInsight";

/// `eventType` of an event a service generated rather than a call.
const SERVICE_EVENT_TYPE: &str = "AwsServiceEvent";

/// Whose identity an Authentication event's `user` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthSubject {
    /// The caller itself (sign-in, GetSessionToken).
    Caller,
    /// The role session STS issued (`responseElements.assumedRoleUser`).
    AssumedRole,
    /// The federated user STS issued (`responseElements.federatedUser`).
    FederatedUser,
}

/// Whose account an Account Change event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccountTarget {
    /// `requestParameters.userName`.
    User,
    /// `requestParameters.userName`, else the caller (the IAM API defaults to the caller).
    UserOrCaller,
    /// Always the caller (ChangePassword).
    Caller,
    /// `requestParameters.roleName`.
    Role,
}

/// How a record is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Insight,
    SignIn(AuthActivity),
    Sts(AuthActivity, AuthSubject),
    AccountChange(AccountChangeActivity, AccountTarget),
    Group(GroupActivity),
    Api(ApiActivity),
}

/// Sign-in events (`signin.amazonaws.com`, IAM Identity Center), matched by name alone.
const SIGN_IN: &[(&str, AuthActivity)] = &[
    ("ConsoleLogin", AuthActivity::Logon),
    ("ExternalIdPDirectoryLogin", AuthActivity::Logon),
    ("UserAuthentication", AuthActivity::Logon),
    ("CheckMfa", AuthActivity::Preauth),
    ("CredentialChallenge", AuthActivity::Preauth),
    ("CredentialVerification", AuthActivity::Preauth),
];

/// STS calls that issue credentials (`sts.amazonaws.com` only).
const STS: &[(&str, AuthSubject)] = &[
    ("AssumeRole", AuthSubject::AssumedRole),
    ("AssumeRoleWithSAML", AuthSubject::AssumedRole),
    ("AssumeRoleWithWebIdentity", AuthSubject::AssumedRole),
    ("GetFederationToken", AuthSubject::FederatedUser),
    ("GetSessionToken", AuthSubject::Caller),
];

/// IAM user and role mutations (`iam.amazonaws.com` only).
const ACCOUNT_CHANGE: &[(&str, AccountChangeActivity, AccountTarget)] = {
    use AccountChangeActivity as A;
    use AccountTarget as T;
    &[
        ("CreateUser", A::Create, T::User),
        ("DeleteUser", A::Delete, T::User),
        ("UpdateUser", A::Other, T::User),
        ("ChangePassword", A::PasswordChange, T::Caller),
        ("CreateLoginProfile", A::PasswordReset, T::UserOrCaller),
        ("UpdateLoginProfile", A::PasswordReset, T::UserOrCaller),
        ("DeleteLoginProfile", A::Other, T::UserOrCaller),
        ("CreateAccessKey", A::Other, T::UserOrCaller),
        ("UpdateAccessKey", A::Other, T::UserOrCaller),
        ("DeleteAccessKey", A::Other, T::UserOrCaller),
        // Other long-term credentials of a user, classed like its access keys.
        ("UploadSSHPublicKey", A::Other, T::UserOrCaller),
        ("UpdateSSHPublicKey", A::Other, T::UserOrCaller),
        ("DeleteSSHPublicKey", A::Other, T::UserOrCaller),
        ("UploadSigningCertificate", A::Other, T::UserOrCaller),
        ("UpdateSigningCertificate", A::Other, T::UserOrCaller),
        ("DeleteSigningCertificate", A::Other, T::UserOrCaller),
        ("CreateServiceSpecificCredential", A::Other, T::User),
        ("UpdateServiceSpecificCredential", A::Other, T::UserOrCaller),
        ("ResetServiceSpecificCredential", A::Other, T::UserOrCaller),
        ("DeleteServiceSpecificCredential", A::Other, T::UserOrCaller),
        ("AttachUserPolicy", A::AttachPolicy, T::User),
        ("PutUserPolicy", A::AttachPolicy, T::User),
        ("PutUserPermissionsBoundary", A::AttachPolicy, T::User),
        ("DetachUserPolicy", A::DetachPolicy, T::User),
        ("DeleteUserPolicy", A::DetachPolicy, T::User),
        ("DeleteUserPermissionsBoundary", A::DetachPolicy, T::User),
        ("EnableMFADevice", A::MfaFactorEnable, T::UserOrCaller),
        ("DeactivateMFADevice", A::MfaFactorDisable, T::UserOrCaller),
        ("CreateRole", A::Create, T::Role),
        ("DeleteRole", A::Delete, T::Role),
        ("AttachRolePolicy", A::AttachPolicy, T::Role),
        ("PutRolePolicy", A::AttachPolicy, T::Role),
        ("PutRolePermissionsBoundary", A::AttachPolicy, T::Role),
        ("DetachRolePolicy", A::DetachPolicy, T::Role),
        ("DeleteRolePolicy", A::DetachPolicy, T::Role),
        ("DeleteRolePermissionsBoundary", A::DetachPolicy, T::Role),
    ]
};

/// AWS Sign-In events that change the signed-in account (`signin.amazonaws.com` only): the
/// password a user (or the root user) sets at sign-in, and the root user's password recovery.
const SIGN_IN_ACCOUNT_CHANGE: &[(&str, AccountChangeActivity)] = &[
    ("PasswordUpdated", AccountChangeActivity::PasswordChange),
    ("PasswordRecoveryRequested", AccountChangeActivity::PasswordReset),
    ("PasswordRecoveryCompleted", AccountChangeActivity::PasswordReset),
];

/// Where AWS Sign-In and IAM Identity Center sign-in events come from.
const SIGN_IN_SOURCE: &str = "signin.amazonaws.com";

/// IAM group mutations (`iam.amazonaws.com` only).
const GROUP_MANAGEMENT: &[(&str, GroupActivity)] = &[
    ("CreateGroup", GroupActivity::Create),
    ("DeleteGroup", GroupActivity::Delete),
    ("UpdateGroup", GroupActivity::Other),
    ("AddUserToGroup", GroupActivity::AddUser),
    ("RemoveUserFromGroup", GroupActivity::RemoveUser),
    ("AttachGroupPolicy", GroupActivity::AssignPrivileges),
    ("PutGroupPolicy", GroupActivity::AssignPrivileges),
    ("DetachGroupPolicy", GroupActivity::RevokePrivileges),
    ("DeleteGroupPolicy", GroupActivity::RevokePrivileges),
];

impl Kind {
    fn of(rec: &Record<'_>) -> Self {
        if text(&rec.event_type) == Some(INSIGHT_EVENT_TYPE) || rec.insight_details.is_some() {
            return Kind::Insight;
        }
        let name = text(&rec.event_name).unwrap_or_default();
        let source = text(&rec.event_source).unwrap_or_default();
        if let Some((_, activity)) = SIGN_IN.iter().find(|(n, _)| *n == name) {
            return Kind::SignIn(*activity);
        }
        if source == SIGN_IN_SOURCE {
            if let Some((_, activity)) = SIGN_IN_ACCOUNT_CHANGE.iter().find(|(n, _)| *n == name) {
                return Kind::AccountChange(*activity, AccountTarget::Caller);
            }
        }
        if source == "sts.amazonaws.com" {
            if let Some((_, subject)) = STS.iter().find(|(n, _)| *n == name) {
                return Kind::Sts(AuthActivity::AuthenticationTicket, *subject);
            }
        }
        if source == "iam.amazonaws.com" {
            if let Some((_, activity, target)) = ACCOUNT_CHANGE.iter().find(|(n, ..)| *n == name) {
                return Kind::AccountChange(*activity, *target);
            }
            if let Some((_, activity)) = GROUP_MANAGEMENT.iter().find(|(n, _)| *n == name) {
                // Group Management needs the group: a call that does not name it is an API call.
                let params: Option<Params<'_>> =
                    rec.request_parameters.and_then(|raw| serde_json::from_str(raw.get()).ok());
                if params.is_some_and(|p| text(&p.group_name).is_some()) {
                    return Kind::Group(*activity);
                }
            }
        }
        let read_only = rec.rest.iter().find(|(k, _)| k == "readOnly").map(|(_, v)| v.get().trim() == "true");
        Kind::Api(api_activity(name, read_only))
    }

    /// The field, documented as always present, without which this kind of record cannot be
    /// mapped without a placeholder.
    fn missing_field(&self, rec: &Record<'_>) -> Option<&'static str> {
        if let Kind::Insight = self {
            let operation = rec.insight_details.as_ref().and_then(|details| text(&details.event_name));
            return operation.is_none().then_some("insightDetails.eventName");
        }
        if text(&rec.event_name).is_none() {
            return Some("eventName");
        }
        if text(&rec.event_source).is_none() {
            return Some("eventSource");
        }
        // API Activity needs `src_endpoint`; the other classes leave it out. A service event
        // comes from the service that generated it (its `eventSource`).
        let no_source = text(&rec.source_ip_address).is_none() && text(&rec.vpc_endpoint_id).is_none();
        let service_event = text(&rec.event_type) == Some(SERVICE_EVENT_TYPE);
        (matches!(self, Kind::Api(_)) && no_source && !service_event).then_some("sourceIPAddress")
    }

    fn class_activity(self) -> ClassActivity {
        match self {
            Kind::Insight => ApiActivity::Other.into(),
            Kind::SignIn(activity) | Kind::Sts(activity, _) => activity.into(),
            Kind::AccountChange(activity, _) => activity.into(),
            Kind::Group(activity) => activity.into(),
            Kind::Api(activity) => activity.into(),
        }
    }
}

/// API Activity `activity_id` from the leading verb of `eventName` ("Batch" is skipped:
/// BatchGetItem reads); a verb not listed reads when the record says `readOnly: true`.
fn api_activity(event_name: &str, read_only: Option<bool>) -> ApiActivity {
    let name = event_name
        .strip_prefix("Batch")
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        .unwrap_or(event_name);
    let verb_end =
        name.char_indices().skip(1).find(|(_, c)| c.is_ascii_uppercase()).map_or(name.len(), |(i, _)| i);
    match &name[..verb_end] {
        "Create" | "Run" | "Generate" | "Start" | "Launch" | "Allocate" | "Import" | "Copy" | "Register"
        | "Issue" | "Request" | "Upload" | "Add" | "Publish" | "Send" | "Restore" | "Clone" | "Provision"
        | "Purchase" | "Subscribe" => ApiActivity::Create,
        "Get" | "List" | "Describe" | "Head" | "Lookup" | "Search" | "Query" | "Scan" | "Select"
        | "Check" | "Download" | "View" | "Preview" => ApiActivity::Read,
        "Update" | "Put" | "Modify" | "Set" | "Change" | "Edit" | "Patch" | "Replace" | "Reset"
        | "Rotate" | "Rename" | "Move" | "Attach" | "Detach" | "Associate" | "Disassociate" | "Enable"
        | "Disable" | "Tag" | "Untag" | "Apply" | "Upgrade" | "Reboot" | "Stop" | "Restart" | "Resume"
        | "Suspend" | "Accept" | "Reject" | "Confirm" | "Activate" | "Deactivate" | "Assign" | "Unassign"
        | "Authorize" => ApiActivity::Update,
        "Delete" | "Remove" | "Terminate" | "Revoke" | "Deregister" | "Unregister" | "Destroy" | "Purge"
        | "Release" | "Unsubscribe" => ApiActivity::Delete,
        _ if read_only == Some(true) => ApiActivity::Read,
        _ => ApiActivity::Other,
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping.

fn metadata(rec: &mut Record<'_>, kind: &Kind) -> Metadata {
    let mut product = Product::new("CloudTrail", "AWS");
    product.version = owned(rec.event_version.take());
    product.feature = owned(rec.event_category.take()).map(|name| Feature { name });
    let mut metadata = Metadata::new(product);
    metadata.uid = owned(rec.event_id.take());
    metadata.event_code = owned(rec.event_type.take());
    metadata.correlation_uid = owned(rec.shared_event_id.take());
    metadata.log_name =
        Some(Cow::Borrowed(if *kind == Kind::Insight { "CloudTrail-Insight" } else { "CloudTrail" }));
    metadata
}

/// `cloud`: provider AWS, the region, and the account that received the event.
fn cloud(rec: &Record<'_>) -> Cloud {
    let mut cloud = Cloud::new("AWS");
    cloud.region = text(&rec.aws_region).map(str::to_owned);
    let account = text(&rec.recipient_account_id)
        .or_else(|| rec.user_identity.as_ref().and_then(|identity| text(&identity.account_id)));
    cloud.account = account.map(Account::with_uid);
    cloud
}

/// Insights record: the anomaly CloudTrail saw in the call rate (or error rate) of one API.
fn map_insight<'a>(rec: &mut Record<'a>, event: &mut OcsfEvent, unmapped: &mut Leftovers<'a>) {
    let details = rec.insight_details.take().unwrap_or_default();
    let rest = AnyObject { rest: details.rest };
    // `Kind::missing_field` has seen the operation.
    let operation = text(&details.event_name).unwrap_or_default();
    let service = text(&details.event_source);
    let state = rest.get_str("state");
    let insight_type = rest.get_str("insightType");
    // "CloudTrail Insight ApiCallRateInsight Start: ec2.amazonaws.com RunInstances", leaving
    // out what the record does not say.
    let mut message = String::from("CloudTrail Insight");
    for part in [insight_type.as_deref(), state.as_deref()].into_iter().flatten() {
        message.push(' ');
        message.push_str(part);
    }
    message.push(':');
    for part in [service, Some(operation)].into_iter().flatten() {
        message.push(' ');
        message.push_str(part);
    }
    if let Some(error_code) = rest.get_str("errorCode") {
        message.push_str(" (error ");
        message.push_str(&error_code);
        message.push(')');
    }
    event.message = Some(message);
    if state.as_deref() == Some("Start") {
        event.set_severity(Severity::Medium);
    }
    let mut api = Api::new(operation);
    api.service = service.map(Service::named);
    event.api = Some(api);
    let mut actor = Actor { app_name: Some("CloudTrail Insights".to_owned()), ..Actor::default() };
    // Insights records have no userIdentity; should one appear, map it as for calls.
    if let Some(identity) = rec.user_identity.take() {
        let identity = identity_parts(identity);
        actor.user = identity.user;
        actor.session = identity.session;
        actor.invoked_by = identity.invoked_by;
        actor.idp = identity.idp;
        unmapped.object("userIdentity", identity.left);
    }
    event.actor = Some(actor);
    event.src_endpoint = Some(NetworkEndpoint {
        svc_name: Some("cloudtrail.amazonaws.com".to_owned()),
        ..NetworkEndpoint::default()
    });
    unmapped.object("insightDetails", Leftovers::from_rest(rest.rest));
    // Insights records carry none of the call fields; should one appear, keep it.
    keep_call_fields(rec, unmapped);
}

/// Call fields of a record whose class does not use them (Insights), kept in `unmapped`.
fn keep_call_fields<'a>(rec: &mut Record<'a>, unmapped: &mut Leftovers<'a>) {
    for (key, value) in [
        ("requestParameters", rec.request_parameters.take()),
        ("responseElements", rec.response_elements.take()),
        ("additionalEventData", rec.additional_event_data.take()),
        ("resources", rec.resources.take()),
        ("serviceEventDetails", rec.service_event_details.take()),
    ] {
        if let Some(value) = value {
            unmapped.raw(key, value);
        }
    }
    for (key, value) in [
        ("eventSource", rec.event_source.take()),
        ("eventName", rec.event_name.take()),
        ("sourceIPAddress", rec.source_ip_address.take()),
        ("userAgent", rec.user_agent.take()),
        ("errorCode", rec.error_code.take()),
        ("errorMessage", rec.error_message.take()),
        ("requestID", rec.request_id.take()),
        ("apiVersion", rec.api_version.take()),
        ("vpcEndpointId", rec.vpc_endpoint_id.take()),
    ] {
        unmapped.string(key, value);
    }
}

/// Every record but Insights: an API call (sign-in, STS, IAM, or any other service).
/// `Err` names what the record lacks for its class.
fn map_call<'a>(
    rec: &mut Record<'a>,
    kind: &Kind,
    event: &mut OcsfEvent,
    unmapped: &mut Leftovers<'a>,
) -> Result<(), &'static str> {
    let identity = rec.user_identity.take().map(identity_parts);
    // `Kind::missing_field` has seen the name.
    let event_name = text(&rec.event_name).unwrap_or_default().to_owned();

    let (status, detail) =
        call_status(rec, kind, &event_name, event.metadata.event_code.as_deref(), unmapped);
    event.set_status(status);
    event.status_detail = detail;

    // The rules for the class-specific fields read these before they move into `api`.
    let params: Params<'a> = match kind {
        Kind::Sts(..) | Kind::AccountChange(..) | Kind::Group(_) => parse_or_default(rec.request_parameters),
        _ => Params::default(),
    };
    let response: Response<'a> = match kind {
        Kind::Sts(..) | Kind::AccountChange(..) | Kind::Group(_) => parse_or_default(rec.response_elements),
        _ => Response::default(),
    };

    let mut actor = Actor::default();
    if let Some(identity) = identity {
        actor.user = identity.user;
        actor.session = identity.session;
        actor.invoked_by = identity.invoked_by;
        actor.idp = identity.idp;
        unmapped.object("userIdentity", identity.left);
    }

    match *kind {
        Kind::SignIn(_) => {
            // IAM Identity Center names the user signing in only in `additionalEventData`; the
            // caller's `userIdentity` has its id at most.
            let user_name = map_additional_event_data(rec, event, unmapped);
            if let (Some(name), Some(caller)) = (&user_name, actor.user.as_mut()) {
                if caller.name.is_none() {
                    caller.name = Some(name.clone());
                }
            }
            event.user = Some(match (actor.user.as_ref(), user_name) {
                (Some(caller), _) => caller.clone(),
                (None, Some(name)) => User {
                    name: Some(name),
                    account: text(&rec.recipient_account_id).map(Account::with_uid),
                    ..User::default()
                },
                (None, None) => fallback_user(rec)?,
            });
        }
        Kind::Sts(_, subject) => map_sts(subject, &event_name, &params, &response, &actor, rec, event)?,
        Kind::AccountChange(activity, target) => {
            map_account_change(activity, target, &params, &response, &actor, rec, event)?;
        }
        Kind::Group(_) => map_group(&params, &response, event),
        Kind::Api(_) | Kind::Insight => {}
    }
    if let Some(additional) = rec.additional_event_data.take() {
        unmapped.raw("additionalEventData", additional);
    }

    // `resources` is an attribute of API Activity only.
    if let Some(raw) = rec.resources.take() {
        match (kind, resources(raw)) {
            (Kind::Api(_), Some(resources)) => event.resources = resources,
            _ => unmapped.raw("resources", raw),
        }
    }

    // A service event is generated by its event source: that service acted, and the call came
    // from it, when the record names no other caller or address.
    let service_event = event.metadata.event_code.as_deref() == Some(SERVICE_EVENT_TYPE);
    let event_source = text(&rec.event_source).filter(|_| service_event).map(str::to_owned);
    if actor.is_empty() {
        actor.app_name.clone_from(&event_source);
    }
    // API Activity needs an actor: a userIdentity that names no one (nor the service that
    // acted for it) leaves nothing true to put there.
    if actor.is_empty() && matches!(kind, Kind::Api(_)) {
        return Err("userIdentity that names the caller");
    }
    if let Some(name) = actor.user.as_ref().and_then(|u| u.name.as_deref()) {
        event.observables.push(Observable::new("actor.user.name", ObservableType::UserName, name));
    }
    if let Some(name) = event.user.as_ref().and_then(|u| u.name.as_deref()) {
        event.observables.push(Observable::new("user.name", ObservableType::UserName, name));
    }
    if !actor.is_empty() {
        event.actor = Some(actor);
    }

    let mut src = src_endpoint(text(&rec.source_ip_address), owned(rec.vpc_endpoint_id.take()));
    if src.is_empty() {
        src.svc_name = event_source;
    }
    if let Some(ip) = src.ip {
        event.observables.push(Observable::new("src_endpoint.ip", ObservableType::IpAddress, ip.to_string()));
    }
    // Only API Activity needs it, and then `Kind::missing_field` has seen an address or endpoint.
    if !src.is_empty() {
        event.src_endpoint = Some(src);
    }
    event.http_request = owned(rec.user_agent.take())
        .map(|user_agent| HttpRequest { user_agent: Some(user_agent), ..HttpRequest::default() });

    let mut api = Api::new(event_name);
    let service = owned(rec.event_source.take()).map(Service::named);
    // Authentication needs `service` (or `dst_endpoint`): the service authenticated to is the
    // event source, which then is not repeated in `api.service`.
    if matches!(kind, Kind::SignIn(_) | Kind::Sts(..)) {
        // `Kind::missing_field` has seen the event source.
        event.service = service;
    } else {
        api.service = service;
    }
    api.version = owned(rec.api_version.take());
    match (owned(rec.request_id.take()), rec.request_parameters.take()) {
        (Some(uid), data) => {
            api.request = Some(ApiRequest { uid, data: data.map(RawValue::to_owned) });
        }
        // `api.request` needs a uid: without a requestID the parameters stay unmapped.
        (None, Some(data)) => unmapped.raw("requestParameters", data),
        (None, None) => {}
    }
    let response = ApiResponse {
        error: owned(rec.error_code.take()),
        error_message: owned(rec.error_message.take()),
        data: rec.response_elements.take().map(RawValue::to_owned),
        ..ApiResponse::default()
    };
    if !response.is_empty() {
        api.response = Some(response);
    }
    event.api = Some(api);
    Ok(())
}

/// The outcome of a call. An `errorCode` is a failure. Sign-in events (AWS Sign-In, IAM Identity
/// Center) name their outcome under their own event name, in `responseElements` (ConsoleLogin,
/// PasswordUpdated, SwitchRole, ...) or in `serviceEventDetails` (CredentialChallenge,
/// CredentialVerification, UserAuthentication): "Success" or "Failure"; a sign-in event that
/// says neither has status Unknown. Any other call without an `errorCode` succeeded (CloudTrail
/// records `errorCode` for every call that returned an error). An outcome other than these two
/// is status Other, its text the `status_detail`.
fn call_status<'a>(
    rec: &mut Record<'a>,
    kind: &Kind,
    event_name: &str,
    event_type: Option<&str>,
    unmapped: &mut Leftovers<'a>,
) -> (Status, Option<String>) {
    let sign_in = matches!(kind, Kind::SignIn(_))
        || text(&rec.event_source) == Some(SIGN_IN_SOURCE)
        || event_type == Some("AwsConsoleSignIn");
    let mut outcome = None;
    if let Some(raw) = rec.service_event_details.take() {
        let details = if sign_in { serde_json::from_str::<AnyObject<'a>>(raw.get()).ok() } else { None };
        match details {
            Some(mut details) => {
                outcome = details.take_str(event_name);
                unmapped.object("serviceEventDetails", Leftovers::from_rest(details.rest));
            }
            None => unmapped.raw("serviceEventDetails", raw),
        }
    }
    if sign_in && outcome.is_none() {
        let response: Option<AnyObject<'a>> =
            rec.response_elements.and_then(|raw| serde_json::from_str(raw.get()).ok());
        outcome = response.and_then(|response| response.get_str(event_name));
    }
    if text(&rec.error_code).is_some() {
        return (Status::Failure, None);
    }
    let status = match outcome.as_deref() {
        Some("Success") => Status::Success,
        Some("Failure") => Status::Failure,
        Some(other) => return (Status::Other, Some(other.to_owned())),
        None if sign_in => Status::Unknown,
        None => Status::Success,
    };
    (status, None)
}

/// `userIdentity` split into OCSF parts, with what none of them holds.
struct IdentityParts<'a> {
    user: Option<User>,
    session: Option<Session>,
    invoked_by: Option<String>,
    idp: Option<Idp>,
    left: Leftovers<'a>,
}

/// `userIdentity` → `actor.user`, `actor.session`, `actor.invoked_by`, `actor.idp`.
fn identity_parts(identity: UserIdentity<'_>) -> IdentityParts<'_> {
    let mut left = Leftovers::from_rest(identity.rest);
    let mut user = User {
        uid: owned(identity.arn),
        uid_alt: owned(identity.principal_id),
        name: owned(identity.user_name),
        type_id: text(&identity.type_).map(user_type),
        type_: owned(identity.type_),
        account: owned(identity.account_id).map(Account::with_uid),
        credential_uid: owned(identity.access_key_id),
        ..User::default()
    };
    // An IAM Identity Center user: its id in the identity store (the directory it is defined
    // in), and the credential of its session, which takes the place of `accessKeyId`.
    let mut on_behalf_left = Leftovers::default();
    if let Some(on_behalf_of) = identity.on_behalf_of {
        on_behalf_left = Leftovers::from_rest(on_behalf_of.rest);
        let user_id = owned(on_behalf_of.user_id);
        if user.uid.is_none() {
            user.uid = user_id;
        } else {
            on_behalf_left.owned_string("userId", user_id);
        }
        user.domain = owned(on_behalf_of.identity_store_arn);
    }
    let credential_id = owned(identity.credential_id);
    let credential_key =
        if user.credential_uid.is_none() && credential_id.is_some() { "credentialId" } else { "accessKeyId" };
    if user.credential_uid.is_none() {
        user.credential_uid = credential_id;
    } else {
        left.owned_string("credentialId", credential_id);
    }
    let mut session = Session::default();
    let mut idp_name = None;
    if let Some(context) = identity.session_context {
        let mut context_left = Leftovers::from_rest(context.rest);
        if let Some(attributes) = context.attributes {
            let mut attributes_left = Leftovers::from_rest(attributes.rest);
            if let Some(raw) = attributes.creation_date {
                session.created_time =
                    serde_json::from_str::<Text<'_>>(raw.get()).ok().and_then(|t| parse_rfc3339_ms(&t.0));
                if session.created_time.is_none() {
                    attributes_left.raw("creationDate", raw);
                }
            }
            if let Some(raw) = attributes.mfa_authenticated {
                session.is_mfa = match raw.get().trim() {
                    "\"true\"" | "true" => Some(true),
                    "\"false\"" | "false" => Some(false),
                    _ => None,
                };
                if session.is_mfa.is_none() {
                    attributes_left.raw("mfaAuthenticated", raw);
                }
            }
            context_left.object("attributes", attributes_left);
        }
        if let Some(issuer) = context.session_issuer {
            let mut issuer_left = Leftovers::from_rest(issuer.rest);
            session.issuer = owned(issuer.arn);
            // A role session has no userName of its own: its name is the role's.
            if user.name.is_none() {
                user.name = owned(issuer.user_name);
            } else {
                issuer_left.string("userName", issuer.user_name);
            }
            context_left.object("sessionIssuer", issuer_left);
        }
        if let Some(federation) = context.web_id_federation_data {
            idp_name = owned(federation.federated_provider);
            context_left.object("webIdFederationData", Leftovers::from_rest(federation.rest));
        }
        left.object("sessionContext", context_left);
    }
    let provider = owned(identity.identity_provider);
    let idp = match (idp_name, provider) {
        (Some(name), uid) => Some(Idp { name: Some(name), uid, ..Idp::default() }),
        (None, Some(name)) => Some(Idp { name: Some(name), ..Idp::default() }),
        (None, None) => None,
    };
    let user = if user.is_identified() {
        Some(user)
    } else {
        // Nothing to name the user by (e.g. an AWS service): keep what there is unmapped.
        left.owned_string("type", user.type_);
        left.owned_string("principalId", user.uid_alt);
        left.owned_string(credential_key, user.credential_uid);
        on_behalf_left.owned_string("identityStoreArn", user.domain);
        None
    };
    left.object("onBehalfOf", on_behalf_left);
    IdentityParts {
        user,
        session: (!session.is_empty()).then_some(session),
        invoked_by: owned(identity.invoked_by),
        idp,
        left,
    }
}

/// `user.type_id` from `userIdentity.type`.
fn user_type(identity_type: &str) -> UserType {
    match identity_type {
        "IAMUser" | "FederatedUser" | "SAMLUser" | "WebIdentityUser" | "IdentityCenterUser" => UserType::User,
        "Root" => UserType::Admin,
        "AWSService" => UserType::Service,
        "Unknown" => UserType::Unknown,
        _ => UserType::Other,
    }
}

/// The caller as the subject user, else the account (the schema needs `user` identified).
fn caller_or_fallback(caller: Option<&User>, rec: &Record<'_>) -> Result<User, &'static str> {
    match caller {
        Some(user) => Ok(user.clone()),
        None => fallback_user(rec),
    }
}

/// A user known only by the account the event happened in; `Err` when the record names neither
/// a user nor that account.
fn fallback_user(rec: &Record<'_>) -> Result<User, &'static str> {
    match text(&rec.recipient_account_id) {
        Some(account) => Ok(User { account: Some(Account::with_uid(account)), ..User::default() }),
        None => Err("user (no userIdentity naming one, no recipientAccountId)"),
    }
}

/// Sign-in `additionalEventData`: `MFAUsed` → `is_mfa`; `UserName` (IAM Identity Center) is
/// returned for the caller to name the user by; the rest stays unmapped.
fn map_additional_event_data<'a>(
    rec: &mut Record<'a>,
    event: &mut OcsfEvent,
    unmapped: &mut Leftovers<'a>,
) -> Option<String> {
    let raw = rec.additional_event_data?;
    // Not an object: kept whole by the caller.
    let mut data = serde_json::from_str::<AnyObject<'a>>(raw.get()).ok()?;
    rec.additional_event_data = None;
    match data.get_str("MFAUsed").as_deref() {
        Some("Yes") => event.is_mfa = Some(true),
        Some("No") => event.is_mfa = Some(false),
        _ => {}
    }
    if event.is_mfa.is_some() {
        data.take_str("MFAUsed");
    }
    let user_name = data.take_str("UserName").filter(|name| !name.is_empty()).map(Cow::into_owned);
    unmapped.object("additionalEventData", Leftovers::from_rest(data.rest));
    user_name
}

/// STS: `user` is the identity the credentials were issued to; `session` the new credentials.
fn map_sts(
    subject: AuthSubject,
    event_name: &str,
    params: &Params<'_>,
    response: &Response<'_>,
    actor: &Actor,
    rec: &Record<'_>,
    event: &mut OcsfEvent,
) -> Result<(), &'static str> {
    match event_name {
        "AssumeRoleWithSAML" => event.set_auth_protocol(AuthProtocol::Saml),
        "AssumeRoleWithWebIdentity" => event.set_auth_protocol(AuthProtocol::OpenId),
        _ => {}
    }
    let issued = match subject {
        AuthSubject::AssumedRole => response.assumed_role_user.as_ref(),
        AuthSubject::FederatedUser => response.federated_user.as_ref(),
        AuthSubject::Caller => None,
    };
    let user = match (subject, issued) {
        (AuthSubject::Caller, _) => caller_or_fallback(actor.user.as_ref(), rec)?,
        (_, Some(issued)) if text(&issued.arn).is_some() => User {
            uid: text(&issued.arn).map(str::to_owned),
            uid_alt: text(&issued.id).map(str::to_owned),
            name: text(&params.role_session_name).or(text(&params.name)).map(str::to_owned),
            type_: Some(
                if subject == AuthSubject::AssumedRole { "AssumedRole" } else { "FederatedUser" }.to_owned(),
            ),
            type_id: Some(if subject == AuthSubject::AssumedRole { UserType::Other } else { UserType::User }),
            ..User::default()
        },
        // Failed call: no credentials were issued; name the role (or user) that was asked for.
        _ => {
            let user = User {
                uid: text(&params.role_arn).map(str::to_owned),
                name: text(&params.role_session_name).or(text(&params.name)).map(str::to_owned),
                ..User::default()
            };
            if user.is_identified() {
                user
            } else {
                fallback_user(rec)?
            }
        }
    };
    event.user = Some(user);
    let session = Session {
        credential_uid: response.credentials.as_ref().and_then(|c| text(&c.access_key_id)).map(str::to_owned),
        issuer: text(&params.role_arn).map(str::to_owned),
        ..Session::default()
    };
    if !session.is_empty() {
        event.session = Some(session);
    }
    Ok(())
}

/// IAM user/role mutation: `user` is the account changed, `policies` the policy involved.
fn map_account_change(
    activity: AccountChangeActivity,
    target: AccountTarget,
    params: &Params<'_>,
    response: &Response<'_>,
    actor: &Actor,
    rec: &Record<'_>,
    event: &mut OcsfEvent,
) -> Result<(), &'static str> {
    let access_key = response.access_key.as_ref();
    let credential = response.credential.as_ref();
    // The credential changed: an access key, SSH public key, signing certificate or
    // service-specific credential.
    let key_id = access_key
        .and_then(|k| text(&k.access_key_id))
        .or_else(|| credential.and_then(|c| text(&c.id)))
        .or(text(&params.access_key_id))
        .or(text(&params.credential_id))
        .map(str::to_owned);
    let user = match target {
        AccountTarget::Role => text(&params.role_name).map(|name| {
            let entity = response.role.as_ref();
            User {
                name: Some(name.to_owned()),
                uid: entity.and_then(|e| text(&e.arn)).map(str::to_owned),
                uid_alt: entity.and_then(|e| text(&e.id)).map(str::to_owned),
                type_: Some("Role".to_owned()),
                type_id: Some(UserType::Other),
                ..User::default()
            }
        }),
        AccountTarget::Caller => None,
        AccountTarget::User | AccountTarget::UserOrCaller => {
            let response_user = access_key
                .and_then(|k| text(&k.user_name))
                .or_else(|| credential.and_then(|c| text(&c.user_name)));
            text(&params.user_name).or(response_user).map(|name| {
                let entity = response.user.as_ref();
                User {
                    name: Some(name.to_owned()),
                    uid: entity.and_then(|e| text(&e.arn)).map(str::to_owned),
                    uid_alt: entity.and_then(|e| text(&e.id)).map(str::to_owned),
                    type_: Some("IAMUser".to_owned()),
                    type_id: Some(UserType::User),
                    credential_uid: key_id.clone(),
                    ..User::default()
                }
            })
        }
    };
    let user = match (user, target) {
        (Some(user), _) => user,
        // The IAM API acts on the caller when no user is named.
        (None, AccountTarget::Caller | AccountTarget::UserOrCaller) => {
            let mut user = caller_or_fallback(actor.user.as_ref(), rec)?;
            if key_id.is_some() {
                user.credential_uid = key_id;
            }
            user
        }
        (None, _) => fallback_user(rec)?,
    };
    event.user = Some(user);
    if let Some(new_name) = text(&params.new_user_name) {
        event.user_result = Some(User::named(new_name));
    }
    if matches!(activity, AccountChangeActivity::AttachPolicy | AccountChangeActivity::DetachPolicy) {
        let boundary = text(&params.permissions_boundary);
        let policy = Policy {
            uid: text(&params.policy_arn).or(boundary).map(str::to_owned),
            name: text(&params.policy_name).map(str::to_owned),
            type_: boundary.map(|_| "PermissionsBoundary".to_owned()),
            ..Policy::default()
        };
        if policy.uid.is_some() || policy.name.is_some() {
            event.policies.push(policy);
        }
    }
    Ok(())
}

/// IAM group mutation: `group`, the `user` added or removed, the policy as `privileges`.
fn map_group(params: &Params<'_>, response: &Response<'_>, event: &mut OcsfEvent) {
    let entity = response.group.as_ref();
    event.group = Some(Group {
        // `Kind::of` has seen the name.
        name: text(&params.group_name).map(str::to_owned),
        uid: entity.and_then(|e| text(&e.arn)).map(str::to_owned),
        uid_alt: entity.and_then(|e| text(&e.id)).map(str::to_owned),
        ..Group::default()
    });
    event.user = text(&params.user_name).map(|name| User {
        name: Some(name.to_owned()),
        type_: Some("IAMUser".to_owned()),
        type_id: Some(UserType::User),
        ..User::default()
    });
    if let Some(policy) = text(&params.policy_arn).or(text(&params.policy_name)) {
        event.privileges.push(policy.to_owned());
    }
}

/// `resources[]` → `resources`; `None` (keep it unmapped) if it is not an array of objects
/// each with an ARN or ARNPrefix.
fn resources(raw: &RawValue) -> Option<Vec<ResourceDetails>> {
    let records: Vec<ResourceRecord<'_>> = serde_json::from_str(raw.get()).ok()?;
    records
        .into_iter()
        .map(|r| {
            let uid = owned(r.arn).or(owned(r.arn_prefix))?;
            Some(ResourceDetails {
                uid: Some(uid),
                type_: owned(r.type_),
                owner: owned(r.account_id)
                    .map(|account| User { account: Some(Account::with_uid(account)), ..User::default() }),
                ..ResourceDetails::default()
            })
        })
        .collect()
}

/// `sourceIPAddress` → `ip` when it is an address, `domain` when it is a host name (an AWS
/// service principal such as `ec2.amazonaws.com`), else `name` ("AWS Internal");
/// `vpcEndpointId` → `uid`.
fn src_endpoint(source: Option<&str>, vpc_endpoint: Option<String>) -> NetworkEndpoint {
    let mut endpoint = NetworkEndpoint { uid: vpc_endpoint, ..NetworkEndpoint::default() };
    if let Some(source) = source {
        if let Ok(ip) = source.parse::<IpAddr>() {
            endpoint.ip = Some(ip);
        } else if is_host_name(source) {
            endpoint.domain = Some(source.to_owned());
        } else {
            endpoint.name = Some(source.to_owned());
        }
    }
    endpoint
}

/// Dotted letters, digits and hyphens, as in `ec2.amazonaws.com`.
fn is_host_name(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Milliseconds since the epoch of an RFC 3339 time.
/// The kind of JSON value `text` starts with.
fn json_kind(text: &str) -> &'static str {
    match text.trim_start().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "number",
        Some(_) => "not JSON",
        None => "empty input",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::ocsf::validate::validate;

    /// One fixture and what its event must contain.
    struct Case {
        fixture: &'static str,
        record: &'static str,
        class_uid: u64,
        activity_id: u64,
        /// `status_id`, or `None` when the event must have no status.
        status_id: Option<u64>,
        /// JSON pointer → expected value.
        expect: Vec<(&'static str, Value)>,
        /// JSON pointers that must be absent.
        absent: Vec<&'static str>,
    }

    macro_rules! fixture {
        ($name:literal) => {
            ($name, include_str!(concat!("fixtures/", $name)))
        };
    }

    fn case(
        (fixture, record): (&'static str, &'static str),
        class_uid: u64,
        activity_id: u64,
        status_id: Option<u64>,
        expect: Vec<(&'static str, Value)>,
        absent: Vec<&'static str>,
    ) -> Case {
        Case { fixture, record, class_uid, activity_id, status_id, expect, absent }
    }

    fn cases() -> Vec<Case> {
        vec![
            case(
                fixture!("console_login_success.json"),
                3002,
                1,
                Some(1),
                vec![
                    ("/type_name", json!("Authentication: Logon")),
                    ("/user/name", json!("alice")),
                    ("/user/uid", json!("arn:aws:iam::123456789012:user/alice")),
                    ("/user/uid_alt", json!("AIDAEXAMPLEALICE0001")),
                    ("/user/type", json!("IAMUser")),
                    ("/user/type_id", json!(1)),
                    ("/actor/user/name", json!("alice")),
                    ("/is_mfa", json!(true)),
                    ("/src_endpoint/ip", json!("198.51.100.23")),
                    ("/api/operation", json!("ConsoleLogin")),
                    ("/service/name", json!("signin.amazonaws.com")),
                    ("/api/response/data/ConsoleLogin", json!("Success")),
                    ("/metadata/event_code", json!("AwsConsoleSignIn")),
                    ("/metadata/uid", json!("3f1c2a9e-5b7d-4e0a-9c11-2d7a6b8e4f01")),
                    ("/metadata/log_name", json!("CloudTrail")),
                    ("/unmapped/additionalEventData/MobileVersion", json!("No")),
                    ("/unmapped/tlsDetails/tlsVersion", json!("TLSv1.3")),
                    ("/unmapped/readOnly", json!(false)),
                ],
                vec!["/unmapped/additionalEventData/MFAUsed", "/api/request", "/raw_data"],
            ),
            case(
                fixture!("console_login_failure.json"),
                3002,
                1,
                Some(2),
                vec![
                    ("/status", json!("Failure")),
                    ("/user/name", json!("JaneDoe")),
                    ("/user/account/uid", json!("111122223333")),
                    ("/is_mfa", json!(false)),
                    ("/api/response/error_message", json!("Failed authentication")),
                    ("/cloud/account/uid", json!("111122223333")),
                    ("/cloud/region", json!("us-east-2")),
                    ("/metadata/product/version", json!("1.05")),
                    ("/metadata/original_time", json!("2014-07-08T17:35:27Z")),
                    ("/time", json!(1_404_840_927_000_i64)),
                    ("/unmapped/additionalEventData/LoginTo", json!("https://console.aws.amazon.com/sns")),
                ],
                vec!["/metadata/event_code", "/api/response/error", "/unmapped/requestParameters"],
            ),
            case(
                fixture!("assume_role_by_service.json"),
                3002,
                3,
                Some(1),
                vec![
                    ("/type_uid", json!(300_203)),
                    (
                        "/user/uid",
                        json!("arn:aws:sts::123456789012:assumed-role/web-server-role/i-0a1b2c3d4e5f67890"),
                    ),
                    ("/user/uid_alt", json!("AROAEXAMPLEROLE00001:i-0a1b2c3d4e5f67890")),
                    ("/user/name", json!("i-0a1b2c3d4e5f67890")),
                    ("/user/type", json!("AssumedRole")),
                    ("/actor/invoked_by", json!("ec2.amazonaws.com")),
                    ("/src_endpoint/domain", json!("ec2.amazonaws.com")),
                    ("/session/credential_uid", json!("ASIAEXAMPLEKEY000001")),
                    ("/session/issuer", json!("arn:aws:iam::123456789012:role/web-server-role")),
                    ("/http_request/user_agent", json!("ec2.amazonaws.com")),
                    ("/api/request/uid", json!("9b1d6c2e-7f3a-4e8b-a0d4-5c6e7f8a9b0c")),
                    ("/api/request/data/roleSessionName", json!("i-0a1b2c3d4e5f67890")),
                    ("/metadata/correlation_uid", json!("0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")),
                    ("/unmapped/resources/0/type", json!("AWS::IAM::Role")),
                    ("/unmapped/userIdentity/type", json!("AWSService")),
                ],
                vec!["/actor/user", "/src_endpoint/ip", "/resources", "/auth_protocol_id"],
            ),
            case(
                fixture!("assume_role_with_saml.json"),
                3002,
                3,
                Some(1),
                vec![
                    ("/auth_protocol_id", json!(5)),
                    ("/auth_protocol", json!("SAML")),
                    (
                        "/user/uid",
                        json!("arn:aws:sts::123456789012:assumed-role/Engineering/clara@example.com"),
                    ),
                    ("/user/name", json!("clara@example.com")),
                    ("/actor/user/name", json!("clara@example.com")),
                    ("/actor/user/type", json!("SAMLUser")),
                    ("/actor/idp/name", json!("Rk9PQkFSRXhhbXBsZUlkUA==")),
                    ("/session/credential_uid", json!("ASIAEXAMPLEKEY000002")),
                    ("/api/response/data/subject", json!("clara@example.com")),
                    ("/src_endpoint/ip", json!("203.0.113.77")),
                ],
                vec!["/actor/user/uid"],
            ),
            case(
                fixture!("iam_create_user.json"),
                3001,
                1,
                Some(1),
                vec![
                    ("/type_name", json!("Account Change: Create")),
                    ("/user/name", json!("carol")),
                    ("/user/uid", json!("arn:aws:iam::123456789012:user/carol")),
                    ("/user/uid_alt", json!("AIDAEXAMPLECAROL0001")),
                    ("/actor/user/uid", json!("arn:aws:sts::123456789012:assumed-role/Admin/bob")),
                    ("/actor/user/name", json!("Admin")),
                    ("/actor/user/credential_uid", json!("ASIAEXAMPLEKEY000003")),
                    ("/actor/session/issuer", json!("arn:aws:iam::123456789012:role/Admin")),
                    ("/actor/session/is_mfa", json!(true)),
                    ("/actor/session/created_time", json!(1_709_625_600_000_i64)),
                    ("/unmapped/sessionCredentialFromConsole", json!("true")),
                    ("/unmapped/userIdentity/sessionContext/sessionIssuer/type", json!("Role")),
                    ("/http_request/user_agent", json!("AWS Internal")),
                ],
                vec![
                    "/unmapped/userIdentity/sessionContext/webIdFederationData",
                    "/unmapped/userIdentity/sessionContext/attributes",
                ],
            ),
            case(
                fixture!("iam_create_access_key.json"),
                3001,
                99,
                Some(1),
                vec![
                    ("/user/name", json!("dave")),
                    ("/user/credential_uid", json!("AKIAEXAMPLENEWKEY001")),
                    ("/actor/user/credential_uid", json!("AKIAEXAMPLEOLDKEY001")),
                    ("/api/response/data/accessKey/status", json!("Active")),
                ],
                vec!["/api/request/data"],
            ),
            case(
                fixture!("iam_attach_user_policy.json"),
                3001,
                7,
                Some(1),
                vec![
                    ("/activity_name", json!("Attach Policy")),
                    ("/user/name", json!("carol")),
                    ("/policies/0/uid", json!("arn:aws:iam::aws:policy/AdministratorAccess")),
                    ("/actor/session/is_mfa", json!(false)),
                ],
                vec!["/api/response"],
            ),
            case(
                fixture!("iam_add_user_to_group.json"),
                3006,
                3,
                Some(1),
                vec![
                    ("/type_name", json!("Group Management: Add User")),
                    ("/group/name", json!("developers")),
                    ("/user/name", json!("carol")),
                    ("/actor/user/name", json!("erin")),
                ],
                vec!["/privileges"],
            ),
            case(
                fixture!("iam_remove_user_from_group.json"),
                3006,
                4,
                Some(1),
                vec![
                    ("/group/name", json!("developers")),
                    ("/user/name", json!("carol")),
                ],
                vec![],
            ),
            case(
                fixture!("api_access_denied.json"),
                6003,
                2,
                Some(2),
                vec![
                    ("/api/response/error", json!("AccessDenied")),
                    ("/api/operation", json!("GetSecretValue")),
                    ("/api/service/name", json!("secretsmanager.amazonaws.com")),
                    ("/actor/user/name", json!("payments-fn-role")),
                    ("/cloud/region", json!("us-west-2")),
                ],
                vec!["/user", "/api/request/data", "/api/response/data"],
            ),
            case(
                fixture!("s3_get_object.json"),
                6003,
                2,
                Some(1),
                vec![
                    ("/src_endpoint/ip", json!("2001:db8:4f2a::17")),
                    ("/resources/0/uid", json!("arn:aws:s3:::example-reports/2024/03/q1-summary.csv")),
                    ("/resources/0/type", json!("AWS::S3::Object")),
                    ("/resources/1/owner/account/uid", json!("123456789012")),
                    ("/metadata/product/feature/name", json!("Data")),
                    ("/api/request/data/key", json!("2024/03/q1-summary.csv")),
                    ("/unmapped/additionalEventData/bytesTransferredOut", json!(18234)),
                    ("/unmapped/managementEvent", json!(false)),
                    ("/observables/0/value", json!("frank")),
                    ("/observables/1/type_id", json!(2)),
                ],
                vec!["/unmapped/resources", "/resources/0/owner"],
            ),
            case(
                fixture!("ec2_describe_instances.json"),
                6003,
                2,
                Some(1),
                vec![
                    ("/type_name", json!("API Activity: Read")),
                    ("/actor/user/name", json!("ReadOnly")),
                    ("/actor/session/is_mfa", json!(true)),
                    ("/api/request/data/maxResults", json!(1000)),
                ],
                vec!["/user"],
            ),
            case(
                fixture!("insight_start.json"),
                6003,
                99,
                None,
                vec![
                    ("/api/operation", json!("UpdateInstanceInformation")),
                    ("/api/service/name", json!("ssm.amazonaws.com")),
                    ("/actor/app_name", json!("CloudTrail Insights")),
                    ("/src_endpoint/svc_name", json!("cloudtrail.amazonaws.com")),
                    ("/severity_id", json!(3)),
                    ("/metadata/log_name", json!("CloudTrail-Insight")),
                    ("/metadata/correlation_uid", json!("EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE")),
                    ("/metadata/product/feature/name", json!("Insight")),
                    (
                        "/message",
                        json!("CloudTrail Insight ApiCallRateInsight Start: ssm.amazonaws.com UpdateInstanceInformation"),
                    ),
                    ("/unmapped/insightDetails/state", json!("Start")),
                    ("/unmapped/insightDetails/insightContext/statistics/insight/average", json!(664)),
                ],
                vec!["/unmapped/insightDetails/eventName", "/unmapped/insightDetails/eventSource", "/status"],
            ),
            case(
                fixture!("insight_end.json"),
                6003,
                99,
                None,
                vec![
                    ("/severity_id", json!(1)),
                    ("/metadata/correlation_uid", json!("EXAMPLE2-1729-42f1-b735-5d8c0EXAMPLE")),
                    ("/unmapped/insightDetails/state", json!("End")),
                    ("/unmapped/insightDetails/insightContext/statistics/insightDuration", json!(1)),
                ],
                vec![],
            ),
            case(
                fixture!("unknown_fields.json"),
                6003,
                2,
                Some(1),
                vec![
                    ("/src_endpoint/name", json!("AWS Internal")),
                    ("/src_endpoint/uid", json!("vpce-0a1b2c3d4e5f60789")),
                    ("/unmapped/futureField/values/2", json!(3)),
                    ("/unmapped/eventContext/requestContext/region", json!("us-east-1")),
                    ("/unmapped/vpcEndpointAccountId", json!("123456789012")),
                    ("/unmapped/userIdentity/credentialId", json!("EXAMPLECREDENTIAL0001")),
                    ("/unmapped/userIdentity/inScopeOf/issuerType", json!("AWS::Lambda::Function")),
                    ("/unmapped/userIdentity/sessionContext/sourceIdentity", json!("ci-runner-7")),
                    ("/metadata/product/version", json!("1.11")),
                ],
                vec!["/src_endpoint/ip", "/src_endpoint/domain"],
            ),
        ]
    }

    /// Top-level record fields an OCSF attribute holds: none may also be in `unmapped`
    /// (`userIdentity` is split: only its leftovers are, see `MAPPED_IDENTITY`).
    const MAPPED: &[&str] = &[
        "eventVersion",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "errorMessage",
        "requestID",
        "eventID",
        "eventType",
        "apiVersion",
        "recipientAccountId",
        "sharedEventID",
        "vpcEndpointId",
        "eventCategory",
    ];

    /// `userIdentity` members `actor` holds.
    const MAPPED_IDENTITY: &[&str] = &["arn", "userName", "accountId", "invokedBy", "identityProvider"];

    fn map_to_json(record: &str, include_raw: bool) -> Value {
        let event =
            map_record(record, &MapOptions { include_raw }).unwrap_or_else(|e| panic!("mapping failed: {e}"));
        serde_json::to_value(&event).unwrap_or_else(|e| panic!("not serializable: {e}"))
    }

    fn assert_valid(name: &str, event: &Value) {
        if let Err(errors) = validate(event) {
            panic!("{name}: schema errors:\n{}\nevent: {event:#}", errors.join("\n"));
        }
    }

    #[test]
    fn fixtures_map_to_expected_schema_valid_events() {
        for case in cases() {
            let name = case.fixture;
            let event = map_to_json(case.record, false);
            assert_valid(name, &event);
            assert_eq!(event["class_uid"], case.class_uid, "{name}: class_uid");
            assert_eq!(event["activity_id"], case.activity_id, "{name}: activity_id");
            assert_eq!(event["type_uid"], case.class_uid * 100 + case.activity_id, "{name}: type_uid");
            assert_eq!(event.get("status_id").and_then(Value::as_u64), case.status_id, "{name}");
            assert_eq!(event["metadata"]["version"], "1.8.0", "{name}");
            assert_eq!(event["metadata"]["profiles"], json!(["cloud"]), "{name}");
            assert_eq!(event["metadata"]["product"]["name"], "CloudTrail", "{name}");
            assert_eq!(event["metadata"]["product"]["vendor_name"], "AWS", "{name}");
            assert_eq!(event["cloud"]["provider"], "AWS", "{name}");
            for (pointer, expected) in &case.expect {
                assert_eq!(event.pointer(pointer), Some(expected), "{name}: {pointer} in {event:#}");
            }
            for pointer in &case.absent {
                assert_eq!(event.pointer(pointer), None, "{name}: {pointer} must be absent");
            }
            if let Some(unmapped) = event.get("unmapped").and_then(Value::as_object) {
                for key in MAPPED {
                    assert!(!unmapped.contains_key(*key), "{name}: {key} mapped and unmapped");
                }
                if let Some(identity) = unmapped.get("userIdentity").and_then(Value::as_object) {
                    for key in MAPPED_IDENTITY {
                        assert!(!identity.contains_key(*key), "{name}: userIdentity.{key} twice");
                    }
                }
            }
        }
    }

    #[test]
    fn event_time_becomes_milliseconds_and_original_time_is_kept() {
        let record = r#"{"eventTime":"2024-03-05T09:14:22.123Z","eventName":"ListBuckets","eventSource":"s3.amazonaws.com","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"}}"#;
        let event = map_to_json(record, false);
        assert_valid("millis", &event);
        assert_eq!(event["time"], 1_709_630_062_123_i64);
        assert_eq!(event["metadata"]["original_time"], "2024-03-05T09:14:22.123Z");
        assert_eq!(event["actor"]["user"]["type_id"], 2, "Root is an admin");
    }

    #[test]
    fn include_raw_copies_the_record_only_when_on() {
        let (_, record) = fixture!("iam_create_user.json");
        let with_raw = map_to_json(record, true);
        assert_valid("raw on", &with_raw);
        // The record's text, less the whitespace between tokens (here the file's final newline).
        assert_eq!(with_raw["raw_data"], record.trim_end());
        let without = map_to_json(record, false);
        assert_eq!(without.get("raw_data"), None);
    }

    #[test]
    fn bad_records_are_errors_that_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("[]", "not a JSON object: found array"),
            (r#""ConsoleLogin""#, "not a JSON object: found string"),
            ("", "found empty input"),
            ("<Records/>", "found not JSON"),
            ("42", "found number"),
            (r#"{"eventTime": "2024-03-05T09:14:22Z""#, "not valid"),
            (r#"{"eventTime": 1709630062}"#, "not valid: invalid type: integer"),
            (r#"{"eventName":"GetObject","eventID":"abc-1"}"#, "record abc-1 has no eventTime"),
            (r#"{"eventTime":null}"#, "(no eventID) has no eventTime"),
            (r#"{"eventTime":""}"#, "has no eventTime"),
            (
                r#"{"eventTime":"05/03/2024 09:14","eventID":"abc-2"}"#,
                r#"record abc-2 has an eventTime that is not an RFC 3339 time: "05/03/2024 09:14""#,
            ),
            (r#"{"eventTime":"2024-03-05T09:14:22Z","userIdentity":"me"}"#, "not valid"),
        ];
        for (record, expected) in cases {
            match map_record(record, &MapOptions::default()) {
                Ok(event) => panic!("{record:?} mapped to {event:?}"),
                Err(error) => {
                    let message = error.to_string();
                    assert!(message.contains(expected), "{record:?}: {message:?} lacks {expected:?}");
                }
            }
        }
    }

    #[test]
    fn api_activity_follows_the_verb_of_the_event_name() {
        let cases = [
            ("CreateBucket", None, ApiActivity::Create),
            ("RunInstances", None, ApiActivity::Create),
            ("StartSession", None, ApiActivity::Create),
            ("GenerateDataKey", None, ApiActivity::Create),
            ("GetObject", None, ApiActivity::Read),
            ("ListBuckets", Some(true), ApiActivity::Read),
            ("DescribeInstances", None, ApiActivity::Read),
            ("HeadObject", None, ApiActivity::Read),
            ("BatchGetItem", None, ApiActivity::Read),
            ("PutBucketPolicy", None, ApiActivity::Update),
            ("ModifyInstanceAttribute", None, ApiActivity::Update),
            ("SetDefaultPolicyVersion", None, ApiActivity::Update),
            ("DeleteBucket", None, ApiActivity::Delete),
            ("TerminateInstances", None, ApiActivity::Delete),
            ("RemoveTagsFromResource", None, ApiActivity::Delete),
            ("BatchDeleteImage", None, ApiActivity::Delete),
            ("Decrypt", Some(true), ApiActivity::Read),
            ("Decrypt", Some(false), ApiActivity::Other),
            ("Invoke", None, ApiActivity::Other),
            ("Batch", None, ApiActivity::Other),
            ("Getaway", None, ApiActivity::Other),
            ("", None, ApiActivity::Other),
        ];
        for (name, read_only, expected) in cases {
            assert_eq!(api_activity(name, read_only), expected, "{name}");
        }
    }

    #[test]
    fn source_address_becomes_ip_domain_or_name() {
        let cases: [(&str, Value); 5] = [
            ("192.0.2.7", json!({"ip": "192.0.2.7"})),
            ("2001:db8::1", json!({"ip": "2001:db8::1"})),
            ("cloudformation.amazonaws.com", json!({"domain": "cloudformation.amazonaws.com"})),
            ("AWS Internal", json!({"name": "AWS Internal"})),
            ("AWS Internal/3", json!({"name": "AWS Internal/3"})),
        ];
        for (source, expected) in cases {
            let endpoint =
                serde_json::to_value(src_endpoint(Some(source), None)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(endpoint, expected, "{source}");
        }
    }

    #[test]
    fn iam_calls_without_a_user_name_change_the_caller() {
        let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEHANK0001","arn":"arn:aws:iam::123456789012:user/hank","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEHANKKEY1","userName":"hank"},"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"ChangePassword","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.9","userAgent":"AWS Internal","requestParameters":null,"responseElements":null,"requestID":"11111111-2222-4333-8444-555555555555","eventID":"66666666-7777-4888-9999-000000000000","eventType":"AwsApiCall","recipientAccountId":"123456789012","eventCategory":"Management"}"#;
        let event = map_to_json(record, false);
        assert_valid("ChangePassword", &event);
        assert_eq!(event["type_name"], "Account Change: Password Change");
        assert_eq!(event["user"]["uid"], "arn:aws:iam::123456789012:user/hank");
        assert_eq!(event["actor"]["user"]["name"], "hank");
    }

    #[test]
    fn iam_names_from_other_services_stay_api_activity() {
        let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"mq.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"192.0.2.9","requestID":"r-1","requestParameters":{"username":"app"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/ivan","userName":"ivan"}}"#;
        let event = map_to_json(record, false);
        assert_valid("mq CreateUser", &event);
        assert_eq!(event["type_name"], "API Activity: Create");
        assert_eq!(event.get("user"), None);
    }

    #[test]
    fn failed_assume_role_names_the_requested_role() {
        let record = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEJUDY0001","arn":"arn:aws:iam::123456789012:user/judy","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEJUDYKEY1","userName":"judy"},"eventTime":"2024-03-07T11:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.99","userAgent":"aws-cli/2.15.20","errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::123456789012:user/judy is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/Admin","requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/Admin","roleSessionName":"judy"},"responseElements":null,"requestID":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","eventID":"ffffffff-0000-4111-8222-333333333333","eventType":"AwsApiCall","recipientAccountId":"123456789012","eventCategory":"Management"}"#;
        let event = map_to_json(record, false);
        assert_valid("failed AssumeRole", &event);
        assert_eq!(event["status_id"], 2);
        assert_eq!(event["user"]["uid"], "arn:aws:iam::123456789012:role/Admin");
        assert_eq!(event["user"]["name"], "judy");
        assert_eq!(event.get("session").and_then(|s| s.get("credential_uid")), None);
    }

    #[test]
    fn sign_in_outcome_comes_from_the_record_or_is_unknown() {
        let base = r#""eventTime":"2024-03-07T10:00:00Z","sourceIPAddress":"192.0.2.9","recipientAccountId":"123456789012","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/kim","userName":"kim"}"#;
        let cases = [
            // (members, status_id, status_detail)
            (
                r#""eventSource":"signin.amazonaws.com","eventName":"CredentialVerification","serviceEventDetails":{"CredentialVerification":"Failure"}"#,
                2,
                None,
            ),
            (
                r#""eventSource":"signin.amazonaws.com","eventName":"UserAuthentication","serviceEventDetails":{"UserAuthentication":"Success"}"#,
                1,
                None,
            ),
            (r#""eventSource":"signin.amazonaws.com","eventName":"CredentialChallenge""#, 0, None),
            (
                r#""eventSource":"signin.amazonaws.com","eventType":"AwsConsoleSignIn","eventName":"SwitchRole","responseElements":{"SwitchRole":"Failure"}"#,
                2,
                None,
            ),
            (r#""eventSource":"signin.amazonaws.com","eventName":"SwitchRole""#, 0, None),
            (
                r#""eventSource":"signin.amazonaws.com","eventName":"CheckMfa","responseElements":{"CheckMfa":"Pending"}"#,
                99,
                Some("Pending"),
            ),
            (
                r#""eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","errorCode":"Throttling","responseElements":{"ConsoleLogin":"Success"}"#,
                2,
                None,
            ),
            // Not a sign-in: no errorCode means the call succeeded.
            (r#""eventSource":"s3.amazonaws.com","eventName":"ListBuckets","requestID":"r-1""#, 1, None),
        ];
        for (members, status_id, detail) in cases {
            let record = format!("{{{base},{members}}}");
            let event = map_to_json(&record, false);
            assert_valid(members, &event);
            assert_eq!(event["status_id"], status_id, "{members}");
            assert_eq!(event.get("status_detail").and_then(Value::as_str), detail, "{members}");
        }
    }

    /// A record without what CloudTrail documents as always there, and the class needs, is
    /// refused (and dead-lettered by the caller), naming what is missing: never a placeholder.
    #[test]
    fn records_missing_documented_fields_are_refused_naming_the_field() {
        let identity = r#""userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"alice"}"#;
        for (record, field) in [
            (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","sourceIPAddress":"192.0.2.1",{identity}}}"#), "eventName"),
            (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventName":"GetObject","sourceIPAddress":"192.0.2.1",{identity}}}"#), "eventSource"),
            (format!(r#"{{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject",{identity}}}"#), "sourceIPAddress"),
            (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"192.0.2.1"}"#.to_owned(), "userIdentity that names the caller"),
            (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"AWSService"}}"#.to_owned(), "userIdentity that names the caller"),
            (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"192.0.2.1"}"#.to_owned(), "user (no userIdentity naming one, no recipientAccountId)"),
            (r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventType":"AwsCloudTrailInsight","insightDetails":{"state":"Start"}}"#.to_owned(), "insightDetails.eventName"),
        ] {
            match map_record(&record, &MapOptions::default()) {
                Err(MappingError::MissingField { event_id, field: missing }) => {
                    assert_eq!((event_id.as_deref(), missing), (Some("e-1"), field), "{record}");
                }
                other => panic!("{record}: {other:?}"),
            }
        }
        let error = map_record(
            r#"{"eventTime":"2024-03-07T10:00:00Z","eventID":"e-1","eventSource":"s3.amazonaws.com"}"#,
            &MapOptions::default(),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "CloudTrail record e-1 has no eventName");
    }

    /// Sign-in and STS events without a source address leave `src_endpoint` out; a console
    /// sign-in with no user named is a user of the account signed in to.
    #[test]
    fn sign_in_without_address_or_user_leaves_out_what_is_not_said() {
        let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","recipientAccountId":"111122223333","responseElements":{"ConsoleLogin":"Failure"}}"#;
        let event = map_to_json(record, false);
        assert_valid("ConsoleLogin", &event);
        assert_eq!(event["class_uid"], 3002);
        assert_eq!(event["status_id"], 2);
        assert_eq!(event["user"], json!({"account": {"uid": "111122223333"}}));
        assert_eq!(event["service"], json!({"name": "signin.amazonaws.com"}));
        assert!(event.get("src_endpoint").is_none() && event.get("actor").is_none(), "{event:#}");
    }

    /// Group Management needs the group: a group call that names none is an API call.
    #[test]
    fn group_call_without_a_group_name_is_api_activity() {
        let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"AddUserToGroup","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"errorCode":"ValidationException","requestParameters":null}"#;
        let event = map_to_json(record, false);
        assert_valid("AddUserToGroup", &event);
        assert_eq!(event["class_uid"], 6003);
        assert_eq!(event["api"]["operation"], "AddUserToGroup");
        assert_eq!(event["status_id"], 2);
        assert!(event.get("group").is_none());
    }

    /// An Insight that does not say its type or state leaves them out of the message.
    #[test]
    fn insight_message_says_only_what_the_record_says() {
        let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventType":"AwsCloudTrailInsight","insightDetails":{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}}"#;
        let event = map_to_json(record, false);
        assert_valid("insight", &event);
        assert_eq!(event["message"], "CloudTrail Insight: ec2.amazonaws.com RunInstances");
    }

    #[test]
    fn service_event_details_of_other_events_stay_unmapped_verbatim() {
        let record = r#"{"eventTime":"2024-03-07T10:00:00Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey","eventType":"AwsServiceEvent","recipientAccountId":"123456789012","serviceEventDetails":{"keyId":"k-1","RotateKey":"Failure"}}"#;
        let event = map_to_json(record, false);
        assert_valid("RotateKey", &event);
        assert_eq!(event["status_id"], 1);
        assert_eq!(event["unmapped"]["serviceEventDetails"], json!({"keyId": "k-1", "RotateKey": "Failure"}));
        // A service event generated by its event source, which names no caller or address:
        // that service acted, from itself.
        assert_eq!(event["actor"], json!({"app_name": "kms.amazonaws.com"}));
        assert_eq!(event["src_endpoint"], json!({"svc_name": "kms.amazonaws.com"}));
    }

    #[test]
    fn credential_changes_of_a_user_are_account_changes() {
        for (name, params, response, key) in [
            (
                "UploadSSHPublicKey",
                r#"{"userName":"bob","sSHPublicKeyBody":"ssh-rsa AAAA"}"#,
                r#"{"sSHPublicKey":{"userName":"bob","sSHPublicKeyId":"APKA1"}}"#,
                "APKA1",
            ),
            (
                "UpdateSSHPublicKey",
                r#"{"userName":"bob","sSHPublicKeyId":"APKA1","status":"Inactive"}"#,
                "null",
                "APKA1",
            ),
            ("DeleteSSHPublicKey", r#"{"userName":"bob","sSHPublicKeyId":"APKA1"}"#, "null", "APKA1"),
            (
                "UploadSigningCertificate",
                r#"{"userName":"bob"}"#,
                r#"{"certificate":{"userName":"bob","certificateId":"C1"}}"#,
                "C1",
            ),
            (
                "DeleteServiceSpecificCredential",
                r#"{"userName":"bob","serviceSpecificCredentialId":"S1"}"#,
                "null",
                "S1",
            ),
            (
                "CreateAccessKey",
                r#"{"userName":"bob"}"#,
                r#"{"accessKey":{"userName":"bob","accessKeyId":"AKIA1"}}"#,
                "AKIA1",
            ),
        ] {
            let record = format!(
                r#"{{"eventTime":"2024-03-07T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","requestID":"r-1","sourceIPAddress":"192.0.2.9","requestParameters":{params},"responseElements":{response},"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/kim","userName":"kim"}}}}"#
            );
            let event = map_to_json(&record, false);
            assert_valid(name, &event);
            assert_eq!(event["type_name"], "Account Change: Other", "{name}");
            assert_eq!(event["user"]["name"], "bob", "{name}");
            assert_eq!(event["user"]["credential_uid"], key, "{name}");
            assert_eq!(event["actor"]["user"]["name"], "kim", "{name}");
        }
    }
}
