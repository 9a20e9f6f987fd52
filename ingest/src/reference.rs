//! The real public reference data Mosaico ships in `data-samples/reference/`:
//! boundaries of the NIL (PGT 2030 and 2012), Municipi and comuni of the Città
//! Metropolitana, the ISTAT 2011 census by section with its section→NIL lookup, and
//! the current NIL population profiles (Comune di Milano / ISTAT, CC BY).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mosaico_domain::territory::AreaSet;

use crate::{Error, Result};

/// File names inside the reference folder.
pub mod files {
    /// The 88 NIL of PGT 2030 (`ID_NIL`, `NIL`).
    pub const NIL: &str = "nil_pgt2030_88.geojson";
    /// The 9 Municipi in WGS84 (`MUNICIPIO`).
    pub const MUNICIPI: &str = "municipi_9_wgs84.geojson";
    /// The 133 comuni of the Città Metropolitana (`com_istat_code`, `name`).
    pub const COMUNI: &str = "comuni_cittametropolitana_milano_P15.geojson";
    /// The 88 NIL of PGT 2012 (`IDquartiere`, `quartiere`), the census generation.
    pub const NIL_2012: &str = "nil_2012_88_daf.geojson";
    /// ISTAT census 2011 by section, `;`-separated.
    pub const CENSUS: &str = "istat_censimento2011_sezioni_milano.csv";
    /// Census section → NIL 2012 name.
    pub const CROSSWALK: &str = "istat_sezioni2011_to_nil2012.csv";
    /// The ISTAT list of Italian comuni (`codice_istat`, `nome`, `sigla`, `codice_catastale`).
    pub const COMUNI_ITALIA: &str = "comuni_italia_istat2020.csv";
    /// Current population per NIL PGT 2030.
    pub const PROFILES: &str = "milanoplatform_nil2030_profili.json";
}

/// The default reference folder, relative to the repository root.
pub const DEFAULT_DIR: &str = "data-samples/reference";

/// The boundaries of the territory.
#[derive(Debug, Clone)]
pub struct Territory {
    /// NIL PGT 2030: id `1`..`88`, name e.g. `DUOMO`.
    pub nil: AreaSet,
    /// Municipi: id `1`..`9`.
    pub municipi: AreaSet,
    /// Comuni of the Città Metropolitana: id = ISTAT code.
    pub comuni: AreaSet,
}

impl Territory {
    /// Reads the three boundary files from the reference folder.
    pub fn load(dir: &Path) -> Result<Self> {
        Ok(Self {
            nil: AreaSet::from_geojson(&dir.join(files::NIL), "ID_NIL", Some("NIL"))?,
            municipi: AreaSet::from_geojson(&dir.join(files::MUNICIPI), "MUNICIPIO", None)?,
            comuni: AreaSet::from_geojson(&dir.join(files::COMUNI), "com_istat_code", Some("name"))?,
        })
    }
}

/// Number of 5-year age bands in the census (<5 … >74).
pub const AGE_BANDS: usize = 16;

/// One census section of 2011 with what the generator draws from.
#[derive(Debug, Clone)]
pub struct Section {
    /// `SEZ2011`.
    pub id: u64,
    /// Normalised NIL 2012 name (see [`normalise_name`]); empty if unmapped.
    pub nil2012: String,
    /// Residents (`P1`).
    pub residents: u32,
    /// Residents by age band, both sexes (`P14`–`P29`).
    pub bands: [u32; AGE_BANDS],
    /// Males by age band (`P30`–`P45`).
    pub male_bands: [u32; AGE_BANDS],
    /// Foreign residents (`ST1`).
    pub foreign: u32,
    /// Foreign residents by continent: Europe, Africa, America, Asia, Oceania (`ST9`–`ST13`).
    pub continents: [u32; 5],
    /// Households by size 1..=6+ (`PF3`–`PF8`).
    pub households: [u32; 6],
}

impl Section {
    /// Whether this is one of the conventional sections of homeless residents
    /// (`…8888881`–`…8888889`), never placed on the map.
    pub fn is_homeless(&self) -> bool {
        (8_888_881..=8_888_889).contains(&(self.id % 10_000_000))
    }
}

