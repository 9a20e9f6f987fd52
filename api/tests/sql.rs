//! `/api/v1/sql` over HTTP: tenancy applied by the engine (each ente sees its own rows,
//! whatever the query tries), only queries, sessions and permissions, the limits with
//! their 4xx, the four formats agreeing with each other, and small counts suppressed.
//!
//! The warehouse is the shared fixture's, copied, with about a tenth of the population
//! (NIL ids ending in 3) and a third of the cases (need score a multiple of 3) moved to
//! Sesto San Giovanni, so two enti have rows. Expected numbers come from a plain
//! session on that copy. The case store is SQLite (the API tests run no PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use datafusion::arrow::array::{Array as _, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use http_body_util::BodyExt;
use mosaico_api::sql::Limits;
use mosaico_api::{AppState, app};
use mosaico_case_app::{CaseState, Role, Store};
use mosaico_warehouse::{AsOf, Warehouse};
use serde_json::{Value, json};
use tower::ServiceExt;

const MILANO: &str = "015146";
const SESTO: &str = "015209";
const PASSWORD: &str = "test-password-1";

/// The copied warehouse with two enti.
struct TwoEnti {
    dir: tempfile::TempDir,
}

impl TwoEnti {
    fn warehouse(&self) -> Warehouse {
        Warehouse::open(&self.dir.path().join("warehouse").display().to_string()).unwrap()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Rewrites `table` with `column` set to Sesto where `when` holds.
async fn move_to_sesto(wh: &Warehouse, table: &str, column: &str, when: &str) {
    let ctx = wh.session(&AsOf::Latest).await.unwrap();
    let schema = ctx.table(table).await.unwrap().schema().as_arrow().clone();
    let select: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == column {
                format!("CASE WHEN {when} THEN '{SESTO}' ELSE \"{column}\" END AS \"{column}\"")
            } else {
                format!("\"{}\"", f.name())
            }
        })
        .collect();
    let batches =
        ctx.sql(&format!("SELECT {} FROM {table}", select.join(", "))).await.unwrap().collect().await.unwrap();
    wh.write_table(table, batches).await.unwrap();
}

fn two_enti() -> &'static TwoEnti {
    static T: OnceLock<TwoEnti> = OnceLock::new();
    T.get_or_init(|| {
        let f = common::fixture();
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            copy_dir(&f.warehouse_path(), &dir.path().join("warehouse"));
            let t = TwoEnti { dir };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let wh = t.warehouse();
                move_to_sesto(&wh, "population", "comune_istat", "nil_id % 10 = 3").await;
                move_to_sesto(&wh, "cases", "ente", "need_score % 3 = 0").await;
            });
            t
        })
        .join()
        .unwrap()
    })
}

/// An app over the two-enti warehouse with a fresh SQLite case store holding a
/// statistician per ente, one for the ambito, and a manager.
async fn api(limits: Limits) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("cases.db").display())).await.unwrap();
    store
        .upsert_ambito("AMB-MI", "Ambito di Milano", &[(MILANO, "Milano"), (SESTO, "Sesto San Giovanni")])
        .await
        .unwrap();
    for (name, role, scope) in [
        ("statistico", Role::Statistician, Ok(MILANO)),
        ("statistico.sesto", Role::Statistician, Ok(SESTO)),
        ("pianificatore.ambito", Role::Planner, Err("AMB-MI")),
        ("dirigente", Role::Manager, Ok(MILANO)),
    ] {
        store.create_user(name, name, role, scope, PASSWORD).await.unwrap();
    }
    let state = AppState::open(&two_enti().warehouse(), 5)
        .await
        .unwrap()
        .with_cases(CaseState { store, secure_cookies: false })
        .with_sql_limits(limits);
    (app(state), dir)
}

