//! A realistic synthetic Milan: the source files a comune holds, generated
//! deterministically from a seed and the real census.
//!
//! - **Where people live** follows the current residents of each NIL (PGT 2030);
//!   every home is a point inside its NIL's polygon.
//! - **Who they are** follows the ISTAT 2011 census section found under that point
//!   (through the NIL 2012 polygons and the section→NIL lookup): household size,
//!   age band and sex, foreign citizenship and continent of origin.
//! - **Around them**: ISEE declarations per household, a registry of social
//!   facilities placed where people live, and a history of cases and interventions
//!   (service, area di utenza, dates, quantities, co-payment split).
//!
//! The same seed and size give byte-identical files.

use mosaico_domain::services;
mod vocab;

use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Months, NaiveDate};
use mosaico_domain::territory::{Area, AreaSet};
use mosaico_domain::{AreaUtenza, FiscalCode, MILANO, Sex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use services::{FACILITY_TYPES, SERVICES};

use crate::reference::{self, AGE_BANDS, Section};
use crate::{Error, Result};

/// File names the generator writes (and the loader reads).
pub mod files {
    /// The civil-registry export.
    pub const REGISTRY: &str = "registry.csv";
    /// ISEE declarations.
    pub const ISEE: &str = "isee.csv";
    /// The registry of social facilities.
    pub const FACILITIES: &str = "facilities.csv";
    /// Case files (cartelle sociali).
    pub const CASES: &str = "cases.csv";
    /// Interventions delivered (erogazioni).
    pub const INTERVENTIONS: &str = "interventions.csv";
    /// What was generated, with which seed.
    pub const MANIFEST: &str = "manifest.json";
}

/// The header of each source file, in order.
pub mod columns {
    /// Columns of [`super::files::REGISTRY`].
    pub const REGISTRY: &[&str] = &[
        "codice_fiscale",
        "cognome",
        "nome",
        "sesso",
        "data_nascita",
        "luogo_nascita",
        "cittadinanza",
        "id_famiglia",
        "relazione_parentela",
        "indirizzo",
        "latitudine",
        "longitudine",
        "codice_istat_comune",
    ];
    /// Columns of [`super::files::ISEE`].
    pub const ISEE: &[&str] = &[
        "protocollo",
        "id_famiglia",
        "codice_fiscale_dichiarante",
        "tipo_isee",
        "valore_isee",
        "data_presentazione",
        "data_scadenza",
    ];
    /// Columns of [`super::files::FACILITIES`].
    pub const FACILITIES: &[&str] = &[
        "id_struttura",
        "denominazione",
        "tipologia",
        "area_utenza",
        "posti",
        "retta_giornaliera",
        "indirizzo",
        "latitudine",
        "longitudine",
        "codice_istat_comune",
        "data_apertura",
    ];
    /// Columns of [`super::files::CASES`].
    pub const CASES: &[&str] = &[
        "id_cartella",
        "codice_fiscale",
        "ente",
        "area_utenza",
        "data_apertura",
        "data_chiusura",
        "motivo_chiusura",
        "assistente_sociale",
        "punteggio_bisogno",
    ];
    /// Columns of [`super::files::INTERVENTIONS`].
    pub const INTERVENTIONS: &[&str] = &[
        "id_intervento",
        "id_cartella",
        "codice_fiscale",
        "codice_servizio",
        "area_utenza",
        "tipo_spesa",
        "id_struttura",
        "data_inizio",
        "data_fine",
        "quantita",
        "unita",
        "costo_unitario",
        "importo",
        "quota_ente",
        "quota_utente",
        "quota_ssn",
    ];
}

/// Residents of Milan in the NIL profiles: the scale of a full-size sample.
pub const MILAN_RESIDENTS: u64 = 1_386_285;

/// The registry's reference date: ages are as of this day.
pub fn reference_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// The seed: same seed, same files.
    pub seed: u64,
    /// Persons in the registry.
    pub persons: u64,
    /// Intervention rows to aim for (default: five per person).
    pub interventions: Option<u64>,
    /// The reference-data folder (`data-samples/reference`).
    pub reference: PathBuf,
    /// Where to write the files.
    pub out: PathBuf,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// The seed used.
    pub seed: u64,
    /// Persons in the registry.
    pub persons: u64,
    /// Of which registered at the conventional address of the homeless (no coordinates).
    pub homeless: u64,
    /// Households.
    pub households: u64,
    /// ISEE declarations.
    pub isee: u64,
    /// Facilities.
    pub facilities: u64,
    /// Case files.
    pub cases: u64,
    /// Intervention rows.
    pub interventions: u64,
}

