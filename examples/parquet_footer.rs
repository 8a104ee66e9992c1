//! Benchmark: what learning one parquet schema costs, by file size.
//!
//! `parquet_footer gen DIR` writes `DIR/lake/bench/{1mib,100mib,1gib}.parquet` (streamed, one
//! int64 and one float64 column, uncompressed). `parquet_footer infer DIR KEY` serves
//! `DIR/lake` with the embedded S3 server, infers the schema of `KEY` in bucket `bench` through a
//! `CountingStore`, and prints bytes read, requests, wall time and the process's peak RSS.
//! Run by `bench/parquet_footer.sh`, one process per file so that each peak is its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow_array::{Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use s3meta::store::counting::CountingStore;
use s3meta::store::ObjectStore;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const ACCESS: &str = "AKIABENCHS3META";
const SECRET: &str = "bench-secret";

fn generate(path: &Path, bytes: u64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, true),
    ]));
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).unwrap();
    let rows_per_batch = 1 << 20; // 16 MiB of values per batch
    let total_rows = bytes / 16;
    let mut written = 0u64;
    while written < total_rows {
        let n = rows_per_batch.min(total_rows - written) as i64;
        let start = written as i64;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(start..start + n)),
                Arc::new(Float64Array::from_iter_values(
                    (start..start + n).map(|i| i as f64 * 0.5),
                )),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        written += n as u64;
    }
    w.close().unwrap();
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(2)
            .map(String::as_str)
            .unwrap_or("target/bench-lake"),
    );
    let lake = dir.join("lake");
    match args.get(1).map(String::as_str) {
        Some("gen") => {
            std::fs::create_dir_all(lake.join("bench")).unwrap();
            for (name, size) in [
                ("1mib", 1u64 << 20),
                ("100mib", 100 << 20),
                ("1gib", 1 << 30),
            ] {
                let p = lake.join("bench").join(format!("{name}.parquet"));
                if !p.exists() {
                    generate(&p, size);
                }
                println!(
                    "{}: {} bytes",
                    p.display(),
                    std::fs::metadata(&p).unwrap().len()
                );
            }
        }
        Some("infer") => {
            let key = args[3].clone();
            let server = s3meta::embedded::serve(&lake, ACCESS, SECRET)
                .await
                .unwrap();
            let creds: s3meta::config::AwsCredentials = serde_json::from_value(serde_json::json!({
                "awsRegion": "us-east-1",
                "awsAccessKeyId": ACCESS,
                "awsSecretAccessKey": SECRET,
                "endPointURL": server.endpoint(),
            }))
            .unwrap();
            let opts = s3meta::config::S3metaOptions::default();
            let sdk = s3meta::aws::sdk_config(&creds, &opts).await;
            let s3 = s3meta::store::s3::S3Store::new(s3meta::aws::s3_client(
                &sdk,
                Some(&server.endpoint()),
            ));
            let store = CountingStore::new(Arc::new(s3));
            // The size comes from a listing in a real run; HEAD here, not counted.
            let object = store.head("bench", &key).await.unwrap();
            store.reset();
            let limits = s3meta::infer::Limits::default();
            let started = Instant::now();
            let cols = s3meta::infer::infer_columns(
                &store,
                s3meta::infer::Sample {
                    bucket: "bench",
                    object: &object,
                    format: &"parquet".into(),
                    separator: None,
                },
                &limits,
            )
            .await
            .unwrap();
            let wall = started.elapsed();
            let c = store.counts();
            println!(
                "{key}\tsize={} B\tcolumns={}\trequests={}\tbytes_read={} B\twall={:.1} ms\tpeak_rss={} KiB",
                object.size,
                cols.len(),
                c.requests,
                c.bytes,
                wall.as_secs_f64() * 1000.0,
                peak_rss_kib()
            );
        }
        _ => eprintln!(
            "usage: parquet_footer gen DIR | parquet_footer infer DIR (1mib|100mib|1gib).parquet"
        ),
    }
}
