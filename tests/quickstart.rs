//! `s3meta quickstart` on nothing but the binary: catalog written where ACCEPTANCE says,
//! summary printed, several formats, columns from real files, no stray `*.jsonl`.
use std::process::Command;

fn jsonl_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            jsonl_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
}

#[test]
fn quickstart_writes_a_catalog_of_the_sample_lake() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .arg("quickstart")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("s3meta-quickstart/catalog.jsonl"),
        "{stdout}"
    );
    assert!(stdout.contains("Success %"), "{stdout}");

    let catalog = dir.path().join("s3meta-quickstart/catalog.jsonl");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&catalog)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["entity"], "storageService");
    let data: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["request"].get("dataModel").is_some())
        .collect();
    assert!(data.len() >= 5, "{} data containers", data.len());
    let mut formats: Vec<String> = data
        .iter()
        .map(|l| l["request"]["fileFormats"][0].as_str().unwrap().to_string())
        .collect();
    formats.sort();
    formats.dedup();
    assert!(formats.len() >= 3, "{formats:?}");
    let with_columns = data
        .iter()
        .filter(|l| {
            !l["request"]["dataModel"]["columns"]
                .as_array()
                .unwrap()
                .is_empty()
        })
        .count();
    assert!(with_columns >= 3, "{with_columns} containers with columns");

    let mut found = vec![];
    jsonl_files(dir.path(), &mut found);
    assert_eq!(found, vec![catalog]);
}
