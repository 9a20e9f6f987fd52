//! Loading a whole sample: what reaches the warehouse, what never does, and what
//! happens with a bad row.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use mosaico_ingest::load::load_sample;
use mosaico_ingest::pipeline::{self, Ingest, Status};
use mosaico_ingest::pseudonym::PseudonymKey;
use mosaico_ingest::reference::{Territory, files};
use mosaico_ingest::samples::{self, Options};
use mosaico_warehouse::{AsOf, Warehouse};

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/reference")
}

fn shared_data_real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data-real")
}

fn key() -> PseudonymKey {
    PseudonymKey::new(b"a test secret of enough bytes".to_vec()).unwrap()
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn ingest(wh: &Warehouse) -> Ingest {
    Ingest::new(wh.clone(), key(), reference_dir(), today())
}

struct Loaded {
    _dir: tempfile::TempDir,
    sample: PathBuf,
    wh: Warehouse,
    persons: u64,
}

async fn loaded(persons: u64) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample");
    let s = samples::generate(&Options {
        seed: 5,
        persons,
        interventions: None,
        reference: reference_dir(),
        out: sample.clone(),
    })
    .unwrap();
    let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
    let territory = ingest(&wh).run_territory(&reference_dir(), pipeline::Options::default()).await.unwrap();
    assert_eq!(territory.status, Status::Loaded, "{territory}");
    let runs = load_sample(&ingest(&wh), &sample, pipeline::Options::default()).await.unwrap();
    assert!(runs.iter().all(|r| r.status == Status::Loaded && r.quarantined == 0), "{runs:#?}");
    Loaded { _dir: dir, sample, wh, persons: s.persons }
}

/// Changes the check character of the fiscal code that starts a registry line; returns
/// the code as it was.
fn break_check_character(line: &mut String) -> String {
    let cf = line[..16].to_owned();
    let wrong = if cf.ends_with('X') { 'Y' } else { 'X' };
    *line = line.replacen(&cf, &format!("{}{wrong}", &cf[..15]), 1);
    cf
}

async fn scalar(wh: &Warehouse, sql: &str, as_of: &AsOf) -> String {
    let batches = wh.query(sql, as_of).await.unwrap();
    let col = cast(batches[0].column(0), &DataType::Utf8).unwrap();
    col.as_string::<i32>().value(0).to_owned()
}

#[tokio::test]
async fn population_count_equals_generated_and_the_duomo_is_in_nil_1() {
    let l = loaded(3_000).await;
    assert_eq!(scalar(&l.wh, "select count(*) from population", &AsOf::Latest).await, l.persons.to_string());
    let duomo = "select concat(nil_id, ' ', nil_name, ' / municipio ', municipio) from cells \
                 where cell = h3_cell(45.4642, 9.19, 10)";
    assert_eq!(scalar(&l.wh, duomo, &AsOf::Latest).await, "1 DUOMO / municipio 1");
    // Same at resolution 9, through the parent.
    let duomo9 = "select nil_name from cells where res = 9 and cell = h3_parent(h3_cell(45.4642, 9.19, 10), 9)";
    assert_eq!(scalar(&l.wh, duomo9, &AsOf::Latest).await, "DUOMO");
    // The areas table holds the real territory.
    for (kind, n) in [("nil", 88), ("municipio", 9), ("comune", 133)] {
        let sql = format!("select count(*) from areas where kind = '{kind}'");
        assert_eq!(scalar(&l.wh, &sql, &AsOf::Latest).await, n.to_string(), "{kind}");
    }
    // Each NIL's municipio matches the published assignment counts (DESIGN data README).
    let per_mun =
        l.wh.query(
            "select parent_id, count(*) from areas where kind = 'nil' group by 1 order by cast(parent_id as int)",
            &AsOf::Latest,
        )
        .await
        .unwrap();
    let counts: Vec<String> = (0..per_mun[0].num_rows())
        .map(|i| cast(per_mun[0].column(1), &DataType::Utf8).unwrap().as_string::<i32>().value(i).to_owned())
        .collect();
    assert_eq!(counts, ["7", "6", "5", "10", "12", "10", "12", "13", "13"]);
    for (nil, municipio) in [
        ("DUOMO", "1"),
        ("QUARTO OGGIARO - VIALBA - MUSOCCO", "8"),
        ("RONCHETTO SUL NAVIGLIO - Q.RE LODOVICO IL MORO", "6"),
    ] {
        let sql = format!("select parent_id from areas where kind = 'nil' and name = '{nil}'");
        assert_eq!(scalar(&l.wh, &sql, &AsOf::Latest).await, municipio, "{nil}");
    }
    // Homeless residents have no cell and are counted at city level.
    let placed = scalar(&l.wh, "select count(*) from population where h3_10 is not null", &AsOf::Latest).await;
    let homeless = scalar(&l.wh, "select count(*) from population where homeless", &AsOf::Latest).await;
    assert_eq!(placed.parse::<u64>().unwrap() + homeless.parse::<u64>().unwrap(), l.persons);
}

