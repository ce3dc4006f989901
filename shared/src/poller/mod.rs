//! The one poll loop every scheduled source uses (Atlassian, api-contracts.md §5–§6; Azure
//! DevOps, §7). A source implements [`StreamApi`] (page URLs, page parsing, OCSF mapping) and
//! hands its streams to a [`Poller`]; the loop does the rest:
//!
//! * **Checkpoints** ([`CheckpointStore`]): one object per stream in S3, written with
//!   `If-None-Match: *` the first time and `If-Match: <ETag>` after. A run first *claims* the
//!   stream (writes a lease until its deadline); an overlapping run sees the lease, or loses the
//!   conditional write, and stops before reading anything.
//! * **Windows**: each run reads `[watermark − OVERLAP_MINUTES, now]` (the first run
//!   `INITIAL_LOOKBACK_HOURS` back). Ids delivered inside the overlap are kept in the checkpoint
//!   and skipped when read again, so late events are caught and nothing is sent twice.
//! * **Delivery before progress**: every [`PAGES_PER_CHECKPOINT`] pages, and where the run stops,
//!   the delivery engine is finished (events delivered or dead-lettered) and only then is the
//!   checkpoint written. If events are lost, the checkpoint does not move past them.
//! * **Time**: paging stops [`PAGING_MARGIN`] before the Lambda deadline; the window is saved
//!   part-way with the client's resume token (cursor, offset, continuation token) and the stream
//!   reports `behind`; the next run resumes it first.
//! * **Rate limits and errors** ([`ApiHttp`]): requests are paced per API ([`Pacer`]); 429, 503
//!   (and 500/502/504) wait for `Retry-After` or a full-jitter backoff; 401/403 fail the stream
//!   with the client's [`StreamApi::credential_hint`]; a page URL on another host than
//!   [`StreamApi::origin`] is refused before the credential is sent; redirects are not followed.

mod api;
mod checkpoint;
mod config;
mod http;
mod invocation;
mod pace;
mod report;
mod run;
mod seen;

pub use api::{
    encode_polled, same_origin, Credential, Page, PageError, PageItem, PolledRecord, Resume, StreamApi,
    Window,
};
pub use checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, DirCheckpointStore, Lease, PendingWindow,
    S3CheckpointStore, SeenId, Stored, CHECKPOINT_VERSION,
};
pub use config::{
    CheckpointLocation, PollerConfig, CHECKPOINT_BUCKET, CHECKPOINT_DIR, CHECKPOINT_PREFIX,
    INITIAL_LOOKBACK_HOURS, OVERLAP_MINUTES,
};
pub use http::{api_client, ApiHttp, FetchError, BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS, REQUEST_TIMEOUT};
pub use invocation::{conclude, RunError, RunSummary};
pub use pace::Pacer;
pub use report::{PollError, RunReport, StreamReport, StreamStatus};
pub use run::{
    epoch_ms, PollSettings, Poller, RunClock, Stream, LEASE_GRACE, PAGES_PER_CHECKPOINT, PAGING_MARGIN,
};
pub use seen::SeenIds;
