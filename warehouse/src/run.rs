//! Runs that change several tables at once, and streamed writes.
//!
//! Delta commits one table at a time. A run that must change several tables together
//! (a source table, its quarantine rows and the run record) first writes a *journal*,
//! `_mosaico/run.json` under the warehouse root, naming each table and the version it
//! had before. While the journal exists, readers asking for the latest tables get
//! those earlier versions (a table the run creates is not shown), so nobody reads a
//! half-finished run. The run removes the journal after its last commit: that is the
//! moment all its tables change for readers at once.
//!
//! A run that dies leaves its journal behind. The next run finds it, checks that its
//! process is gone, restores every table it names to its earlier version (one more
//! Delta commit each, so history keeps what happened) and removes it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use deltalake::DeltaTable;
use deltalake::logstore::object_store;
use deltalake::protocol::SaveMode;
use futures::StreamExt as _;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Warehouse};

/// Where the journal lives, relative to the warehouse root.
const JOURNAL: &str = "_mosaico/run.json";

/// How a write treats the rows already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The new rows replace the table's contents (and its schema).
    Replace,
    /// The new rows are added.
    Append,
}

/// The journal of a run in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Journal {
    /// The run's id.
    pub run_id: String,
    /// What the run loads, for messages.
    pub what: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The host and process running it.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// Each table the run may change, with its version before the run (`None`: the
    /// table did not exist).
    pub before: BTreeMap<String, Option<u64>>,
}

/// What a stale journal was rolled back to.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    /// The dead run.
    pub journal: Journal,
    /// Tables restored to their earlier version.
    pub restored: Vec<(String, u64)>,
}

/// A run holding the journal: commit its tables, then [`Run::finish`].
#[derive(Debug)]
pub struct Run {
    wh: Warehouse,
    journal: Journal,
    recovered: Option<Recovered>,
    finished: bool,
}

impl Run {
    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The dead run that [`Warehouse::begin`] rolled back before starting this one.
    pub fn recovered(&self) -> Option<&Recovered> {
        self.recovered.as_ref()
    }

    /// Ends the run by what its writes returned: [`Run::finish`] on success, else
    /// [`Run::abort`] and the writes' error.
    pub async fn close<T, E: From<Error>>(self, written: std::result::Result<T, E>) -> std::result::Result<T, E> {
        match written {
            Ok(v) => {
                self.finish().await?;
                Ok(v)
            }
            Err(e) => {
                self.abort().await?;
                Err(e)
            }
        }
    }

    /// Ends the run: its commits become what readers see.
    pub async fn finish(mut self) -> Result<()> {
        self.wh.delete_journal().await?;
        self.finished = true;
        Ok(())
    }

    /// Abandons the run: the tables it committed go back to their earlier versions
    /// and the journal is removed.
    pub async fn abort(mut self) -> Result<Vec<(String, u64)>> {
        let restored = self.wh.roll_back(&self.journal).await?;
        self.wh.delete_journal().await?;
        self.finished = true;
        Ok(restored)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(run = %self.journal.run_id, "run dropped unfinished: its journal stays until the next run rolls it back");
        }
    }
}

/// Another process is running.
fn busy(j: &Journal) -> Error {
    Error::Busy {
        run_id: j.run_id.clone(),
        what: j.what.clone(),
        host: j.host.clone(),
        pid: j.pid,
        since: j.started_at.to_rfc3339(),
    }
}

fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Whether the journal's process is certainly gone (same host, no such process).
fn is_dead(j: &Journal) -> bool {
    j.host == this_host() && j.pid != std::process::id() && !std::path::Path::new(&format!("/proc/{}", j.pid)).exists()
}

impl Warehouse {
    fn store(&self) -> Result<Arc<dyn object_store::ObjectStore>> {
        Ok(deltalake::DeltaTableBuilder::from_url(self.root.clone())?.build_storage()?.object_store(None))
    }

