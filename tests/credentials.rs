//! AWS credential forms against the embedded server, which checks every SigV4 signature:
//! static keys (in other tests), a named profile from the shared files, the default chain
//! from the environment, and wrong keys.

use crate::support::{Lake, ACCESS_KEY, SECRET_KEY};

fn without_keys(yaml: &str) -> String {
    yaml.lines()
        .filter(|l| !l.contains("awsAccessKeyId") && !l.contains("awsSecretAccessKey"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_named_profile_from_the_shared_files_signs_requests() {
    let lake = Lake::new();
    lake.bucket("profiled");
    let creds = lake.dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n[analytics]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    let config = lake.dir.path().join("config");
    std::fs::write(&config, "[profile analytics]\nregion = eu-west-1\n").unwrap();
    let yaml = without_keys(&lake.config("", "")).replace(
        "        endPointURL",
        "        profileName: analytics\n        endPointURL",
    );
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let run = lake.ingest_with_env(&yaml, &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.fqns(), vec!["svc.profiled"]);
    assert_eq!(
        run.catalog[0]["request"]["connection"]["config"]["awsConfig"]["profileName"],
        "analytics"
    );
}

#[test]
fn without_keys_the_default_chain_reads_the_environment() {
    let lake = Lake::new();
    lake.bucket("chained");
    let yaml = without_keys(&lake.config("", ""));
    let run = lake.ingest_with_env(
        &yaml,
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.fqns(), vec!["svc.chained"]);
}

#[test]
fn wrong_keys_are_a_failure_naming_the_cause() {
    let lake = Lake::new();
    lake.bucket("locked");
    let yaml = lake.config("", "").replace(SECRET_KEY, "not-the-secret");
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    // The test-connection steps run first and stop the run, naming the cause on stderr.
    assert!(run.stderr.contains("ListBuckets"), "{}", run.stderr);
    assert!(
        run.stderr.contains("not authenticated") || run.stderr.contains("SignatureDoesNotMatch"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("not-the-secret") && !run.stderr.contains("not-the-secret"));
}
