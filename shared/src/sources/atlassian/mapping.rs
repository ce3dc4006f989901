//! Atlassian audit records → OCSF 1.8.0 (api-contracts.md §5.2, §5.3, §6.1, §6.2; the whole table
//! and every decision are in `docs/mappings/atlassian.md`). Pure: no I/O.
//!
//! Each product's record is read into [`Facts`] (who, from where, about what), the class comes
//! from [`classify`], and one builder fills the class's attributes. Fields no attribute takes are
//! kept verbatim in `unmapped`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::classify::{
    api_activity_of, classify, entity_activity_of, is_token_action, noun_of_type, nouns_in, subject_phrase,
    Kind,
};
use crate::ocsf::{
    Actor, Api, EntityActivity, EntityType, Feature, Group, GroupActivity, Location, ManagedEntity, Metadata,
    NetworkEndpoint, Observable, ObservableType, OcsfEvent, Product, ResourceDetails, Service, Status,
    Unmapped, User, UserAccessActivity, UserType,
};
use crate::timestamp::parse_rfc3339_ms;

/// The vendor of every product here.
pub(crate) const VENDOR: &str = "Atlassian";
/// `metadata.product.name` of organization audit log events.
pub(crate) const ORG_PRODUCT: &str = "Atlassian Administration";
/// `metadata.product.name` of Jira audit records.
pub(crate) const JIRA_PRODUCT: &str = "Jira";
/// `metadata.product.name` of Confluence audit records.
pub(crate) const CONFLUENCE_PRODUCT: &str = "Confluence";

/// Why a record could not be mapped (the poller dead-letters it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MappingError {
    /// Not a JSON object.
    #[error("{product} record is not a JSON object")]
    NotAnObject {
        /// The product.
        product: &'static str,
    },
    /// A field the mapping needs is missing or unreadable.
    #[error("{product} record {id}: {field} is missing or not valid")]
    Field {
        /// The product.
        product: &'static str,
        /// The record id, or "(no id)".
        id: String,
        /// The field.
        field: &'static str,
    },
}