    /// The journal of a run in progress (or of a dead one), if any.
    pub async fn journal(&self) -> Result<Option<Journal>> {
        let store = self.store()?;
        match store.get(&StorePath::from(JOURNAL)).await {
            Ok(got) => {
                let bytes = got.bytes().await.map_err(deltalake::DeltaTableError::from)?;
                let journal = serde_json::from_slice(&bytes).map_err(|e| Error::Journal(e.to_string()))?;
                Ok(Some(journal))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(deltalake::DeltaTableError::from(e).into()),
        }
    }

    async fn delete_journal(&self) -> Result<()> {
        match self.store()?.delete(&StorePath::from(JOURNAL)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(deltalake::DeltaTableError::from(e).into()),
        }
    }

    /// Rolls back a dead run's journal, if there is one. A live run's journal is an
    /// [`Error::Busy`].
    pub async fn recover(&self) -> Result<Option<Recovered>> {
        let Some(journal) = self.journal().await? else { return Ok(None) };
        if !is_dead(&journal) {
            return Err(busy(&journal));
        }
        tracing::warn!(run = %journal.run_id, what = %journal.what, "an earlier run stopped midway: restoring its tables");
        let restored = self.roll_back(&journal).await?;
        self.delete_journal().await?;
        Ok(Some(Recovered { journal, restored }))
    }

    async fn roll_back(&self, journal: &Journal) -> Result<Vec<(String, u64)>> {
        let mut restored = Vec::new();
        for (name, before) in &journal.before {
            let Some(before) = *before else { continue };
            let table = deltalake::open_table(self.table_url(name)?).await?;
            if table.version().is_some_and(|v| v > before) {
                table.restore().with_version_to_restore(before).await?;
                restored.push((name.clone(), before));
            }
        }
        Ok(restored)
    }

    /// Starts a run over `tables` (after rolling back a dead run's journal: see
    /// [`Run::recovered`]). Fails with [`Error::Busy`] while another run is in progress.
    pub async fn begin(&self, run_id: &str, what: &str, tables: &[&str]) -> Result<Run> {
        let recovered = self.recover().await?;
        let versions = self.versions().await?;
        let mut before = BTreeMap::new();
        for t in tables {
            self.table_url(t)?;
            before.insert((*t).to_owned(), versions.get(*t).copied());
        }
        let journal = Journal {
            run_id: run_id.to_owned(),
            what: what.to_owned(),
            started_at: Utc::now(),
            host: this_host(),
            pid: std::process::id(),
            before,
        };
        let bytes = bytes_again(&journal)?;
        let store = self.store()?;
        let put = store
            .put_opts(
                &StorePath::from(JOURNAL),
                bytes.into(),
                object_store::PutOptions { mode: object_store::PutMode::Create, ..Default::default() },
            )
            .await;
        match put {
            Ok(_) => Ok(Run { wh: self.clone(), journal, recovered, finished: false }),
            // Stores without conditional writes: check, then write.
            Err(object_store::Error::NotImplemented { .. }) => match self.journal().await? {
                Some(other) => Err(busy(&other)),
                None => {
                    store
                        .put(&StorePath::from(JOURNAL), bytes_again(&journal)?.into())
                        .await
                        .map_err(deltalake::DeltaTableError::from)?;
                    Ok(Run { wh: self.clone(), journal, recovered, finished: false })
                }
            },
            Err(object_store::Error::AlreadyExists { .. }) => match self.journal().await? {
                Some(other) => Err(busy(&other)),
                None => Err(Error::Journal("the run journal appeared and vanished; try again".into())),
            },
            Err(e) => Err(deltalake::DeltaTableError::from(e).into()),
        }
    }

    pub(crate) async fn open_for_write(&self, name: &str) -> Result<DeltaTable> {
        let url = self.table_url(name)?;
        let exists = match url.to_file_path() {
            Ok(path) => {
                std::fs::create_dir_all(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
                path.join("_delta_log").is_dir()
            }
            Err(()) => self.has_table(name).await?,
        };
        Ok(if exists {
            DeltaTable::try_from_url(url).await?
        } else {
            // A new table: nothing to load, the write creates it.
            deltalake::DeltaTableBuilder::from_url(url)?.build()?
        })
    }

    /// Writes a stream of batches into a table in one Delta commit, without holding
    /// the stream in memory. If the stream ends in an error, nothing is committed and
    /// the table keeps its previous version. Returns the new version.
    pub async fn write_stream(
        &self,
        name: &str,
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
        mode: Mode,
    ) -> Result<u64> {
        let table = self.open_for_write(name).await?;
        // The first batch, looked at before the rest for how to store its columns.
        let mut stream = stream;
        let first = stream.next().await;
        let props = crate::writer_properties(&schema, first.as_ref().and_then(|b| b.as_ref().ok()));
        let stream: SendableRecordBatchStream =
            Box::pin(RecordBatchStreamAdapter::new(schema.clone(), futures::stream::iter(first).chain(stream)));
        let partition = Arc::new(OneShot { schema: schema.clone(), stream: Mutex::new(Some(stream)) });
        let provider = StreamingTable::try_new(schema, vec![partition])?;
        let plan = LogicalPlanBuilder::scan("input", provider_as_source(Arc::new(provider)), None)?.build()?;
        let (save, schema_mode) = match mode {
            Mode::Replace => (SaveMode::Overwrite, Some(deltalake::operations::write::SchemaMode::Overwrite)),
            Mode::Append => (SaveMode::Append, None),
        };
        // Files of about 8 MiB: the writer holds the file it is writing in memory.
        // One partition: no repartitioning between the stream and the writer, whose
        // buffers would fill without bound when the writer is the slower side.
        let overrides =
            std::collections::HashMap::from([("datafusion.execution.target_partitions".to_owned(), "1".to_owned())]);
        let session = deltalake::delta_datafusion::DeltaSessionContext::new_with_session_overrides(&overrides)?;
        let mut write = table
            .write(Vec::new())
            .with_session_state(Arc::new(session.state()))
            .with_input_plan(plan)
            .with_save_mode(save)
            .with_writer_properties(props)
            .with_target_file_size(std::num::NonZeroU64::new(8 * 1024 * 1024));
        if let Some(m) = schema_mode {
            write = write.with_schema_mode(m);
        }
        let table = write.await?;
        let version = table.version().unwrap_or(0);
        tracing::debug!(table = name, version, "wrote table");
        Ok(version)
    }

    /// Adds rows to a table (created on first write) in one Delta commit.
    pub async fn append_table(
        &self,
        name: &str,
        batches: Vec<datafusion::arrow::record_batch::RecordBatch>,
    ) -> Result<u64> {
        self.write_batches(name, batches, Mode::Append).await
    }

    /// Writes batches held in memory through [`Warehouse::write_stream`].
    pub(crate) async fn write_batches(
        &self,
        name: &str,
        batches: Vec<datafusion::arrow::record_batch::RecordBatch>,
        mode: Mode,
    ) -> Result<u64> {
        let Some(first) = batches.first() else {
            return Err(Error::Journal(format!("nothing to write to '{name}'")));
        };
        let schema = first.schema();
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        self.write_stream(name, schema.clone(), Box::pin(RecordBatchStreamAdapter::new(schema, stream)), mode).await
    }
}

fn bytes_again(journal: &Journal) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(journal).map_err(|e| Error::Journal(e.to_string()))
}

/// A partition that hands out its stream once.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneShot")
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            let err = datafusion::error::DataFusionError::Internal("a one-shot input stream was read twice".into());
            Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), futures::stream::once(async { Err(err) })))
        })
    }
}

