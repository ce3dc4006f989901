//! Azure DevOps audit log records and pages (api-contracts.md §7.1, §7.2).
//!
//! * [`AuditLogPage`]: one response of `GET …/_apis/audit/auditlog`, `AuditLogQueryResult`
//!   (`decoratedAuditLogEntries`, `continuationToken`, `hasMore`) at the top level or wrapped in
//!   `{"value": {...}}` as the spec's example is; both are accepted.
//! * [`AuditEntry`]: one `DecoratedAuditLogEntry`. Keys are matched case-insensitively, so the REST
//!   shape (`actionId`), the export and Log Analytics shape (`ActionId`, `OperationName`) and the
//!   Azure Monitor export items read alike. Members not modelled are kept in [`AuditEntry::extra`].
//! * [`split_log`]: every saved form an entry comes in (an API page, top level or `value`-wrapped;
//!   an Azure Monitor `{"records": [...]}` export whose items carry the entry under `data`; an Event
//!   Grid event or an array of them, the entry under `data`; a downloaded array of entries; one entry;
//!   a text line with a JSON entry inside), split into entries. [`parse_log`] reads them as
//!   [`AuditEntry`]s for the UDM mapping.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::timestamp::parse_rfc3339_ms;

/// The id Azure DevOps uses for "not applicable" in actor id fields (§7.2).
pub(crate) const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// `AuditActionCategory` in the order of the spec's enum: Azure Monitor and Event Grid exports
/// carry the category as its number (1 = modify, 5 = execute).
const CATEGORIES: [&str; 6] = ["unknown", "modify", "remove", "create", "access", "execute"];

/// Why a page or a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The page body is not an `AuditLogQueryResult`.
    #[error("Azure DevOps audit log page is not an AuditLogQueryResult: {0}")]
    Page(#[source] serde_json::Error),
    /// A record is not a JSON object.
    #[error("Azure DevOps audit record is not a JSON object: found {found}")]
    NotAnObject {
        /// What was found ("array", "string", "not JSON"...).
        found: &'static str,
    },
}

/// One page of the audit log query (`AuditLogQueryResult`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AuditLogPage {
    /// `decoratedAuditLogEntries`, each as received (entries that are not objects included, so the
    /// caller can dead-letter them with their text).
    pub entries: Vec<Value>,
    /// `continuationToken`: pass it to get the next page.
    pub continuation_token: Option<String>,
    /// `hasMore`: whether more entries match the query.
    pub has_more: bool,
}

#[derive(Deserialize)]
struct QueryResult {
    #[serde(rename = "decoratedAuditLogEntries", alias = "DecoratedAuditLogEntries", default)]
    entries: Option<Vec<Value>>,
    #[serde(rename = "continuationToken", alias = "ContinuationToken", default)]
    continuation_token: Option<String>,
    #[serde(rename = "hasMore", alias = "HasMore", default)]
    has_more: Option<bool>,
}

#[derive(Deserialize)]
struct Wrapped {
    value: QueryResult,
}

impl AuditLogPage {
    /// Reads a response body: the result at the top level, or wrapped in `value`.
    pub fn parse(body: &[u8]) -> Result<Self, RecordError> {
        let value: Value = serde_json::from_slice(body).map_err(RecordError::Page)?;
        Self::from_value(value)
    }

    /// Reads a response body already parsed as JSON.
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        if !value.is_object() {
            return Err(RecordError::Page(serde::de::Error::custom("the body is not a JSON object")));
        }
        let wrapped = value.get("value").is_some_and(Value::is_object)
            && value.get("decoratedAuditLogEntries").is_none();
        let result = if wrapped {
            serde_json::from_value::<Wrapped>(value).map_err(RecordError::Page)?.value
        } else {
            serde_json::from_value::<QueryResult>(value).map_err(RecordError::Page)?
        };
        Ok(Self {
            entries: result.entries.unwrap_or_default(),
            continuation_token: result.continuation_token.filter(|t| !t.is_empty()),
            has_more: result.has_more.unwrap_or(false),
        })
    }
}

