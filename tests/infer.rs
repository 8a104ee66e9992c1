//! Schema inference, format by format, against the embedded S3 server: exact columns and
//! types for files written by the ecosystem's writers, hostile files, several samples, and
//! the bytes a parquet schema costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::Lake;
use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::Arc;

fn manifest(lake: &Lake, bucket: &str, entries: Value) {
    lake.put(
        bucket,
        "openmetadata.json",
        json!({ "entries": entries }).to_string(),
    );
}

/// `(name, dataType, dataTypeDisplay)` of each column.
fn typed(run: &crate::support::Run, fqn: &str) -> Vec<(String, String, String)> {
    cols3(&run.container(fqn)["dataModel"]["columns"])
}

fn cols3(v: &Value) -> Vec<(String, String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["dataType"].as_str().unwrap().to_string(),
                c["dataTypeDisplay"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn t(spec: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    spec.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn parquet_bytes(schema: Schema, batch: Option<RecordBatch>) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, Arc::new(schema), None).unwrap();
    if let Some(b) = batch {
        w.write(&b).unwrap();
    }
    w.close().unwrap();
    buf
}

fn int_parquet(rows: usize) -> Vec<u8> {
    let schema = Schema::new(vec![Field::new("n", DataType::Int64, false)]);
    let batch = RecordBatch::try_new(
        Arc::new(schema.clone()),
        vec![Arc::new(Int64Array::from_iter_values(0..rows as i64))],
    )
    .unwrap();
    parquet_bytes(schema, Some(batch))
}

/// The lines of the run's summary that mention `needle` under Failures or Warnings.
fn status_lines(run: &crate::support::Run, needle: &str) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("  - [") && l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn csv_columns_are_typed_by_the_documented_rules() {
    let lake = Lake::new();
    lake.put(
        "lake",
        "sales/part-1.csv",
        "id,price,ok,day,at,clock,name\n1,1.5,true,2024-01-02,2024-01-02T10:00:00,10:00:00,a\n,2,false,2024-01-03,2024-01-03 11:00,11:30:00,\"b, c\"\n3,,TRUE,,,,\n",
    );
    lake.put("lake", "semi/x.csv", "\"a;b\"\n1;x\n");
    lake.put("lake", "tabs/x.tsv", "a\tb\n1\t2.5\n");
    lake.put("lake", "zipped/x.csv.gz", gzip(b"a,b\n1,x\n2,y\n"));
    manifest(
        &lake,
        "lake",
        json!([
            {"dataPath": "sales", "structureFormat": "csv"},
            {"dataPath": "semi", "structureFormat": "csv", "separator": ";"},
            {"dataPath": "tabs", "structureFormat": "tsv"},
            {"dataPath": "zipped", "structureFormat": "csv.gz"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        typed(&run, "svc.lake.sales"),
        t(&[
            ("id", "INT", "INT"),
            ("price", "FLOAT", "FLOAT"),
            ("ok", "BOOLEAN", "BOOLEAN"),
            ("day", "DATE", "DATE"),
            ("at", "DATETIME", "DATETIME"),
            ("clock", "TIME", "TIME"),
            ("name", "STRING", "STRING"),
        ])
    );
    let first = &run.container("svc.lake.sales")["dataModel"]["columns"][0];
    assert_eq!(first["displayName"], "id");
    assert_eq!(
        typed(&run, "svc.lake.semi"),
        t(&[("a", "INT", "INT"), ("b", "STRING", "STRING")])
    );
    assert_eq!(
        typed(&run, "svc.lake.tabs"),
        t(&[("a", "INT", "INT"), ("b", "FLOAT", "FLOAT")])
    );
    assert_eq!(
        typed(&run, "svc.lake.zipped"),
        t(&[("a", "INT", "INT"), ("b", "STRING", "STRING")])
    );
    assert_eq!(
        run.container("svc.lake.zipped")["fileFormats"],
        json!(["csv", "gz"])
    );
}

#[test]
fn csv_rows_past_the_byte_cap_are_not_read() {
    let lake = Lake::new();
    // The first 1000 rows are integers; a later row would make the column STRING.
    let mut text = String::from("n\n");
    for i in 0..1000 {
        text.push_str(&format!("{i}\n"));
    }
    text.push_str("not-a-number\n");
    lake.put("lake", "t/x.csv", text);
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "t", "structureFormat": "csv"}]),
    );
    let yaml = lake.config("", "") + "s3meta:\n  textSampleBytes: 2000\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(typed(&run, "svc.lake.t"), t(&[("n", "INT", "INT")]));
}

