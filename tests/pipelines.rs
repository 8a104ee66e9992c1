//! Running what the OpenMetadata UI configured: `s3meta run --pipeline`, server-mode
//! `s3meta serve` (injected time in-process; SIGTERM on the binary), and shards writing to
//! one service. Against the strict OpenMetadata test server and the embedded S3 server.

use crate::support::serving::{blackhole, free_addr, get, until, ManualClock};
use crate::support::{parquet_id_name, run_binary, Lake};
use om_test_server::{OmServer, Options};
use pretty_assertions::assert_eq;
use s3meta::serve::pipeline::{PipelineClient, ServerAccess, ServerJobs, ServerRunner};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "bot-jwt-for-pipelines";

fn server() -> OmServer {
    OmServer::spawn(Options {
        token: TOKEN.into(),
        ..Options::default()
    })
    .unwrap()
}

fn lake() -> Lake {
    let lake = Lake::new();
    let pq = parquet_id_name();
    lake.put(
        "sales",
        "openmetadata.json",
        r#"{"entries": [
            {"dataPath": "orders", "structureFormat": "parquet"},
            {"dataPath": "docs", "unstructuredFormats": ["pdf"]}
        ]}"#,
    );
    lake.put("sales", "orders/a.parquet", &pq);
    lake.put("sales", "docs/a.pdf", "%PDF");
    lake.put("plain", "x.txt", "x");
    lake
}

/// The lake's config with the `metadata-rest` sink pointed at `om`.
fn rest_yaml(lake: &Lake, om: &OmServer) -> String {
    let file_sink = format!(
        "sink:\n  type: file\n  config:\n    path: {}\n",
        lake.catalog_path().display()
    );
    lake.config("", "")
        .replace(&file_sink, "sink:\n  type: metadata-rest\n  config: {}\n")
        .replace("http://127.0.0.1:9/api", &om.base_url())
        .replace("not-a-real-jwt-token", TOKEN)
}