/// A signed-in caller: the session cookie and its CSRF token.
struct Auth {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &Router, user: &str) -> Auth {
    let req = Request::post("/api/v1/session")
        .header("content-type", "application/json")
        .body(Body::from(json!({"username": user, "password": PASSWORD}).to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "sign-in of {user}");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    Auth { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    Answer { status, headers, body: resp.into_body().collect().await.unwrap().to_bytes().to_vec() }
}

/// POST a query with the cookie and the CSRF token.
async fn post(app: &Router, auth: &Auth, query: &str, format: &str) -> Answer {
    let req = Request::post("/api/v1/sql")
        .header("content-type", "application/json")
        .header("cookie", &auth.cookie)
        .header("x-csrf-token", &auth.csrf)
        .body(Body::from(json!({"query": query, "format": format}).to_string()))
        .unwrap();
    send(app, req).await
}

/// The rows of a JSON answer, asserting a 200.
async fn rows(app: &Router, auth: &Auth, query: &str) -> Vec<Vec<Value>> {
    let a = post(app, auth, query, "json").await;
    assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.message());
    let v = a.json();
    v["rows"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().clone()).collect()
}

async fn one(app: &Router, auth: &Auth, query: &str) -> i64 {
    rows(app, auth, query).await[0][0].as_i64().unwrap()
}

/// A count straight from the warehouse, without the endpoint.
async fn truth(sql: &str) -> i64 {
    let b = two_enti().warehouse().query(sql, &AsOf::Latest).await.unwrap();
    let c = cast(b[0].column(0), &DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn each_ente_sees_only_its_own_rows() {
    let (app, _dir) = api(Limits::default()).await;
    let milano = sign_in(&app, "statistico").await;
    let sesto = sign_in(&app, "statistico.sesto").await;
    let ambito = sign_in(&app, "pianificatore.ambito").await;
    let pop = |ente: &str| format!("SELECT count(*) FROM population WHERE comune_istat = '{ente}'");
    let (pop_mi, pop_se) = (truth(&pop(MILANO)).await, truth(&pop(SESTO)).await);
    assert!(pop_mi > 10_000 && pop_se > 500, "the fixture has both enti: {pop_mi} / {pop_se}");

    assert_eq!(one(&app, &milano, "SELECT count(*) FROM population").await, pop_mi);
    assert_eq!(one(&app, &sesto, "SELECT count(*) FROM population").await, pop_se);
    assert_eq!(one(&app, &ambito, "SELECT count(*) FROM population").await, pop_mi + pop_se);
    let enti = rows(&app, &milano, "SELECT DISTINCT comune_istat FROM population").await;
    assert_eq!(enti, vec![vec![json!(MILANO)]]);

    // Cases by their ente; interventions through their case; ISEE through the household.
    let cases = format!("SELECT count(*) FROM cases WHERE ente = '{SESTO}'");
    assert_eq!(one(&app, &sesto, "SELECT count(*) FROM cases").await, truth(&cases).await);
    let interventions = format!(
        "SELECT count(*) FROM interventions WHERE case_id IN (SELECT case_id FROM cases WHERE ente = '{SESTO}')"
    );
    let n = truth(&interventions).await;
    assert!(n > 0, "Sesto has interventions");
    assert_eq!(one(&app, &sesto, "SELECT count(*) FROM interventions").await, n);
    let isee = format!(
        "SELECT count(*) FROM isee WHERE household_key IN (SELECT household_key FROM population WHERE comune_istat = '{MILANO}')"
    );
    assert_eq!(one(&app, &milano, "SELECT count(*) FROM isee").await, truth(&isee).await);
    // Reference tables are whole.
    assert_eq!(one(&app, &sesto, "SELECT count(*) FROM areas").await, truth("SELECT count(*) FROM areas").await);
}

#[tokio::test]
async fn escapes_stay_inside_the_tenant() {
    let (app, _dir) = api(Limits::default()).await;
    let sesto = sign_in(&app, "statistico.sesto").await;
    let pop_se = truth(&format!("SELECT count(*) FROM population WHERE comune_istat = '{SESTO}'")).await;
    let cases_se = truth(&format!("SELECT count(*) FROM cases WHERE ente = '{SESTO}'")).await;
    for q in [
        "WITH p AS (SELECT * FROM population) SELECT count(*) FROM p",
        "SELECT count(*) FROM (SELECT person_key FROM population UNION ALL SELECT person_key FROM population WHERE comune_istat <> '015209') x",
        "SELECT count(*) FROM mosaico.public.population",
        "SELECT count(*) FROM public.population",
        "SELECT count(*) FROM population WHERE comune_istat = '015146' OR 1 = 1",
        "SELECT count(*) FROM population p WHERE EXISTS (SELECT 1 FROM population q WHERE q.household_key = p.household_key)",
    ] {
        assert_eq!(one(&app, &sesto, q).await, pop_se, "{q}");
    }
    let joined = "SELECT count(DISTINCT c.case_id) FROM cases c LEFT JOIN population p ON p.person_key = c.person_key";
    assert_eq!(one(&app, &sesto, joined).await, cases_se);
    assert_eq!(
        rows(&app, &sesto, "SELECT count(*) FROM population WHERE comune_istat = '015146'").await[0][0],
        json!(0)
    );

    // The catalogue lists the offered tables only.
    let listed =
        rows(&app, &sesto, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
            .await;
    let listed: Vec<&str> = listed.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert!(listed.contains(&"population") && listed.contains(&"cells"), "{listed:?}");
    for hidden in ["quarantine", "ingest_runs", "persons", "households", "scenarios"] {
        assert!(!listed.contains(&hidden), "{hidden} is listed: {listed:?}");
    }

    // Tables left out, other catalogues, files and table functions are not there.
    let base = two_enti().warehouse().root().to_file_path().unwrap().join("population");
    let base = base.display();
    for (q, expected) in [
        ("SELECT count(*) FROM quarantine".to_owned(), "not found"),
        ("SELECT count(*) FROM datafusion.public.population".to_owned(), "not found"),
        (format!("SELECT count(*) FROM '{base}'"), "not found"),
        (format!("SELECT count(*) FROM read_parquet('{base}')"), "read_parquet"),
        (format!("COPY population TO '{base}/x.csv'"), "refused: COPY"),
        (format!("CREATE EXTERNAL TABLE p STORED AS DELTATABLE LOCATION '{base}'"), "refused: CREATE EXTERNAL TABLE"),
        ("SELECT * INTO copied FROM population".to_owned(), ""),
    ] {
        let a = post(&app, &sesto, &q, "json").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}: {}", a.message());
        assert!(a.message().contains(expected), "{q}: {}", a.message());
    }
}

#[tokio::test]
async fn only_queries_are_accepted() {
    let (app, _dir) = api(Limits::default()).await;
    let auth = sign_in(&app, "statistico").await;
    for (q, expected) in [
        ("INSERT INTO cells VALUES (1)", "refused: INSERT"),
        ("DELETE FROM population", "refused: DELETE"),
        ("DROP TABLE population", "refused: DROP TABLE"),
        ("CREATE VIEW v AS SELECT 1", "refused: CREATE VIEW"),
        ("SET datafusion.execution.target_partitions = 1", "refused: SET"),
        ("EXPLAIN ANALYZE SELECT count(*) FROM population", "refused: EXPLAIN"),
        ("SHOW TABLES", "refused: SHOW"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("SELEC 1", "query:"),
        ("SELECT nope FROM population", "nope"),
    ] {
        let a = post(&app, &auth, q, "json").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}: {}", a.message());
        assert!(a.message().contains(expected), "{q}: {}", a.message());
    }
    let a = post(&app, &auth, "SELECT 1", "pdf").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("json, csv, xlsx, arrow"), "{}", a.message());
}

#[tokio::test]
async fn sessions_permissions_and_the_csrf_token_are_checked() {
    let (app, _dir) = api(Limits::default()).await;
    let body = || Body::from(json!({"query": "SELECT 1"}).to_string());
    let anonymous = Request::post("/api/v1/sql").header("content-type", "application/json").body(body()).unwrap();
    assert_eq!(send(&app, anonymous).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&app, Request::get("/api/v1/sql?q=SELECT%201").body(Body::empty()).unwrap()).await.status,
        StatusCode::UNAUTHORIZED
    );

    let manager = sign_in(&app, "dirigente").await;
    let a = post(&app, &manager, "SELECT 1", "json").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.message().contains("SQL queries"), "{}", a.message());