/// What a record says, whatever the product.
struct Facts {
    product: &'static str,
    uid: String,
    time_ms: i64,
    original_time: String,
    logged_time: Option<i64>,
    tenant: Option<String>,
    log_name: &'static str,
    /// `metadata.event_code` and `api.operation`: the action or summary.
    action: String,
    category: Option<String>,
    message: Option<String>,
    actor: Option<User>,
    /// An app that acted (organization log actors such as `{"id":"confluence","name":"Confluence"}`).
    actor_app: Option<String>,
    actor_app_uid: Option<String>,
    /// Where the request came from; may have a location and no address.
    src: Option<NetworkEndpoint>,
    /// The `name` and `id` a record's changed values give (the object a summary names, e.g. the
    /// request type of "Request type deleted").
    changed_name: Option<String>,
    changed_id: Option<String>,
    users: Vec<User>,
    groups: Vec<Group>,
    entities: Vec<ManagedEntity>,
    resources: Vec<ResourceDetails>,
    /// The objects the resources came from, verbatim: `unmapped` in classes without `resources`.
    objects: Vec<(&'static str, Value)>,
    privileges: Vec<String>,
    unmapped: Unmapped,
}

// ---------------------------------------------------------------------------------------------
// Organization audit log (§5.2).

/// The processing or event time of an organization event (the poll position), and its id.
pub(crate) fn org_position(record: &Value) -> (Option<&str>, Option<i64>) {
    let id = record.get("id").and_then(Value::as_str).filter(|s| !s.is_empty());
    let attributes = record.get("attributes");
    let time =
        |key| attributes.and_then(|a| a.get(key)).and_then(Value::as_str).and_then(parse_atlassian_time);
    (id, time("processedAt").or_else(|| time("time")))
}

/// Maps one organization audit log event (`data[]` item).
pub(crate) fn map_org_event(json: &str, org_id: &str, include_raw: bool) -> Result<OcsfEvent, MappingError> {
    const P: &str = ORG_PRODUCT;
    let mut record = object(json, P)?;
    let id = take_str(&mut record, "id").ok_or(MappingError::Field {
        product: P,
        id: "(no id)".into(),
        field: "id",
    })?;
    let field = |field| MappingError::Field { product: P, id: id.clone(), field };
    if record.get("type").and_then(Value::as_str) == Some("events") {
        record.remove("type");
    }
    let mut attributes = take_obj(&mut record, "attributes").ok_or_else(|| field("attributes"))?;
    let original_time = take_str(&mut attributes, "time").ok_or_else(|| field("attributes.time"))?;
    let time_ms = parse_atlassian_time(&original_time).ok_or_else(|| field("attributes.time"))?;
    let mut unmapped = Unmapped::default();
    let logged_time = match take_str(&mut attributes, "processedAt") {
        Some(text) => {
            let parsed = parse_atlassian_time(&text);
            if parsed.is_none() {
                keep(&mut unmapped, "processedAt", &Value::String(text));
            }
            parsed
        }
        None => None,
    };
    // No action: the event has no code and is never API Activity (which needs an operation).
    let action = take_str(&mut attributes, "action").unwrap_or_default();

    let mut actor_user = None;
    let mut actor_app = None;
    let mut actor_app_uid = None;
    if let Some(mut actor) = take_obj(&mut attributes, "actor") {
        if is_app_actor(&actor) {
            actor_app_uid = take_str(&mut actor, "id");
            actor_app = take_str(&mut actor, "name").or_else(|| actor_app_uid.clone());
        }
        let mut user = person(&mut actor, &["id"], &["name", "displayName"], &["email"]);
        if let Some(mut auth) = take_obj(&mut actor, "auth") {
            if let Some(token) = take_str(&mut auth, "tokenId") {
                user.credential_uid = Some(token);
            }
            leftovers(&mut unmapped, "actor.auth", auth);
        }
        if let Some(on_behalf_of) = actor.remove("onBehalfOf").filter(|v| !v.is_null()) {
            keep(&mut unmapped, "actor.onBehalfOf", &on_behalf_of);
        }
        actor.remove("links");
        leftovers(&mut unmapped, "actor", actor);
        if user.is_identified() {
            actor_user = Some(user);
        }
    }

    let mut facts = Facts {
        product: P,
        uid: id,
        time_ms,
        original_time,
        logged_time,
        tenant: Some(org_id.to_string()).filter(|s| !s.is_empty()),
        log_name: "organization audit log",
        action,
        category: None,
        message: None,
        actor: actor_user,
        actor_app,
        actor_app_uid,
        src: None,
        changed_name: None,
        changed_id: None,
        users: Vec::new(),
        groups: Vec::new(),
        entities: Vec::new(),
        resources: Vec::new(),
        objects: Vec::new(),
        privileges: Vec::new(),
        unmapped,
    };
    for key in ["context", "container"] {
        if let Some(items) = attributes.remove(key) {
            for item in items.as_array().into_iter().flatten() {
                org_object(item, &mut facts);
            }
            facts.objects.push((key, items));
        }
    }
    if let Some(location) = take_obj(&mut attributes, "location") {
        facts.src = org_location(location, &mut facts.unmapped);
    }
    if let Some(mut message) = take_obj(&mut record, "message") {
        facts.message = take_str(&mut message, "content");
        if message.get("format").and_then(Value::as_str) == Some("simple") {
            message.remove("format");
        }
        leftovers(&mut facts.unmapped, "message", message);
    }
    record.remove("links");
    for (key, value) in attributes.into_iter().chain(record) {
        keep(&mut facts.unmapped, &key, &value);
    }
    let mut event = build(facts);
    if include_raw {
        event.raw_data = Some(one_line(json));
    }
    Ok(event)
}

/// One `context[]`/`container[]` item: a user, a group, or another entity; always a resource.
fn org_object(item: &Value, facts: &mut Facts) {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
    let id = item.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let attributes = item.get("attributes").and_then(Value::as_object);
    let attr = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| attributes.and_then(|a| a.get(*k)).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = attr(&["name", "displayName", "siteName", "title", "label", "groupName", "spaceName", "key"]);
    match kind.as_str() {
        k if k.ends_with("users") || k.ends_with("user") => {
            let user = User {
                uid: id.clone(),
                name: name.clone(),
                email_addr: attr(&["email", "emailAddress"]).filter(|e| is_email(e)),
                ..User::default()
            };
            if user.is_identified() {
                facts.users.push(user);
            }
        }
        "groups" | "group" => {
            if id.is_some() || name.is_some() {
                facts.groups.push(Group { uid: id.clone(), name: name.clone(), ..Group::default() });
            }
        }
        _ => {
            if id.is_some() || name.is_some() {
                facts.entities.push(ManagedEntity {
                    uid: id.clone(),
                    name: name.clone(),
                    type_id: Some(entity_type(&kind)),
                    type_: Some(kind.clone()).filter(|k| !k.is_empty()),
                    ..ManagedEntity::default()
                });
            }
        }
    }
    if id.is_some() || name.is_some() {
        facts.resources.push(ResourceDetails {
            uid: id,
            name,
            type_: Some(kind).filter(|k| !k.is_empty()),
            data: attributes.and_then(|a| serde_json::value::to_raw_value(a).ok()),
            ..ResourceDetails::default()
        });
    }
}

/// `attributes.location` → `src_endpoint` (ip, city, region, country, `geo` as continent).
fn org_location(mut location: Map<String, Value>, unmapped: &mut Unmapped) -> Option<NetworkEndpoint> {
    let ip_text = take_str(&mut location, "ip");
    let ip = ip_text.as_deref().and_then(|t| t.trim().parse::<IpAddr>().ok());
    if let (Some(text), None) = (&ip_text, ip) {
        keep(unmapped, "location.ip", &Value::String(text.clone()));
    }
    let country = take_str(&mut location, "countryName");
    let mut place = Location {
        city: take_str(&mut location, "city"),
        region: take_str(&mut location, "regionName"),
        continent: take_str(&mut location, "geo"),
        ..Location::default()
    };
    match country {
        Some(code) if code.len() == 2 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
            place.country = Some(code.to_ascii_uppercase());
        }
        Some(name) => place.desc = Some(name),
        None => {}
    }
    leftovers(unmapped, "location", location);
    let mut endpoint = match ip {
        Some(ip) => NetworkEndpoint::from_ip(ip),
        None => NetworkEndpoint::default(),
    };
    if place.is_identified() {
        endpoint.location = Some(place);
    } else if place.continent.is_some() {
        // Only `geo` (a region code): the schema's location needs a city, region or country.
        if let Ok(raw) = serde_json::to_value(&place) {
            keep(unmapped, "location", &raw);
        }
    }
    (endpoint.ip.is_some() || endpoint.location.is_some()).then_some(endpoint)
}

