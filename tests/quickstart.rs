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

fn quickstart(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .arg("quickstart")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn quickstart_writes_its_workflow_prints_next_steps_and_keeps_a_users_files() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout) = quickstart(dir.path(), &[]);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("Workflow written to s3meta-quickstart/workflow.yaml"),
        "{stdout}"
    );
    assert!(stdout.contains("Next steps:"), "{stdout}");
    assert!(stdout.contains("s3meta quickstart --serve"), "{stdout}");
    // The workflow it wrote is a valid one.
    let out = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["validate", "-c", "s3meta-quickstart/workflow.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // A file the user added to the sample lake survives the next quickstart, said so.
    let mine = dir
        .path()
        .join("s3meta-quickstart/lake/raw-landing/mine.bin");
    std::fs::write(&mine, b"mine").unwrap();
    let (ok, stdout) = quickstart(dir.path(), &[]);
    assert!(ok, "{stdout}");
    assert!(mine.exists());
    assert!(
        stdout.contains(
            "Kept 1 file(s) you added to the sample lake (ingested with it), e.g. s3meta-quickstart/lake/raw-landing/mine.bin"
        ),
        "{stdout}"
    );
}

#[test]
fn quickstart_serve_keeps_the_sample_lake_served_for_other_commands() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["quickstart", "--serve", "--port", &port.to_string()])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let served = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("until Ctrl-C"))
        .expect("no serving line");
    assert!(
        served.contains(&format!("http://127.0.0.1:{port}")),
        "{served}"
    );
    // Another command, on the workflow it wrote, against the server still running.
    let out = Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["ingest", "-c", "s3meta-quickstart/workflow.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(status.success(), "{status:?}");
}
