//! Test fixtures under `fixtures/`, each listed with its origin in `fixtures/SOURCES.md`: published
//! examples (the spec's example page, a release-notes entry, a streamed entry from a public issue),
//! records reconstructed from Microsoft's documentation, and our own entries, one per family.

use serde_json::Value;

/// The fixture files, by name (the spec's example page apart).
pub(crate) const FILES: &[(&str, &str)] = &[
    ("audit_log_download.json", include_str!("fixtures/audit_log_download.json")),
    ("audit_log_download_no_ip.json", include_str!("fixtures/audit_log_download_no_ip.json")),
    (
        "audit_stream_disabled_by_user_reconstructed.json",
        include_str!("fixtures/audit_stream_disabled_by_user_reconstructed.json"),
    ),
    ("azure_monitor_records.json", include_str!("fixtures/azure_monitor_records.json")),
    ("event_grid_array_reconstructed.json", include_str!("fixtures/event_grid_array_reconstructed.json")),
    (
        "event_grid_stream_group_membership_add.json",
        include_str!("fixtures/event_grid_stream_group_membership_add.json"),
    ),
    ("extension_installed.json", include_str!("fixtures/extension_installed.json")),
    ("git_repo_created.json", include_str!("fixtures/git_repo_created.json")),
    ("group_membership_add.json", include_str!("fixtures/group_membership_add.json")),
    ("group_membership_remove.json", include_str!("fixtures/group_membership_remove.json")),
    (
        "library_agent_deleted_reconstructed.json",
        include_str!("fixtures/library_agent_deleted_reconstructed.json"),
    ),
    (
        "library_service_connection_created.json",
        include_str!("fixtures/library_service_connection_created.json"),
    ),
    (
        "org_policy_log_audit_events_off_reconstructed.json",
        include_str!("fixtures/org_policy_log_audit_events_off_reconstructed.json"),
    ),
    (
        "organization_link_to_aad_reconstructed.json",
        include_str!("fixtures/organization_link_to_aad_reconstructed.json"),
    ),
    ("pascal_case_check_timed_out.json", include_str!("fixtures/pascal_case_check_timed_out.json")),
    ("pat_created.json", include_str!("fixtures/pat_created.json")),
    ("pat_created_no_owner.json", include_str!("fixtures/pat_created_no_owner.json")),
    ("pipeline_modified.json", include_str!("fixtures/pipeline_modified.json")),
    (
        "pipelines_resource_not_authorized_reconstructed.json",
        include_str!("fixtures/pipelines_resource_not_authorized_reconstructed.json"),
    ),
    ("policy_modified.json", include_str!("fixtures/policy_modified.json")),
    ("project_soft_deleted.json", include_str!("fixtures/project_soft_deleted.json")),
    (
        "records_numeric_category_reconstructed.json",
        include_str!("fixtures/records_numeric_category_reconstructed.json"),
    ),
    ("release_deployment_failed.json", include_str!("fixtures/release_deployment_failed.json")),
    (
        "release_notes_sprint_212_approver_reassigned.json",
        include_str!("fixtures/release_notes_sprint_212_approver_reassigned.json"),
    ),
    (
        "security_acl_deny_event_summary_reconstructed.json",
        include_str!("fixtures/security_acl_deny_event_summary_reconstructed.json"),
    ),
    ("security_acl_removed.json", include_str!("fixtures/security_acl_removed.json")),
    ("security_permission_modified.json", include_str!("fixtures/security_permission_modified.json")),
    ("service_principal_variable_group.json", include_str!("fixtures/service_principal_variable_group.json")),
    ("ssh_key_revoked.json", include_str!("fixtures/ssh_key_revoked.json")),
];

/// The spec's `GET__AuditLog_QueryLog_by_date` example.
const SPEC_EXAMPLE: &str = include_str!("fixtures/GET__AuditLog_QueryLog_by_date.json");

/// The text of fixture `name`.
pub(crate) fn text(name: &str) -> String {
    match FILES.iter().find(|(n, _)| *n == name) {
        Some((_, text)) => (*text).to_owned(),
        None => panic!("no fixture {name}"),
    }
}

/// Fixture `name` as JSON.
pub(crate) fn load(name: &str) -> Value {
    serde_json::from_str(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The spec example's response body (`responses.200.body`): the page wrapped in `value`.
pub(crate) fn spec_body() -> Vec<u8> {
    let example: Value = serde_json::from_str(SPEC_EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_vec(&example["responses"]["200"]["body"]).unwrap_or_else(|e| panic!("{e}"))
}