#[test]
fn json_lines_and_documents_have_nested_columns() {
    let lake = Lake::new();
    lake.put(
        "lake",
        "events/e.jsonl",
        "{\"id\": 1, \"user\": {\"name\": \"a\", \"age\": 3}, \"tags\": [\"x\"], \"items\": [{\"sku\": \"s\", \"qty\": 2}]}\n\n{\"id\": null, \"score\": 1.5}\nnot json\n",
    );
    lake.put(
        "lake",
        "docs/d.json",
        "[\n  {\"a\": 1, \"b\": {\"c\": true}},\n  {\"a\": 2.5}\n]\n",
    );
    lake.put(
        "lake",
        "schema/s.json",
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "person",
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "full name"},
                "age": {"type": "integer"},
                "pets": {"type": "array", "items": {"type": "object", "properties": {"kind": {"type": "string"}}}}
            }
        })
        .to_string(),
    );
    lake.put(
        "lake",
        "iceberg/m.json",
        json!({"format-version": 2, "schema": {"type": "struct", "fields": [
            {"id": 1, "name": "id", "type": "long", "required": true},
            {"id": 2, "name": "ts", "type": "timestamp", "required": false},
            {"id": 3, "name": "loc", "type": {"type": "struct", "fields": [{"id": 4, "name": "lat", "type": "double"}]}}
        ]}})
        .to_string(),
    );
    manifest(
        &lake,
        "lake",
        json!([
            {"dataPath": "events", "structureFormat": "jsonl"},
            {"dataPath": "docs", "structureFormat": "json"},
            {"dataPath": "schema", "structureFormat": "json"},
            {"dataPath": "iceberg", "structureFormat": "json"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    assert_eq!(
        typed(&run, "svc.lake.events"),
        t(&[
            ("id", "INT", "INT"),
            ("user", "JSON", "JSON"),
            ("tags", "ARRAY", "ARRAY<STRING>"),
            ("items", "ARRAY", "ARRAY<STRUCT>"),
            ("score", "FLOAT", "FLOAT"),
        ])
    );
    let ev = &run.container("svc.lake.events")["dataModel"]["columns"];
    assert_eq!(
        cols3(&ev[1]["children"]),
        t(&[("name", "STRING", "STRING"), ("age", "INT", "INT")])
    );
    assert_eq!(ev[2]["arrayDataType"], "STRING");
    assert_eq!(ev[3]["arrayDataType"], "STRUCT");
    assert_eq!(
        cols3(&ev[3]["children"]),
        t(&[("sku", "STRING", "STRING"), ("qty", "INT", "INT")])
    );

    assert_eq!(
        typed(&run, "svc.lake.docs"),
        t(&[("a", "FLOAT", "FLOAT"), ("b", "JSON", "JSON")])
    );

    let person = &run.container("svc.lake.schema")["dataModel"]["columns"];
    assert_eq!(cols3(person), t(&[("person", "RECORD", "RECORD")]));
    assert_eq!(
        cols3(&person[0]["children"]),
        t(&[
            ("name", "STRING", "STRING"),
            ("age", "INT", "INT"),
            ("pets", "ARRAY", "ARRAY<RECORD>"),
        ])
    );
    assert_eq!(person[0]["children"][0]["description"], "full name");
    assert_eq!(person[0].get("displayName"), None);

    let ice = &run.container("svc.lake.iceberg")["dataModel"]["columns"];
    assert_eq!(
        cols3(ice),
        t(&[
            ("id", "LONG", "long"),
            ("ts", "TIMESTAMP", "timestamp"),
            (
                "loc",
                "STRUCT",
                "{'type': 'struct', 'fields': [{'id': 4, 'name': 'lat', 'type': 'double'}]}"
            ),
        ])
    );
    assert_eq!(
        cols3(&ice[2]["children"]),
        t(&[("lat", "DOUBLE", "double")])
    );
}

#[test]
fn avro_columns_come_from_the_writer_schema() {
    let lake = Lake::new();
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("day", DataType::Date32, false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            false,
        ),
        Field::new(
            "loc",
            DataType::Struct(Fields::from(vec![
                Field::new("lat", DataType::Float64, false),
                Field::new("lon", DataType::Float64, false),
            ])),
            true,
        ),
    ]);
    let mut buf = Vec::new();
    {
        let mut w = arrow_avro::writer::AvroWriter::new(&mut buf, schema).unwrap();
        w.finish().unwrap();
    }
    lake.put("lake", "a/x.avro", &buf);
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "a", "structureFormat": "avro"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        typed(&run, "svc.lake.a"),
        t(&[
            ("id", "INT", "int64"),
            ("name", "STRING", "string"),
            ("score", "FLOAT", "double"),
            ("day", "DATE", "date32[day]"),
            ("at", "DATETIME", "timestamp[us, tz=UTC]"),
            ("loc", "STRUCT", "struct<lat: double, lon: double>"),
        ])
    );
    let loc = &run.container("svc.lake.a")["dataModel"]["columns"][5];
    assert_eq!(
        cols3(&loc["children"]),
        t(&[("lat", "FLOAT", "double"), ("lon", "FLOAT", "double")])
    );
}

