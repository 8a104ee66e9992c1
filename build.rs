//! Build facts for `s3meta --version` (what a bug report needs): the commit, the target
//! and the profile. Without git (a source tarball, a Docker build context without `.git`)
//! the commit is "unknown".

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=S3META_COMMIT={commit}");
    for (var, from) in [("S3META_TARGET", "TARGET"), ("S3META_PROFILE", "PROFILE")] {
        println!(
            "cargo:rustc-env={var}={}",
            std::env::var(from).unwrap_or_else(|_| "unknown".to_string())
        );
    }
    // A new commit or checkout rewrites .git/logs/HEAD: only then is the commit asked again.
    println!("cargo:rerun-if-changed=.git/logs/HEAD");
    println!("cargo:rerun-if-changed=build.rs");
}
