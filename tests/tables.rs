//! Open table formats (issue #14) against the embedded S3 server: Delta tables written by
//! delta-rs, Iceberg tables written by pyiceberg, Hudi timelines written by Hudi itself
//! (tests/data/tables, from scripts/fixtures/tables.py), found under manifest entries
//! (literal, depth, glob), with their current columns and partitioning; hostile metadata
//! fails its table only; and what a table costs in requests and bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::Lake;
use pretty_assertions::assert_eq;
use s3meta::format::TableFormat;
use s3meta::infer::Limits;
use s3meta::store::counting::CountingStore;
use serde_json::{json, Value};
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tables/lake");

/// Copies the fixture folder `from` (under tests/data/tables/lake) into `bucket` at `to`.
fn copy(lake: &Lake, bucket: &str, from: &str, to: &str) {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &rel, out);
            } else if name != "NOTICE" {
                out.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut files = vec![];
    walk(&Path::new(FIXTURES).join(from), "", &mut files);
    assert!(!files.is_empty(), "no fixture at {from}");
    for (rel, bytes) in files {
        lake.put(bucket, &format!("{to}/{rel}"), bytes);
    }
}

fn manifest(lake: &Lake, bucket: &str, entries: Value) {
    lake.put(
        bucket,
        "openmetadata.json",
        json!({ "entries": entries }).to_string(),
    );
}

