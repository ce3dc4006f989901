//! audit-relay: collects security audit logs, normalizes them to OCSF 1.8.0 and forwards them to a
//! SIEM. This crate holds everything the Lambda functions and the CLI share.

pub mod aws;
pub(crate) mod backoff;
pub mod check;
pub(crate) mod compress;
pub mod config;
pub mod dead_letter;
pub mod deadline;
pub mod delivery;
pub(crate) mod encode;
pub mod entra;
pub mod env;
mod errors;
pub mod event;
mod hash;
pub mod integrity;
pub(crate) mod metrics;
pub mod ocsf;
pub mod poller;
pub(crate) mod probe;
pub mod replay;
pub mod s3_object;
pub mod scheduled;
pub(crate) mod secret;
pub mod setup;
pub mod sinks;
pub mod sources;
pub mod telemetry;
mod text;
pub mod timestamp;
pub(crate) mod udm;

/// Test doubles and fixtures shared by the crate's unit tests (sinks, delivery, sources).
#[cfg(test)]
pub(crate) mod test_support;
