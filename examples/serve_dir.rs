//! Serves a local directory as an S3-compatible endpoint (the embedded s3s-fs server), for
//! `bench/run.sh --large`: each sub-directory is a bucket.
//!
//! usage: serve_dir DIR ACCESS_KEY SECRET_KEY — prints the endpoint on stdout, serves until
//! stdin closes or Ctrl-C.

use std::io::{BufRead, Write};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, access, secret] = args.as_slice() else {
        eprintln!("usage: serve_dir DIR ACCESS_KEY SECRET_KEY");
        std::process::exit(2);
    };
    let server = s3meta::embedded::serve(std::path::Path::new(dir), access, secret).await?;
    println!("{}", server.endpoint());
    std::io::stdout().flush()?;
    // Stop when the parent closes our stdin (or on Ctrl-C).
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            line.clear();
        }
    });
    tokio::select! {
        _ = stdin_closed => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(server);
    Ok(())
}
