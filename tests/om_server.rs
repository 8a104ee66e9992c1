//! The strict OpenMetadata test server refuses what a real server refuses, and the sink's
//! tag handling against it (classification, then tag, then the labelled container).
#![allow(clippy::unwrap_used)] // helpers of tests: a failure is a failed test
use om_test_server::{OmServer, Options};
use pretty_assertions::assert_eq;
use s3meta::entity::{Container, ParentRef, S3Tag};
use s3meta::sink::openmetadata::{OmSink, Settings};
use s3meta::sink::{ServiceInfo, Sink};
use serde_json::{json, Value};

const TOKEN: &str = "strict-token";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn put(om: &OmServer, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    rt().block_on(async {
        let mut req = reqwest::Client::new()
            .put(format!("{}{path}", om.base_url()))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

fn server_with_service() -> OmServer {
    let om = OmServer::spawn(Options {
        token: TOKEN.into(),
        ..Options::default()
    })
    .unwrap();
    let (s, _) = put(
        &om,
        "/v1/services/storageServices",
        Some(TOKEN),
        &json!({"name": "svc", "serviceType": "S3"}),
    );
    assert_eq!(s, 201);
    om
}

#[test]
fn no_or_wrong_token_is_401() {
    let om = server_with_service();
    let body = json!({"name": "b", "service": "svc"});
    assert_eq!(put(&om, "/v1/containers", None, &body).0, 401);
    assert_eq!(put(&om, "/v1/containers", Some("nope"), &body).0, 401);
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &body).0, 201);
}

#[test]
fn unknown_keys_and_bad_values_are_rejected() {
    let om = server_with_service();
    for (body, why) in [
        (
            json!({"name": "b", "service": "svc", "colour": "red"}),
            "colour",
        ),
        (json!({"service": "svc"}), "name"),
        (json!({"name": "a::b", "service": "svc"}), "name"),
        (json!({"name": "a\"b", "service": "svc"}), "name"),
        (
            json!({"name": "b", "service": "svc", "fileFormats": ["jsonl"]}),
            "fileFormats",
        ),
        (
            json!({"name": "b", "service": "svc", "sourceHash": "x".repeat(33)}),
            "sourceHash",
        ),
        (
            json!({"name": "b", "service": "svc", "dataModel": {"isPartitioned": false, "columns": [{"name": "a", "dataType": "INTEGER"}]}}),
            "dataType",
        ),
    ] {
        let (status, answer) = put(&om, "/v1/containers", Some(TOKEN), &body);
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    let (status, _) = put(
        &om,
        "/v1/containers",
        Some(TOKEN),
        &json!({"name": "b", "service": "other"}),
    );
    assert_eq!(status, 404, "unknown service");
    assert!(om.state().containers.is_empty());
}

#[test]
fn a_parent_must_exist_and_be_named_by_id() {
    let om = server_with_service();
    let (_, bucket) = put(
        &om,
        "/v1/containers",
        Some(TOKEN),
        &json!({"name": "b", "service": "svc"}),
    );
    let missing = json!({"name": "c", "service": "svc", "parent": {"id": "5f0c8f4e-0000-4000-8000-000000000000", "type": "container"}});
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &missing).0, 404);
    let by_fqn =
        json!({"name": "c", "service": "svc", "parent": {"type": "container", "fqn": "svc.b"}});
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &by_fqn).0, 400);
    let ok = json!({"name": "c.csv", "service": "svc", "parent": {"id": bucket["id"], "type": "container"}});
    let (status, child) = put(&om, "/v1/containers", Some(TOKEN), &ok);
    assert_eq!(status, 201);
    assert_eq!(child["fullyQualifiedName"], "svc.b.\"c.csv\"");
    assert_eq!(child["parent"]["id"], bucket["id"]);
}

