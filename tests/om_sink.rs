//! The `metadata-rest` sink against our strict OpenMetadata server, with the lake on the
//! embedded S3 server: what a server holds after runs, what it was sent, and what it refused.
#![allow(clippy::unwrap_used)] // helpers of tests: a failure is a failed test

use crate::support::{Lake, Run};
use om_test_server::{Fault, OmServer, Options};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};

const TOKEN: &str = "bot-jwt-for-tests";

fn server() -> OmServer {
    OmServer::spawn(Options {
        token: TOKEN.into(),
        ..Options::default()
    })
    .unwrap()
}

/// The lake of most tests: a bucket with a manifest (a csv table, pdf documents in folders)
/// and a bucket without one.
fn lake() -> Lake {
    let lake = Lake::new();
    lake.put(
        "sales",
        "openmetadata.json",
        r#"{"entries": [
            {"dataPath": "transactions", "structureFormat": "csv"},
            {"dataPath": "docs", "unstructuredFormats": ["pdf"]}
        ]}"#,
    );
    lake.put("sales", "transactions/2024.csv", "id,amount\n1,2.5\n");
    lake.put("sales", "docs/a.pdf", "%PDF-1.4 a");
    lake.put("sales", "docs/reports/b.pdf", "%PDF-1.4 b");
    lake.put("plain", "x/y.txt", "x");
    lake
}

/// The lake's file-sink config turned into a metadata-rest one for `om`.
fn rest_config(lake: &Lake, om: &OmServer, extra: &str) -> String {
    let file_sink = format!(
        "sink:\n  type: file\n  config:\n    path: {}\n",
        lake.catalog_path().display()
    );
    let yaml = lake.config("", "");
    assert!(
        yaml.contains(&file_sink),
        "the support config changed shape"
    );
    yaml.replace(&file_sink, "sink:\n  type: metadata-rest\n  config: {}\n")
        .replace("http://127.0.0.1:9/api", &om.base_url())
        .replace("not-a-real-jwt-token", TOKEN)
        + extra
}

fn puts(om: &OmServer, path: &str) -> Vec<Value> {
    om.requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path == path)
        .map(|r| r.body.unwrap())
        .collect()
}

fn versions(om: &OmServer) -> Vec<(String, f64, bool)> {
    om.state()
        .containers
        .values()
        .map(|c| (c.fqn.clone(), c.version, c.deleted))
        .collect()
}

const ALL: [&str; 7] = [
    "svc.plain",
    "svc.sales",
    "svc.sales.docs",
    "svc.sales.docs.\"a.pdf\"",
    "svc.sales.docs.reports",
    "svc.sales.docs.reports.\"b.pdf\"",
    "svc.sales.transactions",
];

#[test]
fn first_run_creates_the_service_and_the_containers_the_file_sink_describes() {
    let lake = lake();
    let om = server();
    let file_run = lake.ingest(&lake.config("", ""));
    assert_eq!(file_run.code, 0, "{}", file_run.stderr);
    assert!(
        om.requests().is_empty(),
        "the file sink must not contact the server"
    );

    let run = lake.ingest(&rest_config(&lake, &om, ""));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().live_containers(), ALL.to_vec());

    // One PUT per container, and the same body as the file sink's, modulo the parent by id.
    let sent = puts(&om, "/v1/containers");
    assert_eq!(sent.len(), ALL.len());
    let state = om.state();
    for line in file_run
        .catalog
        .iter()
        .filter(|l| l["entity"] == "container")
    {
        let fqn = line["fqn"].as_str().unwrap();
        let mut expected = line["request"].clone();
        if let Some(p) = expected.get("parent").cloned() {
            let parent_fqn = p["fqn"].as_str().unwrap();
            expected["parent"] =
                json!({"id": state.containers[parent_fqn].id, "type": "container"});
        }
        assert_eq!(state.containers[fqn].request, expected, "{fqn}");
    }
    // No GET or search per container: one listing page, started when the sink connected
    // (before it is known whether the service exists; this run then created it, so the
    // answer is not used).
    let gets: Vec<String> = om
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter(|r| r.path.starts_with("/v1/containers") || r.path.starts_with("/v1/search"))
        .map(|r| format!("{}?{}", r.path, r.query.clone().unwrap_or_default()))
        .collect();
    assert_eq!(gets, vec!["/v1/containers?service=svc&limit=1000"]);

    // The service: the file sink's request, secrets in clear.
    let svc = &om.state().services["svc"];
    let mut expected = file_run.catalog[0]["request"].clone();
    expected["connection"]["config"]["awsConfig"]["awsSecretAccessKey"] =
        json!(crate::support::SECRET_KEY);
    assert_eq!(svc.request, expected);

    // Headers: bearer token, the reference's User-Agent form.
    let put = om
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(
        put.user_agent.as_deref(),
        Some(&*format!(
            "s3_metadata (service: svc; v{})",
            env!("CARGO_PKG_VERSION")
        ))
    );
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
}

