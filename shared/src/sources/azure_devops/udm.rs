//! Azure DevOps audit entry → Google SecOps UDM, field for field as SecOps' own parser for log type
//! `AZURE_DEVOPS` maps it (docs/reference/azure-devops-udm-mapping.md; the implementation
//! status of every row, and the decisions where the published table is silent, are in
//! docs/mappings/azure-devops.md). Pure: no I/O.
//!
//! Input: an [`AuditEntry`] and its [`Shape`] (an item of an Azure Monitor `records` export takes
//! `metadata.product_log_id` from `ActivityId`). Field names are matched case-insensitively, so
//! the REST (camelCase), export and Log Analytics (PascalCase) shapes give the same UDM.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::mapping::{is_email, PRODUCT, SYSTEM_ACTOR, VENDOR};
use super::record::{AuditEntry, Outcome, Shape};
use crate::timestamp::{format_rfc3339_ms, parse_rfc3339_ms};
use crate::udm::{get, push_additional, push_label, set, text_of, EventType};

/// `metadata.log_type`.
pub(crate) const LOG_TYPE: &str = "AZURE_DEVOPS";

const RESOURCE_LABELS: &str = "target.resource.attribute.labels";
const PRINCIPAL_LABELS: &str = "principal.resource.attribute.labels";

/// `Data.*` members copied to `additional` as `(member, key)`.
const DATA_ADDITIONAL: &[(&str, &str)] = &[
    ("CallerProcedure", "CallerProcedure"),
    ("CheckSuiteId", "CheckSuiteId"),
    ("CheckSuiteStatus", "CheckSuiteStatus"),
    ("ConnectionId", "ConnectionId"),
    ("ConnectionName", "ConnectionName"),
    ("ConnectionType", "ConnectionType"),
    ("DefinitionId", "DefinitionId"),
    ("DeploymentResult", "DeploymentResult"),
    ("EndpointIdList", "EndpointIdList"),
    ("EnvironmentName", "EnvironmentName"),
    ("FinishTime", "FinishTime"),
    ("JobName", "JobName"),
    ("ownerDetails", "OwnerDetails"),
    ("OwnerId", "OwnerId"),
    ("PlanType", "PlanType"),
    ("Reason", "Reason"),
    ("ReleaseId", "ReleaseId"),
    ("ReleaseName", "ReleaseName"),
    ("RequesterId", "RequesterId"),
    ("RetentionLeaseId", "RetentionLeaseId"),
    ("RetentionOwnerId", "RetentionOwnerId"),
    ("RunName", "RunName"),
    ("StageName", "StageName"),
    ("StartTime", "StartTime"),
];

/// `Data.*` members copied to `target.resource.attribute.labels` as `(member path, key)`.
const DATA_LABELS: &[(&str, &str)] = &[
    ("AccessLevel", "AccessLevel"),
    ("Filter.continuationToken", "continuation_token"),
    ("Filter.endTime", "filter_end_time"),
    ("Filter.startTime", "filter_start_time"),
    ("PipelineRevision", "PipelineRevision"),
    ("PipelineScope", "PipelineScope"),
    ("PreviousAccessLevel", "PreviousAccessLevel"),
    ("PublisherName", "PublisherName"),
    ("Scopes", "Scopes"),
    ("TokenType", "TokenType"),
    ("ValidFrom", "ValidFrom"),
    ("ValidTo", "ValidTo"),
];

/// Top-level members copied to `additional` under their own name (the parser's table lists these
/// weather-like keys; they are carried when present), plus `Conditions`.
const TOP_ADDITIONAL: &[&str] = &[
    "Conditions",
    "DewPoint",
    "Humidity",
    "Icon",
    "MoonPhase",
    "Moonrise",
    "Moonset",
    "Precipitation",
    "Pressure",
    "Sunrise",
    "Sunset",
    "Temperature",
    "UVIndex",
    "Visibility",
    "WindDirection",
    "WindSpeed",
];

/// The target resource by the id present, first wins: `(id member, resource_type, subtype)`.
const RESOURCE_IDS: &[(&str, &str, &str)] = &[
    ("PipelineId", "SETTING", "Pipeline"),
    ("AuthorizationId", "CREDENTIAL", "Token"),
    ("AgentId", "DEVICE", "Agent"),
    ("NamespaceId", "DATABASE", "Namespace"),
];

