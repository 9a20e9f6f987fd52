//! Mosaico's warehouse queried through Ballista: a scheduler, executors that know the
//! H3 functions, and a client that turns the Delta tables into Parquet file lists.
//!
//! ```text
//!  client ([`connect`], `mosaico-cluster sql`)
//!    Warehouse::table_files(AsOf) ── reads each table's Delta log ──▶ ListingTable per table
//!    SQL ─▶ logical plan (tables as file lists, h3_* by name) ──gRPC──▶ scheduler ([`run_scheduler`])
//!                                                                       │ physical plan, stages
//!                                                                       ▼ tasks (round robin)
//!                                          executors ([`run_executor`], H3 functions registered)
//!                                            read the Parquet files, shuffle through their work dirs
//!    RecordBatches ◀──────────────── Arrow Flight ◀─────────────── the final stage's partitions
//! ```
//!
//! The executors never see the Delta log. Ballista ships plans between processes with
//! DataFusion's protobuf codec, which cannot carry deltalake's scan (and deltalake has
//! no physical codec for it), so the client resolves each table's version as
//! [`Warehouse::session`] would (the same [`AsOf`], the same pins while a load runs),
//! and registers a DataFusion `ListingTable` over exactly that version's files with
//! the schema the embedded engine gives the table. The scheduler lists nothing: the
//! files are named in the plan, so a load committed while a query runs is not seen
//! half-way. Every process must reach the files at the same path (one machine, or a
//! shared filesystem).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mosaico_distributed::Error> {
//! use mosaico_warehouse::{AsOf, Warehouse};
//! let wh = Warehouse::open("data/warehouse")?;
//! let ctx = mosaico_distributed::connect("df://127.0.0.1:50050", &wh, &AsOf::Latest).await?;
//! let batches = ctx.sql("select municipio, count(*) from population group by 1").await?.collect().await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista::prelude::SessionContextExt;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::error::BallistaError;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use mosaico_warehouse::{AsOf, TableFiles, Warehouse, h3};

/// What went wrong starting a node or running a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The warehouse could not be read.
    #[error(transparent)]
    Warehouse(#[from] mosaico_warehouse::Error),
    /// DataFusion refused the query or failed running it (on the cluster, the
    /// executor's error comes back here).
    #[error(transparent)]
    Query(#[from] DataFusionError),
    /// A scheduler or executor failed.
    #[error("ballista: {0}")]
    Ballista(#[from] BallistaError),
    /// A host and port that do not make a socket address.
    #[error("'{0}' is not a host:port address (for example 127.0.0.1:50050)")]
    Address(String),
    /// The scheduler did not accept connections in time.
    #[error("no scheduler is listening at {address} after {seconds} s; start it first (`mosaico-cluster scheduler`)")]
    NoScheduler {
        /// Where it was looked for.
        address: String,
        /// How long.
        seconds: u64,
    },
    /// A local folder could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// The address to bind, also the one executors are told to call back.
    pub bind: String,
    /// The gRPC port (clients and executors), which also answers `GET /readyz`
    /// with the number of executors registered.
    pub port: u16,
}

/// An executor: where it listens, which scheduler it joins, how many tasks it runs
/// at once.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The address to bind, also the one it registers under.
    pub bind: String,
    /// The Arrow Flight port (shuffle partitions and results are fetched here).
    pub port: u16,
    /// The gRPC port the scheduler pushes tasks to.
    pub grpc_port: u16,
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// Tasks run at once (0: one per core).
    pub concurrency: usize,
    /// Where shuffle files go; the caller keeps it for the executor's lifetime.
    pub work_dir: PathBuf,
    /// How long to wait for the scheduler to accept connections.
    pub connect_timeout: Duration,
}

fn socket_address(host: &str, port: u16) -> Result<SocketAddr> {
    let text = format!("{host}:{port}");
    text.parse().map_err(|_| Error::Address(text))
}

/// The scalar functions of every node: DataFusion's and Mosaico's H3 functions.
/// Plans carry functions by name, so the client, the scheduler (which decodes the
/// logical plan) and the executors (which run the physical one) all need them.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in h3::functions() {
        registry.scalar_functions.insert(f.name().to_owned(), Arc::new(f));
    }
    registry
}

