//! Azure DevOps audit entry → OCSF 1.8.0 (api-contracts.md §7.1; the table and every decision are
//! in docs/mappings/azure-devops.md). Pure: no I/O.
//!
//! Class by the `actionId` prefix (else `area`):
//! * `Group.*` (membership updates, group creation and deletion) → Group Management (3006), when
//!   the entry names the group;
//! * `Token.*` (personal access tokens, SSH keys) → Account Change (3001), activity Other, when
//!   the entry names the owner; else Entity Management of the token;
//! * `Security.*` (permissions, access control lists) → User Access Management (3005) when the
//!   entry names the permissions and whom they are for; else Entity Management of the ACL;
//! * `Project`, `Git`, `Pipelines`, `Release`, `Policy`, `Extension`, `Library`,
//!   `OrganizationPolicy`, `Licensing`, `Organization` and audit stream changes (`AuditLog.Stream*`)
//!   → Entity Management (3004), when the entry names the entity;
//! * everything else, audit-log reads included → API Activity (6003), activity from `category`,
//!   when the entry names an actor and a source (an address, or Azure DevOps itself as the
//!   actor); else Entity Management of its project, scope, area or, naming none, the service.
//!
//! Nothing is made up: no placeholder actor, endpoint, operation or subject, and never the actor
//! as the token's owner.

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
pub(crate) const PRODUCT: &str = "Azure DevOps";
/// `metadata.product.vendor_name`.
pub(crate) const VENDOR: &str = "Microsoft";
/// The display name Azure DevOps gives its own system actor.
pub(crate) const SYSTEM_ACTOR: &str = "Azure DevOps Service";

/// Mapping options from configuration.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `INCLUDE_RAW`: copy the entry's JSON text into `raw_data`.
    pub include_raw: bool,
}

/// Why an entry could not be mapped (the caller dead-letters it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MappingError {
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
    /// `entity.type_id`.
    type_id: EntityType,
    /// `data` members holding the entity's id, first present wins.
    uid_keys: &'static [&'static str],
    /// `data` members holding its name, first present wins.
    name_keys: &'static [&'static str],
}

const ENTITY_KINDS: &[EntityKind] = &[
    EntityKind {
        prefix: "Project",
        type_id: EntityType::Other,
        type_name: "Project",
        uid_keys: &["ProjectId"],
        name_keys: &["ProjectName"],
    },
    EntityKind {
        prefix: "Git",
        type_id: EntityType::Other,
        type_name: "Repository",
        uid_keys: &["RepoId", "RepositoryId"],
        name_keys: &["RepoName", "RepositoryName"],
    },
    EntityKind {
        prefix: "Pipelines",
        type_id: EntityType::Other,
        type_name: "Pipeline",
        uid_keys: &["PipelineId", "DefinitionId"],
        name_keys: &["PipelineName", "DefinitionName"],
    },
    EntityKind {
        prefix: "Release",
        type_id: EntityType::Other,
        type_name: "Release Pipeline",
        uid_keys: &["PipelineId", "ReleaseDefinitionId", "ReleaseId"],
        name_keys: &["PipelineName", "ReleaseDefinitionName", "ReleaseName"],
    },
    EntityKind {
        prefix: "Policy",
        type_id: EntityType::Policy,
        type_name: "Policy",
        uid_keys: &["PolicyConfigurationId", "PolicyTypeId"],
        name_keys: &["PolicyTypeDisplayName", "PolicyName"],
    },
    EntityKind {
        prefix: "Extension",
        type_id: EntityType::Other,
        type_name: "Extension",
        uid_keys: &["ExtensionId"],
        name_keys: &["ExtensionName"],
    },
    EntityKind {
        prefix: "Library",
        type_id: EntityType::Other,
        type_name: "Library",
        uid_keys: &["AgentId", "ConnectionId", "VariableGroupId", "SecureFileId", "AgentPoolId"],
        name_keys: &["AgentName", "ConnectionName", "VariableGroupName", "SecureFileName", "AgentPoolName"],
    },
    EntityKind {
        prefix: "OrganizationPolicy",
        type_id: EntityType::Policy,
        type_name: "Organization Policy",
        uid_keys: &[],
        name_keys: &["PolicyName", "EnforcePolicyName"],
    },
    EntityKind {
        prefix: "Licensing",
        type_id: EntityType::Other,
        type_name: "Access Level",
        uid_keys: &[],
        name_keys: &["AccessLevel"],
    },
    EntityKind {
        prefix: "Organization",
        type_id: EntityType::Organization,
        type_name: "Organization",
        uid_keys: &[],
        name_keys: &["OrganizationName", "NewOrganizationName"],
    },
];

