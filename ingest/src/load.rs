//! The simple load of the foundation: the generator's source files into warehouse
//! tables, pseudonymised and placed on the H3 grid.
//!
//! Names, fiscal codes and street addresses stop here. Persons and households are
//! keyed by [`PseudonymKey`]; a home becomes an H3 res-10 cell with its NIL,
//! municipio and comune (residents at the conventional address of the homeless get
//! no cell and are counted at city level). A bad value stops the load with the
//! file, line and column; the warehouse keeps its previous version.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, StringBuilder, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use h3o::{LatLng, Resolution};
use mosaico_warehouse::Warehouse;

use crate::pseudonym::PseudonymKey;
use crate::reference::Territory;
use crate::samples::{columns, files};
use crate::territory::{self, CellIndexMap};
use crate::{Error, Result};

/// Rows per record batch.
const BATCH_ROWS: usize = 256 * 1024;

/// What was loaded: rows per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadSummary {
    /// Cells in `cells` (res 9 and 10).
    pub cells: u64,
    /// Areas in `areas`.
    pub areas: u64,
    /// Rows in `population`.
    pub population: u64,
    /// Rows in `isee`.
    pub isee: u64,
    /// Rows in `facilities`.
    pub facilities: u64,
    /// Rows in `cases`.
    pub cases: u64,
    /// Rows in `interventions`.
    pub interventions: u64,
}

/// Loads the boundary tables `areas` and `cells`, and returns the res-10 cell map.
pub async fn load_territory(wh: &Warehouse, territory: &Territory) -> Result<(CellIndexMap, LoadSummary)> {
    let maps: Vec<(Resolution, CellIndexMap)> = territory::RESOLUTIONS
        .iter()
        .map(|&r| territory::cell_map(territory, r).map(|m| (r, m)))
        .collect::<Result<_>>()?;
    let refs: Vec<(Resolution, &CellIndexMap)> = maps.iter().map(|(r, m)| (*r, m)).collect();
    let cells = territory::cells_batch(territory, &refs)?;
    let ten = maps.iter().find(|(r, _)| *r == Resolution::Ten).map(|(_, m)| m.clone()).unwrap_or_default();
    let areas = territory::areas_batch(territory)?;
    let summary = LoadSummary { cells: cells.num_rows() as u64, areas: areas.num_rows() as u64, ..Default::default() };
    wh.write_table("cells", vec![cells]).await?;
    wh.write_table("areas", vec![areas]).await?;
    Ok((ten, summary))
}

/// Loads the five source files in `dir` into `population`, `isee`, `facilities`,
/// `cases` and `interventions`. `today` sets the ages.
pub async fn load_sources(
    wh: &Warehouse,
    dir: &Path,
    key: &PseudonymKey,
    cells: &CellIndexMap,
    today: NaiveDate,
) -> Result<LoadSummary> {
    // Read and convert everything first, so a bad file stops the load before any write.
    let population = population(dir, key, cells, today)?;
    let isee = isee(dir, key)?;
    let facilities = facilities(dir, cells)?;
    let cases = cases(dir, key)?;
    let interventions = interventions(dir, key)?;
    let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows() as u64).sum::<u64>();
    let summary = LoadSummary {
        population: rows(&population),
        isee: rows(&isee),
        facilities: rows(&facilities),
        cases: rows(&cases),
        interventions: rows(&interventions),
        ..Default::default()
    };
    wh.write_table("population", population).await?;
    wh.write_table("isee", isee).await?;
    wh.write_table("facilities", facilities).await?;
    wh.write_table("cases", cases).await?;
    wh.write_table("interventions", interventions).await?;
    Ok(summary)
}

