//! AWS CloudTrail log files in S3 (api-contracts.md §1, §2, §13.4): notifications, streaming
//! reader, mapping to OCSF, and the `cloudtrail-s3` handler.

mod classify;
pub mod config;
pub mod convert;
pub mod forward;
pub mod handler;
pub mod mapping;
pub mod notification;
pub mod reader;
mod record;
pub mod splitter;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod published_tests;
