//! `mosaico-cluster`: Mosaico's warehouse on a Ballista cluster. One scheduler, any
//! number of executors (each with the H3 functions), and a SQL client that reads the
//! Delta logs and sends the executors the Parquet files to scan.
//!
//! ```sh
//! mosaico-cluster scheduler --bind 127.0.0.1 --port 50050
//! mosaico-cluster executor --scheduler-port 50050 --port 50051 --grpc-port 50052
//! mosaico-cluster sql --scheduler df://127.0.0.1:50050 --warehouse data/warehouse "select count(*) from population"
//! ```

// The binary reports errors on standard error itself.
#![allow(clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use mosaico_distributed::{ExecutorOptions, SchedulerOptions};
use mosaico_warehouse::datafusion::arrow;
use mosaico_warehouse::{AsOf, Warehouse};

#[derive(Debug, Parser)]
#[command(name = "mosaico-cluster", version, about = "Mosaico's warehouse queried through Ballista")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a Ballista scheduler (gRPC for clients and executors; `GET /readyz` on the
    /// same port tells how many executors are registered).
    Scheduler {
        /// The address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The port.
        #[arg(long, default_value_t = 50050)]
        port: u16,
    },
    /// Runs a Ballista executor with Mosaico's H3 functions.
    Executor {
        /// The address to bind and register under.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The scheduler's host.
        #[arg(long, default_value = "127.0.0.1")]
        scheduler_host: String,
        /// The scheduler's port.
        #[arg(long, default_value_t = 50050)]
        scheduler_port: u16,
        /// The Arrow Flight port (shuffle data and results).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The gRPC port the scheduler pushes tasks to.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks at once (0: one per core).
        #[arg(long, default_value_t = 0)]
        concurrency: usize,
        /// Where shuffle files go (default: a temporary folder removed on exit).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Seconds to wait for the scheduler to accept connections.
        #[arg(long, default_value_t = 30)]
        connect_timeout: u64,
    },
    /// Runs one query on the cluster over the warehouse's tables.
    Sql {
        /// The scheduler, as `df://host:port`.
        #[arg(long, default_value = "df://127.0.0.1:50050")]
        scheduler: String,
        /// The warehouse (a folder; every node must reach its files at the same path).
        #[arg(long, env = "MOSAICO_WAREHOUSE")]
        warehouse: String,
        /// Read the tables as of a version (`3`), versions per table
        /// (`population=3,cases=1`) or a time (`2026-11-22T10:00:00Z`).
        #[arg(long)]
        as_of: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// The query.
        query: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(cli.command, Command::Sql { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOSAICO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info" }));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    // Ballista logs through `log`: forward it to the subscriber (unless its own
    // `tracing-log` feature, when some crate turns it on, already did).
    let _ = tracing_log::LogTracer::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Scheduler { bind, port } => {
            mosaico_distributed::run_scheduler(&SchedulerOptions { bind, port }).await?;
        }
        Command::Executor {
            bind,
            scheduler_host,
            scheduler_port,
            port,
            grpc_port,
            concurrency,
            work_dir,
            connect_timeout,
        } => {
            // A folder of our own unless one is given, kept until the executor ends.
            let (work_dir, _temp) = match work_dir {
                Some(dir) => (dir, None),
                None => {
                    let temp = tempfile::tempdir().context("creating the executor's work folder")?;
                    (temp.path().to_owned(), Some(temp))
                }
            };
            let opts = ExecutorOptions {
                bind,
                port,
                grpc_port,
                scheduler_host,
                scheduler_port,
                concurrency,
                work_dir,
                connect_timeout: Duration::from_secs(connect_timeout),
            };
            mosaico_distributed::run_executor(&opts).await?;
        }
        Command::Sql { scheduler, warehouse, as_of, format, query } => {
            let as_of = match as_of {
                Some(s) => AsOf::parse(&s)?,
                None => AsOf::Latest,
            };
            let wh = Warehouse::open(&warehouse)?;
            let ctx = mosaico_distributed::connect(&scheduler, &wh, &as_of).await?;
            let batches = ctx
                .sql(&query)
                .await?
                .collect()
                .await
                .with_context(|| format!("running the query on the cluster of the scheduler {scheduler}"))?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Table => writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&batches)?)?,
                Format::Csv => {
                    let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
                    for b in &batches {
                        w.write(b)?;
                    }
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}
