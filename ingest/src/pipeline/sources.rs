//! The declared sources: for each, its file format, columns and rules, the table it
//! feeds and the row function that checks what crosses columns and builds the row.
//!
//! A row function checks everything before it writes anything, so a rejected row
//! leaves no trace in the table under construction.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock};

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use h3o::{LatLng, Resolution};
use mosaico_domain::{AreaUtenza, FiscalCode, Sex};

use super::schema::{Column, Kind, Reject, Value};
use super::table::{TableBuilder, schema};
use crate::pseudonym::{PSEUDONYM_LEN, PseudonymKey};
use crate::territory::CellIndexMap;

/// What the row functions need besides the row.
#[derive(Debug, Clone)]
pub struct Context {
    /// The pseudonymisation key.
    pub key: PseudonymKey,
    /// The res-10 cells of the territory, with their comune, municipio and NIL.
    pub cells: Arc<CellIndexMap>,
    /// Ages and "in the future" are as of this day.
    pub today: NaiveDate,
    /// Census section → NIL 2012 (id, official name), from the `census_crosswalk` table.
    pub crosswalk: Arc<HashMap<i64, (i32, String)>>,
    /// NIL 2012 by normalised name → (id, official name).
    pub nil2012: Arc<HashMap<String, (i32, String)>>,
    /// The case ids interventions may refer to (`None`: no cases loaded, not checked).
    pub case_ids: Option<Arc<HashSet<String>>>,
}

/// One declared source.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its name on the command line, e.g. `registry`.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// The warehouse table it replaces.
    pub table: &'static str,
    /// Field delimiter.
    pub delimiter: u8,
    /// The columns whose values identify a row (duplicates are quarantined).
    pub key: &'static [&'static str],
    /// The declared columns.
    pub columns: Vec<Column>,
    /// Version of this declaration and its row function: a new version loads an
    /// unchanged file again.
    pub version: u32,
}

impl Spec {
    /// Position of a declared column.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Builds one output row from one checked input row.
pub(crate) trait RowFn: Send {
    /// The output table's schema.
    fn schema(&self) -> SchemaRef;
    /// Checks what crosses columns and appends the row, or rejects it.
    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject>;
}

fn codes(list: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    list.collect()
}

static AREAS: LazyLock<Vec<&'static str>> = LazyLock::new(|| codes(AreaUtenza::ALL.iter().map(|a| a.code())));
static FACILITY_TYPES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| codes(mosaico_domain::services::FACILITY_TYPES.iter().map(|f| f.code)));
static SPENDING: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| codes(mosaico_domain::services::Spending::ALL.iter().map(|s| s.code())));
static UNITS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| codes(mosaico_domain::services::Unit::ALL.iter().map(|u| u.code())));
static SERVICES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| codes(mosaico_domain::services::SERVICES.iter().map(|s| s.code)));
const ISEE_TYPES: &[&str] =
    &["ordinario", "minorenni", "universitario", "sociosanitario", "sociosanitario_residenziale", "corrente"];
const SEXES: &[&str] = &["M", "F"];

const MONEY: Kind = Kind::Decimal { min: 0.0, max: 10_000_000.0 };

/// The sources read from delimited text.
pub const TEXT_SOURCES: &[&str] = &["registry", "isee", "facilities", "cases", "interventions", "census", "crosswalk"];