/// One audit entry (`DecoratedAuditLogEntry`, or an `AzureDevOpsAuditing` row). String fields that
/// are absent, null or empty are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntry {
    /// `id`: `"<ticks>;<actor>;<guid>"`, unique per event.
    pub id: Option<String>,
    /// `correlationId`: groups the entries of one action.
    pub correlation_id: Option<String>,
    /// `activityId`.
    pub activity_id: Option<String>,
    /// `actorClientId`: the service principal's client id.
    pub actor_client_id: Option<String>,
    /// `actorCUID`.
    pub actor_cuid: Option<String>,
    /// `actorUserId`.
    pub actor_user_id: Option<String>,
    /// `actorUPN`.
    pub actor_upn: Option<String>,
    /// `actorDisplayName`.
    pub actor_display_name: Option<String>,
    /// `actorImageUrl`.
    pub actor_image_url: Option<String>,
    /// `authenticationMechanism` (e.g. `AAD_Cookie`, `PAT_Unscoped`, `ServicePrincipal`).
    pub authentication_mechanism: Option<String>,
    /// `timestamp` (RFC 3339).
    pub timestamp: Option<String>,
    /// `scopeType`.
    pub scope_type: Option<String>,
    /// `scopeDisplayName`.
    pub scope_display_name: Option<String>,
    /// `scopeId`: the organization id.
    pub scope_id: Option<String>,
    /// `ipAddress`.
    pub ip_address: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `actionId` (Log Analytics: `OperationName`), e.g. `Git.CreateRepo`.
    pub action_id: Option<String>,
    /// `data`: the action's details, any JSON.
    pub data: Option<Value>,
    /// `details`: a sentence describing the event.
    pub details: Option<String>,
    /// `area`, e.g. `Git`.
    pub area: Option<String>,
    /// `category`: `unknown`, `modify`, `remove`, `create`, `access` or `execute` (lower case; a
    /// number is read through the spec's enum, else `categoryDisplayName` stands in).
    pub category: Option<String>,
    /// `categoryDisplayName`.
    pub category_display_name: Option<String>,
    /// `projectId`; the zero GUID (no project) is absent.
    pub project_id: Option<String>,
    /// `projectName`.
    pub project_name: Option<String>,
    /// Members not listed above (`TimeGenerated`, `TenantId`, ...), by their names as received.
    pub extra: Map<String, Value>,
}