/// Creates the service as the UI does (connection stored) and a pipeline with `airflow`.
fn ui_setup(lake: &Lake, om: &OmServer, yaml: &str, pipelines: &[(&str, Value)]) {
    let raw = s3meta::config::parse_str(yaml).unwrap();
    let conn = &raw.source.service_connection.as_ref().unwrap().config;
    let service = s3meta::entity::service_request("svc", conn, true, false);
    let base = om.base_url();
    let bodies: Vec<Value> = pipelines
        .iter()
        .map(|(name, airflow)| {
            json!({"name": name, "pipelineType": "metadata",
                   "sourceConfig": {"config": {"type": "StorageMetadata"}},
                   "airflowConfig": airflow})
        })
        .collect();
    lake.block_on(async move {
        let http = reqwest::Client::new();
        let put = |path: &str, body: Value| {
            http.put(format!("{base}/v1/{path}"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
        };
        let svc: Value = put("services/storageServices", service)
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for mut b in bodies {
            b["service"] = json!({"id": svc["id"], "type": "storageService"});
            let r = put("services/ingestionPipelines", b).await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    });
}

/// `(runId, pipelineState)` of every status PUT for `fqn`, in order.
fn statuses(om: &OmServer, fqn: &str) -> Vec<(String, String)> {
    let path = format!("/v1/services/ingestionPipelines/{fqn}/pipelineStatus");
    om.requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path == path)
        .map(|r| {
            let b = r.body.unwrap();
            (
                b["runId"].as_str().unwrap().to_string(),
                b["pipelineState"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn live(om: &OmServer) -> Vec<String> {
    let mut v = om.state().live_containers();
    v.sort();
    v
}

#[test]
fn run_pipeline_builds_the_workflow_from_the_server_and_reports_its_status() {
    let lake = lake();
    // The equivalent YAML, against a server of its own.
    let reference = server();
    let run = lake.ingest(&rest_yaml(&lake, &reference));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    let om = server();
    let yaml = rest_yaml(&lake, &om);
    ui_setup(
        &lake,
        &om,
        &yaml,
        &[("s3_metadata", json!({"scheduleInterval": "0 * * * *"}))],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["run", "--pipeline", "svc.s3_metadata"])
        .env("OPENMETADATA_HOST_PORT", om.base_url())
        .env("OPENMETADATA_JWT_TOKEN", TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    assert!(!stderr.contains(crate::support::SECRET_KEY));

    assert_eq!(
        live(&om),
        live(&reference),
        "the same containers as the YAML run"
    );
    let st = statuses(&om, "svc.s3_metadata");
    assert_eq!(st.len(), 2, "{st:?}");
    assert_eq!(st[0].1, "running");
    assert_eq!(st[1].1, "success");
    assert_eq!(st[0].0, st[1].0, "one run id");
}

#[test]
fn serve_fires_due_server_pipelines_and_skips_paused_ones() {
    let lake = lake();
    let om = server();
    let yaml = rest_yaml(&lake, &om);
    ui_setup(
        &lake,
        &om,
        &yaml,
        &[
            (
                "hourly",
                json!({"scheduleInterval": "0 * * * *", "pipelineTimezone": "UTC"}),
            ),
            (
                "paused",
                json!({"scheduleInterval": "0 * * * *", "pausePipeline": true}),
            ),
        ],
    );
    let access = ServerAccess {
        host_port: om.base_url(),
        jwt_token: s3meta::config::Secret::new(TOKEN),
    };
    let client = PipelineClient::new(access).unwrap();
    let jobs = ServerJobs::new(client.clone(), vec![]);
    let runner = Arc::new(ServerRunner::new(client));
    let clock = ManualClock::new("2026-11-27T14:59:59Z");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let opts = s3meta::serve::ServeOptions {
        state_file: None,
        health_addr: None,
        refresh: Duration::from_secs(3600),
        grace: Duration::from_secs(30),
        run_at_start: false,
    };
    lake.block_on(async {
        let c = clock.clone();
        let serving = tokio::spawn(s3meta::serve::serve(
            jobs,
            runner,
            c,
            opts,
            async {
                let _ = stop_rx.await;
            },
            |_| {},
        ));
        until("the loop to idle", || clock.idle()).await;
        assert!(
            statuses(&om, "svc.hourly").is_empty(),
            "not due before 15:00"
        );
        clock.set("2026-11-27T15:00:00Z");
        until("the hourly run", || statuses(&om, "svc.hourly").len() == 2).await;
        let st = statuses(&om, "svc.hourly");
        assert_eq!((st[0].1.as_str(), st[1].1.as_str()), ("running", "success"));
        assert!(
            statuses(&om, "svc.paused").is_empty(),
            "a paused pipeline never runs"
        );
        assert!(live(&om).contains(&"svc.sales.orders".to_string()));
        let _ = stop_tx.send(());
        serving.await.unwrap().unwrap();
    });
}

#[test]
fn sigterm_during_a_server_run_reports_it_failed() {
    let lake = lake();
    let om = server();
    // The stored connection points at an S3 endpoint that never answers.
    let yaml = rest_yaml(&lake, &om).replace(&lake.endpoint(), &blackhole());
    ui_setup(
        &lake,
        &om,
        &yaml,
        &[("stuck", json!({"scheduleInterval": "0 0 1 1 *"}))],
    );
    let health = free_addr();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args([
            "serve",
            "--run-at-start",
            "--grace-secs",
            "0",
            "--health-addr",
            &health,
        ])
        .env("OPENMETADATA_HOST_PORT", om.base_url())
        .env("OPENMETADATA_JWT_TOKEN", TOKEN)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut running = false;
    for _ in 0..200 {
        if get(&health).is_some_and(|b| b.contains("\"running\":[\"svc.stuck\"]")) {
            running = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(running, "the run never started");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
    let st = statuses(&om, "svc.stuck");
    assert_eq!(st.last().map(|s| s.1.as_str()), Some("failed"), "{st:?}");
}

#[test]
fn shards_share_one_service_without_deleting_each_other() {
    let lake = Lake::new();
    let pq = parquet_id_name();
    let buckets: Vec<String> = (0..6).map(|i| format!("shard-bucket-{i}")).collect();
    for b in &buckets {
        lake.put(
            b,
            "openmetadata.json",
            r#"{"entries": [{"dataPath": "t", "structureFormat": "parquet"}]}"#,
        );
        lake.put(b, "t/a.parquet", &pq);
    }
    let om = server();
    let yaml = rest_yaml(&lake, &om);
    let whole = lake.ingest(&yaml);
    assert_eq!(whole.code, 0, "{}", whole.stderr);
    let all = live(&om);
    assert_eq!(all.len(), 12);

    let shard = |i: u32| {
        let s = format!("{i}/2");
        let run = run_binary(
            lake.dir.path(),
            &["ingest", "--shard", &s, "-c"],
            &yaml,
            &lake.catalog_path(),
        );
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    };
    shard(0);
    shard(1);
    assert_eq!(live(&om), all, "two shards mark nothing deleted");
    assert!(om.state().deleted_containers().is_empty());

    // A table disappears from one bucket: only the shard that owns it marks it deleted.
    let owner = (0..2)
        .find(|i| {
            s3meta::config::Shard {
                index: *i,
                count: 2,
            }
            .owns(&buckets[0])
        })
        .unwrap();
    lake.put(&buckets[0], "openmetadata.json", r#"{"entries": []}"#);
    shard(1 - owner);
    assert!(
        om.state().deleted_containers().is_empty(),
        "the other shard leaves it alone"
    );
    shard(owner);
    let gone = format!("svc.{}.t", buckets[0]);
    assert_eq!(om.state().deleted_containers(), vec![gone]);
}