    let auth = sign_in(&app, "statistico").await;
    let no_csrf = Request::post("/api/v1/sql")
        .header("content-type", "application/json")
        .header("cookie", &auth.cookie)
        .body(body())
        .unwrap();
    let a = send(&app, no_csrf).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.message().contains("x-csrf-token"), "{}", a.message());
    // Scripts may send the session token as a bearer token, without CSRF token.
    let token = auth.cookie.split_once('=').unwrap().1;
    let bearer = Request::post("/api/v1/sql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body())
        .unwrap();
    let a = send(&app, bearer).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.message());
    assert_eq!(a.json()["rows"], json!([[1]]));
    // A GET (a browser's download link) needs no token.
    let get = Request::get("/api/v1/sql?q=SELECT%2042%20AS%20answer&format=csv")
        .header("cookie", &auth.cookie)
        .body(Body::empty())
        .unwrap();
    let a = send(&app, get).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(String::from_utf8(a.body).unwrap(), "answer\n42\n");
    let disposition = a.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"mosaico-sql-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_time_limit_is_stopped() {
    let limits = Limits { timeout: Duration::from_millis(200), ..Limits::default() };
    let (app, _dir) = api(limits).await;
    let auth = sign_in(&app, "statistico").await;
    let started = std::time::Instant::now();
    let heavy = "SELECT count(*) FROM population a JOIN population b ON a.birth_year = b.birth_year \
        WHERE a.person_key < b.household_key";
    let a = post(&app, &auth, heavy, "json").await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?} {}",
        started.elapsed(),
        String::from_utf8_lossy(&a.body)
    );
    assert!(a.message().contains("the query ran longer than 200 ms"), "{}", a.message());
    assert!(started.elapsed() < Duration::from_secs(10), "stopped late: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_query_over_the_memory_limit_gets_a_422() {
    let limits = Limits { memory_bytes: 1 << 20, ..Limits::default() };
    let (app, _dir) = api(limits).await;
    let auth = sign_in(&app, "statistico").await;
    let a = post(&app, &auth, "SELECT * FROM population ORDER BY person_key, household_key", "json").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.message());
    assert!(a.message().contains("the query needs more than 1 MiB of memory"), "{}", a.message());
}

