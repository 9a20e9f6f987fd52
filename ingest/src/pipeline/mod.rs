//! The ingest pipeline: declared sources, validated row by row, pseudonymised,
//! placed on the grid and written to the warehouse in one run that either lands
//! whole or not at all.
//!
//! ```text
//!  file ─▶ header check ─▶ rows ─▶ column checks ─▶ duplicate keys ─▶ row function ─┬▶ table (streamed)
//!          (missing column,        (type, range,                    (dates, amounts, │
//!           nearest name,           fiscal code,                     territory,      └▶ quarantine
//!           delimiter, empty)       ISTAT comune)                    pseudonyms)         (source, line,
//!                                                                                        column, reason)
//! ```
//!
//! A run writes its table, its quarantine rows and its `ingest_runs` record under
//! one journal (see [`mosaico_warehouse::Run`]): readers see all three change at
//! once, a killed run is rolled back by the next one, and a file already loaded
//! (same bytes, same key, same declaration) is not loaded again.

pub mod case_db;
pub mod progress;
pub mod schema;
pub mod sources;
mod table;
mod text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use mosaico_warehouse::{AsOf, Mode, Warehouse};
use sha2::{Digest, Sha256};

use progress::Progress;
pub use progress::ProgressMode;
use schema::{Reject, Value};
use sources::{Context, RowFn, Spec};
use table::{TableBuilder, schema as table_schema};
use text::TextFile;

use crate::pseudonym::PseudonymKey;
use crate::territory::{CellIndexMap, CellPlace};
use crate::{Error, Result};

/// The table of quarantined rows.
pub const QUARANTINE: &str = "quarantine";
/// The table of run summaries.
pub const RUNS: &str = "ingest_runs";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The good rows are in the table.
    Loaded,
    /// Validated only (`--dry-run`): nothing was written.
    DryRun,
    /// The same file was loaded before with the same key and declaration: nothing to do.
    Unchanged,
    /// No row could be loaded: the table keeps its previous version; the quarantine
    /// and the run record say why.
    Failed,
}

impl Status {
    fn code(self) -> &'static str {
        match self {
            Status::Loaded => "loaded",
            Status::DryRun => "dry_run",
            Status::Unchanged => "unchanged",
            Status::Failed => "failed",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// The run's id (empty for dry runs and unchanged files).
    pub run_id: String,
    /// The source.
    pub source: String,
    /// The file read.
    pub file: PathBuf,
    /// How it ended.
    pub status: Status,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Data rows read.
    pub read: u64,
    /// Rows loaded.
    pub loaded: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// Quarantined rows by reason.
    pub reasons: BTreeMap<String, u64>,
    /// Fields that were not UTF-8 and were read as Latin-1.
    pub latin1_fields: u64,
    /// Table → version written.
    pub tables: BTreeMap<String, u64>,
    /// Tables restored because an earlier run had died midway.
    pub recovered: Vec<String>,
    /// The first quarantined rows (line, column, reason, message), for the terminal.
    pub examples: Vec<(u64, Option<String>, String, String)>,
    /// Milliseconds taken.
    pub elapsed_ms: u64,
}

impl RunSummary {
    /// A summary of a run of `source` over `file` that has done nothing yet.
    fn new(source: &str, file: PathBuf, sha256: String) -> Self {
        Self {
            run_id: String::new(),
            source: source.to_owned(),
            file,
            status: Status::DryRun,
            sha256,
            read: 0,
            loaded: 0,
            quarantined: 0,
            reasons: BTreeMap::new(),
            latin1_fields: 0,
            tables: BTreeMap::new(),
            recovered: Vec::new(),
            examples: Vec::new(),
            elapsed_ms: 0,
        }
    }

    /// Counts the quarantined rows by reason and keeps the first few as examples.
    fn set_quarantined(&mut self, rows: &[Quarantined]) {
        self.quarantined = rows.len() as u64;
        self.reasons.clear();
        for q in rows {
            *self.reasons.entry(q.reject.reason.to_owned()).or_default() += 1;
        }
        self.examples = rows
            .iter()
            .take(5)
            .map(|q| (q.line, q.reject.column.clone(), q.reject.reason.to_owned(), q.reject.message.clone()))
            .collect();
    }

