//! `mosaico`: the one binary. Thin: each subcommand calls into the library crates.

// The binary is where errors and the demo's credentials meet the terminal.
#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mosaico_api::config::Config;
use mosaico_api::demo::{self, DemoSample};
use mosaico_api::sql_out::{self, Format};
use mosaico_api::{AppState, serve};
use mosaico_warehouse::{AsOf, Warehouse};

#[derive(Debug, Parser)]
#[command(name = "mosaico", version, about = "Welfare intelligence for municipal social services")]
struct Cli {
    /// Configuration file (default: ./mosaico.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Warehouse folder or URL (overrides the configuration).
    #[arg(long, global = true)]
    warehouse: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the sample on first run, load it, and serve the map.
    Demo {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Seed of the sample.
        #[arg(long, default_value_t = DemoSample::default().seed)]
        seed: u64,
        /// Persons in the sample.
        #[arg(long, default_value_t = DemoSample::default().persons)]
        persons: u64,
        /// Case files to seed in a new case database.
        #[arg(long, default_value_t = 300)]
        cases: usize,
    },
    /// Serve an already loaded warehouse.
    Serve {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Synthetic source files.
    Samples {
        #[command(subcommand)]
        command: SamplesCommand,
    },
    /// Set up the case database: ambiti, enti and users.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Load a generated sample (and the territory) into the warehouse.
    Load {
        /// The folder `mosaico samples generate` wrote.
        dir: PathBuf,
    },
    /// Validate a source file and load it into the warehouse: `mosaico ingest registry
    /// anagrafe.csv`, or `mosaico ingest all` for every source the configuration lists.
    ///
    /// Sources: territory (a folder with the NIL, Municipi and comuni GeoJSON), crosswalk,
    /// census, registry, isee, facilities, cases, interventions, and case_db (the case
    /// database's URL; the configured one if omitted; only what changed since the last
    /// run). Rows that fail a check go
    /// to the `quarantine` table with their line, column and reason; each run is recorded
    /// in `ingest_runs`.
    Ingest {
        /// The source, or `all`.
        source: String,
        /// The file (a folder for `territory`, a URL for `case_db`); not given with `all`.
        path: Option<PathBuf>,
        /// Check the file and report, without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// No progress bar or progress lines.
        #[arg(long)]
        quiet: bool,
    },
    /// Solve a location problem given as files: demand points (`id,lat,lon,weight`) and
    /// candidate sites (`id,lat,lon`), haversine distances in km. Prints the result as
    /// JSON (the sites by id, the objective and the bound on the optimum).
    Locate {
        /// Demand points CSV.
        #[arg(long)]
        demand: PathBuf,
        /// Candidate sites CSV.
        #[arg(long)]
        candidates: PathBuf,
        /// mclp, pmedian or lscp.
        #[arg(long, default_value = "mclp")]
        model: String,
        /// Sites to open (mclp, pmedian).
        #[arg(long, default_value_t = 1)]
        p: usize,
        /// Service radius in km (mclp, lscp); for pmedian, the farthest distance kept.
        /// With --costs, in the costs' unit.
        #[arg(long, default_value_t = 3.0)]
        radius_km: f64,
        /// Costs instead of haversine distances: `demand_id,site_id,cost` for the pairs
        /// that can be travelled (a network distance matrix, for example).
        #[arg(long)]
        costs: Option<PathBuf>,
        /// Write the JSON here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a SQL query on the warehouse.
    Sql {
        /// The query.
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Read the tables as they were: a version (`3`), per table (`population=3`)
        /// or a time (`2026-11-22T10:00:00Z`).
        #[arg(long)]
        as_of: Option<String>,
        /// Run the query this many times in the same session and print the times to
        /// standard error (the engine's time, without start-up; for benchmarks).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
        repeat: u32,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create or rename an ambito and its member enti.
    AddAmbito {
        /// Ambito code, e.g. `MI`.
        code: String,
        /// Ambito name.
        name: String,
        /// A member ente as `ISTAT=Name` (repeat), e.g. `015146=Milano`.
        #[arg(long = "ente", required = true)]
        enti: Vec<String>,
    },
    /// Create a user. The password comes from MOSAICO_NEW_PASSWORD, or the first line of
    /// standard input.
    AddUser {
        /// Login name.
        username: String,
        /// Full name, as pages show it.
        #[arg(long)]
        name: String,
        /// social_worker, coordinator, back_office, facility_operator, manager, planner,
        /// statistician or admin.
        #[arg(long)]
        role: String,
        /// The ente (ISTAT code) the user works for.
        #[arg(long, conflicts_with = "ambito", required_unless_present = "ambito")]
        ente: Option<String>,
        /// Or the ambito, for a user who sees all its enti.
        #[arg(long)]
        ambito: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SamplesCommand {
    /// Write a deterministic synthetic Milan: registry, ISEE, facilities, cases, interventions.
    Generate {
        /// Seed: the same seed gives the same files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Persons in the registry.
        #[arg(long)]
        persons: u64,
        /// Intervention rows to aim for (default: five per person).
        #[arg(long)]
        interventions: Option<u64>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(cli.command, Command::Sql { .. } | Command::Locate { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOSAICO_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info,deltalake_core=warn,buoyant_kernel=warn" })
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
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
            eprintln!("error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(w) = cli.warehouse {
        cfg.warehouse = Some(w);
    }
    match cli.command {
        Command::Locate { demand, candidates, model, p, radius_km, costs, out } => {
            let json = mosaico_api::locate_files::solve(&demand, &candidates, costs.as_deref(), &model, p, radius_km)?;
            let text = serde_json::to_string_pretty(&json)?;
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        Command::Demo { port, seed, persons, cases } => {
            let started = std::time::Instant::now();
            let wh = demo::prepare(&cfg, DemoSample { seed, persons }).await?;
            let store = demo::prepare_cases(&cfg, seed, cases).await?.with_copay_rules(cfg.copay_rules()?);
            print_demo_users();
            let secure = cfg.secure_cookies.unwrap_or(false);
            let state = AppState::open_with(&wh, cfg.suppression_threshold, std::sync::Arc::new(cfg.catalogue()?))
                .await?
                .with_cases(mosaico_case_app::CaseState { store, secure_cookies: secure })
                .with_sql_limits(cfg.sql.limits());
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready: open http://127.0.0.1:{port}/");
            serve(state, SocketAddr::from(([127, 0, 0, 1], port))).await.context("serving")?;
        }
        Command::Serve { port } => {
            let wh = Warehouse::open(&cfg.warehouse_location())?;
            std::fs::create_dir_all(&cfg.data_dir).with_context(|| cfg.data_dir.display().to_string())?;
            let store = mosaico_case_app::Store::open(&cfg.case_database_url())
                .await
                .context("opening the case database")?
                .with_copay_rules(cfg.copay_rules()?);
            let secure = cfg.secure_cookies.unwrap_or(true);
            let state = AppState::open_with(&wh, cfg.suppression_threshold, std::sync::Arc::new(cfg.catalogue()?))
                .await?
                .with_cases(mosaico_case_app::CaseState { store, secure_cookies: secure })
                .with_sql_limits(cfg.sql.limits());
            serve(state, SocketAddr::from(([127, 0, 0, 1], port))).await.context("serving")?;
        }
        Command::Samples { command: SamplesCommand::Generate { seed, persons, interventions, out } } => {
            let opts =
                mosaico_ingest::samples::Options { seed, persons, interventions, reference: cfg.reference_dir(), out };
            let summary = tokio::task::spawn_blocking(move || mosaico_ingest::samples::generate(&opts)).await??;
            tracing::info!("{}", serde_json::to_string(&summary)?);
        }
        Command::Admin { command } => admin(&cfg, command).await?,
        Command::Load { dir } => {
            let wh = Warehouse::open(&cfg.warehouse_location())?;
            let loaded = demo::load(&cfg, &wh, &dir).await?;
            println!("{}", loaded.territory);
            for s in &loaded.sources {
                println!("{s}");
            }
        }
        Command::Ingest { source, path, dry_run, quiet } => {
            let wh = Warehouse::open(&cfg.warehouse_location())?;
            let progress = if quiet {
                mosaico_ingest::pipeline::ProgressMode::Off
            } else {
                mosaico_ingest::pipeline::ProgressMode::Auto
            };
            let opts = mosaico_ingest::pipeline::Options { dry_run, progress };
            let items = match (source.as_str(), path) {
                ("all", None) => cfg.ingest_sources()?,
                ("all", Some(p)) => {
                    anyhow::bail!("'ingest all' reads the paths from the configuration; got {}", p.display())
                }
                ("case_db", None) => vec![(source.clone(), PathBuf::from(cfg.case_database_url()))],
                (_, None) => anyhow::bail!("give the file to ingest: mosaico ingest {source} <path>"),
                (_, Some(p)) => vec![(source.clone(), p)],
            };
            let summaries = mosaico_api::ingest::run(&cfg, &wh, &items, opts).await?;
            let mut failed = 0;
            for s in &summaries {
                println!("{s}");
                if s.status == mosaico_ingest::pipeline::Status::Failed {
                    failed += 1;
                }
            }
            if failed > 0 {
                anyhow::bail!(
                    "{failed} source(s) had no row that passed the checks; their tables keep the previous version"
                );
            }
        }
        Command::Sql { query, format, out, as_of, repeat } => {
            let wh = Warehouse::open(&cfg.warehouse_location())?;
            let as_of = as_of.as_deref().map(AsOf::parse).transpose()?.unwrap_or_default();
            // Only the tables the query names are opened, and the views (which join
            // several) only when it names them.
            let ctx = wh.session_on_demand(&as_of).await?;
            let catalogue = std::sync::Arc::new(cfg.catalogue()?);
            if mosaico_analytics::views::named_in(&query) {
                mosaico_analytics::register(&ctx, catalogue, cfg.suppression_threshold).await?;
            } else {
                mosaico_analytics::register_functions(&ctx, catalogue, cfg.suppression_threshold);
            }
            let mut times = Vec::with_capacity(repeat as usize);
            let mut batches = Vec::new();
            for _ in 0..repeat {
                let started = std::time::Instant::now();
                let run = async { ctx.sql(&query).await?.collect().await };
                batches = run.await.map_err(mosaico_warehouse::Error::from_query)?;
                times.push(started.elapsed().as_secs_f64() * 1e3);
            }
            if repeat > 1 {
                times.sort_by(f64::total_cmp);
                eprintln!(
                    "{repeat} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
                    times[0],
                    times[times.len() / 2],
                    times[times.len() - 1]
                );
            }
            match out {
                Some(path) => {
                    let mut f = std::io::BufWriter::new(
                        std::fs::File::create(&path).with_context(|| path.display().to_string())?,
                    );
                    sql_out::write(&batches, format, &mut f)?;
                    std::io::Write::flush(&mut f)?;
                }
                None => {
                    if matches!(format, Format::Parquet | Format::Xlsx | Format::Arrow)
                        && std::io::stdout().is_terminal()
                    {
                        anyhow::bail!("{format:?} is binary: give --out FILE or redirect standard output");
                    }
                    let mut stdout = std::io::stdout();
                    sql_out::write(&batches, format, &mut stdout)?;
                }
            }
        }
    }
    Ok(())
}

async fn admin(cfg: &Config, command: AdminCommand) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| cfg.data_dir.display().to_string())?;
    let store = mosaico_case_app::Store::open(&cfg.case_database_url()).await.context("opening the case database")?;
    match command {
        AdminCommand::AddAmbito { code, name, enti } => {
            let mut pairs = Vec::new();
            for e in &enti {
                let Some((istat, ente_name)) = e.split_once('=') else {
                    anyhow::bail!("--ente '{e}': expected ISTAT=Name, e.g. 015146=Milano");
                };
                let istat = mosaico_domain::IstatCode::parse(istat)?;
                pairs.push((istat.as_str().to_owned(), ente_name.trim().to_owned()));
            }
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            store.upsert_ambito(&code, &name, &refs).await?;
            println!("ambito {code} ({name}): {} enti", refs.len());
        }
        AdminCommand::AddUser { username, name, role, ente, ambito } => {
            let role = mosaico_case_app::Role::parse(&role).with_context(|| {
                let all: Vec<&str> = mosaico_case_app::Role::ALL.iter().map(|r| r.code()).collect();
                format!("--role '{role}': expected one of {}", all.join(", "))
            })?;
            let password = match std::env::var("MOSAICO_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let scope = match (&ente, &ambito) {
                (Some(e), _) => Ok(e.as_str()),
                (None, Some(a)) => Err(a.as_str()),
                (None, None) => anyhow::bail!("give --ente or --ambito"),
            };
            let id = store.create_user(&username, &name, role, scope, &password).await?;
            println!("user {username} (id {id}, {})", role.code());
        }
    }
    store.close().await;
    Ok(())
}

/// The demo users and their password, on standard output.
fn print_demo_users() {
    use mosaico_case_app::seed::{DEMO_PASSWORD, DEMO_USERS};
    println!("\nDemo users (password for all: {DEMO_PASSWORD}) — sign in at /app/login");
    for (user, name, role, ente) in DEMO_USERS {
        println!("  {user:<18} {:<18} {name} [{}]", role.code(), ente.unwrap_or("ambito"));
    }
    println!("Demo citizens (same password) — sign in at /citizen/login with the fiscal code");
    for a in mosaico_case_app::seed::DEMO_APPLICANTS {
        let what = if a.resident { "resident" } else { "not resident" };
        println!("  {:<18} {} {} [{what}]", a.fiscal_code, a.given_name, a.surname);
    }
    println!();
}

/// The error and its causes, skipping causes whose text the message already holds
/// (DataFusion repeats its inner message).
fn report(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}