impl AuditEntry {
    /// Reads an entry from a JSON object.
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        match value {
            Value::Object(map) => Ok(Self::from_map(map)),
            other => Err(RecordError::NotAnObject { found: kind(&other) }),
        }
    }

    /// Reads an entry from its JSON text.
    pub fn parse(text: &str) -> Result<Self, RecordError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| RecordError::NotAnObject { found: "not JSON" })?;
        Self::from_value(value)
    }

    fn from_map(map: Map<String, Value>) -> Self {
        let mut entry = Self::default();
        for (key, value) in map {
            let slot = match key.to_ascii_lowercase().as_str() {
                "id" => &mut entry.id,
                "correlationid" => &mut entry.correlation_id,
                "activityid" => &mut entry.activity_id,
                "actorclientid" => &mut entry.actor_client_id,
                "actorcuid" => &mut entry.actor_cuid,
                "actoruserid" => &mut entry.actor_user_id,
                "actorupn" => &mut entry.actor_upn,
                "actordisplayname" => &mut entry.actor_display_name,
                "actorimageurl" => &mut entry.actor_image_url,
                "authenticationmechanism" => &mut entry.authentication_mechanism,
                "timestamp" => &mut entry.timestamp,
                "scopetype" => &mut entry.scope_type,
                "scopedisplayname" => &mut entry.scope_display_name,
                "scopeid" => &mut entry.scope_id,
                "ipaddress" => &mut entry.ip_address,
                "useragent" => &mut entry.user_agent,
                "actionid" => &mut entry.action_id,
                "operationname" if entry.action_id.is_none() => &mut entry.action_id,
                "details" => &mut entry.details,
                "area" => &mut entry.area,
                "category" if value.is_number() => {
                    let index = value.as_u64().and_then(|n| usize::try_from(n).ok());
                    match index.and_then(|n| CATEGORIES.get(n)) {
                        Some(name) => entry.category = Some((*name).to_owned()),
                        None => {
                            entry.extra.insert(key, value);
                        }
                    }
                    continue;
                }
                "category" => &mut entry.category,
                "categorydisplayname" => &mut entry.category_display_name,
                "projectid" => &mut entry.project_id,
                "projectname" => &mut entry.project_name,
                "data" => {
                    entry.data = Some(value).filter(|v| !v.is_null());
                    continue;
                }
                _ => {
                    entry.extra.insert(key, value);
                    continue;
                }
            };
            match value {
                Value::Null => {}
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => *slot = Some(s),
                Value::Number(n) => *slot = Some(n.to_string()),
                Value::Bool(b) => *slot = Some(b.to_string()),
                // A structure where text is expected: keep it, unmapped, under its own name.
                other => {
                    entry.extra.insert(key, other);
                }
            }
        }
        // `OperationName` equal to (or after) `actionId` adds nothing.
        entry.extra.retain(|k, _| !k.eq_ignore_ascii_case("operationname") || entry.action_id.is_none());
        if let Some(category) = entry.category.take() {
            let lower = category.to_ascii_lowercase();
            if CATEGORIES.contains(&lower.as_str()) {
                entry.category = Some(lower);
            } else {
                // Not one of the spec's categories: kept as received, the display name decides.
                entry.extra.insert("category".to_owned(), Value::String(category));
            }
        }
        if entry.category.is_none() {
            entry.category = entry.category_display_name.as_deref().and_then(category_from_display_name);
        }
        entry.project_id = entry.project_id.filter(|id| id != ZERO_GUID);
        entry
    }

    /// A member of [`AuditEntry::extra`], matched case-insensitively.
    pub fn extra(&self, key: &str) -> Option<&Value> {
        self.extra.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
    }

    /// A member of [`AuditEntry::extra`] as text (numbers and booleans as their JSON text).
    pub fn extra_text(&self, key: &str) -> Option<String> {
        self.extra(key).and_then(scalar_text)
    }

    /// The value at `path` inside `data` (keys matched case-insensitively, array indexes as numbers:
    /// `Updates.0.GroupId`).
    pub fn data_value(&self, path: &str) -> Option<&Value> {
        let mut node = self.data.as_ref()?;
        for part in path.split('.') {
            node = match node {
                Value::Object(map) => {
                    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v)?
                }
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!node.is_null()).then_some(node)
    }

    /// [`AuditEntry::data_value`] as text: strings as they are, numbers and booleans as their JSON
    /// text; `None` for structures and empty strings.
    pub fn data_text(&self, path: &str) -> Option<String> {
        self.data_value(path).and_then(scalar_text)
    }

    /// Event time in ms since the epoch: `timestamp`, else Log Analytics' `TimeGenerated`, else
    /// the Event Grid envelope's `eventTime`.
    pub fn time_ms(&self) -> Option<i64> {
        self.timestamp
            .as_deref()
            .and_then(parse_rfc3339_ms)
            .or_else(|| self.extra_text("TimeGenerated").as_deref().and_then(parse_rfc3339_ms))
            .or_else(|| self.extra_text("eventTime").as_deref().and_then(parse_rfc3339_ms))
    }

    /// The part of `actionId` after its area (`ResourceNotAuthorizedForPipeline` for
    /// `Pipelines.ResourceNotAuthorizedForPipeline`), lower case.
    pub(crate) fn action_verb(&self) -> String {
        let action = self.action_id.as_deref().unwrap_or_default().to_ascii_lowercase();
        match action.split_once('.') {
            Some((_, verb)) => verb.to_owned(),
            None => action,
        }
    }

    /// Whether the actor is a service principal: `authenticationMechanism` names one (the SecOps
    /// parser's rule), or the entry carries a client id and no user id.
    pub fn is_service_principal(&self) -> bool {
        let by_mechanism = self
            .authentication_mechanism
            .as_deref()
            .is_some_and(|m| m.to_ascii_lowercase().contains("serviceprincipal"));
        let by_ids = not_zero(self.actor_client_id.as_deref()).is_some()
            && not_zero(self.actor_user_id.as_deref()).is_none();
        by_mechanism || by_ids
    }
}

