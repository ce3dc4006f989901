//! Which OCSF class an Atlassian audit event belongs to, from its words: the organization log's
//! `action` (`user_login_failed`), a Jira or Confluence record's `summary` ("User added to group")
//! and `category`. Pure; the rules and their order are documented in `docs/mappings/atlassian.md`.

use crate::ocsf::{
    AccountChangeActivity, ApiActivity, AuthActivity, ClassActivity, EntityActivity, GroupActivity,
    UserAccessActivity,
};

/// The class (and activity) an event maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Authentication (3002); `failed` sets status Failure.
    Auth {
        /// Logon, Logoff or Account Switch (logged in as another user).
        activity: AuthActivity,
        /// The attempt failed.
        failed: bool,
    },
    /// Account Change (3001).
    Account(AccountChangeActivity),
    /// Group Management (3006).
    Group(GroupActivity),
    /// User Access Management (3005): a permission or role granted or revoked.
    Access(UserAccessActivity),
    /// Entity Management (3004); `noun` names the kind of entity (policy, space, project...).
    Entity {
        /// The activity.
        activity: EntityActivity,
        /// The entity noun found in the text.
        noun: &'static str,
    },
    /// API Activity (6003): anything else.
    Api(ApiActivity),
}

impl Kind {
    /// The OCSF class and activity.
    pub fn class_activity(self) -> ClassActivity {
        match self {
            Self::Auth { activity, .. } => activity.into(),
            Self::Account(a) => a.into(),
            Self::Group(a) => a.into(),
            Self::Access(a) => a.into(),
            Self::Entity { activity, .. } => activity.into(),
            Self::Api(a) => a.into(),
        }
    }
}

/// Nouns that make an event an Entity Management change, in the order they are looked for.
const ENTITY_NOUNS: &[(&str, &str)] = &[
    ("policy", "policy"),
    ("policies", "policy"),
    ("space", "space"),
    ("spaces", "space"),
    ("project", "project"),
    ("projects", "project"),
    ("site", "site"),
    ("sites", "site"),
    ("app", "app"),
    ("apps", "app"),
    ("application", "app"),
    ("applications", "app"),
    ("plugin", "app"),
    ("product", "product"),
    ("products", "product"),
    ("domain", "domain"),
    ("domains", "domain"),
    ("organization", "organization"),
    ("org", "organization"),
    ("workflow", "workflow"),
    ("workflows", "workflow"),
    ("scheme", "scheme"),
    ("schemes", "scheme"),
    ("board", "board"),
    ("field", "field"),
    ("fields", "field"),
    ("screen", "screen"),
    ("screens", "screen"),
    ("settings", "settings"),
    ("setting", "settings"),
    ("configuration", "settings"),
    ("config", "settings"),
    ("allowlist", "settings"),
    ("page", "page"),
    ("pages", "page"),
    ("role", "role"),
    ("roles", "role"),
    ("permission", "permission"),
    ("permissions", "permission"),
];

/// Verbs (with [`UPDATE_VERBS`]) that end the subject of a summary ("Request type deleted" →
/// "Request type").
const VERBS: &[&str] = &[
    "created",
    "create",
    "added",
    "add",
    "installed",
    "deleted",
    "delete",
    "removed",
    "remove",
    "uninstalled",
    "enabled",
    "disabled",
    "activated",
    "deactivated",
    "suspended",
    "resumed",
    "moved",
    "viewed",
    "exported",
    "archived",
    "restored",
    "published",
    "granted",
    "revoked",
    "assigned",
    "unassigned",
    "uploaded",
];

/// Verbs of a change to an entity.
const UPDATE_VERBS: &[&str] =
    &["updated", "update", "changed", "change", "modified", "edited", "renamed", "configured", "set"];

/// Lifecycle verbs: a role or permission created, deleted or changed is an entity, not a grant.
const LIFECYCLE: &[&str] =
    &["created", "create", "deleted", "delete", "updated", "update", "changed", "renamed", "modified"];

