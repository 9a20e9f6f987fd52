//! The Piano di Zona and ISTAT reports over HTTP on the sample warehouse: numbers
//! checked against the sample's own CSV files (read here, not through the warehouse),
//! small counts hidden and marked, the same numbers again at a recorded version after
//! new data was loaded, the files (XLSX, CSV) and the 4xx that name what is wrong.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use http_body_util::BodyExt;
use mosaico_api::{AppState, app};
use mosaico_case_app::{Role, Store};
use serde_json::Value;
use tower::ServiceExt;

const PASSWORD: &str = "password-lunga-1";

/// A case store with Milano's manager, a social worker and a Sesto manager; the
/// session tokens by user name.
async fn store() -> (Store, HashMap<&'static str, String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("cases.db").display())).await.unwrap();
    store.upsert_ambito("MI", "Ambito di Milano", &[(mosaico_domain::MILANO, "Milano")]).await.unwrap();
    store
        .upsert_ambito("NORD-MI", "Nord Milano", &[("015209", "Sesto San Giovanni"), ("015077", "Cinisello Balsamo")])
        .await
        .unwrap();
    let users: [(&str, Role, Result<&str, &str>); 4] = [
        ("dirigente", Role::Manager, Ok(mosaico_domain::MILANO)),
        ("assistente", Role::SocialWorker, Ok(mosaico_domain::MILANO)),
        ("statistico", Role::Statistician, Ok(mosaico_domain::MILANO)),
        ("nordmi", Role::Manager, Err("NORD-MI")),
    ];
    let mut tokens = HashMap::new();
    for (u, role, scope) in users {
        store.create_user(u, u, role, scope, PASSWORD).await.unwrap();
        tokens.insert(u, store.login(u, PASSWORD, "test").await.unwrap().token);
    }
    (store, tokens, dir)
}

async fn state_on(wh: &mosaico_warehouse::Warehouse, store: Store) -> AppState {
    AppState::open(wh, 5).await.unwrap().with_cases(mosaico_case_app::CaseState { store, secure_cookies: false })
}

async fn get(state: &AppState, uri: &str, token: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = HttpRequest::builder().uri(uri);
    if let Some(t) = token {
        req = req.header("cookie", format!("mosaico_session={t}"));
    }
    let resp = app(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn json(state: &AppState, uri: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, b) = get(state, uri, Some(token)).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// Users (distinct fiscal codes) and spending per (area, type) for 2025, straight from
/// the sample's CSV files.
fn expected_2025() -> HashMap<(String, String), (HashSet<String>, f64)> {
    let path = common::fixture().dir.path().join("sample/interventions.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cf, area, ty, start, end, amount) =
        (at("codice_fiscale"), at("area_utenza"), at("tipo_spesa"), at("data_inizio"), at("data_fine"), at("importo"));
    let mut out: HashMap<(String, String), (HashSet<String>, f64)> = HashMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        if &r[start] > "2025-12-31" || &r[end] < "2025-01-01" {
            continue;
        }
        let e = out.entry((r[area].to_owned(), r[ty].to_owned())).or_default();
        e.0.insert(r[cf].to_owned());
        if r[start].starts_with("2025") {
            e.1 += r[amount].parse::<f64>().unwrap();
        }
    }
    out
}

fn line<'a>(table: &'a Value, area: &str, ty: &str) -> Option<&'a Value> {
    table["lines"].as_array().unwrap().iter().find(|l| l["area_utenza"] == area && l["spending_type"] == ty)
}

