use super::suggest::{self, Options};
use super::*;

fn objs(keys: &[&str]) -> Vec<ObjectMeta> {
    keys.iter()
        .map(|k| ObjectMeta {
            key: k.to_string(),
            size: 10,
            last_modified: Some(1),
            storage_class: None,
            etag: None,
        })
        .collect()
}

fn roots(d: &Discovery) -> Vec<(String, &'static str)> {
    d.datasets
        .iter()
        .map(|ds| (ds.root.clone(), ds.kind.structure_format()))
        .collect()
}

fn reason(d: &Discovery, key: &str) -> Option<Reason> {
    d.left_out.iter().find(|l| l.key == key).map(|l| l.reason)
}

#[test]
fn spark_output_is_one_dataset_without_its_artifacts() {
    let d = discover(
        &objs(&[
            "sales/orders/_SUCCESS",
            "sales/orders/.part-00000-a.snappy.parquet.crc",
            "sales/orders/part-00000-a.snappy.parquet",
            "sales/orders/part-00001-a.snappy.parquet",
            "sales/orders/_temporary/0/part-9.parquet",
        ]),
        false,
    );
    assert_eq!(roots(&d), vec![("sales/orders".to_string(), "parquet")]);
    assert_eq!(d.datasets[0].files, 2);
    assert!(!d.datasets[0].partitioned);
    assert_eq!(reason(&d, "sales/orders/_SUCCESS"), Some(Reason::Artifact));
    assert_eq!(
        reason(&d, "sales/orders/_temporary/0/part-9.parquet"),
        Some(Reason::Artifact)
    );
}

#[test]
fn hive_partitions_belong_to_the_folder_above_them() {
    let d = discover(
        &objs(&[
            "ev/year=2024/month=01/a.parquet",
            "ev/year=2024/month=02/b.parquet",
            "ev/year=2025/month=01/c.parquet",
        ]),
        false,
    );
    assert_eq!(roots(&d), vec![("ev".to_string(), "parquet")]);
    assert!(d.datasets[0].partitioned);
    assert_eq!(
        d.datasets[0].partition_columns,
        vec![("year".to_string(), "INT"), ("month".to_string(), "INT")]
    );
}

#[test]
fn date_folders_are_partitions() {
    let d = discover(
        &objs(&[
            "logs/app/2026/11/30/a.json",
            "logs/app/2026/12/01/b.json",
            "dt/t/dt=2026-11-30/x.csv",
        ]),
        false,
    );
    assert_eq!(
        roots(&d),
        vec![
            ("dt/t".to_string(), "csv"),
            ("logs/app".to_string(), "json")
        ]
    );
    assert_eq!(
        d.datasets[0].partition_columns,
        vec![("dt".to_string(), "DATE")]
    );
    assert_eq!(
        d.datasets[1].partition_columns,
        vec![
            ("year".to_string(), "INT"),
            ("month".to_string(), "INT"),
            ("day".to_string(), "INT")
        ]
    );
}

#[test]
fn tables_are_one_dataset_each() {
    let d = discover(
        &objs(&[
            "lake/d/_delta_log/00000000000000000000.json",
            "lake/d/part-0.parquet",
            "lake/d/x=1/part-1.parquet",
            "lake/i/data/a.parquet",
            "lake/i/metadata/v1.metadata.json",
            "lake/i/metadata/snap-1.avro",
        ]),
        false,
    );
    assert_eq!(
        roots(&d),
        vec![
            ("lake/d".to_string(), "delta"),
            ("lake/i".to_string(), "iceberg")
        ]
    );
    assert!(d.left_out.is_empty());
}

#[test]
fn mixed_folders_split_by_format_and_the_manifest_keeps_the_largest() {
    let d = discover(
        &objs(&["m/a.csv", "m/b.csv", "m/c.json", "m/readme.txt"]),
        false,
    );
    assert_eq!(
        roots(&d),
        vec![("m".to_string(), "csv"), ("m".to_string(), "json")]
    );
    assert_eq!(reason(&d, "m/readme.txt"), Some(Reason::UnknownFormat));
    let (kept, dropped) = one_per_root(&d);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].kind, Kind::Files("csv"));
    assert_eq!(dropped[0].kind, Kind::Files("json"));
}