/// The target resource's name, first present wins.
const RESOURCE_NAMES: &[&str] = &["PipelineName", "NamespaceName", "DisplayName", "AgentName"];

/// The UDM event of one audit entry.
pub fn to_udm(entry: &AuditEntry, shape: Shape) -> Value {
    let mut u = json!({});
    let extra = |key: &str| entry.extra(key).and_then(text_of).filter(|t| !t.is_empty());

    // metadata
    let log_id = match shape {
        Shape::Records => entry.activity_id.clone().or_else(|| entry.id.clone()),
        Shape::Entry => entry.id.clone(),
    };
    set(&mut u, "metadata.product_log_id", log_id);
    set(&mut u, "metadata.product_event_type", entry.action_id.clone());
    set(&mut u, "metadata.description", entry.details.clone());
    set(&mut u, "metadata.vendor_name", VENDOR);
    set(&mut u, "metadata.product_name", PRODUCT);
    set(&mut u, "metadata.log_type", LOG_TYPE);
    set(&mut u, "metadata.product_deployment_id", extra("TenantId"));
    let time = [entry.data_text("Timestamp"), extra("TimeGenerated"), entry.timestamp.clone()]
        .into_iter()
        .flatten()
        .find_map(|t| parse_rfc3339_ms(&t));
    set(&mut u, "metadata.event_timestamp", time.map(format_rfc3339_ms));

    // principal
    match entry.actor_display_name.as_deref() {
        Some(SYSTEM_ACTOR) => push_label(&mut u, PRINCIPAL_LABELS, "ActorDisplayName", SYSTEM_ACTOR),
        display => set(&mut u, "principal.user.user_display_name", display.map(str::to_owned)),
    }
    if let Some(upn) = entry.actor_upn.as_deref().filter(|u| is_email(u)) {
        set(&mut u, "principal.user.email_addresses", json!([upn]));
    }
    set(&mut u, "principal.user.userid", entry.actor_user_id.clone());
    let service = entry.authentication_mechanism.as_deref().is_some_and(|m| m.contains("ServicePrincipal"));
    set(
        &mut u,
        "principal.user.account_type",
        if service { "SERVICE_ACCOUNT_TYPE" } else { "CLOUD_ACCOUNT_TYPE" },
    );
    if let Some(ip) = entry.ip_address.as_deref().and_then(|ip| ip.trim().parse::<IpAddr>().ok()) {
        set(&mut u, "principal.ip", json!([ip.to_string()]));
    }
    set(&mut u, "principal.location.city", extra("City"));
    set(&mut u, "principal.location.country_or_region", extra("Country"));

    // additional
    push_additional(&mut u, "Actor CUID", entry.actor_cuid.as_deref().unwrap_or_default());
    for (member, key) in DATA_ADDITIONAL {
        if let Some(text) = entry.data_value(member).and_then(text_of) {
            push_additional(&mut u, key, &text);
        }
    }
    for key in TOP_ADDITIONAL {
        push_additional(&mut u, key, &extra(key).unwrap_or_default());
    }
    push_additional(&mut u, "ScopeType", entry.scope_type.as_deref().unwrap_or_default());
    push_additional(&mut u, "TenantId", &extra("TenantId").unwrap_or_default());
    push_additional(
        &mut u,
        "workspace_resource_id",
        &extra("_Internal_WorkspaceResourceId").unwrap_or_default(),
    );

    // target
    set(&mut u, "target.application", entry.area.as_deref().map(|area| format!("DevOps {area}")));
    let id = RESOURCE_IDS
        .iter()
        .find_map(|(member, kind, sub)| entry.data_text(member).map(|id| (id, *kind, *sub)));
    match id {
        Some((id, kind, sub)) => {
            set(&mut u, "target.resource.product_object_id", id);
            set(&mut u, "target.resource.resource_type", kind);
            set(&mut u, "target.resource.resource_subtype", sub);
        }
        None if is_storage_operation(entry.action_id.as_deref().unwrap_or_default()) => {
            set(&mut u, "target.resource.resource_type", "STORAGE_BUCKET");
        }
        None => {}
    }
    set(&mut u, "target.resource.name", RESOURCE_NAMES.iter().find_map(|m| entry.data_text(m)));
    for (member, key) in DATA_LABELS {
        if let Some(text) = entry.data_value(member).and_then(text_of) {
            push_label(&mut u, RESOURCE_LABELS, key, &text);
        }
    }
    push_label(&mut u, RESOURCE_LABELS, "ProjectName", entry.project_name.as_deref().unwrap_or_default());
    let mut ancestors = Vec::new();
    if entry.project_id.is_some() || entry.project_name.is_some() {
        let mut project = json!({"resource_type": "CLOUD_PROJECT"});
        set(&mut project, "product_object_id", entry.project_id.clone());
        set(&mut project, "name", entry.project_name.clone());
        ancestors.push(project);
    }
    if entry.scope_id.is_some() || entry.scope_display_name.is_some() {
        let mut organization = json!({"resource_type": "CLOUD_ORGANIZATION"});
        set(&mut organization, "product_object_id", entry.scope_id.clone());
        set(&mut organization, "name", entry.scope_display_name.clone());
        ancestors.push(organization);
    }
    set(&mut u, "target.resource_ancestors", Value::Array(ancestors));
    set(
        &mut u,
        "target.group.product_object_id",
        entry.data_text("Updates.0.GroupId").or_else(|| entry.data_text("GroupId")),
    );
    set(&mut u, "target.group.group_display_name", entry.data_text("GroupName"));
    set(
        &mut u,
        "target.user.userid",
        entry
            .data_text("Updates.0.MemberId")
            .or_else(|| entry.data_text("MemberId"))
            .or_else(|| entry.data_text("TargetUser")),
    );
    set(&mut u, "target.user.user_display_name", entry.data_text("MemberDisplayName"));
    set(&mut u, "target.location.name", extra("RoleLocation"));
    set(&mut u, "target.asset.attribute.cloud.environment", "MICROSOFT_AZURE");

    // authentication and security result
    let mut result = json!({});
    if let Some(mechanism) = entry.authentication_mechanism.as_deref() {
        let (summary, rule_id) = parse_mechanism(mechanism);
        set(&mut u, "extensions.auth.auth_details", mechanism.trim());
        if summary == "UserAuthToken" {
            set(&mut u, "extensions.auth.mechanism", json!(["USERNAME_PASSWORD"]));
        }
        set(&mut result, "rule_id", rule_id);
    }
    set(&mut result, "action_details", entry.category_display_name.clone());
    match entry.outcome() {
        Some(Outcome::Allowed) => set(&mut result, "action", json!(["ALLOW"])),
        Some(Outcome::Blocked) => set(&mut result, "action", json!(["BLOCK"])),
        None => {}
    }
    if result.as_object().is_some_and(|r| !r.is_empty()) {
        set(&mut u, "security_result", json!([result]));
    }

    // network
    if let Some(agent) = entry.user_agent.as_deref() {
        set(&mut u, "network.http.user_agent", agent);
        set(&mut u, "network.http.parsed_user_agent", parse_user_agent(agent));
    }

    let kind = event_type(entry, &u).checked(&u);
    set(&mut u, "metadata.event_type", kind.as_str());
    u
}

