//! The AWS side of verification: objects from S3 (gunzipped as they are read, log files hashed
//! as they stream) and public keys from CloudTrail `ListPublicKeys`, both through the AWS SDK.

use std::collections::HashMap;

use async_compression::tokio::bufread::GzipDecoder;
use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use super::keys::{fingerprint, KeySource, PublicKey};
use super::verify::{Fetched, Objects};

/// The largest digest read (CloudTrail's are a few KB to a few MB).
const MAX_DIGEST_BYTES: u64 = 64 * 1024 * 1024;

/// Objects read from S3.
pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

impl S3Objects {
    /// Reads through `client`.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }

    /// The object's body, gunzipped when it is gzip, and its metadata (`Ok(None)`: no such key).
    async fn open(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(Box<dyn AsyncRead + Send + Unpin>, HashMap<String, String>)>, String> {
        let output = match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(e)) if matches!(e.err(), GetObjectError::NoSuchKey(_)) => {
                return Ok(None)
            }
            Err(error) => {
                return Err(format!("GetObject s3://{bucket}/{key}: {}", DisplayErrorContext(&error)))
            }
        };
        let metadata = output.metadata().cloned().unwrap_or_default();
        let mut body = BufReader::new(output.body.into_async_read());
        let head = body.fill_buf().await.map_err(|e| format!("s3://{bucket}/{key}: cannot be read: {e}"))?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn AsyncRead + Send + Unpin> = if gzip {
            let mut decoder = GzipDecoder::new(body);
            decoder.multiple_members(true);
            Box::new(decoder)
        } else {
            Box::new(body)
        };
        Ok(Some((reader, metadata)))
    }
}

#[async_trait]
impl Objects for S3Objects {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Fetched>, String> {
        let Some((reader, metadata)) = self.open(bucket, key).await? else { return Ok(None) };
        let mut content = Vec::new();
        let read = reader
            .take(MAX_DIGEST_BYTES + 1)
            .read_to_end(&mut content)
            .await
            .map_err(|e| format!("s3://{bucket}/{key}: cannot be read: {e}"))?;
        if read as u64 > MAX_DIGEST_BYTES {
            return Err(format!("s3://{bucket}/{key}: larger than {MAX_DIGEST_BYTES} bytes"));
        }
        Ok(Some(Fetched { content, metadata }))
    }

    async fn hash(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        let Some((mut reader, _)) = self.open(bucket, key).await? else { return Ok(None) };
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = reader
                .read(&mut buffer)
                .await
                .map_err(|e| format!("s3://{bucket}/{key}: cannot be read: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }

    async fn etag(&self, bucket: &str, key: &str) -> Result<Option<String>, String> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(output) => Ok(Some(output.e_tag().unwrap_or_default().trim_matches('"').to_string())),
            Err(SdkError::ServiceError(e)) if matches!(e.err(), HeadObjectError::NotFound(_)) => Ok(None),
            Err(error) => Err(format!("HeadObject s3://{bucket}/{key}: {}", DisplayErrorContext(&error))),
        }
    }
}

/// Public keys from CloudTrail `ListPublicKeys`, of the region asked for.
pub struct CloudTrailKeys {
    config: aws_config::SdkConfig,
}

impl CloudTrailKeys {
    /// Asks with the credentials and endpoint of `config` (the region is each call's).
    pub fn new(config: aws_config::SdkConfig) -> Self {
        Self { config }
    }
}

#[async_trait]
impl KeySource for CloudTrailKeys {
    async fn list(&self, region: &str, start: i64, end: i64) -> Result<Vec<PublicKey>, String> {
        use aws_sdk_cloudtrail::primitives::DateTime;
        let config = aws_sdk_cloudtrail::config::Builder::from(&self.config)
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
            .build();
        let client = aws_sdk_cloudtrail::Client::from_conf(config);
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let output = client
                .list_public_keys()
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "ListPublicKeys in {region}: {}",
                        aws_sdk_cloudtrail::error::DisplayErrorContext(&e)
                    )
                })?;
            for key in output.public_key_list() {
                let Some(value) = key.value() else { continue };
                let der = value.as_ref().to_vec();
                let computed = fingerprint(&der);
                if let Some(stated) = key.fingerprint() {
                    if !stated.eq_ignore_ascii_case(&computed) {
                        return Err(format!("ListPublicKeys in {region}: key {stated} hashes to {computed}"));
                    }
                }
                keys.push(PublicKey {
                    fingerprint: computed,
                    der,
                    valid_from: key.validity_start_time().map_or(i64::MIN, DateTime::secs),
                    valid_to: key.validity_end_time().map_or(i64::MAX, DateTime::secs),
                });
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(keys)
    }
}