#[test]
fn unknown_cold_root_and_markers_are_left_out_with_reasons() {
    let mut o = objs(&[
        "top.csv",
        "f/",
        "fh/2026/11/30/05/stream-1-2026",
        "g/x.parquet",
    ]);
    o[3].storage_class = Some("GLACIER".into());
    let d = discover(&o, true);
    assert!(d.datasets.is_empty());
    assert!(d.truncated);
    assert_eq!(reason(&d, "top.csv"), Some(Reason::BucketRoot));
    assert_eq!(reason(&d, "f/"), Some(Reason::FolderMarker));
    assert_eq!(
        reason(&d, "fh/2026/11/30/05/stream-1-2026"),
        Some(Reason::UnknownFormat)
    );
    assert_eq!(reason(&d, "g/x.parquet"), Some(Reason::ColdStorage));
}

#[test]
fn kafka_connect_topics() {
    let d = discover(
        &objs(&[
            "topics/orders/partition=0/orders+0+0000000000.json",
            "topics/orders/partition=1/orders+1+0000000000.json",
            "topics/users/partition=0/users+0+0000000000.json",
        ]),
        false,
    );
    assert_eq!(
        roots(&d),
        vec![
            ("topics/orders".to_string(), "json"),
            ("topics/users".to_string(), "json")
        ]
    );
    assert_eq!(
        d.datasets[0].partition_columns,
        vec![("partition".to_string(), "INT")]
    );
}

#[test]
fn the_suggested_manifest_parses_and_says_what_it_found() {
    let d = discover(
        &objs(&[
            "a/x.parquet",
            "a/b/y.csv",
            "ev/dt=2024-01-01/p.parquet",
            "t/x.tsv",
            "img/a.png",
            "img/b.jpg",
            "lake/d/_delta_log/00000000000000000000.json",
        ]),
        false,
    );
    let entries = suggest::entries(&d, Options::default()).unwrap();
    let paths: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.data_path.as_str(),
                e.structure_format
                    .as_ref()
                    .map(|f| f.as_str())
                    .unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec![
            ("a/*.parquet", "parquet"),
            ("a/b", "csv"),
            ("ev", "parquet"),
            ("lake/d", "delta"),
            ("t", "tsv")
        ]
    );
    assert!(entries[2].is_partitioned);
    let cols = entries[2].partition_columns.as_ref().unwrap();
    assert_eq!(
        (cols[0].name.as_str(), cols[0].data_type.0.as_str()),
        ("dt", "DATE")
    );
    assert_eq!(entries[4].separator.as_deref(), Some("\t"));
    let with = suggest::entries(&d, Options { unstructured: true }).unwrap();
    let last = with.last().unwrap();
    assert_eq!(last.data_path, "img");
    assert_eq!(
        last.unstructured_formats.as_deref(),
        Some(&[".jpg".to_string(), ".png".to_string()][..])
    );
    let text = suggest::explain("b", &d, Options::default());
    assert!(text.contains("img/a.png: unknown format"), "{text}");
    assert!(text.contains("partitioned by dt DATE"), "{text}");
}

#[test]
fn an_empty_listing_suggests_an_empty_manifest() {
    let d = discover(&[], false);
    assert_eq!(
        suggest::manifest(&d, Options::default()),
        "{\n  \"entries\": []\n}\n"
    );
}