/// The scheduler's sessions: Ballista's defaults plus the H3 functions.
fn scheduler_session(config: SessionConfig) -> datafusion::common::Result<SessionState> {
    use datafusion::execution::FunctionRegistry;
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for f in h3::functions() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

/// Runs a scheduler until the process ends. Tasks are pushed to executors round
/// robin, so a query's partitions spread over all of them.
pub async fn run_scheduler(opts: &SchedulerOptions) -> Result<()> {
    let address = socket_address(&opts.bind, opts.port)?;
    let config = SchedulerConfig {
        bind_host: opts.bind.clone(),
        external_host: opts.bind.clone(),
        bind_port: opts.port,
        scheduling_policy: TaskSchedulingPolicy::PushStaged,
        task_distribution: TaskDistributionPolicy::RoundRobin,
        ..SchedulerConfig::default()
    }
    .with_override_session_builder(Arc::new(scheduler_session));
    let cluster = BallistaCluster::new_from_config(&config).await?;
    tracing::info!(%address, "scheduler listening");
    start_server(cluster, address, Arc::new(config)).await?;
    Ok(())
}

/// Runs an executor until the process ends (or the scheduler stops it).
pub async fn run_executor(opts: &ExecutorOptions) -> Result<()> {
    socket_address(&opts.bind, opts.port)?;
    let scheduler = socket_address(&opts.scheduler_host, opts.scheduler_port)?;
    std::fs::create_dir_all(&opts.work_dir).map_err(|source| Error::Io { path: opts.work_dir.clone(), source })?;
    wait_for(scheduler, opts.connect_timeout).await?;
    let config = ExecutorProcessConfig {
        bind_host: opts.bind.clone(),
        external_host: Some(opts.bind.clone()),
        port: opts.port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler_host.clone(),
        scheduler_port: opts.scheduler_port,
        vcores: opts.concurrency,
        task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
        work_dir: Some(opts.work_dir.display().to_string()),
        print_thread_info: false,
        override_function_registry: Some(Arc::new(function_registry())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

/// Waits until something accepts connections at `address`.
async fn wait_for(address: SocketAddr, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(Error::NoScheduler { address: address.to_string(), seconds: timeout.as_secs() });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A session whose queries run on the cluster behind `scheduler` (`df://host:port`),
/// with every table of the warehouse (as of `as_of`) and the H3 functions, under the
/// same names and the same default catalog as [`Warehouse::session`].
pub async fn connect(scheduler: &str, warehouse: &Warehouse, as_of: &AsOf) -> Result<SessionContext> {
    let config = SessionConfig::new_with_ballista()
        .with_information_schema(true)
        .with_default_catalog_and_schema("mosaico", "public");
    let state = SessionStateBuilder::new().with_default_features().with_config(config).build();
    let ctx = SessionContext::remote_with_state(scheduler, state).await?;
    // After the upgrade to Ballista, which resets the session's function list.
    for f in h3::functions() {
        ctx.register_udf(f);
    }
    for table in warehouse.table_files(as_of).await? {
        let provider = provider(&table)?;
        ctx.register_table(table.name.as_str(), provider)?;
    }
    Ok(ctx)
}

/// A table over exactly the files of one Delta version. The schema is the embedded
/// engine's, so columns have the same types (H3 cells, written as UInt64, read as the
/// Delta `long` the log declares), with strings as `Utf8` rather than `Utf8View`:
/// Ballista turns view types off for Arrow Flight, and the values are the same.
fn provider(table: &TableFiles) -> Result<Arc<dyn TableProvider>> {
    let plain = TableFiles { schema: without_views(&table.schema), ..table.clone() };
    Ok(mosaico_warehouse::listing_provider(&plain)?)
}

/// The schema with view types (`Utf8View`, `BinaryView`) as their plain forms.
pub fn without_views(schema: &Schema) -> SchemaRef {
    fn plain(t: &DataType) -> DataType {
        match t {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            DataType::List(f) => DataType::List(Arc::new(field(f))),
            DataType::LargeList(f) => DataType::LargeList(Arc::new(field(f))),
            DataType::Struct(fs) => DataType::Struct(fs.iter().map(|f| field(f)).collect()),
            other => other.clone(),
        }
    }
    fn field(f: &Field) -> Field {
        f.clone().with_data_type(plain(f.data_type()))
    }
    Arc::new(Schema::new_with_metadata(
        schema.fields().iter().map(|f| field(f)).collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_node_knows_the_h3_functions() {
        use datafusion::execution::FunctionRegistry;
        let registry = function_registry();
        for name in ["h3_parent", "h3_cell", "h3_to_string", "abs"] {
            assert!(registry.udf(name).is_ok(), "{name}");
        }
        let state = scheduler_session(SessionConfig::new_with_ballista()).unwrap();
        assert!(state.udf("h3_parent").is_ok());
    }

    #[test]
    fn view_types_become_plain() {
        let schema = Schema::new(vec![
            Field::new("name", DataType::Utf8View, true),
            Field::new("cell", DataType::Int64, false),
            Field::new("tags", DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true))), true),
        ]);
        let plain = without_views(&schema);
        assert_eq!(plain.field(0).data_type(), &DataType::Utf8);
        assert_eq!(plain.field(1).data_type(), &DataType::Int64);
        assert!(!plain.field(1).is_nullable());
        assert_eq!(plain.field(2).data_type(), &DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(socket_address("127.0.0.1", 50050).is_ok());
        assert!(matches!(socket_address("not a host", 1), Err(Error::Address(_))));
    }
}
