//! Amazon OpenSearch Service (and self-managed OpenSearch) audit logs through CloudWatch Logs
//! (api-contracts.md §3, §4): the subscription payload, the audit record, its mapping to OCSF,
//! the `opensearch-audit` handler and the FilterLogEvents backfill.

pub mod backfill;
pub mod config;
pub mod convert;
pub mod handler;
pub mod mapping;
pub mod payload;
pub mod record;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod published_tests;