const FAILED: &[&str] = &["failed", "fail", "failure", "denied", "blocked", "unsuccessful", "rejected"];
const GRANT: &[&str] = &["added", "add", "granted", "grant", "assigned", "assign", "given", "gave"];
const REVOKE: &[&str] =
    &["removed", "remove", "revoked", "revoke", "unassigned", "deleted", "delete", "withdrawn"];
const PRIVILEGE_NOUNS: &[&str] = &[
    "permission",
    "permissions",
    "role",
    "roles",
    "privilege",
    "privileges",
    "admin",
    "administrator",
    "rights",
];
const MEMBER_NOUNS: &[&str] = &["user", "users", "member", "members", "account", "accounts"];

/// Classifies an event by its `text` (action or summary) and optional `category`.
pub(crate) fn classify(text: &str, category: Option<&str>) -> Kind {
    let words = split_words(text);
    let has = |w: &str| words.iter().any(|x| x == w);
    let any = |list: &[&str]| list.iter().any(|w| has(w));
    let phrase = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let failed = any(FAILED);
    let is_setting = any(&["policy", "policies", "setting", "settings", "configuration"]);

    // Authentication.
    let login = any(&["login", "logon", "signin"])
        || phrase("logged", "in")
        || phrase("log", "in")
        || phrase("signed", "in")
        || phrase("sign", "in");
    if login && !is_setting {
        let switch = words.windows(3).any(|p| p[0] == "in" && p[1] == "as") || has("impersonated");
        let activity = if switch { AuthActivity::AccountSwitch } else { AuthActivity::Logon };
        return Kind::Auth { activity, failed };
    }
    let logout = any(&["logout", "logoff", "signout"]) || phrase("logged", "out") || phrase("signed", "out");
    if logout && !is_setting {
        return Kind::Auth { activity: AuthActivity::Logoff, failed };
    }

    // Group membership and group lifecycle.
    if any(&["group", "groups"]) {
        let members = any(MEMBER_NOUNS);
        if any(PRIVILEGE_NOUNS) && any(GRANT) && !members {
            return Kind::Group(GroupActivity::AssignPrivileges);
        }
        if any(PRIVILEGE_NOUNS) && any(REVOKE) && !members {
            return Kind::Group(GroupActivity::RevokePrivileges);
        }
        if members && any(&["added", "add", "joined", "assigned", "invited"]) {
            return Kind::Group(GroupActivity::AddUser);
        }
        if members && any(&["removed", "remove", "left", "unassigned", "deleted"]) {
            return Kind::Group(GroupActivity::RemoveUser);
        }
        if any(&["created", "create"]) {
            return Kind::Group(GroupActivity::Create);
        }
        if any(&["deleted", "delete", "removed"]) {
            return Kind::Group(GroupActivity::Delete);
        }
        if !is_setting {
            return Kind::Group(GroupActivity::Other);
        }
    }

    // Accounts: users, their credentials and API tokens.
    let token =
        (has("api") && any(&["token", "tokens", "key", "keys"])) || any(&["apikey", "token", "tokens"]);
    if token && !any(PRIVILEGE_NOUNS) {
        return Kind::Account(AccountChangeActivity::Other);
    }
    if has("password") && !is_setting {
        let reset = any(&["reset", "forgot", "forgotten"]);
        return Kind::Account(if reset {
            AccountChangeActivity::PasswordReset
        } else {
            AccountChangeActivity::PasswordChange
        });
    }
    let mfa = any(&["mfa", "2fa", "2sv"]) || phrase("two", "step") || phrase("two", "factor");
    if mfa && !is_setting {
        if any(&["disabled", "disable", "removed", "reset"]) {
            return Kind::Account(AccountChangeActivity::MfaFactorDisable);
        }
        return Kind::Account(AccountChangeActivity::MfaFactorEnable);
    }
    if any(MEMBER_NOUNS) && !any(PRIVILEGE_NOUNS) && !is_setting {
        let account = if any(&["created", "create", "invited", "signed", "signup", "provisioned"]) {
            Some(AccountChangeActivity::Create)
        } else if any(&["reactivated", "activated", "enabled", "restored", "unsuspended"]) {
            Some(AccountChangeActivity::Enable)
        } else if any(&["deactivated", "suspended", "disabled"]) {
            Some(AccountChangeActivity::Disable)
        } else if any(&["deleted", "removed", "closed"]) {
            Some(AccountChangeActivity::Delete)
        } else if has("unlocked") {
            Some(AccountChangeActivity::Unlock)
        } else if has("locked") {
            Some(AccountChangeActivity::Lock)
        } else if any(&["updated", "changed", "modified", "edited"]) {
            // "User details updated": the account changed, the record does not say how.
            Some(AccountChangeActivity::Other)
        } else {
            None
        };
        if let Some(activity) = account {
            return Kind::Account(activity);
        }
    }

    // Permission and role grants; a role created, deleted or changed with nobody named
    // ("Project role deleted") is an entity of its own.
    let lifecycle =
        any(LIFECYCLE) && !any(&["granted", "grant", "revoked", "revoke", "assigned", "to", "from"]);
    if any(PRIVILEGE_NOUNS) && !any(&["scheme", "schemes"]) && !lifecycle {
        if any(GRANT) {
            return Kind::Access(UserAccessActivity::AssignPrivileges);
        }
        if any(REVOKE) {
            return Kind::Access(UserAccessActivity::RevokePrivileges);
        }
    }

    // Policies, sites, spaces, projects, apps and other configuration.
    let category_words = category.map(split_words).unwrap_or_default();
    let noun = ENTITY_NOUNS
        .iter()
        .find(|(w, _)| has(w))
        .or_else(|| ENTITY_NOUNS.iter().find(|(w, _)| category_words.iter().any(|c| c == w)))
        .map(|(_, noun)| *noun);
    if let Some(noun) = noun {
        return Kind::Entity { activity: entity_activity(&words), noun };
    }
    Kind::Api(api_activity(&words))
}

