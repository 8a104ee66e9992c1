//! `s3meta serve`: the scheduler loop with injected time over real runs of a local workflow
//! (the embedded S3 server), retries, and SIGTERM during a run.

use crate::support::serving::{blackhole, free_addr, get, until, ManualClock};
use crate::support::Lake;
use async_trait::async_trait;
use s3meta::serve::cron::Cron;
use s3meta::serve::local_job::LocalJob;
use s3meta::serve::{serve, RunOutcome, Runner, ServeOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The real local runner, with a count of the runs it was asked for.
struct Counted {
    inner: LocalJob,
    runs: AtomicU32,
}

#[async_trait]
impl Runner for Counted {
    async fn run(&self, id: &str, attempt: u32) -> RunOutcome {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.run(id, attempt).await
    }
    async fn abandoned(&self, id: &str) {
        self.inner.abandoned(id).await
    }
}

fn job(config: PathBuf, retries: u32) -> LocalJob {
    LocalJob {
        config,
        cron: Cron::parse("0 * * * *").unwrap(),
        tz: jiff::tz::TimeZone::UTC,
        retries,
        retry_delay: Duration::from_secs(300),
    }
}

fn opts(state: PathBuf) -> ServeOptions {
    ServeOptions {
        state_file: Some(state),
        health_addr: None,
        refresh: Duration::from_secs(3600),
        grace: Duration::from_secs(30),
        run_at_start: false,
    }
}

fn state_of(path: &std::path::Path, id: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v[id]["lastState"].as_str().map(str::to_string)
}

#[test]
fn a_due_schedule_runs_the_workflow_and_records_it() {
    let lake = Lake::new();
    lake.put("scheduled", "a.txt", "x");
    let config = lake.dir.path().join("workflow.yaml");
    std::fs::write(&config, lake.config("", "")).unwrap();
    let state = lake.dir.path().join("state.json");
    let clock = ManualClock::new("2026-11-27T14:59:59Z");
    let job = job(config.clone(), 0);
    let runner = Arc::new(Counted {
        inner: job.clone(),
        runs: AtomicU32::new(0),
    });
    let id = job.id();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    lake.block_on(async {
        let serving = tokio::spawn(serve(
            job,
            runner.clone(),
            clock.clone(),
            opts(state.clone()),
            async {
                let _ = stop_rx.await;
            },
            |_| {},
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            runner.runs.load(Ordering::SeqCst),
            0,
            "not due before 15:00"
        );
        clock.set("2026-11-27T15:00:00Z");
        until("the 15:00 run", || state_of(&state, &id).is_some()).await;
        assert_eq!(state_of(&state, &id).as_deref(), Some("success"));
        assert!(lake.catalog_path().exists());
        assert_eq!(runner.runs.load(Ordering::SeqCst), 1);
        clock.set("2026-11-27T15:30:00Z");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runner.runs.load(Ordering::SeqCst), 1, "once per cron time");
        clock.set("2026-11-27T16:00:00Z");
        until("the 16:00 run", || runner.runs.load(Ordering::SeqCst) == 2).await;
        let _ = stop_tx.send(());
        serving.await.unwrap().unwrap();
    });
}

#[test]
fn a_failing_run_is_retried_after_the_delay() {
    let mut lake = Lake::new();
    let config = lake.dir.path().join("workflow.yaml");
    std::fs::write(&config, lake.config("", "")).unwrap();
    lake.stop(); // every run fails: ListBuckets cannot reach the endpoint
    let yaml = std::fs::read_to_string(&config).unwrap() + "s3meta:\n  maxAttempts: 1\n";
    std::fs::write(&config, yaml).unwrap();
    let state = lake.dir.path().join("state.json");
    let clock = ManualClock::new("2026-11-27T14:59:59Z");
    let job = job(config, 2);
    let runner = Arc::new(Counted {
        inner: job.clone(),
        runs: AtomicU32::new(0),
    });
    let id = job.id();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    lake.block_on(async {
        let serving = tokio::spawn(serve(
            job,
            runner.clone(),
            clock.clone(),
            opts(state.clone()),
            async {
                let _ = stop_rx.await;
            },
            |_| {},
        ));
        until("the loop to idle", || clock.idle()).await;
        clock.set("2026-11-27T15:00:00Z");
        until("the first attempt", || state_of(&state, &id).is_some()).await;
        assert_eq!(state_of(&state, &id).as_deref(), Some("failed"));
        assert_eq!(runner.runs.load(Ordering::SeqCst), 1);
        clock.set("2026-11-27T15:04:00Z");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runner.runs.load(Ordering::SeqCst), 1, "retryDelay is 300 s");
        clock.set("2026-11-27T15:10:00Z");
        until("the first retry", || {
            runner.runs.load(Ordering::SeqCst) == 2
        })
        .await;
        until("the first retry to end", || {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
            v[&id]["lastFinished"]
                .as_str()
                .is_some_and(|t| t > "2026-11-27T15:05:00Z")
        })
        .await;
        clock.set("2026-11-27T15:20:00Z");
        until("the second retry", || {
            runner.runs.load(Ordering::SeqCst) == 3
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        clock.set("2026-11-27T15:40:00Z");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            runner.runs.load(Ordering::SeqCst),
            3,
            "retries: 2 means three attempts"
        );
        let _ = stop_tx.send(());
        serving.await.unwrap().unwrap();
    });
}

#[test]
fn sigterm_during_a_run_leaves_a_final_failed_state() {
    let lake = Lake::new();
    let endpoint = blackhole();
    let yaml = lake
        .config("bucketNames: [stuck]\n", "")
        .replace(&lake.endpoint(), &endpoint);
    let config = lake.dir.path().join("workflow.yaml");
    std::fs::write(&config, yaml).unwrap();
    let state = lake.dir.path().join("state.json");
    let health = free_addr();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_s3meta"))
        .args(["serve", "-c"])
        .arg(&config)
        .args([
            "--schedule",
            "0 0 1 1 *",
            "--run-at-start",
            "--grace-secs",
            "0",
            "--health-addr",
            &health,
        ])
        .arg("--state-file")
        .arg(&state)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut running = false;
    for _ in 0..200 {
        if get(&health).is_some_and(|b| b.contains("\"running\":[\"")) {
            running = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(running, "the run never started");
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let id = config.display().to_string();
    assert_eq!(state_of(&state, &id).as_deref(), Some("failed"));
}

/// Runs `serve` (a local job that is never due) with a health endpoint, hands its address to
/// `body` (plain blocking sockets), then stops it.
fn with_health_endpoint(body: impl FnOnce(&str) + Send + 'static) {
    let lake = Lake::new();
    let config = lake.dir.path().join("workflow.yaml");
    std::fs::write(&config, lake.config("", "")).unwrap();
    let mut job = job(config, 0);
    job.cron = Cron::parse("0 0 1 1 *").unwrap();
    let runner = Arc::new(job.clone());
    let mut o = opts(lake.dir.path().join("state.json"));
    o.health_addr = Some("127.0.0.1:0".parse().unwrap());
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    lake.block_on(async {
        let serving = tokio::spawn(serve(
            job,
            runner,
            ManualClock::new("2026-11-27T15:00:00Z"),
            o,
            async {
                let _ = stop_rx.await;
            },
            move |s| {
                let _ = addr_tx.send(s.health_addr.unwrap());
            },
        ));
        let addr = addr_rx.await.unwrap().to_string();
        // Plain blocking sockets, off the runtime's threads.
        tokio::task::spawn_blocking(move || body(&addr))
            .await
            .unwrap();
        let _ = stop_tx.send(());
        serving.await.unwrap().unwrap();
    });
}

/// Sends `request` and reads the whole answer (the endpoint closes every connection).
fn ask(addr: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_health_endpoint_answers_get_and_head_of_its_path_only() {
    with_health_endpoint(|addr| {
        let get = ask(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
        assert!(get.ends_with(",\"lastRefreshError\":null}"), "{get}");
        assert!(get.contains("{\"status\":\"ok\",\"running\":[]"), "{get}");
        // The job's next fire time: 0 0 1 1 * after 2026-11-27T15:00Z.
        assert!(
            get.contains("\"nextRuns\":{") && get.contains(":\"2027-01-01T00:00:00Z\"}"),
            "{get}"
        );
        let head = ask(addr, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head}");
        let post = ask(
            addr,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        assert!(post.contains("Allow: GET, HEAD\r\n"), "{post}");
        let other = ask(addr, "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(other.starts_with("HTTP/1.1 404 "), "{other}");
    });
}

#[test]
fn an_idle_health_connection_is_closed_after_the_header_timeout() {
    use std::io::Read;
    with_health_endpoint(|addr| {
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let started = std::time::Instant::now();
        let mut buf = [0u8; 64];
        // End of stream (0), not a read timeout: the server closed the connection.
        assert_eq!(idle.read(&mut buf).unwrap(), 0);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(4) && waited < Duration::from_secs(10),
            "{waited:?}"
        );
    });
}

#[test]
fn many_idle_health_connections_do_not_block_a_fresh_get() {
    use std::io::Read;
    with_health_endpoint(|addr| {
        // Twice the connection limit, all idle.
        let mut idle: Vec<std::net::TcpStream> = (0..128)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        // Those over the limit are closed at once.
        let mut closed_at_once = 0;
        for s in &mut idle {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            if matches!(s.read(&mut [0u8; 8]), Ok(0)) {
                closed_at_once += 1;
            }
        }
        assert!(closed_at_once >= 64, "{closed_at_once} closed at once");
        // The idle ones are dropped after the header timeout: a fresh GET is answered
        // well within it plus a margin, while every idle client is still connected.
        let started = std::time::Instant::now();
        let answered = loop {
            let a = ask(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            if a.starts_with("HTTP/1.1 200 OK") {
                break true;
            }
            if started.elapsed() > Duration::from_secs(10) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(answered, "no answer while idle connections are held");
        drop(idle);
    });
}

#[cfg(unix)]
#[test]
fn the_health_endpoint_survives_running_out_of_file_descriptors() {
    let lake = Lake::new();
    let config = lake.dir.path().join("workflow.yaml");
    std::fs::write(&config, lake.config("", "")).unwrap();
    let health = free_addr();
    // A low descriptor limit: the connections below exhaust it, and `accept` fails (EMFILE).
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 48 && exec '{}' serve -c '{}' --schedule '0 0 1 1 *' --health-addr {health}",
            env!("CARGO_BIN_EXE_s3meta"),
            config.display()
        ))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if get(&health).is_some_and(|b| b.contains("\"status\":\"ok\"")) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(up, "the endpoint never answered");
    let flood: Vec<std::net::TcpStream> = (0..100)
        .filter_map(|_| std::net::TcpStream::connect(&health).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    drop(flood);
    // Accept failed meanwhile; once the descriptors are back, the endpoint answers again.
    let started = std::time::Instant::now();
    let mut answered = false;
    while started.elapsed() < Duration::from_secs(15) {
        if get(&health).is_some_and(|b| b.starts_with("HTTP/1.1 200 OK")) {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(answered, "the endpoint stopped answering: {stderr}");
    assert!(
        stderr.contains("accept failed"),
        "no EMFILE was provoked: {stderr}"
    );
}