    /// Notes the tables restored from a dead run before this one began.
    fn set_recovered(&mut self, run: &mosaico_warehouse::Run) {
        if let Some(r) = run.recovered() {
            self.recovered = r.restored.iter().map(|(t, v)| format!("{t} (to v{v})")).collect();
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} [{}]", self.source, self.file.display(), self.status.code())?;
        if self.status == Status::Unchanged {
            if self.sha256.is_empty() {
                return write!(f, "  nothing changed since the last run: nothing written");
            }
            return write!(f, "  already loaded (sha256 {}…): nothing written", &self.sha256[..12]);
        }
        write!(
            f,
            "  read {} · loaded {} · quarantined {}",
            thousands(self.read),
            thousands(self.loaded),
            thousands(self.quarantined)
        )?;
        if !self.reasons.is_empty() {
            let r: Vec<String> = self.reasons.iter().map(|(k, v)| format!("{k} {}", thousands(*v))).collect();
            write!(f, " ({})", r.join(", "))?;
        }
        writeln!(f)?;
        for (line, col, reason, msg) in &self.examples {
            let col = col.as_deref().map(|c| format!(", column '{c}'")).unwrap_or_default();
            writeln!(f, "    line {line}{col}: {reason}: {msg}")?;
        }
        if self.quarantined > self.examples.len() as u64 {
            writeln!(f, "    … all in: mosaico sql \"select * from quarantine where run_id = '{}'\"", self.run_id)?;
        }
        if self.latin1_fields > 0 {
            writeln!(f, "  {} fields were not UTF-8 and were read as Latin-1", thousands(self.latin1_fields))?;
        }
        if !self.recovered.is_empty() {
            writeln!(f, "  an earlier run had stopped midway: restored {}", self.recovered.join(", "))?;
        }
        let tables: Vec<String> = self.tables.iter().map(|(t, v)| format!("{t} v{v}")).collect();
        if !tables.is_empty() {
            writeln!(f, "  wrote {} · run {}", tables.join(", "), self.run_id)?;
        }
        write!(f, "  {:.1} s", self.elapsed_ms as f64 / 1000.0)
    }
}

/// Options of a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Validate only; write nothing.
    pub dry_run: bool,
    /// Progress display.
    pub progress: ProgressMode,
}

/// The ingest of one warehouse.
#[derive(Debug, Clone)]
pub struct Ingest {
    wh: Warehouse,
    key: PseudonymKey,
    reference: PathBuf,
    today: NaiveDate,
}

/// One quarantined row.
#[derive(Debug, Clone)]
struct Quarantined {
    line: u64,
    reject: Reject,
}

/// What the reading thread found.
#[derive(Debug, Default)]
struct Outcome {
    read: u64,
    loaded: u64,
    latin1: u64,
    quarantined: Vec<Quarantined>,
}

/// A query column as UTF-8 strings, whatever string type the engine chose.
fn utf8(a: &datafusion::arrow::array::ArrayRef) -> Result<datafusion::arrow::array::StringArray> {
    Ok(datafusion::arrow::compute::cast(a, &DataType::Utf8)?.as_string::<i32>().clone())
}

