//! The managers' dashboard over HTTP on the test warehouse and a SQLite case store:
//! who may see it (401, 403), filters that are refused with what is allowed (400),
//! figures checked against the warehouse queried directly, suppression marks with no
//! hidden count recoverable from a total, empty periods flagged, budgets set through
//! the form (CSRF-checked, nothing half-saved) and shown against spending, and the page
//! with its charts and sortable tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use http_body_util::BodyExt;
use mosaico_api::{AppState, app};
use mosaico_case_app::{CaseState, Role, Store};
use mosaico_warehouse::AsOf;
use serde_json::Value;
use tower::ServiceExt;

const MILANO: &str = "015146";
const PASSWORD: &str = "test-password-1";

struct Env {
    state: AppState,
    manager: String,
    manager_csrf: String,
    worker: String,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("cases.db").display())).await.unwrap();
    store.upsert_ambito("MI", "Ambito di Milano", &[(MILANO, "Milano")]).await.unwrap();
    store.upsert_ambito("NORD", "Ambito Nord", &[("015209", "Sesto San Giovanni")]).await.unwrap();
    store.create_user("dirigente", "Dirigente", Role::Manager, Ok(MILANO), PASSWORD).await.unwrap();
    store.create_user("assistente", "Assistente", Role::SocialWorker, Ok(MILANO), PASSWORD).await.unwrap();
    let m = store.login("dirigente", PASSWORD, "test").await.unwrap();
    let w = store.login("assistente", PASSWORD, "test").await.unwrap();
    let state = AppState::open(&common::fixture().warehouse(), 5)
        .await
        .unwrap()
        .with_cases(CaseState { store, secure_cookies: false });
    Env { state, manager: m.token, manager_csrf: m.csrf, worker: w.token, _dir: dir }
}