#[test]
fn a_second_unchanged_run_changes_no_version() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    let before = versions(&om);
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(versions(&om), before);
    // The service was found, not re-created.
    assert_eq!(puts(&om, "/v1/services/storageServices").len(), 1);
}

#[test]
fn a_container_gone_from_the_manifest_is_soft_deleted_by_the_next_run() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    lake.put(
        "sales",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "transactions", "structureFormat": "csv"}]}"#,
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        om.state().deleted_containers(),
        vec![
            "svc.sales.docs",
            "svc.sales.docs.\"a.pdf\"",
            "svc.sales.docs.reports",
            "svc.sales.docs.reports.\"b.pdf\""
        ]
    );
    assert_eq!(
        om.state().live_containers(),
        vec!["svc.plain", "svc.sales", "svc.sales.transactions"]
    );
}

#[test]
fn an_unreadable_manifest_protects_its_bucket_from_stale_marking() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    lake.put("sales", "openmetadata.json", "{not json");
    let run = lake.ingest(&yaml);
    assert_eq!(
        om.state().deleted_containers(),
        Vec::<String>::new(),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("stale-marking skipped"),
        "{}",
        run.stdout
    );
    // The other bucket is still stale-marked normally: remove it and see.
    std::fs::remove_dir_all(lake.root.join("plain")).unwrap();
    let run = lake.ingest(&yaml);
    assert_eq!(
        om.state().deleted_containers(),
        vec!["svc.plain"],
        "{}",
        run.stdout
    );
}

#[test]
fn deletestale_404_falls_back_to_list_and_delete() {
    let lake = lake();
    let om = OmServer::spawn(Options {
        token: TOKEN.into(),
        delete_stale_404: true,
        ..Options::default()
    })
    .unwrap();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    lake.put(
        "sales",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "transactions", "structureFormat": "csv"}]}"#,
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().deleted_containers().len(), 4);
    // One DELETE for the top stale container; its children went with it.
    let deletes: Vec<String> = om
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path != "/v1/containers/deleteStale")
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(deletes, vec!["recursive=true&hardDelete=false"]);
}

#[test]
fn throttling_and_unavailability_are_retried_and_nothing_is_lost() {
    let lake = lake();
    let om = server();
    om.inject(Fault::new(429, 3).every(2).retry_after(0).method("PUT"));
    om.inject(Fault::new(503, 2).method("GET"));
    let run = lake.ingest(&rest_config(&lake, &om, "s3meta:\n  sinkConcurrency: 3\n"));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(om.state().live_containers(), ALL.to_vec());
    let statuses: Vec<u16> = om.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2);
    assert!(run.stdout.contains("OpenMetadata"), "{}", run.stdout);
}

/// A server that answers `429` asks for less load: the writes in flight are halved (said in
/// the log), the refused writes are retried, nothing is lost, and the summary counts them.
#[test]
fn throttled_writes_cut_the_writes_in_flight_and_lose_nothing() {
    let lake = lake();
    let om = server();
    om.inject(
        Fault::new(429, 2)
            .retry_after(0)
            .method("PUT")
            .path("/v1/containers"),
    );
    let run = lake.ingest(&rest_config(&lake, &om, "s3meta:\n  sinkConcurrency: 8\n"));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(om.state().live_containers(), ALL.to_vec());
    assert!(
        run.stderr
            .contains("OpenMetadata throttled the run: writes in flight cut to 4"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("retries: 2 (2 answered throttled)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_version_mismatch_stops_the_run_before_any_write() {
    let lake = lake();
    let om = OmServer::spawn(Options {
        token: TOKEN.into(),
        version: "1.5.11".into(),
        ..Options::default()
    })
    .unwrap();
    let run = lake.ingest(&rest_config(&lake, &om, ""));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("1.5.11") && run.stderr.contains("2.0"),
        "{}",
        run.stderr
    );
    assert!(om.requests().iter().all(|r| r.method == "GET"));
    assert!(om.state().services.is_empty());

    // Unless the check is turned off.
    let yaml = rest_config(&lake, &om, "").replace(
        "    authProvider: openmetadata\n",
        "    authProvider: openmetadata\n    enableVersionValidation: false\n",
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().live_containers().len(), ALL.len());
}

#[test]
fn a_wrong_token_is_a_clear_init_error() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "").replace(TOKEN, "wrong-token-value");
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("401") && run.stderr.contains("jwtToken"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("wrong-token-value"));
    assert!(om.state().services.is_empty());
}

