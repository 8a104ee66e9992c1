//! A hostile lake (issue #15): crafted files of a few kilobytes each, beside a healthy
//! bucket. The run must end normally, write every healthy container, report each hostile
//! file by name, and stay under 256 MiB of memory. Each input is built here, by hand, the
//! way an attacker would: no writer would produce them.

use crate::support::{parquet_id_name, Lake};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

// --- Thrift compact protocol, just enough to write a parquet footer's schema. ---

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// One SchemaElement: a group (`children: Some(n)`) or an INT32 leaf, optional.
fn element(out: &mut Vec<u8>, name: &str, children: Option<i64>, root: bool) {
    let mut last = 0;
    let mut field = |out: &mut Vec<u8>, id: u8, ty: u8| {
        out.push(((id - last) << 4) | ty);
        last = id;
    };
    if children.is_none() {
        field(out, 1, 5); // type: INT32
        varint(out, zigzag(1));
    }
    if !root {
        field(out, 3, 5); // repetition_type: OPTIONAL
        varint(out, zigzag(1));
    }
    field(out, 4, 8); // name
    varint(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
    if let Some(n) = children {
        field(out, 5, 5); // num_children
        varint(out, zigzag(n));
    }
    out.push(0);
}

/// A parquet file with no data whose footer holds `elements` (the root first).
fn parquet_with_schema(count: usize, write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut f = vec![0x15];
    varint(&mut f, zigzag(1)); // version
    f.push(0x19); // schema: list<struct>
    f.push(0xfc);
    varint(&mut f, count as u64);
    write(&mut f);
    f.push(0x16); // num_rows
    varint(&mut f, 0);
    f.push(0x19); // row_groups: empty list<struct>
    f.push(0x0c);
    f.push(0);
    let mut file = b"PAR1".to_vec();
    let len = f.len() as u32;
    file.extend(f);
    file.extend_from_slice(&len.to_le_bytes());
    file.extend_from_slice(b"PAR1");
    file
}

/// A schema nested `depth` groups deep around one leaf.
pub fn deep_parquet(depth: usize) -> Vec<u8> {
    parquet_with_schema(depth + 2, |f| {
        element(f, "schema", Some(1), true);
        for _ in 0..depth {
            element(f, "s", Some(1), false);
        }
        element(f, "x", None, false);
    })
}

/// A flat schema of `n` INT32 columns.
pub fn wide_parquet(n: usize) -> Vec<u8> {
    parquet_with_schema(n + 1, |f| {
        element(f, "schema", Some(n as i64), true);
        for i in 0..n {
            element(f, &format!("c{i}"), None, false);
        }
    })
}

/// An Avro header whose named records each use the previous one ten times: 2 KB of
/// schema that expands to 10^levels fields.
pub fn avro_blowup(levels: usize) -> Vec<u8> {
    fn record(k: usize) -> String {
        if k == 0 {
            return r#"{"type":"record","name":"r0","fields":[{"name":"x","type":"int"}]}"#.into();
        }
        let mut fields = vec![format!(r#"{{"name":"a0","type":{}}}"#, record(k - 1))];
        for i in 1..10 {
            fields.push(format!(r#"{{"name":"a{i}","type":"r{}"}}"#, k - 1));
        }
        format!(
            r#"{{"type":"record","name":"r{k}","fields":[{}]}}"#,
            fields.join(",")
        )
    }
    let schema = record(levels);
    let mut out = b"Obj\x01".to_vec();
    varint(&mut out, zigzag(1)); // one map entry
    for s in ["avro.schema".as_bytes(), schema.as_bytes()] {
        varint(&mut out, zigzag(s.len() as i64));
        out.extend_from_slice(s);
    }
    out.push(0);
    out.extend_from_slice(&[7; 16]); // sync marker
    out
}

/// A zip whose zip64 end record puts the central directory near 2^64.
pub fn zip64_near_the_end_of_u64() -> Vec<u8> {
    let mut z = Vec::new();
    // zip64 end of central directory record
    z.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
    z.extend_from_slice(&44u64.to_le_bytes());
    z.extend_from_slice(&45u16.to_le_bytes());
    z.extend_from_slice(&45u16.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&1u64.to_le_bytes());
    z.extend_from_slice(&1u64.to_le_bytes());
    z.extend_from_slice(&100u64.to_le_bytes()); // directory size
    z.extend_from_slice(&(u64::MAX - 50).to_le_bytes()); // directory offset
                                                         // zip64 locator
    z.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(&0u64.to_le_bytes());
    z.extend_from_slice(&1u32.to_le_bytes());
    // end of central directory, every field saying "see zip64"
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(&0xffffu16.to_le_bytes());
    z.extend_from_slice(&0xffffu16.to_le_bytes());
    z.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    z.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

/// A tar whose one member claims 2^64 − 1 bytes (base-256), followed by a block that reads
/// like CSV: it must not become a phantom member.
pub fn tar_with_huge_size() -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..5].copy_from_slice(b"x.csv");
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124] = 0x80;
    for b in &mut h[128..136] {
        *b = 0xff;
    }
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut t = h.to_vec();
    let mut data = [0u8; 512];
    data[..8].copy_from_slice(b"a,b\n1,2\n");
    t.extend_from_slice(&data);
    t.extend_from_slice(&[0; 1024]);
    t
}

/// The hostile files, by key, with the structure format their manifest entry gives.
fn hostile_files() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    vec![
        ("deep/f.parquet", "parquet", deep_parquet(10_000)),
        ("wide/f.parquet", "parquet", wide_parquet(1_000_000)),
        ("named/f.avro", "avro", avro_blowup(10)),
        (
            "dupes/f.csv",
            "csv",
            format!("{}\n", vec!["a"; 20_000].join(",")).into_bytes(),
        ),
        ("binary/f.csv", "csv", binary),
        ("z64.zip", "zip", zip64_near_the_end_of_u64()),
        ("huge.tar", "tar", tar_with_huge_size()),
    ]
}

struct Measured {
    code: i32,
    stdout: String,
    peak_rss_kib: u64,
}

/// Runs `s3meta ingest` on the lake, sampling the process's peak resident memory
/// (`VmHWM`, a high-water mark) until it exits.
fn ingest_measured(lake: &Lake, yaml: &str) -> Measured {
    let cfg = lake.dir.path().join("workflow.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["ingest", "-c"])
        .arg(&cfg)
        .current_dir(lake.dir.path())
        .env_remove("RUST_LOG")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", lake.dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", lake.dir.path().join("none"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s.code().unwrap_or(-1);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        code,
        stdout: reader.join().unwrap(),
        peak_rss_kib: peak,
    }
}

#[test]
fn a_hostile_lake_runs_to_the_end_and_names_every_hostile_file() {
    let lake = Lake::new();
    lake.put("healthy", "data/a.parquet", parquet_id_name());
    lake.put(
        "healthy",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "parquet"}]}"#,
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("a,b\n1,2\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    lake.put("utf16", "data/f.csv", utf16);
    lake.put(
        "utf16",
        "openmetadata.json",
        r#"{"entries": [{"dataPath": "data", "structureFormat": "csv"}]}"#,
    );
    let mut entries = vec![];
    for (key, format, bytes) in hostile_files() {
        lake.put("hostile", key, bytes);
        let path = key.rsplit_once('/').map_or(key, |(dir, _)| dir);
        entries.push(format!(
            r#"{{"dataPath": "{path}", "structureFormat": "{format}"}}"#
        ));
    }
    lake.put(
        "hostile",
        "openmetadata.json",
        format!(r#"{{"entries": [{}]}}"#, entries.join(", ")),
    );
    let yaml = lake.config("", "") + "s3meta:\n  bucketMetrics: false\n";
    let run = ingest_measured(&lake, &yaml);
    // A normal end: failures counted (exit 1 by successThreshold), never a crash (134, 101).
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}\n{}",
        run.code,
        run.stdout
    );
    let catalog = std::fs::read_to_string(lake.catalog_path()).unwrap();
    assert!(catalog.contains(r#""fqn":"svc.healthy.data""#), "{catalog}");
    for (key, _, _) in hostile_files() {
        assert!(
            run.stdout.contains(key)
                || run
                    .stdout
                    .contains(key.rsplit_once('/').map_or(key, |p| p.0)),
            "{key} not named in the summary:\n{}",
            run.stdout
        );
    }
    // A UTF-16 CSV is decoded, not published with NULs in its names.
    let utf16 = catalog
        .lines()
        .find(|l| l.contains(r#""fqn":"svc.utf16.data""#))
        .unwrap_or_else(|| panic!("no UTF-16 container:\n{catalog}"));
    assert!(
        utf16.contains(r#""name":"a""#) && utf16.contains(r#""name":"b""#),
        "{utf16}"
    );
    // No phantom tar member, no garbage column names.
    assert!(!catalog.contains("a,b\\n1,2"), "{catalog}");
    assert!(!catalog.contains("\\u0000"), "{catalog}");
    eprintln!(
        "hostile lake: exit {}, peak RSS {} KiB",
        run.code, run.peak_rss_kib
    );
    assert!(
        run.peak_rss_kib < 256 * 1024,
        "peak RSS {} KiB\n{}",
        run.peak_rss_kib,
        run.stdout
    );
    for line in catalog.lines() {
        assert!(
            line.len() < 8 << 20,
            "a catalog line of {} bytes",
            line.len()
        );
    }
}
