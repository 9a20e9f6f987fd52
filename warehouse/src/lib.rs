//! Mosaico's warehouse: Delta Lake tables of Parquet, queried with DataFusion.
//!
//! ```text
//!  ingest ──RecordBatches──▶ Warehouse::write_table ──▶ <root>/<table>/_delta_log + *.parquet
//!                                                             │
//!  analytics, `mosaico sql` ◀── SessionContext ◀── Warehouse::session(AsOf) (all tables + H3 UDFs)
//! ```
//!
//! Every table lives in its own folder under the warehouse root (a local folder by
//! default, or an object-store URL). Each write is one Delta commit, so a failed
//! write leaves the previous version readable, and [`AsOf`] reads any earlier one.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mosaico_warehouse::Error> {
//! let wh = mosaico_warehouse::Warehouse::open("data/warehouse")?;
//! let ctx = wh.session(&mosaico_warehouse::AsOf::Latest).await?;
//! let df = ctx.sql("select h3_to_string(h3_cell(45.4642, 9.19, 10))").await?;
//! df.show().await?;
//! # Ok(()) }
//! ```

mod as_of;
pub mod h3;
mod lazy;
mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::DeltaTable;
use deltalake::parquet::file::properties::WriterProperties;
use url::Url;

pub use as_of::AsOf;
pub use datafusion;
pub use run::{Journal, Mode, Recovered, Run};

/// What went wrong in the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured location is neither a folder path nor a URL.
    #[error("warehouse location '{0}' is not a folder path or a URL")]
    Location(String),
    /// The location's scheme needs a storage backend this build does not include.
    #[error(
        "warehouse location '{url}': the '{scheme}' object store is not available in this build; use a folder, a file:// URL or (with the s3 feature, on by default) an s3:// URL"
    )]
    Backend {
        /// The location.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A table name that is not a plain identifier.
    #[error("'{0}' is not a valid table name (lower-case letters, digits and '_')")]
    TableName(String),
    /// A table asked for does not exist.
    #[error("table '{0}' does not exist in the warehouse")]
    NoTable(String),
    /// `--as-of` asked for a version a table does not have.
    #[error("table '{table}' has no version {version} (its versions are 0..={latest})")]
    NoVersion {
        /// The table.
        table: String,
        /// The version asked for.
        version: u64,
        /// The latest version.
        latest: u64,
    },
    /// An `--as-of` value that cannot be read.
    #[error(
        "as-of '{0}' is not a version (3), a table version (population=3) or an RFC 3339 time (2026-11-22T10:00:00Z)"
    )]
    AsOf(String),
    /// The query engine refused a query or failed running it.
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// The Delta log or a Parquet file could not be read or written.
    #[error("delta table: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// Another run holds the journal.
    #[error(
        "another run is in progress: {what} (run {run_id}, process {pid} on {host}, since {since}); wait for it to end, or if it is dead on another machine, remove _mosaico/run.json from the warehouse"
    )]
    Busy {
        /// Its id.
        run_id: String,
        /// What it loads.
        what: String,
        /// Its host.
        host: String,
        /// Its process.
        pid: u32,
        /// When it started.
        since: String,
    },
    /// A table whose Parquet files alone do not hold its rows.
    #[error("table '{table}': file {file} has {what}, which reading the Parquet files directly would miss")]
    Unsupported {
        /// The table.
        table: String,
        /// The file, relative to the table's folder.
        file: String,
        /// What the log adds to it.
        what: String,
    },
    /// The run journal could not be read or written.
    #[error("run journal: {0}")]
    Journal(String),
    /// Local filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The URL schemes this build can store tables under. S3 and S3-compatible stores
/// read their settings from the usual `AWS_*` variables (`AWS_ENDPOINT_URL`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`).
#[cfg(feature = "s3")]
pub const SCHEMES: &[&str] = &["file", "s3", "s3a"];
/// The URL schemes this build can store tables under.
#[cfg(not(feature = "s3"))]
pub const SCHEMES: &[&str] = &["file"];

