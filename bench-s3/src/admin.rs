//! Requests that are not S3: the benchmark's admin calls (`GET /?x-bench=counts` answers the
//! request counts as JSON, `POST /?x-bench=reset` zeroes them; no signature needed; a query
//! on the root path, since s3s refuses a path that is not a valid bucket before any route)
//! and a CloudWatch stand-in (Query protocol `POST /` with a form body: `ListMetrics` and
//! `GetMetricData` answer no data), so both tools' bucket-metrics calls can go to the same
//! endpoint, as they do on moto. CloudWatch calls are counted and delayed like S3 ones; they
//! are answered before s3s sees them (s3s refuses a credential scope other than `s3`), so
//! their signature is not checked.

use crate::shaping::Meter;
use hyper::http::Extensions;
use hyper::{HeaderMap, Method, Uri};
use s3s::route::S3Route;
use s3s::{s3_error, Body, HttpRequest, HttpResponse, S3Request, S3Response, S3Result};
use std::sync::Arc;

/// The admin and CloudWatch route.
#[derive(Debug, Clone)]
pub struct Admin {
    meter: Arc<Meter>,
}

impl Admin {
    /// A route reading and resetting `meter`.
    pub fn new(meter: Arc<Meter>) -> Self {
        Self { meter }
    }
}

/// Whether `req` is a CloudWatch Query-protocol call (`POST /` with a form body, and not an
/// admin call, which clients may send with a form content type too).
pub fn is_cloudwatch<B>(req: &hyper::Request<B>) -> bool {
    req.method() == Method::POST
        && req.uri().path() == "/"
        && admin_call(req.uri()).is_none()
        && is_form(req.headers())
}

/// Answers a CloudWatch call (see [`is_cloudwatch`]): counted as `cloudwatch <Action>`,
/// delayed like S3 calls, an empty result for the actions the tools use, 400 otherwise.
pub async fn cloudwatch(req: HttpRequest, meter: &Meter) -> HttpResponse {
    let mut body = req.into_body();
    let form = match body.store_all_limited(1 << 20).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    let action = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("")
        .to_owned();
    meter.enter(&format!("cloudwatch {action}"), None).await;
    let (status, xml) = match cloudwatch_answer(&action) {
        Some(xml) => (hyper::StatusCode::OK, xml),
        None => (
            hyper::StatusCode::BAD_REQUEST,
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>bench-s3 does not serve CloudWatch {action}</Message></Error></ErrorResponse>"),
        ),
    };
    let mut resp = hyper::Response::new(Body::from(xml));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    resp
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `counts` or `reset` from `/?x-bench=…`.
fn admin_call(uri: &Uri) -> Option<&str> {
    uri.query()?.strip_prefix("x-bench=")
}

const CW_NS: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// The CloudWatch answer to `action`: an empty result.
fn cloudwatch_answer(action: &str) -> Option<String> {
    let result = match action {
        "ListMetrics" => "<ListMetricsResult><Metrics/></ListMetricsResult>",
        "GetMetricData" => {
            "<GetMetricDataResult><MetricDataResults/><Messages/></GetMetricDataResult>"
        }
        "GetMetricStatistics" => {
            "<GetMetricStatisticsResult><Label/><Datapoints/></GetMetricStatisticsResult>"
        }
        _ => return None,
    };
    Some(format!(
        "<{action}Response xmlns=\"{CW_NS}\">{result}<ResponseMetadata><RequestId>bench-s3</RequestId></ResponseMetadata></{action}Response>"
    ))
}

#[async_trait::async_trait]
impl S3Route for Admin {
    fn is_match(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        _: &mut Extensions,
    ) -> bool {
        let _ = (method, headers);
        uri.path() == "/" && admin_call(uri).is_some()
    }

    async fn check_access(&self, _req: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        match (&req.method, admin_call(&req.uri)) {
            (&Method::GET, Some("counts")) => Ok(S3Response::new(Body::from(self.meter.to_json()))),
            (&Method::POST, Some("reset")) => {
                self.meter.reset();
                Ok(S3Response::new(Body::from(String::from("{}"))))
            }
            _ => Err(s3_error!(NotImplemented)),
        }
    }
}
