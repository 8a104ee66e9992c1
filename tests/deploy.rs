//! The scale-out recipes in `deploy/` are syntactically valid: the Kubernetes manifests parse
//! and name the right kinds and commands, and the Airflow DAG compiles with Python.
use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_cronjob_manifest_parses() {
    let v = yaml("deploy/k8s/cronjob.yaml");
    assert_eq!(v["apiVersion"], "batch/v1");
    assert_eq!(v["kind"], "CronJob");
    assert_eq!(v["spec"]["concurrencyPolicy"], "Forbid");
    let c = &v["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["args"][0], "ingest");
}

#[test]
fn the_indexed_job_manifest_runs_one_shard_per_index() {
    let v = yaml("deploy/k8s/indexed-job.yaml");
    assert_eq!(v["kind"], "Job");
    assert_eq!(v["spec"]["completionMode"], "Indexed");
    assert_eq!(v["spec"]["completions"], v["spec"]["parallelism"]);
    let args = v["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(
        args.contains("--shard \"${JOB_COMPLETION_INDEX}/4\""),
        "{args}"
    );
}

#[test]
fn the_airflow_dag_compiles() {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys; p = sys.argv[1]; compile(open(p).read(), p, 'exec')",
            "deploy/airflow/s3meta_dag.py",
        ])
        .output()
        .expect("python3 is needed to check the DAG");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No Docker engine runs in CI: the Dockerfile is checked here instead (instructions known,
/// stages referenced exist, the binary copied is the one the build stage makes, a non-root
/// user, an exec-form entrypoint), and the release profile strips the binary it copies.
#[test]
fn the_dockerfile_builds_a_stripped_binary_into_a_non_root_image() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let mut lines = vec![];
    let mut pending = String::new();
    for l in text.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        pending.push_str(l.trim_end_matches('\\'));
        pending.push(' ');
        if !l.ends_with('\\') {
            lines.push(std::mem::take(&mut pending));
        }
    }
    let mut stages = vec![];
    let mut user = None;
    let mut entrypoint = None;
    let mut copied_from_build = None;
    for l in &lines {
        let (instr, rest) = l.split_once(' ').unwrap();
        assert!(
            [
                "FROM",
                "WORKDIR",
                "COPY",
                "RUN",
                "USER",
                "ENTRYPOINT",
                "CMD"
            ]
            .contains(&instr),
            "unknown instruction in {l}"
        );
        match instr {
            "FROM" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                assert!(parts[0].contains(':'), "unpinned base image {l}");
                if let [_, "AS", name] = parts[..] {
                    stages.push(name.to_string());
                }
            }
            "COPY" if rest.starts_with("--from=") => {
                let stage = rest["--from=".len()..].split_whitespace().next().unwrap();
                assert!(stages.iter().any(|s| s == stage), "unknown stage in {l}");
                copied_from_build = Some(rest.split_whitespace().nth(1).unwrap().to_string());
            }
            "USER" => user = Some(rest.trim().to_string()),
            "ENTRYPOINT" | "CMD" => {
                let v: Vec<String> = serde_json::from_str(rest.trim()).unwrap();
                if instr == "ENTRYPOINT" {
                    entrypoint = Some(v[0].clone());
                }
            }
            _ => {}
        }
    }
    assert!(text.contains("cargo build --release --locked --bin s3meta"));
    assert!(text.contains("cp target/release/s3meta /s3meta"));
    assert_eq!(copied_from_build.as_deref(), Some("/s3meta"));
    assert_eq!(entrypoint.as_deref(), Some("/usr/local/bin/s3meta"));
    let user = user.expect("no USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target/"));
    let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains("[profile.release]\nstrip = true"),
        "release binary not stripped"
    );
}
