//! Azure DevOps audit entry → OCSF 1.8.0 (api-contracts.md §7.1; the table and every decision are
//! in docs/mappings/azure-devops.md). Pure: no I/O.
//!
//! Class by the `actionId` prefix (else `area`):
//! * `Group.*` (membership updates, group creation and deletion) → Group Management (3006);
//! * `Token.*` (personal access tokens, SSH keys) → Account Change (3001), activity Other;
//! * `Security.*` (permissions, access control lists) → User Access Management (3005);
//! * `Project`, `Git`, `Pipelines`, `Release`, `Policy`, `Extension`, `Library` → Entity
//!   Management (3004), activity from `category`;
//! * everything else, audit-log reads included → API Activity (6003), activity from `category`.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::Value;

use super::record::{not_zero, AuditEntry, Outcome};
use crate::ocsf::{
    AccountChangeActivity, Actor, Api, ApiActivity, ApiRequest, ClassActivity, EntityActivity, EntityType,
    Feature, Group, GroupActivity, HttpRequest, ManagedEntity, Metadata, NetworkEndpoint, Observable,
    ObservableType, OcsfEvent, Product, RawJson, ResourceDetails, Service, Severity, Status, User,
    UserAccessActivity, UserType,
};

/// `metadata.product.name`.
pub const PRODUCT: &str = "Azure DevOps";
/// `metadata.product.vendor_name`.
pub const VENDOR: &str = "Microsoft";
/// The display name Azure DevOps gives its own system actor.
pub const SYSTEM_ACTOR: &str = "Azure DevOps Service";
/// Placeholder for a required OCSF attribute the entry has nothing for.
const UNKNOWN: &str = "Unknown";

/// Mapping options from configuration.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `INCLUDE_RAW`: copy the entry's JSON text into `raw_data`.
    pub include_raw: bool,
}

/// Why an entry could not be mapped (the caller dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Neither `timestamp` nor `TimeGenerated` holds an RFC 3339 time.
    #[error("Azure DevOps audit entry {} has no RFC 3339 timestamp (found {found:?})", .id.as_deref().unwrap_or("(no id)"))]
    BadTimestamp {
        /// The entry's `id`, if it has one.
        id: Option<String>,
        /// The `timestamp` text, if any.
        found: Option<String>,
    },
}

/// The kind of entity an Entity Management event is about, by `actionId` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityKind {
    /// `actionId` prefix (and `area`).
    prefix: &'static str,
    /// `entity.type`.
    type_name: &'static str,
    /// `data` members holding the entity's id, first present wins.
    uid_keys: &'static [&'static str],
    /// `data` members holding its name, first present wins.
    name_keys: &'static [&'static str],
}

const ENTITY_KINDS: &[EntityKind] = &[
    EntityKind {
        prefix: "Project",
        type_name: "Project",
        uid_keys: &["ProjectId"],
        name_keys: &["ProjectName"],
    },
    EntityKind {
        prefix: "Git",
        type_name: "Repository",
        uid_keys: &["RepoId", "RepositoryId"],
        name_keys: &["RepoName", "RepositoryName"],
    },
    EntityKind {
        prefix: "Pipelines",
        type_name: "Pipeline",
        uid_keys: &["PipelineId", "DefinitionId"],
        name_keys: &["PipelineName", "DefinitionName"],
    },
    EntityKind {
        prefix: "Release",
        type_name: "Release Pipeline",
        uid_keys: &["PipelineId", "ReleaseDefinitionId", "ReleaseId"],
        name_keys: &["PipelineName", "ReleaseDefinitionName", "ReleaseName"],
    },
    EntityKind {
        prefix: "Policy",
        type_name: "Policy",
        uid_keys: &["PolicyConfigurationId", "PolicyTypeId"],
        name_keys: &["PolicyTypeDisplayName", "PolicyName"],
    },
    EntityKind {
        prefix: "Extension",
        type_name: "Extension",
        uid_keys: &["ExtensionId"],
        name_keys: &["ExtensionName"],
    },
    EntityKind {
        prefix: "Library",
        type_name: "Library",
        uid_keys: &["ConnectionId", "VariableGroupId", "SecureFileId", "AgentPoolId"],
        name_keys: &["ConnectionName", "VariableGroupName", "SecureFileName", "AgentPoolName"],
    },
];

/// How an entry is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Group(GroupActivity),
    Token,
    Security(UserAccessActivity),
    Entity(EntityKind, EntityActivity),
    Api(ApiActivity),
}

