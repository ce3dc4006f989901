//! The S3 checkpoint store against moto's S3 server: `If-None-Match: *` for the first write,
//! `If-Match: <ETag>` after, and only one of several concurrent writers over the same version wins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_relay::poller::{Checkpoint, CheckpointError, CheckpointStore, S3CheckpointStore};
use audit_relay_tests::moto;

#[tokio::test]
async fn conditional_writes_let_only_the_holder_of_the_current_version_advance() {
    let moto = moto::start().await;
    let bucket = moto.bucket("state").await;
    let store = S3CheckpointStore::new(moto.s3_client(), bucket.clone(), "checkpoints/atlassian/");
    assert_eq!(store.location("org-1"), "s3://state/checkpoints/atlassian/org-1.json");
    assert_eq!(store.load("org-1").await.unwrap(), None);

    let mut checkpoint = Checkpoint::new("org-1");
    let first = store.save("org-1", &checkpoint, None).await.unwrap();
    let again = store.save("org-1", &checkpoint, None).await;
    assert!(
        matches!(again, Err(CheckpointError::Conflict { .. })),
        "If-None-Match: * on an existing object: {again:?}"
    );

    checkpoint.generation = 1;
    checkpoint.watermark_ms = Some(1_000);
    let second = store.save("org-1", &checkpoint, Some(&first)).await.unwrap();
    assert_ne!(first, second);
    checkpoint.generation = 2;
    let stale = store.save("org-1", &checkpoint, Some(&first)).await;
    assert!(matches!(stale, Err(CheckpointError::Conflict { .. })), "If-Match with an old ETag: {stale:?}");

    let stored = store.load("org-1").await.unwrap().unwrap();
    assert_eq!(stored.etag, second);
    assert_eq!(stored.checkpoint.watermark_ms, Some(1_000));
    assert_eq!(stored.checkpoint.generation, 1);
}

#[tokio::test]
async fn of_concurrent_writers_over_one_version_exactly_one_wins() {
    let moto = moto::start().await;
    let bucket = moto.bucket("state").await;
    let store = S3CheckpointStore::new(moto.s3_client(), bucket, "checkpoints/");
    let base = store.save("jira-x", &Checkpoint::new("jira-x"), None).await.unwrap();

    let writers = (0..8u64).map(|n| {
        let store = store.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let mut checkpoint = Checkpoint::new("jira-x");
            checkpoint.generation = 1;
            checkpoint.run_id = format!("run-{n}");
            store.save("jira-x", &checkpoint, Some(&base)).await
        })
    });
    let results: Vec<_> = futures_results(writers).await;

    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(CheckpointError::Conflict { .. }))));
    let stored = store.load("jira-x").await.unwrap().unwrap();
    assert_eq!(stored.checkpoint.run_id, format!("run-{}", winners[0]));
}

async fn futures_results<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn missing_bucket_is_a_storage_error_naming_the_location() {
    let moto = moto::start().await;
    let store = S3CheckpointStore::new(moto.s3_client(), "no-such-bucket", "checkpoints/");
    let error = store.load("org-1").await.unwrap_err().to_string();
    assert!(error.starts_with("checkpoint s3://no-such-bucket/checkpoints/org-1.json:"), "{error}");
}