/// Whether the action succeeded, as far as the entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded: `Succeeded`, `successfully`, `Created`, `Modified`, `executed`, `updated`,
    /// `removed`.
    Allowed,
    /// It failed: an action named as a failure (`Project.CreateFailed`,
    /// `Pipelines.ResourceNotAuthorizedForPipeline`), `Failed`, `TimedOut` (or "timed out"),
    /// details that begin "Did not" / "Didn't".
    Blocked,
}

/// Words that say an action succeeded or failed (the SecOps parser's lists, and `successfully`),
/// lower case.
const ALLOW_WORDS: [&str; 7] =
    ["succeeded", "successfully", "created", "modified", "executed", "updated", "removed"];
const BLOCK_WORDS: [&str; 2] = ["failed", "timedout"];

impl AuditEntry {
    /// The outcome the entry states: a failure named by the action itself (`…Failed`,
    /// `…NotAuthorized…`), else the first of `data.DeploymentResult`, `data.CheckSuiteStatus` and
    /// `details` holding one of the words (failure words first; details beginning "Did not" or
    /// "Didn't" are a failure); `None` when nothing says.
    pub fn outcome(&self) -> Option<Outcome> {
        let verb = self.action_verb();
        if verb.contains("failed") || verb.contains("notauthorized") {
            return Some(Outcome::Blocked);
        }
        let sources =
            [self.data_text("DeploymentResult"), self.data_text("CheckSuiteStatus"), self.details.clone()];
        sources.iter().flatten().find_map(|text| {
            let lower = text.to_ascii_lowercase().replace("timed out", "timedout");
            let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            let denied =
                lower.trim_start().starts_with("did not ") || lower.trim_start().starts_with("didn't ");
            if denied || words.iter().any(|w| BLOCK_WORDS.contains(w)) {
                Some(Outcome::Blocked)
            } else if words.iter().any(|w| ALLOW_WORDS.contains(w)) {
                Some(Outcome::Allowed)
            } else {
                None
            }
        })
    }
}

/// The category a `categoryDisplayName` names (`Delete` is the UI's word for `remove`).
fn category_from_display_name(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let lower = if lower == "delete" { "remove".to_owned() } else { lower };
    CATEGORIES.contains(&lower.as_str()).then_some(lower)
}

/// `id` unless it is the zero GUID ("not applicable").
pub(crate) fn not_zero(id: Option<&str>) -> Option<&str> {
    id.filter(|id| *id != ZERO_GUID)
}

/// A scalar as text; `None` for null, structures and empty strings.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The kind of a JSON value, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// How an entry reached us, which decides where `metadata.product_log_id` comes from in UDM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An entry on its own (REST API page item, stream, export line).
    Entry,
    /// An item of an Azure Monitor `{"records": [...]}` export.
    Records,
}

/// Reads the entries of one log: [`split_log`], each entry read as an [`AuditEntry`]. The forms
/// the SecOps parser accepts are among them (a JSON entry; `records`; a text line with a JSON entry
/// inside).
#[cfg(test)]
pub(crate) fn parse_log(text: &str) -> Result<Vec<(AuditEntry, Shape)>, RecordError> {
    split_log(text)?
        .into_iter()
        .map(|(value, shape)| AuditEntry::from_value(value).map(|e| (e, shape)))
        .collect()
}