impl Family {
    fn of(entry: &AuditEntry) -> Self {
        let action = entry.action_id.as_deref().unwrap_or_default();
        let prefix = match action.split_once('.') {
            Some((prefix, _)) => prefix,
            None => entry.area.as_deref().unwrap_or_default(),
        };
        let category = entry.category.as_deref().unwrap_or_default().to_ascii_lowercase();
        let lower = action.to_ascii_lowercase();
        match prefix {
            "Group" => Family::Group(if lower.starts_with("group.updategroupmembership") {
                if lower.ends_with(".add") || (!lower.ends_with(".remove") && category == "create") {
                    GroupActivity::AddUser
                } else if lower.ends_with(".remove") || category == "remove" {
                    GroupActivity::RemoveUser
                } else {
                    GroupActivity::Other
                }
            } else if lower == "group.creategroups" || (category == "create" && !lower.contains("update")) {
                GroupActivity::Create
            } else if lower.ends_with(".delete") || category == "remove" {
                GroupActivity::Delete
            } else {
                GroupActivity::Other
            }),
            "Token" => Family::Token,
            "Security" => Family::Security(
                if category == "remove" || lower.contains("remove") || lower.contains("reset") {
                    UserAccessActivity::RevokePrivileges
                } else {
                    UserAccessActivity::AssignPrivileges
                },
            ),
            _ => match ENTITY_KINDS.iter().find(|k| k.prefix == prefix) {
                Some(kind) => Family::Entity(*kind, entity_activity(&lower, &category)),
                None => Family::Api(api_activity(&category)),
            },
        }
    }

    fn class_activity(self) -> ClassActivity {
        match self {
            Family::Group(a) => a.into(),
            Family::Token => AccountChangeActivity::Other.into(),
            Family::Security(a) => a.into(),
            Family::Entity(_, a) => a.into(),
            Family::Api(a) => a.into(),
        }
    }
}

/// Entity Management activity: `Enable`/`Disable` named in the action win, else the category.
fn entity_activity(action_lower: &str, category: &str) -> EntityActivity {
    let verb = action_lower.split_once('.').map_or(action_lower, |(_, rest)| rest);
    if verb.contains("disable") {
        return EntityActivity::Disable;
    }
    if verb.contains("enable") {
        return EntityActivity::Enable;
    }
    match category {
        "create" => EntityActivity::Create,
        "access" => EntityActivity::Read,
        "modify" => EntityActivity::Update,
        "remove" => EntityActivity::Delete,
        "unknown" | "" => EntityActivity::Unknown,
        _ => EntityActivity::Other,
    }
}

/// API Activity activity from the category.
fn api_activity(category: &str) -> ApiActivity {
    match category {
        "create" => ApiActivity::Create,
        "access" => ApiActivity::Read,
        "modify" => ApiActivity::Update,
        "remove" => ApiActivity::Delete,
        "unknown" | "" => ApiActivity::Unknown,
        _ => ApiActivity::Other,
    }
}

/// Actions that deserve more than Informational.
const SEVERITY: &[(&str, Severity)] = &[
    // A PAT found in a public repository: a leaked credential.
    ("Token.PatPublicDiscoveryEvent", Severity::High),
    ("Git.RefUpdatePoliciesBypassed", Severity::Medium),
    ("AuditLog.StreamDisabledByUser", Severity::Medium),
    ("AuditLog.StreamDeleted", Severity::Medium),
];

