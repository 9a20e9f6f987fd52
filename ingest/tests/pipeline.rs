//! The ingest pipeline on bad input, on the real census, and across runs: what is
//! refused whole, what is quarantined row by row, and what a second run changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use mosaico_ingest::pipeline::{Ingest, Options, Status};
use mosaico_ingest::pseudonym::PseudonymKey;
use mosaico_warehouse::{AsOf, Warehouse};

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data-samples/reference")
}

fn key() -> PseudonymKey {
    PseudonymKey::new(b"a test secret of enough bytes".to_vec()).unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    wh: Warehouse,
    ingest: Ingest,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let ingest = Ingest::new(wh.clone(), key(), reference_dir(), today);
    Fixture { dir, wh, ingest }
}

impl Fixture {
    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    async fn scalar(&self, sql: &str) -> String {
        let batches = self.wh.query(sql, &AsOf::Latest).await.unwrap();
        let col = cast(batches[0].column(0), &DataType::Utf8).unwrap();
        col.as_string::<i32>().value(0).to_owned()
    }
}

const ISEE_HEADER: &str =
    "protocollo,id_famiglia,codice_fiscale_dichiarante,tipo_isee,valore_isee,data_presentazione,data_scadenza\n";

fn isee_rows(n: usize) -> String {
    let mut s = String::from(ISEE_HEADER);
    for i in 0..n {
        s.push_str(&format!("P{i:05},F{i:05},,ordinario,{}.50,2026-03-01,2026-12-31\n", 1000 + i));
    }
    s
}

#[tokio::test]
async fn a_header_typo_names_the_nearest_expected_column() {
    let f = fixture();
    let path = f.file("isee.csv", isee_rows(3).replace("data_presentazione", "data_presentazoine"));
    let err = f.ingest.run("isee", &path, Options::default()).await.unwrap_err().to_string();
    assert!(err.contains("isee.csv"), "{err}");
    assert!(
        err.contains(
            "missing column 'data_presentazione' (column 6 is 'data_presentazoine': did you mean 'data_presentazione'?)"
        ),
        "{err}"
    );
    assert!(f.wh.tables().await.unwrap().is_empty(), "a refused file wrote something");
}

#[tokio::test]
async fn a_wrong_delimiter_is_named() {
    let f = fixture();
    let path = f.file("isee.csv", isee_rows(3).replace(',', ";"));
    let err = f.ingest.run("isee", &path, Options::default()).await.unwrap_err().to_string();
    assert!(err.contains("this file looks ';'-separated, but isee files are ','-separated"), "{err}");
}

#[tokio::test]
async fn an_empty_file_is_refused_and_a_header_only_file_changes_nothing() {
    let f = fixture();
    let err = f.ingest.run("isee", &f.file("empty.csv", ""), Options::default()).await.unwrap_err().to_string();
    assert!(err.contains("empty.csv") && err.contains("the file is empty"), "{err}");

    let good = f.ingest.run("isee", &f.file("isee.csv", isee_rows(10)), Options::default()).await.unwrap();
    assert_eq!(good.status, Status::Loaded);
    let run = f.ingest.run("isee", &f.file("header.csv", ISEE_HEADER), Options::default()).await.unwrap();
    assert_eq!((run.status, run.read, run.loaded), (Status::Failed, 0, 0), "{run:#?}");
    assert_eq!(f.scalar("select count(*) from isee").await, "10", "the previous version must stay");
    assert_eq!(f.wh.versions().await.unwrap()["isee"], 0);
    assert_eq!(f.scalar("select status from ingest_runs order by finished_at desc limit 1").await, "failed");
}

#[tokio::test]
async fn a_truncated_file_quarantines_its_cut_line_and_loads_the_rest() {
    let f = fixture();
    let full = isee_rows(50);
    let cut = &full[..full.len() - 30]; // the last line loses its last fields
    let run = f.ingest.run("isee", &f.file("isee.csv", cut), Options::default()).await.unwrap();
    assert_eq!((run.read, run.loaded, run.quarantined), (50, 49, 1), "{run:#?}");
    let (line, _, reason, message) = &run.examples[0];
    assert_eq!((*line, reason.as_str()), (51, "field_count"));
    assert!(message.contains("the header has 7 (a truncated line?)"), "{message}");
}