#[tokio::test]
async fn no_names_fiscal_codes_or_addresses_reach_the_warehouse() {
    let l = loaded(2_000).await;
    let mut r = csv::Reader::from_path(l.sample.join(samples::files::REGISTRY)).unwrap();
    let h = r.headers().unwrap().clone();
    let idx = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cf, surname, name, address) = (idx("codice_fiscale"), idx("cognome"), idx("nome"), idx("indirizzo"));
    let mut forbidden: HashSet<String> = HashSet::new();
    let mut codes: HashSet<String> = HashSet::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        codes.insert(rec[cf].to_owned());
        forbidden.insert(rec[cf].to_owned());
        forbidden.insert(format!("{} {}", &rec[name], &rec[surname]));
        forbidden.insert(format!("{} {}", &rec[surname], &rec[name]));
        forbidden.insert(rec[address].to_owned());
    }
    // Rejected rows too: a wrong check character, a birth date that disagrees with the
    // code, an unknown comune. Their messages must not repeat what they reject.
    let path = l.sample.join(samples::files::REGISTRY);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    break_check_character(&mut lines[1]);
    lines[2] =
        if lines[2].contains(",M,") { lines[2].replacen(",M,", ",F,", 1) } else { lines[2].replacen(",F,", ",M,", 1) };
    let last = lines[3].rfind(',').unwrap();
    lines[3] = format!("{},999999", &lines[3][..last]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let run = ingest(&l.wh).run("registry", &path, pipeline::Options::default()).await.unwrap();
    assert_eq!(run.quarantined, 3, "{run:#?}");
    assert_eq!(run.reasons.keys().collect::<Vec<_>>(), ["bad_fiscal_code", "fiscal_code_mismatch", "unknown_comune"]);
    // Nor the pseudonymisation secret.
    forbidden.insert("a test secret of enough bytes".to_owned());
    let mut scanned = 0usize;
    let tables = l.wh.tables().await.unwrap();
    assert!(tables.contains(&"quarantine".to_owned()) && tables.contains(&"ingest_runs".to_owned()), "{tables:?}");
    for table in tables {
        let batches = l.wh.query(&format!("select * from {table}"), &AsOf::Latest).await.unwrap();
        for b in &batches {
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                if !matches!(f.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) {
                    continue;
                }
                let s = cast(c, &DataType::Utf8).unwrap();
                let s = s.as_string::<i32>();
                for i in 0..s.len() {
                    if s.is_null(i) {
                        continue;
                    }
                    let v = s.value(i);
                    scanned += 1;
                    // Whole values, and any fiscal code embedded in a longer one.
                    let embedded =
                        v.len() > 16 && v.is_ascii() && (0..=v.len() - 16).any(|k| codes.contains(&v[k..k + 16]));
                    let secret = v.contains("a test secret");
                    assert!(
                        !forbidden.contains(v) && !embedded && !secret,
                        "{table}.{}: '{v}' is personal data",
                        f.name()
                    );
                }
            }
        }
    }
    assert!(scanned > 10_000, "scanned only {scanned} values");
}