/// Audit streams (`AuditLog.Stream*` but `AuditLog.StreamRead`).
const AUDIT_STREAM: EntityKind = EntityKind {
    prefix: "AuditLog",
    type_id: EntityType::Other,
    type_name: "Audit Stream",
    uid_keys: &["StreamId"],
    name_keys: &["displayName", "consumerType"],
};

/// A personal access token or SSH key, for `Token.*` entries that do not name its owner.
const TOKEN: EntityKind = EntityKind {
    prefix: "Token",
    type_id: EntityType::Other,
    type_name: "Token",
    uid_keys: &["AuthorizationId"],
    name_keys: &[],
};

/// The access control lists of a security namespace, for `Security.*` entries that do not name
/// both the permissions and whom they are for.
const ACCESS_CONTROL_LIST: EntityKind = EntityKind {
    prefix: "Security",
    type_id: EntityType::Other,
    type_name: "Access Control List",
    uid_keys: &["Token", "NamespaceId"],
    name_keys: &["NamespaceName"],
};

/// How an entry is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Group(GroupActivity),
    Token,
    Security(UserAccessActivity),
    Entity(EntityKind, EntityActivity),
    /// An entry API Activity cannot hold: Entity Management of what it is scoped to.
    Scope(EntityActivity),
    Api(ApiActivity),
}

impl Family {
    fn of(entry: &AuditEntry) -> Self {
        let action = entry.action_id.as_deref().unwrap_or_default();
        let prefix = match action.split_once('.') {
            Some((prefix, _)) => prefix,
            None => entry.area.as_deref().unwrap_or_default(),
        };
        let category = entry.category.as_deref().unwrap_or_default();
        let lower = action.to_ascii_lowercase();
        let verb = entry.action_verb();
        let entity_or_api = |kind: EntityKind| {
            if entity(entry, kind).is_some() {
                Family::Entity(kind, entity_activity(&verb, category))
            } else {
                api_or_scope(entry, &verb, category)
            }
        };
        match prefix {
            "Group" if group(entry).is_none() => api_or_scope(entry, &verb, category),
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
            "Token" if token_owner(entry).is_some() => Family::Token,
            "Token" => entity_or_api(TOKEN),
            "Security" if !permission_names(entry).is_empty() && subject(entry).is_some() => {
                Family::Security(security_activity(entry, &verb, category))
            }
            "Security" => entity_or_api(ACCESS_CONTROL_LIST),
            "AuditLog" if verb.starts_with("stream") && verb != "streamread" => entity_or_api(AUDIT_STREAM),
            _ => match ENTITY_KINDS.iter().find(|k| k.prefix == prefix) {
                Some(kind) => entity_or_api(*kind),
                None => api_or_scope(entry, &verb, category),
            },
        }
    }

    fn class_activity(self) -> ClassActivity {
        match self {
            Family::Group(a) => a.into(),
            Family::Token => AccountChangeActivity::Other.into(),
            Family::Security(a) => a.into(),
            Family::Entity(_, a) | Family::Scope(a) => a.into(),
            Family::Api(a) => a.into(),
        }
    }
}

/// API Activity when the entry gives all it requires: an operation (`actionId`), an actor, and a
/// source (its address, or Azure DevOps itself when it is the actor); else Entity Management of
/// what the entry is scoped to ([`scope_entity`]), so that no actor or endpoint is made up.
fn api_or_scope(entry: &AuditEntry, verb: &str, category: &str) -> Family {
    let actor = actor(entry);
    let has_ip = entry.ip_address.as_deref().is_some_and(|ip| ip.parse::<IpAddr>().is_ok());
    if entry.action_id.is_some() && !actor.is_empty() && (has_ip || is_system(&actor)) {
        Family::Api(api_activity(category))
    } else {
        // Something in the scope was created, removed or changed: the scope was updated; a read
        // reads it.
        Family::Scope(match entity_activity(verb, category) {
            a @ (EntityActivity::Read | EntityActivity::Other | EntityActivity::Unknown) => a,
            _ => EntityActivity::Update,
        })
    }
}

