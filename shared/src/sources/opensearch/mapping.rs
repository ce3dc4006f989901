//! OpenSearch audit record → OCSF 1.8.0 (api-contracts.md §3, §4 and §13.2; the table and every
//! decision are in `docs/mappings/opensearch.md`). Pure: no I/O.
//!
//! Class by `audit_category`:
//!
//! * `AUTHENTICATED`, `FAILED_LOGIN` → Authentication (3002) Logon, Success / Failure.
//! * `GRANTED_PRIVILEGES`, `MISSING_PRIVILEGES` → API Activity (6003), the privilege as
//!   `actor.authorizations[].policy` with decision `Allowed` / `Denied`.
//! * `INDEX_EVENT`, `COMPLIANCE_DOC_READ/WRITE`, `COMPLIANCE_INTERNAL_CONFIG_READ/WRITE`,
//!   `COMPLIANCE_EXTERNAL_CONFIG`, `OPENSEARCH_SECURITY_INDEX_ATTEMPT` → Datastore Activity
//!   (6005): the domain as `database`, the indices as `table`.
//! * `BAD_HEADERS`, `SSL_EXCEPTION` → Web Resource Access Activity (6004), Access Deny / Error:
//!   refused before any user was established.
//! * Anything else → API Activity, Other (Unknown when no category can be read).
//! * A message that lacks what its class needs (the user of a login, the user or endpoint of a
//!   request, the cluster of a datastore or web record, any operation at all — a plain log4j
//!   line, a cut record) → Entity Management (3004) Other of the cluster (else of OpenSearch,
//!   which wrote the line): never a placeholder user, endpoint, operation or domain.
//!
//! Mapping never fails: a message that is cut or not JSON still gives an event of the best class
//! recognized, with every member read before the cut, the text in `raw_data` and the parse error
//! in `unmapped.parse_error`; [`Mapped::problem`] says so, for the counters.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::config::{OpensearchConfig, RedactHeaders};
use super::record::{
    self, find_category_name, log4j_prefix_time_ms, redact_raw, strip_log4j_prefix, Category, Members,
};
use crate::ocsf::{
    Account, AccountType, Actor, Api, ApiActivity, ApiRequest, AuthActivity, AuthProtocol, Authorization,
    ClassActivity, Cloud, Database, DatabaseType, DatastoreActivity, DatastoreType, EntityActivity,
    HttpHeader, HttpMethod, HttpRequest, ManagedEntity, Metadata, NetworkEndpoint, Observable,
    ObservableType, OcsfEvent, Policy, Product, Service, Severity, Status, Table, Url, User, UserType,
    WebResource, WebResourceAccessActivity,
};
use crate::timestamp::parse_rfc3339_ms;

/// `metadata.product.name` of every event.
pub(crate) const PRODUCT: &str = "OpenSearch";
/// Mapping options from configuration.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    /// `INCLUDE_RAW`: copy the message (credentials redacted) into `raw_data`.
    pub include_raw: bool,
    /// `AWS_REGION`: `cloud.region`.
    pub region: Option<String>,
    /// Headers never copied.
    pub redact: RedactHeaders,
}

impl MapOptions {
    /// Options from the source configuration and `INCLUDE_RAW`.
    pub fn new(config: &OpensearchConfig, include_raw: bool) -> Self {
        Self { include_raw, region: config.region.clone(), redact: config.redact_headers.clone() }
    }
}

/// Where a message came from: its CloudWatch Logs coordinates.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogContext<'a> {
    /// Log group (`metadata.log_name` is `<group>:<stream>`).
    pub log_group: &'a str,
    /// Log stream.
    pub log_stream: &'a str,
    /// The CloudWatch Logs event id: `metadata.uid` (the same from a subscription and from
    /// FilterLogEvents). `None` for lines read from a file.
    pub event_id: Option<&'a str>,
    /// The log event's timestamp, ms: `metadata.logged_time`, and `time` when the record has no
    /// readable `@timestamp`.
    pub timestamp_ms: Option<i64>,
}

/// One mapped message.
#[derive(Debug)]
pub(crate) struct Mapped {
    /// The event.
    pub event: OcsfEvent,
    /// Why the message was not one whole JSON record (it is then mapped from what could be read).
    pub problem: Option<String>,
}

/// What the class of an event is, decided from the category before the members are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Auth {
        success: bool,
    },
    Api {
        activity: ApiActivity,
        granted: Option<bool>,
    },
    Datastore {
        activity: DatastoreActivity,
        denied: bool,
    },
    Web(WebResourceAccessActivity),
    /// Entity Management of the cluster: the record lacks what the planned class needs.
    Entity {
        status: Option<Status>,
    },
}

/// Maps one log message (an audit record, with or without its log4j prefix).
pub(crate) fn map_message(message: &str, context: &LogContext<'_>, options: &MapOptions) -> Mapped {
    let (json, _) = strip_log4j_prefix(message);
    let record::Parsed { mut members, error } = record::parse(json);
    let category_name: Option<Cow<'_, str>> = members
        .take_str("audit_category")
        .or_else(|| error.as_ref().and_then(|_| find_category_name(message)).map(Cow::Borrowed));
    let category = category_name.as_deref().and_then(Category::from_name);
    let plan = plan(category, category_name.is_some(), &members);
    let plan = fallback(plan, category_name.as_deref(), &members);

    let original_time = members.take_str("@timestamp");
    let time = event_time(original_time.as_deref(), message, context);
    let cluster = members.take_str("audit_cluster_name");
    let (account, domain) = split_cluster(cluster.as_deref());
    let format_version = members.take_text("audit_format_version");

    let mut product = Product::new(PRODUCT, if account.is_some() { "AWS" } else { "OpenSearch Project" });
    product.version = format_version.map(Cow::into_owned);
    let mut metadata = Metadata::new(product);
    metadata.uid = context.event_id.filter(|id| !id.is_empty()).map(str::to_owned);
    metadata.event_code = category_name.as_deref().map(str::to_owned);
    metadata.original_time = original_time.map(Cow::into_owned);
    metadata.logged_time = context.timestamp_ms;
    metadata.correlation_uid = members.peek_str("audit_request_id").map(Cow::into_owned);
    if !context.log_group.is_empty() || !context.log_stream.is_empty() {
        metadata.log_name = Some(Cow::Owned(format!("{}:{}", context.log_group, context.log_stream)));
    }

    let mut event = OcsfEvent::new(class_activity(plan), time, metadata);
    let mut cloud = Cloud { region: options.region.clone(), ..Cloud::new("AWS") };
    if let Some(account) = account {
        cloud.account =
            Some(Account { type_id: Some(AccountType::AwsAccount), ..Account::with_uid(account) });
    }
    event.set_cloud(cloud);
    event.set_severity(severity(category, plan));
    let service = domain.map(|name| Service {
        name: Some(name.to_owned()),
        uid: cluster.as_deref().map(str::to_owned),
        ..Service::default()
    });

    let class =
        Class { category_name: category_name.as_deref(), cluster: cluster.as_deref(), domain, service };
    match plan {
        Plan::Auth { success } => map_auth(&mut event, &mut members, class, success),
        Plan::Api { granted, .. } => map_api(&mut event, &mut members, class, granted),
        Plan::Datastore { denied, .. } => map_datastore(&mut event, &mut members, class, denied),
        Plan::Entity { status } => map_entity(&mut event, &mut members, class, status),
        Plan::Web(activity) => map_web(&mut event, &mut members, class, activity),
    }

    if let Some(trace) = members.peek_str("audit_request_exception_stacktrace") {
        event.status_detail = trace.lines().next().map(|line| line.trim().to_owned());
    }
    let http = http_request(&mut members, &options.redact);
    // Web Resource Access Activity requires `http_request`, even for a transport-layer record.
    event.http_request = match (http, plan) {
        (None, Plan::Web(_)) => Some(HttpRequest::default()),
        (http, _) => http,
    };
    if let Some(ip) = event.src_endpoint.as_ref().and_then(|e| e.ip) {
        event.observables.push(Observable::new("src_endpoint.ip", ObservableType::IpAddress, ip.to_string()));
    }

    if let Some(headers) = members.take_raw("audit_transport_headers") {
        insert_redacted_map(&mut event, "audit_transport_headers", headers, &options.redact);
    }
    for (key, value) in members.into_rest() {
        event.unmapped.insert_raw(key, value.to_owned());
    }
    if let Some(problem) = &error {
        // A string always serializes.
        let _ = event.unmapped.insert("parse_error", problem);
    }
    if options.include_raw || error.is_some() {
        event.raw_data = Some(redact_raw(message, &options.redact).into_owned());
    }
    Mapped { event, problem: error }
}