/// A query column as 64-bit integers.
fn int64(a: &datafusion::arrow::array::ArrayRef) -> Result<datafusion::arrow::array::Int64Array> {
    Ok(datafusion::arrow::compute::cast(a, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

/// SHA-256 of a file, hex.
fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A file's SHA-256, computed on a blocking thread.
type Hashing = tokio::task::JoinHandle<Result<String>>;

/// The SHA-256 that `hashing` computes for `path`.
async fn file_hash(hashing: Hashing, path: &Path) -> Result<String> {
    hashing.await.map_err(|e| Error::Source { path: path.to_owned(), message: e.to_string() })?
}

/// A 64-bit hash of a row's key columns, for duplicate detection: 12 bytes per row
/// in memory whatever the row's size (two keys share a hash with a probability of
/// about 1 in 10^7 in a file of 2 million rows). One `state` per run, shared by the
/// workers, so equal keys hash alike.
fn key_hash<'v>(state: &foldhash::quality::RandomState, values: impl Iterator<Item = &'v str>) -> u64 {
    let mut h = state.build_hasher();
    for v in values {
        v.hash(&mut h);
    }
    h.finish()
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Key hash → the line that had it first.
type Seen = HashMap<u64, u32, std::hash::BuildHasherDefault<Prehashed>>;

/// Records per chunk handed to a worker: small enough that the chunks in flight stay
/// a few MiB, large enough that handing them over costs little.
const CHUNK: usize = 4096;

/// Where checked batches go: the table writer, or nowhere in a dry run.
type Sink = Option<tokio::sync::mpsc::Sender<datafusion::error::Result<RecordBatch>>>;

/// What a worker made of one chunk.
struct Checked {
    /// The rows that passed the checks, in file order.
    batches: Vec<RecordBatch>,
    /// Per row of `batches`: the hash of its key and its line (empty without a key).
    keys: Vec<(u64, u64)>,
    rejected: Vec<Quarantined>,
    latin1: u64,
    /// The chunk's records, handed back to the reader for reuse.
    records: Vec<csv::ByteRecord>,
}

fn stopped(what: &str) -> Error {
    Error::Source { path: PathBuf::new(), message: format!("the {what} stopped") }
}

/// What the workers share: how to read a record and check its values.
struct Checker<'a> {
    layout: &'a text::Layout,
    spec: &'a Spec,
    key_cols: Vec<usize>,
    hashing: foldhash::quality::RandomState,
    comuni: &'a HashSet<String>,
}

/// An empty vector of values of another lifetime, with the room of `v`.
#[allow(clippy::unnecessary_filter_map)] // the map changes the lifetime; the collect reuses the room
fn recycle<'a, 'b>(mut v: Vec<Value<'a>>) -> Vec<Value<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

impl Checker<'_> {
    /// Checks and converts one chunk of records.
    fn check_chunk(
        &self,
        records: Vec<csv::ByteRecord>,
        rows: &mut dyn RowFn,
        table: &mut TableBuilder,
    ) -> Result<Checked> {
        let mut out =
            Checked { batches: Vec::new(), keys: Vec::new(), rejected: Vec::new(), latin1: 0, records: Vec::new() };
        let (layout, spec) = (self.layout, self.spec);
        let is_comune = |c: &str| self.comuni.contains(c);
        let mut fields = Vec::with_capacity(spec.columns.len());
        let mut room: Vec<Value<'static>> = Vec::with_capacity(spec.columns.len());
        for rec in &records {
            let r = layout.decode(rec, &mut fields);
            out.latin1 += u64::from(r.latin1);
            if r.width != layout.width {
                let cut = if r.width < layout.width { " (a truncated line?)" } else { "" };
                let message = format!("{} fields, the header has {}{cut}", r.width, layout.width);
                out.rejected.push(Quarantined { line: r.line, reject: Reject::row("field_count", message) });
                continue;
            }
            let mut values = recycle(std::mem::take(&mut room));
            let checked = spec.columns.iter().zip(&fields).try_for_each(|(col, raw)| {
                values.push(schema::check(col, raw, &is_comune)?);
                Ok::<_, Reject>(())
            });
            let converted = checked.and_then(|()| rows.row(&values, table));
            room = recycle(values);
            if let Err(reject) = converted {
                out.rejected.push(Quarantined { line: r.line, reject });
                continue;
            }
            if !self.key_cols.is_empty() {
                let keys = self.key_cols.iter().map(|&i| fields[i].as_ref());
                out.keys.push((key_hash(&self.hashing, keys), r.line));
            }
            if let Some(batch) = table.end_row()? {
                out.batches.push(batch);
            }
        }
        drop(fields);
        out.batches.extend(table.flush()?);
        out.records = records;
        Ok(out)
    }
}

/// Drops the rows whose key an earlier row had (the first one stays), quarantining
/// them, and hands the rest to `sink`.
fn dedupe_and_send(
    checked: &mut Checked,
    spec: &Spec,
    seen: &mut Seen,
    rejected: &mut Vec<Quarantined>,
    sink: &Sink,
) -> Result<u64> {
    let mut keys = checked.keys.iter();
    let mut loaded = 0;
    for batch in checked.batches.drain(..) {
        let mut keep = Vec::new();
        if !spec.key.is_empty() {
            keep.reserve(batch.num_rows());
            for &(hash, line) in keys.by_ref().take(batch.num_rows()) {
                match seen.entry(hash) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        let message = format!("the same {} as line {}", spec.key.join(", "), first.get());
                        rejected.push(Quarantined { line, reject: Reject::at(spec.key[0], "duplicate_key", message) });
                        keep.push(false);
                    }
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(u32::try_from(line).unwrap_or(u32::MAX));
                        keep.push(true);
                    }
                }
            }
        }
        let batch = if keep.contains(&false) {
            datafusion::arrow::compute::filter_record_batch(&batch, &keep.into())?
        } else {
            batch
        };
        loaded += batch.num_rows() as u64;
        if let Some(tx) = sink
            && batch.num_rows() > 0
        {
            tx.blocking_send(Ok(batch)).map_err(|_| stopped("table writer"))?;
        }
    }
    Ok(loaded)
}

