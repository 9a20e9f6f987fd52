//! The synthetic Milan against the real one: determinism, validity of every
//! record, and the shape of the population compared with ISTAT and the Comune's
//! published figures (files in `data-samples/reference`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mosaico_domain::FiscalCode;
use mosaico_domain::territory::AreaSet;
use mosaico_ingest::reference::{self, files};
use mosaico_ingest::samples::{self, Options, Summary};

const SOURCES: [&str; 5] = [
    samples::files::REGISTRY,
    samples::files::ISEE,
    samples::files::FACILITIES,
    samples::files::CASES,
    samples::files::INTERVENTIONS,
];

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/reference")
}

fn generate(seed: u64, persons: u64, out: &Path) -> Summary {
    samples::generate(&Options { seed, persons, interventions: None, reference: reference_dir(), out: out.to_owned() })
        .unwrap()
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx.sqrt() * vy.sqrt())
}

#[test]
fn same_seed_same_files_other_seed_other_files() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(3, 1_500, a.path());
    generate(3, 1_500, b.path());
    generate(4, 1_500, c.path());
    for f in SOURCES {
        let (x, y, z) = (
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            std::fs::read(c.path().join(f)).unwrap(),
        );
        assert_eq!(x, y, "{f} differs between two runs with the same seed");
        assert_ne!(x, z, "{f} is the same with another seed");
    }
}

#[test]
fn committed_sample_is_what_the_generator_makes() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/milano-5k");
    let manifest = Summary::read(&committed).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let summary = generate(manifest.seed, manifest.persons, fresh.path());
    assert_eq!(summary, manifest);
    for f in SOURCES {
        assert!(
            std::fs::read(committed.join(f)).unwrap() == std::fs::read(fresh.path().join(f)).unwrap(),
            "data-samples/milano-5k/{f} is stale: regenerate it with `mosaico samples generate --seed {} --persons {} --out data-samples/milano-5k`",
            manifest.seed,
            manifest.persons
        );
    }
    let size: u64 = std::fs::read_dir(&committed).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(size <= 5 * 1024 * 1024, "the committed sample is {size} bytes, over 5 MB");
}

/// One sample of 20,000 persons shared by the tests below.
fn sample() -> &'static (tempfile::TempDir, Summary) {
    static S: std::sync::OnceLock<(tempfile::TempDir, Summary)> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(11, 20_000, dir.path());
        (dir, s)
    })
}

#[test]
fn every_registry_row_is_valid_and_placed_in_its_nil() {
    let (dir, summary) = sample();
    let (h, rows) = read_csv(&dir.path().join(samples::files::REGISTRY));
    assert_eq!(rows.len() as u64, summary.persons);
    let nil = AreaSet::from_geojson(&reference_dir().join(files::NIL), "ID_NIL", Some("NIL")).unwrap();
    let (cf, lat, lng, addr) =
        (col(&h, "codice_fiscale"), col(&h, "latitudine"), col(&h, "longitudine"), col(&h, "indirizzo"));
    let mut seen = std::collections::HashSet::new();
    let mut homeless = 0;
    for r in &rows {
        FiscalCode::parse(&r[cf]).unwrap_or_else(|e| panic!("{}: {e}", r[cf]));
        assert!(seen.insert(r[cf].clone()), "duplicate fiscal code {}", r[cf]);
        if r[lat].is_empty() {
            homeless += 1;
            assert!(r[addr].contains("Casa Comunale"), "a person with no coordinates has address {}", r[addr]);
            continue;
        }
        let (y, x): (f64, f64) = (r[lat].parse().unwrap(), r[lng].parse().unwrap());
        assert!(nil.locate(x, y).is_some(), "{} at ({y}, {x}) is outside every NIL", r[cf]);
    }
    assert_eq!(homeless, summary.homeless);
}