/// What every class's rules read besides the members: the category and the cluster.
struct Class<'c> {
    /// `audit_category` as written.
    category_name: Option<&'c str>,
    /// `audit_cluster_name` (`<account>:<domain>` on Amazon OpenSearch Service).
    cluster: Option<&'c str>,
    /// The domain part of the cluster name.
    domain: Option<&'c str>,
    /// The cluster as `service`, when it is named.
    service: Option<Service>,
}

/// Authentication: the user who logged in (or failed to), how, and where from.
fn map_auth(event: &mut OcsfEvent, members: &mut Members<'_>, class: Class<'_>, success: bool) {
    let Class { service, .. } = class;
    event.set_status(if success { Status::Success } else { Status::Failure });
    let (user, initiating) = users(members, true);
    // `fallback` has seen the user.
    let user = user.unwrap_or_default();
    event.message = Some(match (success, &user.name) {
        (true, Some(name)) => format!("User {name} authenticated"),
        (false, Some(name)) => format!("Login failed for user {name}"),
        _ => "Login".to_owned(),
    });
    event.observables.extend(user_observable("user.name", &user));
    event.user = Some(user);
    if let Some(initiating) = initiating {
        event.observables.extend(user_observable("actor.user.name", &initiating));
        event.actor = Some(Actor { user: Some(initiating), ..Actor::default() });
    }
    if let Some(method) = members.peek_str("audit_request_auth_method") {
        let protocol = auth_protocol(&method);
        event.set_auth_protocol(protocol);
        // "Other" loses the method's name: it then stays in `unmapped`.
        if protocol != AuthProtocol::Other {
            members.take_str("audit_request_auth_method");
        }
    }
    // Authentication needs `service` or `dst_endpoint`: without a cluster name, the
    // service is OpenSearch itself.
    event.service = service.or_else(|| Some(Service::named(PRODUCT)));
    event.src_endpoint = remote_endpoint(members);
    event.dst_endpoint = node_endpoint(members);
}

/// API Activity: the operation, who asked, and the privilege granted or missing.
fn map_api(event: &mut OcsfEvent, members: &mut Members<'_>, class: Class<'_>, granted: Option<bool>) {
    let Class { category_name, service, .. } = class;
    let privilege = members.peek_str("audit_request_privilege");
    let operation = operation(members, privilege.as_deref(), category_name);
    let (user, _) = users(members, false);
    let mut actor = actor_of(user, event);
    if let (Some(granted), Some(privilege)) = (granted, privilege.as_deref()) {
        actor.authorizations.push(privilege_decision(privilege, granted));
        members.take_str("audit_request_privilege");
    }
    match granted {
        Some(true) => event.set_status(Status::Success),
        Some(false) => event.set_status(Status::Failure),
        None => {}
    }
    event.message = Some(match (granted, &actor.user, &privilege) {
        (Some(true), Some(User { name: Some(name), .. }), Some(p)) => {
            format!("{name} was granted {p}")
        }
        (Some(false), Some(User { name: Some(name), .. }), Some(p)) => format!("{name} lacks {p}"),
        _ => format!("{} {operation}", category_name.unwrap_or("Request")),
    });
    event.observables.extend(actor.user.as_ref().and_then(|u| user_observable("actor.user.name", u)));
    event.actor = Some(actor);
    let mut api = Api::new(operation);
    api.service = service;
    let body = take_body(members);
    let request_uid = members.take_str("audit_request_id");
    match (request_uid, body) {
        (Some(uid), body) => {
            api.request = Some(ApiRequest { uid: uid.into_owned(), data: body.map(body_json) })
        }
        (None, Some(body)) => members.push(Cow::Borrowed("audit_request_body"), body),
        (None, None) => {}
    }
    event.api = Some(api);
    // `fallback` has seen an address or node.
    let node = node_endpoint(members);
    event.src_endpoint = remote_endpoint(members).or_else(|| node.clone());
    event.dst_endpoint = node;
}

/// Datastore Activity: the indices read or written in the domain, and who did it.
fn map_datastore(event: &mut OcsfEvent, members: &mut Members<'_>, class: Class<'_>, denied: bool) {
    let Class { category_name, cluster, domain, .. } = class;
    event.set_datastore_type(DatastoreType::Table);
    if denied {
        event.set_status(Status::Failure);
    } else if category_name.is_some_and(|c| c.starts_with("COMPLIANCE_")) {
        event.set_status(Status::Success);
    }
    let (user, _) = users(members, false);
    let mut actor = actor_of(user, event);
    if denied {
        if let Some(privilege) = members.take_str("audit_request_privilege") {
            actor.authorizations.push(privilege_decision(&privilege, false));
        }
    }
    let indices = members.take_strings("audit_trace_indices").unwrap_or_default();
    if !indices.is_empty() {
        event.table = Some(Table { name: Some(indices.join(",")), ..Table::default() });
    } else {
        event.set_datastore_type(DatastoreType::Database);
    }
    if cluster.is_some() {
        event.database = Some(Database {
            type_id: DatabaseType::NoSql,
            type_: Some(PRODUCT.to_owned()),
            uid: cluster.map(str::to_owned),
            name: domain.map(str::to_owned),
        });
    }
    event.message = Some(datastore_message(
        category_name.unwrap_or("Datastore"),
        members,
        &indices,
        actor.user.as_ref().and_then(|u| u.name.as_deref()),
    ));
    event.observables.extend(actor.user.as_ref().and_then(|u| user_observable("actor.user.name", u)));
    event.actor = Some(actor);
    if let Some(body) = take_body(members) {
        members.push(Cow::Borrowed("audit_request_body"), body);
    }
    // `fallback` has seen an address or node.
    let node = node_endpoint(members);
    event.src_endpoint = remote_endpoint(members).or_else(|| node.clone());
    event.dst_endpoint = node;
}

/// Entity Management of the cluster: a record without what its class needs.
fn map_entity(event: &mut OcsfEvent, members: &mut Members<'_>, class: Class<'_>, status: Option<Status>) {
    let Class { category_name, cluster, domain, .. } = class;
    if let Some(status) = status {
        event.set_status(status);
    }
    let (user, initiating) = users(members, true);
    if let Some(user) = user.or(initiating) {
        event.observables.extend(user_observable("actor.user.name", &user));
        event.actor = Some(Actor { user: Some(user), ..Actor::default() });
    }
    event.entity = Some(match (&cluster, domain) {
        (Some(cluster), domain) => ManagedEntity {
            uid: Some((*cluster).to_owned()),
            name: domain.map(str::to_owned),
            type_: Some("OpenSearch cluster".to_owned()),
            ..ManagedEntity::default()
        },
        (None, _) => ManagedEntity {
            name: Some(PRODUCT.to_owned()),
            type_: Some("Application".to_owned()),
            ..ManagedEntity::default()
        },
    });
    event.message = Some(match category_name {
        Some(category) => {
            format!("{category} record without the user, endpoint or operation it needs")
        }
        None => "OpenSearch log message that is no audit record".to_owned(),
    });
    // Entity Management has no `dst_endpoint`: the node stays in `unmapped`.
    event.src_endpoint = remote_endpoint(members);
    if let Some(body) = take_body(members) {
        members.push(Cow::Borrowed("audit_request_body"), body);
    }
}

/// Web Resource Access Activity: a request refused before any user was established.
fn map_web(
    event: &mut OcsfEvent,
    members: &mut Members<'_>,
    class: Class<'_>,
    activity: WebResourceAccessActivity,
) {
    let Class { cluster, domain, .. } = class;
    event.set_status(Status::Failure);
    let resource_type = if activity == WebResourceAccessActivity::AccessDeny {
        "Request refused for its headers"
    } else {
        "TLS connection failed"
    };
    event.message = Some(match members.peek_str("audit_request_remote_address") {
        Some(remote) => format!("{resource_type} from {remote}"),
        None => resource_type.to_owned(),
    });
    event.web_resources.push(WebResource {
        // `fallback` has seen the cluster.
        name: domain.map(str::to_owned),
        uid: cluster.map(str::to_owned),
        type_: Some("OpenSearch domain".to_owned()),
        ..WebResource::default()
    });
    event.src_endpoint = remote_endpoint(members);
    if let Some(body) = take_body(members) {
        members.push(Cow::Borrowed("audit_request_body"), body);
    }
}

/// `time`: the record's `@timestamp`, else the CloudWatch Logs event's timestamp (exact, in UTC),
/// else the time in the log4j prefix of the line (a line read from a file), else the time it is
/// mapped: never 0.
fn event_time(timestamp: Option<&str>, message: &str, context: &LogContext<'_>) -> i64 {
    timestamp
        .and_then(parse_rfc3339_ms)
        .or(context.timestamp_ms)
        .or_else(|| log4j_prefix_time_ms(message))
        .unwrap_or_else(now_ms)
}