/// Reads every row of `file`, checks and converts them on one worker per core, and
/// hands the good rows to `sink` in file order.
///
/// ```text
///  reader ──chunk k──▶ worker k mod n ──checked──▶ sequencer ──▶ sink
///  (rows, blank lines,  (decode, column checks,     (duplicate keys, in file
///   progress)            row function)               order: the first one stays)
/// ```
///
/// Chunks go to the workers in turn and come back in the same turn, so the sequencer
/// sees them in file order without buffering; every channel holds one chunk, so what
/// is in flight stays bounded whatever the file's size.
fn process(
    mut file: TextFile,
    spec: &Spec,
    ctx: &Context,
    comuni: &HashSet<String>,
    progress: &mut Progress,
    sink: Sink,
) -> Result<Outcome> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let (layout, size) = (file.layout.clone(), file.size);
    let checker = Checker {
        layout: &layout,
        spec,
        key_cols: spec.key.iter().filter_map(|k| spec.position(k)).collect(),
        hashing: foldhash::quality::RandomState::default(),
        comuni,
    };
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<csv::ByteRecord>>();
    std::thread::scope(|scope| {
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<Vec<csv::ByteRecord>>(1);
            let (out_tx, out_rx) = std::sync::mpsc::sync_channel::<Checked>(1);
            inputs.push(in_tx);
            outputs.push(out_rx);
            let checker = &checker;
            handles.push(scope.spawn(move || -> Result<()> {
                let mut rows = sources::row_fn(spec.name, ctx).ok_or_else(|| Error::Source {
                    path: PathBuf::new(),
                    message: format!("source '{}' has no row function", spec.name),
                })?;
                let mut table = TableBuilder::new(rows.schema());
                for chunk in in_rx {
                    let checked = checker.check_chunk(chunk, rows.as_mut(), &mut table)?;
                    if out_tx.send(checked).is_err() {
                        break; // the sequencer stopped: its error, or another worker's, says why
                    }
                }
                Ok(())
            }));
        }
        let sequencer = scope.spawn(move || -> Result<Outcome> {
            let mut out = Outcome::default();
            let mut seen = Seen::default();
            for turn in (0..workers).cycle() {
                let Ok(mut checked) = outputs[turn].recv() else { break };
                if seen.capacity() == 0 && !spec.key.is_empty() {
                    // Room for the keys of the whole file, guessed from the first chunk.
                    let bytes: usize = checked.records.iter().map(|r| r.as_slice().len() + r.len()).sum();
                    let rows = size as f64 / bytes.max(1) as f64 * checked.records.len() as f64;
                    seen.reserve((rows * 1.05) as usize);
                }
                out.latin1 += checked.latin1;
                out.quarantined.append(&mut checked.rejected);
                out.loaded += dedupe_and_send(&mut checked, spec, &mut seen, &mut out.quarantined, &sink)?;
                let _ = recycle_tx.send(std::mem::take(&mut checked.records));
            }
            Ok(out)
        });
        // The reader: rows and blank lines, in chunks handed out in turn.
        let read = (|| -> Result<u64> {
            let mut read = 0u64;
            let mut chunk: Vec<csv::ByteRecord> = Vec::with_capacity(CHUNK);
            let mut spare: Vec<csv::ByteRecord> = Vec::new();
            let mut turn = 0;
            loop {
                if spare.is_empty()
                    && let Ok(reused) = recycle_rx.try_recv()
                {
                    spare = reused; // the records of a finished chunk: their room is reused
                }
                let mut rec = spare.pop().unwrap_or_default();
                if !file.next(&mut rec)? {
                    break;
                }
                if rec.len() == 1 && rec.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
                    spare.push(rec);
                    continue; // a blank line is not a row
                }
                read += 1;
                if read.is_multiple_of(8192) {
                    progress.update(file.bytes.load(Ordering::Relaxed), read);
                }
                chunk.push(rec);
                if chunk.len() == CHUNK {
                    if inputs[turn].send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err() {
                        return Ok(read); // that worker stopped: its error says why
                    }
                    turn = (turn + 1) % workers;
                }
            }
            if !chunk.is_empty() {
                let _ = inputs[turn].send(chunk);
            }
            Ok(read)
        })();
        drop(inputs);
        let worked: Vec<Result<()>> =
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(stopped("worker (it panicked)")))).collect();
        let sequenced = sequencer.join().unwrap_or_else(|_| Err(stopped("sequencer (it panicked)")));
        // Only a failing side returns an error; the others stop quietly when it goes.
        for w in worked {
            w?;
        }
        let mut out = sequenced?;
        out.read = read?;
        out.quarantined.sort_by_key(|q| q.line);
        progress.done(file.size, out.read);
        Ok(out)
    })
}

fn quarantine_batch(run_id: &str, source: &str, file: &str, at: &str, rows: &[Quarantined]) -> Result<RecordBatch> {
    use DataType::*;
    let schema = table_schema(&[
        ("run_id", Utf8, false),
        ("source", Utf8, false),
        ("file", Utf8, false),
        ("line", Int64, false),
        ("column", Utf8, true),
        ("reason", Utf8, false),
        ("message", Utf8, false),
        ("quarantined_at", Utf8, false),
    ]);
    let mut t = TableBuilder::new(schema);
    let mut batches = Vec::new();
    for q in rows {
        t.str(0, Some(run_id));
        t.str(1, Some(source));
        t.str(2, Some(file));
        t.i64(3, Some(q.line as i64));
        t.str(4, q.reject.column.as_deref());
        t.str(5, Some(q.reject.reason));
        t.str(6, Some(&q.reject.message));
        t.str(7, Some(at));
        if let Some(b) = t.end_row()? {
            batches.push(b);
        }
    }
    if let Some(b) = t.flush()? {
        batches.push(b);
    }
    Ok(datafusion::arrow::compute::concat_batches(t.schema(), &batches)?)
}

/// What every source of a run checks against: the ISTAT list of comuni and the cells of
/// the territory (empty when no source places coordinates).
struct Shared {
    comuni: Arc<HashSet<String>>,
    cells: Arc<CellIndexMap>,
}

/// What identifies a load for idempotence: the file's bytes, the key, the declaration.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    sha256: String,
    key: String,
    version: u32,
}

impl Ingest {
    /// An ingest into `wh`, keying persons with `key`, reading the boundaries and the
    /// list of comuni from `reference`; ages and "in the future" are as of `today`.
    pub fn new(wh: Warehouse, key: PseudonymKey, reference: PathBuf, today: NaiveDate) -> Self {
        Self { wh, key, reference, today }
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.wh
    }