/// Whether an organization log actor is an app rather than a person: its `email` is not an
/// address but a label ("Atlassian app"), or its `type`/`actorType` names something else than a
/// user.
fn is_app_actor(actor: &Map<String, Value>) -> bool {
    let text = |key| actor.get(key).and_then(Value::as_str).map(str::to_ascii_lowercase);
    let labelled = text("email").is_some_and(|e| !is_email(&e) && e.split_whitespace().any(|w| w == "app"));
    let typed = ["type", "actorType"]
        .into_iter()
        .filter_map(text)
        .any(|t| !matches!(t.as_str(), "user" | "users" | "person" | "atlassian" | "customer" | "managed"));
    labelled || typed
}

// ---------------------------------------------------------------------------------------------
// Jira audit records (§6.1).

/// The id and creation time of a Jira record.
pub(crate) fn jira_position(record: &Value) -> (Option<String>, Option<i64>) {
    let id = match record.get("id") {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    (id, record.get("created").and_then(Value::as_str).and_then(parse_atlassian_time))
}

/// Maps one Jira audit record of `site` (its host).
pub(crate) fn map_jira_record(json: &str, site: &str, include_raw: bool) -> Result<OcsfEvent, MappingError> {
    const P: &str = JIRA_PRODUCT;
    let mut record = object(json, P)?;
    let value = Value::Object(record.clone());
    let (id, time_ms) = jira_position(&value);
    let id = id.ok_or(MappingError::Field { product: P, id: "(no id)".into(), field: "id" })?;
    let time_ms =
        time_ms.ok_or_else(|| MappingError::Field { product: P, id: id.clone(), field: "created" })?;
    record.remove("id");
    let original_time = take_str(&mut record, "created").unwrap_or_default();
    let summary = take_str(&mut record, "summary").unwrap_or_default();
    let description = take_str(&mut record, "description");
    let mut unmapped = Unmapped::default();
    // `authorKey` is an opaque user key ("ug:0613fc34-…" on Cloud), not a name.
    let actor = User {
        uid: take_str(&mut record, "authorAccountId"),
        uid_alt: take_str(&mut record, "authorKey"),
        ..User::default()
    };
    let src = take_str(&mut record, "remoteAddress")
        .and_then(|text| address(&text, &mut unmapped, "remoteAddress"));
    let facts = Facts {
        product: P,
        uid: id,
        time_ms,
        original_time,
        logged_time: None,
        tenant: Some(site.to_string()).filter(|s| !s.is_empty()),
        log_name: "audit records",
        message: description.or_else(|| Some(summary.clone()).filter(|s| !s.is_empty())),
        action: summary,
        category: take_str(&mut record, "category"),
        actor: (actor.uid.is_some() || actor.uid_alt.is_some()).then_some(actor),
        actor_app: None,
        actor_app_uid: None,
        src,
        changed_name: None,
        changed_id: None,
        users: Vec::new(),
        groups: Vec::new(),
        entities: Vec::new(),
        resources: Vec::new(),
        objects: Vec::new(),
        privileges: Vec::new(),
        unmapped,
    };
    Ok(site_event(record, &JIRA_NAMES, facts, json, include_raw))
}

// ---------------------------------------------------------------------------------------------
// Confluence audit records (§6.2).

/// The id of a Confluence record, which has none of its own: a hash of the site and the record
/// (keys sorted, so the same record always has the same id), and its creation time.
pub(crate) fn confluence_position(record: &Value, site: &str) -> (String, Option<i64>) {
    let id = crate::hash::sha256_hex(&[site.as_bytes(), b"\n", canonical(record).as_bytes()], 16);
    (id, record.get("creationDate").and_then(Value::as_i64))
}

/// Maps one Confluence audit record of `site` (its host).
pub(crate) fn map_confluence_record(
    json: &str,
    site: &str,
    include_raw: bool,
) -> Result<OcsfEvent, MappingError> {
    const P: &str = CONFLUENCE_PRODUCT;
    let mut record = object(json, P)?;
    let (id, time_ms) = confluence_position(&Value::Object(record.clone()), site);
    let time_ms =
        time_ms.ok_or_else(|| MappingError::Field { product: P, id: id.clone(), field: "creationDate" })?;
    let original_time = record.remove("creationDate").map(|v| v.to_string()).unwrap_or_default();
    let summary = take_str(&mut record, "summary").unwrap_or_default();
    let description = take_str(&mut record, "description");
    let mut unmapped = Unmapped::default();
    let actor = take_obj(&mut record, "author").and_then(|author| confluence_author(author, &mut unmapped));
    let src = take_str(&mut record, "remoteAddress")
        .and_then(|text| address(&text, &mut unmapped, "remoteAddress"));
    let facts = Facts {
        product: P,
        uid: id,
        time_ms,
        original_time,
        logged_time: None,
        tenant: Some(site.to_string()).filter(|s| !s.is_empty()),
        log_name: "audit records",
        message: description.or_else(|| Some(summary.clone()).filter(|s| !s.is_empty())),
        action: summary,
        category: take_str(&mut record, "category"),
        actor,
        actor_app: None,
        actor_app_uid: None,
        src,
        changed_name: None,
        changed_id: None,
        users: Vec::new(),
        groups: Vec::new(),
        entities: Vec::new(),
        resources: Vec::new(),
        objects: Vec::new(),
        privileges: Vec::new(),
        unmapped,
    };
    Ok(site_event(record, &CONFLUENCE_NAMES, facts, json, include_raw))
}

/// What Jira and Confluence call the same parts of an audit record.
struct SiteNames {
    /// The object the record is about.
    object: &'static str,
    /// The objects associated with it.
    associated: &'static str,
    /// An object's type.
    object_type: &'static str,
    /// A changed value's field name, new and old value.
    field: &'static str,
    new_value: &'static str,
    old_value: &'static str,
}

const JIRA_NAMES: SiteNames = SiteNames {
    object: "objectItem",
    associated: "associatedItems",
    object_type: "typeName",
    field: "fieldName",
    new_value: "changedTo",
    old_value: "changedFrom",
};

const CONFLUENCE_NAMES: SiteNames = SiteNames {
    object: "affectedObject",
    associated: "associatedObjects",
    object_type: "objectType",
    field: "name",
    new_value: "newValue",
    old_value: "oldValue",
};

/// The event of a Jira or Confluence record: its objects and changed values read into `facts`,
/// every other member kept in `unmapped`.
fn site_event(
    mut record: Map<String, Value>,
    names: &SiteNames,
    mut facts: Facts,
    json: &str,
    include_raw: bool,
) -> OcsfEvent {
    if let Some(item) = record.remove(names.object) {
        site_object(&item, names.object_type, &mut facts);
        facts.objects.push((names.object, item));
    }
    if let Some(items) = record.remove(names.associated) {
        for item in items.as_array().into_iter().flatten() {
            site_object(item, names.object_type, &mut facts);
        }
        facts.objects.push((names.associated, items));
    }
    if let Some(changes) = record.get("changedValues").and_then(Value::as_array) {
        let values = [names.new_value, names.old_value];
        facts.privileges = privileges(changes, names.field, names.new_value);
        facts.changed_name = changed(changes, names.field, "name", values);
        facts.changed_id = changed(changes, names.field, "id", values);
    }
    for (key, value) in record {
        keep(&mut facts.unmapped, &key, &value);
    }
    let mut event = build(facts);
    if include_raw {
        event.raw_data = Some(one_line(json));
    }
    event
}

/// A Confluence `author`: `displayName` is the person (`publicName` is "Unknown user" on real
/// records, `username`/`userKey` are opaque ids), `accountId` the uid. The System author
/// (`type: "system"`, or no account and `displayName: "System"`) is the system, not a user.
fn confluence_author(mut author: Map<String, Value>, unmapped: &mut Unmapped) -> Option<User> {
    let uid = take_str(&mut author, "accountId");
    let name = take_str(&mut author, "displayName");
    let kind = take_str(&mut author, "type");
    if author.get("operations").is_some_and(Value::is_null) {
        author.remove("operations");
    }
    let anonymous = uid.is_none() && !["userKey", "username"].iter().any(|k| author.get(*k).is_some());
    let system = kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("system"))
        || (anonymous && name.as_deref() == Some("System"));
    let type_id = if system {
        UserType::System
    } else if kind.as_deref() == Some("user") {
        UserType::User
    } else {
        UserType::Unknown
    };
    if let Some(kind) = kind {
        keep(unmapped, "author.type", &Value::String(kind));
    }
    leftovers(unmapped, "author", author);
    (uid.is_some() || name.is_some()).then(|| User { uid, name, type_id: Some(type_id), ..User::default() })
}