/// Maps one audit entry to an OCSF event; `raw` is its JSON text (for `INCLUDE_RAW`).
pub fn map_entry(
    entry: &AuditEntry,
    raw: Option<&str>,
    options: &MapOptions,
) -> Result<OcsfEvent, MappingError> {
    let time = entry
        .time_ms()
        .ok_or_else(|| MappingError::BadTimestamp { id: entry.id.clone(), found: entry.timestamp.clone() })?;
    let family = Family::of(entry);
    let mut event = OcsfEvent::new(family.class_activity(), time, metadata(entry));
    event.message = entry.details.clone();
    event.set_status(match entry.outcome() {
        Some(Outcome::Blocked) => Status::Failure,
        _ => Status::Success,
    });
    if let Some((_, severity)) = SEVERITY.iter().find(|(a, _)| Some(*a) == entry.action_id.as_deref()) {
        event.set_severity(*severity);
    }

    let actor = actor(entry);
    let actor_user = actor.user.clone();
    if let Some(user) = &actor.user {
        if let Some(email) = &user.email_addr {
            event.observables.push(Observable::new(
                "actor.user.email_addr",
                ObservableType::EmailAddress,
                email,
            ));
        }
        if let Some(name) = &user.name {
            event.observables.push(Observable::new("actor.user.name", ObservableType::UserName, name));
        }
    }
    event.actor = Some(actor);
    let ip = entry.ip_address.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok());
    if let Some(ip) = ip {
        event.observables.push(Observable::new("src_endpoint.ip", ObservableType::IpAddress, ip.to_string()));
        event.src_endpoint = Some(NetworkEndpoint::from_ip(ip));
    }
    event.http_request =
        entry.user_agent.clone().map(|ua| HttpRequest { user_agent: Some(ua), ..HttpRequest::default() });

    let mut data_used = false;
    let mut scope_used = false;
    match family {
        Family::Group(_) => {
            event.group = Some(group(entry));
            event.user = target_user(entry);
            event.resource = scope_resources(entry).into_iter().next_back();
            scope_used = entry.project_id.is_none() && entry.project_name.is_none();
        }
        Family::Token => {
            let mut user = token_owner(entry).or(actor_user).unwrap_or_else(|| User::named(UNKNOWN));
            user.credential_uid = entry.data_text("AuthorizationId");
            event.user = Some(user);
        }
        Family::Security(_) => {
            event.privileges = vec![entry
                .data_text("ChangedPermission")
                .or_else(|| entry.action_id.clone())
                .unwrap_or_else(|| UNKNOWN.to_owned())];
            event.user = Some(
                entry
                    .data_text("SubjectDisplayName")
                    .map(User::named)
                    .or_else(|| target_user(entry))
                    .or(actor_user)
                    .unwrap_or_else(|| User::named(UNKNOWN)),
            );
            let namespace = ResourceDetails {
                uid: entry.data_text("Token").or_else(|| entry.data_text("NamespaceId")),
                name: entry.data_text("NamespaceName"),
                type_: Some("Security Namespace".to_owned()),
                ..ResourceDetails::default()
            };
            if namespace.uid.is_some() || namespace.name.is_some() {
                event.resource = Some(namespace);
            }
            event.resources = scope_resources(entry);
            scope_used = true;
        }
        Family::Entity(kind, _) => {
            event.entity = Some(entity(entry, kind));
            data_used = true;
        }
        Family::Api(_) => {
            let mut api = Api::new(entry.action_id.clone().unwrap_or_else(|| UNKNOWN.to_owned()));
            api.service = entry.area.clone().map(Service::named);
            if let (Some(uid), Some(data)) = (entry.activity_id.clone(), raw_json(entry.data.as_ref())) {
                api.request = Some(ApiRequest { uid, data: Some(data) });
                data_used = true;
            }
            event.api = Some(api);
            event.resources = scope_resources(entry);
            scope_used = true;
            if event.src_endpoint.is_none() {
                // API Activity requires src_endpoint: service-initiated entries have no address.
                event.src_endpoint =
                    Some(NetworkEndpoint { name: Some(UNKNOWN.to_owned()), ..NetworkEndpoint::default() });
            }
        }
    }

    // What no attribute holds, under the entry's own names.
    let mut keep = |key: &str, value: Option<Value>| {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            // Serializing a JSON value cannot fail; should it, the member is dropped, not the event.
            let _ = event.unmapped.insert(key, &value);
        }
    };
    if !data_used {
        keep("data", entry.data.clone());
    }
    if !scope_used {
        keep("scopeId", entry.scope_id.clone().map(Value::from));
        keep("scopeDisplayName", entry.scope_display_name.clone().map(Value::from));
        keep("projectId", entry.project_id.clone().map(Value::from));
        keep("projectName", entry.project_name.clone().map(Value::from));
    }
    keep("scopeType", entry.scope_type.clone().map(Value::from));
    keep("category", entry.category.clone().map(Value::from));
    keep("authenticationMechanism", entry.authentication_mechanism.clone().map(Value::from));
    keep("actorImageUrl", entry.actor_image_url.clone().map(Value::from));
    if ip.is_none() {
        keep("ipAddress", entry.ip_address.clone().map(Value::from));
    }
    for (key, value) in &entry.extra {
        keep(key, Some(value.clone()));
    }
    if options.include_raw {
        event.raw_data = raw.map(str::to_owned);
    }
    Ok(event)
}

fn metadata(entry: &AuditEntry) -> Metadata {
    let mut product = Product::new(PRODUCT, VENDOR);
    product.feature = entry.area.clone().map(|name| Feature { name });
    let mut metadata = Metadata::new(product);
    metadata.uid = entry.id.clone();
    metadata.correlation_uid = entry.correlation_id.clone();
    metadata.event_code = entry.action_id.clone();
    metadata.log_name = Some(Cow::Borrowed("AuditLog"));
    metadata.original_time = entry.timestamp.clone();
    metadata.tenant_uid = entry.scope_id.clone();
    metadata
}