/// `metadata.event_type` from the action and category (before the required-field check):
/// group changes → `GROUP_MODIFICATION`; an audit stream disabled → `STATUS_SHUTDOWN`; category
/// `execute` → `STATUS_UPDATE`, `create` → `RESOURCE_CREATION`, `access` → `RESOURCE_READ`,
/// `modify` → `RESOURCE_WRITTEN`, `remove` → `USER_RESOURCE_DELETION` for a user's token or SSH key,
/// else `RESOURCE_DELETION`; anything else `GENERIC_EVENT`.
fn event_type(entry: &AuditEntry, udm: &Value) -> EventType {
    let action = entry.action_id.as_deref().unwrap_or_default();
    let category = entry.category.as_deref().unwrap_or_default().to_ascii_lowercase();
    if action.starts_with("Group.") {
        return EventType::GroupModification;
    }
    if action.starts_with("AuditLog.Stream") && action.contains("Disabled") {
        return EventType::StatusShutdown;
    }
    match category.as_str() {
        "execute" => EventType::StatusUpdate,
        "create" => EventType::ResourceCreation,
        "access" => EventType::ResourceRead,
        "modify" => EventType::ResourceWritten,
        "remove" if action.starts_with("Token.") && get(udm, "principal.user.userid").is_some() => {
            EventType::UserResourceDeletion
        }
        "remove" => EventType::ResourceDeletion,
        _ => EventType::Generic,
    }
}