/// The Entity Management activity from the verb.
fn entity_activity(words: &[String]) -> EntityActivity {
    let any = |list: &[&str]| list.iter().any(|w| words.iter().any(|x| x == w));
    if any(&["created", "create", "added", "add", "installed", "install", "new"]) {
        EntityActivity::Create
    } else if any(&["deleted", "delete", "removed", "remove", "uninstalled", "uninstall", "purged"]) {
        EntityActivity::Delete
    } else if any(&["deactivated", "deactivate"]) {
        EntityActivity::Deactivate
    } else if any(&["activated", "activate"]) {
        EntityActivity::Activate
    } else if any(&["enabled", "enable"]) {
        EntityActivity::Enable
    } else if any(&["disabled", "disable"]) {
        EntityActivity::Disable
    } else if any(&["suspended", "suspend"]) {
        EntityActivity::Suspend
    } else if any(&["resumed", "resume", "unsuspended"]) {
        EntityActivity::Resume
    } else if any(&["moved", "move", "transferred"]) {
        EntityActivity::Move
    } else if any(&["archived", "published", "uploaded"]) {
        // A content status or a file of the entity changed.
        EntityActivity::Update
    } else if any(&["viewed", "view", "exported", "export", "read", "accessed", "downloaded"]) {
        EntityActivity::Read
    } else if any(UPDATE_VERBS) {
        EntityActivity::Update
    } else {
        EntityActivity::Other
    }
}

/// The API Activity from the verb.
fn api_activity(words: &[String]) -> ApiActivity {
    let any = |list: &[&str]| list.iter().any(|w| words.iter().any(|x| x == w));
    if any(&["created", "create", "added", "add", "installed", "invited", "invitation", "generated"]) {
        ApiActivity::Create
    } else if any(&["deleted", "delete", "removed", "remove", "revoked", "uninstalled"]) {
        ApiActivity::Delete
    } else if any(&[
        "updated",
        "update",
        "changed",
        "modified",
        "edited",
        "renamed",
        "enabled",
        "disabled",
        "set",
        "activated",
        "deactivated",
        "suspended",
    ]) {
        ApiActivity::Update
    } else if any(&[
        "viewed",
        "view",
        "exported",
        "export",
        "read",
        "accessed",
        "downloaded",
        "searched",
        "listed",
    ]) {
        ApiActivity::Read
    } else {
        ApiActivity::Other
    }
}