/// One table as Parquet files: what [`Warehouse::table_files`] gives.
#[derive(Debug, Clone)]
pub struct TableFiles {
    /// The table's name.
    pub name: String,
    /// The version read.
    pub version: u64,
    /// The schema [`Warehouse::session`] gives the table.
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    /// The data files of that version (`file:///…` in a local warehouse).
    pub files: Vec<Url>,
}

/// Result alias for the warehouse.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A warehouse: a root location holding one Delta table per folder.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: Url,
}

/// Whether a column holds pseudonyms (`person_key`, `household_key`, `person_ref`):
/// 64 random hex characters, as many distinct values as rows or nearly.
pub fn is_pseudonym_column(name: &str) -> bool {
    name.ends_with("_key") || name.ends_with("_ref")
}

/// How Parquet files are written: Snappy, with dictionaries and min/max statistics
/// except for pseudonym columns (a dictionary of unique values only costs time before
/// the writer gives it up, and the min/max of random keys span every file: no use for
/// skipping files). A pseudonym column whose values in `sample` (the first rows
/// written) seldom repeat their predecessor is stored uncompressed: random hex leaves
/// Snappy about 9% to save, at a cost that shows in an ingest, while a column of
/// repeated keys (the interventions of one person, the members of a household) keeps it.
pub(crate) fn writer_properties(
    schema: &datafusion::arrow::datatypes::Schema,
    sample: Option<&RecordBatch>,
) -> WriterProperties {
    use deltalake::parquet::basic::Compression;
    use deltalake::parquet::file::properties::EnabledStatistics;
    use deltalake::parquet::schema::types::ColumnPath;
    let mut props = WriterProperties::builder()
        .set_created_by(format!("mosaico {}", env!("CARGO_PKG_VERSION")))
        .set_compression(Compression::SNAPPY);
    for f in schema.fields().iter().filter(|f| is_pseudonym_column(f.name())) {
        let path = ColumnPath::from(f.name().as_str());
        props = props
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_statistics_enabled(path.clone(), EnabledStatistics::None);
        if sample.and_then(|b| b.column_by_name(f.name())).is_some_and(|c| repeats(c) < 0.1) {
            props = props.set_column_compression(path, Compression::UNCOMPRESSED);
        }
    }
    props.build()
}

/// The share of a column's values (after the first) equal to the value before them;
/// 1 for a column too short to tell.
fn repeats(column: &datafusion::arrow::array::ArrayRef) -> f64 {
    use datafusion::arrow::array::{Array, AsArray};
    let column = match datafusion::arrow::compute::cast(column, &datafusion::arrow::datatypes::DataType::Utf8) {
        Ok(c) => c,
        Err(_) => return 1.0,
    };
    let text = column.as_string::<i32>();
    if text.len() < 100 {
        return 1.0;
    }
    let same =
        (1..text.len()).filter(|&i| text.is_valid(i) && text.is_valid(i - 1) && text.value(i) == text.value(i - 1));
    same.count() as f64 / (text.len() - 1) as f64
}

impl Warehouse {
    /// Opens (without creating anything yet) the warehouse at a folder path or URL
    /// (`file:///…`, `s3://bucket/prefix`).
    pub fn open(location: &str) -> Result<Self> {
        let root = if location.contains("://") {
            let url = Url::parse(location).map_err(|_| Error::Location(location.to_owned()))?;
            if !SCHEMES.contains(&url.scheme()) {
                return Err(Error::Backend { url: location.to_owned(), scheme: url.scheme().to_owned() });
            }
            url
        } else {
            let path = absolute(Path::new(location))?;
            Url::from_directory_path(&path).map_err(|_| Error::Location(location.to_owned()))?
        };
        let mut root = root;
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Ok(Self { root })
    }

    /// The root location.
    pub fn root(&self) -> &Url {
        &self.root
    }

