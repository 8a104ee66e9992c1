//! `om-test-server`: the strict OpenMetadata stand-in as a program, for benchmarks that point
//! the Python connector (or s3meta) at it.
//!
//! ```text
//! om-test-server [--port 8585] [--token TOKEN] [--state state.json] [--version 2.0.7]
//!                [--delete-stale-404] [--latency-ms N]
//! ```
//! Prints `http://127.0.0.1:PORT/api` on stdout once listening; state is saved to the state
//! file while it runs and on Ctrl-C.

use om_test_server::{OmServer, Options};
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: om-test-server [--port N] [--token TOKEN] [--state FILE] [--version V] [--delete-stale-404] [--latency-ms N]"
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut opts = Options {
        port: 8585,
        ..Options::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next();
        match a.as_str() {
            "--port" => match value().and_then(|v| v.parse().ok()) {
                Some(p) => opts.port = p,
                None => return usage(),
            },
            "--token" => match value() {
                Some(t) => opts.token = t,
                None => return usage(),
            },
            "--state" => match value() {
                Some(f) => opts.state_file = Some(f.into()),
                None => return usage(),
            },
            "--version" => match value() {
                Some(v) => opts.version = v,
                None => return usage(),
            },
            "--delete-stale-404" => opts.delete_stale_404 = true,
            // Per-call latency: every answer waits this long first (benchmarks).
            "--latency-ms" => match value().and_then(|v| v.parse().ok()) {
                Some(ms) => opts.latency = std::time::Duration::from_millis(ms),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let server = match OmServer::start(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("om-test-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", server.base_url());
    let _ = tokio::signal::ctrl_c().await;
    if let Err(e) = server.save() {
        eprintln!("om-test-server: cannot save state: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
