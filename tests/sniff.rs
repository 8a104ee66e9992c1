//! Content sniffing against the embedded S3 server: files whose key's extension is missing
//! or wrong, as real producers write them (Kinesis Firehose, CSV exports, S3 server access
//! logs, a `.json` file of JSON Lines, a parquet file named `.csv`), through ingestion and
//! through `infer::sniff::format_of`, the function discovery calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::Lake;
use pretty_assertions::assert_eq;
use s3meta::format::Format;
use s3meta::infer::sniff::{format_of, Content, Sniffed, Wrapper};
use s3meta::infer::Limits;
use s3meta::store::ObjectMeta;
use serde_json::json;
use std::io::Write;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sniff");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Firehose's records, back to back (its default) or one per line.
fn firehose(newlines: bool) -> Vec<u8> {
    let text = String::from_utf8(fixture("firehose-records.json")).unwrap();
    let text = if newlines {
        text.replace("}{", "}\n{")
    } else {
        text
    };
    gzip(text.as_bytes())
}

fn manifest(lake: &Lake, entries: serde_json::Value) {
    lake.put(
        "lake",
        "openmetadata.json",
        json!({ "entries": entries }).to_string(),
    );
}

fn cols(spec: &[(&str, &str)]) -> Vec<(String, String)> {
    spec.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// What `format_of` says of `s3://lake/<key>` (size from the bytes put there).
fn sniffed(lake: &Lake, key: &str, size: usize) -> Option<Sniffed> {
    let store = lake.store();
    let object = ObjectMeta {
        key: key.to_string(),
        size: size as u64,
        last_modified: None,
        storage_class: None,
        etag: None,
    };
    lake.block_on(format_of(
        store.as_ref(),
        "lake",
        &object,
        &Limits::default(),
    ))
    .unwrap()
}

/// A WARN log line mentions `needle`.
fn warned(stderr: &str, needle: &str) -> bool {
    stderr
        .lines()
        .any(|l| l.contains(" WARN ") && l.contains(needle))
}

const FIREHOSE_COLUMNS: &[(&str, &str)] = &[
    ("ticker_symbol", "STRING"),
    ("sector", "STRING"),
    ("change", "FLOAT"),
    ("price", "FLOAT"),
];

#[test]
fn firehose_objects_without_an_extension_are_typed_from_their_content() {
    let lake = Lake::new();
    let flat = firehose(false);
    let lines = firehose(true);
    lake.put("lake", "flat/stream-1-2026-11-30-19-00-00-a1b2", &flat);
    lake.put("lake", "lines/stream-1-2026-11-30-19-00-00-c3d4", &lines);
    manifest(
        &lake,
        json!([
            {"dataPath": "flat", "structureFormat": "json"},
            {"dataPath": "lines", "structureFormat": "json"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.columns("svc.lake.flat"), cols(FIREHOSE_COLUMNS));
    assert_eq!(run.columns("svc.lake.lines"), cols(FIREHOSE_COLUMNS));
    // Still JSON: compression found by its magic number is no warning.
    assert!(!warned(&run.stderr, "content is"), "{}", run.stderr);
    assert_eq!(
        sniffed(&lake, "flat/stream-1-2026-11-30-19-00-00-a1b2", flat.len()),
        Some(Sniffed {
            wrapper: Some(Wrapper::Gzip),
            content: Content::JsonConcatenated
        })
    );
    let l = sniffed(
        &lake,
        "lines/stream-1-2026-11-30-19-00-00-c3d4",
        lines.len(),
    )
    .unwrap();
    assert_eq!(
        (l.content, l.format()),
        (Content::JsonLines, Some(Format::JsonGz))
    );
}

#[test]
fn a_declared_format_whose_reader_rejects_the_bytes_gives_way_to_the_content() {
    let lake = Lake::new();
    lake.put("lake", "wrong/data.csv", crate::support::parquet_id_name());
    lake.put("lake", "tabbed/data.json", "a\tb\n1\tx\n2\ty\n");
    manifest(
        &lake,
        json!([
            {"dataPath": "wrong", "structureFormat": "csv"},
            {"dataPath": "tabbed", "structureFormat": "json"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.columns("svc.lake.wrong"),
        crate::support::id_name_columns()
    );
    assert_eq!(
        run.columns("svc.lake.tabbed"),
        cols(&[("a", "INT"), ("b", "STRING")])
    );
    for warning in [
        "s3://lake/wrong/data.csv: declared csv, content is parquet",
        "s3://lake/tabbed/data.json: declared json, content is tsv",
    ] {
        // In the run's summary, under Warnings, and in the log.
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("  - [") && l.contains(warning)),
            "{warning}\n{}",
            run.stdout
        );
        assert!(warned(&run.stderr, warning), "{warning}\n{}", run.stderr);
    }
}

#[test]
fn orc_is_recognised_but_not_read() {
    let lake = Lake::new();
    let mut orc = b"ORC".to_vec();
    orc.extend_from_slice(&[0x0a, 0x0b, 0, 0, 0x12, 0x04, 0x08, 0x03, 0x50, 0]);
    lake.put("lake", "events/part-0.csv", &orc);
    manifest(
        &lake,
        json!([{"dataPath": "events", "structureFormat": "csv"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert!(
        run.stdout
            .contains("declared csv, but the content is ORC: ORC is recognised but not read"),
        "{}",
        run.stdout
    );
    assert_eq!(
        sniffed(&lake, "events/part-0.csv", orc.len())
            .unwrap()
            .format(),
        None
    );
}

#[test]
fn csv_exports_without_an_extension() {
    let lake = Lake::new();
    let export = fixture("users-export");
    lake.put("lake", "exports/users-20261130", &export);
    lake.put("lake", "zexports/users-20261130", gzip(&export));
    // Written by Python's zipfile (deflated), one member.
    lake.put("lake", "zipped/users-20261130", fixture("users-export-zip"));
    manifest(
        &lake,
        json!([
            {"dataPath": "exports", "structureFormat": "csv"},
            {"dataPath": "zexports", "structureFormat": "csv"},
            {"dataPath": "zipped", "structureFormat": "csv"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let expected = cols(&[
        ("user_id", "INT"),
        ("email", "STRING"),
        ("signed_up", "DATE"),
        ("score", "FLOAT"),
    ]);
    assert_eq!(run.columns("svc.lake.exports"), expected);
    assert_eq!(run.columns("svc.lake.zexports"), expected);
    assert_eq!(run.columns("svc.lake.zipped"), expected);
    assert_eq!(
        sniffed(&lake, "exports/users-20261130", export.len()),
        Some(Sniffed {
            wrapper: None,
            content: Content::Delimited {
                separator: b',',
                header: true
            }
        })
    );
}

#[test]
fn a_json_file_of_json_lines() {
    let lake = Lake::new();
    let text = "{\"id\":1,\"tags\":[\"a\"]}\n{\"id\":2,\"tags\":[]}\n";
    lake.put("lake", "events/day.json", text);
    manifest(
        &lake,
        json!([{"dataPath": "events", "structureFormat": "json"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.columns("svc.lake.events"),
        cols(&[("id", "INT"), ("tags", "ARRAY")])
    );
    let s = sniffed(&lake, "events/day.json", text.len()).unwrap();
    assert_eq!(
        (s.content, s.format()),
        (Content::JsonLines, Some(Format::JsonLines))
    );
}

/// Access logs are space-separated with bracketed and quoted fields: s3meta reports them as
/// untypeable rather than guess columns. A declared reader's verdict on them stands.
#[test]
fn s3_access_logs_are_reported_as_untypeable() {
    let lake = Lake::new();
    let log = fixture("s3-access-log.txt");
    lake.put("lake", "logs/2026-11-30-19-00-00-0123456789ABCDEF", &log);
    manifest(
        &lake,
        json!([{"dataPath": "logs", "structureFormat": "json"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert!(
        run.stdout
            .contains("logs/2026-11-30-19-00-00-0123456789ABCDEF"),
        "{}",
        run.stdout
    );
    assert!(!warned(&run.stderr, "content is"), "{}", run.stderr);
    assert_eq!(
        sniffed(
            &lake,
            "logs/2026-11-30-19-00-00-0123456789ABCDEF",
            log.len()
        ),
        None
    );
}

/// The requests typing by content costs: none more than the declared reader made for text
/// (the prefix it read is sniffed), one head read for a rejected parquet or Avro sample, and
/// one bounded read for `format_of`.
#[test]
fn sniffing_costs_no_request_for_text_and_one_head_read_otherwise() {
    use s3meta::format::StructureFormat;
    use s3meta::infer::{infer_sample, Sample};
    use s3meta::store::counting::CountingStore;
    let lake = Lake::new();
    let flat = firehose(false);
    // Large enough for the parquet reader to read its tail (a smaller file is refused by
    // its size alone).
    let csv_as_parquet: Vec<u8> = std::iter::once("a,b\n".to_string())
        .chain((0..100).map(|i| format!("{i},x{i}\n")))
        .collect::<String>()
        .into_bytes();
    lake.put("lake", "fh/stream-1", &flat);
    lake.put("lake", "p/f.parquet", &csv_as_parquet);
    let store = CountingStore::new(lake.store());
    let limits = Limits::default();
    let cases = [
        ("fh/stream-1", flat.len(), "json", 1, None),
        (
            "p/f.parquet",
            csv_as_parquet.len(),
            "parquet",
            2,
            Some("s3://lake/p/f.parquet: declared parquet, content is csv; typed by its content"),
        ),
    ];
    for (key, size, format, gets, warning) in cases {
        store.reset();
        let object = ObjectMeta {
            key: key.to_string(),
            size: size as u64,
            last_modified: None,
            storage_class: None,
            etag: None,
        };
        let format = StructureFormat::new(format);
        let sample = Sample {
            bucket: "lake",
            object: &object,
            format: &format,
            separator: None,
        };
        let typed = lake.block_on(infer_sample(&store, sample, &limits));
        assert!(typed.columns.is_ok(), "{key}: {:?}", typed.columns);
        assert_eq!(typed.warning.as_deref(), warning, "{key}");
        assert_eq!(store.counts().gets, gets, "{key}");
        store.reset();
        lake.block_on(format_of(&store, "lake", &object, &limits))
            .unwrap();
        assert_eq!(store.counts().gets, 1, "{key}");
    }
}
