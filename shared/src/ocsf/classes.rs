//! OCSF 1.8.0 classes and their activity, severity and status ids (api-contracts.md §13.2).
//!
//! Ids and captions are copied from the compiled 1.8.0 schema; `type_name` is
//! `"<Class Name>: <Activity Name>"` and `type_uid` is `class_uid * 100 + activity_id`.

id_enum! {
    /// OCSF category (`category_uid` / `category_name`).
    pub enum Category {
        Iam = 3 => "Identity & Access Management",
        Application = 6 => "Application Activity",
    }
}

id_enum! {
    /// `severity_id` / `severity`.
    pub enum Severity {
        Unknown = 0 => "Unknown",
        Informational = 1 => "Informational",
        Low = 2 => "Low",
        Medium = 3 => "Medium",
        High = 4 => "High",
        Critical = 5 => "Critical",
        Fatal = 6 => "Fatal",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// `status_id` / `status`.
    pub enum Status {
        Unknown = 0 => "Unknown",
        Success = 1 => "Success",
        Failure = 2 => "Failure",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// Authentication `auth_protocol_id` / `auth_protocol`.
    pub enum AuthProtocol {
        Unknown = 0 => "Unknown",
        Ntlm = 1 => "NTLM",
        Kerberos = 2 => "Kerberos",
        Digest = 3 => "Digest",
        OpenId = 4 => "OpenID",
        Saml = 5 => "SAML",
        OAuth2 = 6 => "OAUTH 2.0",
        Pap = 7 => "PAP",
        Chap = 8 => "CHAP",
        Eap = 9 => "EAP",
        Radius = 10 => "RADIUS",
        Basic = 11 => "Basic Authentication",
        Ldap = 12 => "LDAP",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// Authentication `logon_type_id` / `logon_type`.
    pub enum LogonType {
        Unknown = 0 => "Unknown",
        System = 1 => "System",
        Interactive = 2 => "Interactive",
        Network = 3 => "Network",
        Batch = 4 => "Batch",
        OsService = 5 => "OS Service",
        Unlock = 7 => "Unlock",
        NetworkCleartext = 8 => "Network Cleartext",
        NewCredentials = 9 => "New Credentials",
        RemoteInteractive = 10 => "Remote Interactive",
        CachedInteractive = 11 => "Cached Interactive",
        CachedRemoteInteractive = 12 => "Cached Remote Interactive",
        CachedUnlock = 13 => "Cached Unlock",
        Other = 99 => "Other",
    }
}

id_enum! {
    /// Datastore Activity `type_id` / `type`: the kind of datastore.
    pub enum DatastoreType {
        Unknown = 0 => "Unknown",
        Database = 1 => "Database",
        Databucket = 2 => "Databucket",
        Table = 3 => "Table",
        Other = 99 => "Other",
    }
}

/// An activity of one OCSF class: fixes `class_uid`, `category_uid` and the captions.
pub trait Activity: Copy {
    /// `class_uid`.
    const CLASS_UID: u32;
    /// `class_name`.
    const CLASS_NAME: &'static str;
    /// The class's category.
    const CATEGORY: Category;
    /// `activity_id`.
    fn id(self) -> u32;
    /// `activity_name`.
    fn caption(self) -> &'static str;
    /// `type_name`: `"<Class Name>: <Activity Name>"`.
    fn type_name(self) -> &'static str;
    /// The activity with this `activity_id`, if the class has it.
    fn from_id(id: u32) -> Option<Self>;
}

/// Defines the activity ids of one class (an [`id_enum!`] plus [`Activity`]).
macro_rules! activity_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $class_uid:literal $class_name:literal $category:ident {
            $( $variant:ident = $id:literal => $caption:literal, )+
        }
    ) => {
        id_enum! {
            $(#[$meta])*
            pub enum $name { $( $variant = $id => $caption, )+ }
        }

        impl Activity for $name {
            const CLASS_UID: u32 = $class_uid;
            const CLASS_NAME: &'static str = $class_name;
            const CATEGORY: Category = Category::$category;

            fn id(self) -> u32 {
                $name::id(self)
            }

            fn caption(self) -> &'static str {
                $name::caption(self)
            }

            fn type_name(self) -> &'static str {
                match self { $( Self::$variant => concat!($class_name, ": ", $caption), )+ }
            }

            fn from_id(id: u32) -> Option<Self> {
                match id { $( $id => Some(Self::$variant), )+ _ => None }
            }
        }
    };
}