    fn local_root(&self) -> Option<PathBuf> {
        self.root.to_file_path().ok()
    }

    fn table_url(&self, name: &str) -> Result<Url> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Error::TableName(name.to_owned()));
        }
        self.root.join(&format!("{name}/")).map_err(|_| Error::TableName(name.to_owned()))
    }

    /// The tables present, by name, sorted.
    pub async fn tables(&self) -> Result<Vec<String>> {
        let mut names = match self.local_root() {
            Some(root) => {
                let entries = match std::fs::read_dir(&root) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(source) => return Err(Error::Io { path: root, source }),
                };
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().join("_delta_log").is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            }
            None => self.remote_tables().await?,
        };
        names.sort();
        Ok(names)
    }

    /// Folders under an object-store root that hold a Delta log.
    async fn remote_tables(&self) -> Result<Vec<String>> {
        let store = deltalake::DeltaTableBuilder::from_url(self.root.clone())?.build_storage()?.object_store(None);
        let listing = store.list_with_delimiter(None).await.map_err(deltalake::DeltaTableError::from)?;
        let mut names = Vec::new();
        for prefix in listing.common_prefixes {
            let log = prefix.clone().join("_delta_log");
            let inside = store.list_with_delimiter(Some(&log)).await.map_err(deltalake::DeltaTableError::from)?;
            if let Some(name) = prefix.filename()
                && !inside.objects.is_empty()
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// Whether a table exists.
    pub async fn has_table(&self, name: &str) -> Result<bool> {
        Ok(self.tables().await?.iter().any(|t| t == name))
    }

    /// Replaces the contents of a table with `batches` in one Delta commit (the
    /// table is created on first write; a changed schema replaces the old one).
    /// Returns the new version. If the write fails, the previous version stays current.
    pub async fn write_table(&self, name: &str, batches: Vec<RecordBatch>) -> Result<u64> {
        self.write_batches(name, batches, Mode::Replace).await
    }

    /// The latest version of each table.
    pub async fn versions(&self) -> Result<BTreeMap<String, u64>> {
        let mut out = BTreeMap::new();
        for name in self.tables().await? {
            let table = deltalake::open_table(self.table_url(&name)?).await?;
            out.insert(name, table.version().unwrap_or(0));
        }
        Ok(out)
    }

    async fn load(&self, name: &str, as_of: &AsOf) -> Result<DeltaTable> {
        let url = self.table_url(name)?;
        let mut table = deltalake::open_table(url).await?;
        let latest = table.version().unwrap_or(0);
        match as_of.version_for(name) {
            as_of::Target::Latest => {}
            as_of::Target::Version(v) => {
                if v > latest {
                    return Err(Error::NoVersion { table: name.to_owned(), version: v, latest });
                }
                if v < latest {
                    table.load_version(v).await?;
                }
            }
            as_of::Target::Time(t) => table.load_with_datetime(t).await?,
        }
        Ok(table)
    }

    /// The tables a reader of `as_of` sees, each with the version it is held at, if
    /// any. While a run is in progress (or after one died), readers of the latest
    /// tables see them as they were before it: all of its changes or none (a table
    /// the run created is not seen).
    async fn pins(&self, as_of: &AsOf) -> Result<BTreeMap<String, Option<u64>>> {
        let tables = self.tables().await?;
        as_of.check_tables(&tables)?;
        let pinned = match as_of {
            AsOf::Latest => self.journal().await?.map(|j| j.before).unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        Ok(tables
            .into_iter()
            .filter_map(|name| match pinned.get(&name) {
                None => Some((name, None)),
                Some(None) => None,
                Some(Some(v)) => Some((name, Some(*v))),
            })
            .collect())
    }

    /// The latest version of a table, from the names in its log folder (a listing; no
    /// commit is read).
    async fn latest_version(&self, name: &str) -> Result<u64> {
        use futures::TryStreamExt;
        let store = deltalake::DeltaTableBuilder::from_url(self.table_url(name)?)?.build_storage()?.object_store(None);
        let log = deltalake::Path::from("_delta_log");
        let files: Vec<_> = store.list(Some(&log)).try_collect().await.map_err(deltalake::DeltaTableError::from)?;
        files
            .iter()
            .filter_map(|f| deltalake::logstore::extract_version_from_filename(f.location.as_ref()))
            .max()
            .ok_or_else(|| Error::NoTable(name.to_owned()))
    }

    /// Every table as a reader of `as_of` sees it, by name.
    async fn resolve(&self, as_of: &AsOf) -> Result<Vec<(String, DeltaTable)>> {
        // Each table's log is read at once with the others'.
        let loads = self.pins(as_of).await?.into_iter().map(|(name, pin)| async move {
            let table = self.load_pinned(&name, pin, as_of).await?;
            Ok::<_, Error>((name, table))
        });
        futures::future::try_join_all(loads).await
    }

    /// A table at the version it is pinned at, else as `as_of` asks.
    async fn load_pinned(&self, name: &str, pin: Option<u64>, as_of: &AsOf) -> Result<DeltaTable> {
        match pin {
            None => self.load(name, as_of).await,
            Some(v) => self.load(name, &AsOf::Tables(BTreeMap::from([(name.to_owned(), v)]))).await,
        }
    }

    /// A DataFusion session with every table registered (as of `as_of`) and the H3
    /// functions available. Settings come from `DATAFUSION_*` environment variables
    /// where given (for example `DATAFUSION_EXECUTION_BATCH_SIZE`), DataFusion's
    /// defaults otherwise.
    ///
    /// Each table is read as a plain Parquet listing of exactly the files of its
    /// version: DataFusion splits them across cores by byte range, keeps their footers
    /// between queries, and adds no per-batch file bookkeeping. Tables that need the
    /// Delta log to be read right (partition values, deletion vectors) keep deltalake's
    /// own scan; `MOSAICO_SCAN=delta` asks for it everywhere.
    pub async fn session(&self, as_of: &AsOf) -> Result<SessionContext> {
        let ctx = Self::bare_session()?;
        for (name, table) in self.resolve(as_of).await? {
            ctx.register_table(name.as_str(), provider(&name, &table, &ctx.state()).await?)?;
        }
        Ok(ctx)
    }

    /// A session like [`Warehouse::session`] that reads a table's Delta log only when
    /// a query first names it, for one-off queries (`mosaico sql`, [`Warehouse::query`]):
    /// a query of two tables opens two (tables that `as_of` gives a version or a time
    /// are opened at once, so a version that does not exist is an error here). Each
    /// table, once opened, keeps its version for the session's life; a long-lived reader that must see all tables at one moment
    /// (the server) uses [`Warehouse::session`].
    pub async fn session_on_demand(&self, as_of: &AsOf) -> Result<SessionContext> {
        let ctx = Self::bare_session()?;
        let mut pins = self.pins(as_of).await?;
        // Readers of the latest tables are held at the versions of this moment, so a
        // table opened later in the session (by a table function, say) is not from a
        // run that committed meanwhile.
        if matches!(as_of, AsOf::Latest) {
            let latest = pins
                .iter()
                .filter(|(_, pin)| pin.is_none())
                .map(|(name, _)| async move { Ok::<_, Error>((name.clone(), self.latest_version(name).await?)) });
            for (name, v) in futures::future::try_join_all(latest).await? {
                pins.insert(name, Some(v));
            }
        }
        // Versions or times asked for are checked now, so a wrong one is an error
        // whatever the queries name: those tables are opened at once.
        let asked: Vec<String> = match as_of {
            AsOf::Latest => Vec::new(),
            AsOf::Tables(m) => m.keys().cloned().collect(),
            AsOf::Version(_) | AsOf::Time(_) => pins.keys().cloned().collect(),
        };
        let schema = std::sync::Arc::new(lazy::LazySchema::new(self.clone(), as_of.clone(), pins, ctx.runtime_env()));
        futures::future::try_join_all(asked.iter().map(|name| schema.opened(name))).await?;
        let catalog = ctx.catalog("mosaico").ok_or_else(|| Error::Location("the session has no catalog".into()))?;
        catalog.register_schema("public", schema)?;
        Ok(ctx)
    }

    /// A session with the H3 functions and no tables.
    fn bare_session() -> Result<SessionContext> {
        let config = SessionConfig::from_env()?
            .with_information_schema(true)
            .with_default_catalog_and_schema("mosaico", "public");
        let ctx = SessionContext::new_with_config(config);
        for f in h3::functions() {
            ctx.register_udf(f);
        }
        Ok(ctx)
    }

    /// Every table (as of `as_of`, the same versions [`Warehouse::session`] reads) as
    /// its schema and the Parquet files of that version, for engines that read the
    /// files themselves rather than through the Delta log (the executors of
    /// `mosaico-distributed`). Refuses a table whose files need more than their rows:
    /// partition values kept in the log, or deletion vectors.
    pub async fn table_files(&self, as_of: &AsOf) -> Result<Vec<TableFiles>> {
        let mut out = Vec::new();
        for (name, table) in self.resolve(as_of).await? {
            let schema = table.table_provider().await?.schema();
            out.push(files_of(&name, &table, schema)?);
        }
        Ok(out)
    }

    /// The rows of one table at its latest version, without opening the others.
    pub async fn read_table(&self, name: &str) -> Result<Vec<RecordBatch>> {
        let table = self.load(name, &AsOf::Latest).await?;
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("t", table.table_provider().await?)?;
        Ok(ctx.sql("SELECT * FROM t").await?.collect().await?)
    }

    /// Runs one SQL query and collects the result (opening only the tables it names).
    pub async fn query(&self, sql: &str, as_of: &AsOf) -> Result<Vec<RecordBatch>> {
        let ctx = self.session_on_demand(as_of).await?;
        let run = async { ctx.sql(sql).await?.collect().await };
        run.await.map_err(Error::from_query)
    }
}

impl Error {
    /// A query's error, or the warehouse's own when opening a table named by the
    /// query is what failed.
    pub fn from_query(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError as E;
        fn own(e: E) -> std::result::Result<Error, E> {
            match e {
                E::External(inner) => inner.downcast::<Error>().map(|own| *own).map_err(E::External),
                E::Context(what, inner) => own(*inner).map_err(|inner| E::Context(what, Box::new(inner))),
                other => Err(other),
            }
        }
        own(e).unwrap_or_else(Error::Query)
    }
}

/// The provider a session reads `table` through: a plain Parquet listing of the files of
/// its version, or deltalake's own scan where the files need the log to be read right
/// (partition values, deletion vectors) or `MOSAICO_SCAN=delta` asks for it.
async fn provider(
    name: &str,
    table: &DeltaTable,
    state: &dyn datafusion::catalog::Session,
) -> Result<std::sync::Arc<dyn datafusion::catalog::TableProvider>> {
    table.update_datafusion_session(state)?;
    let provider = table.table_provider().await?;
    let listed = match std::env::var("MOSAICO_SCAN").is_ok_and(|v| v == "delta") {
        true => None,
        false => files_of(name, table, provider.schema()).ok().map(|f| listing_provider(&f)).transpose()?,
    };
    Ok(listed.unwrap_or(provider))
}

/// The data files of a loaded table version, or why its rows need the Delta log.
fn files_of(name: &str, table: &DeltaTable, schema: datafusion::arrow::datatypes::SchemaRef) -> Result<TableFiles> {
    let snapshot = table.snapshot()?;
    let mut files = Vec::new();
    for file in snapshot.log_data().iter() {
        let path = file.object_store_path();
        let unsupported =
            |what: &str| Error::Unsupported { table: name.to_owned(), file: path.to_string(), what: what.to_owned() };
        if file.partition_values_map().values().any(Option::is_some) {
            return Err(unsupported("partition values"));
        }
        if file.deletion_vector_descriptor().is_some() {
            return Err(unsupported("a deletion vector"));
        }
        files.push(table.table_url().join(path.as_ref()).map_err(|_| unsupported("a path that is not a URL"))?);
    }
    Ok(TableFiles { version: snapshot.version(), name: name.to_owned(), schema, files })
}

/// A DataFusion table over exactly the files of one version, with the schema given
/// (files are read into it: H3 cells written as UInt64 come back as the Delta `long`
/// the log declares). A table without files is a view of no rows with that schema.
pub fn listing_provider(table: &TableFiles) -> Result<std::sync::Arc<dyn datafusion::catalog::TableProvider>> {
    use std::sync::Arc;

    use datafusion::datasource::file_format::parquet::ParquetFormat;
    use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
    if table.files.is_empty() {
        let columns = table
            .schema
            .fields()
            .iter()
            .map(|f| {
                Ok(datafusion::prelude::lit(datafusion::common::ScalarValue::try_from(f.data_type())?).alias(f.name()))
            })
            .collect::<Result<Vec<_>>>()?;
        let plan = datafusion::logical_expr::LogicalPlanBuilder::empty(false).project(columns)?.build()?;
        return Ok(Arc::new(datafusion::datasource::ViewTable::new(plan, None)));
    }
    let urls = table.files.iter().map(|u| ListingTableUrl::parse(u.as_str())).collect::<Result<Vec<_>, _>>()?;
    // Partitions and statistics follow the session's settings when the scan is planned.
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config =
        ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(table.schema.clone());
    Ok(Arc::new(ListingTable::try_new(config)?))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_owned());
    }
    std::env::current_dir().map(|d| d.join(p)).map_err(|source| Error::Io { path: p.to_owned(), source })
}