#[tokio::test]
async fn duplicate_rows_are_quarantined_naming_the_first() {
    let f = fixture();
    let mut text = isee_rows(5);
    text.push_str("P00002,F00002,,ordinario,1002.50,2026-03-01,2026-12-31\n");
    let run = f.ingest.run("isee", &f.file("isee.csv", text), Options::default()).await.unwrap();
    assert_eq!((run.loaded, run.quarantined), (5, 1));
    assert_eq!(run.examples[0].2, "duplicate_key");
    assert_eq!(run.examples[0].3, "the same protocollo as line 4");
}

#[test]
fn every_reason_code_is_explained_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for (code, meaning) in mosaico_ingest::pipeline::schema::REASONS {
        assert!(readme.contains(&format!("| `{code}` | {meaning} |")), "README lacks the reason {code}");
    }
}

#[tokio::test]
async fn every_check_has_its_reason() {
    let f = fixture();
    let mut text = String::from(ISEE_HEADER);
    for row in [
        "A1,F1,,ordinario,100,2026-03-01,2026-12-31",                 // good
        "A2,F2,,ordinario,cento,2026-03-01,2026-12-31",               // bad_number
        "A3,F3,,ordinario,-5,2026-03-01,2026-12-31",                  // out_of_range
        "A4,F4,,ordinario,100,01/03/2026,2026-12-31",                 // bad_date
        "A5,F5,,straordinario,100,2026-03-01,2026-12-31",             // bad_code
        "A6,F6,RSSMRA80A01F205Y,ordinario,100,2026-03-01,2026-12-31", // bad_fiscal_code
        "A7,F7,,ordinario,100,2026-03-01,2025-12-31",                 // incoherent_dates (ends before it starts)
        "A8,F8,,ordinario,100,2027-03-01,2027-12-31",                 // incoherent_dates (future)
        "A9,,,ordinario,100,2026-03-01,2026-12-31",                   // missing_value
    ] {
        text.push_str(row);
        text.push('\n');
    }
    let run = f.ingest.run("isee", &f.file("isee.csv", text), Options::default()).await.unwrap();
    assert_eq!(run.loaded, 1);
    let reasons: Vec<(&str, u64)> = run.reasons.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        reasons,
        [
            ("bad_code", 1),
            ("bad_date", 1),
            ("bad_fiscal_code", 1),
            ("bad_number", 1),
            ("incoherent_dates", 2),
            ("missing_value", 1),
            ("out_of_range", 1)
        ]
    );
    let lines = f.scalar("select string_agg(concat(line, ':', \"column\"), ' ' order by line) from quarantine").await;
    assert_eq!(
        lines,
        "3:valore_isee 4:valore_isee 5:data_presentazione 6:tipo_isee 7:codice_fiscale_dichiarante 8:data_scadenza 9:data_presentazione 10:id_famiglia"
    );
}

#[tokio::test]
async fn latin1_text_is_read_as_latin1_and_counted() {
    let f = fixture();
    let mut bytes = b"id_struttura,denominazione,tipologia,area_utenza,posti,retta_giornaliera,indirizzo,latitudine,longitudine,codice_istat_comune,data_apertura\n".to_vec();
    bytes.extend_from_slice(b"RSA-1,Residenza Citt\xE0 di Milano,RSA,anziani,80,100.5,,,,015146,2001-01-01\n");
    bytes.extend_from_slice(b"RSA-2,Residenza Serena,RSA,anziani,60,,,,,015146,\n");
    let run = f.ingest.run("facilities", &f.file("strutture.csv", bytes), Options::default()).await.unwrap();
    assert_eq!((run.loaded, run.latin1_fields), (2, 1), "{run:#?}");
    assert_eq!(f.scalar("select name from facilities where facility_id = 'RSA-1'").await, "Residenza Città di Milano");
}