/// A typed column under construction.
enum Builder {
    Str(StringBuilder),
    I32(Int32Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Date(Date32Builder),
    Bool(BooleanBuilder),
}

impl Builder {
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::I32(b) => Arc::new(b.finish()),
            Builder::U64(b) => Arc::new(b.finish()),
            Builder::F64(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

/// Builds record batches of a fixed schema, row by row.
struct TableBuilder {
    schema: Arc<Schema>,
    cols: Vec<Builder>,
    rows: usize,
    batches: Vec<RecordBatch>,
}

impl TableBuilder {
    fn new(fields: &[(&str, DataType, bool)]) -> Self {
        let schema = Arc::new(Schema::new(
            fields.iter().map(|(n, t, null)| Field::new(*n, t.clone(), *null)).collect::<Vec<_>>(),
        ));
        let cols = Self::builders(&schema);
        Self { schema, cols, rows: 0, batches: Vec::new() }
    }

    fn builders(schema: &Schema) -> Vec<Builder> {
        schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int32 => Builder::I32(Int32Builder::new()),
                DataType::UInt64 => Builder::U64(UInt64Builder::new()),
                DataType::Float64 => Builder::F64(Float64Builder::new()),
                DataType::Date32 => Builder::Date(Date32Builder::new()),
                DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
                _ => Builder::Str(StringBuilder::new()),
            })
            .collect()
    }

    fn str(&mut self, i: usize, v: Option<&str>) {
        if let Builder::Str(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    fn i32(&mut self, i: usize, v: Option<i32>) {
        if let Builder::I32(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    fn u64(&mut self, i: usize, v: Option<u64>) {
        if let Builder::U64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    fn f64(&mut self, i: usize, v: Option<f64>) {
        if let Builder::F64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    fn date(&mut self, i: usize, v: Option<NaiveDate>) {
        if let Builder::Date(b) = &mut self.cols[i] {
            b.append_option(v.map(|d| d.num_days_from_ce() - EPOCH_DAYS_FROM_CE));
        }
    }
    fn bool(&mut self, i: usize, v: bool) {
        if let Builder::Bool(b) = &mut self.cols[i] {
            b.append_value(v);
        }
    }

    fn end_row(&mut self) -> Result<()> {
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows > 0 {
            let arrays = self.cols.iter_mut().map(Builder::finish).collect();
            self.batches.push(RecordBatch::try_new(self.schema.clone(), arrays)?);
            self.rows = 0;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<RecordBatch>> {
        self.flush()?;
        if self.batches.is_empty() {
            self.batches.push(RecordBatch::new_empty(self.schema.clone()));
        }
        Ok(self.batches)
    }
}

/// Days from 0001-01-01 to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A CSV source read with its header, giving typed values with precise errors.
struct Source {
    path: PathBuf,
    reader: csv::Reader<std::fs::File>,
    header: Vec<String>,
}

struct Row<'a> {
    path: &'a Path,
    header: &'a [String],
    line: u64,
    rec: csv::StringRecord,
    idx: &'a [usize],
}

impl Source {
    fn open(dir: &Path, name: &str) -> Result<Self> {
        let path = dir.join(name);
        let mut reader = csv::Reader::from_path(&path).map_err(|e| Error::csv(&path, e))?;
        let header = reader.headers().map_err(|e| Error::csv(&path, e))?.iter().map(str::to_owned).collect();
        Ok(Self { path, reader, header })
    }

    /// Positions of the named columns; a missing column is an error naming it.
    fn columns(&self, names: &[&str]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.header.iter().position(|h| h == n).ok_or_else(|| Error::Source {
                    path: self.path.clone(),
                    message: format!("missing column '{n}' (the header has: {})", self.header.join(", ")),
                })
            })
            .collect()
    }

    fn each(self, names: &[&str], mut f: impl FnMut(&Row<'_>) -> Result<()>) -> Result<()> {
        let idx = self.columns(names)?;
        let Source { path, mut reader, header } = self;
        let mut rec = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {
                    let line = rec.position().map_or(0, |p| p.line());
                    let row = Row { path: &path, header: &header, line, rec: std::mem::take(&mut rec), idx: &idx };
                    f(&row)?;
                    rec = row.rec;
                }
                Err(e) => return Err(Error::csv(&path, e)),
            }
        }
        Ok(())
    }
}

impl Row<'_> {
    fn err(&self, col: usize, message: String) -> Error {
        let name = self.header.get(self.idx[col]).map_or("?", String::as_str);
        Error::Source { path: self.path.to_owned(), message: format!("line {}, column '{name}': {message}", self.line) }
    }

    fn raw(&self, col: usize) -> &str {
        self.rec.get(self.idx[col]).unwrap_or("").trim()
    }

    fn opt(&self, col: usize) -> Option<&str> {
        Some(self.raw(col)).filter(|s| !s.is_empty())
    }

    fn req(&self, col: usize) -> Result<&str> {
        self.opt(col).ok_or_else(|| self.err(col, "is empty".into()))
    }

    fn f64(&self, col: usize) -> Result<Option<f64>> {
        self.opt(col)
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| self.err(col, format!("'{s}' is not a number")))
            })
            .transpose()
    }

