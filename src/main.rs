//! The `s3meta` command line: parse, call the library, map the outcome to an exit code.

#![warn(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use s3meta::config::{self, LogLevel};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `--version` prints: what a bug report needs.
macro_rules! long_version {
    ($features:literal) => {
        concat!(
            env!("CARGO_PKG_VERSION"),
            "\ncommit:   ",
            env!("S3META_COMMIT"),
            "\ntarget:   ",
            env!("S3META_TARGET"),
            "\nprofile:  ",
            env!("S3META_PROFILE"),
            "\nfeatures: ",
            $features,
            "\nreplaces: openmetadata-ingestion 2.0.7 (source.type: s3)"
        )
    };
}
#[cfg(feature = "quickstart")]
const LONG_VERSION: &str = long_version!("quickstart");
#[cfg(not(feature = "quickstart"))]
const LONG_VERSION: &str = long_version!("none");

/// A fast drop-in replacement for OpenMetadata's S3 storage connector.
#[derive(Debug, Parser)]
#[command(name = "s3meta", version, long_version = LONG_VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest S3 buckets into Container entities, as `metadata ingest -c FILE` does.
    Ingest {
        /// The workflow file (YAML, or JSON when it ends in .json).
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Ingest only this worker's share of the buckets: `I/N` (0-based), for running N
        /// workers in parallel. Stale-marking then covers only this shard's buckets.
        #[arg(long)]
        shard: Option<config::Shard>,
        /// Read and infer everything, write nothing: no catalog file, no PUT, PATCH or
        /// DELETE to the server. The summary lists what would be written and marked deleted.
        #[arg(long)]
        dry_run: bool,
        /// Re-send every container to OpenMetadata, even those the server already holds
        /// unchanged (by default an unchanged container is not sent again).
        #[arg(long)]
        full: bool,
    },
    /// Check a workflow file without touching AWS or OpenMetadata.
    Validate {
        /// The workflow file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Serve a sample lake on an embedded S3 server and ingest it into a local catalog.
    Quickstart {
        /// Keep the embedded S3 server running after the ingest (until Ctrl-C), to try
        /// `test-connection`, `plan` or your own manifests against the sample lake.
        #[arg(long)]
        serve: bool,
        /// Its loopback port with `--serve`.
        #[arg(long, default_value_t = s3meta::quickstart::SERVE_PORT, requires = "serve")]
        port: u16,
    },
    /// Check each permission a run needs, one step at a time; exits 0 only when every
    /// mandatory step passed.
    TestConnection {
        /// The workflow file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Print the result as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Run a pipeline configured in the OpenMetadata UI, reporting its status to the server.
    Run {
        /// The IngestionPipeline's fully qualified name.
        #[arg(long)]
        pipeline: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Ingest only this worker's share of the buckets: `I/N`.
        #[arg(long)]
        shard: Option<config::Shard>,
    },
    /// Run pipelines on their schedules until SIGTERM.
    ///
    /// Without `-c`, schedules the S3 metadata pipelines configured on the OpenMetadata server
    /// (or those named by `--pipeline`), by their `airflowConfig`. With `-c FILE --schedule
    /// CRON`, runs a local workflow file on a cron schedule instead.
    Serve(ServeArgs),
    /// Manifests: `suggest` writes the `openmetadata.json` discovery proposes for each bucket.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Show what a run would create, and every key it would leave out with the reason,
    /// from listings and manifests only: no sample is read, nothing is written.
    Plan {
        /// The workflow file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Print the plan as one JSON document.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ManifestCommand {
    /// Discover each bucket's datasets from its listing and write the manifest describing
    /// them: `<DIR>/<bucket>/openmetadata.json` with `--out`, stdout otherwise.
    Suggest {
        /// The workflow file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Only this bucket.
        #[arg(long)]
        bucket: Option<String>,
        /// Directory to write `<bucket>/openmetadata.json` files under.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print (on stderr) which keys made each entry and why keys were left out.
        #[arg(long)]
        explain: bool,
        /// Also suggest `unstructuredFormats` entries for folders of files of no structured
        /// format.
        #[arg(long)]
        unstructured: bool,
    },
}

/// Where the OpenMetadata server is.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// The server's API URL, e.g. http://localhost:8585/api.
    #[arg(long, env = "OPENMETADATA_HOST_PORT")]
    host_port: Option<String>,
    /// The ingestion bot's JWT, or a path to a file holding it.
    #[arg(long, env = "OPENMETADATA_JWT_TOKEN", hide_env_values = true)]
    jwt_token: Option<String>,
}

impl ServerArgs {
    fn access(&self) -> anyhow::Result<s3meta::serve::pipeline::ServerAccess> {
        let host_port = self
            .host_port
            .clone()
            .context("the OpenMetadata server is needed: --host-port or OPENMETADATA_HOST_PORT")?;
        let token = self.jwt_token.clone().context(
            "the ingestion bot's token is needed: --jwt-token or OPENMETADATA_JWT_TOKEN",
        )?;
        if !host_port.trim_end_matches('/').ends_with("/api") {
            anyhow::bail!("--host-port must be the server's API URL ending in /api, e.g. http://localhost:8585/api, found `{host_port}`");
        }
        Ok(s3meta::serve::pipeline::ServerAccess {
            host_port,
            jwt_token: config::Secret::new(token),
        })
    }
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Only these pipelines (FQNs), instead of every S3 metadata pipeline of the server.
    #[arg(long = "pipeline")]
    pipelines: Vec<String>,
    /// A local workflow file to run on `--schedule`.
    #[arg(short = 'c', long = "config", requires = "schedule")]
    config: Option<PathBuf>,
    /// Cron expression (5 fields, or @hourly/@daily/@weekly/@monthly/@yearly).
    #[arg(long)]
    schedule: Option<String>,
    /// Time zone of the schedule (IANA name).
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Extra attempts after a failed run.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// Seconds to wait before a retry.
    #[arg(long, default_value_t = 300)]
    retry_delay_secs: u64,
    /// JSON file keeping each pipeline's last run across restarts.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Loopback address of the health endpoint, e.g. 127.0.0.1:8686.
    #[arg(long)]
    health_addr: Option<std::net::SocketAddr>,
    /// Seconds between refreshes of the pipeline list.
    #[arg(long, default_value_t = 60)]
    refresh_secs: u64,
    /// Seconds runs in flight may take to finish after SIGTERM before they are reported failed.
    #[arg(long, default_value_t = 600)]
    grace_secs: u64,
    /// Also run every pipeline once at start.
    #[arg(long)]
    run_at_start: bool,
}

/// Exit code of a failed run or an initialisation error (reference §10).
const EXIT_FAILED: u8 = 1;

fn init_logging(level: LogLevel) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("warn,s3meta={}", level.directive()))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(s3meta::terminal::stderr_colour())
        .with_writer(s3meta::progress::stderr)
        .with_target(false)
        .try_init();
}