#[test]
fn same_source_hash_is_a_no_op_and_a_change_bumps_the_version() {
    let om = server_with_service();
    let body = json!({"name": "b", "service": "svc", "sourceHash": "h1"});
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &body).0, 201);
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &body).0, 200);
    assert_eq!(om.state().containers["svc.b"].version, 0.1);
    let changed = json!({"name": "b", "service": "svc", "sourceHash": "h2", "prefix": "/"});
    assert_eq!(put(&om, "/v1/containers", Some(TOKEN), &changed).0, 200);
    assert_eq!(om.state().containers["svc.b"].version, 0.2);
}

fn bucket_with_tags() -> Container {
    Container {
        name: "tagged".into(),
        fqn: "svc.tagged".into(),
        parent_fqn: None,
        data_model: None,
        prefix: "/".into(),
        number_of_objects: Some(0.0),
        size: Some(0.0),
        file_formats: vec![],
        tags: vec![
            S3Tag {
                key: "team".into(),
                value: "data".into(),
            },
            S3Tag {
                key: "env".into(),
                value: "prod.eu".into(),
            },
        ],
        source_url: "https://example.invalid/tagged".into(),
        full_path: "s3://tagged".into(),
        description: None,
    }
}

#[test]
fn tags_become_classifications_and_labels_before_their_container() {
    let om = OmServer::spawn(Options {
        token: TOKEN.into(),
        ..Options::default()
    })
    .unwrap();
    let yaml = format!(
        "source:\n  type: s3\n  serviceName: svc\n  serviceConnection:\n    config:\n      type: S3\n      awsConfig:\n        awsRegion: us-east-1\n  sourceConfig:\n    config:\n      type: StorageMetadata\nsink:\n  type: metadata-rest\n  config: {{}}\nworkflowConfig:\n  openMetadataServerConfig:\n    hostPort: {}\n    authProvider: openmetadata\n    securityConfig:\n      jwtToken: {TOKEN}\n",
        om.base_url()
    );
    let v = s3meta::config::parse_str(&yaml)
        .unwrap()
        .validate()
        .unwrap();
    let s3meta::config::SinkKind::MetadataRest(cfg) = &v.sink else {
        panic!("not the rest sink")
    };
    let service = ServiceInfo {
        name: "svc".into(),
        connection: v.connection.clone(),
        store_connection: true,
        exists: None,
    };
    rt().block_on(async {
        let mut sink = OmSink::connect(
            cfg,
            Settings {
                service_name: "svc".into(),
                mark_deleted: true,
                pipeline_fqn: None,
                run_id: None,
                success_threshold: 90,
                concurrency: 4,
                max_attempts: 3,
                timeout_secs: 10,
                progress_interval_secs: 0,
                max_deletions: s3meta::config::MaxDeletions::Percent(50.0),
                dry_run: false,
                skip_unchanged: true,
            },
        )
        .await
        .unwrap();
        sink.begin(&service).await.unwrap();
        let c = bucket_with_tags();
        let r = sink.put("svc", &c, None).await.unwrap();
        assert!(matches!(r, ParentRef::Id(_)));
        // A second container with the same tags creates no new tag.
        let mut c2 = bucket_with_tags();
        c2.name = "tagged2".into();
        c2.fqn = "svc.tagged2".into();
        sink.put("svc", &c2, None).await.unwrap();
        assert_eq!(sink.status().failures, vec![]);
    });
    let order: Vec<String> = om
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        order,
        vec![
            "/v1/services/storageServices",
            "/v1/classifications",
            "/v1/tags",
            "/v1/classifications",
            "/v1/tags",
            "/v1/containers",
            "/v1/containers",
        ]
    );
    let state = om.state();
    assert_eq!(
        state.tags.keys().collect::<Vec<_>>(),
        vec!["env.\"prod.eu\"", "team.data"]
    );
    let labels = &state.containers["svc.tagged"].request["tags"];
    assert_eq!(
        labels[0],
        json!({"tagFQN": "team.data", "source": "Classification", "labelType": "Automated", "state": "Suggested"})
    );
}