/// Upper-case letters and digits only: `MAGENTA - S.VITTORE` and
/// `MAGENTA - S. VITTORE` become the same key.
pub fn normalise_name(name: &str) -> String {
    name.chars()
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'À' | 'Á' => 'A',
            'È' | 'É' => 'E',
            'Ì' | 'Í' => 'I',
            'Ò' | 'Ó' => 'O',
            'Ù' | 'Ú' => 'U',
            c => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Reads the census sections, joined to their NIL 2012 through the crosswalk.
pub fn load_census(dir: &Path) -> Result<Vec<Section>> {
    let xw_path = dir.join(files::CROSSWALK);
    let mut crosswalk = HashMap::new();
    let mut rdr = csv::Reader::from_path(&xw_path).map_err(|e| Error::csv(&xw_path, e))?;
    for (i, row) in rdr.records().enumerate() {
        let row = row.map_err(|e| Error::csv(&xw_path, e))?;
        let id = parse_u64(&xw_path, i + 2, "SEZ2011", row.get(0))?;
        crosswalk.insert(id, normalise_name(row.get(1).unwrap_or("")));
    }

    let path = dir.join(files::CENSUS);
    let mut rdr = csv::ReaderBuilder::new().delimiter(b';').from_path(&path).map_err(|e| Error::csv(&path, e))?;
    let headers = rdr.headers().map_err(|e| Error::csv(&path, e))?.clone();
    let col = |name: &str| -> Result<usize> {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Source { path: path.clone(), message: format!("missing column '{name}'") })
    };
    let id_col = col("SEZ2011")?;
    let p1 = col("P1")?;
    let band_cols: Vec<usize> = (14..30).map(|i| col(&format!("P{i}"))).collect::<Result<_>>()?;
    let male_cols: Vec<usize> = (30..46).map(|i| col(&format!("P{i}"))).collect::<Result<_>>()?;
    let st1 = col("ST1")?;
    let cont_cols: Vec<usize> = (9..14).map(|i| col(&format!("ST{i}"))).collect::<Result<_>>()?;
    let pf_cols: Vec<usize> = (3..9).map(|i| col(&format!("PF{i}"))).collect::<Result<_>>()?;

    let mut out = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| Error::csv(&path, e))?;
        let num = |c: usize| -> Result<u32> {
            let v = parse_u64(&path, line, &headers[c], row.get(c))?;
            u32::try_from(v).map_err(|_| Error::Source {
                path: path.clone(),
                message: format!("line {line}, column {}: {v} is too large", &headers[c]),
            })
        };
        let id = parse_u64(&path, line, "SEZ2011", row.get(id_col))?;
        let mut bands = [0; AGE_BANDS];
        let mut male_bands = [0; AGE_BANDS];
        for b in 0..AGE_BANDS {
            bands[b] = num(band_cols[b])?;
            male_bands[b] = num(male_cols[b])?;
        }
        let mut continents = [0; 5];
        for (c, &k) in cont_cols.iter().enumerate() {
            continents[c] = num(k)?;
        }
        let mut households = [0; 6];
        for (c, &k) in pf_cols.iter().enumerate() {
            households[c] = num(k)?;
        }
        out.push(Section {
            id,
            nil2012: crosswalk.get(&id).cloned().unwrap_or_default(),
            residents: num(p1)?,
            bands,
            male_bands,
            foreign: num(st1)?,
            continents,
            households,
        });
    }
    Ok(out)
}

fn parse_u64(path: &Path, line: usize, column: &str, v: Option<&str>) -> Result<u64> {
    let raw = v.unwrap_or("").trim();
    let t = raw.strip_suffix(".0").unwrap_or(raw);
    t.parse::<u64>().map_err(|_| Error::Source {
        path: path.to_owned(),
        message: format!("line {line}, column {column}: '{raw}' is not a whole number"),
    })
}

/// Current residents of one NIL PGT 2030.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NilProfile {
    /// `id_nil`, 1..=88.
    pub id_nil: u32,
    /// The NIL's name.
    pub nil: String,
    /// Residents.
    pub popolazione_totale: u64,
}

/// Reads the NIL population profiles.
pub fn load_profiles(dir: &Path) -> Result<Vec<NilProfile>> {
    let path: PathBuf = dir.join(files::PROFILES);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|e| Error::Source { path, message: e.to_string() })
}

/// NIL 2012 boundaries keyed by normalised name.
pub fn load_nil2012(dir: &Path) -> Result<AreaSet> {
    let set = AreaSet::from_geojson(&dir.join(files::NIL_2012), "IDquartiere", Some("quartiere"))?;
    let areas = set
        .areas()
        .iter()
        .map(|a| mosaico_domain::territory::Area::new(a.id.clone(), normalise_name(&a.name), a.shape.clone()))
        .collect();
    Ok(AreaSet::new(areas))
}