/// The current time, ms since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

/// The plan for a category; `named` says whether some category name was read at all.
fn plan(category: Option<Category>, named: bool, members: &Members<'_>) -> Plan {
    let privilege = members.peek_str("audit_request_privilege");
    let request_type = members.peek_str("audit_transport_request_type");
    let verb = || api_activity(privilege.as_deref(), request_type.as_deref());
    let Some(category) = category else {
        return Plan::Api {
            activity: if named { ApiActivity::Other } else { ApiActivity::Unknown },
            granted: None,
        };
    };
    match category {
        Category::Authenticated => Plan::Auth { success: true },
        Category::FailedLogin => Plan::Auth { success: false },
        Category::GrantedPrivileges => {
            Plan::Api { activity: rest_verb(verb(), members), granted: Some(true) }
        }
        Category::MissingPrivileges => {
            Plan::Api { activity: rest_verb(verb(), members), granted: Some(false) }
        }
        Category::BadHeaders => Plan::Web(WebResourceAccessActivity::AccessDeny),
        Category::SslException => Plan::Web(WebResourceAccessActivity::AccessError),
        Category::SecurityIndexAttempt => {
            let activity = match verb() {
                ApiActivity::Other | ApiActivity::Unknown => DatastoreActivity::Write,
                other => datastore_activity(other),
            };
            Plan::Datastore { activity, denied: true }
        }
        Category::IndexEvent => Plan::Datastore { activity: datastore_activity(verb()), denied: false },
        Category::DocRead | Category::InternalConfigRead | Category::ExternalConfig => {
            Plan::Datastore { activity: DatastoreActivity::Read, denied: false }
        }
        Category::DocWrite | Category::InternalConfigWrite => {
            let activity = match members.peek_str("audit_compliance_operation").as_deref() {
                Some(op) if op.eq_ignore_ascii_case("CREATE") => DatastoreActivity::Create,
                Some(op) if op.eq_ignore_ascii_case("UPDATE") => DatastoreActivity::Update,
                Some(op) if op.eq_ignore_ascii_case("DELETE") => DatastoreActivity::Delete,
                _ => DatastoreActivity::Write,
            };
            Plan::Datastore { activity, denied: false }
        }
    }
}

/// A REST-layer record names no privilege or transport request: its activity follows the HTTP
/// method (and, for POST, the endpoint: `_search` reads, `_doc`/`_create` create).
fn rest_verb(activity: ApiActivity, members: &Members<'_>) -> ApiActivity {
    if activity != ApiActivity::Other {
        return activity;
    }
    let Some(method) = members.peek_str("audit_rest_request_method") else { return activity };
    let path = members.peek_str("audit_rest_request_path").unwrap_or_default();
    rest_method_activity(&method, &path)
}

/// The API activity of a REST request.
fn rest_method_activity(method: &str, path: &str) -> ApiActivity {
    const READ_ENDPOINTS: [&str; 9] =
        ["_search", "_msearch", "_count", "_mget", "_explain", "_validate", "_field_caps", "_sql", "_ppl"];
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" => ApiActivity::Read,
        "PUT" | "PATCH" => ApiActivity::Update,
        "DELETE" => ApiActivity::Delete,
        "POST" => {
            let endpoint = |names: &[&str]| path.split(['/', '?']).any(|segment| names.contains(&segment));
            if endpoint(&READ_ENDPOINTS) {
                ApiActivity::Read
            } else if endpoint(&["_doc", "_create"]) {
                ApiActivity::Create
            } else {
                ApiActivity::Update
            }
        }
        _ => ApiActivity::Other,
    }
}