/// The API Activity of a text, for events whose class needs a subject the record does not name.
pub(crate) fn api_activity_of(text: &str) -> ApiActivity {
    api_activity(&split_words(text))
}

/// The Entity Management activity of a text, for events API Activity cannot hold.
pub(crate) fn entity_activity_of(text: &str) -> EntityActivity {
    entity_activity(&split_words(text))
}

/// The entity nouns the text itself names (not its category), in the text's order.
pub(crate) fn nouns_in(text: &str) -> Vec<&'static str> {
    split_words(text)
        .iter()
        .filter_map(|word| ENTITY_NOUNS.iter().find(|(w, _)| w == word).map(|(_, noun)| *noun))
        .collect()
}

/// The entity noun an object type stands for (`orgs` → organization, `PROJECT_ROLE` → role).
pub(crate) fn noun_of_type(kind: &str) -> Option<&'static str> {
    let last = split_words(&kind.replace('_', " ")).pop()?;
    ENTITY_NOUNS.iter().find(|(w, _)| *w == last || format!("{w}s") == last).map(|(_, noun)| *noun)
}

/// The words of a summary or action before its first verb, as written ("Request type deleted" →
/// "Request type", `data_classification_policy_update` → "data classification policy").
pub(crate) fn subject_phrase(text: &str) -> Option<String> {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == '_').filter(|w| !w.is_empty()).collect();
    let end = words.iter().position(|w| {
        let w = w.to_lowercase();
        VERBS.contains(&w.as_str()) || UPDATE_VERBS.contains(&w.as_str())
    })?;
    (end > 0).then(|| words[..end].join(" "))
}

/// Whether the action is about API tokens or keys (the actor's own credential).
pub(crate) fn is_token_action(text: &str) -> bool {
    let words = split_words(text);
    let has = |w: &str| words.iter().any(|x| x == w);
    (has("api") && (has("token") || has("tokens") || has("key") || has("keys")))
        || has("apikey")
        || has("token")
}