/// A Jira `objectItem`/`associatedItems[]` or Confluence `affectedObject`/`associatedObjects[]`.
fn site_object(item: &Value, type_key: &str, facts: &mut Facts) {
    let text =
        |key: &str| item.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let kind = text(type_key).unwrap_or_default();
    let (id, name) = (text("id"), text("name"));
    if id.is_none() && name.is_none() {
        return;
    }
    match kind.to_ascii_lowercase().as_str() {
        "user" => facts.users.push(User { uid: id.clone(), name: name.clone(), ..User::default() }),
        "group" => {
            // Confluence Cloud names groups `name:<group id>`.
            let (name, uid) = match (name.as_deref().and_then(split_group_id), &id) {
                (Some((n, u)), None) => (Some(n.to_string()), Some(u.to_string())),
                _ => (name.clone(), id.clone()),
            };
            facts.groups.push(Group { uid, name, ..Group::default() });
        }
        _ => facts.entities.push(ManagedEntity {
            uid: id.clone(),
            name: name.clone(),
            type_id: Some(entity_type(&kind)),
            type_: Some(kind.clone()).filter(|k| !k.is_empty()),
            ..ManagedEntity::default()
        }),
    }
    facts.resources.push(ResourceDetails {
        uid: id,
        name,
        type_: Some(kind).filter(|k| !k.is_empty()),
        ..ResourceDetails::default()
    });
}

