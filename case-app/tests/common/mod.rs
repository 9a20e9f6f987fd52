//! A fresh case store on SQLite (a file in a temporary folder) or PostgreSQL (a fresh
//! schema in the database of `MOSAICO_TEST_PG_URL`), with two comuni in one ambito and
//! one user per role.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::str::FromStr;

use chrono::NaiveDate;
use mosaico_case_app::input::PersonInput;
use mosaico_case_app::{Actor, Created, Person, Role, Store};
use mosaico_domain::{FiscalCode, Sex};
use sqlx::postgres::PgConnectOptions;

/// Comune A (Milano) and comune B (Sesto San Giovanni), both in ambito AMB-MI.
pub const A: &str = "015146";
pub const B: &str = "015209";
pub const PASSWORD: &str = "test-password-1";

pub struct Fixture {
    pub store: Store,
    pub raw: Raw,
    /// Social worker, coordinator, back office, planner, admin of comune A.
    pub worker: Actor,
    pub coordinator: Actor,
    pub back_office: Actor,
    pub planner: Actor,
    pub admin: Actor,
    /// Social worker of comune B.
    pub worker_b: Actor,
    /// Coordinator at the ambito level (sees A and B).
    pub ambito: Actor,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, sqlx::PgPool)>,
}

/// A direct connection, to try what the store never does (tamper with the audit).
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    pub async fn execute(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            Raw::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Raw::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }
}

pub async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cases.db").display());
    let store = Store::open(&url).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    Fixture::populate(store, raw, Some(dir), None).await
}

/// `None` when `MOSAICO_TEST_PG_URL` is unset, outside CI (CI sets it, so there the
/// suite fails rather than skip).
pub async fn postgres() -> Option<Fixture> {
    let Ok(url) = std::env::var("MOSAICO_TEST_PG_URL") else {
        assert!(std::env::var("CI").is_err(), "MOSAICO_TEST_PG_URL must be set in CI");
        eprintln!("MOSAICO_TEST_PG_URL unset: PostgreSQL contract tests skipped");
        return None;
    };
    let admin = sqlx::PgPool::connect(&url).await.expect("PostgreSQL at MOSAICO_TEST_PG_URL");
    let schema = format!("mosaico_t_{}", hex::encode(rand_bytes()));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
    let opts = PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
    let store = Store::open_postgres(opts.clone()).await.unwrap();
    let raw = Raw::Postgres(sqlx::PgPool::connect_with(opts).await.unwrap());
    Some(Fixture::populate(store, raw, None, Some((schema, admin))).await)
}

fn rand_bytes() -> [u8; 6] {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b
}

impl Fixture {
    async fn populate(
        store: Store,
        raw: Raw,
        dir: Option<tempfile::TempDir>,
        pg_schema: Option<(String, sqlx::PgPool)>,
    ) -> Fixture {
        store.upsert_ambito("AMB-MI", "Ambito di Milano", &[(A, "Milano"), (B, "Sesto San Giovanni")]).await.unwrap();
        store.upsert_ambito("AMB-LO", "Ambito di Lodi", &[("098031", "Lodi")]).await.unwrap();
        let users = [
            ("worker", Role::SocialWorker, Ok(A)),
            ("coordinator", Role::Coordinator, Ok(A)),
            ("backoffice", Role::BackOffice, Ok(A)),
            ("planner", Role::Planner, Ok(A)),
            ("admin", Role::Admin, Ok(A)),
            ("worker_b", Role::SocialWorker, Ok(B)),
            ("ambito", Role::Coordinator, Err("AMB-MI")),
        ];
        for (name, role, scope) in users {
            store.create_user(name, &format!("User {name}"), role, scope, PASSWORD).await.unwrap();
        }
        let login = |n: &'static str| {
            let store = store.clone();
            async move { store.login(n, PASSWORD, "127.0.0.1").await.unwrap().actor }
        };
        Fixture {
            worker: login("worker").await,
            coordinator: login("coordinator").await,
            back_office: login("backoffice").await,
            planner: login("planner").await,
            admin: login("admin").await,
            worker_b: login("worker_b").await,
            ambito: login("ambito").await,
            store,
            raw,
            _dir: dir,
            pg_schema,
        }
    }

    /// Drops the PostgreSQL schema (SQLite's folder goes with the fixture).
    pub async fn finish(self) {
        if let Some((schema, admin)) = self.pg_schema {
            drop(self.store);
            drop(self.raw);
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&admin).await;
        }
    }

    /// Creates a person in the actor's ente, with a fiscal code composed from the data.
    pub async fn person(&self, actor: &Actor, surname: &str, given: &str, birth: &str, sex: Sex) -> Person {
        let input = person_input(surname, given, birth, sex);
        match self.store.create_person(actor, &input).await.unwrap() {
            Created::Person(p) => *p,
            Created::Duplicates(d) => panic!("unexpected duplicates {d:?}"),
        }
    }
}

pub fn person_input(surname: &str, given: &str, birth: &str, sex: Sex) -> PersonInput {
    let d = NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap();
    let cf = FiscalCode::compose(surname, given, d, sex, "F205");
    serde_json::from_value(serde_json::json!({
        "fiscal_code": cf.as_str(), "surname": surname, "given_name": given, "sex": sex.as_str(),
        "birth_date": birth, "birth_place": "Milano", "citizenship": "Italia", "residence_istat": A,
        "address": "Via Padova 12", "lat": 45.4953, "lng": 9.2215
    }))
    .unwrap()
}

pub fn json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Runs each named async test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = $crate::common::sqlite().await;
                    super::$name(&f).await;
                    f.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(f) = $crate::common::postgres().await else { return };
                    super::$name(&f).await;
                    f.finish().await;
                }
            )*
        }
    };
}

pub fn role_of(f: &Fixture, r: Role) -> &Actor {
    match r {
        Role::SocialWorker => &f.worker,
        Role::Coordinator => &f.coordinator,
        Role::BackOffice => &f.back_office,
        Role::Planner => &f.planner,
        Role::Admin => &f.admin,
        _ => &f.worker,
    }
}