/// Lower-case words of a text (`user_login_failed`, "User added to group").
fn split_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_summaries_pick_their_class() {
        use AccountChangeActivity as A;
        use EntityActivity as E;
        use GroupActivity as G;
        use UserAccessActivity as U;
        let cases: &[(&str, Option<&str>, Kind)] = &[
            ("user_login", None, Kind::Auth { activity: AuthActivity::Logon, failed: false }),
            ("user_login_failed", None, Kind::Auth { activity: AuthActivity::Logon, failed: true }),
            (
                "user_logged_in_as_user",
                None,
                Kind::Auth { activity: AuthActivity::AccountSwitch, failed: false },
            ),
            ("user_logged_out", None, Kind::Auth { activity: AuthActivity::Logoff, failed: false }),
            (
                "User login failed",
                Some("Security"),
                Kind::Auth { activity: AuthActivity::Logon, failed: true },
            ),
            ("user_created", None, Kind::Account(A::Create)),
            ("User created", Some("user management"), Kind::Account(A::Create)),
            ("user_deactivated", None, Kind::Account(A::Disable)),
            ("user_reactivated", None, Kind::Account(A::Enable)),
            ("user_deleted", None, Kind::Account(A::Delete)),
            ("api_token_created", None, Kind::Account(A::Other)),
            ("api_token_revoked", None, Kind::Account(A::Other)),
            ("user_password_reset", None, Kind::Account(A::PasswordReset)),
            ("two_step_verification_enabled", None, Kind::Account(A::MfaFactorEnable)),
            ("User added to group", Some("group management"), Kind::Group(G::AddUser)),
            ("group_member_removed", None, Kind::Group(G::RemoveUser)),
            ("Group created", Some("group management"), Kind::Group(G::Create)),
            ("group_deleted", None, Kind::Group(G::Delete)),
            ("Permission granted to group", None, Kind::Group(G::AssignPrivileges)),
            ("confluence_added_space_permission", None, Kind::Access(U::AssignPrivileges)),
            ("Space permission removed", Some("Permissions"), Kind::Access(U::RevokePrivileges)),
            ("site_admin_role_granted", None, Kind::Access(U::AssignPrivileges)),
            (
                "Permission scheme updated",
                Some("permissions"),
                Kind::Entity { activity: E::Update, noun: "scheme" },
            ),
            ("authentication_policy_updated", None, Kind::Entity { activity: E::Update, noun: "policy" }),
            ("login_policy_updated", None, Kind::Entity { activity: E::Update, noun: "policy" }),
            ("Space created", Some("Space"), Kind::Entity { activity: E::Create, noun: "space" }),
            ("Project deleted", Some("projects"), Kind::Entity { activity: E::Delete, noun: "project" }),
            ("marketplace_app_installed", None, Kind::Entity { activity: E::Create, noun: "app" }),
            ("Workflow published", Some("workflows"), Kind::Entity { activity: E::Update, noun: "workflow" }),
            ("Issue type renamed", Some("fields"), Kind::Entity { activity: E::Update, noun: "field" }),
            ("organization_users_viewed", None, Kind::Entity { activity: E::Read, noun: "organization" }),
            ("audit_log_exported", None, Kind::Api(ApiActivity::Read)),
            ("Project role deleted", Some("projects"), Kind::Entity { activity: E::Delete, noun: "project" }),
            ("Project role created", Some("projects"), Kind::Entity { activity: E::Create, noun: "project" }),
            (
                "Permission updated",
                Some("Permissions"),
                Kind::Entity { activity: E::Update, noun: "permission" },
            ),
            ("Permission revoked", Some("Permissions"), Kind::Access(U::RevokePrivileges)),
            ("User added to project role", Some("projects"), Kind::Access(U::AssignPrivileges)),
            ("Request type deleted", Some("projects"), Kind::Entity { activity: E::Delete, noun: "project" }),
            ("User details updated", Some("Users and groups"), Kind::Account(A::Other)),
            ("User deactivated", Some("Users and groups"), Kind::Account(A::Disable)),
            ("User's password changed", Some("user management"), Kind::Account(A::PasswordChange)),
            ("Page archived", Some("Page"), Kind::Entity { activity: E::Update, noun: "page" }),
            ("org_settings_update", None, Kind::Entity { activity: E::Update, noun: "organization" }),
            ("data_classification_policy_update", None, Kind::Entity { activity: E::Update, noun: "policy" }),
            ("user_profile_viewed", None, Kind::Api(ApiActivity::Read)),
            ("user_invitation_sent", None, Kind::Api(ApiActivity::Create)),
            ("confluence_audit_record_removed_content_restriction", None, Kind::Api(ApiActivity::Delete)),
            ("something_happened", None, Kind::Api(ApiActivity::Other)),
        ];
        for (text, category, expected) in cases {
            assert_eq!(classify(text, *category), *expected, "{text:?} ({category:?})");
        }
    }

    #[test]
    fn subjects_nouns_and_tokens_are_read_from_the_words() {
        assert_eq!(subject_phrase("Request type deleted").as_deref(), Some("Request type"));
        assert_eq!(
            subject_phrase("data_classification_policy_update").as_deref(),
            Some("data classification policy")
        );
        assert_eq!(subject_phrase("deleted"), None);
        assert_eq!(subject_phrase("something happened"), None);
        assert_eq!(nouns_in("Project role deleted"), ["project", "role"]);
        assert!(nouns_in("Request type deleted").is_empty());
        let types = [
            ("orgs", Some("organization")),
            ("PROJECT_ROLE", Some("role")),
            ("PERMISSION_SCHEME", Some("scheme")),
            ("sites", Some("site")),
            ("Space", Some("space")),
            ("USER", None),
        ];
        for (kind, noun) in types {
            assert_eq!(noun_of_type(kind), noun, "{kind}");
        }
        assert!(is_token_action("api_token_created"));
        assert!(!is_token_action("user_created"));
    }
}