/// Operations on storage-like resources (Artifacts feeds, Git repositories), which the parser
/// types `STORAGE_BUCKET` when no more specific id is present.
fn is_storage_operation(action: &str) -> bool {
    action.starts_with("Artifacts.Feed") || (action.starts_with("Git.") && action.contains("Repo"))
}

/// `authenticationMechanism` (`PAT_Unscoped AuthorizationId: 0a7c…`, `UserAuthToken ClientId: …`,
/// `AAD_Cookie`): its summary (the first word) and the id after `AuthorizationId:` or `ClientId:`.
fn parse_mechanism(text: &str) -> (&str, Option<String>) {
    let text = text.trim();
    let summary = text.split(|c: char| c.is_whitespace() || c == '(' || c == ',').next().unwrap_or_default();
    let rule_id = ["AuthorizationId:", "ClientId:"].iter().find_map(|key| {
        let at = text.find(key)? + key.len();
        let id: String = text[at..]
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ';' | ')'))
            .collect();
        (!id.is_empty()).then_some(id)
    });
    (summary, rule_id)
}

/// `network.http.parsed_user_agent`: engine family, platform and OS from the first parenthesized
/// group, browser and version. A user agent that is not a browser's (`Mozilla/…`) is `OTHER`.
fn parse_user_agent(agent: &str) -> Value {
    let version_after = |token: &str| -> Option<String> {
        let at = agent.find(token)? + token.len();
        let version: String =
            agent[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
        (!version.is_empty()).then_some(version)
    };
    let mut parsed = json!({});
    if !agent.starts_with("Mozilla/") {
        set(&mut parsed, "family", "OTHER");
        return parsed;
    }
    let (family, sub_family, engine) = if agent.contains("AppleWebKit/") {
        ("APPLEWEBKIT", Some("AppleWebKit"), version_after("AppleWebKit/"))
    } else if agent.contains("Trident/") || agent.contains("MSIE ") {
        ("MSIE", None, version_after("Trident/"))
    } else if agent.contains("Gecko/") {
        ("GECKO", Some("Gecko"), version_after("rv:"))
    } else {
        ("OTHER", None, None)
    };
    set(&mut parsed, "family", family);
    set(&mut parsed, "sub_family", sub_family);
    let system = agent.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(inside, _)| inside);
    if let Some(system) = system {
        let parts: Vec<&str> = system.split(';').map(str::trim).collect();
        let find = |needle: &str| parts.iter().find(|p| p.contains(needle)).map(|p| (*p).to_owned());
        let (platform, os) = if let Some(os) = find("Windows") {
            ("Windows", Some(os))
        } else if let Some(os) = find("Android") {
            ("Android", Some(os))
        } else if parts.iter().any(|p| *p == "iPhone" || *p == "iPad") {
            ("iOS", find("OS "))
        } else if let Some(os) = find("Mac OS X") {
            ("Mac", Some(os))
        } else if let Some(os) = find("Linux") {
            ("Linux", Some(os))
        } else {
            ("", None)
        };
        set(&mut parsed, "platform", platform);
        set(&mut parsed, "os", os);
    }
    let browser = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome")]
        .iter()
        .find_map(|(token, name)| version_after(token).map(|v| (*name, Some(v))))
        .or_else(|| agent.contains("Safari/").then(|| ("Safari", version_after("Version/"))));
    if let Some((name, version)) = browser {
        set(&mut parsed, "browser", name);
        set(&mut parsed, "browser_version", version);
    }
    set(&mut parsed, "browser_engine_version", engine);
    parsed
}

#[cfg(test)]
mod tests;