/// The declaration of a text source.
pub fn spec(name: &str) -> Option<Spec> {
    use Column as C;
    use Kind::*;
    let s = match name {
        "registry" => Spec {
            name: "registry",
            about: "civil-registry export: one row per resident",
            table: "population",
            delimiter: b',',
            key: &["codice_fiscale"],
            columns: vec![
                C::req("codice_fiscale", FiscalCode).personal(),
                C::dropped("cognome"),
                C::dropped("nome"),
                C::req("sesso", Code(SEXES)),
                C::req("data_nascita", Date),
                C::dropped("luogo_nascita"),
                C::req("cittadinanza", Text),
                C::req("id_famiglia", Text).personal(),
                C::opt("relazione_parentela", Text),
                C::dropped("indirizzo"),
                C::opt("latitudine", Latitude),
                C::opt("longitudine", Longitude),
                C::req("codice_istat_comune", Comune),
            ],
            version: 1,
        },
        "isee" => Spec {
            name: "isee",
            about: "ISEE declarations: one row per household declaration",
            table: "isee",
            delimiter: b',',
            key: &["protocollo"],
            columns: vec![
                C::req("protocollo", Text),
                C::req("id_famiglia", Text).personal(),
                C::opt("codice_fiscale_dichiarante", FiscalCode).personal(),
                C::req("tipo_isee", Code(ISEE_TYPES)),
                C::req("valore_isee", MONEY),
                C::req("data_presentazione", Date),
                C::req("data_scadenza", Date),
            ],
            version: 1,
        },
        "facilities" => Spec {
            name: "facilities",
            about: "the registry of social facilities (CSV or XLSX)",
            table: "facilities",
            delimiter: b',',
            key: &["id_struttura"],
            columns: vec![
                C::req("id_struttura", Text),
                C::req("denominazione", Text),
                C::req("tipologia", Code(&FACILITY_TYPES)),
                C::req("area_utenza", Code(&AREAS)),
                C::req("posti", Int { min: 1, max: 10_000 }),
                C::opt("retta_giornaliera", Decimal { min: 0.0, max: 10_000.0 }),
                C::opt("indirizzo", Text).personal(),
                C::opt("latitudine", Latitude),
                C::opt("longitudine", Longitude),
                C::req("codice_istat_comune", Comune),
                C::opt("data_apertura", Date),
            ],
            version: 1,
        },
        "cases" => Spec {
            name: "cases",
            about: "case files exported by a case-management system",
            table: "cases",
            delimiter: b',',
            key: &["id_cartella"],
            columns: vec![
                C::req("id_cartella", Text),
                C::req("codice_fiscale", FiscalCode).personal(),
                C::req("ente", Comune),
                C::req("area_utenza", Code(&AREAS)),
                C::req("data_apertura", Date),
                C::opt("data_chiusura", Date),
                C::opt("motivo_chiusura", Text),
                C::opt("assistente_sociale", Text),
                C::opt("punteggio_bisogno", Int { min: 0, max: 100 }),
            ],
            version: 1,
        },
        "interventions" => Spec {
            name: "interventions",
            about: "services delivered (erogazioni): one row per month or one-off",
            table: "interventions",
            delimiter: b',',
            key: &["id_intervento"],
            columns: vec![
                C::req("id_intervento", Text),
                C::req("id_cartella", Text),
                C::req("codice_fiscale", FiscalCode).personal(),
                C::req("codice_servizio", Code(&SERVICES)),
                C::req("area_utenza", Code(&AREAS)),
                C::req("tipo_spesa", Code(&SPENDING)),
                C::opt("id_struttura", Text),
                C::req("data_inizio", Date),
                C::req("data_fine", Date),
                C::req("quantita", Decimal { min: 0.0, max: 100_000.0 }),
                C::req("unita", Code(&UNITS)),
                C::req("costo_unitario", MONEY),
                C::req("importo", MONEY),
                C::req("quota_ente", MONEY),
                C::req("quota_utente", MONEY),
                C::req("quota_ssn", MONEY),
            ],
            version: 1,
        },
        "census" => Spec {
            name: "census",
            about: "ISTAT 2011 census by section (';'-separated)",
            table: "census_sections",
            delimiter: b';',
            key: &["SEZ2011"],
            columns: census_columns(),
            version: 1,
        },
        "crosswalk" => Spec {
            name: "crosswalk",
            about: "census section 2011 → NIL 2012 lookup",
            table: "census_crosswalk",
            delimiter: b',',
            key: &["SEZ2011"],
            columns: vec![C::req("SEZ2011", Int { min: 1, max: 999_999_999_999 }), C::req("NIL", Text)],
            version: 1,
        },
        _ => return None,
    };
    Some(s)
}

/// The census counts Mosaico keeps: residents by sex and age, foreign residents,
/// households by size.
fn census_counts() -> Vec<String> {
    let mut names: Vec<String> = (1..=3).chain(14..=45).map(|i| format!("P{i}")).collect();
    names.extend((1..=15).map(|i| format!("ST{i}")));
    names.extend((1..=9).map(|i| format!("PF{i}")));
    names
}

fn census_columns() -> Vec<Column> {
    let mut cols = vec![
        Column::req("SEZ2011", Kind::Int { min: 1, max: 999_999_999_999 }),
        Column::req("ACE", Kind::Int { min: 0, max: 9_999 }),
    ];
    cols.extend(census_counts().into_iter().map(|n| Column::req(&n, Kind::Int { min: 0, max: 100_000 })));
    cols
}