#[test]
fn per_nil_counts_track_the_real_populations() {
    let (dir, _) = sample();
    let (h, rows) = read_csv(&dir.path().join(samples::files::REGISTRY));
    let (lat, lng) = (col(&h, "latitudine"), col(&h, "longitudine"));
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| !r[lat].is_empty())
        .map(|r| (r[lng].parse().unwrap(), r[lat].parse().unwrap()))
        .collect();

    // Current NIL (PGT 2030), placed by point-in-polygon, against the Comune's residents per NIL.
    let nil = AreaSet::from_geojson(&reference_dir().join(files::NIL), "ID_NIL", Some("NIL")).unwrap();
    let mut counts: HashMap<String, f64> = HashMap::new();
    for (x, y) in &points {
        *counts.entry(nil.locate(*x, *y).unwrap().id.clone()).or_default() += 1.0;
    }
    let profiles = reference::load_profiles(&reference_dir()).unwrap();
    let (sample_n, real_n): (Vec<f64>, Vec<f64>) = profiles
        .iter()
        .map(|p| (counts.get(&p.id_nil.to_string()).copied().unwrap_or(0.0), p.popolazione_totale as f64))
        .unzip();
    let r = pearson(&sample_n, &real_n);
    assert!(r >= 0.95, "per-NIL correlation with the NIL profiles is {r:.4}");

    // NIL 2012, against the ISTAT 2011 census summed by section: an independent source.
    let nil2012 = reference::load_nil2012(&reference_dir()).unwrap();
    let mut counts: HashMap<String, f64> = HashMap::new();
    for (x, y) in &points {
        if let Some(a) = nil2012.locate(*x, *y) {
            *counts.entry(a.name.clone()).or_default() += 1.0;
        }
    }
    let mut census: HashMap<String, f64> = HashMap::new();
    for s in reference::load_census(&reference_dir()).unwrap() {
        *census.entry(s.nil2012.clone()).or_default() += f64::from(s.residents);
    }
    let (sample_n, real_n): (Vec<f64>, Vec<f64>) = nil2012
        .areas()
        .iter()
        .map(|a| (counts.get(&a.name).copied().unwrap_or(0.0), census.get(&a.name).copied().unwrap_or(0.0)))
        .unzip();
    let r = pearson(&sample_n, &real_n);
    assert!(r >= 0.90, "per-NIL-2012 correlation with the 2011 census is {r:.4}");
}

#[test]
fn age_and_citizenship_follow_the_census() {
    let (dir, summary) = sample();
    let (h, rows) = read_csv(&dir.path().join(samples::files::REGISTRY));
    let (born, cit) = (col(&h, "data_nascita"), col(&h, "cittadinanza"));
    let today = samples::reference_date();
    let ages: Vec<i64> = rows
        .iter()
        .map(|r| {
            let d = chrono::NaiveDate::parse_from_str(&r[born], "%Y-%m-%d").unwrap();
            ((today - d).num_days() as f64 / 365.25) as i64
        })
        .collect();
    let n = summary.persons as f64;
    let share = |f: &dyn Fn(i64) -> bool| ages.iter().filter(|a| f(**a)).count() as f64 / n;
    let foreign = rows.iter().filter(|r| r[cit] != "IT").count() as f64 / n;
    // ISTAT 2011, Milano: 75+ = 158,381 / 1,242,123; <5 = 55,415; foreign = 176,303.
    let (p75, p5, pst) = (158_381.0 / 1_242_123.0, 55_415.0 / 1_242_123.0, 176_303.0 / 1_242_123.0);
    assert!((share(&|a| a >= 75) - p75).abs() < 0.015, "75+ share {:.4} vs census {p75:.4}", share(&|a| a >= 75));
    assert!((share(&|a| a < 5) - p5).abs() < 0.01, "under-5 share {:.4} vs census {p5:.4}", share(&|a| a < 5));
    assert!((foreign - pst).abs() < 0.02, "foreign share {foreign:.4} vs census {pst:.4}");
}

#[test]
fn interventions_are_coherent_and_near_five_per_person() {
    let (dir, summary) = sample();
    let (h, rows) = read_csv(&dir.path().join(samples::files::INTERVENTIONS));
    assert_eq!(rows.len() as u64, summary.interventions);
    let ratio = summary.interventions as f64 / summary.persons as f64;
    assert!((4.0..=5.0).contains(&ratio), "{ratio:.2} interventions per person");
    let (amount, ente, utente, ssn) =
        (col(&h, "importo"), col(&h, "quota_ente"), col(&h, "quota_utente"), col(&h, "quota_ssn"));
    let (start, end) = (col(&h, "data_inizio"), col(&h, "data_fine"));
    for r in &rows {
        let v = |c: usize| r[c].parse::<f64>().unwrap();
        assert!((v(ente) + v(utente) + v(ssn) - v(amount)).abs() < 0.011, "split does not add up: {r:?}");
        assert!(r[start] <= r[end], "ends before it starts: {r:?}");
    }
    let (h, cases) = read_csv(&dir.path().join(samples::files::CASES));
    let area = col(&h, "area_utenza");
    let areas: std::collections::HashSet<&str> = cases.iter().map(|r| r[area].as_str()).collect();
    assert!(areas.len() >= 5, "cases cover only {areas:?}");
}
