//! Test fixtures: the API specification's example page (`fixtures/GET__AuditLog_QueryLog_by_date.json`,
//! copied unchanged from MicrosoftDocs/vsts-rest-api-specs `specification/audit/7.1` at commit
//! adb28786a3e9349d5b3deb43eb2134b682c33bb2, MIT license) and our own entries, one file per mapped
//! family, under `fixtures/` (written by us; documentation addresses only).

use serde_json::Value;

/// Our own entries, by file name.
pub(crate) const FILES: &[(&str, &str)] = &[
    ("audit_log_download.json", include_str!("fixtures/audit_log_download.json")),
    ("azure_monitor_records.json", include_str!("fixtures/azure_monitor_records.json")),
    ("extension_installed.json", include_str!("fixtures/extension_installed.json")),
    ("git_repo_created.json", include_str!("fixtures/git_repo_created.json")),
    ("group_membership_add.json", include_str!("fixtures/group_membership_add.json")),
    ("group_membership_remove.json", include_str!("fixtures/group_membership_remove.json")),
    (
        "library_service_connection_created.json",
        include_str!("fixtures/library_service_connection_created.json"),
    ),
    ("pascal_case_check_timed_out.json", include_str!("fixtures/pascal_case_check_timed_out.json")),
    ("pat_created.json", include_str!("fixtures/pat_created.json")),
    ("pipeline_modified.json", include_str!("fixtures/pipeline_modified.json")),
    ("policy_modified.json", include_str!("fixtures/policy_modified.json")),
    ("project_soft_deleted.json", include_str!("fixtures/project_soft_deleted.json")),
    ("release_deployment_failed.json", include_str!("fixtures/release_deployment_failed.json")),
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