/// The row function of a text source.
pub(crate) fn row_fn(name: &str, ctx: &Context) -> Option<Box<dyn RowFn>> {
    Some(match name {
        "registry" => {
            Box::new(Registry { ctx: ctx.clone(), last_household: (String::new(), String::new()), last_home: None })
        }
        "isee" => Box::new(Isee { ctx: ctx.clone() }),
        "facilities" => Box::new(Facilities { ctx: ctx.clone() }),
        "cases" => Box::new(Cases { ctx: ctx.clone() }),
        "interventions" => Box::new(Interventions { ctx: ctx.clone(), last: (String::new(), String::new()) }),
        "census" => Box::new(Census { ctx: ctx.clone() }),
        "crosswalk" => Box::new(Crosswalk { ctx: ctx.clone() }),
        _ => return None,
    })
}

/// Where a pair of coordinates falls.
#[derive(Debug, Clone, Copy)]
struct Place {
    cell: u64,
    nil: Option<i32>,
    municipio: Option<i32>,
}

/// The place of optional coordinates: both or neither, and inside the territory.
fn place(cells: &CellIndexMap, lat: &Value<'_>, lng: &Value<'_>, lat_name: &str) -> Result<Option<Place>, Reject> {
    match (lat.num(), lng.num()) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => {
            Err(Reject::at(lat_name, "missing_value", "latitude and longitude come together: one of them is empty"))
        }
        (Some(lat), Some(lng)) => {
            let cell = LatLng::new(lat, lng)
                .map_err(|e| Reject::at(lat_name, "out_of_range", format!("({lat}, {lng}): {e}")))?
                .to_cell(Resolution::Ten);
            let p = cells.get(cell).ok_or_else(|| {
                Reject::at(
                    lat_name,
                    "outside_territory",
                    format!("({lat:.5}, {lng:.5}) is outside the comuni of the territory"),
                )
            })?;
            Ok(Some(Place { cell: u64::from(cell), nil: p.nil, municipio: p.municipio }))
        }
    }
}

fn cf<'v>(v: &'v Value<'_>) -> Option<&'v FiscalCode> {
    match v {
        Value::FiscalCode(c) => Some(c),
        _ => None,
    }
}

fn comune<'v>(v: &'v Value<'_>) -> Option<&'v str> {
    match v {
        Value::Comune(c) => Some(c.as_str()),
        _ => None,
    }
}

fn not_future(col: &str, d: NaiveDate, today: NaiveDate) -> Result<NaiveDate, Reject> {
    if d > today {
        return Err(Reject::at(col, "incoherent_dates", format!("{d} is in the future")));
    }
    Ok(d)
}

fn ordered(col: &str, from: NaiveDate, to: NaiveDate, what: &str) -> Result<(), Reject> {
    if to < from {
        return Err(Reject::at(col, "incoherent_dates", format!("{to} is before {what} ({from})")));
    }
    Ok(())
}

/// Schema of `population`.
pub fn population_schema() -> SchemaRef {
    use DataType::*;
    schema(&[
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
    ])
}

struct Registry {
    ctx: Context,
    /// The last household id and its pseudonym: members of a household come together.
    last_household: (String, String),
    /// The last home's coordinates and place: they share their home too.
    last_home: Option<((u64, u64), Option<Place>)>,
}

impl RowFn for Registry {
    fn schema(&self) -> SchemaRef {
        population_schema()
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let code = cf(&v[0]).ok_or_else(|| Reject::at("codice_fiscale", "missing_value", "is empty"))?;
        let sex = v[3].text().unwrap_or_default();
        let born = not_future("data_nascita", v[4].date().unwrap_or_default(), self.ctx.today)?;
        let sex_enum = if sex == "F" { Sex::F } else { Sex::M };
        if !code.is_temporary() && !code.agrees_with(born, sex_enum) {
            return Err(Reject::at(
                "codice_fiscale",
                "fiscal_code_mismatch",
                format!("the fiscal code does not agree with data_nascita {born} and sesso {sex}"),
            ));
        }
        let today = self.ctx.today;
        let age = today.year() - born.year() - i32::from((today.month(), today.day()) < (born.month(), born.day()));
        if age > 120 {
            return Err(Reject::at("data_nascita", "out_of_range", format!("{born} gives an age of {age}")));
        }
        let citizenship = v[6].text().unwrap_or_default();
        if citizenship.len() != 2 || !citizenship.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Reject::at(
                "cittadinanza",
                "bad_code",
                format!("'{citizenship}' is not an ISO 3166 country code (two capital letters, e.g. IT)"),
            ));
        }
        let coords = (v[10].num().map_or(u64::MAX, f64::to_bits), v[11].num().map_or(u64::MAX, f64::to_bits));
        let home = match self.last_home {
            Some((c, home)) if c == coords => home,
            _ => {
                let home = place(&self.ctx.cells, &v[10], &v[11], "latitudine")?;
                self.last_home = Some((coords, home));
                home
            }
        };
        let household = v[7].text().unwrap_or_default();
        if self.last_household.0 != household {
            self.last_household = (household.to_owned(), self.ctx.key.pseudonym(household));
        }
        t.str(0, Some(self.ctx.key.pseudonym_in(code.as_str(), &mut [0; PSEUDONYM_LEN])));
        t.str(1, Some(&self.last_household.1));
        t.str(2, Some(sex));
        t.i32(3, Some(born.year()));
        t.i32(4, Some(age));
        t.str(5, Some(citizenship));
        t.bool(6, citizenship != "IT");
        t.str(7, v[8].text());
        t.str(8, comune(&v[12]));
        t.bool(9, home.is_none());
        t.u64(10, home.map(|p| p.cell));
        t.i32(11, home.and_then(|p| p.nil));
        t.i32(12, home.and_then(|p| p.municipio));
        Ok(())
    }
}