#[tokio::test]
async fn a_bad_row_is_quarantined_with_its_line_column_and_reason_and_the_rest_loads() {
    let l = loaded(1_000).await;
    // Break the fiscal code's check character on the fifth data line (line 6).
    let path = l.sample.join(samples::files::REGISTRY);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let cf = break_check_character(&mut lines[5]);
    lines.push("".into());
    std::fs::write(&path, lines.join("\n")).unwrap();
    let run = ingest(&l.wh).run("registry", &path, pipeline::Options::default()).await.unwrap();
    assert_eq!((run.status, run.read, run.loaded, run.quarantined), (Status::Loaded, 1_000, 999, 1), "{run:#?}");
    assert_eq!(run.reasons.get("bad_fiscal_code"), Some(&1));
    let q =
        "select concat(source, ' ', file, ' line ', line, ' ', \"column\", ' ', reason, ': ', message) from quarantine";
    let row = scalar(&l.wh, q, &AsOf::Latest).await;
    assert!(row.starts_with("registry registry.csv line 6 codice_fiscale bad_fiscal_code: check character"), "{row}");
    assert!(!row.contains(&cf[..15]), "the quarantine repeats the fiscal code: {row}");
    assert_eq!(scalar(&l.wh, "select count(*) from population", &AsOf::Latest).await, "999");
    // The run is recorded with its counts.
    let sql = format!(
        "select concat(status, ' ', rows_read, ' ', rows_loaded, ' ', rows_quarantined, ' ', reasons) from ingest_runs where run_id = '{}'",
        run.run_id
    );
    assert_eq!(scalar(&l.wh, &sql, &AsOf::Latest).await, "loaded 1000 999 1 {\"bad_fiscal_code\":1}");
}

#[tokio::test]
async fn a_reload_is_a_new_version_and_as_of_reads_the_old_one() {
    let l = loaded(1_000).await;
    let other = l.sample.with_file_name("other");
    samples::generate(&Options {
        seed: 6,
        persons: 1_200,
        interventions: None,
        reference: reference_dir(),
        out: other.clone(),
    })
    .unwrap();
    load_sample(&ingest(&l.wh), &other, pipeline::Options::default()).await.unwrap();
    assert_eq!(scalar(&l.wh, "select count(*) from population", &AsOf::Latest).await, "1200");
    assert_eq!(scalar(&l.wh, "select count(*) from population", &AsOf::Version(0)).await, "1000");
    assert_eq!(scalar(&l.wh, "select count(*) from population", &AsOf::parse("population=0").unwrap()).await, "1000");
    let err = l.wh.query("select 1", &AsOf::Version(7)).await.unwrap_err().to_string();
    assert!(err.contains("has no version 7"), "{err}");
}

fn reference_copy_with(file: &str, content: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [files::NIL, files::MUNICIPI, files::COMUNI] {
        std::fs::copy(reference_dir().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(dir.path().join(file), content).unwrap();
    dir
}

#[test]
fn a_projected_geojson_is_refused_naming_the_file() {
    // The real Municipi in RDN2008 / UTM 32N, as published by the Comune.
    let utm = std::fs::read(shared_data_real().join("municipi_9_rdn2008_utm32.geojson")).unwrap();
    let dir = reference_copy_with(files::MUNICIPI, &utm);
    let err = Territory::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(files::MUNICIPI), "{err}");
    assert!(err.contains("not WGS84"), "{err}");
}

#[test]
fn a_missing_or_malformed_geojson_is_refused_naming_the_file() {
    let dir = reference_copy_with(files::NIL, b"{\"type\": \"FeatureCollection\", \"features\": [");
    let err = Territory::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(files::NIL) && err.contains("not valid JSON"), "{err}");

    let dir = reference_copy_with(files::NIL, br#"{"type": "Feature"}"#);
    let err = Territory::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("FeatureCollection"), "{err}");

    let dir = reference_copy_with(files::COMUNI, b"");
    std::fs::remove_file(dir.path().join(files::COMUNI)).unwrap();
    let err = Territory::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains(files::COMUNI) && err.contains("cannot read"), "{err}");
}
