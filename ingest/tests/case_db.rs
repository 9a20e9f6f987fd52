//! The case database into the warehouse, incrementally, on SQLite and PostgreSQL:
//! the first run takes everything, an unchanged database writes nothing, and a change
//! brings only what changed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use mosaico_case_app::Store;
use mosaico_ingest::pipeline::{Ingest, Options, Status};
use mosaico_ingest::pseudonym::PseudonymKey;
use mosaico_warehouse::{AsOf, Warehouse};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn scalar(wh: &Warehouse, sql: &str) -> String {
    let batches = wh.query(sql, &AsOf::Latest).await.unwrap();
    let col = cast(batches[0].column(0), &DataType::Utf8).unwrap();
    col.as_string::<i32>().value(0).to_owned()
}

async fn incremental(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(url).await.unwrap();
    let registry = repo().join("data-samples/milano-5k/registry.csv");
    let seeded = mosaico_case_app::seed::demo(&store, &registry, 40, 7).await.unwrap();
    assert!(seeded.cases > 20 && seeded.interventions > 0, "{seeded:?}");

    let wh = Warehouse::open(&dir.path().join("wh").display().to_string()).unwrap();
    let key = PseudonymKey::new(b"a test secret of enough bytes".to_vec()).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let ingest = Ingest::new(wh.clone(), key.clone(), repo().join("data-samples/reference"), today);

    let first = ingest.run_case_db(url, Options::default()).await.unwrap();
    assert_eq!(first.status, Status::Loaded, "{first:#?}");
    assert_eq!(scalar(&wh, "select count(*) from csi_cases").await, seeded.cases.to_string());
    assert_eq!(scalar(&wh, "select count(*) from csi_persons").await, seeded.persons.to_string());
    assert_eq!(scalar(&wh, "select count(*) from csi_interventions").await, seeded.interventions.to_string());
    assert_eq!(scalar(&wh, "select count(*) from csi_cases where status = 'closed'").await, seeded.closed.to_string());
    // Persons are keyed like the registry: the same HMAC of the fiscal code.
    let cf = {
        let text = std::fs::read_to_string(&registry).unwrap();
        let line = text.lines().nth(1).unwrap().to_owned();
        line[..16].to_owned()
    };
    let n = scalar(&wh, &format!("select count(*) from csi_persons where person_key = '{}'", key.pseudonym(&cf))).await;
    assert!(n == "1" || n == "0");

    // Nothing changed: nothing written.
    let versions = wh.versions().await.unwrap();
    let again = ingest.run_case_db(url, Options::default()).await.unwrap();
    assert_eq!(again.status, Status::Unchanged, "{again:#?}");
    assert_eq!(wh.versions().await.unwrap(), versions);

    // One new person: the next run reads that person only.
    let actor = store.login("assistente", mosaico_case_app::seed::DEMO_PASSWORD, "127.0.0.1").await.unwrap().actor;
    let d = chrono::NaiveDate::from_ymd_opt(1950, 3, 4).unwrap();
    let new_cf = mosaico_domain::FiscalCode::compose("Nuovi", "Arrivo", d, mosaico_domain::Sex::F, "F205");
    let input: mosaico_case_app::input::PersonInput = serde_json::from_value(serde_json::json!({
        "fiscal_code": new_cf.as_str(), "surname": "Nuovi", "given_name": "Arrivo", "sex": "F",
        "birth_date": "1950-03-04", "birth_place": "Milano", "citizenship": "IT", "residence_istat": "015146",
        "address": "Via Padova 12", "lat": 45.4953, "lng": 9.2215
    }))
    .unwrap();
    store.create_person(&actor, &input).await.unwrap();
    let third = ingest.run_case_db(url, Options::default()).await.unwrap();
    assert_eq!((third.status, third.read), (Status::Loaded, 1), "{third:#?}");
    assert_eq!(third.tables.keys().collect::<Vec<_>>(), ["csi_persons"]);
    assert_eq!(scalar(&wh, "select count(*) from csi_persons").await, (seeded.persons + 1).to_string());
    let placed = format!(
        "select concat(nil_id, ' ', municipio, ' ', birth_year) from csi_persons where person_key = '{}'",
        key.pseudonym(new_cf.as_str())
    );
    // Via Padova 12: NIL 20 (LORETO - CASORETTO - NOLO), Municipio 2.
    assert_eq!(scalar(&wh, &placed).await, "20 2 1950");
    let marks =
        scalar(&wh, "select count(distinct watermark) from ingest_watermarks where \"table\" = 'persons'").await;
    assert_eq!(marks, "2");

    // A new secret: rows keyed with the old one cannot be matched, so everything is
    // taken again and replaces them (no person twice under two keys).
    let rotated = PseudonymKey::new(b"another secret, after a rotation".to_vec()).unwrap();
    let again = Ingest::new(wh.clone(), rotated.clone(), repo().join("data-samples/reference"), today);
    let fourth = again.run_case_db(url, Options::default()).await.unwrap();
    assert_eq!(fourth.status, Status::Loaded, "{fourth:#?}");
    assert_eq!(scalar(&wh, "select count(*) from csi_persons").await, (seeded.persons + 1).to_string());
    assert_eq!(scalar(&wh, "select count(*) from csi_cases").await, seeded.cases.to_string());
    let moved = format!("select count(*) from csi_persons where person_key = '{}'", rotated.pseudonym(new_cf.as_str()));
    assert_eq!(scalar(&wh, &moved).await, "1");
    let old = format!("select count(*) from csi_persons where person_key = '{}'", key.pseudonym(new_cf.as_str()));
    assert_eq!(scalar(&wh, &old).await, "0");

    // No fiscal code, name or address of the case database reached the warehouse.
    for table in wh.tables().await.unwrap() {
        for b in wh.query(&format!("select * from {table}"), &AsOf::Latest).await.unwrap() {
            for (f, c) in b.schema().fields().iter().zip(b.columns()) {
                if !matches!(f.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) {
                    continue;
                }
                let s = cast(c, &DataType::Utf8).unwrap();
                for v in s.as_string::<i32>().iter().flatten() {
                    let code = v.len() == 16 && mosaico_domain::FiscalCode::parse(v).is_ok();
                    assert!(!code, "{table}.{}: {v} is a fiscal code", f.name());
                    assert!(
                        !v.contains("Nuovi") && !v.contains("Arrivo") && !v.contains("Via Padova"),
                        "{table}.{}: {v}",
                        f.name()
                    );
                }
            }
        }
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_is_taken_incrementally() {
    let dir = tempfile::tempdir().unwrap();
    incremental(&format!("sqlite://{}", dir.path().join("cases.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_taken_incrementally() {
    let Ok(url) = std::env::var("MOSAICO_TEST_PG_URL") else {
        assert!(std::env::var("CI").is_err(), "MOSAICO_TEST_PG_URL must be set in CI");
        eprintln!("MOSAICO_TEST_PG_URL unset: PostgreSQL test skipped");
        return;
    };
    // A fresh schema, named in the URL so the ingest opens the same one.
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    let schema = format!("mosaico_i_{}", hex::encode(b));
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    incremental(&scoped).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await.unwrap();
}