/// Splits one saved log into its entries, each the JSON object [`AuditEntry::from_value`] reads
/// (items that are not objects are returned as they are, for the caller to report by index):
/// * an audit log page (`decoratedAuditLogEntries` at the top level or under `value`): its entries;
/// * `{"records": [...]}` (Azure Monitor export): each item's entry under `data` (when `data` names
///   an action), with the item's other members as fallbacks; else the item;
/// * an Event Grid event (`eventType` and a `data` object): the entry under `data`, with the
///   envelope's `eventTime`, `eventType`, `subject` and `topic` as fallbacks;
/// * an array (a downloaded log, or an Event Grid delivery): each item as above;
/// * any other object: one entry;
/// * JSON lines: each line as above;
/// * other text: the JSON entry inside it, from its first `{` to its last `}`.
pub fn split_log(text: &str) -> Result<Vec<(Value, Shape)>, RecordError> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return split_value(value);
    }
    // JSON lines: each line one of the forms above.
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > 1 {
        if let Ok(values) =
            lines.iter().map(|l| serde_json::from_str::<Value>(l)).collect::<Result<Vec<_>, _>>()
        {
            let mut entries = Vec::new();
            for value in values {
                entries.extend(split_value(value)?);
            }
            return Ok(entries);
        }
    }
    let start = text.find('{');
    let end = text.rfind('}');
    match (start, end) {
        (Some(start), Some(end)) if start < end => serde_json::from_str(&text[start..=end])
            .map_err(|_| RecordError::NotAnObject { found: "not JSON" })
            .and_then(split_value),
        _ => Err(RecordError::NotAnObject { found: "not JSON" }),
    }
}

/// [`split_log`] of one parsed JSON value.
fn split_value(value: Value) -> Result<Vec<(Value, Shape)>, RecordError> {
    match value {
        Value::Array(items) => {
            Ok(items.into_iter().map(|item| (event_grid_entry(item), Shape::Entry)).collect())
        }
        Value::Object(map) => split_object(map),
        other => Err(RecordError::NotAnObject { found: kind(&other) }),
    }
}

/// The entries of one top-level object: a page, a `records` export, an Event Grid event or an entry.
fn split_object(mut map: Map<String, Value>) -> Result<Vec<(Value, Shape)>, RecordError> {
    let is_page =
        |map: &Map<String, Value>| map.keys().any(|k| k.eq_ignore_ascii_case("decoratedAuditLogEntries"));
    if is_page(&map) || map.get("value").and_then(Value::as_object).is_some_and(is_page) {
        let page = AuditLogPage::from_value(Value::Object(map))?;
        return Ok(page.entries.into_iter().map(|e| (e, Shape::Entry)).collect());
    }
    let records_key = map.keys().find(|k| k.eq_ignore_ascii_case("records")).cloned();
    match records_key.and_then(|k| map.remove_entry(&k)) {
        Some((_, Value::Array(items))) => {
            Ok(items.into_iter().map(|item| (record_item(item), Shape::Records)).collect())
        }
        Some((key, other)) => {
            // `records` that is not an array: an ordinary member of an entry.
            map.insert(key, other);
            Ok(vec![(Value::Object(map), Shape::Entry)])
        }
        None => Ok(vec![(event_grid_entry(Value::Object(map)), Shape::Entry)]),
    }
}

/// A member of `map`, its key matched case-insensitively.
fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
}

/// Whether `map` names an action (`actionId` or `OperationName`).
fn names_action(map: &Map<String, Value>) -> bool {
    member(map, "actionId").is_some() || member(map, "OperationName").is_some()
}

/// Takes the entry out of `data` and adds the wrapper's members in `fallbacks` (all when `None`)
/// that the entry lacks.
fn unwrap_data(mut wrapper: Map<String, Value>, fallbacks: Option<&[&str]>) -> Value {
    let Some(key) = member(&wrapper, "data").map(|(k, _)| k.clone()) else {
        return Value::Object(wrapper);
    };
    let Some(Value::Object(mut entry)) = wrapper.remove(&key) else {
        return Value::Object(wrapper);
    };
    for (key, value) in wrapper {
        let wanted = fallbacks.is_none_or(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(&key)));
        if wanted && member(&entry, &key).is_none() {
            entry.insert(key, value);
        }
    }
    Value::Object(entry)
}

