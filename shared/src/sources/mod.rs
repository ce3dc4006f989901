//! Audit-log sources: each owns its record types, its reader and its OCSF mapping.

pub mod cloudtrail;