#[test]
fn jwt_token_may_be_a_file_path() {
    let lake = lake();
    let om = server();
    let path = lake.dir.path().join("bot.jwt");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    let yaml = rest_config(&lake, &om, "").replace(
        &format!("jwtToken: {TOKEN}"),
        &format!("jwtToken: {}", path.display()),
    );
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().live_containers().len(), ALL.len());
}

#[test]
fn test_connection_reaches_the_server_as_the_run_does() {
    // The token as a file path, and an extra header: the run's client honours both, and the
    // OpenMetadata step goes through that same client (it used to send the file's path as
    // the token, and no extra header).
    let lake = lake();
    let om = server();
    let path = lake.dir.path().join("bot.jwt");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    let yaml = rest_config(&lake, &om, "")
        .replace(
            &format!("jwtToken: {TOKEN}"),
            &format!("jwtToken: {}", path.display()),
        )
        .replace(
            "    authProvider: openmetadata\n",
            "    authProvider: openmetadata\n    extraHeaders:\n      X-Tenant: lake-42\n",
        );
    let run = crate::support::run_binary(
        lake.dir.path(),
        &["test-connection", "--json", "-c"],
        &yaml,
        &lake.catalog_path(),
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    let version = &steps[steps.len() - 2];
    assert_eq!(version["name"], "CheckOpenMetadataVersion");
    assert_eq!(version["mandatory"], true);
    assert_eq!(version["passed"], true, "{version}");
    assert_eq!(
        version["message"],
        format!("OpenMetadata server version {}", Options::default().version)
    );
    let token = &steps[steps.len() - 1];
    assert_eq!(token["name"], "CheckOpenMetadataToken");
    assert_eq!(token["mandatory"], true);
    assert_eq!(token["passed"], true, "{token}");
    assert_eq!(
        token["message"],
        "the token is accepted; storage service svc does not exist yet (the first run creates it)"
    );
    let calls = om.requests();
    assert_eq!(
        calls.len(),
        2,
        "two reads, and test-connection never writes"
    );
    // Both at once: in either order.
    let mut paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/v1/services/storageServices/name/svc",
            "/v1/system/version"
        ]
    );
    for call in &calls {
        assert_eq!(call.method, "GET");
        assert_eq!(call.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(call.headers["x-tenant"], "lake-42");
    }
    assert!(
        calls[0]
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("s3_metadata (service: svc;")),
        "{:?}",
        calls[0].user_agent
    );
}