#[tokio::test]
async fn istat_codes_and_coordinates_are_checked_against_the_territory() {
    let f = fixture();
    let mut text = b"id_struttura,denominazione,tipologia,area_utenza,posti,retta_giornaliera,indirizzo,latitudine,longitudine,codice_istat_comune,data_apertura\n".to_vec();
    text.extend_from_slice(b"S1,Duomo,CDI,anziani,20,,,45.4642,9.19,015146,\n");
    text.extend_from_slice(b"S2,Roma,CDI,anziani,20,,,41.9028,12.4964,058091,\n"); // Rome: outside
    text.extend_from_slice(b"S3,Nowhere,CDI,anziani,20,,,,,015999,\n"); // no such comune
    text.extend_from_slice(b"S4,Half,CDI,anziani,20,,,45.4642,,015146,\n"); // latitude without longitude
    let run = f.ingest.run("facilities", &f.file("f.csv", text), Options::default()).await.unwrap();
    let reasons: Vec<&str> = run.examples.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(reasons, ["outside_territory", "unknown_comune", "missing_value"], "{run:#?}");
    assert_eq!(f.scalar("select concat(nil_id, '/', municipio) from facilities").await, "1/1");
}

#[tokio::test]
async fn the_same_file_twice_changes_nothing_and_a_dry_run_writes_nothing() {
    let f = fixture();
    let path = f.file("isee.csv", isee_rows(20));
    let dry = f.ingest.run("isee", &path, Options { dry_run: true, ..Default::default() }).await.unwrap();
    assert_eq!((dry.status, dry.loaded), (Status::DryRun, 20));
    assert!(f.wh.tables().await.unwrap().is_empty(), "a dry run wrote tables");

    let first = f.ingest.run("isee", &path, Options::default()).await.unwrap();
    assert_eq!(first.status, Status::Loaded);
    // The run is recorded with the file's SHA-256 (computed beside the load).
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&path).unwrap()));
    assert_eq!(first.sha256, sha256);
    assert_eq!(f.scalar("select sha256 from ingest_runs where source = 'isee'").await, sha256);
    let versions = f.wh.versions().await.unwrap();
    let again = f.ingest.run("isee", &path, Options::default()).await.unwrap();
    assert_eq!(again.status, Status::Unchanged);
    assert_eq!(f.wh.versions().await.unwrap(), versions, "a second load of the same file wrote something");
    // Another key is another pseudonymisation: it loads again.
    let other = Ingest::new(
        f.wh.clone(),
        PseudonymKey::new(vec![9; 32]).unwrap(),
        reference_dir(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
    );
    assert_eq!(other.run("isee", &path, Options::default()).await.unwrap().status, Status::Loaded);
}

#[tokio::test]
async fn a_run_left_midway_is_invisible_to_readers_and_rolled_back_by_the_next() {
    let f = fixture();
    let path = f.file("isee.csv", isee_rows(10));
    f.ingest.run("isee", &path, Options::default()).await.unwrap();
    // A run that committed a new isee but died before its end: its journal stays.
    let run = f.wh.begin("dead-run", "ingest isee", &["isee", "quarantine", "ingest_runs"]).await.unwrap();
    let batches = f.wh.query("select * from isee limit 3", &AsOf::Latest).await.unwrap();
    f.wh.write_table("isee", batches).await.unwrap();
    std::mem::forget(run);
    assert_eq!(f.scalar("select count(*) from isee").await, "10", "readers must not see a run in progress");
    // The journal belongs to this (live) process: another run must wait.
    let err = f.ingest.run("isee", &f.file("other.csv", isee_rows(12)), Options::default()).await.unwrap_err();
    assert!(err.to_string().contains("another run is in progress: ingest isee (run dead-run"), "{err}");
    // Make it look dead (a process id that cannot exist), then run again.
    let journal_path = f.dir.path().join("wh/_mosaico/run.json");
    let mut journal: serde_json::Value = serde_json::from_slice(&std::fs::read(&journal_path).unwrap()).unwrap();
    journal["pid"] = serde_json::json!(u32::MAX);
    std::fs::write(&journal_path, serde_json::to_vec(&journal).unwrap()).unwrap();
    let run = f.ingest.run("isee", &f.file("other.csv", isee_rows(12)), Options::default()).await.unwrap();
    assert_eq!(run.recovered, ["isee (to v0)"]);
    assert_eq!(f.scalar("select count(*) from isee").await, "12");
    // History keeps what happened: v0 load, v1 the dead run, v2 the restore, v3 the new load.
    assert_eq!(f.wh.versions().await.unwrap()["isee"], 3);
    assert!(!journal_path.exists());
}