#[test]
fn parquet_nested_types_come_from_the_footer() {
    let lake = Lake::new();
    let item = Field::new(
        "element",
        DataType::Struct(Fields::from(vec![Field::new("q", DataType::Int32, true)])),
        true,
    );
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("amount", DataType::Decimal128(10, 2), true),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("day", DataType::Date32, true),
        Field::new("raw", DataType::Binary, true),
        Field::new("hash", DataType::FixedSizeBinary(16), true),
        Field::new("items", DataType::List(Arc::new(item)), true),
    ]);
    lake.put("lake", "p/x.parquet", parquet_bytes(schema, None));
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "p", "structureFormat": "parquet"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        typed(&run, "svc.lake.p"),
        t(&[
            ("id", "INT", "int64"),
            ("amount", "DECIMAL", "decimal128(10, 2)"),
            ("at", "DATETIME", "timestamp[ms, tz=UTC]"),
            ("day", "DATE", "date32[day]"),
            ("raw", "BINARY", "binary"),
            ("hash", "BINARY", "fixed_size_binary[16]"),
            ("items", "ARRAY", "list<element: struct<q: int32>>"),
        ])
    );
    let c = &run.container("svc.lake.p")["dataModel"]["columns"];
    assert_eq!(
        (c[1]["precision"].clone(), c[1]["scale"].clone()),
        (json!(10), json!(2))
    );
    assert_eq!(c[5]["dataLength"], 16);
    assert_eq!(c[6]["arrayDataType"], "STRUCT");
    assert_eq!(cols3(&c[6]["children"]), t(&[("q", "INT", "int32")]));
}