    fn int(&self, col: usize) -> Result<Option<i32>> {
        self.opt(col)
            .map(|s| s.parse::<i32>().map_err(|_| self.err(col, format!("'{s}' is not a whole number"))))
            .transpose()
    }

    fn date(&self, col: usize) -> Result<Option<NaiveDate>> {
        self.opt(col)
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| self.err(col, format!("'{s}' is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    }
}

/// Where a row's coordinates fall.
#[derive(Debug, Clone, Copy)]
struct Home {
    cell: u64,
    nil: Option<i32>,
    municipio: Option<i32>,
}

fn cell_of(row: &Row<'_>, lat_col: usize, lng_col: usize, cells: &CellIndexMap) -> Result<Option<Home>> {
    let (Some(lat), Some(lng)) = (row.f64(lat_col)?, row.f64(lng_col)?) else { return Ok(None) };
    let ll =
        LatLng::new(lat, lng).map_err(|e| row.err(lat_col, format!("({lat}, {lng}) is not a valid position: {e}")))?;
    let cell = ll.to_cell(Resolution::Ten);
    let place = cells.get(cell);
    Ok(Some(Home { cell: u64::from(cell), nil: place.and_then(|p| p.nil), municipio: place.and_then(|p| p.municipio) }))
}

fn population(dir: &Path, key: &PseudonymKey, cells: &CellIndexMap, today: NaiveDate) -> Result<Vec<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(&[
        ("person_key", Utf8, false),
        ("household_key", Utf8, false),
        ("sex", Utf8, false),
        ("birth_year", Int32, false),
        ("age", Int32, false),
        ("citizenship", Utf8, false),
        ("foreign", Boolean, false),
        ("relation", Utf8, true),
        ("comune_istat", Utf8, false),
        ("homeless", Boolean, false),
        ("h3_10", UInt64, true),
        ("nil_id", Int32, true),
        ("municipio", Int32, true),
    ]);
    let src = Source::open(dir, files::REGISTRY)?;
    let cols: &[&str] = &[
        "codice_fiscale",
        "id_famiglia",
        "sesso",
        "data_nascita",
        "cittadinanza",
        "relazione_parentela",
        "codice_istat_comune",
        "latitudine",
        "longitudine",
    ];
    src.each(cols, |r| {
        let cf = mosaico_domain::FiscalCode::parse(r.req(0)?).map_err(|e| r.err(0, e.to_string()))?;
        let sex = r.req(2)?;
        if sex != "M" && sex != "F" {
            return Err(r.err(2, format!("'{sex}' is not M or F")));
        }
        let born = r.date(3)?.ok_or_else(|| r.err(3, "is empty".into()))?;
        if born > today {
            return Err(r.err(3, format!("{born} is in the future")));
        }
        let age = today.year() - born.year() - i32::from((today.month(), today.day()) < (born.month(), born.day()));
        let citizenship = r.req(4)?;
        let comune = mosaico_domain::IstatCode::parse(r.req(6)?).map_err(|e| r.err(6, e.to_string()))?;
        let place = cell_of(r, 7, 8, cells)?;
        t.str(0, Some(&key.pseudonym(cf.as_str())));
        t.str(1, Some(&key.pseudonym(r.req(1)?)));
        t.str(2, Some(sex));
        t.i32(3, Some(born.year()));
        t.i32(4, Some(age));
        t.str(5, Some(citizenship));
        t.bool(6, citizenship != "IT");
        t.str(7, r.opt(5));
        t.str(8, Some(comune.as_str()));
        t.bool(9, place.is_none());
        t.u64(10, place.map(|p| p.cell));
        t.i32(11, place.and_then(|p| p.nil));
        t.i32(12, place.and_then(|p| p.municipio));
        t.end_row()
    })?;
    t.finish()
}

fn isee(dir: &Path, key: &PseudonymKey) -> Result<Vec<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(&[
        ("household_key", Utf8, false),
        ("isee_type", Utf8, false),
        ("isee_eur", Float64, false),
        ("issued_on", Date32, false),
        ("valid_until", Date32, false),
    ]);
    let src = Source::open(dir, files::ISEE)?;
    src.each(&["id_famiglia", "tipo_isee", "valore_isee", "data_presentazione", "data_scadenza"], |r| {
        let value = r.f64(2)?.ok_or_else(|| r.err(2, "is empty".into()))?;
        if value < 0.0 {
            return Err(r.err(2, format!("{value} is negative")));
        }
        t.str(0, Some(&key.pseudonym(r.req(0)?)));
        t.str(1, Some(r.req(1)?));
        t.f64(2, Some(value));
        t.date(3, Some(r.date(3)?.ok_or_else(|| r.err(3, "is empty".into()))?));
        t.date(4, Some(r.date(4)?.ok_or_else(|| r.err(4, "is empty".into()))?));
        t.end_row()
    })?;
    t.finish()
}

fn facilities(dir: &Path, cells: &CellIndexMap) -> Result<Vec<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(&[
        ("facility_id", Utf8, false),
        ("name", Utf8, false),
        ("facility_type", Utf8, false),
        ("area_utenza", Utf8, false),
        ("capacity", Int32, false),
        ("daily_fee_eur", Float64, false),
        ("comune_istat", Utf8, false),
        ("h3_10", UInt64, true),
        ("nil_id", Int32, true),
        ("municipio", Int32, true),
        ("opened_on", Date32, true),
    ]);
    let src = Source::open(dir, files::FACILITIES)?;
    let cols: &[&str] = &[
        "id_struttura",
        "denominazione",
        "tipologia",
        "area_utenza",
        "posti",
        "retta_giornaliera",
        "codice_istat_comune",
        "latitudine",
        "longitudine",
        "data_apertura",
    ];
    src.each(cols, |r| {
        let area: mosaico_domain::AreaUtenza =
            r.req(3)?.parse().map_err(|e: mosaico_domain::UnknownArea| r.err(3, e.to_string()))?;
        let capacity = r.int(4)?.ok_or_else(|| r.err(4, "is empty".into()))?;
        if capacity <= 0 {
            return Err(r.err(4, format!("{capacity} places: a facility has at least one")));
        }
        let place = cell_of(r, 7, 8, cells)?;
        t.str(0, Some(r.req(0)?));
        t.str(1, Some(r.req(1)?));
        t.str(2, Some(r.req(2)?));
        t.str(3, Some(area.code()));
        t.i32(4, Some(capacity));
        t.f64(5, r.f64(5)?);
        t.str(6, Some(mosaico_domain::IstatCode::parse(r.req(6)?).map_err(|e| r.err(6, e.to_string()))?.as_str()));
        t.u64(7, place.map(|p| p.cell));
        t.i32(8, place.and_then(|p| p.nil));
        t.i32(9, place.and_then(|p| p.municipio));
        t.date(10, r.date(9)?);
        t.end_row()
    })?;
    t.finish()
}

fn cases(dir: &Path, key: &PseudonymKey) -> Result<Vec<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(&[
        ("case_id", Utf8, false),
        ("person_key", Utf8, false),
        ("ente", Utf8, false),
        ("area_utenza", Utf8, false),
        ("opened_on", Date32, false),
        ("closed_on", Date32, true),
        ("closure_reason", Utf8, true),
        ("social_worker", Utf8, true),
        ("need_score", Int32, true),
    ]);
    let src = Source::open(dir, files::CASES)?;
    let cols = columns::CASES;
    src.each(cols, |r| {
        let opened = r.date(4)?.ok_or_else(|| r.err(4, "is empty".into()))?;
        let closed = r.date(5)?;
        if closed.is_some_and(|c| c < opened) {
            return Err(r.err(5, format!("closed before it was opened ({opened})")));
        }
        let area: mosaico_domain::AreaUtenza =
            r.req(3)?.parse().map_err(|e: mosaico_domain::UnknownArea| r.err(3, e.to_string()))?;
        t.str(0, Some(r.req(0)?));
        t.str(1, Some(&key.pseudonym(r.req(1)?)));
        t.str(2, Some(mosaico_domain::IstatCode::parse(r.req(2)?).map_err(|e| r.err(2, e.to_string()))?.as_str()));
        t.str(3, Some(area.code()));
        t.date(4, Some(opened));
        t.date(5, closed);
        t.str(6, r.opt(6));
        t.str(7, r.opt(7));
        t.i32(8, r.int(8)?);
        t.end_row()
    })?;
    t.finish()
}