/// One `records[]` item: the entry under `data` when `data` holds one (it names an action), with
/// the item's other members as fallbacks; else the item itself.
fn record_item(item: Value) -> Value {
    match item {
        Value::Object(map)
            if !names_action(&map)
                && member(&map, "data").and_then(|(_, v)| v.as_object()).is_some_and(names_action) =>
        {
            unwrap_data(map, None)
        }
        other => other,
    }
}

/// The Event Grid envelope members an entry takes when it lacks them.
const EVENT_GRID_FALLBACKS: &[&str] = &["eventTime", "eventType", "subject", "topic"];

/// An Event Grid event (`eventType` and a `data` object, Event Grid schema): the entry under
/// `data`, with `eventTime`, `eventType`, `subject`, `topic` as fallbacks; anything else as it is.
fn event_grid_entry(item: Value) -> Value {
    match item {
        Value::Object(map)
            if !names_action(&map)
                && member(&map, "eventType").is_some()
                && member(&map, "data").is_some_and(|(_, v)| v.is_object()) =>
        {
            unwrap_data(map, Some(EVENT_GRID_FALLBACKS))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spec_example_page_is_read_from_its_value_wrapper() {
        let page = AuditLogPage::parse(&crate::sources::azure_devops::fixtures::spec_body()).unwrap();
        assert_eq!(page.entries.len(), 2);
        assert!(!page.has_more);
        assert_eq!(
            page.continuation_token.as_deref(),
            Some("2518505063644965580;00000002-0000-8888-8000-000000000000;198b13cf-5201-48e8-acef-0d8bb2d9e815")
        );
        let entry = AuditEntry::from_value(page.entries[1].clone()).unwrap();
        assert_eq!(entry.action_id.as_deref(), Some("Project.CreateCompleted"));
        assert_eq!(entry.ip_address, None);
        assert_eq!(entry.user_agent, None, "empty strings are absent");
        assert_eq!(entry.authentication_mechanism, None);
        assert_eq!(entry.data_text("ProjectName").as_deref(), Some("fabrikam-fiber-git"));
        assert_eq!(entry.time_ms(), Some(1_551_794_435_503));
    }

    #[test]
    fn page_envelopes_top_level_wrapped_and_empty() {
        let cases: [(&str, usize, Option<&str>, bool); 5] = [
            (
                r#"{"decoratedAuditLogEntries":[{"id":"a"}],"continuationToken":"t1","hasMore":true}"#,
                1,
                Some("t1"),
                true,
            ),
            (
                r#"{"value":{"decoratedAuditLogEntries":[{"id":"a"},{"id":"b"}],"continuationToken":"t2","hasMore":false}}"#,
                2,
                Some("t2"),
                false,
            ),
            (r#"{"decoratedAuditLogEntries":[],"continuationToken":"","hasMore":false}"#, 0, None, false),
            (r#"{"decoratedAuditLogEntries":null,"hasMore":false}"#, 0, None, false),
            (
                r#"{"DecoratedAuditLogEntries":[{"Id":"a"}],"ContinuationToken":"t3","HasMore":true}"#,
                1,
                Some("t3"),
                true,
            ),
        ];
        for (body, entries, token, has_more) in cases {
            let page = AuditLogPage::parse(body.as_bytes()).unwrap();
            assert_eq!(page.entries.len(), entries, "{body}");
            assert_eq!(page.continuation_token.as_deref(), token, "{body}");
            assert_eq!(page.has_more, has_more, "{body}");
        }
        for bad in ["[]", "not json", r#"{"decoratedAuditLogEntries":"x"}"#] {
            assert!(AuditLogPage::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_members_are_kept() {
        let entry = AuditEntry::from_value(json!({
            "Id": "1;2;3", "ActorUPN": "silviu@fabrikam.app", "OperationName": "Git.CreateRepo",
            "Data": {"RepoName": "r", "Updates": [{"GroupId": "g1"}]}, "TimeGenerated": "2024-01-02T03:04:05Z",
            "TenantId": "t-1", "IpAddress": "203.0.113.9", "ScopeId": 7
        }))
        .unwrap();
        assert_eq!(entry.id.as_deref(), Some("1;2;3"));
        assert_eq!(entry.actor_upn.as_deref(), Some("silviu@fabrikam.app"));
        assert_eq!(entry.action_id.as_deref(), Some("Git.CreateRepo"));
        assert_eq!(entry.ip_address.as_deref(), Some("203.0.113.9"));
        assert_eq!(entry.scope_id.as_deref(), Some("7"));
        assert_eq!(entry.data_text("repoName").as_deref(), Some("r"));
        assert_eq!(entry.data_text("updates.0.groupId").as_deref(), Some("g1"));
        assert_eq!(entry.extra_text("tenantid").as_deref(), Some("t-1"));
        assert_eq!(entry.time_ms(), Some(1_704_164_645_000));
        assert!(AuditEntry::from_value(json!([1])).is_err());
    }

    #[test]
    fn service_principals_are_recognized() {
        let cases = [
            (json!({"authenticationMechanism": "ServicePrincipal"}), true),
            (json!({"authenticationMechanism": "S2S_ServicePrincipal ClientId: c"}), true),
            (json!({"actorClientId": "c-1", "actorUserId": ZERO_GUID}), true),
            (json!({"actorClientId": ZERO_GUID, "actorUserId": "u-1"}), false),
            (json!({"authenticationMechanism": "PAT_Unscoped"}), false),
        ];
        for (value, expected) in cases {
            assert_eq!(
                AuditEntry::from_value(value.clone()).unwrap().is_service_principal(),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn outcome_from_results_statuses_and_details() {
        let cases = [
            (
                json!({"details": "fabrikam-fiber-git project was created successfully"}),
                Some(Outcome::Allowed),
            ),
            (json!({"details": "Accessed the audit log 3 times"}), None),
            (
                json!({"data": {"DeploymentResult": "Failed"}, "details": "Deployment succeeded"}),
                Some(Outcome::Blocked),
            ),
            (json!({"data": {"DeploymentResult": "Succeeded"}}), Some(Outcome::Allowed)),
            (json!({"data": {"CheckSuiteStatus": "TimedOut"}}), Some(Outcome::Blocked)),
            (json!({"details": "The approval timed out"}), Some(Outcome::Blocked)),
            (json!({"details": "Pipeline was Modified"}), Some(Outcome::Allowed)),
            (json!({"details": "Unmodified"}), None),
        ];
        for (value, expected) in cases {
            assert_eq!(AuditEntry::from_value(value.clone()).unwrap().outcome(), expected, "{value}");
        }
    }

    #[test]
    fn log_forms_entry_records_and_embedded_json() {
        let direct = parse_log(r#"{"Id":"i1","ActionId":"Git.CreateRepo"}"#).unwrap();
        assert_eq!(direct.len(), 1);
        assert_eq!(direct[0].1, Shape::Entry);

        let records = parse_log(
            r#"{"records":[{"time":"2024-01-02T03:04:05Z","TenantId":"t-9","data":{"Id":"i2","ActivityId":"a2","OperationName":"Group.UpdateGroupMembership.Add","Data":{"GroupName":"g"}}},{"Id":"i3","ActionId":"Token.PatCreateEvent","Data":{"DisplayName":"ci"}}]}"#,
        )
        .unwrap();
        assert_eq!(records.len(), 2);
        let (first, shape) = &records[0];
        assert_eq!(*shape, Shape::Records);
        assert_eq!(first.id.as_deref(), Some("i2"));
        assert_eq!(first.activity_id.as_deref(), Some("a2"));
        assert_eq!(first.action_id.as_deref(), Some("Group.UpdateGroupMembership.Add"));
        assert_eq!(first.data_text("GroupName").as_deref(), Some("g"));
        assert_eq!(first.extra_text("TenantId").as_deref(), Some("t-9"));
        let (second, _) = &records[1];
        assert_eq!(second.action_id.as_deref(), Some("Token.PatCreateEvent"));
        assert_eq!(second.data_text("DisplayName").as_deref(), Some("ci"));

        let line = parse_log(r#"<14>Mar  5 14:00:35 relay azure-devops: {"id":"i4","actionId":"Policy.PolicyConfigModified"} "#)
            .unwrap();
        assert_eq!(line[0].0.action_id.as_deref(), Some("Policy.PolicyConfigModified"));
        for bad in ["no json here", "[1,2]", "{broken"] {
            assert!(parse_log(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_categories_read_through_the_spec_enum_or_the_display_name() {
        let cases = [
            (json!({"Category": 1}), Some("modify")),
            (json!({"Category": 5, "CategoryDisplayName": "Execute"}), Some("execute")),
            (json!({"Category": 42, "CategoryDisplayName": "Create"}), Some("create")),
            (json!({"Category": "Modify"}), Some("modify")),
            (json!({"category": "Rename", "categoryDisplayName": "Delete"}), Some("remove")),
            (json!({"Category": 42}), None),
        ];
        for (value, expected) in cases {
            let entry = AuditEntry::from_value(value.clone()).unwrap();
            assert_eq!(entry.category.as_deref(), expected, "{value}");
        }
        let entry = AuditEntry::from_value(json!({"Category": 42})).unwrap();
        assert_eq!(entry.extra_text("Category").as_deref(), Some("42"), "an unknown number is kept");
    }

    #[test]
    fn the_zero_project_id_is_no_project() {
        let entry = AuditEntry::from_value(json!({"ProjectId": ZERO_GUID})).unwrap();
        assert_eq!(entry.project_id, None);
        let entry = AuditEntry::from_value(json!({"projectId": "p-1"})).unwrap();
        assert_eq!(entry.project_id.as_deref(), Some("p-1"));
    }

    #[test]
    fn event_grid_events_pages_arrays_and_json_lines_split_into_entries() {
        let entry =
            json!({"Id": "i1", "ActionId": "Git.RepositoryCreated", "Timestamp": "2024-01-02T03:04:05Z"});
        let grid = json!({"id": "g1", "eventType": "t", "subject": "s", "eventTime": "2024-01-02T03:04:06Z",
                          "data": entry, "dataVersion": "1.0", "metadataVersion": "1"});
        let single = split_log(&grid.to_string()).unwrap();
        assert_eq!(single.len(), 1);
        let read = AuditEntry::from_value(single[0].0.clone()).unwrap();
        assert_eq!(read.id.as_deref(), Some("i1"), "the entry's id, not the envelope's");
        assert_eq!(read.action_id.as_deref(), Some("Git.RepositoryCreated"));
        assert_eq!(read.extra_text("eventType").as_deref(), Some("t"));
        assert_eq!(read.time_ms(), Some(1_704_164_645_000));

        let mut untimed = grid.clone();
        untimed["data"] = json!({"ActionId": "Git.RepositoryCreated"});
        let read = AuditEntry::from_value(split_log(&untimed.to_string()).unwrap()[0].0.clone()).unwrap();
        assert_eq!(read.time_ms(), Some(1_704_164_646_000), "eventTime when the entry has no time");

        assert_eq!(split_log(&json!([grid, grid]).to_string()).unwrap().len(), 2);
        assert_eq!(split_log(&json!([entry, entry, entry]).to_string()).unwrap().len(), 3);
        let page = json!({"value": {"decoratedAuditLogEntries": [entry, entry], "hasMore": false}});
        assert_eq!(split_log(&page.to_string()).unwrap().len(), 2);
        assert_eq!(split_log(&format!("{entry}\n\n{grid}\n")).unwrap().len(), 2);
        // An entry that has a `data` member and an `eventType` is still the entry when it names an action.
        let own = json!({"actionId": "X.Y", "eventType": "e", "data": {"a": 1}});
        assert_eq!(split_log(&own.to_string()).unwrap()[0].0, own);
    }
}