/// A zip archive written by hand (the format is small): stored or deflated members.
fn zip(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data, deflate) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let body = if *deflate {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let method: u16 = if *deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes());
            v.extend_from_slice(&crc.sum().to_le_bytes());
            v.extend_from_slice(&(body.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04]);
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        central.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02]);
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        central.extend_from_slice(&[0u8; 6]);
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A ustar archive written by hand.
fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn archive_members_are_typed_from_their_own_content() {
    let lake = Lake::new();
    let pq = int_parquet(10);
    let z = zip(&[
        ("one.csv", b"a,b\n1,x\n", true),
        ("dir/two.jsonl", b"{\"k\": true}\n", false),
        ("readme.txt", b"hello", false),
        ("data/p.parquet", &pq, false),
        ("../evil.csv", b"a\n1\n", false),
    ]);
    lake.put("lake", "archives/data.zip", &z);
    let tg = gzip(&tar(&[
        ("t/one.tsv", b"x\ty\n1.5\t2\n"),
        ("notes.md", b"# hi"),
    ]));
    lake.put("lake", "archives/more.tar.gz", &tg);
    manifest(
        &lake,
        "lake",
        json!([
            {"dataPath": "archives/data.zip", "structureFormat": "zip"},
            {"dataPath": "archives/more.tar.gz", "structureFormat": "tar.gz"},
        ]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let zip_fqn = "svc.lake.\"archives/data.zip\"";
    let tar_fqn = "svc.lake.\"archives/more.tar.gz\"";
    assert_eq!(
        run.fqns(),
        vec![
            "svc.lake".to_string(),
            zip_fqn.into(),
            format!("{zip_fqn}.\"one.csv\""),
            format!("{zip_fqn}.\"two.jsonl\""),
            format!("{zip_fqn}.\"readme.txt\""),
            format!("{zip_fqn}.\"p.parquet\""),
            tar_fqn.into(),
            format!("{tar_fqn}.\"one.tsv\""),
            format!("{tar_fqn}.\"notes.md\""),
        ]
    );
    let archive = run.container(zip_fqn);
    assert_eq!(archive["size"], json!(z.len() as f64));
    assert_eq!(archive["fileFormats"], json!([]));
    assert_eq!(archive.get("dataModel"), None);

    let one = run.container(&format!("{zip_fqn}.\"one.csv\""));
    assert_eq!(one["name"], "one.csv");
    assert_eq!(one["prefix"], "/archives/data.zip/one.csv");
    assert_eq!(one["size"], json!(8.0));
    assert_eq!(one["fileFormats"], json!(["csv"]));
    assert_eq!(one["dataModel"]["isPartitioned"], false);
    assert_eq!(
        typed(&run, &format!("{zip_fqn}.\"one.csv\"")),
        t(&[("a", "INT", "INT"), ("b", "STRING", "STRING")])
    );
    let two = run.container(&format!("{zip_fqn}.\"two.jsonl\""));
    assert_eq!(two["prefix"], "/archives/data.zip/dir/two.jsonl");
    assert_eq!(two["fileFormats"], json!([]));
    assert_eq!(
        typed(&run, &format!("{zip_fqn}.\"two.jsonl\"")),
        t(&[("k", "BOOLEAN", "BOOLEAN")])
    );
    // DIFF: the reference would give readme.txt the CSV's columns.
    assert_eq!(
        run.container(&format!("{zip_fqn}.\"readme.txt\""))
            .get("dataModel"),
        None
    );
    assert_eq!(
        typed(&run, &format!("{zip_fqn}.\"p.parquet\"")),
        t(&[("n", "INT", "int64")])
    );
    assert_eq!(status_lines(&run, "../evil.csv").len(), 1, "{}", run.stdout);

    assert_eq!(
        typed(&run, &format!("{tar_fqn}.\"one.tsv\"")),
        t(&[("x", "FLOAT", "FLOAT"), ("y", "INT", "INT")])
    );
    assert_eq!(
        run.container(&format!("{tar_fqn}.\"one.tsv\""))["prefix"],
        "/archives/more.tar.gz/t/one.tsv"
    );
    assert_eq!(
        run.container(&format!("{tar_fqn}.\"notes.md\""))
            .get("dataModel"),
        None
    );
}

#[test]
fn json_zip_reads_its_first_json_member() {
    let lake = Lake::new();
    lake.put(
        "lake",
        "j/x.json.zip",
        zip(&[
            ("a.txt", b"x", false),
            ("x.json", b"{\"a\": 1}\n{\"b\": \"s\"}\n", true),
        ]),
    );
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "j", "structureFormat": "json.zip"}]),
    );
    let run = lake.ingest(&lake.config("", ""));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        typed(&run, "svc.lake.j"),
        t(&[("a", "INT", "INT"), ("b", "STRING", "STRING")])
    );
    assert_eq!(
        run.container("svc.lake.j")["fileFormats"],
        json!(["json", "zip"])
    );
}