fn interventions(dir: &Path, key: &PseudonymKey) -> Result<Vec<RecordBatch>> {
    use DataType::*;
    let mut t = TableBuilder::new(&[
        ("intervention_id", Utf8, false),
        ("case_id", Utf8, false),
        ("person_key", Utf8, false),
        ("service_code", Utf8, false),
        ("area_utenza", Utf8, false),
        ("spending_type", Utf8, false),
        ("facility_id", Utf8, true),
        ("start_date", Date32, false),
        ("end_date", Date32, false),
        ("quantity", Float64, false),
        ("unit", Utf8, false),
        ("unit_cost_eur", Float64, false),
        ("amount_eur", Float64, false),
        ("quota_ente_eur", Float64, false),
        ("quota_utente_eur", Float64, false),
        ("quota_ssn_eur", Float64, false),
    ]);
    let src = Source::open(dir, files::INTERVENTIONS)?;
    let cols = columns::INTERVENTIONS;
    // The same person appears on many rows: hash each fiscal code once.
    let mut last: (String, String) = (String::new(), String::new());
    src.each(cols, |r| {
        let start = r.date(7)?.ok_or_else(|| r.err(7, "is empty".into()))?;
        let end = r.date(8)?.ok_or_else(|| r.err(8, "is empty".into()))?;
        if end < start {
            return Err(r.err(8, format!("ends before it starts ({start})")));
        }
        let cf = r.req(2)?;
        if last.0 != cf {
            last = (cf.to_owned(), key.pseudonym(cf));
        }
        let money = |c: usize| -> Result<f64> { r.f64(c)?.ok_or_else(|| r.err(c, "is empty".into())) };
        let (amount, ente, utente, ssn) = (money(12)?, money(13)?, money(14)?, money(15)?);
        if (ente + utente + ssn - amount).abs() > 0.011 {
            return Err(r.err(
                12,
                format!("{amount:.2} is not quota ente + utente + SSN ({ente:.2} + {utente:.2} + {ssn:.2})"),
            ));
        }
        t.str(0, Some(r.req(0)?));
        t.str(1, Some(r.req(1)?));
        t.str(2, Some(&last.1));
        t.str(3, Some(r.req(3)?));
        t.str(4, Some(r.req(4)?));
        t.str(5, Some(r.req(5)?));
        t.str(6, r.opt(6));
        t.date(7, Some(start));
        t.date(8, Some(end));
        t.f64(9, Some(money(9)?));
        t.str(10, Some(r.req(10)?));
        t.f64(11, Some(money(11)?));
        t.f64(12, Some(amount));
        t.f64(13, Some(ente));
        t.f64(14, Some(utente));
        t.f64(15, Some(ssn));
        t.end_row()
    })?;
    t.finish()
}