struct Isee {
    ctx: Context,
}

impl RowFn for Isee {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        schema(&[
            ("household_key", Utf8, false),
            ("isee_type", Utf8, false),
            ("isee_eur", Float64, false),
            ("issued_on", Date32, false),
            ("valid_until", Date32, false),
        ])
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let issued = not_future("data_presentazione", v[5].date().unwrap_or_default(), self.ctx.today)?;
        let until = v[6].date().unwrap_or_default();
        ordered("data_scadenza", issued, until, "data_presentazione")?;
        t.str(0, Some(self.ctx.key.pseudonym_in(v[1].text().unwrap_or_default(), &mut [0; PSEUDONYM_LEN])));
        t.str(1, v[3].text());
        t.f64(2, v[4].num());
        t.date(3, Some(issued));
        t.date(4, Some(until));
        Ok(())
    }
}

struct Facilities {
    ctx: Context,
}

impl RowFn for Facilities {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        schema(&[
            ("facility_id", Utf8, false),
            ("name", Utf8, false),
            ("facility_type", Utf8, false),
            ("area_utenza", Utf8, false),
            ("capacity", Int32, false),
            ("daily_fee_eur", Float64, true),
            ("comune_istat", Utf8, false),
            ("h3_10", UInt64, true),
            ("nil_id", Int32, true),
            ("municipio", Int32, true),
            ("opened_on", Date32, true),
        ])
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let opened = v[10].date().map(|d| not_future("data_apertura", d, self.ctx.today)).transpose()?;
        let at = place(&self.ctx.cells, &v[7], &v[8], "latitudine")?;
        t.str(0, v[0].text());
        t.str(1, v[1].text());
        t.str(2, v[2].text());
        t.str(3, v[3].text());
        t.i32(4, v[4].int().map(|c| c as i32));
        t.f64(5, v[5].num());
        t.str(6, comune(&v[9]));
        t.u64(7, at.map(|p| p.cell));
        t.i32(8, at.and_then(|p| p.nil));
        t.i32(9, at.and_then(|p| p.municipio));
        t.date(10, opened);
        Ok(())
    }
}

struct Cases {
    ctx: Context,
}

impl RowFn for Cases {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        schema(&[
            ("case_id", Utf8, false),
            ("person_key", Utf8, false),
            ("ente", Utf8, false),
            ("area_utenza", Utf8, false),
            ("opened_on", Date32, false),
            ("closed_on", Date32, true),
            ("closure_reason", Utf8, true),
            ("social_worker", Utf8, true),
            ("need_score", Int32, true),
        ])
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let opened = not_future("data_apertura", v[4].date().unwrap_or_default(), self.ctx.today)?;
        let closed = v[5].date();
        if let Some(c) = closed {
            ordered("data_chiusura", opened, c, "data_apertura")?;
            not_future("data_chiusura", c, self.ctx.today)?;
        }
        let code = cf(&v[1]).map(FiscalCode::as_str).unwrap_or_default();
        t.str(0, v[0].text());
        t.str(1, Some(self.ctx.key.pseudonym_in(code, &mut [0; PSEUDONYM_LEN])));
        t.str(2, comune(&v[2]));
        t.str(3, v[3].text());
        t.date(4, Some(opened));
        t.date(5, closed);
        t.str(6, v[6].text());
        t.str(7, v[7].text());
        t.i32(8, v[8].int().map(|s| s as i32));
        Ok(())
    }
}

struct Interventions {
    ctx: Context,
    /// The last fiscal code and its pseudonym: the same person fills many rows.
    last: (String, String),
}