#[test]
fn several_samples_are_merged_with_one_warning_naming_the_disagreeing_files() {
    let lake = Lake::new();
    lake.put("lake", "t/a.csv", "id,x\n1,2\n");
    lake.put("lake", "t/b.csv", "id,x,y\n1,2.5,s\n");
    lake.put("lake", "t/c.csv", "id,x\n3,4\n");
    // Newest first: c (2), a (1), b (0) — set the times so that the order is certain.
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (key, age) in [("t/c.csv", 0), ("t/a.csv", 10), ("t/b.csv", 20)] {
        let f = std::fs::File::options()
            .write(true)
            .open(lake.root.join("lake").join(key))
            .unwrap();
        f.set_modified(base - std::time::Duration::from_secs(age))
            .unwrap();
    }
    manifest(
        &lake,
        "lake",
        json!([{"dataPath": "t", "structureFormat": "csv"}]),
    );
    let yaml = lake.config("", "") + "s3meta:\n  sampleFiles: 3\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        typed(&run, "svc.lake.t"),
        t(&[
            ("id", "INT", "INT"),
            ("x", "FLOAT", "FLOAT"),
            ("y", "STRING", "STRING")
        ])
    );
    let warn = status_lines(&run, "disagree");
    assert_eq!(warn.len(), 1, "{}", run.stdout);
    assert!(
        warn[0].contains("t/b.csv") && warn[0].contains("t/c.csv"),
        "{}",
        warn[0]
    );
    assert!(!warn[0].contains("t/a.csv differ"), "{}", warn[0]);
}

#[test]
fn hostile_files_give_one_status_line_each_naming_the_object() {
    let lake = Lake::new();
    let good = int_parquet(1000);
    let truncated = good[..good.len() - 100].to_vec();
    let mut huge_footer = vec![0u8; 64];
    huge_footer.extend_from_slice(b"PAR1");
    huge_footer.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    huge_footer.extend_from_slice(b"PAR1");
    let mut corrupt_footer = good.clone();
    let n = corrupt_footer.len();
    for b in &mut corrupt_footer[n - 60..n - 8] {
        *b = 0xAB;
    }
    let bomb = gzip(&vec![0u8; 200 * 1024 * 1024]);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated", "parquet", truncated),
        ("wrongext", "parquet", b"a,b\n1,2\n".to_vec()),
        ("bigfooter", "parquet", huge_footer),
        ("badfooter", "parquet", corrupt_footer),
        ("bomb", "csv.gz", bomb),
        ("empty", "csv", vec![]),
        ("badavro", "avro", b"Obj\x01\x7f".to_vec()),
    ];
    let mut entries = vec![];
    for (name, fmt, bytes) in &cases {
        let ext = if *fmt == "csv.gz" { "csv.gz" } else { fmt };
        lake.put("lake", &format!("{name}/f.{ext}"), bytes);
        entries.push(json!({"dataPath": name, "structureFormat": fmt}));
    }
    manifest(&lake, "lake", Value::Array(entries));
    let run = lake.ingest(&lake.config("", ""));
    assert!(run.stderr.find("panicked").is_none(), "{}", run.stderr);
    for (name, fmt, _) in &cases {
        let ext = if *fmt == "csv.gz" { "csv.gz" } else { fmt };
        let key = format!("lake/{name}/f.{ext}");
        let lines = status_lines(&run, &key);
        assert_eq!(lines.len(), 1, "{key}: {}", run.stdout);
        println!("{}", lines[0]);
    }
    assert!(status_lines(&run, "lake/bigfooter/f.parquet")[0].contains("over the"));
    assert!(status_lines(&run, "lake/bomb/f.csv.gz")[0].contains("no complete line"));
    assert!(status_lines(&run, "lake/empty/f.csv")[0].contains("no columns"));
}

#[test]
fn parquet_schema_reads_do_not_grow_with_the_file() {
    let lake = Lake::new();
    let small = int_parquet(128 * 1024); // ~1 MiB
    let large = int_parquet(8 * 1024 * 1024); // ~64 MiB
    assert!(large.len() > 60 * 1024 * 1024, "{}", large.len());
    lake.put("lake", "small.parquet", &small);
    lake.put("lake", "large.parquet", &large);
    let counting = Arc::new(s3meta::store::counting::CountingStore::new(lake.store()));
    let limits = s3meta::infer::Limits::default();
    let mut seen = vec![];
    for (key, size) in [
        ("small.parquet", small.len()),
        ("large.parquet", large.len()),
    ] {
        counting.reset();
        let object = s3meta::store::ObjectMeta {
            key: key.into(),
            size: size as u64,
            last_modified: None,
            storage_class: None,
            etag: None,
        };
        let sample = s3meta::infer::Sample {
            bucket: "lake",
            object: &object,
            format: &"parquet".into(),
            separator: None,
        };
        let cols = lake
            .block_on(s3meta::infer::infer_columns(
                counting.as_ref(),
                sample,
                &limits,
            ))
            .unwrap();
        assert_eq!(cols.len(), 1);
        seen.push(counting.counts());
    }
    assert_eq!(seen[0], seen[1], "small vs large");
    assert_eq!(seen[0].requests, 1);
    assert!(seen[0].bytes <= 64 * 1024, "{:?}", seen[0]);
}