fn names(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The Delta `sales` table's current columns: `region` (a partition column, in no data
/// file) first, `discount` (added after the checkpoint) last.
fn sales_columns() -> Vec<(String, String)> {
    names(&[
        ("region", "STRING"),
        ("id", "INT"),
        ("amount", "DECIMAL"),
        ("tags", "ARRAY"),
        ("attrs", "MAP"),
        ("point", "STRUCT"),
        ("ts", "DATETIME"),
        ("discount", "FLOAT"),
    ])
}

fn iceberg_columns() -> Vec<(String, String)> {
    names(&[
        ("id", "INT"),
        ("ts", "DATETIME"),
        ("name", "STRING"),
        ("location", "STRUCT"),
        ("tags", "ARRAY"),
        ("props", "MAP"),
        ("price", "DECIMAL"),
        ("score", "FLOAT"),
    ])
}

#[test]
fn delta_iceberg_and_hudi_tables_come_out_with_their_current_schema() {
    let lake = Lake::new();
    copy(&lake, "lake", "delta", "delta");
    copy(&lake, "lake", "delta/sales", "lit/sales");
    copy(&lake, "lake", "iceberg/events", "warehouse/events");
    copy(&lake, "lake", "iceberg/hinted", "hinted");
    copy(&lake, "lake", "hudi/trips_mor", "hudi/trips_mor");
    copy(&lake, "lake", "hudi/trips_cow", "hudi/trips_cow");
    manifest(
        &lake,
        "lake",
        json!([
            // As users write them today: parquet.
            {"dataPath": "lit/sales", "structureFormat": "parquet"},
            // Depth discovery over a folder of tables.
            {"dataPath": "delta", "structureFormat": "parquet", "depth": 1},
            // A glob over the data files finds the table root.
            {"dataPath": "warehouse/*/data/**/*.parquet"},
            // The s3meta-only values.
            {"dataPath": "hinted", "structureFormat": "iceberg"},
            {"dataPath": "hudi/trips_mor", "structureFormat": "hudi"},
            {"dataPath": "hudi/trips_cow", "structureFormat": "parquet"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // One container per table: nothing inside a table is one.
    assert_eq!(
        run.fqns(),
        [
            "svc.lake",
            "svc.lake.lit/sales",
            "svc.lake.delta/multipart",
            "svc.lake.delta/nockpt",
            "svc.lake.delta/sales",
            "svc.lake.delta/v2ckpt",
            "svc.lake.warehouse/events",
            "svc.lake.hinted",
            "svc.lake.hudi/trips_mor",
            "svc.lake.hudi/trips_cow",
        ]
    );
    for t in [
        "lit/sales",
        "delta/sales",
        "delta/multipart",
        "delta/v2ckpt",
    ] {
        let fqn = format!("svc.lake.{t}");
        assert_eq!(run.columns(&fqn), sales_columns(), "{t}");
        let c = run.container(&fqn);
        assert_eq!(c["dataModel"]["isPartitioned"], true, "{t}");
        assert_eq!(
            c["description"], "Delta Lake table, version 4; partitioned by region",
            "{t}"
        );
        assert_eq!(c["fileFormats"], json!(["parquet"]));
    }
    // Every table's request passes the strict server's contract checks.
    for fqn in run.fqns().iter().skip(1) {
        use om_test_server::validate as v;
        let body = run.container(fqn);
        let obj = v::object(body, "container").unwrap();
        v::known_keys(obj, v::CONTAINER_KEYS, "container").unwrap();
        v::data_model(&body["dataModel"]).unwrap();
        v::file_formats(&body["fileFormats"]).unwrap();
        assert!(body["description"].is_string(), "{fqn}");
    }
    let sales = run.container("svc.lake.delta/sales");
    let cols = &sales["dataModel"]["columns"];
    assert_eq!(cols[2]["dataTypeDisplay"], "decimal128(10, 2)");
    assert_eq!(
        (cols[2]["precision"].clone(), cols[2]["scale"].clone()),
        (json!(10), json!(2))
    );
    assert_eq!(cols[3]["arrayDataType"], "STRING");
    assert_eq!(cols[4]["dataTypeDisplay"], "map<string, string>");
    assert_eq!(
        cols[5]["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(cols[6]["dataTypeDisplay"], "timestamp[us, tz=UTC]");

    let nockpt = run.container("svc.lake.delta/nockpt");
    assert_eq!(
        run.columns("svc.lake.delta/nockpt"),
        names(&[("a", "INT"), ("b", "STRING")])
    );
    assert_eq!(nockpt["dataModel"]["isPartitioned"], false);
    assert_eq!(nockpt["description"], "Delta Lake table, version 1");

    for fqn in ["svc.lake.warehouse/events", "svc.lake.hinted"] {
        assert_eq!(run.columns(fqn), iceberg_columns(), "{fqn}");
        let c = run.container(fqn);
        assert_eq!(c["dataModel"]["isPartitioned"], true);
        let d = c["description"].as_str().unwrap();
        assert!(
            d.starts_with("Apache Iceberg table, format version 2, snapshot ")
                && d.ends_with("; partitioned by day(ts), bucket(16, id)"),
            "{d}"
        );
        let cols = &c["dataModel"]["columns"];
        assert_eq!(
            cols[0]["description"],
            "Iceberg partition field id_bucket: bucket(16, id)"
        );
        assert_eq!(
            cols[1]["description"],
            "Iceberg partition field ts_day: day(ts)"
        );
        assert_eq!(cols[3]["children"].as_array().unwrap().len(), 2);
    }

    let hudi_columns = names(&[
        ("id", "INT"),
        ("name", "STRING"),
        ("isActive", "BOOLEAN"),
        ("shortField", "INT"),
        ("intField", "INT"),
        ("longField", "INT"),
        ("floatField", "FLOAT"),
        ("doubleField", "FLOAT"),
        ("decimalField", "DECIMAL"),
        ("dateField", "DATE"),
        ("timestampField", "DATETIME"),
        ("binaryField", "BINARY"),
        ("arrayField", "ARRAY"),
        ("mapField", "MAP"),
        ("structField", "STRUCT"),
        ("byteField", "INT"),
    ]);
    assert_eq!(run.columns("svc.lake.hudi/trips_mor"), hudi_columns);
    let mor = run.container("svc.lake.hudi/trips_mor");
    assert_eq!(
        mor["description"],
        "Apache Hudi table (MERGE_ON_READ), table version 6, instant 20250121000557095; partitioned by byteField"
    );
    assert_eq!(
        mor["dataModel"]["columns"][15]["description"],
        "Hudi partition field"
    );
    let cow = run.container("svc.lake.hudi/trips_cow");
    assert_eq!(cow["dataModel"]["isPartitioned"], true);
    assert_eq!(
        cow["description"],
        "Apache Hudi table (COPY_ON_WRITE), table version 8, instant 20250713010142784; partitioned by byteField, shortField"
    );
}

/// Hudi table version 8 (issue #14): the schema is the latest commit's, decoded from its
/// Avro commit metadata, so columns added after the table was created are there; an Avro
/// commit that cannot be decoded falls back to `hoodie.table.create.schema`, saying why.
#[test]
fn a_hudi_v8_table_has_the_latest_commits_columns() {
    let lake = Lake::new();
    let limits = Limits::default();
    let latest = "20250714090000000_20250714090001234.commit";
    let read = |root: &str| {
        let (r, requests, bytes) = read_counted(&lake, root, TableFormat::Hudi, None, &limits);
        (r.unwrap(), requests, bytes)
    };
    let typed = |t: &s3meta::table::Table| -> Vec<(String, String)> {
        t.columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect()
    };

    // A third commit (written by fastavro, deflate) added `tip` and `note`.
    copy(&lake, "lake", "hudi/trips_evolved", "evolved");
    let (t, requests, bytes) = read("evolved");
    let cols = typed(&t);
    assert_eq!(cols.len(), 18);
    assert_eq!(
        cols[16..],
        names(&[("tip", "FLOAT"), ("note", "STRING")])[..]
    );
    assert_eq!(
        t.description,
        "Apache Hudi table (COPY_ON_WRITE), table version 8, instant 20250714090001234; partitioned by byteField, shortField"
    );
    assert_eq!(
        t.columns[14].description.as_deref(),
        Some("Hudi partition field")
    );
    eprintln!("FIGURES hudi v8 (3 Avro commits), no listing: {requests} requests, {bytes} bytes");

    // The same commit with a broken sync marker: the properties' schema, and why.
    let key = format!("evolved/.hoodie/timeline/{latest}");
    let mut commit = std::fs::read(lake.root.join("lake").join(&key)).unwrap();
    let n = commit.len();
    commit[n - 1] ^= 0xff;
    lake.put("lake", &key, &commit);
    let (t, _, _) = read("evolved");
    assert_eq!(t.columns.len(), 16);
    assert_eq!(
        t.description,
        format!("Apache Hudi table (COPY_ON_WRITE), table version 8, instant 20250714090001234; schema from hoodie.table.create.schema ({latest} not decoded: a block is not followed by the header's sync marker); partitioned by byteField, shortField")
    );

    // Cut short: the same fallback.
    lake.put("lake", &key, &commit[..n - 20]);
    assert!(read("evolved")
        .0
        .description
        .contains(&format!("({latest} not decoded: a block of ")));
}

/// Reads one table through the library's front door, counting requests and bytes.
fn read_counted(
    lake: &Lake,
    root: &str,
    format: TableFormat,
    log: Option<Vec<s3meta::store::ObjectMeta>>,
    limits: &Limits,
) -> (Result<s3meta::table::Table, s3meta::table::Error>, u64, u64) {
    let store = CountingStore::new(lake.store());
    let r = lake.block_on(s3meta::table::read(
        &store,
        "lake",
        root,
        format,
        log.as_deref(),
        limits,
    ));
    let c = store.counts();
    (r, c.requests, c.bytes)
}

/// The keys under `prefix`, as the planner's listing would hand them over.
fn log_of(lake: &Lake, prefix: &str) -> Vec<s3meta::store::ObjectMeta> {
    let store = lake.store();
    lake.block_on(store.list_all("lake", prefix, 1_000_000))
        .unwrap()
        .objects
}

#[test]
fn hostile_metadata_fails_its_table_with_a_message_naming_the_file() {
    let lake = Lake::new();
    let limits = Limits::default();
    let err = |root: &str, f: TableFormat| {
        read_counted(&lake, root, f, None, &limits)
            .0
            .unwrap_err()
            .to_string()
    };

    // A checkpoint parquet that is missing: `_last_checkpoint` points nowhere.
    copy(&lake, "lake", "delta/sales", "gone");
    std::fs::remove_file(
        lake.root
            .join("lake/gone/_delta_log/00000000000000000002.checkpoint.parquet"),
    )
    .unwrap();
    assert_eq!(
        err("gone", TableFormat::Delta),
        "s3://lake/gone/_delta_log/_last_checkpoint: names the checkpoint of version 2, and no complete checkpoint of that version exists"
    );
    // The same with the planner's listing.
    let log = log_of(&lake, "gone/_delta_log/");
    let e = read_counted(&lake, "gone", TableFormat::Delta, Some(log), &limits).0;
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("_last_checkpoint: names the checkpoint of version 2"));

    // `_last_checkpoint` pointing at a version that never was.
    copy(&lake, "lake", "delta/sales", "far");
    lake.put(
        "lake",
        "far/_delta_log/_last_checkpoint",
        r#"{"version":99,"size":1}"#,
    );
    assert!(err("far", TableFormat::Delta).starts_with(
        "s3://lake/far/_delta_log/_last_checkpoint: names the checkpoint of version 99"
    ));
    // Not JSON at all.
    lake.put("lake", "far/_delta_log/_last_checkpoint", "{version");
    assert!(err("far", TableFormat::Delta)
        .starts_with("s3://lake/far/_delta_log/_last_checkpoint: invalid JSON"));

    // A commit with invalid JSON.
    copy(&lake, "lake", "delta/sales", "badjson");
    lake.put(
        "lake",
        "badjson/_delta_log/00000000000000000004.json",
        "{\"add\": {\"path\": ",
    );
    assert!(err("badjson", TableFormat::Delta).starts_with(
        "s3://lake/badjson/_delta_log/00000000000000000004.json: invalid JSON: EOF while parsing"
    ));

    // A checkpoint that is not parquet.
    copy(&lake, "lake", "delta/sales", "notpq");
    lake.put(
        "lake",
        "notpq/_delta_log/00000000000000000002.checkpoint.parquet",
        "not a parquet file at all",
    );
    assert_eq!(
        err("notpq", TableFormat::Delta),
        "s3://lake/notpq/_delta_log/00000000000000000002.checkpoint.parquet: checkpoint footer: no PAR1 magic at the end"
    );

    // A 100 MiB Iceberg metadata file: refused by its size, not read.
    let big = lake.root.join("lake/big/metadata/v1.metadata.json");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::File::create(&big)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let log = log_of(&lake, "big/metadata/");
    let (r, requests, bytes) = read_counted(&lake, "big", TableFormat::Iceberg, Some(log), &limits);
    assert_eq!(
        r.unwrap_err().to_string(),
        "s3://lake/big/metadata/v1.metadata.json: 104857600 bytes, over the 16777216-byte maxDocumentBytes limit: not read"
    );
    assert_eq!((requests, bytes), (0, 0));
    // Without a listing it is listed, then read no further than the cap allows.
    let (r, _, bytes) = read_counted(&lake, "big", TableFormat::Iceberg, None, &limits);
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("104857600 bytes, over the"));
    assert!(bytes < 4096, "{bytes}");
    // A document whose size no listing told: read no further than one byte past the cap.
    let small = Limits {
        max_document: 1000,
        ..Limits::default()
    };
    copy(&lake, "lake", "hudi/trips_mor", "bighudi");
    let (r, _, bytes) = read_counted(&lake, "bighudi", TableFormat::Hudi, None, &small);
    assert_eq!(
        r.unwrap_err().to_string(),
        "s3://lake/bighudi/.hoodie/hoodie.properties: larger than the 1000-byte maxDocumentBytes limit: not read"
    );
    assert!(bytes <= 1001, "{bytes}");

    // A Hudi table whose latest commit is not JSON.
    copy(&lake, "lake", "hudi/trips_mor", "hudibad");
    lake.put(
        "lake",
        "hudibad/.hoodie/20250121000557095.deltacommit",
        "{\"extraMetadata\": [",
    );
    assert!(err("hudibad", TableFormat::Hudi)
        .starts_with("s3://lake/hudibad/.hoodie/20250121000557095.deltacommit: invalid JSON"));

    // In a run: the broken tables fail, each named; the healthy one beside them is written.
    copy(&lake, "lake", "delta/sales", "ok");
    manifest(
        &lake,
        "lake",
        json!([
            {"dataPath": "gone", "structureFormat": "parquet"},
            {"dataPath": "badjson", "structureFormat": "delta"},
            {"dataPath": "big", "structureFormat": "parquet"},
            {"dataPath": "ok", "structureFormat": "parquet"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.fqns(), ["svc.lake", "svc.lake.ok"], "{}", run.stderr);
    assert_eq!(run.columns("svc.lake.ok"), sales_columns());
    let out = format!("{}{}", run.stdout, run.stderr);
    for named in [
        "gone/_delta_log/_last_checkpoint",
        "badjson/_delta_log/00000000000000000004.json",
        "big/metadata/v1.metadata.json",
    ] {
        assert!(out.contains(named), "{named} not named in:\n{out}");
    }
}

#[test]
fn a_long_history_costs_what_a_short_one_does() {
    let lake = Lake::new();
    let limits = Limits::default();
    // Delta: 10,000 commits, the last checkpoint at 9,998 (the sales checkpoint, renamed).
    copy(&lake, "lake", "delta/sales", "long");
    let dir = "long/_delta_log";
    let ckpt = std::fs::read(lake.root.join(format!(
        "lake/{dir}/00000000000000000002.checkpoint.parquet"
    )))
    .unwrap();
    let late = std::fs::read(
        lake.root
            .join(format!("lake/{dir}/00000000000000000004.json")),
    )
    .unwrap();
    for v in 5..9_999u64 {
        lake.put(
            "lake",
            &format!("{dir}/{v:020}.json"),
            "{\"commitInfo\":{}}\n",
        );
    }
    lake.put(
        "lake",
        &format!("{dir}/{:020}.checkpoint.parquet", 9_998),
        &ckpt,
    );
    lake.put("lake", &format!("{dir}/{:020}.json", 9_999), &late);
    lake.put(
        "lake",
        &format!("{dir}/{:020}.json", 10_000),
        "{\"commitInfo\":{}}\n",
    );
    lake.put(
        "lake",
        &format!("{dir}/_last_checkpoint"),
        r#"{"version":9998,"size":8}"#,
    );
    let (r, long_requests, long_bytes) =
        read_counted(&lake, "long", TableFormat::Delta, None, &limits);
    let t = r.unwrap();
    assert_eq!(
        t.description,
        "Delta Lake table, version 10000; partitioned by region"
    );
    // `_last_checkpoint`, HEAD and footer of the checkpoint, its metaData chunks (one
    // read), commits 9,999 and 10,000, and the probe for 10,001.
    assert_eq!(long_requests, 7, "{long_requests} requests");

    copy(&lake, "lake", "delta/sales", "short");
    let (_, short_requests, short_bytes) =
        read_counted(&lake, "short", TableFormat::Delta, None, &limits);
    let log = log_of(&lake, "short/_delta_log/");
    let (_, listed_requests, listed_bytes) =
        read_counted(&lake, "short", TableFormat::Delta, Some(log), &limits);
    eprintln!("FIGURES delta sales (5 commits, checkpoint at 2), no listing: {short_requests} requests, {short_bytes} bytes");
    eprintln!("FIGURES delta sales, with the planner's listing: {listed_requests} requests, {listed_bytes} bytes");
    eprintln!("FIGURES delta 10,000 commits, checkpoint at 9,998, no listing: {long_requests} requests, {long_bytes} bytes");
    assert!(long_requests <= short_requests + 1);

    // Iceberg: one metadata file is read, however many there are.
    copy(&lake, "lake", "iceberg/events", "events");
    let log = log_of(&lake, "events/metadata/");
    let (r, requests, bytes) =
        read_counted(&lake, "events", TableFormat::Iceberg, Some(log), &limits);
    assert_eq!(r.unwrap().columns.len(), 8);
    assert_eq!(requests, 1);
    eprintln!("FIGURES iceberg events (5 metadata files, 3 snapshots), with the listing: {requests} requests, {bytes} bytes");
    let (_, requests, bytes) = read_counted(&lake, "events", TableFormat::Iceberg, None, &limits);
    eprintln!("FIGURES iceberg events, no listing: {requests} requests, {bytes} bytes");
    // A Hadoop table with a stale hint: the hint, the versions after it, one file.
    copy(&lake, "lake", "iceberg/hinted", "hinted");
    let (r, requests, bytes) = read_counted(&lake, "hinted", TableFormat::Iceberg, None, &limits);
    assert!(r.unwrap().columns.iter().any(|c| c.name == "score"));
    eprintln!(
        "FIGURES iceberg hinted (hint 2 of 5), no listing: {requests} requests, {bytes} bytes"
    );

    // Hudi.
    copy(&lake, "lake", "hudi/trips_mor", "mor");
    let (r, requests, bytes) = read_counted(&lake, "mor", TableFormat::Hudi, None, &limits);
    assert!(r.is_ok());
    eprintln!("FIGURES hudi MOR (2 delta commits), no listing: {requests} requests, {bytes} bytes");
}

/// The table limits apply as to every reader: a schemaString wider than `maxColumns`
/// is built no wider than one column past it, and the run warns naming the table.
#[test]
fn a_wide_delta_schema_is_cut_with_a_warning() {
    let lake = Lake::new();
    let fields: Vec<Value> = (0..50)
        .map(|i| json!({"name": format!("c{i}"), "type": "long", "nullable": true, "metadata": {}}))
        .collect();
    let schema = json!({"type": "struct", "fields": fields}).to_string();
    let commit = json!({"metaData": {"id": "x", "format": {"provider": "parquet", "options": {}},
        "schemaString": schema, "partitionColumns": [], "configuration": {}}});
    lake.put(
        "lake",
        "wide/_delta_log/00000000000000000000.json",
        format!("{commit}\n"),
    );
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "wide", "structureFormat": "delta"}]),
    );
    let yaml = lake.config("", "") + "s3meta:\n  maxColumns: 10\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.columns("svc.lake.wide").len(), 10);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("the columns of the Delta Lake table s3://lake/wide were cut"),
        "{out}"
    );
}
