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
use std::net::IpAddr;

use serde_json::value::RawValue;

use crate::ocsf::{
    Account, AccountChangeActivity, Actor, Api, ApiRequest, ApiResponse, AuthProtocol, Cloud, Feature, Group,
    HttpRequest, Idp, Metadata, NetworkEndpoint, Observable, ObservableType, OcsfEvent, Policy, Product,
    ResourceDetails, Service, Session, Severity, Status, User, UserType,
};
use crate::timestamp::parse_rfc3339_ms;

use super::classify::*;
use super::record::*;

/// Mapping options from configuration.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `INCLUDE_RAW`: copy the record's JSON text into `raw_data`.
    pub include_raw: bool,
}

/// Why a record could not be mapped (the caller dead-letters it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MappingError {
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
pub(crate) fn map_record(record: &str, options: &MapOptions) -> Result<OcsfEvent, MappingError> {
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
mod tests;
