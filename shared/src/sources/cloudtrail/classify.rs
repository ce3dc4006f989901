//! Which OCSF class and activity a CloudTrail record maps to: the tables of sign-in, STS, IAM
//! user, role and group calls, and the verb rule of API Activity.

use crate::ocsf::{AccountChangeActivity, ApiActivity, AuthActivity, ClassActivity, GroupActivity};

use super::record::*;

// ---------------------------------------------------------------------------------------------
// Class selection.

/// The `eventType` of Insights records.
pub(super) const INSIGHT_EVENT_TYPE: &str = "AwsCloudTrailInsight";

/// `eventType` of an event a service generated rather than a call.
pub(super) const SERVICE_EVENT_TYPE: &str = "AwsServiceEvent";

/// Whose identity an Authentication event's `user` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthSubject {
    /// The caller itself (sign-in, GetSessionToken).
    Caller,
    /// The role session STS issued (`responseElements.assumedRoleUser`).
    AssumedRole,
    /// The federated user STS issued (`responseElements.federatedUser`).
    FederatedUser,
}

/// Whose account an Account Change event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountTarget {
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
pub(super) enum Kind {
    Insight,
    SignIn(AuthActivity),
    Sts(AuthActivity, AuthSubject),
    AccountChange(AccountChangeActivity, AccountTarget),
    Group(GroupActivity),
    Api(ApiActivity),
}

/// Sign-in events (`signin.amazonaws.com`, IAM Identity Center), matched by name alone.
pub(super) const SIGN_IN: &[(&str, AuthActivity)] = &[
    ("ConsoleLogin", AuthActivity::Logon),
    ("ExternalIdPDirectoryLogin", AuthActivity::Logon),
    ("UserAuthentication", AuthActivity::Logon),
    ("CheckMfa", AuthActivity::Preauth),
    ("CredentialChallenge", AuthActivity::Preauth),
    ("CredentialVerification", AuthActivity::Preauth),
];

/// STS calls that issue credentials (`sts.amazonaws.com` only).
pub(super) const STS: &[(&str, AuthSubject)] = &[
    ("AssumeRole", AuthSubject::AssumedRole),
    ("AssumeRoleWithSAML", AuthSubject::AssumedRole),
    ("AssumeRoleWithWebIdentity", AuthSubject::AssumedRole),
    ("GetFederationToken", AuthSubject::FederatedUser),
    ("GetSessionToken", AuthSubject::Caller),
];

/// IAM user and role mutations (`iam.amazonaws.com` only).
pub(super) const ACCOUNT_CHANGE: &[(&str, AccountChangeActivity, AccountTarget)] = {
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
pub(super) const SIGN_IN_ACCOUNT_CHANGE: &[(&str, AccountChangeActivity)] = &[
    ("PasswordUpdated", AccountChangeActivity::PasswordChange),
    ("PasswordRecoveryRequested", AccountChangeActivity::PasswordReset),
    ("PasswordRecoveryCompleted", AccountChangeActivity::PasswordReset),
];

/// Where AWS Sign-In and IAM Identity Center sign-in events come from.
pub(super) const SIGN_IN_SOURCE: &str = "signin.amazonaws.com";

/// IAM group mutations (`iam.amazonaws.com` only).
pub(super) const GROUP_MANAGEMENT: &[(&str, GroupActivity)] = &[
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
    pub(super) fn of(rec: &Record<'_>) -> Self {
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
    pub(super) fn missing_field(&self, rec: &Record<'_>) -> Option<&'static str> {
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

    pub(super) fn class_activity(self) -> ClassActivity {
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
pub(super) fn api_activity(event_name: &str, read_only: Option<bool>) -> ApiActivity {
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
