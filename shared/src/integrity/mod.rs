//! CloudTrail log file integrity (api-contracts.md §16.6): each digest file CloudTrail delivers is
//! verified — its RSA signature with the region's public key it names ([`keys`]), its link to the
//! previous digest of its chain, and the SHA-256 of every log file it lists ([`verify`]) — and
//! what is wrong becomes a [`verify::Problem`].

pub mod aws;
pub mod digest;
pub mod finding;
pub mod keys;
pub mod range;
pub mod service;
pub mod store;
#[cfg(any(test, feature = "test-trail"))]
pub mod trail;
pub mod verify;
