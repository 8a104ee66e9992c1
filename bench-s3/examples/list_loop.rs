//! The baseline of the million-key benchmark: a bare sequential ListObjectsV2 loop (one page
//! of 1,000 keys after another, as `aws s3 ls --recursive` does), timed.
//!
//! ```text
//! list_loop ENDPOINT BUCKET [PREFIX] [ACCESS_KEY SECRET_KEY]
//! ```
//! Prints one JSON line: keys, pages, seconds, keys per second.

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_owned());
    let (endpoint, bucket, prefix) = (
        arg(0, "http://127.0.0.1:9000"),
        arg(1, "bench-keys"),
        arg(2, ""),
    );
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            arg(3, "testing"),
            arg(4, "testing"),
            None,
            None,
            "args",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let t = Instant::now();
    let (mut keys, mut pages) = (0usize, 0usize);
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .set_continuation_token(token.take())
            .send()
            .await?;
        pages += 1;
        keys += page.contents().len();
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"keys\": {keys}, \"pages\": {pages}, \"seconds\": {secs:.3}, \"keys_per_s\": {:.0}}}",
        keys as f64 / secs
    );
    Ok(())
}