impl Warehouse {
    /// Replaces the rows whose `key_col` is in `keys` with `new` (which may add rows
    /// for new keys), in one Delta commit. The table is created if missing.
    pub async fn upsert(
        &self,
        name: &str,
        key_col: &str,
        keys: datafusion::arrow::array::ArrayRef,
        new: Vec<datafusion::arrow::record_batch::RecordBatch>,
    ) -> Result<u64> {
        use datafusion::arrow::datatypes::{Field, Schema};
        let Some(first) = new.first() else {
            return Err(Error::Journal(format!("nothing to upsert into '{name}'")));
        };
        let schema = first.schema();
        if !self.has_table(name).await? {
            return self.write_table(name, new).await;
        }
        let ctx = datafusion::prelude::SessionContext::new();
        let table = deltalake::open_table(self.table_url(name)?).await?;
        table.update_datafusion_session(&ctx.state())?;
        ctx.register_table("current_rows", table.table_provider().await?)?;
        let key_schema = Arc::new(Schema::new(vec![Field::new("k", keys.data_type().clone(), true)]));
        let key_batch = datafusion::arrow::record_batch::RecordBatch::try_new(key_schema.clone(), vec![keys])
            .map_err(datafusion::error::DataFusionError::from)?;
        ctx.register_batch("changed_keys", key_batch)?;
        let kept = ctx
            .sql(&format!("select * from current_rows where \"{key_col}\" not in (select k from changed_keys)"))
            .await?
            .execute_stream()
            .await?;
        // The engine reads strings back as views; cast to the new rows' schema.
        let target = schema.clone();
        let kept = futures::StreamExt::map(kept, move |b| {
            let b = b?;
            let cols = target
                .fields()
                .iter()
                .map(|f| {
                    let col = b.column_by_name(f.name()).ok_or_else(|| {
                        datafusion::error::DataFusionError::Plan(format!("column '{}' is missing", f.name()))
                    })?;
                    Ok(datafusion::arrow::compute::cast(col, f.data_type())?)
                })
                .collect::<datafusion::error::Result<Vec<_>>>()?;
            Ok(datafusion::arrow::record_batch::RecordBatch::try_new(target.clone(), cols)?)
        });
        let all = futures::StreamExt::chain(kept, futures::stream::iter(new.into_iter().map(Ok)));
        self.write_stream(name, schema.clone(), Box::pin(RecordBatchStreamAdapter::new(schema, all)), Mode::Replace)
            .await
    }
}