#[tokio::test]
async fn the_piano_di_zona_agrees_with_the_sample_files_and_hides_small_counts() {
    let (store, tokens, _dir) = store().await;
    let state = state_on(&common::fixture().warehouse(), store).await;
    let (status, r) = json(&state, "/api/v1/reports/piano-di-zona?year=2025", &tokens["dirigente"]).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["empty"], false);
    assert_eq!(r["period"]["from"], "2025-01-01");
    assert!(r["version"].as_str().unwrap().contains("interventions@"), "{}", r["version"]);
    let table = &r["tables"][0];
    assert_eq!(table["istat"], mosaico_domain::MILANO);
    assert_eq!(table["residents"].as_u64().unwrap(), common::PERSONS, "residents come from the registry");

    let want = expected_2025();
    let (mut checked, mut hidden) = (0, 0);
    for ((area, ty), (users, spending)) in &want {
        let l = line(table, area, ty).unwrap_or_else(|| panic!("no line {area}/{ty}"));
        match l["users"]["mark"].as_str().unwrap() {
            "shown" => {
                assert_eq!(l["users"]["value"].as_u64().unwrap(), users.len() as u64, "{area}/{ty}");
                let got = l["spending"]["total_eur"].as_f64().unwrap();
                assert!((got - spending).abs() < 0.01, "{area}/{ty}: {got} vs {spending}");
                checked += 1;
            }
            "primary" => {
                assert!(users.len() < 5, "{area}/{ty} has {} users and is hidden", users.len());
                assert!(l["users"]["value"].is_null() && l["spending"]["total_eur"].is_null());
                hidden += 1;
            }
            "secondary" => {
                assert!(l["users"]["value"].is_null());
                hidden += 1;
            }
            other => panic!("mark {other}"),
        }
        assert_eq!(users.len() < 5, l["users"]["mark"] == "primary", "{area}/{ty}");
    }
    assert!(checked >= 10, "only {checked} cells shown");
    // The grand total: distinct persons over all cells, spending summed.
    let all: HashSet<&String> = want.values().flat_map(|(u, _)| u).collect();
    let spent: f64 = want.values().map(|(_, s)| s).sum();
    let total = line(table, "totale", "totale").unwrap();
    assert_eq!(total["users"]["value"].as_u64().unwrap(), all.len() as u64);
    assert!((total["spending"]["total_eur"].as_f64().unwrap() - spent).abs() < 0.05);
    let per_1000 = total["users_per_1000"].as_f64().unwrap();
    assert!((per_1000 - all.len() as f64 * 1000.0 / common::PERSONS as f64).abs() < 0.01);
    // Quotas add up to the total.
    let s = &total["spending"];
    let parts = s["ente_eur"].as_f64().unwrap() + s["utente_eur"].as_f64().unwrap() + s["ssn_eur"].as_f64().unwrap();
    assert!((parts - s["total_eur"].as_f64().unwrap()).abs() < 0.05);
    // If a cell is hidden, no row of the table shows exactly one hidden value.
    if hidden > 0 {
        for area in table["lines"].as_array().unwrap().iter().map(|l| l["area_utenza"].as_str().unwrap()) {
            let row: Vec<&Value> =
                table["lines"].as_array().unwrap().iter().filter(|l| l["area_utenza"] == area).collect();
            let n_hidden = row.iter().filter(|l| l["users"]["mark"] != "shown").count();
            assert_ne!(n_hidden, 1, "area {area}: one hidden value would be given away by its total");
        }
    }
    // Three years of trend, and NIL coverage with residents adding up to the registry.
    let periods: HashSet<&str> = r["trend"].as_array().unwrap().iter().map(|p| p["period"].as_str().unwrap()).collect();
    assert_eq!(periods, HashSet::from(["2023", "2024", "2025"]));
    let residents: u64 = r["coverage"].as_array().unwrap().iter().map(|c| c["residents"].as_u64().unwrap()).sum();
    assert!(residents > common::PERSONS * 9 / 10 && residents <= common::PERSONS, "{residents}");
}