#[test]
fn test_connection_fails_on_a_token_the_server_refuses() {
    // The version endpoint needs no token: only an authenticated call can tell a wrong one,
    // which would make every run fail with 401.
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "")
        .replace(&format!("jwtToken: {TOKEN}"), "jwtToken: a-wrong-token");
    let run = crate::support::run_binary(
        lake.dir.path(),
        &["test-connection", "--json", "-c"],
        &yaml,
        &lake.catalog_path(),
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let token = report["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(token["name"], "CheckOpenMetadataToken");
    assert_eq!(token["passed"], false);
    let message = token["message"].as_str().unwrap();
    assert!(message.contains("answered 401"), "{message}");
    assert!(message.contains("securityConfig.jwtToken"), "{message}");
    assert!(!run.stdout.contains("a-wrong-token") && !run.stderr.contains("a-wrong-token"));
}

#[test]
fn pipeline_status_goes_from_running_to_success() {
    let lake = lake();
    let om = server();
    // The pipeline belongs to the service: a first run creates it.
    assert_eq!(lake.ingest(&rest_config(&lake, &om, "")).code, 0);
    om.add_pipeline("svc", "s3_metadata").unwrap();
    let run_id = "0b9ab7a1-3d0e-4c59-8c52-0d5d5f5f6a01";
    let extra = format!("ingestionPipelineFQN: svc.s3_metadata\npipelineRunId: {run_id}\n");
    let run = lake.ingest(&rest_config(&lake, &om, &extra));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent: Vec<String> = om
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with("/pipelineStatus"))
        .map(|r| {
            r.body.unwrap()["pipelineState"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sent, vec!["running", "success"]);
    let stored = &om.state().pipeline_statuses["svc.s3_metadata"];
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["runId"], run_id);
    let steps: Vec<&str> = stored[0]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, vec!["S3", "OpenMetadata"]);
    assert_eq!(
        stored[0]["status"][1]["records"], 8,
        "service + 7 containers"
    );
    // Progress events: discovery at the start, completion at the end, under the run id.
    let progress: Vec<String> = om
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "PUT"
                && r.path
                    == format!("/v1/services/ingestionPipelines/progress/svc.s3_metadata/{run_id}")
        })
        .map(|r| r.body.unwrap()["updateType"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(progress, vec!["DISCOVERY", "PIPELINE_COMPLETE"]);
}

#[test]
fn the_file_sink_never_contacts_the_server() {
    let lake = lake();
    let om = server();
    let yaml = lake
        .config("", "")
        .replace("http://127.0.0.1:9/api", &om.base_url());
    let run: Run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(om.requests().is_empty());
}

#[test]
fn a_long_pipeline_run_sends_processing_progress_events() {
    let lake = lake();
    let om = server();
    assert_eq!(lake.ingest(&rest_config(&lake, &om, "")).code, 0);
    om.add_pipeline("svc", "s3_metadata").unwrap();
    // Two 429s with Retry-After: 1 on container writes make the run last two seconds more.
    om.inject(
        Fault::new(429, 2)
            .retry_after(1)
            .method("PUT")
            .path("/v1/containers"),
    );
    let extra = "ingestionPipelineFQN: svc.s3_metadata\ns3meta:\n  statusIntervalSecs: 1\n";
    // `--full`: the containers are unchanged, and only a full run sends them (and meets
    // the 429s).
    let run = crate::support::run_binary(
        lake.dir.path(),
        &["ingest", "--full", "-c"],
        &rest_config(&lake, &om, extra),
        &lake.catalog_path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events: Vec<String> = om
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/ingestionPipelines/progress/"))
        .map(|r| r.body.unwrap()["updateType"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events.first().map(String::as_str),
        Some("DISCOVERY"),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("PIPELINE_COMPLETE"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e == "PROCESSING"), "{events:?}");
}

/// The usual lake with `n` more documents under `sales/docs`: `n + 7` containers, of which a
/// manifest without the `docs` entry makes `n + 4` stale.
fn lake_with_docs(n: usize) -> Lake {
    let lake = lake();
    for i in 0..n {
        lake.put("sales", &format!("docs/more/{i:02}.pdf"), "%PDF-1.4 m");
    }
    lake
}

fn drop_docs_entry(lake: &Lake) {
    lake.put(
        "sales",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "transactions", "structureFormat": "csv"}]}"#,
    );
}