/// Entity Management instead of the planned class when the record lacks what that class needs.
fn fallback(plan: Plan, category: Option<&str>, members: &Members<'_>) -> Plan {
    let has = |member| members.peek_str(member).is_some();
    let has_user = has("audit_request_effective_user");
    let has_cluster = has("audit_cluster_name");
    let has_endpoint = has("audit_request_remote_address")
        || ["audit_node_id", "audit_node_name", "audit_node_host_name"].into_iter().any(has)
        || members.peek_str("audit_node_host_address").is_some_and(|a| a.parse::<IpAddr>().is_ok());
    // `operation` reads these, in this order, down to the category.
    let has_operation = category.is_some()
        || [
            "audit_transport_request_type",
            "audit_transport_action",
            "audit_rest_request_path",
            "audit_request_privilege",
        ]
        .into_iter()
        .any(has);
    let external_config = category == Some("COMPLIANCE_EXTERNAL_CONFIG");
    let has_indices = members
        .peek_raw("audit_trace_indices")
        .and_then(|raw| serde_json::from_str::<Vec<Cow<'_, str>>>(raw.get()).ok())
        .is_some_and(|indices| indices.iter().any(|index| !index.is_empty()));
    let complete = match plan {
        Plan::Auth { .. } => has_user,
        Plan::Api { .. } => has_user && has_endpoint && has_operation,
        // The domain is the `database`, the indices the `table`: one of them is needed.
        Plan::Datastore { .. } => {
            (has_user || external_config) && has_endpoint && (has_cluster || has_indices)
        }
        Plan::Web(_) => has_cluster,
        Plan::Entity { .. } => true,
    };
    if complete {
        return plan;
    }
    Plan::Entity {
        status: match plan {
            Plan::Auth { success } => Some(if success { Status::Success } else { Status::Failure }),
            Plan::Api { granted: Some(granted), .. } => {
                Some(if granted { Status::Success } else { Status::Failure })
            }
            Plan::Datastore { denied: true, .. } | Plan::Web(_) => Some(Status::Failure),
            _ => None,
        },
    }
}

fn class_activity(plan: Plan) -> ClassActivity {
    match plan {
        Plan::Entity { .. } => EntityActivity::Other.into(),
        Plan::Auth { .. } => AuthActivity::Logon.into(),
        Plan::Api { activity, .. } => activity.into(),
        Plan::Datastore { activity, .. } => activity.into(),
        Plan::Web(activity) => activity.into(),
    }
}

/// Severity: attacks on the security index High, spoofed headers Medium, refused logins and
/// privileges, TLS failures and security-configuration changes Low, the rest Informational.
fn severity(category: Option<Category>, plan: Plan) -> Severity {
    match category {
        Some(Category::SecurityIndexAttempt) => Severity::High,
        Some(Category::BadHeaders) => Severity::Medium,
        Some(
            Category::FailedLogin
            | Category::MissingPrivileges
            | Category::SslException
            | Category::InternalConfigWrite,
        ) => Severity::Low,
        Some(_) => Severity::Informational,
        None if matches!(plan, Plan::Api { activity: ApiActivity::Unknown, .. } | Plan::Entity { .. }) => {
            Severity::Unknown
        }
        None => Severity::Informational,
    }
}

/// The API activity of a privilege (`indices:data/read/search`) or transport request type
/// (`SearchRequest`).
pub fn api_activity(privilege: Option<&str>, request_type: Option<&str>) -> ApiActivity {
    if let Some(privilege) = privilege {
        let p = privilege.to_ascii_lowercase();
        let verb = if p.contains("delete") {
            ApiActivity::Delete
        } else if p.contains("/create") {
            ApiActivity::Create
        } else if p.contains("/read/")
            || p.starts_with("cluster:monitor")
            || p.starts_with("indices:monitor")
            || p.ends_with("/get")
            || p.contains("/search")
        {
            ApiActivity::Read
        } else if p.contains("/write/")
            || p.contains("/put")
            || p.contains("/update")
            || p.contains(":admin/")
        {
            ApiActivity::Update
        } else {
            ApiActivity::Other
        };
        if verb != ApiActivity::Other {
            return verb;
        }
    }
    let Some(request_type) = request_type else { return ApiActivity::Other };
    const PREFIXES: [(&str, ApiActivity); 12] = [
        ("Create", ApiActivity::Create),
        ("Delete", ApiActivity::Delete),
        ("Get", ApiActivity::Read),
        ("Search", ApiActivity::Read),
        ("MultiGet", ApiActivity::Read),
        ("MultiSearch", ApiActivity::Read),
        ("Main", ApiActivity::Read),
        ("Put", ApiActivity::Update),
        ("Update", ApiActivity::Update),
        ("Index", ApiActivity::Update),
        ("Bulk", ApiActivity::Update),
        ("Refresh", ApiActivity::Update),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| request_type.starts_with(prefix))
        .map_or(ApiActivity::Other, |(_, a)| *a)
}

fn datastore_activity(activity: ApiActivity) -> DatastoreActivity {
    match activity {
        ApiActivity::Create => DatastoreActivity::Create,
        ApiActivity::Read => DatastoreActivity::Read,
        ApiActivity::Update => DatastoreActivity::Update,
        ApiActivity::Delete => DatastoreActivity::Delete,
        ApiActivity::Unknown | ApiActivity::Other => DatastoreActivity::Other,
    }
}

/// `audit_request_auth_method` → `auth_protocol_id`.
fn auth_protocol(method: &str) -> AuthProtocol {
    match method.to_ascii_lowercase().as_str() {
        "basic" | "internal" => AuthProtocol::Basic,
        "saml" => AuthProtocol::Saml,
        "openid" | "oidc" => AuthProtocol::OpenId,
        "kerberos" => AuthProtocol::Kerberos,
        "ldap" => AuthProtocol::Ldap,
        _ => AuthProtocol::Other,
    }
}

/// `<account>:<domain>` on Amazon OpenSearch Service (12-digit account), else the whole name
/// is the domain.
fn split_cluster(cluster: Option<&str>) -> (Option<&str>, Option<&str>) {
    let Some(cluster) = cluster else { return (None, None) };
    match cluster.split_once(':') {
        Some((account, domain))
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !domain.is_empty() =>
        {
            (Some(account), Some(domain))
        }
        _ => (None, Some(cluster)),
    }
}

/// The effective user and, when it differs and `take_initiating` is set, the initiating user
/// (who ran as the effective one). An initiating user equal to the effective one is dropped; one
/// that differs and is not taken stays in `unmapped` (`actor` has room for one user).
fn users(members: &mut Members<'_>, take_initiating: bool) -> (Option<User>, Option<User>) {
    let is_admin = members.take::<bool>("audit_request_effective_user_is_admin");
    let effective = members.take_str("audit_request_effective_user").map(|name| User {
        type_id: is_admin.map(|admin| if admin { UserType::Admin } else { UserType::User }),
        ..User::named(name.into_owned())
    });
    let initiating = match (
        effective.as_ref().and_then(|u| u.name.as_deref()),
        members.peek_str("audit_request_initiating_user"),
    ) {
        (Some(effective), Some(initiating)) if effective == initiating => {
            members.take_str("audit_request_initiating_user");
            None
        }
        (_, Some(_)) if take_initiating => {
            members.take_str("audit_request_initiating_user").map(|name| User::named(name.into_owned()))
        }
        _ => None,
    };
    (effective, initiating)
}

/// The actor: the user, else (for node-level records such as the external configuration)
/// OpenSearch itself.
fn actor_of(user: Option<User>, event: &OcsfEvent) -> Actor {
    match user {
        Some(user) => Actor { user: Some(user), ..Actor::default() },
        None if event.metadata.event_code.as_deref() == Some("COMPLIANCE_EXTERNAL_CONFIG") => {
            Actor { app_name: Some(PRODUCT.to_owned()), ..Actor::default() }
        }
        // `fallback` has seen the user.
        None => Actor::default(),
    }
}

fn privilege_decision(privilege: &str, granted: bool) -> Authorization {
    Authorization {
        decision: Some(if granted { "Allowed" } else { "Denied" }.to_owned()),
        policy: Some(Policy {
            name: Some(privilege.to_owned()),
            type_: Some("OpenSearch privilege".to_owned()),
            ..Policy::default()
        }),
    }
}

/// `api.operation`: the transport request type, else the transport action, else the REST method
/// and path, else the privilege, else the category.
fn operation(members: &mut Members<'_>, privilege: Option<&str>, category: Option<&str>) -> String {
    if let Some(request_type) = members.take_str("audit_transport_request_type") {
        return request_type.into_owned();
    }
    if let Some(action) = members.take_str("audit_transport_action") {
        return action.into_owned();
    }
    match (members.peek_str("audit_rest_request_method"), members.peek_str("audit_rest_request_path")) {
        (Some(method), Some(path)) => return format!("{method} {path}"),
        (None, Some(path)) => return path.into_owned(),
        _ => {}
    }
    // `fallback` has seen one of them.
    privilege.or(category).unwrap_or_default().to_owned()
}

fn datastore_message(
    category: &str,
    members: &Members<'_>,
    indices: &[Cow<'_, str>],
    user: Option<&str>,
) -> String {
    let mut message = category.to_owned();
    if let Some(op) = members.peek_str("audit_compliance_operation") {
        message.push(' ');
        message.push_str(&op);
    }
    if !indices.is_empty() {
        message.push_str(" index ");
        message.push_str(&indices.join(","));
    }
    let doc_id = members.peek_str("audit_trace_doc_id");
    if let Some(doc_id) = &doc_id {
        message.push_str(" document ");
        message.push_str(doc_id);
    }
    if let Some(shard) = peek_number(members, "audit_trace_shard_id") {
        message.push_str(&format!(" shard {shard}"));
    }
    if let Some(user) = user {
        message.push_str(" by ");
        message.push_str(user);
    }
    message
}

fn peek_number(members: &Members<'_>, key: &str) -> Option<i64> {
    members.peek_raw(key).and_then(|raw| raw.get().parse().ok())
}

/// `src_endpoint` from `audit_request_remote_address`: an IP, else a name.
fn remote_endpoint(members: &mut Members<'_>) -> Option<NetworkEndpoint> {
    let remote = members.take_str("audit_request_remote_address")?;
    Some(match remote.parse::<IpAddr>() {
        Ok(ip) => NetworkEndpoint::from_ip(ip),
        Err(_) => NetworkEndpoint { name: Some(remote.into_owned()), ..NetworkEndpoint::default() },
    })
}

/// `dst_endpoint`: the node that wrote the record.
fn node_endpoint(members: &mut Members<'_>) -> Option<NetworkEndpoint> {
    let uid = members.take_str("audit_node_id");
    let name = members.take_str("audit_node_name");
    let host_name = members.take_str("audit_node_host_name");
    // An address that is no IP stays in `unmapped`.
    let ip = members.peek_str("audit_node_host_address").and_then(|a| a.parse::<IpAddr>().ok());
    if ip.is_some() {
        members.take_str("audit_node_host_address");
    }
    let endpoint = NetworkEndpoint {
        uid: uid.map(Cow::into_owned),
        name: name.map(Cow::into_owned),
        hostname: host_name.map(Cow::into_owned),
        ip,
        ..NetworkEndpoint::default()
    };
    (!endpoint.is_empty()).then_some(endpoint)
}

/// A header value: OpenSearch writes lists; a single string is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderValues<'a> {
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
    One(#[serde(borrow)] Cow<'a, str>),
}

/// `http_request` from the REST members; credential headers are dropped.
fn http_request(members: &mut Members<'_>, redact: &RedactHeaders) -> Option<HttpRequest> {
    let mut request = HttpRequest::default();
    let mut any = false;
    if let Some(method) = members.peek_str("audit_rest_request_method") {
        if let Ok(parsed) = method.parse::<HttpMethod>() {
            request.http_method = Some(parsed);
            members.take_str("audit_rest_request_method");
            any = true;
        }
    }
    if let Some(path) = members.take_str("audit_rest_request_path") {
        let query_string = members.take_raw("audit_rest_request_params").and_then(|raw| {
            let query = query_string(raw);
            if query.is_none() {
                members.push(Cow::Borrowed("audit_rest_request_params"), raw);
            }
            query
        });
        request.url = Some(Url { path: Some(path.into_owned()), query_string, ..Url::default() });
        any = true;
    }
    if let Some(raw) = members.take_raw("audit_rest_request_headers") {
        match serde_json::from_str::<ordered::Pairs<'_>>(raw.get()) {
            Ok(ordered::Pairs(headers)) => {
                for (name, values) in headers {
                    if redact.contains(&name) {
                        continue;
                    }
                    let values = match values {
                        HeaderValues::Many(values) => values,
                        HeaderValues::One(value) => vec![value],
                    };
                    for value in values {
                        if name.eq_ignore_ascii_case("user-agent") && request.user_agent.is_none() {
                            request.user_agent = Some(value.to_string());
                        }
                        if name.eq_ignore_ascii_case("x-forwarded-for") {
                            request.x_forwarded_for.extend(
                                value
                                    .split(',')
                                    .map(str::trim)
                                    .filter(|v| v.parse::<IpAddr>().is_ok())
                                    .map(str::to_owned),
                            );
                        }
                        request
                            .http_headers
                            .push(HttpHeader { name: name.to_string(), value: value.into_owned() });
                    }
                }
                any = true;
            }
            Err(_) => members.push(Cow::Borrowed("audit_rest_request_headers"), raw),
        }
    }
    if let Some(agent) = members.take_str("audit_request_user_agent") {
        request.user_agent = Some(agent.into_owned());
        any = true;
    }
    any.then_some(request)
}

/// Reads a JSON object's members in order, for header maps.
mod ordered {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;

    use super::HeaderValues;

    /// The members of an object, in order.
    pub struct Pairs<'a>(pub Vec<(Cow<'a, str>, HeaderValues<'a>)>);

    impl<'de> Deserialize<'de> for Pairs<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct PairsVisitor;
            impl<'de> Visitor<'de> for PairsVisitor {
                type Value = Pairs<'de>;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a map of header names to values")
                }

                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut pairs = Vec::new();
                    while let Some((key, value)) = map.next_entry::<Cow<'de, str>, HeaderValues<'de>>()? {
                        pairs.push((key, value));
                    }
                    Ok(Pairs(pairs))
                }
            }
            deserializer.deserialize_map(PairsVisitor)
        }
    }
}

