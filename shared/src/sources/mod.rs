//! Audit-log sources: each owns its record types, its reader and its OCSF mapping.

pub mod atlassian;
pub mod azure_devops;
pub mod cloudtrail;
pub mod opensearch;