#[test]
fn a_run_that_would_delete_most_of_the_service_deletes_nothing_and_says_so() {
    // 20 + 7 = 27 containers (svc.sales.docs.more is one more: 28); the docs go: 25 of 28.
    let lake = lake_with_docs(20);
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    let live = om.state().live_containers().len();
    assert_eq!(live, 28);
    drop_docs_entry(&lake);
    om.clear_requests();
    let run = lake.ingest(&yaml);
    assert_eq!(
        run.code, 0,
        "a guarded run is not a failed run: {}",
        run.stdout
    );
    assert_eq!(om.state().deleted_containers(), Vec::<String>::new());
    assert!(
        run.stdout.contains(
            "stale-marking skipped: this run would mark 25 of the service's 28 containers deleted, more than s3meta.maxDeletions allows (50%)"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("maxDeletions: 100%"), "{}", run.stdout);
    assert!(
        !om.requests()
            .iter()
            .any(|r| r.path == "/v1/containers/deleteStale"),
        "no deleteStale was sent"
    );

    // The override: the same run with the limit raised deletes them.
    let run = lake.ingest(&rest_config(&lake, &om, "s3meta:\n  maxDeletions: 100%\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().deleted_containers().len(), 25);
    assert_eq!(
        om.state().live_containers(),
        vec!["svc.plain", "svc.sales", "svc.sales.transactions"]
    );
}

#[test]
fn a_count_limit_blocks_even_a_few_deletions_and_a_percentage_never_blocks_ten() {
    let lake = lake();
    let om = server();
    assert_eq!(lake.ingest(&rest_config(&lake, &om, "")).code, 0);
    drop_docs_entry(&lake);
    // 4 of 7 (57 %) is over 50 %, but 10 or fewer never trip a percentage: the default
    // deletes them (as `a_container_gone_from_the_manifest_is_soft_deleted_by_the_next_run`).
    // A count is exact: 3 blocks 4.
    let run = lake.ingest(&rest_config(&lake, &om, "s3meta:\n  maxDeletions: 3\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().deleted_containers(), Vec::<String>::new());
    assert!(
        run.stdout
            .contains("would mark 4 of the service's 7 containers deleted, more than s3meta.maxDeletions allows (3)"),
        "{}",
        run.stdout
    );
    let run = lake.ingest(&rest_config(&lake, &om, "s3meta:\n  maxDeletions: 4\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(om.state().deleted_containers().len(), 4);
}

#[test]
fn a_bad_max_deletions_names_its_key() {
    let lake = lake();
    let om = server();
    for bad in ["150%", "-1", "half"] {
        let run = lake.ingest(&rest_config(
            &lake,
            &om,
            &format!("s3meta:\n  maxDeletions: {bad}\n"),
        ));
        assert_eq!(run.code, 1, "{bad}");
        assert!(
            run.stderr.contains("`s3meta.maxDeletions`"),
            "{bad}: {}",
            run.stderr
        );
    }
    assert!(om.requests().is_empty());
}

#[test]
fn a_dry_run_lists_what_it_would_write_and_delete_and_writes_nothing() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    assert_eq!(lake.ingest(&yaml).code, 0);
    let before = versions(&om);
    drop_docs_entry(&lake);
    lake.put("plain", "new/z.txt", "z");
    om.clear_requests();
    let run = crate::support::run_binary(
        lake.dir.path(),
        &["ingest", "--dry-run", "-c"],
        &yaml,
        &lake.catalog_path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let writes: Vec<String> = om
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "a dry run only reads");
    assert_eq!(versions(&om), before, "nothing changed on the server");
    for line in [
        "Dry run (OpenMetadata): nothing was written",
        "  - write svc.sales.transactions\n",
        "  - mark deleted svc.sales.docs\n",
        "  - mark deleted svc.sales.docs.reports.\"b.pdf\"\n",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    assert_eq!(
        run.stdout.matches("  - mark deleted ").count(),
        4,
        "{}",
        run.stdout
    );

    // The file sink: no catalog, not even a partial one; the lines it would write listed.
    let run = crate::support::run_binary(
        lake.dir.path(),
        &["ingest", "--dry-run", "-c"],
        &lake.config("", ""),
        &lake.catalog_path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!lake.catalog_path().exists());
    let partial = lake.dir.path().join("catalog.jsonl.partial");
    assert!(!partial.exists());
    for line in [
        "Dry run (File): nothing was written",
        "  - write svc\n",
        "  - write svc.plain\n",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
}

#[test]
fn a_second_run_of_an_unchanged_lake_sends_no_container_and_full_sends_them_all() {
    let lake = lake();
    let om = server();
    let yaml = rest_config(&lake, &om, "");
    let first = lake.ingest(&yaml);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let puts = |om: &OmServer| {
        om.requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path == "/v1/containers")
            .count()
    };
    let written = puts(&om);
    assert!(written > 0);
    om.clear_requests();

    // Second run, nothing changed: one listing, no container PUT, the same live state.
    let second = lake.ingest(&yaml);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(puts(&om), 0, "{:?}", om.requests());
    // The whole second run's OpenMetadata calls: the version and the service (test
    // connection, at once; the sink reuses the service answer), and one listing page. No
    // deleteStale: the listing showed nothing this run did not see.
    let mut calls: Vec<String> = om
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    calls.sort();
    assert_eq!(
        calls,
        [
            "GET /v1/containers",
            "GET /v1/services/storageServices/name/svc",
            "GET /v1/system/version",
            "GET /v1/system/version",
        ],
        "the sink's own version check is the second"
    );
    assert!(
        second.stdout.contains(&format!(
            "{written} container(s) unchanged since the last run, not sent again (--full sends them)"
        )),
        "{}",
        second.stdout
    );
    assert_eq!(om.state().live_containers().len(), ALL.len());

    // A changed file changes its container only: that one is sent.
    lake.put(
        "sales",
        "transactions/2024.csv",
        "id,amount,note\n1,2.5,x\n",
    );
    om.clear_requests();
    let third = lake.ingest(&yaml);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(puts(&om), 1, "{:?}", om.requests());

    // --full sends every container again.
    om.clear_requests();
    let full = crate::support::run_binary(
        lake.dir.path(),
        &["ingest", "--full", "-c"],
        &yaml,
        &lake.catalog_path(),
    );
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert_eq!(puts(&om), written);
}