#[tokio::test]
async fn a_result_over_the_row_limit_gets_a_422() {
    let limits = Limits { max_rows: 1_000, ..Limits::default() };
    let (app, _dir) = api(limits).await;
    let auth = sign_in(&app, "statistico").await;
    let a = post(&app, &auth, "SELECT person_key FROM population", "json").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.message());
    assert!(a.message().contains("more than 1000 rows") && a.message().contains("LIMIT"), "{}", a.message());
    assert_eq!(rows(&app, &auth, "SELECT person_key FROM population LIMIT 1000").await.len(), 1_000);
}

const BY_AREA: &str = "SELECT area_utenza, count(*) AS cases, min(opened_on) AS first_opened, \
    avg(need_score) AS mean_need FROM cases GROUP BY area_utenza ORDER BY area_utenza";

#[tokio::test]
async fn the_four_formats_give_the_same_numbers() {
    let (app, _dir) = api(Limits::default()).await;
    let auth = sign_in(&app, "statistico").await;
    let json = post(&app, &auth, BY_AREA, "json").await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.message());
    let v = json.json();
    let names: Vec<&str> = v["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["area_utenza", "cases", "cases_suppressed", "first_opened", "mean_need"]);
    assert_eq!(v["columns"][3]["type"], "Date32");
    let expected: Vec<(String, Option<i64>, String, Option<f64>)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_i64(), r[3].as_str().unwrap().to_owned(), r[4].as_f64()))
        .collect();
    assert!(expected.len() >= 3 && v["row_count"] == expected.len(), "{v}");
    let total: i64 = expected.iter().filter_map(|r| r.1).sum();
    assert!(total > 100, "{v}");

    // CSV.
    let csv = post(&app, &auth, BY_AREA, "csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(csv.body.as_slice());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), names);
    let from_csv: Vec<(String, Option<i64>, String, Option<f64>)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].parse().ok(), r[3].to_owned(), r[4].parse().ok())
        })
        .collect();
    assert_eq!(from_csv, expected);

    // XLSX.
    let xlsx = post(&app, &auth, BY_AREA, "xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.headers["content-disposition"].to_str().unwrap().ends_with(".xlsx\""));
    use calamine::{Data, DataType as _, Reader as _};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = book.worksheet_range("query").unwrap();
    let mut sheet_rows = sheet.rows();
    let header: Vec<String> = sheet_rows.next().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(header, names);
    let from_xlsx: Vec<(String, Option<i64>, String, Option<f64>)> = sheet_rows
        .map(|r| {
            let date = match &r[3] {
                Data::DateTime(d) => {
                    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
                    #[allow(clippy::cast_possible_truncation)]
                    (epoch + chrono::Duration::days(d.as_f64() as i64)).to_string()
                }
                other => panic!("{other:?} is not a date"),
            };
            #[allow(clippy::cast_possible_truncation)]
            (r[0].to_string(), r[1].as_f64().map(|f| f as i64), date, r[4].as_f64())
        })
        .collect();
    assert_eq!(from_xlsx, expected);

    // Arrow IPC.
    let arrow = post(&app, &auth, BY_AREA, "arrow").await;
    assert_eq!(arrow.status, StatusCode::OK);
    assert_eq!(arrow.headers["content-type"], "application/vnd.apache.arrow.stream");
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(arrow.body), None).unwrap();
    let mut from_arrow = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let area = cast(b.column(0), &DataType::Utf8).unwrap();
        let date = cast(b.column(3), &DataType::Utf8).unwrap();
        for i in 0..b.num_rows() {
            let n = b.column(1).as_primitive::<Int64Type>();
            let mean = b.column(4).as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            from_arrow.push((
                area.as_string::<i32>().value(i).to_owned(),
                n.is_valid(i).then(|| n.value(i)),
                date.as_string::<i32>().value(i).to_owned(),
                mean.is_valid(i).then(|| mean.value(i)),
            ));
        }
    }
    assert_eq!(from_arrow, expected);
}