#[test]
fn a_parquet_archive_member_over_the_limits_is_cut_with_the_loose_files_warning() {
    let lake = Lake::new();
    // 100 flat columns and one column 20 structs deep, both written by parquet-rs.
    let wide = parquet_bytes(
        Schema::new(
            (0..100)
                .map(|i| Field::new(format!("c{i}"), DataType::Int32, true))
                .collect::<Vec<_>>(),
        ),
        None,
    );
    let mut deep = Field::new("x", DataType::Int32, true);
    for i in 0..20 {
        deep = Field::new(
            format!("s{i}"),
            DataType::Struct(Fields::from(vec![deep])),
            true,
        );
    }
    let deep = parquet_bytes(Schema::new(vec![deep]), None);
    lake.put("lake", "wide/f.parquet", &wide);
    lake.put("lake", "deep/f.parquet", &deep);
    lake.put(
        "lake",
        "a/m.zip",
        zip(&[
            ("stored/w.parquet", &wide, false),
            ("deflated/w2.parquet", &wide, true),
            ("stored/d.parquet", &deep, false),
        ]),
    );
    lake.put(
        "lake",
        "a/m.tar",
        tar(&[("t/w.parquet", &wide), ("t/d.parquet", &deep)]),
    );
    manifest(
        &lake,
        "lake",
        json!([
            {"dataPath": "wide", "structureFormat": "parquet"},
            {"dataPath": "deep", "structureFormat": "parquet"},
            {"dataPath": "a/m.zip", "structureFormat": "zip"},
            {"dataPath": "a/m.tar", "structureFormat": "tar"},
        ]),
    );
    let yaml = lake.config("", "") + "s3meta:\n  maxColumns: 10\n  maxColumnDepth: 3\n";
    let run = lake.ingest(&yaml);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let too_many = "were cut: columns past the first 10 dropped (maxColumns)";
    let too_deep = "were cut: nested fields deeper than 3 levels dropped (maxColumnDepth)";
    let warned = |what: &str, cut: &str| {
        let lines = status_lines(&run, &format!("the columns of {what} {cut}"));
        assert_eq!(lines.len(), 1, "{what}:\n{}", run.stdout);
    };
    warned("s3://lake/wide/f.parquet", too_many);
    warned("s3://lake/deep/f.parquet", too_deep);
    warned("member stored/w.parquet of s3://lake/a/m.zip", too_many);
    warned("member deflated/w2.parquet of s3://lake/a/m.zip", too_many);
    warned("member stored/d.parquet of s3://lake/a/m.zip", too_deep);
    warned("member t/w.parquet of s3://lake/a/m.tar", too_many);
    warned("member t/d.parquet of s3://lake/a/m.tar", too_deep);
    // The members' columns are the loose file's, cut the same way.
    let wide_cols = typed(&run, "svc.lake.wide");
    assert_eq!(wide_cols.len(), 10);
    assert_eq!(wide_cols[9].0, "c9");
    let deep_cols = &run.container("svc.lake.deep")["dataModel"]["columns"];
    for fqn in [
        r#"svc.lake."a/m.zip"."w.parquet""#,
        r#"svc.lake."a/m.zip"."w2.parquet""#,
        r#"svc.lake."a/m.tar"."w.parquet""#,
    ] {
        assert_eq!(typed(&run, fqn), wide_cols, "{fqn}");
    }
    for fqn in [
        r#"svc.lake."a/m.zip"."d.parquet""#,
        r#"svc.lake."a/m.tar"."d.parquet""#,
    ] {
        assert_eq!(
            run.container(fqn)["dataModel"]["columns"],
            *deep_cols,
            "{fqn}"
        );
    }
}
