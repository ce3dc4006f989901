//! Test harness for cross-crate scenarios: a real S3-compatible API server (moto's server mode) and
//! OCSF schema checks. Each test starts its own server on a free loopback port, so tests run in
//! parallel without sharing buckets.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test harness: a failed set-up should stop the test

pub mod audit_apis;
pub mod bulk;
pub mod cloudtrail_keys;
pub mod corpus;
pub mod faults;
pub mod firehose;
pub mod logs_ingestion;
pub mod moto;
pub mod offline;
pub mod poller;
pub mod proxy;
pub mod receiver;
pub mod runtime_api;
pub mod stats;
pub mod trail_bucket;