/// `actor`: the user (`actorUserId`, `actorUPN`, `actorDisplayName`, `actorCUID`), a service
/// principal (`authenticationMechanism`, `actorClientId`) or Azure DevOps itself.
fn actor(entry: &AuditEntry) -> Actor {
    let upn = entry.actor_upn.clone();
    let email = upn.clone().filter(|u| is_email(u));
    let display = entry.actor_display_name.clone();
    let user_type = if entry.is_service_principal() {
        UserType::Service
    } else if display.as_deref() == Some(SYSTEM_ACTOR) {
        UserType::System
    } else {
        UserType::User
    };
    let user = User {
        uid: not_zero(entry.actor_user_id.as_deref()).map(str::to_owned),
        uid_alt: not_zero(entry.actor_cuid.as_deref()).map(str::to_owned),
        name: upn.or_else(|| display.clone()),
        display_name: display.clone(),
        email_addr: email,
        type_id: Some(user_type),
        type_: Some(user_type.caption().to_owned()),
        ..User::default()
    };
    let mut actor = Actor::default();
    if entry.is_service_principal() {
        actor.app_uid = not_zero(entry.actor_client_id.as_deref()).map(str::to_owned);
    }
    if user.is_identified() {
        actor.user = Some(user);
    } else if actor.app_uid.is_none() {
        actor.app_name = Some(UNKNOWN.to_owned());
    }
    actor
}

/// A plausible e-mail address: `local@domain.tld`, no spaces (the schema checks the shape).
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !text.contains(char::is_whitespace)
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
}

/// The group a membership change is about: `data.Updates[0].GroupId` or `data.GroupId`, and
/// `data.GroupName`.
fn group(entry: &AuditEntry) -> Group {
    let group = Group {
        uid: entry.data_text("Updates.0.GroupId").or_else(|| entry.data_text("GroupId")),
        name: entry.data_text("GroupName"),
        ..Group::default()
    };
    if group.uid.is_none() && group.name.is_none() {
        return Group { name: Some(UNKNOWN.to_owned()), ..Group::default() };
    }
    group
}

/// The user acted on: `data.Updates[0].MemberId`, `data.MemberId` or `data.TargetUser`, with
/// `data.MemberDisplayName`.
fn target_user(entry: &AuditEntry) -> Option<User> {
    let user = User {
        uid: entry
            .data_text("Updates.0.MemberId")
            .or_else(|| entry.data_text("MemberId"))
            .or_else(|| entry.data_text("TargetUser")),
        name: entry.data_text("MemberDisplayName"),
        ..User::default()
    };
    user.is_identified().then_some(user)
}

/// The owner of a token: `data.OwnerId` or `data.TargetUser`.
fn token_owner(entry: &AuditEntry) -> Option<User> {
    let uid = entry.data_text("OwnerId").or_else(|| entry.data_text("TargetUser"))?;
    Some(User { uid: Some(uid), ..User::default() })
}

/// The organization (scope) and the project, as resources.
fn scope_resources(entry: &AuditEntry) -> Vec<ResourceDetails> {
    let mut resources = Vec::new();
    if entry.scope_id.is_some() || entry.scope_display_name.is_some() {
        resources.push(ResourceDetails {
            uid: entry.scope_id.clone(),
            name: entry.scope_display_name.clone(),
            type_: Some(entry.scope_type.clone().unwrap_or_else(|| "organization".to_owned())),
            ..ResourceDetails::default()
        });
    }
    if entry.project_id.is_some() || entry.project_name.is_some() {
        resources.push(ResourceDetails {
            uid: entry.project_id.clone(),
            name: entry.project_name.clone(),
            type_: Some("project".to_owned()),
            ..ResourceDetails::default()
        });
    }
    resources
}

/// The managed entity: its id and name from the kind's `data` members (else `data.DisplayName`,
/// else the action), and `data` itself.
fn entity(entry: &AuditEntry, kind: EntityKind) -> ManagedEntity {
    let first = |keys: &[&str]| keys.iter().find_map(|k| entry.data_text(k));
    let mut uid = first(kind.uid_keys);
    let mut name = first(kind.name_keys).or_else(|| entry.data_text("DisplayName"));
    if kind.prefix == "Project" {
        uid = uid.or_else(|| entry.project_id.clone());
        name = name.or_else(|| entry.project_name.clone());
    }
    if uid.is_none() && name.is_none() {
        name = Some(entry.action_id.clone().unwrap_or_else(|| UNKNOWN.to_owned()));
    }
    ManagedEntity {
        uid,
        name,
        type_id: Some(if kind.prefix == "Policy" { EntityType::Policy } else { EntityType::Other }),
        type_: Some(kind.type_name.to_owned()),
        data: raw_json(entry.data.as_ref()),
        ..ManagedEntity::default()
    }
}

/// `data` as verbatim JSON, when it is an object or array.
fn raw_json(data: Option<&Value>) -> Option<RawJson> {
    data.filter(|d| d.is_object() || d.is_array()).and_then(|d| serde_json::value::to_raw_value(d).ok())
}

#[cfg(test)]
mod tests;