/// Re-exported so callers can build batches without a direct arrow dependency.
pub use datafusion::arrow;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_folders_or_supported_urls() {
        let wh = Warehouse::open("data/warehouse").unwrap();
        assert!(wh.root().as_str().starts_with("file:///") && wh.root().as_str().ends_with("/data/warehouse/"));
        assert!(Warehouse::open("file:///tmp/wh").is_ok());
        let err = Warehouse::open("gs://bucket/mosaico").unwrap_err().to_string();
        assert!(err.contains("the 'gs' object store is not available"), "{err}");
        assert_eq!(Warehouse::open("s3://bucket/mosaico").is_ok(), cfg!(feature = "s3"));
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        let wh = Warehouse::open("/tmp/wh").unwrap();
        assert!(wh.table_url("population").is_ok());
        for bad in ["", "../etc", "Population", "a b", "x;drop"] {
            assert!(matches!(wh.table_url(bad), Err(Error::TableName(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn random_pseudonyms_are_stored_uncompressed_and_repeated_ones_compressed() {
        use std::sync::Arc;

        use datafusion::arrow::array::{ArrayRef, StringArray};
        use deltalake::parquet::basic::Compression;
        use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};
        let rows = 5_000;
        // Distinct keys as random-looking hex; household keys shared by runs of four rows.
        let hex = |i: u64| format!("{:032x}", u128::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) << 64 | u128::from(i));
        let person: ArrayRef = Arc::new((0..rows).map(|i| Some(hex(i))).collect::<StringArray>());
        let household: ArrayRef = Arc::new((0..rows).map(|i| Some(hex(i / 4))).collect::<StringArray>());
        let batch = RecordBatch::try_from_iter([("person_key", person), ("household_key", household)]).unwrap();

        let props = writer_properties(&batch.schema(), Some(&batch));
        let compression = |c: &str| props.compression(&deltalake::parquet::schema::types::ColumnPath::from(c));
        assert_eq!(compression("person_key"), Compression::UNCOMPRESSED);
        assert_eq!(compression("household_key"), Compression::SNAPPY);
        let unseen = writer_properties(&batch.schema(), None);
        assert_eq!(unseen.compression(&"person_key".into()), Compression::SNAPPY);

        // Written through the table writer, the files say the same.
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).unwrap();
        wh.write_table("keys", vec![batch]).await.unwrap();
        let file = std::fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "parquet"))
            .unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(file).unwrap()).unwrap();
        let group = reader.metadata().row_group(0);
        let written: Vec<(String, Compression)> =
            group.columns().iter().map(|c| (c.column_path().string(), c.compression())).collect();
        assert_eq!(
            written,
            [("person_key".to_owned(), Compression::UNCOMPRESSED), ("household_key".to_owned(), Compression::SNAPPY)]
        );
        assert_eq!(wh.query("select count(*) from keys", &AsOf::Latest).await.unwrap()[0].num_rows(), 1);
    }

    #[tokio::test]
    async fn an_on_demand_session_opens_only_the_tables_a_query_names() {
        use std::sync::Arc;

        use datafusion::arrow::array::{ArrayRef, Int64Array};
        let dir = tempfile::tempdir().unwrap();
        let wh = Warehouse::open(dir.path().to_str().unwrap()).unwrap();
        let batch = |n: i64| {
            let v: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n));
            RecordBatch::try_from_iter([("v", v)]).unwrap()
        };
        wh.write_table("good", vec![batch(3)]).await.unwrap();
        wh.write_table("good", vec![batch(5)]).await.unwrap();
        wh.write_table("broken", vec![batch(2)]).await.unwrap();
        // A table whose log cannot be read.
        let log = dir.path().join("broken/_delta_log/00000000000000000000.json");
        std::fs::write(&log, "not a delta log").unwrap();

        // Every table is opened by the full session: it fails.
        assert!(wh.session(&AsOf::Latest).await.is_err());
        // On demand, a query of the good table runs, at the version asked for; the
        // broken one is listed, and a query that names it fails with the warehouse's error.
        let count = |b: Vec<RecordBatch>| b[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
        assert_eq!(count(wh.query("select count(*) from good", &AsOf::Latest).await.unwrap()), 5);
        let first = AsOf::Tables(BTreeMap::from([("good".to_owned(), 0)]));
        assert_eq!(count(wh.query("select count(*) from good", &first).await.unwrap()), 3);
        let ctx = wh.session_on_demand(&AsOf::Latest).await.unwrap();
        assert!(ctx.table_exist("broken").unwrap() && ctx.table_exist("good").unwrap());
        assert!(!ctx.table_exist("missing").unwrap());
        // The session reads the versions of the moment it opened, even for a table it
        // opens after a newer version was committed.
        wh.write_table("good", vec![batch(8)]).await.unwrap();
        let rows = ctx.sql("select count(*) from good").await.unwrap().collect().await.unwrap();
        assert_eq!(count(rows), 5);
        assert_eq!(count(wh.query("select count(*) from good", &AsOf::Latest).await.unwrap()), 8);
        // A view may take a table's name in the session, hiding it there.
        ctx.sql("create or replace view good as select 1 as v").await.unwrap().collect().await.unwrap();
        let rows = ctx.sql("select count(*) from good").await.unwrap().collect().await.unwrap();
        assert_eq!(count(rows), 1);
        let err = wh.query("select count(*) from broken", &AsOf::Latest).await.unwrap_err();
        assert!(matches!(err, Error::Delta(_)), "{err:?}");
        // A version asked for is checked when the session opens, named by the query or not.
        let too_new = AsOf::Tables(BTreeMap::from([("good".to_owned(), 7)]));
        let err = wh.query("select 1", &too_new).await.unwrap_err();
        assert!(matches!(err, Error::NoVersion { version: 7, latest: 2, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn an_empty_or_missing_folder_has_no_tables() {
        let wh = Warehouse::open("/nonexistent/mosaico-warehouse").unwrap();
        assert!(wh.tables().await.unwrap().is_empty());
    }
}
