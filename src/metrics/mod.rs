//! CloudWatch bucket metrics (reference §7): a bucket's object count and size in bytes.
//!
//! Per bucket, one `GetMetricData` call with two queries on namespace `AWS/S3`, statistic
//! `Average`, period 60 s, window now − 2 days … now, newest value first:
//! `NumberOfObjects` (`StorageType=AllStorageTypes`, unit `Count`) and `BucketSizeBytes`
//! (`StorageType=StandardStorage`, unit `Bytes`). The newest value is truncated to an
//! integer. This module only asks CloudWatch; what a missing value or an error means for the
//! container (0 and a note, or a warning) is the workflow's decision.

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StandardUnit, StatusCode,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The CloudWatch namespace of S3's daily storage metrics.
pub const NAMESPACE: &str = "AWS/S3";
/// Period of both queries, in seconds, as the reference asks.
const PERIOD_SECS: i32 = 60;
/// How far back the queries look.
const WINDOW: Duration = Duration::from_secs(2 * 24 * 3600);
/// Query id of the object count.
const ID_OBJECTS: &str = "number_of_objects";
/// Query id of the size.
const ID_SIZE: &str = "bucket_size_bytes";

/// A bucket's newest metric values; `None` where CloudWatch has no data point in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketMetrics {
    /// `NumberOfObjects` over all storage types.
    pub number_of_objects: Option<u64>,
    /// `BucketSizeBytes` of Standard storage, in bytes.
    pub size_bytes: Option<u64>,
}

/// A failed `GetMetricData` call, naming the bucket.
#[derive(Debug, thiserror::Error)]
#[error("GetMetricData for bucket {bucket} (region {region}) failed: {message}")]
pub struct Error {
    /// The bucket.
    pub bucket: String,
    /// The region CloudWatch was asked in.
    pub region: String,
    /// The SDK's message.
    pub message: String,
}

/// CloudWatch clients, one per region, sharing the S3 credentials and `endPointURL`.
#[derive(Debug)]
pub struct Metrics {
    sdk: SdkConfig,
    endpoint: Option<String>,
    clients: Mutex<HashMap<String, aws_sdk_cloudwatch::Client>>,
}

impl Metrics {
    /// Metrics over `sdk`'s credentials, at `endpoint` when set.
    pub fn new(sdk: &SdkConfig, endpoint: Option<&str>) -> Metrics {
        Metrics {
            sdk: sdk.clone(),
            endpoint: endpoint.map(str::to_string),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        // A poisoned lock only means another task panicked while inserting a client; the map
        // is still usable.
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                crate::aws::cloudwatch_client(&self.sdk, self.endpoint.as_deref(), Some(region))
            })
            .clone()
    }

    /// The newest object count and size of `bucket`, asked of CloudWatch in `region`.
    ///
    /// DIFF(spec §7, §13 #11): the reference asks CloudWatch in `awsRegion` only, so a bucket
    /// elsewhere always reports 0; the caller passes the bucket's own region here.
    pub async fn bucket(&self, bucket: &str, region: &str) -> Result<BucketMetrics, Error> {
        let now = SystemTime::now();
        let start = now.checked_sub(WINDOW).unwrap_or(SystemTime::UNIX_EPOCH);
        // DIFF(spec §7): both metrics in one GetMetricData call; the reference makes two.
        let out = self
            .client(region)
            .get_metric_data()
            .metric_data_queries(query(
                ID_OBJECTS,
                bucket,
                "NumberOfObjects",
                "AllStorageTypes",
                StandardUnit::Count,
            ))
            .metric_data_queries(query(
                ID_SIZE,
                bucket,
                "BucketSizeBytes",
                "StandardStorage",
                StandardUnit::Bytes,
            ))
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(now))
            .scan_by(ScanBy::TimestampDescending)
            .send()
            .await
            .map_err(|e| Error {
                bucket: bucket.to_string(),
                region: region.to_string(),
                message: describe(&e),
            })?;
        let newest = |id: &str| {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id))
                .filter(|r| r.status_code() == Some(&StatusCode::Complete))
                .and_then(|r| r.values().first())
                .map(|v| v.max(0.0).trunc() as u64)
        };
        Ok(BucketMetrics {
            number_of_objects: newest(ID_OBJECTS),
            size_bytes: newest(ID_SIZE),
        })
    }
}

/// The text of the first `<tag>…</tag>` in an XML error body, entities decoded, at most 300
/// characters.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    let text = body[start..end]
        .replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    Some(text.chars().take(300).collect())
}

/// A short description of a CloudWatch error: the code and message, or the HTTP status and
/// the start of the body when the server answered something that is not CloudWatch.
pub fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            match (se.err().code(), se.err().message()) {
                (Some(code), Some(msg)) => format!("HTTP {status} {code}: {msg}"),
                (Some(code), None) => format!("HTTP {status} {code}"),
                _ => {
                    let body = se
                        .raw()
                        .body()
                        .bytes()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default();
                    // An XML error the SDK's parser did not take (another protocol's
                    // shape): its code and message, never the raw XML.
                    match (xml_text(&body, "Code"), xml_text(&body, "Message")) {
                        (Some(code), Some(msg)) => format!("HTTP {status} {code}: {msg}"),
                        (Some(code), None) => format!("HTTP {status} {code}"),
                        _ if body.trim_start().starts_with('<') => format!("HTTP {status}"),
                        _ => format!(
                            "HTTP {status}: {}",
                            body.chars().take(300).collect::<String>()
                        ),
                    }
                }
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => crate::explain::root_cause(e),
        other => aws_sdk_cloudwatch::error::DisplayErrorContext(other)
            .to_string()
            .chars()
            .take(300)
            .collect(),
    }
}

fn query(
    id: &str,
    bucket: &str,
    metric: &str,
    storage_type: &str,
    unit: StandardUnit,
) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(metric)
        .dimensions(
            Dimension::builder()
                .name("BucketName")
                .value(bucket)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("StorageType")
                .value(storage_type)
                .build(),
        )
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_SECS)
                .stat("Average")
                .unit(unit)
                .build(),
        )
        .return_data(true)
        .build()
}
