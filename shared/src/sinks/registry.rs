//! The sinks `SIEM_TYPE` can name, in the order its error message lists them. A new sink is one
//! line here.

use super::{
    datadog, elasticsearch, firehose, http, secops_api, secops_webhook, sentinel, splunk_hec, stdout,
    SinkKind,
};

/// Every sink.
pub(super) const SINKS: &[SinkKind] = &[
    splunk_hec::KIND,
    datadog::KIND,
    elasticsearch::KIND,
    sentinel::KIND,
    firehose::KIND,
    secops_webhook::KIND,
    secops_api::KIND,
    http::KIND,
    stdout::KIND,
];