#[tokio::test]
async fn small_counts_are_suppressed_and_marked() {
    let (app, _dir) = api(Limits::default()).await;
    let auth = sign_in(&app, "statistico").await;
    let q = "SELECT h3_10 AS cell, count(*) AS people, count(*) AS same FROM population \
        WHERE h3_10 IS NOT NULL GROUP BY h3_10";
    let a = post(&app, &auth, q, "json").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.message());
    let v = a.json();
    assert_eq!(v["suppressed_columns"], json!(["people", "same"]));
    let truth_rows = two_enti()
        .warehouse()
        .query(
            &format!("SELECT h3_10, count(*) FROM population WHERE h3_10 IS NOT NULL AND comune_istat = '{MILANO}' GROUP BY h3_10"),
            &AsOf::Latest,
        )
        .await
        .unwrap();
    let mut real = std::collections::HashMap::new();
    for b in &truth_rows {
        let cell = cast(b.column(0), &DataType::Int64).unwrap();
        let cell = cell.as_primitive::<Int64Type>();
        let n = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            real.insert(cell.value(i), n.value(i));
        }
    }
    let (mut hidden, mut shown) = (0, 0);
    for r in v["rows"].as_array().unwrap() {
        let n = real[&r[0].as_i64().unwrap()];
        if n < 5 {
            hidden += 1;
            assert!(r[1].is_null() && r[2] == json!(true), "{r}: {n} shown");
        } else {
            shown += 1;
            assert_eq!((r[1].as_i64(), &r[2]), (Some(n), &json!(false)), "{r}");
        }
    }
    assert!(hidden > 10 && shown > 10, "{hidden} hidden, {shown} shown");

    // Counts are found in the plan, through a subquery and an alias; a column merely
    // named like a count is not one.
    let q = "SELECT x.c AS total, 1 AS count, 2 AS n FROM (SELECT count(*) AS c FROM population WHERE nil_id = 1 AND sex = 'F' AND age = 101) x";
    let a = post(&app, &auth, q, "json").await;
    let v = a.json();
    let names: Vec<&str> = v["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["total", "total_suppressed", "count", "n"], "{v}");
    assert_eq!(v["rows"][0][2], json!(1));
}