fn load(path: &std::path::Path, overrides: config::Overrides) -> anyhow::Result<config::Validated> {
    let raw = config::load_file(path)?;
    Ok(raw
        .validate_with(overrides)
        .map_err(config::ConfigError::from)?)
}

/// A signal that stops `ingest` before its run finishes.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal's number, as a shell reports a process the signal killed.
    fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers at once and returns the wait for either.
/// Handling them (instead of dying of them) lets the run be dropped, so that its sink cleans
/// up after itself. Installed eagerly, not on the future's first poll: a run polled first
/// can go far (up to its first written line) before it ever yields.
fn stop_signal() -> impl std::future::Future<Output = Stop> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            // A handler that could not be installed leaves its signal's default effect.
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => Stop::Terminate,
                _ = wait(int) => Stop::Interrupt,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Stop::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// The exit code of a finished run: the decision itself is [`s3meta::status::RunStatus::fails`].
fn exit_code(failed: bool) -> u8 {
    if failed {
        EXIT_FAILED
    } else {
        0
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate { config } => {
            load(&config, config::Overrides::default())?;
            println!("{}: valid", config.display());
            Ok(0)
        }
        Command::Ingest {
            config,
            shard,
            dry_run,
            full,
        } => {
            let v = load(
                &config,
                config::Overrides {
                    shard,
                    dry_run,
                    full,
                },
            )?;
            init_logging(v.logger_level);
            let rules = v.rules;
            let catalog = match &v.sink {
                config::SinkKind::File { path } if !v.dry_run => Some(path.clone()),
                _ => None,
            };
            let rt = runtime()?;
            let outcome = rt.block_on(async {
                let stop = stop_signal();
                tokio::select! {
                    biased;
                    stop = stop => Err(stop),
                    status = s3meta::workflow::run_ingest(v) => Ok(status),
                }
            });
            match outcome {
                Ok(status) => {
                    let status = status?;
                    print!("{}", status.summary());
                    if let Some(path) = catalog {
                        println!("Catalog written to {path}");
                    }
                    Ok(exit_code(status.fails(rules)))
                }
                Err(stop) => {
                    // The run was dropped with the `select!`: a file sink removed its partial
                    // catalog then, and the previous catalog is untouched. Blocking work still
                    // in flight (a decompression) is abandoned, not awaited.
                    rt.shutdown_background();
                    eprintln!("s3meta: stopped by {}, the run did not finish", stop.name());
                    Ok(stop.exit_code())
                }
            }
        }
        Command::Quickstart { serve, port } => {
            init_logging(LogLevel::Warn);
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            let opts = s3meta::quickstart::Options {
                serve,
                port: if serve { port } else { 0 },
            };
            let rt = runtime()?;
            let q = rt.block_on(s3meta::quickstart::run(&cwd, opts))?;
            let rel = q.catalog.strip_prefix(&cwd).unwrap_or(&q.catalog);
            print!("{}", q.status.summary());
            println!("Catalog written to {}", rel.display());
            print!("{}", q.next_steps(&cwd));
            let code = exit_code(q.status.fails(q.rules));
            if q.server.is_some() {
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                rt.block_on(tokio::signal::ctrl_c())
                    .context("cannot wait for Ctrl-C")?;
            }
            drop(q);
            Ok(code)
        }
        Command::TestConnection { config, json } => {
            let v = load(&config, config::Overrides::default())?;
            init_logging(v.logger_level);
            let report = runtime()?.block_on(s3meta::testconn::run(&v));
            if json {
                println!("{}", report.json());
            } else {
                print!("{}", report.table(s3meta::terminal::width()));
            }
            Ok(exit_code(!report.passed))
        }
        Command::Run {
            pipeline,
            server,
            shard,
        } => {
            init_logging(LogLevel::Info);
            let client = s3meta::serve::pipeline::PipelineClient::new(server.access()?)?;
            let run_id = uuid::Uuid::new_v4().to_string();
            let run = runtime()?
                .block_on(s3meta::serve::pipeline::run_pipeline(
                    &client, &pipeline, &run_id, shard,
                ))
                // The message alone, as `run` has always printed it.
                .map_err(|e| anyhow::Error::msg(e.to_string()))?;
            print!("{}", run.status.summary());
            Ok(exit_code(run.status.fails(run.rules)))
        }
        Command::Serve(args) => serve(args),
        Command::Manifest(ManifestCommand::Suggest {
            config,
            bucket,
            out,
            explain,
            unstructured,
        }) => {
            let v = load(&config, config::Overrides::default())?;
            init_logging(v.logger_level);
            let opts = s3meta::autodiscover::suggest::Options { unstructured };
            let found =
                runtime()?.block_on(s3meta::plan_report::suggest(&v, bucket.as_deref(), opts))?;
            let many = found.len() > 1;
            let mut by_bucket = serde_json::Map::new();
            for s in found {
                if explain {
                    eprint!("{}", s.explanation);
                }
                match &out {
                    Some(dir) => {
                        let d = dir.join(&s.bucket);
                        std::fs::create_dir_all(&d)
                            .with_context(|| format!("cannot create {}", d.display()))?;
                        let path = d.join(config::MANIFEST_FILE);
                        std::fs::write(&path, &s.manifest)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        println!("{}", path.display());
                    }
                    // Several buckets on stdout: one JSON object, bucket → manifest.
                    None if many => {
                        let m: serde_json::Value = serde_json::from_str(&s.manifest)?;
                        by_bucket.insert(s.bucket, m);
                    }
                    None => print!("{}", s.manifest),
                }
            }
            if !by_bucket.is_empty() {
                println!("{}", serde_json::to_string_pretty(&by_bucket)?);
            }
            Ok(0)
        }
        Command::Plan { config, json } => {
            let v = load(&config, config::Overrides::default())?;
            init_logging(v.logger_level);
            let plans = runtime()?.block_on(s3meta::plan_report::plan(&v))?;
            if json {
                println!("{}", s3meta::plan_report::json(&plans));
            } else {
                print!("{}", s3meta::plan_report::text(&plans));
            }
            Ok(0)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    use s3meta::serve::cron::Cron;
    use s3meta::serve::{self, ServeOptions, SystemClock};
    let opts = ServeOptions {
        state_file: args.state_file.clone(),
        health_addr: args.health_addr,
        refresh: std::time::Duration::from_secs(args.refresh_secs.max(1)),
        grace: std::time::Duration::from_secs(args.grace_secs),
        run_at_start: args.run_at_start,
    };
    let announce = |started: serve::Started| {
        if let Some(a) = started.health_addr {
            eprintln!("s3meta serve: health endpoint on http://{a}/");
        }
    };
    let Some(config) = args.config else {
        // The pipelines configured on the OpenMetadata server.
        init_logging(LogLevel::Info);
        let client = s3meta::serve::pipeline::PipelineClient::new(args.server.access()?)?;
        let jobs = s3meta::serve::pipeline::ServerJobs::new(client.clone(), args.pipelines);
        let runner = std::sync::Arc::new(s3meta::serve::pipeline::ServerRunner::new(client));
        runtime()?.block_on(serve::serve(
            jobs,
            runner,
            std::sync::Arc::new(SystemClock),
            opts,
            serve::shutdown_signal(),
            announce,
        ))?;
        return Ok(0);
    };
    let schedule = args.schedule.unwrap_or_default();
    let v = load(&config, config::Overrides::default())?;
    init_logging(v.logger_level);
    let job = s3meta::serve::local_job::LocalJob {
        config,
        cron: Cron::parse(&schedule)?,
        tz: jiff::tz::TimeZone::get(&args.timezone)
            .with_context(|| format!("unknown time zone `{}`", args.timezone))?,
        retries: args.retries,
        retry_delay: std::time::Duration::from_secs(args.retry_delay_secs),
    };
    let runner = std::sync::Arc::new(job.clone());
    runtime()?.block_on(serve::serve(
        job,
        runner,
        std::sync::Arc::new(SystemClock),
        opts,
        serve::shutdown_signal(),
        announce,
    ))?;
    Ok(0)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!(
                "error: {}",
                s3meta::explain::chain(e.chain().map(|c| c.to_string()))
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}
