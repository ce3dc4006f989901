//! Opening an S3 object as a byte stream (GetObject). The body is read as it arrives, never held
//! whole. A key that is not found is tried again as the notification carried it, undecoded.

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use tokio::io::AsyncRead;

/// One object to read (named by a notification, or listed under a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Key, URL-decoded.
    pub key: String,
    /// Key exactly as the notification carried it.
    pub raw_key: String,
    /// Size in bytes, when the notification says.
    pub size: Option<u64>,
}

/// Why an object could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("GetObject s3://{bucket}/{key} failed: {message}")]
pub struct OpenError {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// What S3 said.
    pub message: String,
    /// Whether trying again may help (throttling, network, 5xx).
    pub transient: bool,
}

/// Opens `object` for streaming; with its ETag, when S3 gave one.
pub async fn open(
    client: &aws_sdk_s3::Client,
    object: &ObjectRef,
) -> Result<(impl AsyncRead + Send + 'static, Option<String>), OpenError> {
    let result = client.get_object().bucket(&object.bucket).key(&object.key).send().await;
    let result = match result {
        Err(SdkError::ServiceError(e))
            if matches!(e.err(), GetObjectError::NoSuchKey(_)) && object.raw_key != object.key =>
        {
            client.get_object().bucket(&object.bucket).key(&object.raw_key).send().await
        }
        other => other,
    };
    match result {
        Ok(output) => {
            let etag = output.e_tag.clone();
            Ok((output.body.into_async_read(), etag))
        }
        Err(error) => {
            let transient = match &error {
                SdkError::ServiceError(e) => {
                    let status = e.raw().status().as_u16();
                    status >= 500 || status == 429
                }
                SdkError::ConstructionFailure(_) => false,
                _ => true,
            };
            Err(OpenError {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                message: DisplayErrorContext(&error).to_string(),
                transient,
            })
        }
    }
}

/// Every object under `prefix` in `bucket` (ListObjectsV2, all pages), for backfills.
pub async fn list(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<ObjectRef>, OpenError> {
    let mut objects = Vec::new();
    let mut pages = client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| OpenError {
            bucket: bucket.to_string(),
            key: prefix.to_string(),
            message: format!("ListObjectsV2: {}", DisplayErrorContext(&error)),
            transient: true,
        })?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                objects.push(ObjectRef {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                    raw_key: key.to_string(),
                    size: object.size().and_then(|s| u64::try_from(s).ok()),
                });
            }
        }
    }
    Ok(objects)
}
