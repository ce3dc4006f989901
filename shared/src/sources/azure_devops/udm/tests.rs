//! One test per row of docs/reference/azure-devops-udm-mapping.md: input field → expected
//! UDM path and value (conditional rows also test the condition), then whole fixtures.

use serde_json::{json, Value};

use super::*;
use crate::sources::azure_devops::fixtures;
use crate::sources::azure_devops::record::parse_log;
use crate::udm::label;

/// What one row expects of the UDM event.
enum Expect {
    /// The value at a path.
    Path(&'static str, Value),
    /// A `target.resource.attribute.labels` entry.
    Label(&'static str, &'static str),
    /// A `principal.resource.attribute.labels` entry.
    PrincipalLabel(&'static str, &'static str),
    /// An `additional` field.
    Additional(&'static str, &'static str),
    /// Nothing at a path.
    Absent(&'static str),
}

use Expect::{Absent, Additional, Label, Path, PrincipalLabel};

impl Expect {
    fn check(&self, row: &str, udm: &Value) {
        match self {
            Path(path, value) => assert_eq!(get(udm, path), Some(value), "{row}: {path} in {udm}"),
            Label(key, value) => {
                assert_eq!(label(udm, RESOURCE_LABELS, key), Some(*value), "{row}: label {key} in {udm}")
            }
            PrincipalLabel(key, value) => {
                assert_eq!(
                    label(udm, PRINCIPAL_LABELS, key),
                    Some(*value),
                    "{row}: principal label {key} in {udm}"
                )
            }
            Additional(key, value) => {
                assert_eq!(
                    get(udm, "additional").and_then(|a| a.get(*key)),
                    Some(&json!(value)),
                    "{row}: additional {key} in {udm}"
                )
            }
            Absent(path) => assert_eq!(get(udm, path), None, "{row}: {path} should be absent in {udm}"),
        }
    }
}

/// The UDM of an entry given as JSON (a `timestamp` is added when the entry has no time).
fn udm_of(input: &Value) -> Value {
    let mut input = input.clone();
    let has_time = ["timestamp", "Timestamp", "TimeGenerated"].iter().any(|k| input.get(k).is_some());
    if !has_time {
        input["timestamp"] = json!("2024-11-19T09:12:44.5Z");
    }
    to_udm(&AuditEntry::from_value(input).unwrap(), Shape::Entry)
}

/// One `#[test]` per table row: `name: {entry} => [expectations];`.
macro_rules! rows {
    ($( $name:ident: $input:tt => [ $( $expect:expr ),* $(,)? ]; )*) => {
        $(
            #[test]
            fn $name() {
                let udm = udm_of(&json!($input));
                $( $expect.check(stringify!($name), &udm); )*
            }
        )*
    };
}

rows! {
    id_is_the_product_log_id: {"id": "1;2;3"} => [Path("metadata.product_log_id", json!("1;2;3"))];
    action_id_is_the_product_event_type: {"actionId": "Git.CreateRepo"} => [Path("metadata.product_event_type", json!("Git.CreateRepo"))];
    operation_name_is_the_product_event_type: {"OperationName": "Group.UpdateGroupMembership.Add"} => [Path("metadata.product_event_type", json!("Group.UpdateGroupMembership.Add"))];
    actor_cuid_is_an_additional_field: {"actorCUID": "c-1"} => [Additional("Actor CUID", "c-1")];
    actor_display_name_is_the_principal_display_name: {"actorDisplayName": "Alice Nguyen"} => [
        Path("principal.user.user_display_name", json!("Alice Nguyen")),
        Absent("principal.resource"),
    ];
    system_actor_display_name_is_a_principal_label: {"actorDisplayName": "Azure DevOps Service"} => [
        PrincipalLabel("ActorDisplayName", "Azure DevOps Service"),
        Absent("principal.user.user_display_name"),
    ];
    actor_upn_email_is_the_principal_email: {"actorUPN": "alice@fabrikam.example"} => [Path("principal.user.email_addresses", json!(["alice@fabrikam.example"]))];
    actor_upn_that_is_no_email_is_dropped: {"actorUPN": "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"} => [Absent("principal.user.email_addresses")];
    actor_user_id_is_the_principal_userid: {"actorUserId": "u-1"} => [Path("principal.user.userid", json!("u-1"))];
    area_is_the_target_application: {"area": "Git"} => [Path("target.application", json!("DevOps Git"))];
    authentication_mechanism_gives_auth_details_and_rule_id: {"authenticationMechanism": "PAT_Unscoped AuthorizationId: 0a7c3e5f"} => [
        Path("extensions.auth.auth_details", json!("PAT_Unscoped AuthorizationId: 0a7c3e5f")),
        Path("security_result.0.rule_id", json!("0a7c3e5f")),
        Absent("extensions.auth.mechanism"),
    ];
    authentication_mechanism_client_id_is_the_rule_id: {"authenticationMechanism": "UserAuthToken (ClientId: c-9)"} => [
        Path("security_result.0.rule_id", json!("c-9")),
        Path("extensions.auth.mechanism", json!(["USERNAME_PASSWORD"])),
    ];
    authentication_mechanism_without_id_has_no_rule_id: {"authenticationMechanism": "AAD_Cookie"} => [
        Path("extensions.auth.auth_details", json!("AAD_Cookie")),
        Absent("security_result"),
    ];
    category_display_name_is_the_action_details: {"categoryDisplayName": "Modify"} => [Path("security_result.0.action_details", json!("Modify"))];
    city_is_the_principal_city: {"City": "Redmond"} => [Path("principal.location.city", json!("Redmond"))];
    conditions_is_an_additional_field: {"Conditions": "Cloudy"} => [Additional("Conditions", "Cloudy")];
    country_is_the_principal_country: {"Country": "US"} => [Path("principal.location.country_or_region", json!("US"))];
    data_access_level_is_a_label: {"data": {"AccessLevel": "Basic"}} => [Label("AccessLevel", "Basic")];
    data_agent_id_is_the_resource_when_alone: {"data": {"AgentId": 7}} => [
        Path("target.resource.product_object_id", json!("7")),
        Path("target.resource.resource_type", json!("DEVICE")),
        Path("target.resource.resource_subtype", json!("Agent")),
    ];
    data_agent_id_yields_to_pipeline_and_authorization_ids: {"data": {"AgentId": 7, "AuthorizationId": "a-1"}} => [
        Path("target.resource.product_object_id", json!("a-1")),
        Path("target.resource.resource_type", json!("CREDENTIAL")),
    ];
    data_agent_name_is_the_resource_name_when_alone: {"data": {"AgentName": "agent-01"}} => [Path("target.resource.name", json!("agent-01"))];
    data_agent_name_yields_to_display_name: {"data": {"AgentName": "agent-01", "DisplayName": "Hosted pool"}} => [Path("target.resource.name", json!("Hosted pool"))];
    data_authorization_id_is_the_resource_without_pipeline_id: {"data": {"AuthorizationId": "a-1"}} => [
        Path("target.resource.product_object_id", json!("a-1")),
        Path("target.resource.resource_type", json!("CREDENTIAL")),
        Path("target.resource.resource_subtype", json!("Token")),
    ];
    data_authorization_id_yields_to_pipeline_id: {"data": {"AuthorizationId": "a-1", "PipelineId": 42}} => [
        Path("target.resource.product_object_id", json!("42")),
        Path("target.resource.resource_subtype", json!("Pipeline")),
    ];
    data_caller_procedure_is_additional: {"data": {"CallerProcedure": "prc_X"}} => [Additional("CallerProcedure", "prc_X")];
    data_check_suite_id_is_additional: {"data": {"CheckSuiteId": "cs-1"}} => [Additional("CheckSuiteId", "cs-1")];
    data_check_suite_status_is_additional: {"data": {"CheckSuiteStatus": "Approved"}} => [Additional("CheckSuiteStatus", "Approved")];
    data_connection_id_is_additional: {"data": {"ConnectionId": "sc-1"}} => [Additional("ConnectionId", "sc-1")];
    data_connection_name_is_additional: {"data": {"ConnectionName": "prod"}} => [Additional("ConnectionName", "prod")];
    data_connection_type_is_additional: {"data": {"ConnectionType": "azurerm"}} => [Additional("ConnectionType", "azurerm")];
    data_definition_id_is_additional: {"data": {"DefinitionId": 42}} => [Additional("DefinitionId", "42")];
    data_deployment_result_is_additional: {"data": {"DeploymentResult": "Succeeded"}} => [Additional("DeploymentResult", "Succeeded")];
    data_display_name_is_the_resource_name_without_pipeline_and_namespace_names: {"data": {"DisplayName": "nightly-build"}} => [Path("target.resource.name", json!("nightly-build"))];
    data_display_name_yields_to_namespace_name: {"data": {"DisplayName": "x", "NamespaceName": "Git Repositories"}} => [Path("target.resource.name", json!("Git Repositories"))];
    data_endpoint_id_list_is_additional: {"data": {"EndpointIdList": ["e-1", "e-2"]}} => [Additional("EndpointIdList", "[\"e-1\",\"e-2\"]")];
    data_environment_name_is_additional: {"data": {"EnvironmentName": "production"}} => [Additional("EnvironmentName", "production")];
    data_filter_continuation_token_is_a_label: {"data": {"Filter": {"ContinuationToken": "ct-1"}}} => [Label("continuation_token", "ct-1")];
    data_filter_end_time_is_a_label: {"data": {"Filter": {"endTime": "2024-11-19T00:00:00Z"}}} => [Label("filter_end_time", "2024-11-19T00:00:00Z")];
    data_filter_start_time_is_a_label: {"data": {"Filter": {"StartTime": "2024-11-01T00:00:00Z"}}} => [Label("filter_start_time", "2024-11-01T00:00:00Z")];
    data_finish_time_is_additional: {"data": {"FinishTime": "2024-11-19T13:59:58Z"}} => [Additional("FinishTime", "2024-11-19T13:59:58Z")];
    data_group_id_is_the_target_group_without_updates: {"data": {"GroupId": "g-1"}} => [Path("target.group.product_object_id", json!("g-1"))];
    data_group_id_yields_to_updates_group_id: {"data": {"GroupId": "g-1", "Updates": [{"GroupId": "g-2"}]}} => [Path("target.group.product_object_id", json!("g-2"))];
    data_group_name_is_the_target_group_name: {"data": {"GroupName": "[Fiber]\\Contributors"}} => [Path("target.group.group_display_name", json!("[Fiber]\\Contributors"))];
    data_job_name_is_additional: {"data": {"JobName": "Deploy"}} => [Additional("JobName", "Deploy")];
    data_member_id_is_the_target_user_without_updates: {"data": {"MemberId": "m-1"}} => [Path("target.user.userid", json!("m-1"))];
    data_member_id_yields_to_updates_member_id: {"data": {"MemberId": "m-1", "Updates": [{"MemberId": "m-2"}]}} => [Path("target.user.userid", json!("m-2"))];
    data_member_display_name_is_the_target_user_name: {"data": {"MemberDisplayName": "Bob Martin"}} => [Path("target.user.user_display_name", json!("Bob Martin"))];
    data_namespace_id_is_the_resource_when_alone: {"data": {"NamespaceId": "ns-1"}} => [
        Path("target.resource.product_object_id", json!("ns-1")),
        Path("target.resource.resource_type", json!("DATABASE")),
        Path("target.resource.resource_subtype", json!("Namespace")),
    ];
    data_namespace_id_yields_to_agent_id: {"data": {"NamespaceId": "ns-1", "AgentId": 3}} => [Path("target.resource.product_object_id", json!("3"))];
    data_namespace_name_is_the_resource_name_without_pipeline_name: {"data": {"NamespaceName": "Git Repositories"}} => [Path("target.resource.name", json!("Git Repositories"))];
    data_namespace_name_yields_to_pipeline_name: {"data": {"NamespaceName": "x", "PipelineName": "ci"}} => [Path("target.resource.name", json!("ci"))];
    data_owner_details_is_additional: {"data": {"ownerDetails": {"id": "o-1"}}} => [Additional("OwnerDetails", "{\"id\":\"o-1\"}")];
    data_owner_id_is_additional: {"data": {"OwnerId": "o-1"}} => [Additional("OwnerId", "o-1")];
    data_pipeline_id_is_the_resource: {"data": {"PipelineId": 42}} => [
        Path("target.resource.product_object_id", json!("42")),
        Path("target.resource.resource_type", json!("SETTING")),
        Path("target.resource.resource_subtype", json!("Pipeline")),
    ];
    data_pipeline_name_is_the_resource_name: {"data": {"PipelineName": "payments-api-ci", "DisplayName": "x", "AgentName": "y"}} => [Path("target.resource.name", json!("payments-api-ci"))];
    data_pipeline_revision_is_a_label: {"data": {"PipelineRevision": 7}} => [Label("PipelineRevision", "7")];
    data_pipeline_scope_is_a_label: {"data": {"PipelineScope": "project"}} => [Label("PipelineScope", "project")];
    data_plan_type_is_additional: {"data": {"PlanType": "Build"}} => [Additional("PlanType", "Build")];
    data_previous_access_level_is_a_label: {"data": {"PreviousAccessLevel": "Stakeholder"}} => [Label("PreviousAccessLevel", "Stakeholder")];
    data_publisher_name_is_a_label: {"data": {"PublisherName": "ms"}} => [Label("PublisherName", "ms")];
    data_reason_is_additional: {"data": {"Reason": "Requested"}} => [Additional("Reason", "Requested")];
    data_release_id_is_additional: {"data": {"ReleaseId": 311}} => [Additional("ReleaseId", "311")];
    data_release_name_is_additional: {"data": {"ReleaseName": "Release-311"}} => [Additional("ReleaseName", "Release-311")];
    data_requester_id_is_additional: {"data": {"RequesterId": "r-1"}} => [Additional("RequesterId", "r-1")];
    data_retention_lease_id_is_additional: {"data": {"RetentionLeaseId": 5}} => [Additional("RetentionLeaseId", "5")];
    data_retention_owner_id_is_additional: {"data": {"RetentionOwnerId": "User:u-1"}} => [Additional("RetentionOwnerId", "User:u-1")];
    data_run_name_is_additional: {"data": {"RunName": "20241119.3"}} => [Additional("RunName", "20241119.3")];
    data_scopes_is_a_label: {"data": {"Scopes": "vso.code vso.build"}} => [Label("Scopes", "vso.code vso.build")];
    data_stage_name_is_additional: {"data": {"StageName": "Production"}} => [Additional("StageName", "Production")];
    data_start_time_is_additional: {"data": {"StartTime": "2024-11-19T13:51:02Z"}} => [Additional("StartTime", "2024-11-19T13:51:02Z")];
    data_target_user_is_the_target_userid: {"data": {"TargetUser": "t-1"}} => [Path("target.user.userid", json!("t-1"))];
    data_timestamp_is_the_event_timestamp: {"timestamp": "2024-11-19T09:00:00Z", "data": {"Timestamp": "2024-11-19T08:59:58.1234567+00:00"}} => [
        Path("metadata.event_timestamp", json!("2024-11-19T08:59:58.123Z")),
    ];
    data_token_type_is_a_label: {"data": {"TokenType": "PersonalAccessToken"}} => [Label("TokenType", "PersonalAccessToken")];
    data_updates_group_id_is_the_target_group: {"data": {"Updates": [{"GroupId": "g-2"}]}} => [Path("target.group.product_object_id", json!("g-2"))];
    data_updates_member_id_is_the_target_user: {"data": {"Updates": [{"MemberId": "m-2"}]}} => [Path("target.user.userid", json!("m-2"))];
    data_valid_from_is_a_label: {"data": {"ValidFrom": "2024-11-19T10:00:00Z"}} => [Label("ValidFrom", "2024-11-19T10:00:00Z")];
    data_valid_to_is_a_label: {"data": {"ValidTo": "2025-02-17T10:00:00Z"}} => [Label("ValidTo", "2025-02-17T10:00:00Z")];
    weather_keys_are_additional_fields: {
        "DewPoint": "9", "Humidity": "80", "Icon": "cloudy", "MoonPhase": "0.5", "Moonrise": "18:00", "Moonset": "06:00",
        "Precipitation": "0", "Pressure": "1013", "Sunrise": "07:30", "Sunset": "16:30", "Temperature": 12,
        "UVIndex": "1", "Visibility": "10", "WindDirection": "NW", "WindSpeed": "5"
    } => [
        Additional("DewPoint", "9"), Additional("Humidity", "80"), Additional("Icon", "cloudy"),
        Additional("MoonPhase", "0.5"), Additional("Moonrise", "18:00"), Additional("Moonset", "06:00"),
        Additional("Precipitation", "0"), Additional("Pressure", "1013"), Additional("Sunrise", "07:30"),
        Additional("Sunset", "16:30"), Additional("Temperature", "12"), Additional("UVIndex", "1"),
        Additional("Visibility", "10"), Additional("WindDirection", "NW"), Additional("WindSpeed", "5"),
    ];
    details_is_the_description: {"details": "Created repository payments-api"} => [Path("metadata.description", json!("Created repository payments-api"))];
    ip_address_is_the_principal_ip: {"ipAddress": "203.0.113.24"} => [Path("principal.ip", json!(["203.0.113.24"]))];
    ip_address_that_is_no_address_is_dropped: {"ipAddress": "unknown"} => [Absent("principal.ip")];
    project_id_is_a_cloud_project_ancestor: {"projectId": "p-1"} => [Path("target.resource_ancestors", json!([{"resource_type": "CLOUD_PROJECT", "product_object_id": "p-1"}]))];
    project_name_is_an_ancestor_and_a_label: {"projectName": "Fiber"} => [
        Path("target.resource_ancestors", json!([{"resource_type": "CLOUD_PROJECT", "name": "Fiber"}])),
        Label("ProjectName", "Fiber"),
    ];
    role_location_is_the_target_location: {"RoleLocation": "West Europe"} => [Path("target.location.name", json!("West Europe"))];
    scope_display_name_is_a_cloud_organization_ancestor: {"scopeDisplayName": "fabrikam (Organization)"} => [
        Path("target.resource_ancestors", json!([{"resource_type": "CLOUD_ORGANIZATION", "name": "fabrikam (Organization)"}])),
    ];
    scope_id_is_a_cloud_organization_ancestor: {"scopeId": "o-1", "projectId": "p-1"} => [
        Path("target.resource_ancestors.1", json!({"resource_type": "CLOUD_ORGANIZATION", "product_object_id": "o-1"})),
    ];
    scope_type_is_additional: {"scopeType": "organization"} => [Additional("ScopeType", "organization")];
    tenant_id_is_the_deployment_id_and_additional: {"TenantId": "t-9"} => [
        Path("metadata.product_deployment_id", json!("t-9")),
        Additional("TenantId", "t-9"),
    ];
    time_generated_is_the_event_timestamp: {"TimeGenerated": "2024-11-19T21:00:05Z"} => [Path("metadata.event_timestamp", json!("2024-11-19T21:00:05Z"))];
    timestamp_is_the_event_timestamp_otherwise: {"timestamp": "2019-03-05T14:00:35.5034419+00:00"} => [Path("metadata.event_timestamp", json!("2019-03-05T14:00:35.503Z"))];
    user_agent_is_kept_and_parsed: {"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87"} => [
        Path("network.http.user_agent", json!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87")),
        Path("network.http.parsed_user_agent", json!({
            "family": "APPLEWEBKIT", "sub_family": "AppleWebKit", "platform": "Windows", "os": "Windows NT 10.0",
            "browser": "Edge", "browser_version": "126.0.2592.87", "browser_engine_version": "537.36"
        })),
    ];
    user_agent_of_a_tool_is_other: {"userAgent": "VSServices/19.243.35410.2 (NetStandard; Linux 6.8.0)"} => [
        Path("network.http.parsed_user_agent", json!({"family": "OTHER"})),
    ];
    workspace_resource_id_is_additional: {"_Internal_WorkspaceResourceId": "/subscriptions/s/workspaces/w"} => [Additional("workspace_resource_id", "/subscriptions/s/workspaces/w")];
    vendor_product_and_log_type_are_fixed: {} => [
        Path("metadata.vendor_name", json!("Microsoft")),
        Path("metadata.product_name", json!("Azure DevOps")),
        Path("metadata.log_type", json!("AZURE_DEVOPS")),
        Path("target.asset.attribute.cloud.environment", json!("MICROSOFT_AZURE")),
    ];
    account_type_is_cloud_for_users: {"authenticationMechanism": "AAD_Cookie"} => [Path("principal.user.account_type", json!("CLOUD_ACCOUNT_TYPE"))];
    account_type_is_service_for_service_principals: {"authenticationMechanism": "S2S_ServicePrincipal"} => [Path("principal.user.account_type", json!("SERVICE_ACCOUNT_TYPE"))];
    action_is_allow_when_the_operation_succeeded: {"details": "Pipeline ci was updated"} => [Path("security_result.0.action", json!(["ALLOW"]))];
    action_is_block_when_the_operation_failed: {"data": {"DeploymentResult": "Failed"}} => [Path("security_result.0.action", json!(["BLOCK"]))];
    action_is_unset_when_nothing_says: {"details": "Accessed the audit log 3 times"} => [Absent("security_result")];
    resource_type_is_storage_bucket_for_repository_operations: {"actionId": "Git.CreateRepo", "data": {"RepoName": "r"}} => [
        Path("target.resource.resource_type", json!("STORAGE_BUCKET")),
        Absent("target.resource.resource_subtype"),
    ];
    resource_type_is_unset_for_other_operations: {"actionId": "Project.CreateCompleted"} => [Absent("target.resource.resource_type")];
    event_type_group_modification: {"actionId": "Group.UpdateGroupMembership.Add", "category": "modify", "actorUserId": "u", "data": {"GroupName": "g"}} => [Path("metadata.event_type", json!("GROUP_MODIFICATION"))];
    event_type_status_shutdown: {"actionId": "AuditLog.StreamDisabledByUser", "category": "modify", "ipAddress": "203.0.113.24"} => [Path("metadata.event_type", json!("STATUS_SHUTDOWN"))];
    event_type_status_update: {"actionId": "Release.DeploymentCompleted", "category": "execute", "ipAddress": "203.0.113.24"} => [Path("metadata.event_type", json!("STATUS_UPDATE"))];
    event_type_status_update_needs_a_machine: {"actionId": "Release.DeploymentCompleted", "category": "execute", "actorUserId": "u"} => [Path("metadata.event_type", json!("GENERIC_EVENT"))];
    event_type_resource_creation: {"actionId": "Git.CreateRepo", "category": "create", "actorUserId": "u"} => [Path("metadata.event_type", json!("RESOURCE_CREATION"))];
    event_type_resource_read: {"actionId": "AuditLog.AccessLog", "category": "access", "actorUserId": "u"} => [Path("metadata.event_type", json!("RESOURCE_READ"))];
    event_type_resource_written: {"actionId": "Policy.PolicyConfigModified", "category": "modify", "actorUserId": "u"} => [Path("metadata.event_type", json!("RESOURCE_WRITTEN"))];
    event_type_resource_deletion: {"actionId": "Git.DeleteRepo", "category": "remove", "actorUserId": "u"} => [Path("metadata.event_type", json!("RESOURCE_DELETION"))];
    event_type_user_resource_deletion: {"actionId": "Token.PatRevokeEvent", "category": "remove", "actorUserId": "u", "data": {"AuthorizationId": "a"}} => [Path("metadata.event_type", json!("USER_RESOURCE_DELETION"))];
    event_type_generic_otherwise: {"actionId": "Something.Else", "category": "unknown", "actorUserId": "u"} => [Path("metadata.event_type", json!("GENERIC_EVENT"))];
    event_type_generic_without_principal: {"actionId": "Git.CreateRepo", "category": "create"} => [Path("metadata.event_type", json!("GENERIC_EVENT"))];
}

#[test]
fn activity_id_is_the_product_log_id_of_records_items() {
    let text = fixtures::text("azure_monitor_records.json");
    let entries = parse_log(&text).unwrap();
    let udm = to_udm(&entries[0].0, entries[0].1);
    assert_eq!(get(&udm, "metadata.product_log_id"), Some(&json!("6f3e9c1a-4b5d-4a7f-8c8d-9e0f1a2b3c4d")));
    assert_eq!(
        get(&udm, "metadata.product_deployment_id"),
        Some(&json!("4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"))
    );
    assert_eq!(get(&udm, "metadata.product_event_type"), Some(&json!("Licensing.Modified")));
    assert_eq!(get(&udm, "target.user.userid"), Some(&json!("5be3c1d2-7a8b-4c9d-8e0f-1a2b3c4d5e6f")));
    assert_eq!(label(&udm, RESOURCE_LABELS, "AccessLevel"), Some("Basic"));
    assert_eq!(label(&udm, RESOURCE_LABELS, "PreviousAccessLevel"), Some("Stakeholder"));
    // The same entry outside a `records` export keeps its own id.
    let direct = to_udm(&entries[0].0, Shape::Entry);
    assert_eq!(
        get(&direct, "metadata.product_log_id"),
        Some(&json!(
            "2518900000000000017;9c2a4f7e-51d3-4c2b-8e0f-3b6a1d2e4f50;e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a17"
        ))
    );
}

#[test]
fn camel_and_pascal_case_entries_give_the_same_udm() {
    let camel = json!({"id": "i", "actionId": "Git.CreateRepo", "actorUPN": "a@b.example", "area": "Git",
        "category": "create", "timestamp": "2024-11-19T09:00:00Z", "data": {"PipelineId": 1, "GroupName": "g"}});
    let pascal = json!({"Id": "i", "ActionId": "Git.CreateRepo", "ActorUPN": "a@b.example", "Area": "Git",
        "Category": "Create", "Timestamp": "2024-11-19T09:00:00Z", "Data": {"pipelineId": 1, "groupName": "g"}});
    assert_eq!(udm_of(&camel), udm_of(&pascal));
}

#[test]
fn spec_example_entries_map_field_by_field() {
    let page = crate::sources::azure_devops::record::AuditLogPage::parse(&fixtures::spec_body()).unwrap();
    let project = udm_of(&page.entries[1]);
    let expected = json!({
        "metadata": {
            "product_log_id": "2518505063644965580;00000002-0000-8888-8000-000000000000;198b13cf-5201-48e8-acef-0d8bb2d9e815",
            "product_event_type": "Project.CreateCompleted",
            "description": "fabrikam-fiber-git project was created successfully",
            "vendor_name": "Microsoft",
            "product_name": "Azure DevOps",
            "log_type": "AZURE_DEVOPS",
            "event_timestamp": "2019-03-05T14:00:35.503Z",
            "event_type": "RESOURCE_CREATION"
        },
        "principal": {
            "resource": {"attribute": {"labels": [{"key": "ActorDisplayName", "value": "Azure DevOps Service"}]}},
            "user": {"userid": "00000002-0000-8888-8000-000000000000", "account_type": "CLOUD_ACCOUNT_TYPE"}
        },
        "additional": {"Actor CUID": "00000000-0000-0000-0000-000000000000", "ScopeType": "organization"},
        "target": {
            "application": "DevOps Project",
            "resource_ancestors": [{
                "resource_type": "CLOUD_ORGANIZATION",
                "product_object_id": "73638cd5-0dda-4128-9fd6-48c16d4e4de3",
                "name": "fabrikam (Organization)"
            }],
            "asset": {"attribute": {"cloud": {"environment": "MICROSOFT_AZURE"}}}
        },
        "security_result": [{"action_details": "Create", "action": ["ALLOW"]}]
    });
    assert_eq!(project, expected);

    let access = udm_of(&page.entries[0]);
    assert_eq!(label(&access, RESOURCE_LABELS, "filter_start_time"), Some("2019-03-04T14:05:59.928Z"));
    assert_eq!(label(&access, RESOURCE_LABELS, "filter_end_time"), Some("2019-03-05T14:05:59.928Z"));
    assert_eq!(label(&access, RESOURCE_LABELS, "continuation_token"), None, "null is not a label");
    assert_eq!(get(&access, "metadata.event_type"), Some(&json!("RESOURCE_READ")));
    assert_eq!(get(&access, "principal.user.user_display_name"), Some(&json!("Norman Paulk")));
    assert_eq!(get(&access, "extensions.auth.auth_details"), Some(&json!("FedAuth")));
}

#[test]
fn every_fixture_maps_to_udm_with_the_required_metadata() {
    for (name, text) in fixtures::FILES {
        for (entry, shape) in parse_log(text).unwrap() {
            let udm = to_udm(&entry, shape);
            for path in [
                "metadata.event_type",
                "metadata.event_timestamp",
                "metadata.product_log_id",
                "metadata.product_event_type",
            ] {
                assert!(get(&udm, path).is_some(), "{name}: {path} in {udm}");
            }
        }
    }
    let cases = [
        ("group_membership_add.json", "GROUP_MODIFICATION"),
        ("pat_created.json", "RESOURCE_CREATION"),
        ("ssh_key_revoked.json", "USER_RESOURCE_DELETION"),
        ("release_deployment_failed.json", "STATUS_UPDATE"),
        ("audit_log_download.json", "RESOURCE_READ"),
        ("service_principal_variable_group.json", "RESOURCE_WRITTEN"),
        ("pascal_case_check_timed_out.json", "STATUS_UPDATE"),
    ];
    for (name, event_type) in cases {
        let udm = udm_of(&fixtures::load(name));
        assert_eq!(get(&udm, "metadata.event_type"), Some(&json!(event_type)), "{name}");
    }
    let sp = udm_of(&fixtures::load("service_principal_variable_group.json"));
    assert_eq!(get(&sp, "principal.user.account_type"), Some(&json!("SERVICE_ACCOUNT_TYPE")));
    let timed_out = udm_of(&fixtures::load("pascal_case_check_timed_out.json"));
    assert_eq!(get(&timed_out, "security_result.0.action"), Some(&json!(["BLOCK"])));
    assert_eq!(
        get(&timed_out, "security_result.0.rule_id"),
        Some(&json!("0a7c3e5f-9b1d-4f2a-8c6e-3d5b7a9c1e2f"))
    );
}
