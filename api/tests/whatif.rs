//! The planners' questions over HTTP on the demo warehouse: scenarios saved, measured
//! beside the baseline and compared; sites located with a bound; projections and series
//! forecasts; and the 4xx that name what is wrong and the limits that apply.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use http_body_util::BodyExt;
use mosaico_api::{AppState, app};
use mosaico_warehouse::AsOf;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(state: &AppState, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = HttpRequest::builder().method(method).uri(uri);
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    (status, v)
}

async fn count(sql: &str) -> i64 {
    let b = common::fixture().warehouse().query(sql, &AsOf::Latest).await.unwrap();
    let c = cast(b[0].column(0), &DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().value(0)
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap_or_default().to_owned()
}

fn total(v: &Value, label: &str, key: &str) -> f64 {
    v["totals"].as_array().unwrap().iter().find(|t| t["label"] == label).unwrap()[key].as_f64().unwrap()
}

#[tokio::test]
async fn scenarios_are_saved_measured_compared_and_deleted() {
    let state = AppState::open(&common::fixture().warehouse(), 5).await.unwrap();
    // Two new CDI of 30 places in NIL 64, as a planner would write them.
    let new = json!({"name": "Due CDI a Gratosoglio", "description": "prova",
        "changes": [{"op": "open", "facility_type": "CDI", "places": 30, "nil": 64},
                    {"op": "open", "facility_type": "CDI", "places": 30, "nil": 64, "name": "CDI Gratosoglio 2"}]});
    let (s, v) = call(&state, "POST", "/api/v1/scenarios", Some(new.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], "due_cdi_a_gratosoglio");
    assert!(v["base"]["population"].is_u64(), "the base versions are recorded: {v}");
    let (s, v) = call(&state, "POST", "/api/v1/scenarios", Some(new)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // Changes that do not apply are refused, named by their number.
    let bad = |changes: Value| json!({"name": "sbagliato", "changes": changes});
    let (s, v) =
        call(&state, "POST", "/api/v1/scenarios", Some(bad(json!([{"op": "close", "facility_id": "NOPE"}])))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("change 1: facility 'NOPE'"), "{v}");
    let rome = json!([{"op": "catchment", "km": 2.0}, {"op": "open", "facility_type": "CDI", "places": 20, "lat": 41.9, "lon": 12.5}]);
    let (s, v) = call(&state, "POST", "/api/v1/scenarios", Some(bad(rome))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("change 2") && message(&v).contains("outside the territory"), "{v}");
    let (s, v) = call(
        &state,
        "POST",
        "/api/v1/scenarios",
        Some(bad(json!([{"op": "open", "facility_type": "XYZ", "places": 3, "nil": 1}]))),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("'XYZ' is not a facility type; expected one of RSA, CDI"), "{v}");
    let (s, v) =
        call(&state, "POST", "/api/v1/scenarios", Some(json!({"name": "x", "changes": [{"op": "demolish"}]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).starts_with("body:"), "{v}");

    // The outcome: 60 more CDI places, in NIL 64; the gap cannot grow.
    let (s, v) = call(
        &state,
        "GET",
        "/api/v1/scenarios/due_cdi_a_gratosoglio/outcome?target=anziani_75_soli&service=CDI&level=nil",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let places_now = count("SELECT sum(capacity) FROM facilities WHERE facility_type = 'CDI'").await as f64;
    assert_eq!(total(&v, "baseline", "places"), places_now);
    assert_eq!(total(&v, "due_cdi_a_gratosoglio", "places"), places_now + 60.0);
    assert_eq!(total(&v, "baseline", "potential"), total(&v, "due_cdi_a_gratosoglio", "potential"));
    assert!(total(&v, "due_cdi_a_gratosoglio", "gap") <= total(&v, "baseline", "gap") + 1e-9);
    let rows = v["rows"].as_array().unwrap();
    let nil64 = rows.iter().find(|r| r["id"] == "64").unwrap();
    assert_eq!(nil64["due_cdi_a_gratosoglio_d_places"], 60, "{nil64}");
    assert!(rows.iter().filter(|r| r["id"] != "64").all(|r| r["due_cdi_a_gratosoglio_d_places"] == 0));
    // The baseline is the territory's own measure.
    let (_, acc) =
        call(&state, "GET", "/api/v1/territory/accessibility?target=anziani_75_soli&service=CDI&level=nil", None).await;
    for r in acc["rows"].as_array().unwrap() {
        let mine = rows.iter().find(|x| x["id"] == r["id"]).unwrap();
        match (r["accessibility"].as_f64(), mine["baseline_accessibility"].as_f64()) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "NIL {}: {a} vs {b}", r["id"]),
            (a, b) => assert_eq!(a, b, "NIL {}", r["id"]),
        }
    }

    // A second scenario closes the largest CDI and resizes another; compared side by side.
    let (_, sup) = call(&state, "GET", "/api/v1/scenarios", None).await;
    assert_eq!(sup["scenarios"].as_array().unwrap().len(), 1);
    let wh = common::fixture().warehouse();
    let b = wh.query("SELECT facility_id, capacity FROM facilities WHERE facility_type = 'CDI' ORDER BY capacity DESC, facility_id LIMIT 2", &AsOf::Latest).await.unwrap();
    let ids = cast(b[0].column(0), &DataType::Utf8).unwrap();
    let ids = ids.as_string::<i32>();
    let caps = cast(b[0].column(1), &DataType::Int64).unwrap();
    let caps = caps.as_primitive::<Int64Type>();
    let changes = json!([{"op": "close", "facility_id": ids.value(0)}, {"op": "resize", "facility_id": ids.value(1), "places": 5}, {"op": "catchment", "km": 2.0}]);
    let (s, v) = call(&state, "POST", "/api/v1/scenarios", Some(json!({"name": "Tagli", "changes": changes}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &state,
        "GET",
        "/api/v1/scenarios/compare?ids=due_cdi_a_gratosoglio,tagli&target=anziani_75_soli&service=CDI&level=municipio",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["totals"].as_array().unwrap().len(), 3);
    let expected = places_now - caps.value(0) as f64 - (caps.value(1) - 5) as f64;
    assert_eq!(total(&v, "tagli", "places"), expected);
    assert_eq!(total(&v, "tagli", "catchment_km"), 2.0);
    assert!(v["rows"][0]["tagli_d_gap"].is_number() || v["rows"][0]["tagli_d_gap"].is_null());
    let (s, v) = call(&state, "GET", "/api/v1/scenarios/compare?target=anziani_75", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // A projection three years ahead with no births, deaths or migration: each NIL's
    // 75–84 band becomes its 72–81-year-olds of today and its 85+ its 82+, and the
    // over-75s on the grid grow as their band does (constant prevalence), computed here
    // in SQL on its own.
    let proj = json!([{"op": "projection", "years": 3, "rates": {"births": 0.0, "deaths": 0.0, "migration": 0.0}}]);
    let (s, v) =
        call(&state, "POST", "/api/v1/scenarios", Some(json!({"name": "Fra tre anni", "changes": proj}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, v) = call(&state, "GET", "/api/v1/scenarios/fra_tre_anni/outcome?target=anziani_75&level=nil", None).await;
    let expected = count(
        "WITH b AS (SELECT nil_id, \
           CAST(count(*) FILTER (WHERE age BETWEEN 75 AND 84 AND h3_10 IS NOT NULL) AS DOUBLE) AS t1, \
           CAST(count(*) FILTER (WHERE age >= 85 AND h3_10 IS NOT NULL) AS DOUBLE) AS t2, \
           count(*) FILTER (WHERE age BETWEEN 75 AND 84) AS p1, count(*) FILTER (WHERE age BETWEEN 72 AND 81) AS q1, \
           count(*) FILTER (WHERE age >= 85) AS p2, count(*) FILTER (WHERE age >= 82) AS q2 \
           FROM population WHERE nil_id IS NOT NULL GROUP BY nil_id) \
         SELECT CAST(round(sum(CASE WHEN p1 > 0 THEN t1 * q1 / p1 ELSE t1 END + CASE WHEN p2 > 0 THEN t2 * q2 / p2 ELSE t2 END)) AS BIGINT) FROM b",
    )
    .await as f64;
    assert_eq!(total(&v, "fra_tre_anni", "potential"), expected, "{}", v["totals"]);
    let over72 = count("SELECT count(*) FROM population WHERE age >= 72 AND nil_id IS NOT NULL AND h3_10 IS NOT NULL")
        .await as f64;
    assert!((total(&v, "fra_tre_anni", "potential") - over72).abs() <= over72 * 0.01, "about the over-72s of today");
    assert_eq!(total(&v, "fra_tre_anni", "years"), 3.0);

    // Deleted: gone from the list, 404 by id; its history stays in the table.
    let (s, _) = call(&state, "DELETE", "/api/v1/scenarios/tagli", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(&state, "GET", "/api/v1/scenarios/tagli", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(message(&v).contains("saved: due_cdi_a_gratosoglio, fra_tre_anni"), "{v}");
    assert_eq!(count("SELECT count(*) FROM scenarios WHERE id = 'tagli'").await, 2);
    // The tables a scenario is laid over are untouched.
    assert_eq!(count("SELECT sum(capacity) FROM facilities WHERE facility_type = 'CDI'").await as f64, places_now);
}

#[tokio::test]
async fn sites_are_located_with_a_bound_and_oversized_problems_refused() {
    let state = AppState::open(&common::fixture().warehouse(), 5).await.unwrap();
    let (s, v) = call(&state, "GET", "/api/v1/locate?target=anziani_75_soli&service=CDI&p=3&radius_km=1", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let sites = v["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 3);
    let (objective, bound) = (v["objective"].as_f64().unwrap(), v["bound"].as_f64().unwrap());
    assert!(objective > 0.0 && objective <= bound + 1e-9, "{v}");
    let demand: Vec<f64> = sites.iter().map(|s| s["demand"].as_f64().unwrap()).collect();
    assert!((demand.iter().sum::<f64>() - objective).abs() < 1e-6, "the sites' shares add up to the objective");
    assert!(demand.windows(2).all(|w| w[0] >= w[1]), "greedy order: shares never grow: {demand:?}");
    let left = v["demand_total"].as_f64().unwrap() - v["already_served"].as_f64().unwrap();
    assert!(objective <= left + 1e-9);
    assert!(sites.iter().all(|s| s["nil_id"].is_i64() && s["hex_id"].as_str().unwrap().len() == 15), "{v}");
    // Where no facility exists yet, nothing is set aside.
    let (_, w) =
        call(&state, "GET", "/api/v1/locate?target=anziani_75_soli&service=CDI&p=3&radius_km=1&existing=false", None)
            .await;
    assert_eq!(w["already_served"], 0.0);
    assert!(w["objective"].as_f64().unwrap() >= objective);

    for (uri, status, says) in [
        ("/api/v1/locate?target=anziani_75_soli&p=0", StatusCode::BAD_REQUEST, "whole number of sites ≥ 1"),
        ("/api/v1/locate?target=anziani_75_soli&p=500", StatusCode::UNPROCESSABLE_ENTITY, "p ≤ 200"),
        ("/api/v1/locate?target=anziani_75_soli&p=2.5", StatusCode::BAD_REQUEST, "whole number"),
        ("/api/v1/locate?target=anziani_75_soli&radius_km=0", StatusCode::BAD_REQUEST, "0.1..=50"),
        ("/api/v1/locate?target=anziani_75_soli&model=best", StatusCode::BAD_REQUEST, "mclp, pmedian, lscp"),
        ("/api/v1/locate?target=anziani_75_soli&candidates=zzz", StatusCode::BAD_REQUEST, "not an H3 cell"),
        ("/api/v1/locate?target=anziani_75_soli&res=10", StatusCode::BAD_REQUEST, "7..=9"),
        // One candidate in Rome cannot cover Milan.
        (
            "/api/v1/locate?target=anziani_75_soli&model=lscp&radius_km=0.5&existing=false&candidates=891e8052a3bffff",
            StatusCode::UNPROCESSABLE_ENTITY,
            "infeasible",
        ),
    ] {
        let (s, v) = call(&state, "GET", uri, None).await;
        assert_eq!(s, status, "{uri}: {v}");
        assert!(message(&v).contains(says), "{uri}: {v}");
    }
}

#[tokio::test]
async fn projections_and_series_forecasts() {
    let state = AppState::open(&common::fixture().warehouse(), 5).await.unwrap();
    let (s, v) =
        call(&state, "GET", "/api/v1/forecast/demand?target=anziani_75&years=3&births=0&deaths=0&migration=0", None)
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rows = v["rows"].as_array().unwrap();
    let year =
        |y: u64, key: &str| rows.iter().filter(|r| r["years_ahead"] == y).filter_map(|r| r[key].as_f64()).sum::<f64>();
    let everyone = count("SELECT count(*) FROM population").await as f64;
    assert_eq!(year(0, "residents"), everyone);
    assert_eq!(year(3, "residents"), everyone, "no births, deaths or migration: the same residents");
    // With the profiles' rates, Milan's deaths outnumber its births but migration adds.
    let (_, v) = call(&state, "GET", "/api/v1/forecast/population?years=3&format=json", None).await;
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(v["bands"].as_array().unwrap().len(), 11);
    let y0: f64 = rows
        .iter()
        .filter(|r| r["years_ahead"] == 0 && r["age_band"] == "85+")
        .filter_map(|r| r["residents"].as_f64())
        .sum();
    let y3: f64 = rows
        .iter()
        .filter(|r| r["years_ahead"] == 3 && r["age_band"] == "85+")
        .filter_map(|r| r["residents"].as_f64())
        .sum();
    assert!(y0 > 0.0 && y3 > 0.0);
    let (s, v) = call(&state, "GET", "/api/v1/forecast/population?years=11", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("1..=10"), "{v}");
    let (s, v) = call(&state, "GET", "/api/v1/forecast/population?deaths=0.9", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("deaths rate 0.9"), "{v}");

    // A monthly series: trend plus season, forecast a year with intervals, back-tested.
    let values: Vec<f64> =
        (0..48).map(|t| 100.0 + 0.5 * t as f64 + 10.0 * (t as f64 * std::f64::consts::PI / 6.0).sin()).collect();
    let (s, v) =
        call(&state, "POST", "/api/v1/forecast/series", Some(json!({"values": values, "start": "2022-01"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let f = v["forecast"].as_array().unwrap();
    assert_eq!(f.len(), 12);
    assert_eq!(f[0]["month"], "2026-01");
    for (h, step) in f.iter().enumerate() {
        let truth = 100.0 + 0.5 * (48 + h) as f64 + 10.0 * ((48 + h) as f64 * std::f64::consts::PI / 6.0).sin();
        let (lo, hi) = (step["lower"].as_f64().unwrap(), step["upper"].as_f64().unwrap());
        assert!(lo <= truth + 1.0 && truth - 1.0 <= hi, "month {h}: {truth} outside [{lo}, {hi}]");
    }
    assert!(v["backtest"]["mae"].as_f64().unwrap() < 2.0, "{}", v["backtest"]);
    // The requests of the warehouse: case files opened per month, up to last month.
    let (s, v) = call(&state, "GET", "/api/v1/forecast/requests?area=anziani&horizon=6", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let raw = v["series"]["values"].as_array().unwrap();
    let values: Vec<f64> = raw.iter().filter_map(Value::as_f64).collect();
    // Months under the threshold are hidden, visibly, never alone.
    let hidden = raw.iter().filter(|x| x.is_null()).count();
    assert_eq!(v["series"]["suppressed"], hidden);
    assert_ne!(hidden, 1);
    assert!(values.iter().all(|&x| x == 0.0 || x >= 5.0), "a count under 5 is shown: {}", v["series"]);
    let opened = count("SELECT count(*) FROM cases WHERE area_utenza = 'anziani'").await as f64;
    assert!(values.iter().sum::<f64>() <= opened && values.iter().sum::<f64>() > 0.5 * opened, "{}", v["series"]);
    assert_eq!(v["forecast"].as_array().unwrap().len(), 6);
    let (s, v) = call(&state, "GET", "/api/v1/forecast/requests?area=vecchi", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("not an area di utenza; expected one of"), "{v}");
    let (s, v) = call(&state, "POST", "/api/v1/forecast/series", Some(json!({"values": [1.0, 2.0, 3.0]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) =
        call(&state, "POST", "/api/v1/forecast/series", Some(json!({"values": values, "start": "2022-13"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&v).contains("YYYY-MM"), "{v}");
}