impl Summary {
    /// Reads the manifest of a generated folder.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(files::MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Source { path, message: e.to_string() })
    }
}

/// A person kept in memory for the later stages (cases, ISEE).
struct Person {
    cf: FiscalCode,
    age: u8,
    foreign: bool,
    household: u32,
    disabled: bool,
}

struct Household {
    lat: f64,
    lng: f64,
    isee: Option<f64>,
    size: u8,
}

/// Sections of one NIL 2012 with cumulative resident weights.
struct Picker {
    sections: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Picker {
    fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let x = rng.random_range(0..total.max(1));
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.sections[i.min(self.sections.len() - 1)]
    }
}

fn pick_weighted(weights: &[u32], rng: &mut ChaCha8Rng) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.random_range(0..total);
    for (i, &w) in weights.iter().enumerate() {
        if x < u64::from(w) {
            return Some(i);
        }
        x -= u64::from(w);
    }
    None
}

fn pick<'a, T>(items: &'a [T], rng: &mut ChaCha8Rng) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Splits `n` over `weights` proportionally (largest remainder), exactly.
fn allocate(n: u64, weights: &[u64]) -> Vec<u64> {
    let total: u64 = weights.iter().sum::<u64>().max(1);
    let mut out: Vec<u64> = weights.iter().map(|&w| n * w / total).collect();
    let mut rest: Vec<(u64, usize)> = weights.iter().enumerate().map(|(i, &w)| ((n * w) % total, i)).collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let missing = n - out.iter().sum::<u64>();
    for &(_, i) in rest.iter().take(usize::try_from(missing).unwrap_or(0)) {
        out[i] += 1;
    }
    out
}

fn random_point(area: &Area, rng: &mut ChaCha8Rng) -> Option<(f64, f64)> {
    let (x0, y0, x1, y1) = area.bbox();
    (0..10_000).find_map(|_| {
        let (x, y) = (rng.random_range(x0..x1), rng.random_range(y0..y1));
        area.contains(x, y).then_some((x, y))
    })
}

fn csv_writer(dir: &Path, name: &str, header: &[&str]) -> Result<csv::Writer<BufWriter<File>>> {
    let path = dir.join(name);
    let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
    w.write_record(header).map_err(|e| Error::csv(&path, e))?;
    Ok(w)
}

fn age_in_band(band: usize, rng: &mut ChaCha8Rng) -> u8 {
    if band + 1 < AGE_BANDS {
        (band * 5) as u8 + rng.random_range(0..5u8)
    } else {
        // Over 74: a decaying tail to 104.
        let x: f64 = rng.random();
        75 + ((-x.max(1e-9).ln()) * 8.0).min(29.0) as u8
    }
}

fn birth_date(age: u8, rng: &mut ChaCha8Rng) -> NaiveDate {
    let r = reference_date();
    let days = i64::from(age) * 365 + rng.random_range(0..365i64) + i64::from(age / 4) + 1;
    r - chrono::Duration::days(days)
}

