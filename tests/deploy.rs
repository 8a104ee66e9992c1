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