/// `k=v&k2=v2` (percent-encoded) from `audit_rest_request_params`, when every value is a string.
fn query_string(raw: &RawValue) -> Option<String> {
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> =
        serde_json::from_str::<ordered::Pairs<'_>>(raw.get()).ok().and_then(|pairs| {
            pairs
                .0
                .into_iter()
                .map(|(k, v)| match v {
                    HeaderValues::One(v) => Some((k, v)),
                    HeaderValues::Many(_) => None,
                })
                .collect()
        })?;
    if pairs.is_empty() {
        return None;
    }
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'*')
        .remove(b',');
    Some(
        pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, SET),
                    percent_encoding::utf8_percent_encode(v, SET)
                )
            })
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// `audit_request_body` unless absent, null or empty.
fn take_body<'a>(members: &mut Members<'a>) -> Option<&'a RawValue> {
    members.take_raw("audit_request_body").filter(|raw| !matches!(raw.get(), "null" | "\"\""))
}

/// The body as JSON: a string holding JSON becomes that JSON, anything else stays as it is.
fn body_json(raw: &RawValue) -> Box<RawValue> {
    if let Ok(text) = serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        if let Ok(inner) = serde_json::from_str::<&RawValue>(&text) {
            return inner.to_owned();
        }
    }
    raw.to_owned()
}

/// Re-inserts a string→value map member into `unmapped` without the redacted keys.
fn insert_redacted_map(event: &mut OcsfEvent, key: &str, raw: &RawValue, redact: &RedactHeaders) {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get()) {
        Ok(mut map) => {
            map.retain(|name, _| !redact.contains(name));
            // A map of JSON values always serializes.
            let _ = event.unmapped.insert(key, &map);
        }
        Err(_) => event.unmapped.insert_raw(key, raw.to_owned()),
    }
}