/// Generates the sample described by `opts` and writes it to `opts.out`.
pub fn generate(opts: &Options) -> Result<Summary> {
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let nil = AreaSet::from_geojson(&opts.reference.join(reference::files::NIL), "ID_NIL", Some("NIL"))?;
    let nil2012 = reference::load_nil2012(&opts.reference)?;
    let census = reference::load_census(&opts.reference)?;
    let profiles = reference::load_profiles(&opts.reference)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);

    // Section pickers per NIL 2012, and the city-wide one as a fallback.
    let pickers: Vec<Picker> = nil2012.areas().iter().map(|a| picker(&census, |s| s.nil2012 == a.name)).collect();
    let city = picker(&census, |s| !s.nil2012.is_empty());
    let homeless_sections = picker(&census, Section::is_homeless);
    // Heads of household are adults; the other members are drawn from what the
    // heads leave of the section's age profile, so the whole matches the census.
    let member_bands: Vec<[u32; AGE_BANDS]> = census.iter().map(member_profile).collect();
    let census_total: u64 = census.iter().map(|s| u64::from(s.residents)).sum();
    let homeless_total: u64 = census.iter().filter(|s| s.is_homeless()).map(|s| u64::from(s.residents)).sum();
    let homeless = (opts.persons * homeless_total + census_total / 2) / census_total.max(1);

    // Persons per NIL PGT 2030, proportional to its current residents.
    let weights: Vec<u64> = nil
        .areas()
        .iter()
        .map(|a| profiles.iter().find(|p| p.id_nil.to_string() == a.id).map_or(0, |p| p.popolazione_totale))
        .collect();
    let per_nil = allocate(opts.persons - homeless, &weights);

    let mut reg = csv_writer(&opts.out, files::REGISTRY, columns::REGISTRY)?;
    let reg_path = opts.out.join(files::REGISTRY);
    let mut persons: Vec<Person> = Vec::with_capacity(usize::try_from(opts.persons).unwrap_or(0));
    let mut households: Vec<Household> = Vec::new();
    let mut seen: HashSet<String> = HashSet::with_capacity(persons.capacity());

    let mut jobs: Vec<(Option<&Area>, u64)> = nil.areas().iter().zip(&per_nil).map(|(a, &n)| (Some(a), n)).collect();
    jobs.push((None, homeless));
    for (area, n) in jobs {
        let mut left = n;
        while left > 0 {
            let (point, section_idx) = match area {
                Some(area) => {
                    let mut found = None;
                    for _ in 0..50 {
                        let Some((x, y)) = random_point(area, &mut rng) else { break };
                        if let Some(i) = nil2012.areas().iter().position(|a| a.contains(x, y))
                            && !pickers[i].sections.is_empty()
                        {
                            found = Some(((x, y), pickers[i].pick(&mut rng)));
                            break;
                        }
                    }
                    match found {
                        Some((p, s)) => (Some(p), s),
                        None => {
                            let p = random_point(area, &mut rng).unwrap_or_default();
                            (Some(p), city.pick(&mut rng))
                        }
                    }
                }
                None => (None, homeless_sections.pick(&mut rng)),
            };
            let section = &census[section_idx];
            let size_idx = pick_weighted(&section.households, &mut rng).unwrap_or(0);
            let mut size = size_idx as u64 + 1;
            if size == 6 && rng.random_bool(0.3) {
                size = 7;
            }
            if area.is_none() {
                size = 1;
            }
            let size = size.min(left);
            left -= size;
            let hh = households.len() as u32;
            let foreign = section.residents > 0 && rng.random_range(0..section.residents) < section.foreign;
            let country = if foreign {
                let continent = pick_weighted(&section.continents, &mut rng).unwrap_or(0);
                let candidates: Vec<&vocab::Country> =
                    vocab::COUNTRIES.iter().filter(|c| c.continent == continent).collect();
                let weights: Vec<u32> = candidates.iter().map(|c| c.weight).collect();
                candidates[pick_weighted(&weights, &mut rng).unwrap_or(0)]
            } else {
                &vocab::ITALY
            };
            let surname = *pick(vocab::surnames(country.origin), &mut rng);
            let street = match point {
                Some(_) => format!("{} {}", pick(vocab::STREETS, &mut rng), rng.random_range(1..180)),
                None => vocab::HOMELESS_ADDRESS.to_owned(),
            };
            for member in 0..size {
                // The head of household is an adult; others follow the section.
                let band = if member == 0 {
                    let mut adult = section.bands;
                    adult[..4].iter_mut().for_each(|b| *b = 0);
                    pick_weighted(&adult, &mut rng).unwrap_or(8)
                } else {
                    pick_weighted(&member_bands[section_idx], &mut rng)
                        .or_else(|| pick_weighted(&section.bands, &mut rng))
                        .unwrap_or(0)
                };
                let age = age_in_band(band, &mut rng);
                let male =
                    section.bands[band] > 0 && rng.random_range(0..section.bands[band]) < section.male_bands[band];
                let sex = if male { Sex::M } else { Sex::F };
                let name = *pick(vocab::first_names(country.origin, male), &mut rng);
                let own_surname =
                    if member == 1 && age >= 18 { *pick(vocab::surnames(country.origin), &mut rng) } else { surname };
                let born = birth_date(age, &mut rng);
                let birthplace = if !foreign || (age < 12 && rng.random_bool(0.5)) {
                    if rng.random_bool(0.55) {
                        vocab::MILANO_BELFIORE
                    } else {
                        pick(vocab::ITALIAN_BIRTHPLACES, &mut rng).0
                    }
                } else {
                    country.belfiore
                };
                let cf = unique_code(FiscalCode::compose(own_surname, name, born, sex, birthplace), &mut seen);
                let relation = match member {
                    0 => "IS",
                    1 if age >= 18 => "CG",
                    _ => "FG",
                };
                let (lat, lng) =
                    point.map_or((String::new(), String::new()), |(x, y)| (format!("{y:.6}"), format!("{x:.6}")));
                reg.write_record([
                    cf.as_str(),
                    own_surname,
                    name,
                    sex.as_str(),
                    &born.to_string(),
                    birthplace,
                    country.iso,
                    &format!("F{:08}", hh + 1),
                    relation,
                    &street,
                    &lat,
                    &lng,
                    MILANO,
                ])
                .map_err(|e| Error::csv(&reg_path, e))?;
                persons.push(Person { cf, age, foreign, household: hh, disabled: rng.random_bool(0.045) });
            }
            let (lng, lat) = point.unwrap_or((f64::NAN, f64::NAN));
            households.push(Household { lat, lng, isee: None, size: size as u8 });
        }
    }
    reg.flush().map_err(|e| Error::io(&reg_path, e))?;

    let isee = write_isee(&opts.out, &persons, &mut households, &mut rng)?;
    let facilities = write_facilities(&opts.out, opts.persons, &households, &mut rng)?;
    let target = opts.interventions.unwrap_or(opts.persons * 5);
    let (cases, interventions) =
        write_cases(&opts.out, &persons, &households, &facilities, target, opts.persons, &mut rng)?;

    let summary = Summary {
        seed: opts.seed,
        persons: persons.len() as u64,
        homeless,
        households: households.len() as u64,
        isee,
        facilities: facilities.len() as u64,
        cases,
        interventions,
    };
    let path = opts.out.join(files::MANIFEST);
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| Error::Source { path: path.clone(), message: e.to_string() })?;
    std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))?;
    tracing::info!(?summary, out = %opts.out.display(), "sample generated");
    Ok(summary)
}