#[test]
fn unstructured_folders_merge_upwards_and_never_clash_with_a_dataset() {
    let d = discover(
        &objs(&[
            "images/logo.png",
            "images/icons/search.png",
            "images/icons/readme.txt",
            "landing/partner/a.csv",
            "landing/partner/README.md",
            "landing/pics/x.jpg",
        ]),
        false,
    );
    let e = suggest::entries(&d, Options { unstructured: true }).unwrap();
    let got: Vec<(&str, Option<Vec<String>>)> = e
        .iter()
        .map(|e| (e.data_path.as_str(), e.unstructured_formats.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("landing/partner", None),
            ("images", Some(vec![".png".to_string(), ".txt".to_string()])),
            ("landing/pics", Some(vec![".jpg".to_string()])),
        ]
    );
    let text = suggest::explain("b", &d, Options { unstructured: true });
    assert!(
        text.contains(
            "not an unstructured entry: landing/partner/, since the dataset landing/partner"
        ),
        "{text}"
    );
}

#[test]
fn sibling_datasets_make_one_depth_entry_only_when_it_says_exactly_the_same() {
    let keys = [
        "wh/crm/accounts/part-0.parquet",
        "wh/crm/users/part-0.parquet",
        "wh/crm/users/_SUCCESS",
        "wh/crm/leads/part-0.parquet",
        "wh/crm/README.md",
        "wh/fin/ledger/a.parquet",
        "wh/fin/budget/a.parquet",
        "wh/fin/plans/a.parquet",
        "wh/fin/scans/a.pdf",
    ];
    let d = discover(&objs(&keys), false);
    let e = suggest::entries(&d, Options::default()).unwrap();
    let got: Vec<(&str, u32)> = e.iter().map(|e| (e.data_path.as_str(), e.depth)).collect();
    // wh/fin has a folder of PDFs that depth discovery would make a container of.
    assert_eq!(
        got,
        vec![
            ("wh/crm", 1),
            ("wh/fin/budget", 0),
            ("wh/fin/ledger", 0),
            ("wh/fin/plans", 0)
        ]
    );
    let text = suggest::explain("b", &d, Options::default());
    assert!(
        text.contains("depth 1: 3 datasets of parquet one folder below wh/crm/"),
        "{text}"
    );
    assert!(text.contains("wh/crm/users/part-0.parquet"), "{text}");
}

#[test]
fn a_large_dataset_keeps_a_few_keys_and_counts_the_rest() {
    let keys: Vec<String> = (0..20_000)
        .map(|i| format!("big/t/part-{i:05}.parquet"))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let d = discover(&objs(&refs), true);
    assert_eq!(d.datasets.len(), 1);
    assert_eq!(d.datasets[0].files, 20_000);
    assert_eq!(d.datasets[0].keys.len(), 5);
    assert!(d.truncated);
}

#[test]
fn a_folder_a_manifest_would_read_as_a_glob_is_left_out() {
    let d = discover(&objs(&["we*ird/a.csv", "ok/b?.csv", "ok/c.csv"]), false);
    assert_eq!(roots(&d), vec![("ok".to_string(), "csv")]);
    assert_eq!(reason(&d, "we*ird/a.csv"), Some(Reason::GlobCharacters));
}

#[test]
fn fuzz_discover_keys() {
    // Any listing: discovery never panics, and its manifest always parses.
    let seeds = vec![
        b"sales/orders/part-0.snappy.parquet\nsales/orders/_SUCCESS\nev/year=2024/month=01/a.parquet\nlogs/2026/11/30/05/x.json\nlake/d/_delta_log/00000000000000000000.json\nimg/a.png\nm/a.csv\nm/b.json\nwh/a/x.tsv\nwh/b/x.tsv\nwh/c/x.tsv\nwh/x.tsv".to_vec(),
    ];
    crate::fuzz::run("discover_keys", seeds, |b| {
        let text = String::from_utf8_lossy(b);
        let keys: Vec<&str> = text.split('\n').take(2000).collect();
        let d = discover(&objs(&keys), false);
        for opts in [Options::default(), Options { unstructured: true }] {
            let m = suggest::manifest(&d, opts);
            if let Err(e) = suggest::entries(&d, opts) {
                panic!("{e}: {m}");
            }
            let _ = suggest::explain("b", &d, opts);
        }
    });
}
