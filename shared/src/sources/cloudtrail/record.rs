//! The CloudTrail record as the mapping reads it (api-contracts.md §1.2): fields borrowed from
//! the record's text, free-form objects left as unparsed [`RawValue`]s, unknown members kept in
//! `rest`; and the leftovers of nested objects, serialized into `unmapped` under their source
//! names.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

// ---------------------------------------------------------------------------------------------
// Record types: borrowed from the record text, unknown members kept in `rest`.

pub(super) use crate::text::Text;

/// The non-empty text of an optional string field, owned.
pub(super) fn owned(text: Option<Text<'_>>) -> Option<String> {
    text.filter(|t| !t.0.is_empty()).map(|t| t.0.into_owned())
}

/// The non-empty text of an optional string field, borrowed.
pub(super) fn text<'t>(text: &'t Option<Text<'_>>) -> Option<&'t str> {
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
        pub(super) struct $name<$lt> {
            $( pub(super) $field: Option<$ty>, )*
            /// Members not listed above, verbatim, in record order.
            pub(super) rest: Vec<(Cow<$lt, str>, &$lt RawValue)>,
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
    pub(super) fn take_str(&mut self, key: &str) -> Option<Cow<'a, str>> {
        let at = self.rest.iter().position(|(k, _)| k == key)?;
        let text: Text<'a> = serde_json::from_str(self.rest[at].1.get()).ok()?;
        self.rest.remove(at);
        Some(text.0)
    }

    /// Member `key` as a string, if it is one.
    pub(super) fn get_str(&self, key: &str) -> Option<Cow<'a, str>> {
        let (_, raw) = self.rest.iter().find(|(k, _)| k == key)?;
        serde_json::from_str::<Text<'a>>(raw.get()).ok().map(|t| t.0)
    }
}

/// `resources[]` element.
#[derive(Deserialize)]
pub(super) struct ResourceRecord<'a> {
    #[serde(rename = "ARN", borrow)]
    pub(super) arn: Option<Text<'a>>,
    #[serde(rename = "ARNPrefix", borrow)]
    pub(super) arn_prefix: Option<Text<'a>>,
    #[serde(rename = "accountId", borrow)]
    pub(super) account_id: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    pub(super) type_: Option<Text<'a>>,
}

/// The `requestParameters` members the IAM and STS rules read.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Params<'a> {
    #[serde(borrow)]
    pub(super) user_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) new_user_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) role_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) group_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) policy_arn: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) policy_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) permissions_boundary: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) access_key_id: Option<Text<'a>>,
    /// SSH public key, signing certificate or service-specific credential (UpdateSSHPublicKey, ...).
    #[serde(
        rename = "sSHPublicKeyId",
        alias = "certificateId",
        alias = "serviceSpecificCredentialId",
        borrow
    )]
    pub(super) credential_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) role_arn: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) role_session_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) name: Option<Text<'a>>,
}

/// The `responseElements` members the IAM and STS rules read.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Response<'a> {
    #[serde(borrow)]
    pub(super) user: Option<IamEntity<'a>>,
    #[serde(borrow)]
    pub(super) role: Option<IamEntity<'a>>,
    #[serde(borrow)]
    pub(super) group: Option<IamEntity<'a>>,
    #[serde(borrow)]
    pub(super) access_key: Option<AccessKey<'a>>,
    /// UploadSSHPublicKey, UploadSigningCertificate, CreateServiceSpecificCredential, ...
    #[serde(rename = "sSHPublicKey", alias = "certificate", alias = "serviceSpecificCredential", borrow)]
    pub(super) credential: Option<UserCredential<'a>>,
    #[serde(borrow)]
    pub(super) assumed_role_user: Option<IssuedIdentity<'a>>,
    #[serde(borrow)]
    pub(super) federated_user: Option<IssuedIdentity<'a>>,
    #[serde(borrow)]
    pub(super) credentials: Option<Credentials<'a>>,
}

/// An IAM user, role or group in a response.
#[derive(Deserialize)]
pub(super) struct IamEntity<'a> {
    #[serde(borrow)]
    pub(super) arn: Option<Text<'a>>,
    #[serde(rename = "userId", alias = "roleId", alias = "groupId", borrow)]
    pub(super) id: Option<Text<'a>>,
}

/// `responseElements.accessKey`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccessKey<'a> {
    #[serde(borrow)]
    pub(super) user_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) access_key_id: Option<Text<'a>>,
}

/// `responseElements.sSHPublicKey` / `certificate` / `serviceSpecificCredential`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserCredential<'a> {
    #[serde(borrow)]
    pub(super) user_name: Option<Text<'a>>,
    #[serde(
        rename = "sSHPublicKeyId",
        alias = "certificateId",
        alias = "serviceSpecificCredentialId",
        borrow
    )]
    pub(super) id: Option<Text<'a>>,
}

/// `responseElements.assumedRoleUser` / `federatedUser`.
#[derive(Deserialize)]
pub(super) struct IssuedIdentity<'a> {
    #[serde(borrow)]
    pub(super) arn: Option<Text<'a>>,
    #[serde(rename = "assumedRoleId", alias = "federatedUserId", borrow)]
    pub(super) id: Option<Text<'a>>,
}

/// `responseElements.credentials`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Credentials<'a> {
    #[serde(borrow)]
    pub(super) access_key_id: Option<Text<'a>>,
}

/// A free-form object read only when a rule needs it; `Default` when absent or not an object.
pub(super) fn parse_or_default<'a, T: Deserialize<'a> + Default>(raw: Option<&'a RawValue>) -> T {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Leftovers of nested objects, serialized into `unmapped` under their source names.

/// A leftover value: verbatim JSON, a string, or an object of leftovers.
pub(super) enum Left<'a> {
    Raw(&'a RawValue),
    Str(Cow<'a, str>),
    Object(Leftovers<'a>),
}

/// Members of a source object that no OCSF attribute holds.
#[derive(Default)]
pub(super) struct Leftovers<'a>(pub(super) Vec<(Cow<'a, str>, Left<'a>)>);

impl<'a> Leftovers<'a> {
    pub(super) fn from_rest(rest: Vec<(Cow<'a, str>, &'a RawValue)>) -> Self {
        Self(rest.into_iter().map(|(k, v)| (k, Left::Raw(v))).collect())
    }

    pub(super) fn raw(&mut self, key: impl Into<Cow<'a, str>>, value: &'a RawValue) {
        self.0.push((key.into(), Left::Raw(value)));
    }

    pub(super) fn string(&mut self, key: &'static str, value: Option<Text<'a>>) {
        if let Some(value) = value {
            self.0.push((Cow::Borrowed(key), Left::Str(value.0)));
        }
    }

    pub(super) fn owned_string(&mut self, key: &'static str, value: Option<String>) {
        if let Some(value) = value {
            self.0.push((Cow::Borrowed(key), Left::Str(Cow::Owned(value))));
        }
    }

    pub(super) fn object(&mut self, key: &'static str, value: Leftovers<'a>) {
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