/// The age profile of household members other than the head: the section's
/// residents by band less the heads (one per household, spread over the adult bands).
fn member_profile(s: &Section) -> [u32; AGE_BANDS] {
    let heads: u32 = s.households.iter().sum();
    let adults: u32 = s.bands[4..].iter().sum();
    let mut out = s.bands;
    if adults == 0 {
        return out;
    }
    for (slot, &band) in out.iter_mut().zip(&s.bands).skip(4) {
        let taken = (u64::from(heads) * u64::from(band) / u64::from(adults)) as u32;
        *slot = slot.saturating_sub(taken);
    }
    out
}

fn picker(census: &[Section], keep: impl Fn(&Section) -> bool) -> Picker {
    let mut sections = Vec::new();
    let mut cumulative = Vec::new();
    let mut acc = 0u64;
    for (i, s) in census.iter().enumerate() {
        if s.residents > 0 && keep(s) {
            acc += u64::from(s.residents);
            sections.push(i);
            cumulative.push(acc);
        }
    }
    Picker { sections, cumulative }
}

/// Two people with the same data get distinct codes, as the Agenzia delle Entrate
/// does (omocodia): digits are replaced by letters from the right.
fn unique_code(cf: FiscalCode, seen: &mut HashSet<String>) -> FiscalCode {
    if seen.insert(cf.as_str().to_owned()) {
        return cf;
    }
    const LETTERS: &[u8; 10] = b"LMNPQRSTUV";
    let mut chars: Vec<u8> = cf.as_str().as_bytes().to_vec();
    for pos in [14usize, 13, 12, 10, 9, 7, 6] {
        let d = chars[pos];
        if d.is_ascii_digit() {
            chars[pos] = LETTERS[usize::from(d - b'0')];
        }
        let first15 = String::from_utf8_lossy(&chars[..15]).into_owned();
        let Some(check) = FiscalCode::check_character(&first15) else { continue };
        if let Ok(c) = FiscalCode::parse(&format!("{first15}{check}"))
            && seen.insert(c.as_str().to_owned())
        {
            return c;
        }
    }
    cf
}