/// `jira-software-users:b8d81944-e737-4da0-94ca-165fa5c0635c` → the name and the UUID.
fn split_group_id(text: &str) -> Option<(&str, &str)> {
    let (name, id) = text.rsplit_once(':')?;
    let uuid = id.len() == 36
        && id
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    (uuid && !name.is_empty()).then_some((name, id))
}

/// The first non-empty of `values` of the changed value whose `field_key` is `field`.
fn changed(changes: &[Value], field_key: &str, field: &str, values: [&str; 2]) -> Option<String> {
    let change = changes.iter().find(|c| c.get(field_key).and_then(Value::as_str) == Some(field))?;
    values
        .iter()
        .find_map(|k| change.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .map(str::to_string)
}

/// Permission or role names from changed values whose field names a permission or role.
fn privileges(changes: &[Value], field_key: &str, value_key: &str) -> Vec<String> {
    changes
        .iter()
        .filter(|c| {
            c.get(field_key).and_then(Value::as_str).is_some_and(|f| {
                let f = f.to_ascii_lowercase();
                f.contains("permission") || f.contains("role")
            })
        })
        .filter_map(|c| {
            c.get(value_key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The event, by class.

fn build(mut facts: Facts) -> OcsfEvent {
    let kind = classify(&facts.action, facts.category.as_deref());
    // A grant to a group (and to no user) is the group's privilege change.
    let kind = match kind {
        Kind::Access(activity) if facts.users.is_empty() && !facts.groups.is_empty() => {
            Kind::Group(match activity {
                UserAccessActivity::RevokePrivileges => GroupActivity::RevokePrivileges,
                _ => GroupActivity::AssignPrivileges,
            })
        }
        other => other,
    };
    // The subject each class requires, from the record only: who logged in is the actor; an API
    // token created is the actor's own (Atlassian users create API tokens only for their own
    // account; an admin revoking one must be told whose); any other subject must be named by the
    // record's objects.
    let subject_user = match kind {
        Kind::Auth { .. } => facts.users.first().cloned().or_else(|| facts.actor.clone()),
        Kind::Account(_)
            if is_token_action(&facts.action)
                && entity_activity_of(&facts.action) == EntityActivity::Create =>
        {
            facts.users.first().cloned().or_else(|| facts.actor.clone())
        }
        _ => facts.users.first().cloned(),
    };
    let entity = match kind {
        Kind::Entity { noun, .. } => pick_entity(&facts, noun),
        _ => None,
    };
    // A class whose subject the record does not name is API Activity on the action: never a
    // placeholder subject, never the actor as the subject.
    let kind = match kind {
        Kind::Auth { .. } | Kind::Account(_) | Kind::Access(_) if subject_user.is_none() => {
            Kind::Api(api_activity_of(&facts.action))
        }
        Kind::Group(_) if facts.groups.is_empty() => Kind::Api(api_activity_of(&facts.action)),
        Kind::Entity { .. } if entity.is_none() => Kind::Api(api_activity_of(&facts.action)),
        other => other,
    };
    let actor = Actor {
        user: facts.actor.clone(),
        app_name: facts.actor_app.clone(),
        app_uid: facts.actor_app_uid.clone(),
        ..Actor::default()
    };
    // API Activity requires an actor, a source endpoint and an operation. A record that lacks
    // one is Entity Management of the object it names: never a placeholder actor or endpoint.
    let has_ip = facts.src.as_ref().is_some_and(|s| s.ip.is_some());
    let (kind, entity) = match kind {
        Kind::Api(_) if actor.is_empty() || !has_ip || facts.action.is_empty() => {
            let (entity, activity) = named_object(&facts);
            (Kind::Entity { activity, noun: "object" }, Some(entity))
        }
        other => (other, entity),
    };
    let mut product = Product::new(facts.product, VENDOR);
    product.feature = facts.category.clone().map(|name| Feature { name });
    let mut metadata = Metadata::new(product);
    metadata.uid = Some(facts.uid);
    metadata.event_code = Some(facts.action.clone()).filter(|a| !a.is_empty());
    metadata.original_time = Some(facts.original_time);
    metadata.logged_time = facts.logged_time;
    metadata.tenant_uid = facts.tenant;
    metadata.log_name = Some(facts.log_name.into());
    let mut event = OcsfEvent::new(kind.class_activity(), facts.time_ms, metadata);
    event.message = facts.message;
    event.unmapped = std::mem::take(&mut facts.unmapped);

    if let Some(user) = &actor.user {
        if let Some(name) = &user.name {
            event.observables.push(Observable::new(
                "actor.user.name",
                ObservableType::UserName,
                name.clone(),
            ));
        }
        if let Some(email) = &user.email_addr {
            event.observables.push(Observable::new(
                "actor.user.email_addr",
                ObservableType::EmailAddress,
                email.clone(),
            ));
        }
    }
    if let Some(ip) = facts.src.as_ref().and_then(|s| s.ip) {
        event.observables.push(Observable::new("src_endpoint.ip", ObservableType::IpAddress, ip.to_string()));
    }
    let mut takes_resources = false;
    match kind {
        Kind::Auth { failed, .. } => {
            event.user = subject_user;
            event.service = Some(Service::named(facts.product));
            event.set_status(if failed { Status::Failure } else { Status::Success });
        }
        Kind::Account(_) => event.user = subject_user,
        Kind::Group(activity) => {
            event.group = facts.groups.first().cloned();
            event.user = facts.users.first().cloned();
            if matches!(activity, GroupActivity::AssignPrivileges | GroupActivity::RevokePrivileges) {
                event.privileges = privileges_or_action(facts.privileges, &facts.action);
            }
        }
        Kind::Access(_) => {
            event.user = subject_user;
            event.privileges = privileges_or_action(facts.privileges, &facts.action);
            takes_resources = true;
        }
        Kind::Entity { .. } => event.entity = entity,
        Kind::Api(_) => {
            let mut api = Api::new(facts.action.clone());
            api.service = Some(Service::named(facts.product));
            event.api = Some(api);
            takes_resources = true;
        }
    }
    if let Some(user) = event.user.as_ref() {
        if let Some(name) = &user.name {
            event.observables.push(Observable::new("user.name", ObservableType::UserName, name.clone()));
        }
    }
    if takes_resources {
        event.resources = facts.resources;
    } else {
        for (key, value) in &facts.objects {
            keep(&mut event.unmapped, key, value);
        }
    }
    // Only what the record says: API Activity was chosen above only when it names both.
    if !actor.is_empty() {
        event.actor = Some(actor);
    }
    event.src_endpoint = match facts.src {
        Some(src) if src.ip.is_some() => Some(src),
        Some(src) => {
            // A location without an address: the schema's endpoint needs an identifier.
            if let Ok(raw) = serde_json::to_value(&src.location) {
                keep(&mut event.unmapped, "location", &raw);
            }
            None
        }
        None => None,
    };
    event
}

/// The entity of an Entity Management event: the first object whose type is a noun the text
/// names (`PROJECT_ROLE` for "Project role deleted", `apps` for `marketplace_app_installed`);
/// else the object the text names by its own words ("Request type" of "Request type deleted",
/// "data classification policy"), with the `name`/`id` of its changed values when it has them.
/// `None` when the record identifies nothing.
fn pick_entity(facts: &Facts, noun: &'static str) -> Option<ManagedEntity> {
    let named = nouns_in(&facts.action);
    let matching = facts
        .entities
        .iter()
        .find(|e| e.type_.as_deref().and_then(noun_of_type).is_some_and(|n| named.contains(&n)));
    if let Some(entity) = matching {
        return Some(entity.clone());
    }
    let phrase = subject_phrase(&facts.action);
    let name = facts.changed_name.clone().or_else(|| phrase.clone());
    let uid = facts.changed_id.clone();
    if name.is_none() && uid.is_none() {
        return None;
    }
    // A noun only the category gave ("projects" for "Request type deleted") does not say what
    // the object is; the summary's own words do.
    let noun = if named.is_empty() { None } else { Some(noun) };
    Some(ManagedEntity {
        uid,
        name,
        type_id: Some(noun.map_or(EntityType::Other, entity_type)),
        type_: phrase.or_else(|| noun.map(str::to_string)),
        ..ManagedEntity::default()
    })
}

/// The entity and activity of an event API Activity cannot hold (no actor, no source address or
/// no action): the first object the record names (Jira `objectItem`, Confluence `affectedObject`,
/// the organization log's `context`/`container`, then their associated objects), else the object
/// its changed values name (`name`/`id`). The action's verb is the activity when the text names
/// that object's kind; a change to something inside it ("removed content restriction" on a site)
/// updates it, a read reads it. A record that names no object at all is about the product whose
/// log holds it, activity Other: the verb is not the product's.
fn named_object(facts: &Facts) -> (ManagedEntity, EntityActivity) {
    let verb = entity_activity_of(&facts.action);
    let phrase = subject_phrase(&facts.action);
    let within = |named: bool| match verb {
        _ if named => verb,
        EntityActivity::Read | EntityActivity::Other => verb,
        _ => EntityActivity::Update,
    };
    if let Some(object) = facts.resources.first() {
        let kind = object.type_.as_deref().unwrap_or_default();
        let same = |a: &str, b: &str| a.replace('_', " ").eq_ignore_ascii_case(&b.replace('_', " "));
        let named = noun_of_type(kind).is_some_and(|n| nouns_in(&facts.action).contains(&n))
            || phrase.as_deref().is_some_and(|p| !kind.is_empty() && same(p, kind));
        let entity = ManagedEntity {
            uid: object.uid.clone(),
            name: object.name.clone(),
            type_id: Some(if kind.is_empty() { EntityType::Other } else { entity_type(kind) }),
            type_: object.type_.clone(),
            ..ManagedEntity::default()
        };
        return (entity, within(named));
    }
    if facts.changed_name.is_some() || facts.changed_id.is_some() {
        let entity = ManagedEntity {
            uid: facts.changed_id.clone(),
            name: facts.changed_name.clone(),
            type_id: Some(EntityType::Other),
            type_: phrase,
            ..ManagedEntity::default()
        };
        return (entity, verb);
    }
    let product = ManagedEntity {
        name: Some(facts.product.to_string()),
        type_id: Some(EntityType::Other),
        type_: Some("product".to_string()),
        ..ManagedEntity::default()
    };
    (product, EntityActivity::Other)
}

fn privileges_or_action(privileges: Vec<String>, action: &str) -> Vec<String> {
    if privileges.is_empty() {
        vec![action.to_string()]
    } else {
        privileges
    }
}

/// `managed_entity.type_id` from an Atlassian object type or entity noun.
fn entity_type(kind: &str) -> EntityType {
    match kind.to_ascii_lowercase().as_str() {
        "users" | "user" => EntityType::User,
        "groups" | "group" => EntityType::Group,
        "orgs" | "org" | "organization" | "organizations" => EntityType::Organization,
        "policies" | "policy" => EntityType::Policy,
        "domains" | "domain" => EntityType::NetworkZone,
        _ => EntityType::Other,
    }
}

// ---------------------------------------------------------------------------------------------
// Small readers.

/// Parses an Atlassian time: RFC 3339, or Jira's `2014-03-19T18:45:42.967+0000`.
pub(crate) fn parse_atlassian_time(text: &str) -> Option<i64> {
    if let Some(ms) = parse_rfc3339_ms(text) {
        return Some(ms);
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n > 5 && matches!(bytes[n - 5], b'+' | b'-') && bytes[n - 4..].iter().all(u8::is_ascii_digit) {
        return parse_rfc3339_ms(&format!("{}:{}", &text[..n - 2], &text[n - 2..]));
    }
    None
}

/// The record's text on one line: a pretty-printed page (as hand-saved API pages often are) would
/// otherwise make an event span several lines. Compact input is copied as is.
fn one_line(json: &str) -> String {
    if json.trim().contains(['\n', '\r']) {
        if let Ok(value) = serde_json::from_str::<Value>(json) {
            return value.to_string();
        }
    }
    json.to_string()
}

fn object(json: &str, product: &'static str) -> Result<Map<String, Value>, MappingError> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(MappingError::NotAnObject { product }),
    }
}

/// Removes and returns a non-empty string member; other values stay (and end up unmapped).
fn take_str(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => match map.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        },
        Some(Value::String(_) | Value::Null) => {
            map.remove(key);
            None
        }
        _ => None,
    }
}

fn take_obj(map: &mut Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    match map.get(key) {
        Some(Value::Object(_)) => match map.remove(key) {
            Some(Value::Object(o)) => Some(o),
            _ => None,
        },
        Some(Value::Null) => {
            map.remove(key);
            None
        }
        _ => None,
    }
}

/// A user from the first present id, name and e-mail keys (an e-mail must look like one).
fn person(map: &mut Map<String, Value>, ids: &[&str], names: &[&str], emails: &[&str]) -> User {
    let mut first = |keys: &[&str]| keys.iter().find_map(|k| take_str(map, k));
    let uid = first(ids);
    let name = first(names);
    let email = first(emails);
    let (email_addr, bad_email) = match email {
        Some(e) if is_email(&e) => (Some(e), None),
        other => (None, other),
    };
    if let Some(bad) = bad_email {
        map.insert("email".to_string(), Value::String(bad));
    }
    User { uid, name, email_addr, ..User::default() }
}

/// `remoteAddress` → `src_endpoint.ip` (kept unmapped when it is not an address).
fn address(text: &str, unmapped: &mut Unmapped, key: &str) -> Option<NetworkEndpoint> {
    match text.trim().parse::<IpAddr>() {
        Ok(ip) => Some(NetworkEndpoint::from_ip(ip)),
        Err(_) => {
            keep(unmapped, key, &Value::String(text.to_string()));
            None
        }
    }
}

/// Keeps the rest of a nested object under `prefix.key`.
fn leftovers(unmapped: &mut Unmapped, prefix: &str, map: Map<String, Value>) {
    for (key, value) in map {
        keep(unmapped, &format!("{prefix}.{key}"), &value);
    }
}

/// Keeps a non-null value in `unmapped`.
fn keep(unmapped: &mut Unmapped, key: &str, value: &Value) {
    if value.is_null() {
        return;
    }
    if let Ok(raw) = serde_json::value::to_raw_value(value) {
        unmapped.insert_raw(key.to_string(), raw);
    }
}

/// Whether `text` matches the OCSF e-mail pattern.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    let local_ok = !local.is_empty()
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+,-./=?^_`{|}~".contains(c));
    let Some((head, tail)) = domain.split_once('.') else { return false };
    let head_ok = !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let tail_ok = !tail.is_empty() && tail.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    local_ok && head_ok && tail_ok
}

/// JSON text with object keys sorted at every level.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let members: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