    /// The ISTAT list of comuni (codes).
    fn comuni(&self) -> Result<HashSet<String>> {
        let path = self.reference.join(crate::reference::files::COMUNI_ITALIA);
        let mut rdr = csv::Reader::from_path(&path).map_err(|e| Error::csv(&path, e))?;
        let mut set = HashSet::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| Error::csv(&path, e))?;
            if let Some(code) = rec.get(0) {
                set.insert(code.to_owned());
            }
        }
        Ok(set)
    }

    /// The res-10 cells: from the warehouse's `cells` table, else computed from the
    /// reference boundaries.
    async fn cells(&self, as_of: &AsOf) -> Result<CellIndexMap> {
        if self.wh.has_table("cells").await? {
            let batches =
                self.wh.query("select cell, comune_istat, municipio, nil_id from cells where res = 10", as_of).await?;
            let mut map = HashMap::new();
            for b in &batches {
                let cell = datafusion::arrow::compute::cast(b.column(0), &DataType::UInt64)?;
                let cell = cell.as_primitive::<UInt64Type>();
                let comune = utf8(b.column(1))?;
                let municipio = int64(b.column(2))?;
                let nil = int64(b.column(3))?;
                for i in 0..b.num_rows() {
                    let Ok(c) = h3o::CellIndex::try_from(cell.value(i)) else { continue };
                    let opt = |a: &datafusion::arrow::array::Int64Array| (!a.is_null(i)).then(|| a.value(i) as i32);
                    map.insert(
                        c,
                        CellPlace { comune: comune.value(i).to_owned(), municipio: opt(&municipio), nil: opt(&nil) },
                    );
                }
            }
            return Ok(CellIndexMap(map));
        }
        let reference = self.reference.clone();
        tokio::task::spawn_blocking(move || {
            let territory = crate::reference::Territory::load(&reference)?;
            crate::territory::cell_map(&territory, h3o::Resolution::Ten)
        })
        .await
        .map_err(|e| Error::Source { path: self.reference.clone(), message: e.to_string() })?
    }

    async fn crosswalk(&self, path: &Path, as_of: &AsOf, dry_run: bool) -> Result<HashMap<i64, (i32, String)>> {
        if !self.wh.has_table("census_crosswalk").await? {
            if dry_run {
                tracing::warn!("no census_crosswalk table yet: every section is checked as unmapped");
                return Ok(HashMap::new());
            }
            return Err(Error::Source {
                path: path.to_owned(),
                message: "the census needs the section → NIL crosswalk: run `mosaico ingest crosswalk <file>` first"
                    .into(),
            });
        }
        let batches = self.wh.query("select section, nil2012_id, nil2012_name from census_crosswalk", as_of).await?;
        let mut map = HashMap::new();
        for b in &batches {
            let (s, id, name) = (int64(b.column(0))?, int64(b.column(1))?, utf8(b.column(2))?);
            for i in 0..b.num_rows() {
                map.insert(s.value(i), (id.value(i) as i32, name.value(i).to_owned()));
            }
        }
        Ok(map)
    }

    /// The case ids in the `cases` table, if there is one.
    async fn case_ids(&self, as_of: &AsOf) -> Result<Option<HashSet<String>>> {
        if !self.wh.has_table("cases").await? {
            return Ok(None);
        }
        let batches = self.wh.query("select case_id from cases", as_of).await?;
        let mut ids = HashSet::new();
        for b in &batches {
            let a = utf8(b.column(0))?;
            for i in 0..b.num_rows() {
                ids.insert(a.value(i).to_owned());
            }
        }
        Ok(Some(ids))
    }

    fn nil2012(&self) -> Result<HashMap<String, (i32, String)>> {
        let set = mosaico_domain::territory::AreaSet::from_geojson(
            &self.reference.join(crate::reference::files::NIL_2012),
            "IDquartiere",
            Some("quartiere"),
        )?;
        Ok(set
            .areas()
            .iter()
            .filter_map(|a| {
                let id = a.id.parse::<i32>().ok()?;
                // One name in the published file is broken ("CITT\u{FFFD}").
                let name = a.name.replace("CITT\u{FFFD}", "CITTÀ");
                Some((crate::reference::normalise_name(&a.name), (id, name)))
            })
            .collect())
    }

    async fn context(
        &self,
        source: &str,
        path: &Path,
        cells: &Arc<CellIndexMap>,
        as_of: &AsOf,
        dry_run: bool,
    ) -> Result<Context> {
        let crosswalk = match source {
            "census" => self.crosswalk(path, as_of, dry_run).await?,
            _ => HashMap::new(),
        };
        let case_ids = match source {
            "interventions" => self.case_ids(as_of).await?.map(Arc::new),
            _ => None,
        };
        let nil2012 = if source == "crosswalk" { self.nil2012()? } else { HashMap::new() };
        Ok(Context {
            key: self.key.clone(),
            cells: cells.clone(),
            today: self.today,
            crosswalk: Arc::new(crosswalk),
            nil2012: Arc::new(nil2012),
            case_ids,
        })
    }

    /// Not the key: a keyed hash of a constant, so a changed key is seen as a change.
    fn key_fingerprint(&self) -> String {
        // The constant names the pseudonym form: a new form is seen as a new key.
        self.key.pseudonym("mosaico key fingerprint, 128-bit pseudonyms")[..16].to_owned()
    }

    fn fingerprint(&self, sha256: &str, spec: &Spec) -> Fingerprint {
        Fingerprint { sha256: sha256.to_owned(), key: self.key_fingerprint(), version: spec.version }
    }

    /// The fingerprint of the last completed load of a source (of one file or database
    /// when `file` is given).
    async fn last_loaded(&self, source: &str, file: Option<&str>) -> Result<Option<Fingerprint>> {
        if !self.wh.has_table(RUNS).await? {
            return Ok(None);
        }
        let quoted = |s: &str| s.replace('\'', "''");
        let of_file = file.map(|f| format!(" and file = '{}'", quoted(f))).unwrap_or_default();
        let sql = format!(
            "select sha256, key_fingerprint, spec_version from {RUNS} where source = '{}'{of_file} \
             and status = 'loaded' order by finished_at desc limit 1",
            quoted(source)
        );
        let batches = self.wh.query(&sql, &AsOf::Latest).await?;
        let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else { return Ok(None) };
        let text = |i: usize| -> Result<String> { Ok(utf8(b.column(i))?.value(0).to_owned()) };
        let version = int64(b.column(2))?.value(0);
        Ok(Some(Fingerprint { sha256: text(0)?, key: text(1)?, version: version as u32 }))
    }

    /// Loads the territory from a folder holding the NIL, Municipi and comuni GeoJSON
    /// (file names as in [`crate::reference::files`]): `areas` and `cells` together.
    pub async fn run_territory(&self, dir: &Path, opts: Options) -> Result<RunSummary> {
        use crate::reference::files;
        let started = Instant::now();
        let started_at = Utc::now();
        let mut h = Sha256::new();
        for f in [files::NIL, files::MUNICIPI, files::COMUNI] {
            h.update(sha256_file(&dir.join(f))?.as_bytes());
        }
        let sha256 = hex::encode(h.finalize());
        let fingerprint = Fingerprint { sha256: sha256.clone(), key: self.key_fingerprint(), version: 1 };
        let d = dir.to_owned();
        let territory = tokio::task::spawn_blocking(move || crate::reference::Territory::load(&d))
            .await
            .map_err(|e| Error::Source { path: dir.to_owned(), message: e.to_string() })??;
        let areas = (territory.nil.len() + territory.municipi.len() + territory.comuni.len()) as u64;
        let mut summary = RunSummary::new("territory", dir.to_owned(), sha256);
        (summary.read, summary.loaded) = (areas, areas);
        if opts.dry_run {
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            return Ok(summary);
        }
        if self.last_loaded("territory", None).await?.as_ref() == Some(&fingerprint) {
            summary.status = Status::Unchanged;
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            return Ok(summary);
        }
        let (cells, area_batch) = tokio::task::spawn_blocking(move || crate::load::territory_batches(&territory))
            .await
            .map_err(|e| Error::Source { path: dir.to_owned(), message: e.to_string() })??;
        summary.run_id = format!("{}-territory-{}", started_at.format("%Y%m%dT%H%M%S%.3fZ"), &summary.sha256[..8]);
        let run = self.wh.begin(&summary.run_id, "ingest territory", &["cells", "areas", RUNS]).await?;
        summary.set_recovered(&run);
        let written = async {
            summary.tables.insert("cells".into(), self.wh.write_table("cells", vec![cells]).await?);
            summary.tables.insert("areas".into(), self.wh.write_table("areas", vec![area_batch]).await?);
            summary.status = Status::Loaded;
            let times = (started_at.to_rfc3339(), Utc::now().to_rfc3339());
            let record = self.run_record(&summary, &dir.display().to_string(), &fingerprint, &times)?;
            self.wh.append_table(RUNS, vec![record]).await?;
            Ok::<_, Error>(())
        }
        .await;
        run.close(written).await?;
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(summary)
    }

    /// Loads one text source from `path`.
    pub async fn run(&self, source: &str, path: &Path, opts: Options) -> Result<RunSummary> {
        let mut all = self.run_set(&[(source.to_owned(), path.to_owned())], opts).await?;
        all.pop().ok_or_else(|| Error::Source { path: path.to_owned(), message: "nothing was run".into() })
    }

    /// Loads several text sources in one run: every header is checked before anything
    /// is written, and readers see all the tables change at once. Sources are taken in
    /// the order given (put what others refer to first: cases before interventions,
    /// the crosswalk before the census). A source whose every row is quarantined
    /// keeps its table's previous version; the others load.
    pub async fn run_set(&self, items: &[(String, PathBuf)], opts: Options) -> Result<Vec<RunSummary>> {
        let started_at = Utc::now();
        let specs: Vec<Spec> = items
            .iter()
            .map(|(source, path)| {
                sources::spec(source).ok_or_else(|| Error::Source {
                    path: path.clone(),
                    message: format!(
                        "unknown source '{source}'; the sources are: {}",
                        sources::TEXT_SOURCES.join(", ")
                    ),
                })
            })
            .collect::<Result<_>>()?;
        // Hash the files while everything else goes on: the hash decides only whether
        // a file was loaded before, and a file can only have been if its source's last
        // load used the same key and declaration. Otherwise nobody waits for it.
        let mut hashes: Vec<Option<Hashing>> = items
            .iter()
            .map(|(_, path)| {
                let path = path.clone();
                Some(tokio::task::spawn_blocking(move || sha256_file(&path)))
            })
            .collect();
        let needs_cells = specs.iter().any(|s| matches!(s.name, "registry" | "facilities"));
        let cells = async { if needs_cells { self.cells(&AsOf::Latest).await } else { Ok(CellIndexMap::default()) } };
        let last = async {
            let mut last = Vec::with_capacity(specs.len());
            for spec in &specs {
                last.push(if opts.dry_run { None } else { self.last_loaded(spec.name, None).await? });
            }
            Ok::<_, Error>(last)
        };
        let (cells, last) = tokio::try_join!(cells, last)?;
        let shared = Shared { comuni: Arc::new(self.comuni()?), cells: Arc::new(cells) };
        let mut done = Vec::new();
        let mut todo = Vec::new();
        for (i, (spec, (_, path))) in specs.into_iter().zip(items).enumerate() {
            // Header problems stop the run before anything is read or written.
            let file = TextFile::open(path, spec.delimiter, &spec.columns, spec.name)?;
            let mut summary = RunSummary::new(spec.name, path.clone(), String::new());
            let key = self.key_fingerprint();
            if let Some(last) = last[i].as_ref().filter(|l| l.key == key && l.version == spec.version)
                && let Some(hashing) = hashes[i].take()
            {
                let sha256 = file_hash(hashing, path).await?;
                if sha256 == last.sha256 {
                    summary.sha256 = sha256;
                    summary.status = Status::Unchanged;
                    done.push(summary);
                    continue;
                }
                summary.sha256 = sha256;
            }
            if !opts.dry_run {
                // The same source twice in one run: its later files are numbered.
                let earlier = items[..i].iter().filter(|(s, _)| *s == spec.name).count();
                let nth = if earlier > 0 { format!("-{}", earlier + 1) } else { String::new() };
                summary.run_id = format!("{}-{}{nth}", started_at.format("%Y%m%dT%H%M%S%.3fZ"), spec.name);
            }
            todo.push((spec, file, i, summary));
        }
        if todo.is_empty() {
            return Ok(done);
        }
        let run = if opts.dry_run {
            None
        } else {
            let mut tables: Vec<&str> = todo.iter().map(|(s, ..)| s.table).collect();
            tables.extend([QUARANTINE, RUNS]);
            let names: Vec<&str> = todo.iter().map(|(s, ..)| s.name).collect();
            Some(self.wh.begin(&todo[0].3.run_id, &format!("ingest {}", names.join(", ")), &tables).await?)
        };
        // What this run has committed so far, read explicitly (readers of the latest
        // tables are held at the versions before the run).
        let mut written: BTreeMap<String, u64> = BTreeMap::new();
        let mut quarantine = Vec::new();
        let mut records = Vec::new();
        for (spec, file, i, mut summary) in todo {
            let started = Instant::now();
            let as_of = if written.is_empty() { AsOf::Latest } else { AsOf::Tables(written.clone()) };
            let loaded = async {
                let outcome = self.load_one(&spec, file, &summary.file, &shared, &as_of, opts).await?;
                let sha256 = match hashes[i].take() {
                    None => summary.sha256.clone(),
                    Some(hashing) => file_hash(hashing, &summary.file).await?,
                };
                Ok::<_, Error>((outcome, sha256))
            };
            let outcome = match loaded.await {
                Ok((o, sha256)) => {
                    summary.sha256 = sha256;
                    o
                }
                Err(e) => {
                    if let Some(run) = run {
                        run.abort().await?;
                    }
                    return Err(e);
                }
            };
            let (outcome, version) = outcome;
            match version {
                Some(v) => {
                    written.insert(spec.table.to_owned(), v);
                    summary.tables.insert(spec.table.to_owned(), v);
                    summary.status = Status::Loaded;
                }
                None if (outcome.loaded == 0 && outcome.read > 0) || !opts.dry_run => summary.status = Status::Failed,
                None => {}
            }
            summary.read = outcome.read;
            summary.loaded = outcome.loaded;
            summary.set_quarantined(&outcome.quarantined);
            summary.latin1_fields = outcome.latin1;
            if let Some(run) = &run {
                summary.set_recovered(run);
            }
            summary.elapsed_ms = started.elapsed().as_millis() as u64;
            if run.is_some() {
                let now = Utc::now().to_rfc3339();
                let file_name = summary.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                if !outcome.quarantined.is_empty() {
                    quarantine.push(quarantine_batch(
                        &summary.run_id,
                        spec.name,
                        &file_name,
                        &now,
                        &outcome.quarantined,
                    )?);
                }
                let times = (started_at.to_rfc3339(), now);
                let fingerprint = self.fingerprint(&summary.sha256, &spec);
                records.push(self.run_record(&summary, &file_name, &fingerprint, &times)?);
            }
            done.push(summary);
        }
        if let Some(run) = run {
            let finished = async {
                if !quarantine.is_empty() {
                    self.wh.append_table(QUARANTINE, quarantine).await?;
                }
                self.wh.append_table(RUNS, records).await?;
                Ok::<_, Error>(())
            }
            .await;
            run.close(finished).await?;
        }
        Ok(done)
    }

    /// Reads one file and, unless this is a dry run, streams its good rows into its
    /// table. Returns what was read and the table's new version (`None`: nothing
    /// committed, because this is a dry run or no row passed).
    async fn load_one(
        &self,
        spec: &Spec,
        file: TextFile,
        path: &Path,
        shared: &Shared,
        as_of: &AsOf,
        opts: Options,
    ) -> Result<(Outcome, Option<u64>)> {
        let ctx = self.context(spec.name, path, &shared.cells, as_of, opts.dry_run).await?;
        let out_schema = sources::row_fn(spec.name, &ctx)
            .ok_or_else(|| Error::Source {
                path: path.to_owned(),
                message: format!("source '{}' has no row function", spec.name),
            })?
            .schema();
        let mut progress = Progress::new(spec.name, file.size, opts.progress);
        let comuni = shared.comuni.clone();
        let joined = |e: tokio::task::JoinError| Error::Source { path: path.to_owned(), message: e.to_string() };
        if opts.dry_run {
            let spec = spec.clone();
            let outcome = tokio::task::spawn_blocking(move || process(file, &spec, &ctx, &comuni, &mut progress, None))
                .await
                .map_err(joined)??;
            return Ok((outcome, None));
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<datafusion::error::Result<RecordBatch>>(2);
        let spec2 = spec.clone();
        let worker = tokio::task::spawn_blocking(move || {
            let result = process(file, &spec2, &ctx, &comuni, &mut progress, Some(tx.clone()));
            let abort = match &result {
                Ok(o) if o.loaded == 0 => Some("no row passed the checks".to_owned()),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            // Ending the stream in an error commits nothing.
            if let Some(why) = abort {
                let _ = tx.blocking_send(Err(datafusion::error::DataFusionError::Execution(why)));
            }
            result
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        let stream = Box::pin(RecordBatchStreamAdapter::new(out_schema.clone(), stream));
        let written = self.wh.write_stream(spec.table, out_schema, stream, Mode::Replace).await;
        let outcome = worker.await.map_err(joined)?;
        // When the writer failed, its error says why (the reader only saw it stop).
        let outcome = match (outcome, &written) {
            (Err(_), Err(_)) => {
                return Err(written.err().map(Error::from).unwrap_or_else(|| Error::Source {
                    path: path.to_owned(),
                    message: "the table writer stopped".into(),
                }));
            }
            (o, _) => o?,
        };
        match written {
            Ok(version) => Ok((outcome, Some(version))),
            Err(_) if outcome.loaded == 0 => Ok((outcome, None)),
            Err(e) => Err(e.into()),
        }
    }

    /// One row of `ingest_runs`.
    fn run_record(
        &self,
        summary: &RunSummary,
        file: &str,
        fp: &Fingerprint,
        (started, now): &(String, String),
    ) -> Result<RecordBatch> {
        use DataType::*;
        let schema = table_schema(&[
            ("run_id", Utf8, false),
            ("source", Utf8, false),
            ("file", Utf8, false),
            ("sha256", Utf8, false),
            ("key_fingerprint", Utf8, false),
            ("spec_version", Int32, false),
            ("status", Utf8, false),
            ("started_at", Utf8, false),
            ("finished_at", Utf8, false),
            ("rows_read", Int64, false),
            ("rows_loaded", Int64, false),
            ("rows_quarantined", Int64, false),
            ("reasons", Utf8, false),
            ("tables", Utf8, false),
            ("latin1_fields", Int64, false),
        ]);
        let mut t = TableBuilder::new(schema);
        t.str(0, Some(&summary.run_id));
        t.str(1, Some(&summary.source));
        t.str(2, Some(file));
        t.str(3, Some(&fp.sha256));
        t.str(4, Some(&fp.key));
        t.i32(5, Some(fp.version as i32));
        t.str(6, Some(summary.status.code()));
        t.str(7, Some(started));
        t.str(8, Some(now));
        t.i64(9, Some(summary.read as i64));
        t.i64(10, Some(summary.loaded as i64));
        t.i64(11, Some(summary.quarantined as i64));
        t.str(12, Some(&serde_json::to_string(&summary.reasons).unwrap_or_default()));
        t.str(13, Some(&serde_json::to_string(&summary.tables).unwrap_or_default()));
        t.i64(14, Some(summary.latin1_fields as i64));
        t.end_row()?;
        t.flush()?.ok_or_else(|| Error::Source { path: PathBuf::new(), message: "empty run record".into() })
    }
}