fn user_observable(name: &'static str, user: &User) -> Option<Observable> {
    user.name.as_deref().map(|n| Observable::new(name, ObservableType::UserName, n))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::ocsf::validate::validate;

    macro_rules! fixture {
        ($name:literal) => {
            ($name, include_str!(concat!("fixtures/", $name)).trim_end())
        };
    }

    const CONTEXT: LogContext<'static> = LogContext {
        log_group: "/aws/OpenSearchService/domains/search-prod/audit-logs",
        log_stream: "Qm9vdHN0cmFwTm9kZTE",
        event_id: Some("38618464961240385130364429414046216340217542315577196544"),
        timestamp_ms: Some(1_732_017_914_500),
    };

    fn options() -> MapOptions {
        MapOptions {
            include_raw: false,
            region: Some("eu-west-1".to_owned()),
            redact: RedactHeaders::with_extra("X-Api-Key").unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn map_json(message: &str, options: &MapOptions) -> (Value, Option<String>) {
        let mapped = map_message(message, &CONTEXT, options);
        let json = serde_json::to_value(&mapped.event).unwrap_or_else(|e| panic!("{e}"));
        if let Err(errors) = validate(&json) {
            panic!("schema errors:\n{}\nevent: {json:#}", errors.join("\n"));
        }
        (json, mapped.problem)
    }

    struct Case {
        fixture: (&'static str, &'static str),
        class_uid: u32,
        activity_id: u32,
        status_id: Option<u64>,
        severity_id: u64,
        expect: Vec<(&'static str, Value)>,
        /// Pointers that must be absent (e.g. a mapped field also in `unmapped`).
        absent: Vec<&'static str>,
    }

    fn case(
        fixture: (&'static str, &'static str),
        class_uid: u32,
        activity_id: u32,
        status_id: Option<u64>,
        severity_id: u64,
        expect: Vec<(&'static str, Value)>,
        absent: Vec<&'static str>,
    ) -> Case {
        Case { fixture, class_uid, activity_id, status_id, severity_id, expect, absent }
    }

    /// Members every class maps (or drops when equal to another) and so never leaves in `unmapped`.
    const ALWAYS_MAPPED: &[&str] = &[
        "audit_category",
        "@timestamp",
        "audit_cluster_name",
        "audit_format_version",
        "audit_request_remote_address",
        "audit_rest_request_method",
        "audit_rest_request_path",
        "audit_rest_request_headers",
        "audit_request_user_agent",
    ];

    fn cases() -> Vec<Case> {
        vec![
            case(
                fixture!("failed_login_aws.json"),
                3002,
                1,
                Some(2),
                2,
                vec![
                    ("/type_name", json!("Authentication: Logon")),
                    ("/user/name", json!("golfer")),
                    ("/user/type_id", json!(1)),
                    ("/service/name", json!("domain")),
                    ("/service/uid", json!("123456789012:domain")),
                    ("/cloud/account/uid", json!("123456789012")),
                    ("/cloud/region", json!("eu-west-1")),
                    ("/src_endpoint/ip", json!("123.123.123.123")),
                    ("/dst_endpoint/uid", json!("sSem4l5mS62GrF_16hJG")),
                    ("/dst_endpoint/name", json!("52f5539f7ec0ff32d343cf6ccfe")),
                    ("/http_request/http_method", json!("GET")),
                    ("/http_request/url/path", json!("/_plugins/_security/authinfo")),
                    ("/http_request/http_headers/0", json!({"name": "x-opensearch-product-origin", "value": "opensearch-dashboards"})),
                    ("/http_request/http_headers/5", json!({"name": "NO_REDACT", "value": "false"})),
                    ("/metadata/product/vendor_name", json!("AWS")),
                    ("/metadata/product/version", json!("4")),
                    ("/metadata/event_code", json!("FAILED_LOGIN")),
                    ("/metadata/original_time", json!("2024-09-20T16:31:50.748+00:00")),
                    ("/time", json!(1_726_849_910_748_i64)),
                    ("/message", json!("Login failed for user golfer")),
                    ("/unmapped/audit_request_origin", json!("REST")),
                    ("/unmapped/audit_request_layer", json!("REST")),
                    ("/observables/0", json!({"name": "user.name", "type_id": 4, "type": "User Name", "value": "golfer"})),
                    ("/observables/1/value", json!("123.123.123.123")),
                ],
                vec!["/actor", "/unmapped/audit_request_effective_user_is_admin", "/raw_data"],
            ),
            case(
                fixture!("authenticated_rest.json"),
                3002,
                1,
                Some(1),
                1,
                vec![
                    ("/user/name", json!("admin")),
                    ("/service/name", json!("opensearch")),
                    ("/service/uid", json!("opensearch")),
                    ("/dst_endpoint/ip", json!("10.129.187.24")),
                    ("/dst_endpoint/hostname", json!("10.129.187.24")),
                    ("/http_request/user_agent", json!("Go-http-client/1.1")),
                    ("/http_request/url/path", json!("/_all/_stats")),
                    ("/metadata/product/vendor_name", json!("OpenSearch Project")),
                    ("/message", json!("User admin authenticated")),
                ],
                vec!["/actor", "/cloud/account", "/unmapped/audit_request_initiating_user"],
            ),
            case(
                fixture!("missing_privileges_transport.json"),
                6003,
                2,
                Some(2),
                2,
                vec![
                    ("/type_name", json!("API Activity: Read")),
                    ("/actor/user/name", json!("test")),
                    ("/actor/authorizations/0/decision", json!("Denied")),
                    ("/actor/authorizations/0/policy/name", json!("cluster:monitor/main")),
                    ("/api/operation", json!("MainRequest")),
                    ("/api/service/name", json!("opensearch")),
                    ("/src_endpoint/ip", json!("127.0.0.1")),
                    ("/message", json!("test lacks cluster:monitor/main")),
                    ("/unmapped/audit_trace_task_id", json!("rqYqpU02R2mh75ogmxy0BA:10805662")),
                ],
                vec!["/unmapped/audit_request_privilege", "/unmapped/audit_transport_request_type", "/http_request"],
            ),
            case(
                fixture!("granted_privileges_transport.json"),
                6003,
                2,
                Some(1),
                1,
                vec![
                    ("/actor/user/name", json!("audit_log_verifier")),
                    ("/actor/authorizations/0/decision", json!("Allowed")),
                    ("/actor/authorizations/0/policy", json!({"name": "indices:monitor/settings/get", "type": "OpenSearch privilege"})),
                    ("/api/operation", json!("GetSettingsRequest")),
                    ("/dst_endpoint/name", json!("data_0")),
                    ("/unmapped/audit_transport_headers", json!({"_system_index_access_allowed": "false"})),
                ],
                vec!["/api/request"],
            ),
            case(
                fixture!("index_event_create.json"),
                6005,
                6,
                None,
                1,
                vec![
                    ("/type_name", json!("Datastore Activity: Create")),
                    ("/actor/user/name", json!("netcrk")),
                    ("/table/name", json!("new_index")),
                    ("/database", json!({"type_id": 6, "type": "OpenSearch", "uid": "opensearch", "name": "opensearch"})),
                    ("/type_id", json!(3)),
                    ("/type", json!("Table")),
                    ("/unmapped/audit_request_body", json!("{}")),
                    ("/unmapped/audit_request_privilege", json!("indices:admin/create")),
                    ("/unmapped/audit_transport_request_type", json!("CreateIndexRequest")),
                    ("/message", json!("INDEX_EVENT index new_index by netcrk")),
                ],
                vec!["/actor/authorizations", "/status_id"],
            ),
            case(
                fixture!("compliance_doc_write.json"),
                6005,
                6,
                Some(1),
                1,
                vec![
                    ("/table/name", json!("accounts")),
                    ("/database/name", json!("audit-test")),
                    ("/database/uid", json!("824471164578:audit-test")),
                    ("/cloud/account/uid", json!("824471164578")),
                    ("/src_endpoint/ip", json!("3.236.145.227")),
                    ("/unmapped/audit_trace_doc_id", json!("lxnJGXQBqZSlDB91r_uZ")),
                    ("/unmapped/audit_trace_shard_id", json!(8)),
                    ("/unmapped/audit_compliance_operation", json!("CREATE")),
                    ("/unmapped/audit_compliance_doc_version", json!(1)),
                    ("/unmapped/audit_trace_resolved_indices", json!(["accounts"])),
                    ("/message", json!("COMPLIANCE_DOC_WRITE CREATE index accounts document lxnJGXQBqZSlDB91r_uZ shard 8 by admin")),
                ],
                vec!["/unmapped/audit_trace_indices"],
            ),
            case(
                fixture!("compliance_doc_read.json"),
                6005,
                1,
                Some(1),
                1,
                vec![
                    ("/type_name", json!("Datastore Activity: Read")),
                    ("/table/name", json!("accounts")),
                    ("/unmapped/audit_trace_doc_id", json!("config:7.7.0")),
                    ("/unmapped/audit_trace_shard_id", json!(0)),
                    ("/dst_endpoint/uid", json!("saSevm9ASte0-pjAtYi2UA")),
                ],
                vec![],
            ),
            case(
                fixture!("authenticated_saml_with_credentials.json"),
                3002,
                1,
                Some(1),
                1,
                vec![
                    ("/user/name", json!("maria@example.com")),
                    ("/auth_protocol_id", json!(5)),
                    ("/auth_protocol", json!("SAML")),
                    ("/metadata/correlation_uid", json!("5c7f0a1e-9f0b-4b8e-8d43-2f6f2f9d1a11")),
                    ("/http_request/http_method", json!("POST")),
                    ("/http_request/url/query_string", json!("index=logs-2024.11&size=20")),
                    ("/http_request/user_agent", json!("Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0")),
                    ("/http_request/x_forwarded_for", json!(["198.51.100.23", "10.0.1.15"])),
                    (
                        "/http_request/http_headers",
                        json!([
                            {"name": "X-Forwarded-For", "value": "198.51.100.23, 10.0.1.15"},
                            {"name": "Host", "value": "search-prod.eu-west-1.es.amazonaws.com"},
                            {"name": "Content-Type", "value": "application/json"}
                        ]),
                    ),
                    ("/unmapped/audit_request_user_roles", json!(["readall", "kibana_user"])),
                    ("/unmapped/audit_request_id", json!("5c7f0a1e-9f0b-4b8e-8d43-2f6f2f9d1a11")),
                ],
                vec!["/actor", "/unmapped/audit_request_auth_method", "/unmapped/audit_rest_request_params"],
            ),
            case(
                fixture!("failed_login_no_user.json"),
                // Authentication needs the user, which this record does not name: Entity
                // Management of the cluster, failed, from the address that tried.
                3004,
                99,
                Some(2),
                2,
                vec![
                    ("/entity/uid", json!("111122223333:search-prod")),
                    ("/entity/name", json!("search-prod")),
                    ("/metadata/event_code", json!("FAILED_LOGIN")),
                    ("/message", json!("FAILED_LOGIN record without the user, endpoint or operation it needs")),
                    ("/src_endpoint/ip", json!("203.0.113.77")),
                    ("/unmapped/audit_request_auth_method", json!("basic")),
                ],
                vec!["/user", "/actor", "/auth_protocol", "/observables/1"],
            ),
            case(
                fixture!("missing_privileges_run_as_search.json"),
                6003,
                2,
                Some(2),
                2,
                vec![
                    ("/actor/user/name", json!("analyst")),
                    ("/actor/authorizations/0/policy/name", json!("indices:data/read/search")),
                    ("/api/operation", json!("SearchRequest")),
                    ("/api/request/uid", json!("a0b1c2d3-0000-4000-8000-000000000042")),
                    ("/api/request/data", json!({"query": {"match": {"customer": "acme"}}})),
                    ("/unmapped/audit_request_initiating_user", json!("ops-admin")),
                    ("/unmapped/audit_trace_indices", json!(["billing-*"])),
                    ("/dst_endpoint/hostname", json!("ip-10-0-3-17")),
                    ("/metadata/correlation_uid", json!("a0b1c2d3-0000-4000-8000-000000000042")),
                ],
                vec!["/unmapped/audit_request_body", "/unmapped/audit_request_id"],
            ),
            case(
                fixture!("ssl_exception.json"),
                6004,
                4,
                Some(2),
                2,
                vec![
                    ("/type_name", json!("Web Resource Access Activity: Access Error")),
                    ("/status_detail", json!("javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_unknown")),
                    ("/web_resources/0", json!({"uid": "111122223333:search-prod", "name": "search-prod", "type": "OpenSearch domain"})),
                    ("/http_request", json!({})),
                    ("/src_endpoint/ip", json!("192.0.2.200")),
                    ("/message", json!("TLS connection failed from 192.0.2.200")),
                    ("/unmapped/audit_node_id", json!("Qm9vdHN0cmFwTm9kZTE")),
                ],
                vec![],
            ),
            case(
                fixture!("bad_headers.json"),
                6004,
                2,
                Some(2),
                3,
                vec![
                    ("/type_name", json!("Web Resource Access Activity: Access Deny")),
                    ("/http_request/url/path", json!("/_cat/indices")),
                    ("/http_request/http_headers/0", json!({"name": "_opendistro_security_user", "value": "admin"})),
                    ("/http_request/user_agent", json!("python-requests/2.31.0")),
                    ("/src_endpoint/ip", json!("203.0.113.9")),
                    ("/message", json!("Request refused for its headers from 203.0.113.9")),
                ],
                vec!["/actor", "/user"],
            ),
            case(
                fixture!("security_index_attempt.json"),
                6005,
                2,
                Some(2),
                4,
                vec![
                    ("/type_name", json!("Datastore Activity: Update")),
                    ("/actor/user/name", json!("mallory")),
                    ("/actor/authorizations/0", json!({"decision": "Denied", "policy": {"name": "indices:data/write/bulk[s]", "type": "OpenSearch privilege"}})),
                    ("/table/name", json!(".opendistro_security")),
                    ("/dst_endpoint/ip", json!("10.0.3.17")),
                    ("/metadata/event_code", json!("OPENSEARCH_SECURITY_INDEX_ATTEMPT")),
                ],
                vec!["/unmapped/audit_request_privilege"],
            ),
            case(
                fixture!("internal_config_write.json"),
                6005,
                2,
                Some(1),
                2,
                vec![
                    ("/type_name", json!("Datastore Activity: Update")),
                    ("/table/name", json!(".opendistro_security")),
                    ("/unmapped/audit_trace_doc_id", json!("internalusers")),
                    ("/unmapped/audit_compliance_diff_is_noop", json!(false)),
                    ("/message", json!("COMPLIANCE_INTERNAL_CONFIG_WRITE UPDATE index .opendistro_security document internalusers shard 0 by admin")),
                ],
                vec![],
            ),
            case(
                fixture!("internal_config_read.json"),
                6005,
                1,
                Some(1),
                1,
                vec![("/actor/user/name", json!("opensearch-node")), ("/unmapped/audit_trace_doc_id", json!("roles"))],
                vec![],
            ),
            case(
                fixture!("external_config.json"),
                6005,
                1,
                Some(1),
                1,
                vec![
                    ("/actor", json!({"app_name": "OpenSearch"})),
                    ("/database/name", json!("opensearch")),
                    ("/type", json!("Database")),
                    ("/src_endpoint/hostname", json!("opensearch-0.opensearch-discovery")),
                    ("/dst_endpoint/uid", json!("rqYqpU02R2mh75ogmxy0BA")),
                    ("/unmapped/audit_compliance_file_infos/0/chcksm", json!("a3f1c9d0")),
                    ("/unmapped/audit_request_body", json!("{\"cluster.name\":\"opensearch\",\"plugins.security.audit.type\":\"log4j\"}")),
                ],
                vec!["/table"],
            ),
            case(
                fixture!("index_event_delete.json"),
                6005,
                7,
                None,
                1,
                vec![("/type_name", json!("Datastore Activity: Delete")), ("/table/name", json!("logs-2023.01,logs-2023.02"))],
                vec![],
            ),
            case(
                fixture!("cluster_settings_changed.json"),
                6003,
                99,
                None,
                1,
                vec![
                    ("/api/operation", json!("ClusterUpdateSettingsRequest")),
                    ("/metadata/event_code", json!("CLUSTER_SETTINGS_CHANGED")),
                    ("/unmapped/audit_request_privilege", json!("cluster:admin/settings/update")),
                    ("/unmapped/audit_settings_changes/persistent/cluster.routing.allocation.enable", json!("primaries")),
                    ("/src_endpoint/ip", json!("198.51.100.23")),
                    ("/dst_endpoint/uid", json!("Qm9vdHN0cmFwTm9kZTE")),
                ],
                vec![],
            ),
        ]
    }

    #[test]
    fn every_category_maps_to_its_class_with_the_expected_fields() {
        for case in cases() {
            let (name, record) = case.fixture;
            let (event, problem) = map_json(record, &options());
            assert_eq!(problem, None, "{name}");
            assert_eq!(event["class_uid"], case.class_uid, "{name}: class_uid");
            assert_eq!(event["activity_id"], case.activity_id, "{name}: activity_id");
            assert_eq!(event["type_uid"], case.class_uid * 100 + case.activity_id, "{name}");
            assert_eq!(event.get("status_id").and_then(Value::as_u64), case.status_id, "{name}: status");
            assert_eq!(event["severity_id"], case.severity_id, "{name}: severity");
            assert_eq!(event["metadata"]["uid"], CONTEXT.event_id.unwrap_or_default(), "{name}");
            assert_eq!(event["metadata"]["product"]["name"], "OpenSearch", "{name}");
            assert_eq!(event["metadata"]["profiles"], json!(["cloud"]), "{name}");
            assert_eq!(
                event["metadata"]["log_name"],
                "/aws/OpenSearchService/domains/search-prod/audit-logs:Qm9vdHN0cmFwTm9kZTE",
                "{name}"
            );
            assert_eq!(event["metadata"]["logged_time"], 1_732_017_914_500_i64, "{name}");
            assert_eq!(event["cloud"]["provider"], "AWS", "{name}");
            for (pointer, expected) in &case.expect {
                assert_eq!(event.pointer(pointer), Some(expected), "{name}: {pointer} in {event:#}");
            }
            for pointer in &case.absent {
                assert_eq!(event.pointer(pointer), None, "{name}: {pointer} must be absent in {event:#}");
            }
            let unmapped = event.get("unmapped").and_then(Value::as_object).cloned().unwrap_or_default();
            for key in ALWAYS_MAPPED {
                assert!(!unmapped.contains_key(*key), "{name}: {key} is mapped and unmapped");
            }
            // Every member of the record is somewhere: counted by the members left unmapped plus
            // the mapped ones, the record loses nothing silently.
            let record_keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(record)
                .unwrap_or_default()
                .keys()
                .cloned()
                .collect();
            for key in unmapped.keys() {
                assert!(record_keys.contains(key), "{name}: unmapped {key} is not a record member");
            }
        }
    }

    #[test]
    fn credential_headers_never_reach_the_event_raw_or_mapped() {
        let (_, record) = fixture!("authenticated_saml_with_credentials.json");
        let with_raw = MapOptions { include_raw: true, ..options() };
        let (event, _) = map_json(record, &with_raw);
        let text = event.to_string();
        for secret in ["eyJhbGciOiJSUzI1NiJ9", "Fe26.2", "k-7f3e2d1c"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let raw = event["raw_data"].as_str().unwrap_or_default();
        assert!(raw.contains(r#""Authorization":["<redacted>"]"#), "{raw}");
        assert!(raw.contains(r#""X-Api-Key":["<redacted>"]"#), "{raw}");
        assert!(raw.contains(r#""Host":["search-prod.eu-west-1.es.amazonaws.com"]"#), "{raw}");
        // Without X-Api-Key in REDACT_HEADERS the header is kept; the credentials are not.
        let (default, _) = map_json(record, &MapOptions { region: None, ..MapOptions::default() });
        let headers: Vec<&str> = default["http_request"]["http_headers"]
            .as_array()
            .map(|h| h.iter().filter_map(|h| h["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(headers, ["X-Api-Key", "X-Forwarded-For", "Host", "Content-Type"]);
        assert_eq!(default["cloud"].get("region"), None);
    }

    #[test]
    fn transport_headers_lose_redacted_names_too() {
        let record = r#"{"audit_category":"GRANTED_PRIVILEGES","audit_request_effective_user":"u","audit_request_remote_address":"10.0.0.1","audit_request_privilege":"indices:data/read/get","audit_transport_headers":{"Authorization":"Basic dTpw","_system_index_access_allowed":"false"}}"#;
        let (event, _) = map_json(record, &options());
        assert_eq!(
            event["unmapped"]["audit_transport_headers"],
            json!({"_system_index_access_allowed": "false"})
        );
        assert_eq!(event["api"]["operation"], "indices:data/read/get");
        assert_eq!(event["type_name"], "API Activity: Read");
    }

    #[test]
    fn log4j_prefixed_line_maps_like_the_bare_record() {
        let (_, record) = fixture!("authenticated_rest.json");
        let prefixed =
            format!("[2024-08-19T16:34:00,259][INFO ][sgaudit                  ] [opensearch-0] {record}");
        let (bare, _) = map_json(record, &options());
        let (with_prefix, problem) = map_json(&prefixed, &options());
        assert_eq!(problem, None);
        assert_eq!(with_prefix, bare);
    }

    #[test]
    fn message_cut_at_10000_characters_keeps_its_class_fields_and_text() {
        let filler = "x".repeat(12_000);
        let record = format!(
            r#"{{"audit_cluster_name":"111122223333:search-prod","audit_category":"FAILED_LOGIN","@timestamp":"2024-11-19T12:06:01.002+00:00","audit_request_remote_address":"203.0.113.77","audit_request_effective_user":"eve","audit_rest_request_headers":{{"Authorization":["Basic ZXZlOnNlY3JldA=="],"X-Big":["{filler}"]}}}}"#
        );
        let cut: String = record.chars().take(10_000).collect();
        let (event, problem) = map_json(&cut, &options());
        let problem = problem.unwrap_or_default();
        assert!(problem.starts_with("EOF while parsing a string at line 1 column 10000"), "{problem}");
        assert_eq!(event["class_uid"], 3002);
        assert_eq!(event["status_id"], 2);
        assert_eq!(event["user"]["name"], "eve");
        assert_eq!(event["src_endpoint"]["ip"], "203.0.113.77");
        assert_eq!(event["time"], 1_732_017_961_002_i64);
        assert_eq!(event["unmapped"]["parse_error"], problem);
        let raw = event["raw_data"].as_str().unwrap_or_default();
        assert_eq!(raw.len(), 10_000 - "Basic ZXZlOnNlY3JldA==".len() + "<redacted>".len());
        assert!(raw.starts_with(r#"{"audit_cluster_name":"111122223333:search-prod""#));
        assert!(!raw.contains("ZXZlOnNlY3JldA"), "credential in raw_data");
        assert_eq!(event.pointer("/unmapped/audit_rest_request_headers"), None, "cut member not read");
    }

    #[test]
    fn text_that_is_not_json_is_delivered_with_its_best_class() {
        // Without the user, endpoint or operation their category's class needs, these are
        // Entity Management of OpenSearch (no cluster was read), with the outcome the category
        // states and the category as `event_code`: never a placeholder user or endpoint.
        let cases: [(&str, Option<&str>, Option<u32>, &str); 4] = [
            ("[ERROR] First test message", None, None, "invalid type: sequence"),
            (
                "audit_category=MISSING_PRIVILEGES user=bob",
                Some("MISSING_PRIVILEGES"),
                Some(2),
                "expected value",
            ),
            ("audit_category: FAILED_LOGIN for bob", Some("FAILED_LOGIN"), Some(2), "expected value"),
            (
                r#"{"audit_category":"COMPLIANCE_DOC_READ","audit_trace_indices":["acc"#,
                Some("COMPLIANCE_DOC_READ"),
                None,
                "EOF while parsing",
            ),
        ];
        for (text, category, status_id, error) in cases {
            let (event, problem) = map_json(text, &options());
            assert_eq!((&event["class_uid"], &event["activity_id"]), (&json!(3004), &json!(99)), "{text}");
            assert_eq!(event["entity"], json!({"name": "OpenSearch", "type": "Application"}), "{text}");
            assert_eq!(event["metadata"].get("event_code").and_then(Value::as_str), category, "{text}");
            assert_eq!(event.get("status_id").and_then(Value::as_u64), status_id.map(u64::from), "{text}");
            assert!(event.get("actor").is_none(), "{text}");
            assert_eq!(event["raw_data"], text, "{text}");
            let message = event["unmapped"]["parse_error"].as_str().unwrap_or_default();
            assert!(message.contains(error), "{text}: {message}");
            assert_eq!(problem.as_deref(), Some(message), "{text}");
            assert_eq!(event["time"], 1_732_017_914_500_i64, "{text}: time from CloudWatch Logs");
        }
    }

    /// A whole record that lacks what its class needs is Entity Management of its cluster,
    /// keeping the user and address it has.
    #[test]
    fn records_without_what_their_class_needs_manage_their_cluster() {
        let cases = [
            // A login that names no user.
            (
                r#"{"audit_category":"FAILED_LOGIN","audit_cluster_name":"123456789012:logs","audit_request_remote_address":"10.0.0.7","@timestamp":"2024-11-19T12:00:00Z"}"#,
                Some(2),
                None,
            ),
            // A privilege check without any endpoint.
            (
                r#"{"audit_category":"GRANTED_PRIVILEGES","audit_cluster_name":"123456789012:logs","audit_request_effective_user":"bob","audit_request_privilege":"indices:data/read/search","@timestamp":"2024-11-19T12:00:00Z"}"#,
                Some(1),
                Some("bob"),
            ),
        ];
        for (record, status_id, user) in cases {
            let (event, problem) = map_json(record, &options());
            assert_eq!(problem, None);
            assert_eq!((&event["class_uid"], &event["activity_id"]), (&json!(3004), &json!(99)), "{record}");
            assert_eq!(
                event["entity"],
                json!({"uid": "123456789012:logs", "name": "logs", "type": "OpenSearch cluster"}),
                "{record}"
            );
            assert_eq!(event.get("status_id").and_then(Value::as_u64), status_id, "{record}");
            assert_eq!(event.pointer("/actor/user/name").and_then(Value::as_str), user, "{record}");
            assert_eq!(
                crate::ocsf::validate::placeholders(&event, &serde_json::from_str(record).unwrap()),
                Vec::<String>::new()
            );
        }
        let (event, _) = map_json(cases[0].0, &options());
        assert_eq!(event["src_endpoint"], json!({"ip": "10.0.0.7"}));
    }

    #[test]
    fn include_raw_copies_the_message_only_when_on() {
        let (_, record) = fixture!("granted_privileges_transport.json");
        let (with_raw, _) = map_json(record, &MapOptions { include_raw: true, ..options() });
        assert_eq!(with_raw["raw_data"], record);
        let (without, _) = map_json(record, &options());
        assert_eq!(without.get("raw_data"), None);
    }

    #[test]
    fn lines_from_a_file_have_no_uid_or_log_name() {
        let (_, record) = fixture!("compliance_doc_read.json");
        let mapped = map_message(record, &LogContext::default(), &options());
        let event = serde_json::to_value(&mapped.event).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event["metadata"].get("uid"), None);
        assert_eq!(event["metadata"].get("log_name"), None);
        assert_eq!(event["metadata"].get("logged_time"), None);
        assert_eq!(event["time"], 1_598_896_625_015_i64);
    }

    #[test]
    fn opendistro_index_attempt_and_compliance_operations_pick_their_activity() {
        let cases = [
            (
                r#"{"audit_category":"OPENDISTRO_SECURITY_INDEX_ATTEMPT","audit_cluster_name":"123456789012:logs","audit_request_effective_user":"x","audit_request_remote_address":"10.0.0.2"}"#,
                "Datastore Activity: Write",
                4,
            ),
            (
                r#"{"audit_category":"COMPLIANCE_DOC_WRITE","audit_cluster_name":"123456789012:logs","audit_compliance_operation":"DELETE","audit_request_effective_user":"x","audit_request_remote_address":"10.0.0.2","audit_trace_indices":["a"]}"#,
                "Datastore Activity: Delete",
                1,
            ),
            (
                r#"{"audit_category":"COMPLIANCE_DOC_WRITE","audit_cluster_name":"123456789012:logs","audit_compliance_operation":"UPDATE","audit_request_effective_user":"x","audit_request_remote_address":"10.0.0.2","audit_trace_indices":["a"]}"#,
                "Datastore Activity: Update",
                1,
            ),
            (
                r#"{"audit_category":"COMPLIANCE_INTERNAL_CONFIG_WRITE","audit_cluster_name":"123456789012:logs","audit_request_effective_user":"x","audit_request_remote_address":"10.0.0.2"}"#,
                "Datastore Activity: Write",
                2,
            ),
        ];
        for (record, type_name, severity) in cases {
            let (event, _) = map_json(record, &options());
            assert_eq!(event["type_name"], type_name, "{record}");
            assert_eq!(event["severity_id"], severity, "{record}");
        }
    }

    #[test]
    fn api_activity_follows_the_privilege_then_the_request_type() {
        let cases = [
            (Some("indices:data/read/search"), None, ApiActivity::Read),
            (Some("cluster:monitor/health"), None, ApiActivity::Read),
            (Some("indices:monitor/settings/get"), None, ApiActivity::Read),
            (Some("indices:admin/create"), None, ApiActivity::Create),
            (Some("indices:admin/delete"), None, ApiActivity::Delete),
            (Some("indices:data/write/delete"), None, ApiActivity::Delete),
            (Some("indices:data/write/index"), None, ApiActivity::Update),
            (Some("indices:admin/mapping/put"), None, ApiActivity::Update),
            (Some("cluster:admin/opendistro/ism/policy/write"), None, ApiActivity::Update),
            (Some("restapi:admin/internalusers"), None, ApiActivity::Update),
            (Some("plugin:custom/thing"), Some("GetRequest"), ApiActivity::Read),
            (None, Some("CreateIndexRequest"), ApiActivity::Create),
            (None, Some("DeleteIndexRequest"), ApiActivity::Delete),
            (None, Some("MultiSearchRequest"), ApiActivity::Read),
            (None, Some("BulkShardRequest"), ApiActivity::Update),
            (None, Some("NodesInfoRequest"), ApiActivity::Other),
            (None, None, ApiActivity::Other),
        ];
        for (privilege, request_type, expected) in cases {
            assert_eq!(api_activity(privilege, request_type), expected, "{privilege:?} {request_type:?}");
        }
    }

    #[test]
    fn cluster_names_split_into_account_and_domain_only_in_the_aws_form() {
        let cases = [
            (Some("123456789012:domain"), (Some("123456789012"), Some("domain"))),
            (Some("opensearch"), (None, Some("opensearch"))),
            (Some("12345:short"), (None, Some("12345:short"))),
            (Some("123456789012:"), (None, Some("123456789012:"))),
            (None, (None, None)),
        ];
        for (cluster, expected) in cases {
            assert_eq!(split_cluster(cluster), expected, "{cluster:?}");
        }
    }
}
