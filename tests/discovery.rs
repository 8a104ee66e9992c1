//! Auto-discovery (issue #13) against the embedded S3 server: the labelled layouts of
//! tests/data/layouts scored (precision and recall of dataset roots, format and partition
//! accuracy, requests per layout); `autoDiscovery` ingests exactly what the suggested
//! manifests ingest and leaves manifest-driven buckets alone; `plan` names every dropped
//! key's reason without reading a sample; the key cap stops discovery with a warning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{parquet_id_name, run_binary, Lake};
use pretty_assertions::assert_eq;
use s3meta::autodiscover::{self, Kind};
use s3meta::store::counting::CountingStore;
use serde_json::Value;
use std::collections::BTreeMap;

const LAYOUTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/layouts");

#[derive(Debug, Default, Clone, Copy)]
struct Score {
    labels: usize,
    sniffing: usize,
    found: usize,
    predicted: usize,
    format_ok: usize,
    partitions_ok: usize,
    requests: u64,
}

fn label_partitions(l: &Value) -> Vec<(String, String)> {
    l["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Scores one layout: its keys are put in a bucket, listed as discovery lists them, and
/// the datasets found are matched to the labels by root (same format first).
fn score(lake: &Lake, bucket: &str, layout: &Value) -> Score {
    lake.bucket(bucket);
    for k in layout["keys"].as_array().unwrap() {
        lake.put(bucket, k.as_str().unwrap(), b"x");
    }
    let store = CountingStore::new(lake.store());
    let listing = lake
        .block_on(autodiscover::list_bucket(&store, bucket, 100_000, 8))
        .unwrap();
    let found = autodiscover::discover(&listing.objects, listing.truncated);
    let mut s = Score {
        requests: store.counts().requests,
        predicted: found.datasets.len(),
        ..Score::default()
    };
    let mut used = vec![false; found.datasets.len()];
    let labels = layout["expected"].as_array().unwrap();
    // Labels with a format first, so that a mixed folder's pairs match by format.
    for l in labels {
        if l["sniffing"] == true {
            s.sniffing += 1;
            continue;
        }
        s.labels += 1;
        let root = l["root"].as_str().unwrap();
        let format = l["format"].as_str().unwrap();
        let candidates: Vec<usize> = (0..found.datasets.len())
            .filter(|&i| !used[i] && found.datasets[i].root == root)
            .collect();
        let pick = candidates
            .iter()
            .copied()
            .find(|&i| found.datasets[i].kind.structure_format() == format)
            .or_else(|| candidates.first().copied());
        let Some(i) = pick else { continue };
        used[i] = true;
        s.found += 1;
        let ds = &found.datasets[i];
        if ds.kind.structure_format() == format {
            s.format_ok += 1;
        }
        let got: Vec<(String, String)> = match ds.kind {
            Kind::Table(_) => vec![],
            Kind::Files(_) => ds
                .partition_columns
                .iter()
                .map(|(n, t)| (n.clone(), t.to_string()))
                .collect(),
        };
        if got == label_partitions(l) {
            s.partitions_ok += 1;
        }
    }
    s
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.0} %", 100.0 * a as f64 / b as f64)
    }
}

#[test]
fn labelled_layouts_are_found_with_their_formats_and_partitions() {
    let lake = Lake::new();
    let mut rows = BTreeMap::new();
    for e in std::fs::read_dir(LAYOUTS).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let layout: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let bucket = name.replace('_', "-");
        let s = score(&lake, &bucket, &layout);
        rows.insert(name, (layout["held_out"] == true, s));
    }
    let mut table = String::from(
        "| layout | held out | labels | found | precision | recall | format | partitions | awaiting sniffing | requests |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut totals: [Score; 2] = Default::default();
    for (name, (held, s)) in &rows {
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            if *held { "yes" } else { "no" },
            s.labels,
            s.predicted,
            pct(s.found, s.predicted),
            pct(s.found, s.labels),
            pct(s.format_ok, s.found),
            pct(s.partitions_ok, s.found),
            s.sniffing,
            s.requests
        ));
        let t = &mut totals[usize::from(*held)];
        t.labels += s.labels;
        t.predicted += s.predicted;
        t.found += s.found;
        t.format_ok += s.format_ok;
        t.partitions_ok += s.partitions_ok;
        t.sniffing += s.sniffing;
        t.requests += s.requests;
    }
    for (held, t) in totals.iter().enumerate() {
        table.push_str(&format!(
            "| **all {}** | | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            if held == 1 { "held out" } else { "tuned" },
            t.labels,
            t.predicted,
            pct(t.found, t.predicted),
            pct(t.found, t.labels),
            pct(t.format_ok, t.found),
            pct(t.partitions_ok, t.found),
            t.sniffing,
            t.requests
        ));
    }
    println!("{table}");
    // Every labelled dataset found, with its format and partitions, nothing invented: on the
    // layouts tuned on and on those held out alike.
    for (name, (_, s)) in &rows {
        assert_eq!(
            s.found, s.labels,
            "{name}: a labelled dataset was missed\n{table}"
        );
        assert_eq!(
            s.predicted, s.found,
            "{name}: a dataset was invented\n{table}"
        );
        assert_eq!(s.format_ok, s.found, "{name}: a format is wrong\n{table}");
        assert_eq!(
            s.partitions_ok, s.found,
            "{name}: partitions are wrong\n{table}"
        );
    }
}