activity_enum! {
    /// Account Change (3001) activities.
    pub enum AccountChangeActivity: 3001 "Account Change" Iam {
        Unknown = 0 => "Unknown",
        Create = 1 => "Create",
        Enable = 2 => "Enable",
        PasswordChange = 3 => "Password Change",
        PasswordReset = 4 => "Password Reset",
        Disable = 5 => "Disable",
        Delete = 6 => "Delete",
        AttachPolicy = 7 => "Attach Policy",
        DetachPolicy = 8 => "Detach Policy",
        Lock = 9 => "Lock",
        MfaFactorEnable = 10 => "MFA Factor Enable",
        MfaFactorDisable = 11 => "MFA Factor Disable",
        Unlock = 12 => "Unlock",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// Authentication (3002) activities.
    pub enum AuthActivity: 3002 "Authentication" Iam {
        Unknown = 0 => "Unknown",
        Logon = 1 => "Logon",
        Logoff = 2 => "Logoff",
        AuthenticationTicket = 3 => "Authentication Ticket",
        ServiceTicketRequest = 4 => "Service Ticket Request",
        ServiceTicketRenew = 5 => "Service Ticket Renew",
        Preauth = 6 => "Preauth",
        AccountSwitch = 7 => "Account Switch",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// Entity Management (3004) activities.
    pub enum EntityActivity: 3004 "Entity Management" Iam {
        Unknown = 0 => "Unknown",
        Create = 1 => "Create",
        Read = 2 => "Read",
        Update = 3 => "Update",
        Delete = 4 => "Delete",
        Move = 5 => "Move",
        Enroll = 6 => "Enroll",
        Unenroll = 7 => "Unenroll",
        Enable = 8 => "Enable",
        Disable = 9 => "Disable",
        Activate = 10 => "Activate",
        Deactivate = 11 => "Deactivate",
        Suspend = 12 => "Suspend",
        Resume = 13 => "Resume",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// User Access Management (3005) activities.
    pub enum UserAccessActivity: 3005 "User Access Management" Iam {
        Unknown = 0 => "Unknown",
        AssignPrivileges = 1 => "Assign Privileges",
        RevokePrivileges = 2 => "Revoke Privileges",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// Group Management (3006) activities.
    pub enum GroupActivity: 3006 "Group Management" Iam {
        Unknown = 0 => "Unknown",
        AssignPrivileges = 1 => "Assign Privileges",
        RevokePrivileges = 2 => "Revoke Privileges",
        AddUser = 3 => "Add User",
        RemoveUser = 4 => "Remove User",
        Delete = 5 => "Delete",
        Create = 6 => "Create",
        AddSubgroup = 7 => "Add Subgroup",
        RemoveSubgroup = 8 => "Remove Subgroup",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// API Activity (6003) activities.
    pub enum ApiActivity: 6003 "API Activity" Application {
        Unknown = 0 => "Unknown",
        Create = 1 => "Create",
        Read = 2 => "Read",
        Update = 3 => "Update",
        Delete = 4 => "Delete",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// Web Resource Access Activity (6004) activities.
    pub enum WebResourceAccessActivity: 6004 "Web Resource Access Activity" Application {
        Unknown = 0 => "Unknown",
        AccessGrant = 1 => "Access Grant",
        AccessDeny = 2 => "Access Deny",
        AccessRevoke = 3 => "Access Revoke",
        AccessError = 4 => "Access Error",
        Other = 99 => "Other",
    }
}

activity_enum! {
    /// Datastore Activity (6005) activities.
    pub enum DatastoreActivity: 6005 "Datastore Activity" Application {
        Unknown = 0 => "Unknown",
        Read = 1 => "Read",
        Update = 2 => "Update",
        Connect = 3 => "Connect",
        Query = 4 => "Query",
        Write = 5 => "Write",
        Create = 6 => "Create",
        Delete = 7 => "Delete",
        List = 8 => "List",
        Encrypt = 9 => "Encrypt",
        Decrypt = 10 => "Decrypt",
        Other = 99 => "Other",
    }
}

/// Defines [`ClassActivity`] over the activity enums.
macro_rules! class_activity {
    ( $( $(#[$vmeta:meta])* $variant:ident($activity:ident), )+ ) => {
        /// A class together with one of its activities: everything `OcsfEvent::new` needs to
        /// set `class_uid`, `category_uid`, `activity_id`, `type_uid` and their captions.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ClassActivity {
            $( $(#[$vmeta])* $variant($activity), )+
        }

        impl ClassActivity {
            /// The `class_uid` of every class the mappings emit.
            pub const CLASS_UIDS: &'static [u32] = &[$( $activity::CLASS_UID, )+];

            /// `class_uid`.
            pub fn class_uid(self) -> u32 {
                match self { $( Self::$variant(_) => $activity::CLASS_UID, )+ }
            }

            /// `class_name`.
            pub fn class_name(self) -> &'static str {
                match self { $( Self::$variant(_) => $activity::CLASS_NAME, )+ }
            }

            /// The category (`category_uid`, `category_name`).
            pub fn category(self) -> Category {
                match self { $( Self::$variant(_) => $activity::CATEGORY, )+ }
            }

            /// `activity_id`.
            pub fn activity_id(self) -> u32 {
                match self { $( Self::$variant(a) => Activity::id(a), )+ }
            }

            /// `activity_name`.
            pub fn activity_name(self) -> &'static str {
                match self { $( Self::$variant(a) => Activity::caption(a), )+ }
            }

            /// `type_name`: `"<Class Name>: <Activity Name>"`.
            pub fn type_name(self) -> &'static str {
                match self { $( Self::$variant(a) => Activity::type_name(a), )+ }
            }

            /// `type_uid` = `class_uid * 100 + activity_id`.
            pub fn type_uid(self) -> u32 {
                self.class_uid() * 100 + self.activity_id()
            }

            /// The class activity with these ids, if OCSF defines it here.
            pub fn from_ids(class_uid: u32, activity_id: u32) -> Option<Self> {
                $(
                    if class_uid == $activity::CLASS_UID {
                        return $activity::from_id(activity_id).map(Self::$variant);
                    }
                )+
                None
            }
        }

        $(
            impl From<$activity> for ClassActivity {
                fn from(activity: $activity) -> Self {
                    Self::$variant(activity)
                }
            }
        )+
    };
}

class_activity! {
    /// Account Change (3001).
    AccountChange(AccountChangeActivity),
    /// Authentication (3002).
    Authentication(AuthActivity),
    /// Entity Management (3004).
    EntityManagement(EntityActivity),
    /// User Access Management (3005).
    UserAccess(UserAccessActivity),
    /// Group Management (3006).
    GroupManagement(GroupActivity),
    /// API Activity (6003).
    ApiActivity(ApiActivity),
    /// Web Resource Access Activity (6004).
    WebResourceAccess(WebResourceAccessActivity),
    /// Datastore Activity (6005).
    DatastoreActivity(DatastoreActivity),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ids_and_names_follow_class_and_activity() {
        let cases = [
            (ClassActivity::from(AuthActivity::Logon), 3002, 3, 300_201, "Authentication: Logon"),
            (
                AccountChangeActivity::MfaFactorEnable.into(),
                3001,
                3,
                300_110,
                "Account Change: MFA Factor Enable",
            ),
            (GroupActivity::AddUser.into(), 3006, 3, 300_603, "Group Management: Add User"),
            (EntityActivity::Resume.into(), 3004, 3, 300_413, "Entity Management: Resume"),
            (
                UserAccessActivity::RevokePrivileges.into(),
                3005,
                3,
                300_502,
                "User Access Management: Revoke Privileges",
            ),
            (ApiActivity::Other.into(), 6003, 6, 600_399, "API Activity: Other"),
            (
                WebResourceAccessActivity::AccessDeny.into(),
                6004,
                6,
                600_402,
                "Web Resource Access Activity: Access Deny",
            ),
            (DatastoreActivity::Query.into(), 6005, 6, 600_504, "Datastore Activity: Query"),
        ];
        for (activity, class_uid, category_uid, type_uid, type_name) in cases {
            assert_eq!(activity.class_uid(), class_uid, "{activity:?}");
            assert_eq!(activity.category().id(), category_uid, "{activity:?}");
            assert_eq!(activity.type_uid(), type_uid, "{activity:?}");
            assert_eq!(activity.type_name(), type_name, "{activity:?}");
            assert_eq!(ClassActivity::from_ids(class_uid, activity.activity_id()), Some(activity));
        }
    }

    #[test]
    fn unknown_ids_have_no_class_activity() {
        assert_eq!(ClassActivity::from_ids(3002, 42), None);
        assert_eq!(ClassActivity::from_ids(1001, 1), None);
    }
}