impl RowFn for Interventions {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        schema(&[
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
        ])
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let start = v[7].date().unwrap_or_default();
        let end = v[8].date().unwrap_or_default();
        ordered("data_fine", start, end, "data_inizio")?;
        let case_id = v[1].text().unwrap_or_default();
        if let Some(ids) = &self.ctx.case_ids
            && !ids.contains(case_id)
        {
            return Err(Reject::at(
                "id_cartella",
                "unknown_reference",
                format!("case '{case_id}' is not in the cases table"),
            ));
        }
        let money = |i: usize| v[i].num().unwrap_or_default();
        let (amount, ente, utente, ssn) = (money(12), money(13), money(14), money(15));
        if (ente + utente + ssn - amount).abs() > 0.011 {
            return Err(Reject::at(
                "importo",
                "incoherent_amounts",
                format!("{amount:.2} is not quota ente + utente + SSN ({ente:.2} + {utente:.2} + {ssn:.2})"),
            ));
        }
        let code = cf(&v[2]).map(FiscalCode::as_str).unwrap_or_default();
        if self.last.0 != code {
            self.last = (code.to_owned(), self.ctx.key.pseudonym(code));
        }
        t.str(0, v[0].text());
        t.str(1, v[1].text());
        t.str(2, Some(&self.last.1));
        t.str(3, v[3].text());
        t.str(4, v[4].text());
        t.str(5, v[5].text());
        t.str(6, v[6].text());
        t.date(7, Some(start));
        t.date(8, Some(end));
        t.f64(9, v[9].num());
        t.str(10, v[10].text());
        t.f64(11, v[11].num());
        t.f64(12, Some(amount));
        t.f64(13, Some(ente));
        t.f64(14, Some(utente));
        t.f64(15, Some(ssn));
        Ok(())
    }
}

/// Whether a census section is one of the conventional sections of homeless residents.
pub fn is_homeless_section(section: i64) -> bool {
    (8_888_881..=8_888_889).contains(&(section % 10_000_000))
}

struct Census {
    ctx: Context,
}

impl RowFn for Census {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        let mut fields: Vec<(String, DataType, bool)> = vec![
            ("section".into(), Int64, false),
            ("ace".into(), Int32, false),
            ("nil2012_id".into(), Int32, true),
            ("nil2012_name".into(), Utf8, true),
            ("mapping".into(), Utf8, false),
        ];
        fields.extend(census_counts().into_iter().map(|n| (n.to_lowercase(), Int64, false)));
        let refs: Vec<(&str, DataType, bool)> = fields.iter().map(|(n, t, b)| (n.as_str(), t.clone(), *b)).collect();
        schema(&refs)
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        // v[2..] are P1, P2, P3, P14..P45, ST1..ST15, PF1..PF9.
        let n = |i: usize| v[i].int().unwrap_or_default();
        let (p1, p2, p3) = (n(2), n(3), n(4));
        if p2 + p3 != p1 {
            return Err(Reject::at("P1", "incoherent_totals", format!("P1 = {p1} but P2 + P3 = {}", p2 + p3)));
        }
        let bands: i64 = (5..21).map(n).sum();
        if bands != p1 {
            return Err(Reject::at(
                "P1",
                "incoherent_totals",
                format!("P1 = {p1} but the age bands P14..P29 add up to {bands}"),
            ));
        }
        let section = n(0);
        let (nil, mapping) = match self.ctx.crosswalk.get(&section) {
            Some((id, name)) => (Some((*id, name.as_str())), "mapped"),
            None if is_homeless_section(section) => (None, "homeless_section"),
            None => (None, "not_in_crosswalk"),
        };
        t.i64(0, Some(section));
        t.i32(1, Some(n(1) as i32));
        t.i32(2, nil.map(|(id, _)| id));
        t.str(3, nil.map(|(_, name)| name));
        t.str(4, Some(mapping));
        for i in 2..v.len() {
            t.i64(i + 3, Some(n(i)));
        }
        Ok(())
    }
}

struct Crosswalk {
    ctx: Context,
}

impl RowFn for Crosswalk {
    fn schema(&self) -> SchemaRef {
        use DataType::*;
        schema(&[("section", Int64, false), ("nil2012_id", Int32, false), ("nil2012_name", Utf8, false)])
    }

    fn row(&mut self, v: &[Value<'_>], t: &mut TableBuilder) -> Result<(), Reject> {
        let name = v[1].text().unwrap_or_default();
        let (id, official) = self.ctx.nil2012.get(&crate::reference::normalise_name(name)).ok_or_else(|| {
            Reject::at("NIL", "unknown_nil", format!("'{name}' is not the name of a NIL 2012 in the boundaries"))
        })?;
        t.i64(0, v[0].int());
        t.i32(1, Some(*id));
        t.str(2, Some(official));
        Ok(())
    }
}