/// Whether the actor is Azure DevOps itself.
fn is_system(actor: &Actor) -> bool {
    actor.user.as_ref().is_some_and(|u| u.type_id == Some(UserType::System))
}

/// Entity Management activity from the action's verb (after its area): `Disable`, `Enable`, then
/// `Delete`/`Remove`/`Destroy`/`Uninstall` (`Library.AgentDeleted` is filed under `modify`);
/// `Undelete`/`Restore` and everything else by the category.
fn entity_activity(verb: &str, category: &str) -> EntityActivity {
    if verb.contains("disable") {
        return EntityActivity::Disable;
    }
    if verb.contains("enable") {
        return EntityActivity::Enable;
    }
    let restores = verb.contains("undelete") || verb.contains("restore");
    if !restores && ["delete", "remove", "destroy", "uninstall"].iter().any(|w| verb.contains(w)) {
        return EntityActivity::Delete;
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

/// User Access Management activity: removing or resetting ACLs revokes; else the effects the
/// entry states (`data.EventSummary[].Change`, else `data.PermissionModifiedTo`): all `Allow` →
/// Assign; all `Deny`, `Remove` or `Not set` → Revoke; mixed or unstated → Other.
fn security_activity(entry: &AuditEntry, verb: &str, category: &str) -> UserAccessActivity {
    if category == "remove" || verb.contains("remove") || verb.contains("reset") {
        return UserAccessActivity::RevokePrivileges;
    }
    let mut effects: Vec<String> = summary_items(entry)
        .iter()
        .filter_map(|item| item_text(item, "Change"))
        .chain(entry.data_text("PermissionModifiedTo"))
        .map(|e| e.to_ascii_lowercase())
        .collect();
    effects.dedup();
    let revokes = |e: &String| matches!(e.as_str(), "deny" | "remove" | "not set" | "notset");
    if effects.is_empty() {
        UserAccessActivity::Other
    } else if effects.iter().all(|e| e == "allow") {
        UserAccessActivity::AssignPrivileges
    } else if effects.iter().all(revokes) {
        UserAccessActivity::RevokePrivileges
    } else {
        UserAccessActivity::Other
    }
}

/// Actions that deserve more than Informational.
const SEVERITY: &[(&str, Severity)] = &[
    // A PAT found in a public repository: a leaked credential.
    ("Token.PatPublicDiscoveryEvent", Severity::High),
    ("Git.RefUpdatePoliciesBypassed", Severity::Medium),
    // Audit events stop reaching the SIEM.
    ("AuditLog.StreamDisabledByUser", Severity::High),
    ("AuditLog.StreamDeleted", Severity::High),
    ("AuditLog.StreamDisabledBySystem", Severity::Medium),
    ("AuditLog.StreamModified", Severity::Low),
    ("OrganizationPolicy.EnforcePolicyRemoved", Severity::Medium),
    ("Organization.UnlinkFromAAD", Severity::Medium),
];

/// `OrganizationPolicy.PolicyValueUpdated` values that weaken the organization
/// (`data.PolicyName`, `data.PolicyValue`; policy names as Microsoft Sentinel's Azure DevOps
/// queries match them).
const WEAKENING_POLICIES: &[(&str, &str, Severity)] = &[
    // Audit logging off: nothing is audited from now on.
    ("Policy.LogAuditEvents", "off", Severity::High),
    // Public projects allowed.
    ("Policy.AllowAnonymousAccess", "on", Severity::High),
    ("Policy.EnforceAADConditionalAccess", "off", Severity::High),
    ("Policy.DisallowAadGuestUserAccess", "off", Severity::Medium),
];

/// The severity of an entry: [`SEVERITY`], [`WEAKENING_POLICIES`], else Informational.
fn severity(entry: &AuditEntry) -> Severity {
    let action = entry.action_id.as_deref().unwrap_or_default();
    if let Some((_, severity)) = SEVERITY.iter().find(|(a, _)| a.eq_ignore_ascii_case(action)) {
        return *severity;
    }
    if action.eq_ignore_ascii_case("OrganizationPolicy.PolicyValueUpdated") {
        let name = entry.data_text("PolicyName").unwrap_or_default();
        let value = match entry.data_text("PolicyValue").unwrap_or_default().to_ascii_lowercase().as_str() {
            "true" => "on".to_owned(),
            "false" => "off".to_owned(),
            other => other.to_owned(),
        };
        if let Some((_, _, severity)) =
            WEAKENING_POLICIES.iter().find(|(n, v, _)| n.eq_ignore_ascii_case(&name) && *v == value)
        {
            return *severity;
        }
    }
    Severity::Informational
}

/// Maps one audit entry to an OCSF event; `raw` is its JSON text (for `INCLUDE_RAW`).
pub(crate) fn map_entry(
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
        Some(Outcome::Allowed) => Status::Success,
        None => Status::Unknown,
    });
    event.set_severity(severity(entry));

    let actor = actor(entry);
    let system_actor = is_system(&actor);
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
    if !actor.is_empty() {
        event.actor = Some(actor);
    }
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
            event.group = group(entry);
            event.user = target_user(entry);
            event.resource = scope_resources(entry).into_iter().next_back();
            scope_used = entry.project_id.is_none() && entry.project_name.is_none();
        }
        Family::Token => {
            // Only entries that name the owner are Account Change: the actor is not the owner.
            event.user = token_owner(entry).map(|mut user| {
                user.credential_uid = entry.data_text("AuthorizationId");
                user
            });
        }
        Family::Security(_) => {
            event.privileges = permission_names(entry);
            event.user = subject(entry);
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
            event.entity = entity(entry, kind);
            data_used = true;
        }
        Family::Scope(_) => event.entity = Some(scope_entity(entry)),
        Family::Api(_) => {
            // `api_or_scope` chose API Activity only for entries with an `actionId`.
            let mut api = Api::new(entry.action_id.clone().unwrap_or_default());
            api.service = entry.area.clone().map(Service::named);
            if let (Some(uid), Some(data)) = (entry.activity_id.clone(), raw_json(entry.data.as_ref())) {
                api.request = Some(ApiRequest { uid, data: Some(data) });
                data_used = true;
            }
            event.api = Some(api);
            event.resources = scope_resources(entry);
            scope_used = true;
            if event.src_endpoint.is_none() && system_actor {
                // Service-initiated entries have no address: Azure DevOps, the actor, is the
                // source (`api_or_scope` keeps any other entry without an address out of API
                // Activity).
                event.src_endpoint = Some(NetworkEndpoint {
                    svc_name: Some(PRODUCT.to_owned()),
                    ..NetworkEndpoint::default()
                });
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
    // Azure DevOps' own actor names itself in the UPN or the display name; its entries may carry
    // a service-principal mechanism (`S2S_ServicePrincipal`), but it is the system, not a client.
    let is_system =
        display.as_deref() == Some(SYSTEM_ACTOR) || entry.actor_upn.as_deref() == Some(SYSTEM_ACTOR);
    let user_type = if is_system {
        UserType::System
    } else if entry.is_service_principal() {
        UserType::Service
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
    if entry.is_service_principal() && !is_system {
        actor.app_uid = not_zero(entry.actor_client_id.as_deref()).map(str::to_owned);
    }
    if user.is_identified() {
        actor.user = Some(user);
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
/// `data.GroupName`; `None` when the entry names neither.
fn group(entry: &AuditEntry) -> Option<Group> {
    let group = Group {
        uid: entry.data_text("Updates.0.GroupId").or_else(|| entry.data_text("GroupId")),
        name: entry.data_text("GroupName"),
        ..Group::default()
    };
    (group.uid.is_some() || group.name.is_some()).then_some(group)
}

/// The items of `data.EventSummary` that are objects (the per-permission lines of a bulk
/// permission change).
fn summary_items(entry: &AuditEntry) -> Vec<&serde_json::Map<String, Value>> {
    match entry.data_value("EventSummary") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// A text member of an `EventSummary` item, its key matched case-insensitively.
fn item_text(item: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    item.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The permissions a `Security.*` entry changes: every `data.EventSummary[].PermissionNames`
/// (a name, or an array of names), else `data.ChangedPermission`; in order, without repeats.
fn permission_names(entry: &AuditEntry) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in summary_items(entry) {
        match item.iter().find(|(k, _)| k.eq_ignore_ascii_case("PermissionNames")).map(|(_, v)| v) {
            Some(Value::String(name)) if !name.is_empty() => names.push(name.clone()),
            Some(Value::Array(list)) => names
                .extend(list.iter().filter_map(Value::as_str).filter(|n| !n.is_empty()).map(str::to_owned)),
            _ => {}
        }
    }
    if names.is_empty() {
        names.extend(entry.data_text("ChangedPermission"));
    }
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// Whom a `Security.*` entry's permissions are for: `data.SubjectDisplayName` (name) with
/// `data.SubjectDescriptor` (uid), else the member or target user; never the actor.
fn subject(entry: &AuditEntry) -> Option<User> {
    let user = User {
        name: entry.data_text("SubjectDisplayName"),
        uid: entry.data_text("SubjectDescriptor"),
        ..User::default()
    };
    if user.is_identified() {
        Some(user)
    } else {
        target_user(entry)
    }
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
            // A numeric `scopeType` (stream exports) is not the spec's enum order: left out.
            type_: match entry.scope_type.as_deref() {
                None => Some("organization".to_owned()),
                Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => None,
                Some(t) => Some(t.to_owned()),
            },
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

/// The managed entity: its id and name from the kind's `data` members (else `data.DisplayName`;
/// a project's from `projectId`/`projectName`, an organization's id from `scopeId`), and `data`
/// itself; `None` when the entry names neither id nor name.
fn entity(entry: &AuditEntry, kind: EntityKind) -> Option<ManagedEntity> {
    let first = |keys: &[&str]| keys.iter().find_map(|k| entry.data_text(k));
    let mut uid = first(kind.uid_keys);
    let mut name = first(kind.name_keys).or_else(|| entry.data_text("DisplayName"));
    if kind.prefix == "Project" {
        uid = uid.or_else(|| entry.project_id.clone());
        name = name.or_else(|| entry.project_name.clone());
    }
    if kind.prefix == "Organization" {
        // The organization is the entry's scope.
        uid = uid.or_else(|| entry.scope_id.clone());
    }
    if uid.is_none() && name.is_none() {
        return None;
    }
    Some(ManagedEntity {
        uid,
        name,
        type_id: Some(kind.type_id),
        type_: Some(kind.type_name.to_owned()),
        data: raw_json(entry.data.as_ref()),
        ..ManagedEntity::default()
    })
}

/// The entity of an entry API Activity cannot hold: the project it names, else its scope (the
/// organization, or what `scopeType` says it is), else its `area`, else Azure DevOps itself (an
/// entry that names nothing is still about the service that logged it).
fn scope_entity(entry: &AuditEntry) -> ManagedEntity {
    let (uid, name, type_id, type_) = if entry.project_id.is_some() || entry.project_name.is_some() {
        (entry.project_id.clone(), entry.project_name.clone(), EntityType::Other, Some("Project"))
    } else if entry.scope_id.is_some() || entry.scope_display_name.is_some() {
        // As for `scope_resources`: no `scopeType` is the organization; a numeric one is unknown.
        let (type_id, type_) = match entry.scope_type.as_deref() {
            None => (EntityType::Organization, Some("Organization")),
            Some(t) if t.eq_ignore_ascii_case("organization") => (EntityType::Organization, Some(t)),
            Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => (EntityType::Other, None),
            Some(t) => (EntityType::Other, Some(t)),
        };
        (entry.scope_id.clone(), entry.scope_display_name.clone(), type_id, type_)
    } else if let Some(area) = &entry.area {
        (None, Some(area.clone()), EntityType::Other, Some("Area"))
    } else {
        (None, Some(PRODUCT.to_owned()), EntityType::Other, Some("Service"))
    };
    ManagedEntity {
        uid,
        name,
        type_id: Some(type_id),
        type_: type_.map(str::to_owned),
        ..ManagedEntity::default()
    }
}

/// `data` as verbatim JSON, when it is an object or array.
fn raw_json(data: Option<&Value>) -> Option<RawJson> {
    data.filter(|d| d.is_object() || d.is_array()).and_then(|d| serde_json::value::to_raw_value(d).ok())
}

#[cfg(test)]
mod tests;
