//! bench-s3 through the AWS SDK with SigV4, on loopback: paged listings of 10,000 keys,
//! delimiters, ranges, SlowDown, latency, counts.

// Tests (and their helpers) fail by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bench_s3::shaping::Shape;
use bench_s3::store::{Object, Store};
use bench_s3::{serve, Server};
use bytes::Bytes;
use std::time::{Duration, Instant};

async fn start(store: Store, shape: Shape) -> (Server, Client) {
    let server = serve(store, shape, "ak", "sk", 0).await.unwrap();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("ak", "sk", None, None, "test"))
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    (server, Client::from_conf(conf))
}

fn ten_thousand() -> Store {
    let s = Store::default();
    for i in 0..10_000 {
        s.put(
            "big",
            format!("d{}/k{i:05}", i % 10),
            Object::new(Bytes::from(format!("body {i}"))),
        );
    }
    s
}

#[tokio::test]
async fn lists_ten_thousand_keys_in_pages() {
    let (_s, c) = start(ten_thousand(), Shape::default()).await;
    let mut pages = c.list_objects_v2().bucket("big").into_paginator().send();
    let mut keys = Vec::new();
    let mut n_pages = 0;
    while let Some(p) = pages.next().await {
        let p = p.unwrap();
        n_pages += 1;
        assert!(p.key_count().unwrap() <= 1000);
        keys.extend(p.contents().iter().map(|o| o.key().unwrap().to_owned()));
    }
    assert_eq!(n_pages, 10);
    assert_eq!(keys.len(), 10_000);
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );

    let p = c
        .list_objects_v2()
        .bucket("big")
        .delimiter("/")
        .max_keys(4)
        .send()
        .await
        .unwrap();
    let cps: Vec<_> = p
        .common_prefixes()
        .iter()
        .map(|c| c.prefix().unwrap())
        .collect();
    assert_eq!(cps, ["d0/", "d1/", "d2/", "d3/"]);
    assert_eq!(p.is_truncated(), Some(true));
    let p = c
        .list_objects_v2()
        .bucket("big")
        .delimiter("/")
        .continuation_token(p.next_continuation_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p.common_prefixes().len(), 6);
    assert_eq!(p.is_truncated(), Some(false));

    let p = c
        .list_objects_v2()
        .bucket("big")
        .prefix("d3/")
        .start_after("d3/k09990")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = p.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(keys, ["d3/k09993"]);
}

#[tokio::test]
async fn ranges_heads_and_tags() {
    let (_s, c) = start(Store::default(), Shape::default()).await;
    c.create_bucket().bucket("bkt").send().await.unwrap();
    c.put_object()
        .bucket("bkt")
        .key("a/x.txt")
        .body(ByteStream::from_static(b"0123456789"))
        .send()
        .await
        .unwrap();
    let get = |r: &'static str| c.get_object().bucket("bkt").key("a/x.txt").range(r).send();
    let body = get("bytes=2-4")
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(&body.into_bytes()[..], b"234");
    let body = get("bytes=-3").await.unwrap().body.collect().await.unwrap();
    assert_eq!(&body.into_bytes()[..], b"789");
    let body = get("bytes=8-").await.unwrap().body.collect().await.unwrap();
    assert_eq!(&body.into_bytes()[..], b"89");
    let h = c
        .head_object()
        .bucket("bkt")
        .key("a/x.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(h.content_length(), Some(10));
    assert_eq!(h.e_tag(), Some("\"781e5e245d69b566979b86e28d23f2c7\""));
    let e = c
        .get_object()
        .bucket("bkt")
        .key("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("NoSuchKey"));
    let e = c
        .get_bucket_tagging()
        .bucket("bkt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.into_service_error().meta().code(), Some("NoSuchTagSet"));
    let buckets = c.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 1);
    c.get_bucket_location().bucket("bkt").send().await.unwrap();
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let (s, _) = start(Store::default(), Shape::default()).await;
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("ak", "wrong", None, None, "test"))
        .endpoint_url(s.endpoint())
        .force_path_style(true)
        .build();
    let e = Client::from_conf(conf)
        .list_buckets()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.into_service_error().meta().code(),
        Some("SignatureDoesNotMatch")
    );
}

#[tokio::test]
async fn slowdown_above_the_prefix_rate() {
    let (s, c) = start(
        ten_thousand(),
        Shape {
            latency: Duration::ZERO,
            slowdown_rps: Some(5),
        },
    )
    .await;
    let mut slow = 0;
    for _ in 0..8 {
        match c
            .list_objects_v2()
            .bucket("big")
            .prefix("d1/")
            .max_keys(1)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                let e = e.into_service_error();
                assert_eq!(e.meta().code(), Some("SlowDown"));
                slow += 1;
            }
        }
    }
    assert!(slow >= 3, "{slow} SlowDown answers");
    // Another prefix has its own budget.
    c.list_objects_v2()
        .bucket("big")
        .prefix("d2/")
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert!(
        s.counts_json().contains("\"ListObjectsV2\": 9"),
        "{}",
        s.counts_json()
    );
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let (s, c) = start(
        ten_thousand(),
        Shape {
            latency: Duration::from_millis(50),
            slowdown_rps: None,
        },
    )
    .await;
    let t = Instant::now();
    for _ in 0..3 {
        c.head_object()
            .bucket("big")
            .key("d0/k00000")
            .send()
            .await
            .unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    let counts = raw(
        &s.endpoint(),
        "GET /?x-bench=counts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(counts.contains("\"HeadObject\": 3"), "{counts}");
}

#[tokio::test]
async fn cloudwatch_stand_in_answers_no_metrics() {
    let (s, _) = start(Store::default(), Shape::default()).await;
    let body = "Action=ListMetrics&Version=2010-08-01&Namespace=AWS%2FS3";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let out = raw(&s.endpoint(), &req).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("<ListMetricsResponse"), "{out}");
    assert!(s.counts_json().contains("\"cloudwatch ListMetrics\": 1"));
}

/// One HTTP exchange over a bare TCP connection (no HTTP client in the dependencies).
async fn raw(endpoint: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