fn write_isee(dir: &Path, persons: &[Person], households: &mut [Household], rng: &mut ChaCha8Rng) -> Result<u64> {
    let path = dir.join(files::ISEE);
    let mut w = csv_writer(dir, files::ISEE, columns::ISEE)?;
    let mut n = 0u64;
    let mut i = 0;
    while i < persons.len() {
        let head = &persons[i];
        let hh = head.household as usize;
        let members = persons[i..].iter().take_while(|p| p.household == head.household).count();
        let has_minor = persons[i..i + members].iter().any(|p| p.age < 18);
        let has_elder = persons[i..i + members].iter().any(|p| p.age >= 75);
        let p_declare: f64 = 0.25
            + if head.foreign { 0.15 } else { 0.0 }
            + if has_minor { 0.15 } else { 0.0 }
            + if has_elder { 0.1 } else { 0.0 };
        if rng.random_bool(p_declare.min(0.9)) {
            // Log-normal around a median that is lower for foreign households.
            let median: f64 = if head.foreign { 9_000.0 } else { 16_000.0 };
            let z: f64 = (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0;
            let value = (median * (z * 0.75).exp()).clamp(0.0, 150_000.0);
            let value = (value * 100.0).round() / 100.0;
            households[hh].isee = Some(value);
            let year = rng.random_range(2024..=2026);
            // Declarations of the current year are all in the past (before November 2026).
            let last_month = if year == 2026 { 10 } else { 12 };
            let issued = NaiveDate::from_ymd_opt(year, rng.random_range(1..=last_month), rng.random_range(1..=28))
                .unwrap_or_default();
            let kind = if has_elder {
                "sociosanitario"
            } else if has_minor {
                "minorenni"
            } else {
                "ordinario"
            };
            n += 1;
            w.write_record([
                &format!("INPS-ISEE-{year}-{:09}-00", n),
                &format!("F{:08}", hh + 1),
                head.cf.as_str(),
                kind,
                &format!("{value:.2}"),
                &issued.to_string(),
                &NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default().to_string(),
            ])
            .map_err(|e| Error::csv(&path, e))?;
        }
        i += members;
    }
    w.flush().map_err(|e| Error::io(&path, e))?;
    Ok(n)
}

struct Facility {
    id: String,
    kind: &'static str,
    fee: f64,
    ssn_share: f64,
}

fn write_facilities(dir: &Path, persons: u64, households: &[Household], rng: &mut ChaCha8Rng) -> Result<Vec<Facility>> {
    let path = dir.join(files::FACILITIES);
    let mut w = csv_writer(dir, files::FACILITIES, columns::FACILITIES)?;
    let placed: Vec<&Household> = households.iter().filter(|h| h.lat.is_finite()).collect();
    let mut out = Vec::new();
    for t in FACILITY_TYPES {
        let n = ((u64::from(t.in_milan) * persons + MILAN_RESIDENTS / 2) / MILAN_RESIDENTS).max(2);
        for k in 0..n {
            let home = pick(&placed, rng);
            // Facilities stand near where people live, not on a home's exact spot.
            let (lat, lng) = (home.lat + rng.random_range(-0.0015..0.0015), home.lng + rng.random_range(-0.002..0.002));
            let id = format!("{}-{:04}", t.code, k + 1);
            let capacity = rng.random_range(t.capacity.0..=t.capacity.1);
            let fee = (rng.random_range(t.daily_fee.0..=t.daily_fee.1) * 100.0).round() / 100.0;
            let opened =
                NaiveDate::from_ymd_opt(rng.random_range(1975..=2022), rng.random_range(1..=12), 1).unwrap_or_default();
            let name = format!("{} {}", t.name, pick(vocab::surnames(vocab::Origin::Italian), rng));
            w.write_record([
                &id,
                &name,
                t.code,
                t.area.code(),
                &capacity.to_string(),
                &format!("{fee:.2}"),
                &format!("{} {}", pick(vocab::STREETS, rng), rng.random_range(1..200)),
                &format!("{lat:.6}"),
                &format!("{lng:.6}"),
                MILANO,
                &opened.to_string(),
            ])
            .map_err(|e| Error::csv(&path, e))?;
            out.push(Facility { id, kind: t.code, fee, ssn_share: t.ssn_share });
        }
    }
    w.flush().map_err(|e| Error::io(&path, e))?;
    Ok(out)
}

/// The area a person's case would fall in, with a base yearly probability.
fn case_profile(p: &Person, hh: &Household, rng: &mut ChaCha8Rng) -> Option<AreaUtenza> {
    let poor = hh.isee.is_some_and(|v| v < 9_000.0);
    let (area, prob) = if p.disabled && p.age >= 6 && p.age < 65 {
        (AreaUtenza::Disabili, 0.30)
    } else if p.age >= 75 {
        (AreaUtenza::Anziani, if hh.size == 1 { 0.22 } else { 0.12 })
    } else if p.age >= 65 {
        (AreaUtenza::Anziani, 0.04)
    } else if p.age < 18 {
        (AreaUtenza::FamigliaMinori, if poor { 0.12 } else { 0.03 })
    } else if hh.lat.is_nan() {
        (AreaUtenza::PovertaDisagioAdulti, 0.6)
    } else if p.foreign && rng.random_bool(0.3) {
        (AreaUtenza::ImmigratiNomadi, if poor { 0.10 } else { 0.02 })
    } else if rng.random_bool(0.04) {
        (AreaUtenza::Dipendenze, 0.05)
    } else {
        (AreaUtenza::PovertaDisagioAdulti, if poor { 0.10 } else { 0.015 })
    };
    rng.random_bool((prob * 1.8_f64).min(1.0)).then_some(area)
}

/// The user's share of the social part of a cost, from ISEE (Lanciano's rule:
/// exempt under €8,000, linear up to the full share at €36,000; no ISEE, full share).
pub fn user_share(isee: Option<f64>) -> f64 {
    match isee {
        None => 1.0,
        Some(v) if v <= 8_000.0 => 0.0,
        Some(v) if v >= 36_000.0 => 1.0,
        Some(v) => (v - 8_000.0) / 28_000.0,
    }
}

fn write_cases(
    dir: &Path,
    persons: &[Person],
    households: &[Household],
    facilities: &[Facility],
    target: u64,
    n_persons: u64,
    rng: &mut ChaCha8Rng,
) -> Result<(u64, u64)> {
    let cpath = dir.join(files::CASES);
    let ipath = dir.join(files::INTERVENTIONS);
    let mut cw = csv_writer(dir, files::CASES, columns::CASES)?;
    let mut iw = csv_writer(dir, files::INTERVENTIONS, columns::INTERVENTIONS)?;
    let start = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default();
    let horizon = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default();
    let months_total = 94u32;
    let workers = (n_persons / 4_000).max(5);
    // Base rates give about five rows per person; scale them to the target.
    let scale = target as f64 / (n_persons.max(1) * 5) as f64;
    let (mut cases, mut rows) = (0u64, 0u64);
    // Visit persons in a random order, so that stopping at the target leaves no part
    // of the city without cases.
    let mut order: Vec<usize> = (0..persons.len()).collect();
    order.shuffle(rng);
    for p in order.into_iter().map(|i| &persons[i]) {
        if rows >= target {
            break;
        }
        let hh = &households[p.household as usize];
        let Some(area) = case_profile(p, hh, rng) else { continue };
        if scale < 1.0 && !rng.random_bool(scale) {
            continue;
        }
        let repeats = if scale > 1.0 { scale.floor() as u32 + u32::from(rng.random_bool(scale.fract())) } else { 1 };
        for _ in 0..repeats {
            cases += 1;
            let case_id = format!("CS{cases:09}");
            let open_m = rng.random_range(0..months_total - 1);
            let opened = start + Months::new(open_m) + chrono::Duration::days(rng.random_range(0..28));
            let duration = 1 + (rng.random::<f64>().powf(1.2) * 84.0) as u32;
            let end = opened + Months::new(duration);
            let (closed, reason) = if end < horizon {
                let reason = *pick(
                    &[
                        "obiettivi raggiunti",
                        "trasferimento",
                        "decesso",
                        "rinuncia",
                        "presa in carico da altro servizio",
                    ],
                    rng,
                );
                (Some(end), reason)
            } else {
                (None, "")
            };
            let last = closed.unwrap_or(horizon);
            let score = (rng.random_range(20..100u32) + rng.random_range(0..=20)) / 2 + 20;
            cw.write_record([
                &case_id,
                p.cf.as_str(),
                MILANO,
                area.code(),
                &opened.to_string(),
                &closed.map(|d| d.to_string()).unwrap_or_default(),
                reason,
                &format!("AS{:03}", rng.random_range(1..=workers)),
                &score.min(100).to_string(),
            ])
            .map_err(|e| Error::csv(&cpath, e))?;

            let offered: Vec<&services::Service> = services::services_for(area).collect();
            let n_services = rng.random_range(1..=3usize.min(offered.len()));
            let share = user_share(hh.isee);
            for s in 0..n_services {
                let svc = offered[(s + rng.random_range(0..offered.len())) % offered.len()];
                let facility = svc.facility.and_then(|kind| {
                    let of_kind: Vec<&Facility> = facilities.iter().filter(|f| f.kind == kind).collect();
                    (!of_kind.is_empty()).then(|| *pick(&of_kind, rng))
                });
                let unit_cost = match facility {
                    Some(f) => f.fee,
                    None => (rng.random_range(svc.unit_cost.0..=svc.unit_cost.1) * 100.0).round() / 100.0,
                };
                let ssn_share = facility.map_or(0.0, |f| f.ssn_share);
                let mut month = NaiveDate::from_ymd_opt(opened.year(), opened.month(), 1).unwrap_or(opened);
                let one_off = svc.unit == services::Unit::OneOff && svc.code == "SEGR";
                while month <= last {
                    let month_end = (month + Months::new(1)).pred_opt().unwrap_or(month);
                    let qty = rng.random_range(svc.monthly_qty.0..=svc.monthly_qty.1);
                    let amount = (f64::from(qty) * unit_cost * 100.0).round() / 100.0;
                    let ssn = (amount * ssn_share * 100.0).round() / 100.0;
                    let utente = if svc.spending == services::Spending::Transfers {
                        0.0
                    } else {
                        ((amount - ssn) * share * 100.0).round() / 100.0
                    };
                    let ente = ((amount - ssn - utente) * 100.0).round() / 100.0;
                    rows += 1;
                    iw.write_record([
                        &format!("IN{rows:010}"),
                        &case_id,
                        p.cf.as_str(),
                        svc.code,
                        svc.area.code(),
                        svc.spending.code(),
                        &facility.map_or(String::new(), |f| f.id.clone()),
                        &month.max(opened).to_string(),
                        &month_end.min(last).to_string(),
                        &qty.to_string(),
                        svc.unit.code(),
                        &format!("{unit_cost:.2}"),
                        &format!("{amount:.2}"),
                        &format!("{ente:.2}"),
                        &format!("{utente:.2}"),
                        &format!("{ssn:.2}"),
                    ])
                    .map_err(|e| Error::csv(&ipath, e))?;
                    if one_off || rows >= target {
                        break;
                    }
                    month = month + Months::new(1);
                }
            }
        }
    }
    cw.flush().map_err(|e| Error::io(&cpath, e))?;
    iw.flush().map_err(|e| Error::io(&ipath, e))?;
    Ok((cases, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_exact_and_proportional() {
        let a = allocate(10, &[1, 1, 1]);
        assert_eq!(a.iter().sum::<u64>(), 10);
        assert_eq!(a, vec![4, 3, 3]);
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
    }

    #[test]
    fn co_payment_follows_lanciano() {
        assert_eq!(user_share(Some(7_999.0)), 0.0);
        assert_eq!(user_share(Some(36_000.0)), 1.0);
        assert!((user_share(Some(22_000.0)) - 0.5).abs() < 1e-9);
        assert_eq!(user_share(None), 1.0);
    }
}
