//! `bench-s3`: the benchmark S3 server's command line. Prints its endpoint on stdout's first
//! line, serves until Ctrl-C or SIGTERM, then prints the request counts on stderr.

use bench_s3::shaping::Shape;
use bench_s3::store::Store;
use bench_s3::{seed, serve};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// An in-memory S3-compatible server for benchmarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Loopback port (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Access key SigV4 requests must be signed with.
    #[arg(long, default_value = "testing")]
    access_key: String,
    /// Secret key SigV4 requests must be signed with.
    #[arg(long, default_value = "testing")]
    secret_key: String,
    /// Load every file under DIR/<bucket>/… as bucket/key.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Generate the benchmark lake: BUCKETSxENTRIESxFILES, e.g. 20x20x10.
    #[arg(long, value_name = "BxExF")]
    gen_lake: Option<String>,
    /// Generate this many Hive-partitioned keys under --prefix in --bucket.
    #[arg(long)]
    gen_keys: Option<usize>,
    /// Generate a bucket `bench-entries` whose manifest names this many tables one by one.
    #[arg(long)]
    gen_entries: Option<usize>,
    /// The bucket of --gen-keys.
    #[arg(long, default_value = "bench-keys")]
    bucket: String,
    /// The key prefix of --gen-keys.
    #[arg(long, default_value = "events")]
    prefix: String,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests per second per prefix (bucket + first key segment) above which requests get
    /// `503 SlowDown`.
    #[arg(long)]
    slowdown_rps: Option<u32>,
}

fn parse_lake(s: &str) -> Option<(usize, usize, usize)> {
    let mut it = s.split('x').map(|p| p.trim().parse::<usize>().ok());
    let t = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(t)
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let store = Store::default();
    if let Some(dir) = &a.dir {
        match seed::from_dir(&store, dir) {
            Ok(n) => eprintln!("bench-s3: {n} objects from {}", dir.display()),
            Err(e) => {
                eprintln!(
                    "bench-s3: {e}: {}",
                    std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(spec) = &a.gen_lake {
        let Some((b, e, f)) = parse_lake(spec) else {
            eprintln!(
                "bench-s3: --gen-lake wants BUCKETSxENTRIESxFILES, e.g. 20x20x10, not {spec}"
            );
            return ExitCode::FAILURE;
        };
        let n = seed::gen_lake(&store, b, e, f);
        eprintln!("bench-s3: generated a {spec} lake, {n} objects");
    }
    if let Some(n) = a.gen_keys {
        let n = seed::gen_keys(&store, &a.bucket, &a.prefix, n);
        eprintln!("bench-s3: generated {n} objects in {}", a.bucket);
    }
    if let Some(n) = a.gen_entries {
        let n = seed::gen_entries(&store, "bench-entries", n);
        eprintln!("bench-s3: generated {n} objects in bench-entries");
    }
    let shape = Shape {
        latency: Duration::from_millis(a.latency_ms),
        slowdown_rps: a.slowdown_rps,
    };
    let server = match serve(store, shape, &a.access_key, &a.secret_key, a.port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench-s3: cannot listen on port {}: {e}", a.port);
            return ExitCode::FAILURE;
        }
    };
    println!("{}", server.endpoint());
    let stop = async {
        #[cfg(unix)]
        {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
                return;
            }
        }
        let _ = tokio::signal::ctrl_c().await;
    };
    stop.await;
    eprintln!("bench-s3 requests: {}", server.counts_json());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    #[test]
    fn lake_spec() {
        assert_eq!(super::parse_lake("20x20x10"), Some((20, 20, 10)));
        assert_eq!(super::parse_lake("20x20"), None);
    }
}