fn copy_fixture(lake: &Lake, bucket: &str, from: &str, to: &str) {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tables/lake")
        .join(from);
    for e in walkdir(&base) {
        let rel = e.strip_prefix(&base).unwrap().to_str().unwrap().to_string();
        lake.put(bucket, &format!("{to}/{rel}"), std::fs::read(&e).unwrap());
    }
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A bucket without a manifest, of the common shapes, with real files.
fn auto_bucket(lake: &Lake, b: &str) {
    lake.bucket(b);
    let pq = parquet_id_name();
    lake.put(b, "warehouse/orders/part-00000-a.snappy.parquet", &pq)
        .put(b, "warehouse/orders/_SUCCESS", "")
        .put(b, "warehouse/customers/part-00000-c.snappy.parquet", &pq)
        .put(b, "warehouse/products/part-00000-p.snappy.parquet", &pq)
        .put(b, "warehouse/orders/.part-00000-a.snappy.parquet.crc", "x")
        .put(b, "db/events/year=2024/month=01/a.parquet", &pq)
        .put(b, "db/events/year=2024/month=02/b.parquet", &pq)
        .put(
            b,
            "exports/daily/dt=2026-11-30/export.csv",
            "id,amount\n1,2.5\n",
        )
        .put(
            b,
            "topics/clicks/partition=0/clicks+0+0000000000.json",
            "{\"user\":\"a\",\"n\":1}\n{\"user\":\"b\",\"n\":2}\n",
        )
        .put(b, "reports/weekly.tsv", "a\tb\n1\t2\n")
        .put(b, "images/cat.png", "not really a png");
    copy_fixture(lake, b, "delta/sales", "lake/sales");
}

fn config(lake: &Lake, auto: bool, extra: &str) -> String {
    let mut y = lake.config("", "");
    y.push_str(&format!(
        "s3meta:\n  bucketMetrics: false\n  autoDiscovery: {auto}\n{extra}"
    ));
    y
}

fn lines_of(catalog: &[Value], bucket: &str) -> Vec<Value> {
    let prefix = format!("svc.{bucket}");
    catalog
        .iter()
        .filter(|l| l["entity"] == "container")
        .filter(|l| {
            let f = l["fqn"].as_str().unwrap();
            f == prefix || f.starts_with(&format!("{prefix}."))
        })
        .cloned()
        .collect()
}

/// A lake with a bucket left to auto-discovery (`auto`) and one with a manifest (`manual`:
/// `data` declared parquet, `other/y.csv` not named).
fn auto_and_manual_lake() -> Lake {
    let lake = Lake::new();
    auto_bucket(&lake, "auto");
    lake.bucket("manual");
    lake.put("manual", "data/x.parquet", parquet_id_name())
        .put("manual", "other/y.csv", "a\n1\n")
        .put(
            "manual",
            "openmetadata.json",
            r#"{"entries":[{"dataPath":"data","structureFormat":"parquet"}]}"#,
        );
    lake
}

#[test]
fn auto_discovery_ingests_what_the_suggested_manifest_ingests() {
    let lake = auto_and_manual_lake();

    // 1. autoDiscovery on.
    let with = lake.ingest(&config(&lake, true, ""));
    assert_eq!(with.code, 0, "{}\n{}", with.stdout, with.stderr);
    let auto_lines = lines_of(&with.catalog, "auto");
    let fqns: Vec<&str> = auto_lines
        .iter()
        .map(|l| l["fqn"].as_str().unwrap())
        .collect();
    assert_eq!(
        fqns,
        vec![
            "svc.auto",
            "svc.auto.db/events",
            "svc.auto.exports/daily",
            "svc.auto.lake/sales",
            "svc.auto.reports",
            "svc.auto.topics/clicks",
            "svc.auto.warehouse/customers",
            "svc.auto.warehouse/orders",
            "svc.auto.warehouse/products",
        ],
        "{}",
        with.stderr
    );
    let events = with.container("svc.auto.db/events");
    assert_eq!(events["dataModel"]["isPartitioned"], true);
    let cols = with.columns("svc.auto.db/events");
    assert_eq!(
        cols[..2].to_vec(),
        vec![
            ("year".to_string(), "INT".to_string()),
            ("month".to_string(), "INT".to_string())
        ]
    );
    assert_eq!(
        with.columns("svc.auto.exports/daily")[0],
        ("dt".to_string(), "DATE".to_string())
    );
    // The Delta table found by discovery is read from its own log (issue #14): its current
    // columns, its partition column first, the table format on the container.
    let sales = with.container("svc.auto.lake/sales");
    assert_eq!(
        sales["description"],
        "Delta Lake table, version 4; partitioned by region"
    );
    assert_eq!(sales["dataModel"]["isPartitioned"], true);
    assert_eq!(
        with.columns("svc.auto.lake/sales")[0],
        ("region".to_string(), "STRING".to_string())
    );

    // 2. autoDiscovery off: the manifest-driven bucket gives the same lines.
    let without = lake.ingest(&config(&lake, false, ""));
    assert_eq!(without.code, 0, "{}", without.stderr);
    assert_eq!(
        lines_of(&without.catalog, "manual"),
        lines_of(&with.catalog, "manual")
    );
    assert_eq!(lines_of(&without.catalog, "auto").len(), 1);

    // 3. The suggested manifest, uploaded, ingests exactly what autoDiscovery did.
    let out = lake.dir.path().join("suggested");
    let cfg = config(&lake, false, "");
    let s = run_binary(
        lake.dir.path(),
        &[
            "manifest",
            "suggest",
            "--out",
            out.to_str().unwrap(),
            "--explain",
            "-c",
        ],
        &cfg,
        &lake.catalog_path(),
    );
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    assert!(
        s.stderr.contains("images/cat.png: unknown format"),
        "{}",
        s.stderr
    );
    assert!(
        s.stderr.contains("warehouse/orders/_SUCCESS: artifact"),
        "{}",
        s.stderr
    );
    let text = std::fs::read(out.join("auto/openmetadata.json")).unwrap();
    let entries = s3meta::manifest::parse_bucket_manifest(&text).unwrap();
    // The three warehouse tables are one `depth: 1` entry.
    assert!(
        entries
            .iter()
            .any(|e| e.data_path == "warehouse" && e.depth == 1),
        "{}",
        String::from_utf8_lossy(&text)
    );
    lake.put("auto", "openmetadata.json", &text);
    let uploaded = lake.ingest(&config(&lake, false, ""));
    assert_eq!(uploaded.code, 0, "{}", uploaded.stderr);
    assert_eq!(lines_of(&uploaded.catalog, "auto"), auto_lines);
    // What discovery adds to a run: its listing of the bucket.
    let requests = |r: &crate::support::Run| {
        r.stdout
            .lines()
            .find_map(|l| l.strip_prefix("S3 requests: "))
            .and_then(|l| l.split(',').next())
            .map(|n| n.trim().parse::<u64>().unwrap())
            .unwrap()
    };
    println!(
        "requests: autoDiscovery {}, suggested manifest uploaded {}",
        requests(&with),
        requests(&uploaded)
    );
    assert!(requests(&with) <= requests(&uploaded) + 2);
}

#[test]
fn plan_names_containers_samples_and_every_dropped_key() {
    let lake = Lake::new();
    auto_bucket(&lake, "auto");
    let cfg = config(&lake, true, "");
    let r = run_binary(
        lake.dir.path(),
        &["plan", "--json", "-c"],
        &cfg,
        &lake.catalog_path(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(!lake.catalog_path().exists(), "plan writes nothing");
    let plans: Value = serde_json::from_str(&r.stdout).unwrap();
    let p = &plans[0];
    assert_eq!(p["bucket"], "auto");
    assert_eq!(p["entriesFrom"].as_str(), Some("autoDiscovery"));
    let orders = p["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "warehouse/orders")
        .unwrap();
    assert_eq!(orders["format"], "parquet");
    assert_eq!(
        orders["sample"],
        "warehouse/orders/part-00000-a.snappy.parquet"
    );
    let dropped: BTreeMap<String, String> = p["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(dropped["warehouse/orders/_SUCCESS"], "artifact");
    assert_eq!(
        dropped["warehouse/orders/.part-00000-a.snappy.parquet.crc"],
        "artifact"
    );
    assert_eq!(dropped["images/cat.png"], "unknown format");
    assert_eq!(dropped.len(), 3, "{dropped:#?}");
    // The manifest probe (not found) is the only object read: no sample.
    assert_eq!(p["sampleReads"].as_u64(), Some(1));
}

#[test]
fn the_key_cap_stops_discovery_with_a_warning_naming_the_bucket() {
    let lake = Lake::new();
    lake.bucket("big");
    for i in 0..12 {
        lake.put("big", &format!("t{i:02}/a.csv"), "a\n1\n");
    }
    let cfg = config(&lake, true, "  globScanLimit: 5\n");
    let s = run_binary(
        lake.dir.path(),
        &["manifest", "suggest", "--bucket", "big", "-c"],
        &cfg,
        &lake.catalog_path(),
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(s.stderr.contains("bucket big"), "{}", s.stderr);
    let m = s3meta::manifest::parse_bucket_manifest(s.stdout.as_bytes()).unwrap();
    assert_eq!(m.len(), 5);
    let r = lake.ingest(&cfg);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("autoDiscovery stopped after 5 keys in bucket big"),
        "{}",
        r.stdout
    );
}

fn plan_json(lake: &Lake, cfg: &str) -> Value {
    let r = run_binary(
        lake.dir.path(),
        &["plan", "--json", "-c"],
        cfg,
        &lake.catalog_path(),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

fn bucket_plan<'a>(plans: &'a Value, bucket: &str) -> &'a Value {
    plans
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["bucket"] == bucket)
        .unwrap()
}

fn reasons(p: &Value) -> BTreeMap<String, String> {
    p["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().to_string(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_reasons_filter_manifest_gaps_and_the_cap() {
    let lake = auto_and_manual_lake();
    // An empty manifest is a manifest: the bucket is not discovered.
    lake.bucket("empty");
    lake.put("empty", "t/a.csv", "a\n1\n")
        .put("empty", "openmetadata.json", r#"{"entries":[]}"#);
    // A defaultManifest entry is a manifest too.
    lake.bucket("dflt");
    lake.put("dflt", "d/a.csv", "a\n1\n")
        .put("dflt", "e/b.csv", "a\n1\n");
    let mut cfg = lake.config(
        "",
        "containerFilterPattern:\n  excludes: [\"^exports\"]\ndefaultManifest: '{\"entries\": [{\"containerName\": \"dflt\", \"dataPath\": \"d\", \"structureFormat\": \"csv\"}]}'\n",
    );
    cfg.push_str("s3meta:\n  bucketMetrics: false\n  autoDiscovery: true\n");
    let plans = plan_json(&lake, &cfg);

    let auto = bucket_plan(&plans, "auto");
    assert_eq!(auto["entriesFrom"], "autoDiscovery");
    let r = reasons(auto);
    assert_eq!(
        r["exports/daily/dt=2026-11-30/export.csv"],
        "filter (containerFilterPattern excludes exports/daily)"
    );
    assert_eq!(r["auto/exports/daily"], "containerFilterPattern excluded");

    let manual = bucket_plan(&plans, "manual");
    assert_eq!(manual["entriesFrom"], "manifest");
    assert_eq!(reasons(manual)["other/y.csv"], "in no manifest entry");
    let containers: Vec<&str> = manual["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(containers, vec!["data"]);

    assert_eq!(bucket_plan(&plans, "empty")["entriesFrom"], "none");
    let dflt = bucket_plan(&plans, "dflt");
    assert_eq!(dflt["entriesFrom"], "manifest");
    assert_eq!(reasons(dflt)["e/b.csv"], "in no manifest entry");

    // Over the key cap: said once, with the cap.
    let capped = format!("{cfg}  globScanLimit: 4\n");
    let plans = plan_json(&lake, &capped);
    let r = reasons(bucket_plan(&plans, "auto"));
    assert!(
        r["auto/…"].starts_with("over a cap: keys past the first 4"),
        "{r:#?}"
    );
}

#[test]
fn glacier_objects_are_left_out_as_cold_storage_on_moto() {
    use crate::support::moto::MotoLake;
    let lake = MotoLake::new();
    let b = lake.name("cold");
    lake.bucket(&b);
    lake.put(&b, "t/a.csv", "a\n1\n");
    let s3 = lake.s3("us-east-1");
    lake.rt.block_on(async {
        for key in ["t/old.csv", "frozen/x.parquet"] {
            s3.put_object()
                .bucket(&b)
                .key(key)
                .storage_class(aws_sdk_s3::types::StorageClass::Glacier)
                .body(b"a\n1\n".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
    let names = format!("bucketNames:\n  - \"{b}\"\n");
    let cfg = lake.config_at(
        &lake.moto.endpoint(),
        "",
        &names,
        "",
        "s3meta:\n  bucketMetrics: false\n  autoDiscovery: true\n",
    );
    let r = lake.run(&["plan", "--json", "-c"], &cfg);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let plans: Value = serde_json::from_str(&r.stdout).unwrap();
    let p = bucket_plan(&plans, &b);
    let containers: Vec<&str> = p["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(containers, vec!["t"]);
    let r = reasons(p);
    assert_eq!(r["frozen/x.parquet"], "cold storage class");
    assert_eq!(r["t/old.csv"], "cold storage class");
}

/// Gzip of `bytes` (flate2 is a dependency of the crate under test).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn firehose_objects_without_extension_are_discovered_by_their_content() {
    let lake = Lake::new();
    for (i, hour) in ["10", "11"].iter().enumerate() {
        lake.put(
            "firehose",
            &format!("clicks/2026/11/30/{hour}/clicks-1-2026-11-30-{hour}-00-00-{i}"),
            gzip(br#"{"user":7,"page":"/a"}{"user":8,"page":"/b"}"#),
        );
    }
    // 1. The suggested manifest names the folder as JSON, partitioned by the date folders.
    let cfg = config(&lake, false, "");
    let s = run_binary(
        lake.dir.path(),
        &["manifest", "suggest", "--bucket", "firehose", "-c"],
        &cfg,
        &lake.catalog_path(),
    );
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    assert!(s.stdout.contains(r#""dataPath": "clicks""#), "{}", s.stdout);
    assert!(
        s.stdout.contains(r#""structureFormat": "json""#),
        "{}",
        s.stdout
    );
    // 2. autoDiscovery ingests it with the records' columns after the partition columns.
    let run = lake.ingest(&config(&lake, true, ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let cols: Vec<String> = run
        .columns("svc.firehose.clicks")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        cols.ends_with(&["user".to_string(), "page".to_string()]),
        "{cols:?}"
    );
}

#[test]
fn iceberg_and_hudi_tables_are_discovered_as_one_dataset_each_and_read_from_their_metadata() {
    let lake = Lake::new();
    lake.bucket("tables");
    copy_fixture(&lake, "tables", "iceberg/events", "warehouse/events");
    copy_fixture(&lake, "tables", "hudi/trips_mor", "rides/trips");
    let run = lake.ingest(&config(&lake, true, ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let fqns: Vec<String> = lines_of(&run.catalog, "tables")
        .iter()
        .map(|l| l["fqn"].as_str().unwrap().to_string())
        .collect();
    // One container per table: nothing inside (metadata/, data/, .hoodie/) of its own.
    assert_eq!(
        fqns,
        vec![
            "svc.tables".to_string(),
            "svc.tables.rides/trips".to_string(),
            "svc.tables.warehouse/events".to_string(),
        ]
    );
    let events = run.container("svc.tables.warehouse/events");
    assert!(
        events["description"]
            .as_str()
            .unwrap()
            .starts_with("Apache Iceberg table, format version 2, snapshot "),
        "{events}"
    );
    let trips = run.container("svc.tables.rides/trips");
    assert!(
        trips["description"]
            .as_str()
            .unwrap()
            .starts_with("Apache Hudi table (MERGE_ON_READ)"),
        "{trips}"
    );
    assert!(!run.columns("svc.tables.rides/trips").is_empty());
}
