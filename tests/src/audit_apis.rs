//! Audit records as the SaaS APIs write them (Atlassian organization events, Azure DevOps audit
//! entries), for the pollers' scenarios and their benchmark: four kinds each, numbered, with the
//! time given.

use audit_relay::timestamp::format_rfc3339_ms;
use serde_json::{json, Value};

/// An organization audit event processed at `processed_ms`.
pub fn org_event(i: usize, processed_ms: i64) -> Value {
    let time = |ms: i64| format_rfc3339_ms(ms);
    let (action, context) = match i % 4 {
        0 => ("user_login", json!([])),
        1 => (
            "user_created",
            json!([{"id": format!("712020:u-{i}"), "type": "users", "attributes": {"name": format!("user {i}")}}]),
        ),
        2 => (
            "group_member_added",
            json!([{"id": format!("712020:u-{i}"), "type": "users", "attributes": {"name": "x"}}, {"id": "g-1", "type": "groups", "attributes": {"name": "admins"}}]),
        ),
        _ => (
            "authentication_policy_updated",
            json!([{"id": "pol-1", "type": "policies", "attributes": {"name": "SSO"}}]),
        ),
    };
    json!({"id": format!("evt-{i:04}"), "type": "events", "attributes": {
        "time": time(processed_ms - 500), "processedAt": time(processed_ms), "action": action,
        "actor": {"id": "712020:admin", "name": "Admin", "email": "admin@example.com"},
        "context": context, "location": {"ip": "203.0.113.7", "city": "Sampleville"}},
        "message": {"content": format!("event {i}"), "format": "simple"}})
}

/// Azure DevOps' time format: seven fractional digits and `+00:00`.
pub fn azure_time(ms: i64) -> String {
    let text = format_rfc3339_ms(ms);
    let text = text.trim_end_matches('Z');
    match text.split_once('.') {
        Some((seconds, fraction)) => format!("{seconds}.{fraction:0<7}+00:00"),
        None => format!("{text}.0000000+00:00"),
    }
}

/// The id of entry `i`: `"<ticks>;<actor>;<guid>"`, as the API writes it.
pub fn azure_devops_entry_id(i: usize, time_ms: i64) -> String {
    let ticks = (time_ms + 62_135_596_800_000) * 10_000;
    format!("{ticks};9c2a4f7e-51d3-4c2b-8e0f-3b6a1d2e4f50;00000000-0000-4000-8000-{i:012}")
}

/// Audit entry `i` at `time_ms`: a repository created, a group member added, a PAT created, or a
/// read of the audit log (what this poller's own queries leave behind).
pub fn azure_devops_entry(i: usize, time_ms: i64) -> Value {
    let (action, area, category, data, details) = match i % 4 {
        0 => (
            "Git.CreateRepo",
            "Git",
            "create",
            json!({"RepoId": format!("8f3d2c1b-0a9e-4d7c-b6a5-{i:012}"), "RepoName": format!("repo-{i}"), "ProjectName": "Fiber"}),
            format!("Created repository repo-{i} in project Fiber"),
        ),
        1 => (
            "Group.UpdateGroupMembership.Add",
            "Group",
            "modify",
            json!({"GroupId": "c0ffee00-1111-4a2b-9c3d-4e5f6a7b8c9d", "GroupName": "[fabrikam]\\Project Collection Administrators",
                   "MemberId": format!("5be3c1d2-7a8b-4c9d-8e0f-{i:012}"), "MemberDisplayName": format!("User {i}")}),
            format!("Added User {i} to group [fabrikam]\\Project Collection Administrators"),
        ),
        2 => (
            "Token.PatCreateEvent",
            "Token",
            "create",
            json!({"DisplayName": format!("build-{i}"), "Scopes": "vso.code", "TokenType": "PersonalAccessToken",
                   "AuthorizationId": format!("0a7c3e5f-9b1d-4f2a-8c6e-{i:012}")}),
            format!("Personal access token \"build-{i}\" was created with scopes vso.code"),
        ),
        _ => (
            "AuditLog.AccessLog",
            "Auditing",
            "access",
            json!({"Filter": {"StartTime": "2024-11-01T00:00:00Z", "EndTime": "2024-11-19T00:00:00Z", "BatchSize": 200}}),
            "Accessed the audit log".to_string(),
        ),
    };
    json!({
        "id": azure_devops_entry_id(i, time_ms), "correlationId": format!("e1f2a3b4-c5d6-4e7f-8a9b-{i:012}"),
        "activityId": "4d1c7a9e-2f3b-4e5d-8a6b-7c8d9e0f1a2b", "actorCUID": "9c2a4f7e-51d3-4c2b-8e0f-3b6a1d2e4f50",
        "actorUserId": "9c2a4f7e-51d3-4c2b-8e0f-3b6a1d2e4f50", "actorUPN": "alice.nguyen@fabrikam.example",
        "actorDisplayName": "Alice Nguyen", "authenticationMechanism": "AAD_Cookie", "timestamp": azure_time(time_ms),
        "scopeType": "organization", "scopeDisplayName": "fabrikam (Organization)",
        "scopeId": "73638cd5-0dda-4128-9fd6-48c16d4e4de3", "ipAddress": "203.0.113.24", "userAgent": "Mozilla/5.0",
        "actionId": action, "data": data, "details": details, "area": area, "category": category,
        "categoryDisplayName": category, "actorImageUrl": null
    })
}