async fn get(env: &Env, token: Option<&str>, uri: &str) -> (StatusCode, String) {
    let mut req = HttpRequest::builder().uri(uri);
    if let Some(t) = token {
        req = req.header("cookie", format!("mosaico_session={t}"));
    }
    let resp = app(env.state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn api(env: &Env, token: Option<&str>, qs: &str) -> (StatusCode, Value) {
    let (s, body) = get(env, token, &format!("/api/v1/dashboard?{qs}")).await;
    (s, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn post_form(env: &Env, body: &str) -> (StatusCode, String, Option<String>) {
    let req = HttpRequest::builder()
        .method("POST")
        .uri("/dashboard/budget")
        .header("cookie", format!("mosaico_session={}", env.manager))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = app(env.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned(), location)
}

async fn scalar(sql: &str) -> f64 {
    let b = common::fixture().warehouse().query(sql, &AsOf::Latest).await.unwrap();
    if b.is_empty() || b[0].num_rows() == 0 {
        return 0.0;
    }
    let c = cast(b[0].column(0), &DataType::Float64).unwrap();
    let c = c.as_primitive::<Float64Type>();
    if c.is_null(0) { 0.0 } else { c.value(0) }
}

async fn counts(sql: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for b in common::fixture().warehouse().query(sql, &AsOf::Latest).await.unwrap() {
        let k = cast(b.column(0), &DataType::Utf8).unwrap();
        let v = cast(b.column(1), &DataType::Int64).unwrap();
        for i in 0..b.num_rows() {
            out.push((k.as_string::<i32>().value(i).to_owned(), v.as_primitive::<Int64Type>().value(i)));
        }
    }
    out
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or_default().to_owned()
}

/// Every `{value, mark}` object: a value exactly when shown.
fn marks_are_consistent(v: &Value) {
    match v {
        Value::Object(m) => {
            if let (Some(value), Some(mark)) = (m.get("value"), m.get("mark")) {
                assert_eq!(value.is_null(), mark != "shown", "{v}");
            }
            m.values().for_each(marks_are_consistent);
        }
        Value::Array(a) => a.iter().for_each(marks_are_consistent),
        _ => {}
    }
}

/// No list published with its total has exactly one hidden member.
fn no_lone_hidden(items: &[&Value], total: &Value) {
    let hidden = items.iter().chain(std::iter::once(&total)).filter(|c| c["mark"] != "shown").count();
    assert_ne!(hidden, 1, "a lone hidden value is recoverable: {items:?} total {total}");
}

#[tokio::test]
async fn only_managers_in_scope_see_it_and_bad_filters_say_what_is_allowed() {
    let env = env().await;
    let (s, v) = api(&env, None, "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, v) = api(&env, Some(&env.worker), "").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, body) = get(&env, Some(&env.worker), "/dashboard").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("role=\"alert\""), "{body:.300}");
    let (s, _) = get(&env, None, "/dashboard?from=2025-01").await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    for (qs, says) in [
        ("ente=015209", "ente: '015209' is not an ente in your scope; yours: 015146 (Milano)"),
        ("ambito=NORD", "ambito: 'NORD' is not an ambito in your scope; yours: MI"),
        ("from=2025-13&to=2026-01", "from: '2025-13' is not a month"),
        ("from=2026-05&to=2026-01", "before from"),
        ("from=2099-01&to=2099-02", "after the current month"),
        ("target=nobody", "target: "),
    ] {
        let (s, v) = api(&env, Some(&env.manager), qs).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{qs}: {v}");
        assert!(message(&v).contains(says), "{qs}: {v}");
    }
    // The page answers 400 too, keeping the form and the values asked for.
    let (s, body) = get(&env, Some(&env.manager), "/dashboard?from=2025-13&to=2026-01").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"filters\"") && body.contains("value=\"2025-13\"") && body.contains("is not a month"));
}

#[tokio::test]
async fn figures_match_the_warehouse_and_small_counts_are_hidden_visibly() {
    let env = env().await;
    let (s, v) = api(&env, Some(&env.manager), "from=2025-01&to=2025-06").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["threshold"], 5);
    assert_eq!(v["empty"], false);
    assert!(v["versions"]["cases"].is_u64(), "{}", v["versions"]);
    assert_eq!(v["period"]["from"], "2025-01-01");
    marks_are_consistent(&v);

    // New cases per month, counted here independently.
    let opened = counts(&format!(
        "SELECT CAST(date_part('month', opened_on) AS VARCHAR), count(*) FROM cases WHERE ente = '{MILANO}' \
         AND opened_on BETWEEN DATE '2025-01-01' AND DATE '2025-06-30' GROUP BY 1"
    ))
    .await;
    let months = v["flows"]["months"].as_array().unwrap();
    assert_eq!(months.len(), 6);
    for m in months {
        let month: u32 = m["month"].as_str().unwrap()[5..].parse().unwrap();
        let expected = opened.iter().find(|(k, _)| k.parse::<u32>().unwrap() == month).map_or(0, |x| x.1);
        match m["opened"]["value"].as_i64() {
            Some(n) => assert_eq!(n, expected, "{m}"),
            None => assert!(expected < 5 || m["opened"]["mark"] == "secondary", "{m} vs {expected}"),
        }
    }
    let total: i64 = opened.iter().map(|x| x.1).sum();
    if let Some(n) = v["flows"]["opened_total"]["value"].as_i64() {
        assert_eq!(n, total);
    }
    let items: Vec<&Value> = months.iter().map(|m| &m["opened"]).collect();
    no_lone_hidden(&items, &v["flows"]["opened_total"]);
    let items: Vec<&Value> = months.iter().map(|m| &m["closed"]).collect();
    no_lone_hidden(&items, &v["flows"]["closed_total"]);

    // Open cases at the end of June 2025.
    let open = scalar(&format!(
        "SELECT count(*) FROM cases WHERE ente = '{MILANO}' AND opened_on <= DATE '2025-06-30' \
         AND (closed_on IS NULL OR closed_on > DATE '2025-06-30')"
    ))
    .await;
    assert_eq!(v["caseload"]["total"]["value"].as_f64(), Some(open), "{}", v["caseload"]["total"]);
    assert_eq!(v["caseload"]["enti"][0]["open"]["value"].as_f64(), Some(open));
    let workers: Vec<&Value> = v["caseload"]["workers"].as_array().unwrap().iter().map(|w| &w["open"]).collect();
    no_lone_hidden(&workers, &v["caseload"]["total"]);
    let shown: i64 = workers.iter().filter_map(|w| w["value"].as_i64()).sum();
    let hidden = workers.iter().filter(|w| w["value"].is_null()).count();
    assert!(hidden == 0 && shown as f64 == open || hidden >= 2, "hidden {hidden}, shown {shown} of {open}");

    // Spending per area di utenza.
    let spent = |area: &str| {
        format!(
            "SELECT sum(i.amount_eur) FROM interventions i JOIN cases c ON c.case_id = i.case_id WHERE c.ente = '{MILANO}' \
             AND i.start_date BETWEEN DATE '2025-01-01' AND DATE '2025-06-30' AND i.area_utenza = '{area}'"
        )
    };
    let areas = v["spending"]["areas"].as_array().unwrap();
    assert_eq!(areas.len(), 7);
    for a in areas {
        let expected = scalar(&spent(a["area"].as_str().unwrap())).await;
        if let Some(x) = a["amount"]["value"].as_f64() {
            assert!((x - expected).abs() < 0.01, "{a}: {expected}");
        } else {
            assert_ne!(a["persons"]["mark"], "shown", "{a}");
        }
    }
    let persons: Vec<&Value> = areas.iter().map(|a| &a["persons"]).collect();
    no_lone_hidden(&persons, &v["spending"]["total"]["persons"]);
    let all = spent("").replace(" AND i.area_utenza = ''", "");
    let total = scalar(&all).await;
    if let Some(x) = v["spending"]["total"]["amount"]["value"].as_f64() {
        assert!((x - total).abs() < 0.01, "{x} vs {total}");
    }
    // All areas' persons are distinct persons: one served in two areas counts once.
    let distinct = scalar(&all.replace("sum(i.amount_eur)", "count(DISTINCT i.person_key)")).await;
    let total_persons = &v["spending"]["total"]["persons"];
    assert_eq!(total_persons["mark"], "shown", "{total_persons}");
    assert_eq!(total_persons["value"].as_f64(), Some(distinct));
    let a = &areas[0];
    let q = a["quota_ente"]["value"].as_f64().unwrap_or(0.0)
        + a["quota_utente"]["value"].as_f64().unwrap_or(0.0)
        + a["quota_ssn"]["value"].as_f64().unwrap_or(0.0);
    if let Some(x) = a["amount"]["value"].as_f64() {
        assert!((x - q).abs() < 1.0, "quotas add up to the amount: {a}");
    }

    // Coverage: the over-75s living alone per NIL, and some NIL hidden with a mark.
    let cov = &v["coverage"];
    assert_eq!(cov["mapped"], "anziani_75_soli");
    assert!(cov["targets"].as_array().unwrap().len() >= 7);
    let nil = cov["nil"].as_array().unwrap();
    assert!(nil.len() > 50, "{}", nil.len());
    assert!(nil.iter().any(|n| n["expressed"]["mark"] == "primary"), "the test sample has small NIL counts");
    for n in nil {
        if n["expressed"]["mark"] != "shown" || n["potential"]["mark"] != "shown" {
            assert!(n["per_1000_target"].is_null(), "{n}");
        }
    }
    let residents =
        scalar(&format!("SELECT count(*) FROM population WHERE comune_istat = '{MILANO}' AND nil_id IS NOT NULL"))
            .await;
    let sum: f64 = nil.iter().filter_map(|n| n["residents"]["value"].as_f64()).sum();
    assert!(sum <= residents && sum > residents * 0.9, "{sum} of {residents}");

    // An ente asked for by name gives the same figures.
    let (_, one) = api(&env, Some(&env.manager), "ente=015146&ambito=MI&from=2025-01&to=2025-06").await;
    assert_eq!(one["flows"], v["flows"]);
}