#[tokio::test]
async fn a_report_made_again_at_its_version_gives_the_same_numbers_after_new_data() {
    // A copy of the fixture's warehouse: this test writes to it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("warehouse");
    copy_dir(&common::fixture().warehouse_path(), &copy);
    let wh = mosaico_warehouse::Warehouse::open(&copy.display().to_string()).unwrap();
    let (store, tokens, _d) = store().await;
    let before = state_on(&wh, store.clone()).await;
    let (_, first) = json(&before, "/api/v1/reports/piano-di-zona?year=2025", &tokens["dirigente"]).await;
    let version = first["version"].as_str().unwrap().to_owned();

    // New interventions arrive: the 2025 rows again, as a new version of the table.
    let mut batches = wh.read_table("interventions").await.unwrap();
    let extra = wh
        .query(
            "SELECT * FROM interventions WHERE start_date >= DATE '2025-01-01' AND start_date <= DATE '2025-12-31'",
            &Default::default(),
        )
        .await
        .unwrap();
    batches.extend(extra);
    wh.write_table("interventions", batches).await.unwrap();

    let after = state_on(&wh, store).await;
    let (_, latest) = json(&after, "/api/v1/reports/piano-di-zona?year=2025", &tokens["dirigente"]).await;
    let total =
        |r: &Value| line(&r["tables"][0], "totale", "totale").unwrap()["spending"]["total_eur"].as_f64().unwrap();
    assert!(total(&latest) > total(&first) * 1.5, "the new rows count in the latest report");
    assert_ne!(latest["version"], first["version"]);

    let uri = format!("/api/v1/reports/piano-di-zona?year=2025&version={version}");
    let (status, again) = json(&after, &uri, &tokens["dirigente"]).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first, "the report at its recorded version is the same report");

    let (status, err) =
        json(&after, "/api/v1/reports/piano-di-zona?year=2025&version=interventions@99", &tokens["dirigente"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("interventions@99 does not exist"), "{err}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
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

#[tokio::test]
async fn files_carry_the_same_numbers_and_the_istat_rows_add_up() {
    let (store, tokens, _dir) = store().await;
    let state = state_on(&common::fixture().warehouse(), store).await;
    let tok = &tokens["statistico"];
    let (_, r) = json(&state, "/api/v1/reports/piano-di-zona?year=2025", tok).await;
    let total = line(&r["tables"][0], "totale", "totale").unwrap().clone();

    let (status, ct, body) = get(&state, "/api/v1/reports/piano-di-zona?year=2025&format=xlsx", Some(tok)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    use calamine::Reader as _;
    let mut wb = calamine::Xlsx::new(Cursor::new(body)).unwrap();
    let names = wb.sheet_names().to_vec();
    assert_eq!(names, ["Milano", "Andamento", "Liste di attesa", "Copertura NIL"]);
    let sheet = wb.worksheet_range("Milano").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let last = rows.iter().rev().find(|r| r.first().is_some_and(|c| c == "Totale")).unwrap();
    assert_eq!(last[2], total["users"]["value"].as_u64().unwrap().to_string());
    let xlsx_spending: f64 = last[4].parse().unwrap();
    assert!((xlsx_spending - total["spending"]["total_eur"].as_f64().unwrap()).abs() < 0.01);
    assert!(
        rows.iter().any(|r| r.iter().any(|c| c.contains("Versione del magazzino dati"))),
        "the stamp is in the file"
    );

    let (status, ct, body) = get(&state, "/api/v1/reports/istat?year=2025&format=csv", Some(tok)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let mut rdr = csv::Reader::from_reader(body.as_slice());
    assert_eq!(rdr.headers().unwrap().get(0), Some("anno_o_periodo"));
    let (mut shown, mut marked) = (0.0, 0);
    for rec in rdr.records() {
        let rec = rec.unwrap();
        assert_eq!(&rec[1], mosaico_domain::MILANO);
        assert_eq!(&rec[6], "diretta", "Milano runs no joint service");
        if rec[12].is_empty() {
            shown += rec[8].parse::<f64>().unwrap();
        } else {
            assert!(rec[7].is_empty() && rec[8].is_empty(), "a hidden row shows nothing");
            marked += 1;
        }
    }
    let all = total["spending"]["total_eur"].as_f64().unwrap();
    assert!(shown <= all + 0.05 && (marked > 0 || (shown - all).abs() < 0.05), "{shown} vs {all} with {marked} hidden");
}

#[tokio::test]
async fn bad_requests_name_what_is_wrong_and_an_empty_period_says_so() {
    let (store, tokens, _dir) = store().await;
    let state = state_on(&common::fixture().warehouse(), store).await;
    let tok = &tokens["dirigente"];
    for (uri, status, words) in [
        ("/api/v1/reports/piano-di-zona?ambito=XX", 400, "ambito: 'XX' is not an ambito in your scope; yours: MI"),
        ("/api/v1/reports/piano-di-zona?ente=015209", 400, "ente: '015209' is not an ente in your scope"),
        ("/api/v1/reports/piano-di-zona?from=2025-13", 400, "from: '2025-13' is not a month"),
        ("/api/v1/reports/piano-di-zona?from=2030-01&to=2030-02", 400, "after the current month"),
        ("/api/v1/reports/piano-di-zona?year=2025&version=cases@x", 400, "'cases@x' is not table@version"),
        ("/api/v1/reports/istat?year=2025&format=pdf", 400, "format: 'pdf' is not one of json, csv, xlsx"),
    ] {
        let (s, body) = json(&state, uri, tok).await;
        assert_eq!(s.as_u16(), status, "{uri}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{uri}: {body}");
    }
    let (s, _, _) = get(&state, "/api/v1/reports/piano-di-zona", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = json(&state, "/api/v1/reports/istat", &tokens["assistente"]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");

    let (s, r) = json(&state, "/api/v1/reports/piano-di-zona?year=2015", tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["empty"], true);
    assert!(r["tables"][0]["lines"][0]["users"]["value"] == 0, "the grand total says zero, flagged empty");
    let (s, _, page) = get(&state, "/reports?year=2015", Some(tok)).await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("Nessun intervento nel periodo 2015"), "the page says the period is empty");
    assert!(!page.contains("class=\"pdz\""), "and shows no table of zeros");

    // An ambito with no data in the warehouse: an empty report for its comuni, not an error.
    let (s, r) = json(&state, "/api/v1/reports/istat?year=2025", &tokens["nordmi"]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["empty"], true);
    assert_eq!(r["residents"][0]["source"], "census_2011", "no registry for Sesto: the census population");
}

#[tokio::test]
async fn the_report_page_prints_the_tables_and_links_the_files() {
    let (store, tokens, _dir) = store().await;
    let state = state_on(&common::fixture().warehouse(), store).await;
    let (s, _, page) = get(&state, "/reports?year=2025", Some(&tokens["dirigente"])).await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    for want in [
        "Piano di Zona — periodo 2025",
        "class=\"pdz\"",
        "format=xlsx",
        "/api/v1/reports/istat?",
        "id=\"trend\"",
        "id=\"coverage\"",
        "@media print",
    ] {
        assert!(page.contains(want), "{want}");
    }
    // Maps of coverage and of the gap per NIL: every NIL drawn, a class or a hatch each.
    for id in ["map-coverage", "map-gap"] {
        let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
        let svg = &page[start..start + page[start..].find("</svg>").unwrap()];
        assert_eq!(svg.matches("<path class=\"area").count(), 88, "{id}");
        let coloured = svg.matches("fill=\"#").count();
        let hatched = svg.matches("url(#hatch").count();
        assert!(coloured + hatched >= 80 && coloured >= 40, "{id}: {coloured} coloured, {hatched} hatched");
    }
    assert!(page.contains("id=\"gaps\""), "the NIL with the largest gaps are listed");
    assert!(page.contains("id=\"no-waiting\""), "no residential care here, and the page says so");
    let (s, _, page) = get(&state, "/reports?year=2025&lang=en", Some(&tokens["dirigente"])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(page).unwrap().contains("Piano di Zona — period 2025"));
    let (s, _, _) = get(&state, "/reports", None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, page) = get(&state, "/reports?ambito=ZZ", Some(&tokens["dirigente"])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(page).unwrap().contains("ambito: &#39;ZZ&#39; is not an ambito"));
}