#[tokio::test]
async fn the_real_census_reproduces_the_published_totals() {
    let f = fixture();
    let dir = reference_dir();
    let items = [
        ("crosswalk".to_owned(), dir.join("istat_sezioni2011_to_nil2012.csv")),
        ("census".to_owned(), dir.join("istat_censimento2011_sezioni_milano.csv")),
    ];
    let runs = f.ingest.run_set(&items, Options::default()).await.unwrap();
    assert_eq!(runs.iter().map(|r| (r.read, r.quarantined)).collect::<Vec<_>>(), [(6078, 0), (6017, 0)]);
    // ISTAT's published totals for Milan (data-real README).
    assert_eq!(f.scalar("select sum(p1) from census_sections").await, "1242123");
    assert_eq!(f.scalar("select sum(p2) from census_sections").await, "580978");
    assert_eq!(f.scalar("select sum(st1) from census_sections").await, "176303");
    assert_eq!(f.scalar("select sum(p29) from census_sections").await, "158381");
    assert_eq!(f.scalar("select sum(pf1) from census_sections").await, "618524");
    assert_eq!(f.scalar("select sum(p1) from census_sections where nil2012_name = 'DUOMO'").await, "15367");
    // The 888888x sections (homeless residents) are counted at city level, never mapped.
    let unmapped = f
        .scalar("select string_agg(concat(mapping, ' ', section), ', ' order by section) from census_sections where nil2012_id is null")
        .await;
    assert_eq!(
        unmapped,
        "not_in_crosswalk 151460004240, homeless_section 151468888883, homeless_section 151468888884, \
         homeless_section 151468888885, homeless_section 151468888886, homeless_section 151468888887, \
         homeless_section 151468888888"
    );
    // The repaired name of the one broken NIL 2012 name.
    let bosco = f.scalar("select count(*) from census_crosswalk where nil2012_name = 'PARCO BOSCO IN CITTÀ'").await;
    assert!(bosco.parse::<u32>().unwrap() > 0, "{bosco}");
}

#[tokio::test]
async fn the_census_without_its_crosswalk_is_refused_with_what_to_do() {
    let f = fixture();
    let path = reference_dir().join("istat_censimento2011_sezioni_milano.csv");
    let err = f.ingest.run("census", &path, Options::default()).await.unwrap_err().to_string();
    assert!(err.contains("run `mosaico ingest crosswalk <file>` first"), "{err}");
    assert!(!f.wh.has_table("census_sections").await.unwrap());
    assert!(f.wh.journal().await.unwrap().is_none(), "a refused run left its journal");
}

#[tokio::test]
async fn a_spreadsheet_registry_loads_like_its_csv_with_sheet_row_numbers() {
    // strutture.xlsx holds data-samples/milano-5k/facilities.csv as Excel keeps it
    // (ISTAT codes as numbers, dates as dates), plus a bad row at sheet row 24.
    let xlsx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/strutture.xlsx");
    let csv = reference_dir().join("../milano-5k/facilities.csv");
    let (a, b) = (fixture(), fixture());
    let from_sheet = a.ingest.run("facilities", &xlsx, Options::default()).await.unwrap();
    let from_csv = b.ingest.run("facilities", &csv, Options::default()).await.unwrap();
    assert_eq!((from_sheet.read, from_sheet.loaded, from_sheet.quarantined), (23, 22, 1), "{from_sheet:#?}");
    assert_eq!(from_csv.loaded, 22);
    let (line, column, reason, message) = &from_sheet.examples[0];
    assert_eq!((*line, column.as_deref(), reason.as_str()), (24, Some("posti"), "bad_number"));
    assert_eq!(message, "'tanti' is not a whole number");
    let q = "select string_agg(concat_ws('|', facility_id, name, comune_istat, capacity, daily_fee_eur, opened_on, h3_10, nil_id), ';' order by facility_id) from facilities";
    assert_eq!(a.scalar(q).await, b.scalar(q).await);
}