#[tokio::test]
async fn an_empty_period_says_so() {
    let env = env().await;
    let (s, v) = api(&env, Some(&env.manager), "from=1990-01&to=1990-12").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["empty"], true);
    for section in ["caseload", "flows", "spending", "waiting"] {
        assert_eq!(v[section]["empty"], true, "{section}: {}", v[section]);
        assert!(v[section]["message"].as_str().unwrap().contains("nothing to show"), "{section}");
    }
    let (s, body) = get(&env, Some(&env.manager), "/dashboard?from=1990-01&to=1990-12").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("id=\"empty-period\""), "{body:.500}");
    assert!(!body.contains("id=\"chart-flows\""));
}

#[tokio::test]
async fn budgets_are_set_through_the_form_and_shown_against_spending() {
    let env = env().await;
    let fields = "ente=015146&year=2025&famiglia_minori=1.200.000&disabili=2000000&dipendenze=100000\
                  &immigrati_nomadi=50000&poverta_disagio_adulti=300000&multiutenza=10000";
    // No CSRF token: refused, nothing saved.
    let (s, _, _) = post_form(&env, &format!("{fields}&anziani=2400000")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A bad field: the form comes back with the values and the field's error.
    let (s, body, _) =
        post_form(&env, &format!("csrf={}&back=from%3D2025-01&{fields}&anziani=tanti", env.manager_csrf)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"err-anziani\"") && body.contains("value=\"tanti\"") && body.contains("value=\"1.200.000\"")
    );
    let (_, v) = api(&env, Some(&env.manager), "year=2025").await;
    assert!(v["spending"]["areas"].as_array().unwrap().iter().all(|a| a["budget"].is_null()), "nothing half-saved");

    let (s, _, location) = post_form(
        &env,
        &format!("csrf={}&back=from%3D2025-01%26to%3D2025-06&{fields}&anziani=2.400.000", env.manager_csrf),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/dashboard?from=2025-01&to=2025-06&saved=1#spending"));
    // Six months of 2025: half the year's budget.
    let (_, v) = api(&env, Some(&env.manager), "from=2025-01&to=2025-06").await;
    let anziani = v["spending"]["areas"].as_array().unwrap().iter().find(|a| a["area"] == "anziani").unwrap();
    assert_eq!(anziani["budget"], 1_200_000.0);
    if let Some(x) = anziani["amount"]["value"].as_f64() {
        assert!((anziani["share_of_budget"].as_f64().unwrap() - x / 1_200_000.0).abs() < 1e-9);
    }
    assert_eq!(v["spending"]["total"]["budget"], 3_030_000.0);
}

#[tokio::test]
async fn the_page_draws_charts_and_sorts_tables_on_the_server() {
    let env = env().await;
    let (s, body) = get(&env, Some(&env.manager), "/dashboard?from=2025-01&to=2025-06").await;
    assert_eq!(s, StatusCode::OK);
    for id in ["chart-flows", "chart-spending", "chart-quota", "chart-nil"] {
        let at = body.find(&format!("<svg id=\"{id}\"")).unwrap_or_else(|| panic!("{id} missing"));
        assert!(body[at..at + 400].contains("role=\"img\" aria-label=\""), "{id}");
        assert!(body[at..].contains("<title>"), "{id}");
    }
    assert!(body.contains("* dato oscurato (meno di 5 casi)") && body.contains("** oscurato per non rivelare"));
    assert!(body.contains("class=\"mark primary\""), "a hidden value is marked on the page");
    assert!(body.contains("name=\"csrf\"") && body.contains("id=\"budget-form\""));
    assert!(body.contains("href=\"/dashboard?from=2025-01&amp;to=2025-06&amp;sort=residents&amp;dir=asc#nil-table\""));

    let (_, sorted) = get(&env, Some(&env.manager), "/dashboard?from=2025-01&to=2025-06&sort=residents&dir=desc").await;
    let table = &sorted[sorted.find("id=\"nil-table\"").unwrap()..];
    let table = &table[..table.find("</tbody>").unwrap()];
    assert!(table.contains("aria-sort=\"descending\" data-col=\"residents\""));
    let residents: Vec<u64> = table
        .split("<tr><td>")
        .skip(1)
        .filter_map(|row| row.split("<td>").nth(1)?.split('<').next()?.replace('.', "").parse().ok())
        .collect();
    assert!(residents.len() > 50 && residents.windows(2).all(|w| w[0] >= w[1]), "{residents:?}");

    let (s, en) = get(&env, Some(&env.manager), "/dashboard?from=2025-01&to=2025-06&lang=en").await;
    assert_eq!(s, StatusCode::OK);
    assert!(en.contains("Coverage of targets") && en.contains("* value hidden (fewer than 5 cases)"));
}

/// `serve` answers the dashboard's demand per cell at start (`warm_dashboard`): the first
/// dashboard then runs only the questions of its scope, and shows the same figures.
#[tokio::test]
async fn warming_answers_the_targets_ahead_and_the_dashboard_stays_the_same() {
    let cold = env().await;
    let before = cold.state.cache_stats().unwrap().misses;
    let (s, unwarmed) = api(&cold, Some(&cold.manager), "from=2025-01&to=2025-06").await;
    assert_eq!(s, StatusCode::OK, "{unwarmed}");
    let cold_runs = cold.state.cache_stats().unwrap().misses - before;

    let warm = env().await;
    let targets = warm.state.warm_dashboard().await.unwrap() as u64;
    assert!(targets >= 7, "one target per area di utenza and the mapped one, got {targets}");
    let before = warm.state.cache_stats().unwrap().misses;
    let (s, warmed) = api(&warm, Some(&warm.manager), "from=2025-01&to=2025-06").await;
    assert_eq!(s, StatusCode::OK, "{warmed}");
    let warm_runs = warm.state.cache_stats().unwrap().misses - before;
    assert_eq!(warm_runs + targets, cold_runs, "every warmed target is read from the cache");
    assert_eq!(warmed, unwarmed);
}
