//! Territorial analytics on the demo warehouse: every target of the catalogue runs,
//! demand agrees with counts written independently in SQL, accessibility and gaps keep
//! their definitions, the SQL table functions and the HTTP endpoints serve the same
//! rows, and bad input gets a 400 that lists what is allowed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, UInt32Type, UInt64Type};
use datafusion::prelude::SessionContext;
use http_body_util::BodyExt;
use mosaico_analytics::targets::Catalogue;
use mosaico_analytics::territory::{self, Level, Method, Place, Request};
use mosaico_api::{AppState, app};
use mosaico_warehouse::AsOf;
use serde_json::Value;
use tower::ServiceExt;

async fn session() -> SessionContext {
    let ctx = common::fixture().warehouse().session(&AsOf::Latest).await.unwrap();
    mosaico_analytics::register(&ctx, Arc::new(Catalogue::built_in().unwrap()), 5).await.unwrap();
    ctx
}

fn request(id: &str, level: Level) -> Request {
    let catalogue = Catalogue::built_in().unwrap();
    let mut r = Request::new(catalogue.get(id).unwrap());
    r.level = level;
    r.threshold = 1; // every count shown, to compare with the truth
    r
}

/// A single integer from a query.
async fn count(ctx: &SessionContext, sql: &str) -> u64 {
    let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let c = cast(b[0].column(0), &DataType::Int64).unwrap();
    c.as_primitive::<Int64Type>().value(0) as u64
}

fn col_u64(b: &RecordBatch, name: &str) -> Vec<Option<u64>> {
    let c = b.column_by_name(name).unwrap().as_primitive::<UInt64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn col_f64(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let c = b.column_by_name(name).unwrap().as_primitive::<Float64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

fn col_str(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b.column_by_name(name).unwrap().as_string::<i32>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_owned())).collect()
}

fn total(b: &RecordBatch, name: &str) -> u64 {
    col_u64(b, name).into_iter().flatten().sum()
}

#[tokio::test]
async fn every_target_of_the_catalogue_runs_and_most_find_someone() {
    let ctx = session().await;
    let catalogue = Catalogue::built_in().unwrap();
    let mut empty = Vec::new();
    for t in catalogue.targets() {
        let mut r = Request::new(t);
        r.level = Level::Comune;
        r.threshold = 1;
        let b = territory::demand(&ctx, &r).await.unwrap_or_else(|e| panic!("{}: {e}", t.id));
        let (p, x) = (total(&b, "potential"), total(&b, "expressed"));
        assert!(x <= p, "{}: expressed {x} > potential {p}", t.id);
        if p == 0 {
            empty.push(t.id.clone());
        }
    }
    // The demo sample has every age, household shape, ISEE band and area of care.
    assert!(empty.len() <= 2, "targets with nobody in the demo sample: {empty:?}");
}

#[tokio::test]
async fn demand_agrees_with_counts_written_independently() {
    let ctx = session().await;
    // Persons: a rule on age alone, per NIL.
    let b = territory::demand(&ctx, &request("anziani_75", Level::Nil)).await.unwrap();
    let truth = count(&ctx, "SELECT count(*) FROM population WHERE age >= 75 AND nil_id IS NOT NULL").await;
    assert_eq!(total(&b, "potential"), truth);
    assert!(b.num_rows() >= 70, "{} NIL", b.num_rows());
    // Persons with a household condition, by a window instead of a join.
    let b = territory::demand(&ctx, &request("anziani_75_soli", Level::Comune)).await.unwrap();
    let truth = count(
        &ctx,
        "SELECT count(*) FROM (SELECT age, count(*) OVER (PARTITION BY household_key) AS n FROM population) WHERE age >= 75 AND n = 1",
    )
    .await;
    assert_eq!(total(&b, "potential"), truth);
    assert!(truth > 0);
    // Households.
    let b = territory::demand(&ctx, &request("famiglie_numerose", Level::Comune)).await.unwrap();
    let truth = count(
        &ctx,
        "SELECT count(*) FROM (SELECT household_key FROM population GROUP BY household_key HAVING sum(CASE WHEN age < 18 THEN 1 ELSE 0 END) >= 3)",
    )
    .await;
    assert_eq!(total(&b, "potential"), truth);
    // Expressed demand: of the over-75s, those with an open case in the elderly area.
    let b = territory::demand(&ctx, &request("anziani_75", Level::Comune)).await.unwrap();
    let truth = count(
        &ctx,
        "SELECT count(DISTINCT p.person_key) FROM population p JOIN cases c ON c.person_key = p.person_key \
         WHERE p.age >= 75 AND c.closed_on IS NULL AND c.area_utenza = 'anziani'",
    )
    .await;
    assert_eq!(total(&b, "expressed"), truth);
    assert!(truth > 0, "the demo sample has open cases of older people");
    // The latest ISEE of the household counts, not an older one.
    let b = territory::demand(&ctx, &request("famiglie_isee_basso", Level::Comune)).await.unwrap();
    let truth = count(
        &ctx,
        "SELECT count(*) FROM (SELECT household_key, isee_eur, issued_on, valid_until, max(issued_on) OVER (PARTITION BY household_key) AS last FROM isee) i \
         WHERE issued_on = last AND isee_eur < 9360 AND household_key IN (SELECT household_key FROM population) \
         AND NOT EXISTS (SELECT 1 FROM isee j WHERE j.household_key = i.household_key AND j.issued_on = i.issued_on AND j.valid_until > i.valid_until)",
    )
    .await;
    assert_eq!(total(&b, "potential"), truth);
}

#[tokio::test]
async fn cells_and_areas_split_the_same_demand_and_areas_filter_rows() {
    let ctx = session().await;
    let by_nil = territory::demand(&ctx, &request("minori", Level::Nil)).await.unwrap();
    let ids = col_str(&by_nil, "id");
    let potential = col_u64(&by_nil, "potential");
    let (i, _) = potential.iter().enumerate().max_by_key(|(_, p)| p.unwrap_or(0)).unwrap();
    let nil = ids[i].clone().unwrap();
    let mut r = request("minori", Level::Cell(10));
    r.area = Some(Place::parse(&format!("nil:{nil}")).unwrap());
    let cells = territory::demand(&ctx, &r).await.unwrap();
    assert!(cells.num_rows() > 5);
    assert_eq!(total(&cells, "potential"), potential[i].unwrap(), "NIL {nil}: its res-10 cells add up to it");
    let nil_ids = cells.column_by_name("nil_id").unwrap().as_primitive::<datafusion::arrow::datatypes::Int32Type>();
    assert!((0..nil_ids.len()).all(|k| nil_ids.value(k).to_string() == nil));
    for res in 7..=10 {
        let b = territory::demand(&ctx, &request("minori", Level::Cell(res))).await.unwrap();
        let placed = count(&ctx, "SELECT count(*) FROM population WHERE age < 18 AND h3_10 IS NOT NULL").await;
        assert_eq!(total(&b, "potential"), placed, "res {res}");
    }
    // An area that does not exist: the error lists the ones that do.
    r.area = Some(Place::parse("nil:999").unwrap());
    let e = territory::demand(&ctx, &r).await.unwrap_err().to_string();
    assert!(e.contains("nil:999") && e.contains("known ids: 1, 2, 3"), "{e}");
}

#[tokio::test]
async fn small_counts_are_suppressed_visibly() {
    let ctx = session().await;
    let mut r = request("anziani_85_soli", Level::Cell(10));
    r.threshold = 5;
    let b = territory::demand(&ctx, &r).await.unwrap();
    let potential = col_u64(&b, "potential");
    let hidden = b.column_by_name("suppressed").unwrap().as_boolean().clone();
    assert!(hidden.true_count() > 0, "res-10 cells of the very old living alone are small");
    for (i, p) in potential.iter().enumerate() {
        assert_eq!(p.is_none(), hidden.value(i));
        assert!(p.is_none_or(|n| n >= 5));
    }
    // Gaps are hidden with the demand they are part of.
    let g = territory::gaps(&ctx, &r).await.unwrap();
    let (p, gap) = (col_u64(&g, "potential"), col_f64(&g, "gap"));
    assert!(p.iter().zip(&gap).all(|(p, g)| p.is_none() == g.is_none()));
}

#[tokio::test]
async fn supply_counts_the_facility_registry() {
    let ctx = session().await;
    let mut r = request("anziani_75", Level::Comune);
    r = r.with_facility_types(vec!["RSA".into(), "CDI".into()]).unwrap();
    let b = territory::supply(&ctx, &r).await.unwrap();
    let places = count(&ctx, "SELECT sum(capacity) FROM facilities WHERE facility_type IN ('RSA', 'CDI')").await;
    let n = count(&ctx, "SELECT count(*) FROM facilities WHERE facility_type IN ('RSA', 'CDI')").await;
    assert_eq!((total(&b, "places"), total(&b, "facilities")), (places, n));
    assert!(places > 0);
    let e = r.with_facility_types(vec!["HOSPITAL".into()]).unwrap_err().to_string();
    assert!(e.contains("'HOSPITAL'") && e.contains("RSA") && e.contains("NIDO"), "{e}");
}

#[tokio::test]
async fn accessibility_and_gaps_keep_their_definitions() {
    let ctx = session().await;
    // An unbounded catchment (2SFCA): every cell gets total places / total demand.
    let mut r = request("anziani_75", Level::Cell(8)).with_catchment(50.0).unwrap();
    r.method = Method::TwoStep;
    let b = territory::accessibility(&ctx, &r).await.unwrap();
    let rel = col_f64(&b, "relative");
    assert!(rel.iter().all(|x| (x.unwrap() - 1.0).abs() < 1e-9), "{:?}", &rel[..5]);
    // …and no gap anywhere.
    let g = territory::gaps(&ctx, &r).await.unwrap();
    assert!(col_f64(&g, "gap").iter().all(|x| x.unwrap().abs() < 1e-6));

    // The default (E2SFCA, 3 km): gaps between 0 and the demand, ranked, adding up
    // the same across levels.
    let mut r = request("anziani_75", Level::Cell(9));
    let g = territory::gaps(&ctx, &r).await.unwrap();
    let (p, gap, share) = (col_u64(&g, "potential"), col_f64(&g, "gap"), col_f64(&g, "gap_share"));
    assert!(gap.windows(2).all(|w| w[0].unwrap() >= w[1].unwrap()), "ranked by gap");
    let ranks = g.column_by_name("rank").unwrap().as_primitive::<UInt32Type>();
    assert_eq!(ranks.value(0), 1);
    for i in 0..g.num_rows() {
        let (p, gap) = (p[i].unwrap() as f64, gap[i].unwrap());
        assert!((0.0..=p + 1e-9).contains(&gap), "gap {gap} of demand {p}");
        assert!((share[i].unwrap() - gap / p).abs() < 1e-12);
    }
    let cell_sum: f64 = gap.iter().flatten().sum();
    assert!(cell_sum > 0.0, "some cells are under-served at 3 km");
    r.level = Level::Comune;
    let by_comune: f64 = col_f64(&territory::gaps(&ctx, &r).await.unwrap(), "gap").iter().flatten().sum();
    assert!((cell_sum - by_comune).abs() < 1e-6 * cell_sum, "{cell_sum} vs {by_comune}");
    // A NIL's accessibility is its cells' mean weighted by demand.
    r.level = Level::Nil;
    let nil = territory::accessibility(&ctx, &r).await.unwrap();
    let a = col_f64(&nil, "accessibility");
    assert!(a.iter().flatten().any(|x| *x > 0.0));
}

#[tokio::test]
async fn the_measures_are_table_functions_and_the_targets_views() {
    let ctx = session().await;
    let n = count(&ctx, "SELECT count(*) FROM gaps('anziani_75', 'nil')").await;
    assert!(n >= 70, "{n}");
    let households = count(&ctx, "SELECT count(*) FROM households").await;
    assert_eq!(households, count(&ctx, "SELECT count(DISTINCT household_key) FROM population").await);
    let persons = count(&ctx, "SELECT count(*) FROM persons WHERE household_size = 1 AND age >= 75").await;
    let soli = count(&ctx, "SELECT sum(potential) FROM demand('anziani_75_soli', 'comune')").await;
    assert_eq!(persons, soli);
    let places = count(&ctx, "SELECT sum(places) FROM supply('RSA,CDI', 'municipio')").await;
    assert!(places > 0);
    let top = ctx
        .sql("SELECT name, gap FROM gaps('anziani_75', 'nil', 9, 'g2sfca', 2.5) ORDER BY rank LIMIT 3")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(top.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    let e = sql_error(&ctx, "SELECT * FROM demand('anziani_7')").await;
    assert!(e.contains("did you mean 'anziani_75'"), "{e}");
    let e = sql_error(&ctx, "SELECT * FROM demand('anziani_75', 'cell', 12)").await;
    assert!(e.contains("7..=10"), "{e}");
    let e = sql_error(&ctx, "SELECT * FROM gaps()").await;
    assert!(e.contains("usage gaps('<target id>'"), "{e}");
}

/// The error of a query, whether planning or running it fails.
async fn sql_error(ctx: &SessionContext, sql: &str) -> String {
    match ctx.sql(sql).await {
        Err(e) => e.to_string(),
        Ok(df) => df.collect().await.unwrap_err().to_string(),
    }
}

async fn get(uri: &str) -> (StatusCode, String, Vec<u8>) {
    let state = AppState::open(&common::fixture().warehouse(), 5).await.unwrap();
    let res = app(state).oneshot(HttpRequest::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ctype, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn the_endpoints_serve_json_csv_geojson_and_arrow() {
    let base = "/api/v1/territory/gaps?target=anziani_75&level=cell&res=9";
    let (status, ctype, body) = get(base).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(ctype.starts_with("application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["measure"].as_str(), v["method"].as_str(), v["res"].as_u64()),
        (Some("gaps"), Some("e2sfca"), Some(9))
    );
    assert_eq!(v["target"]["id"], "anziani_75");
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() > 500);
    assert_eq!(rows[0]["rank"], 1);
    assert!(rows.iter().any(|r| r["suppressed"] == true && r["potential"].is_null() && r["gap"].is_null()));

    let (status, ctype, body) = get(&format!("{base}&format=csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"));
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with("id,name,hex_id,nil_id,municipio,comune_istat,rank,potential"), "{}", &text[..100]);
    assert_eq!(text.lines().count(), rows.len() + 1);

    let (status, ctype, body) = get(&format!("{base}&format=geojson")).await;
    assert_eq!((status, ctype.as_str()), (StatusCode::OK, "application/geo+json"));
    let g: Value = serde_json::from_slice(&body).unwrap();
    let f = &g["features"][0];
    assert_eq!(f["geometry"]["type"], "Polygon");
    assert_eq!(f["geometry"]["coordinates"][0].as_array().unwrap().len(), 7, "a closed hexagon");
    assert_eq!(f["properties"]["hex_id"], rows[0]["hex_id"]);

    let (status, ctype, body) = get(&format!("{base}&format=arrow")).await;
    assert_eq!((status, ctype.as_str()), (StatusCode::OK, "application/vnd.apache.arrow.stream"));
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None).unwrap();
    let n: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(n, rows.len());

    // Areas come with their outlines.
    let (status, _, body) =
        get("/api/v1/territory/demand?target=famiglie_numerose&level=municipio&format=geojson").await;
    assert_eq!(status, StatusCode::OK);
    let g: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(g["features"].as_array().unwrap().len(), 9);
    assert_eq!(g["features"][0]["geometry"]["type"], "MultiPolygon");

    let (status, _, body) = get("/api/v1/territory/supply?service=RSA&level=nil").await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["rows"].as_array().unwrap().iter().all(|r| r["places"].as_u64().unwrap() > 0));
}

#[tokio::test]
async fn bad_input_gets_a_400_that_lists_what_is_allowed() {
    let cases = [
        ("/api/v1/territory/demand?target=anziani_76", "did you mean 'anziani_75'"),
        ("/api/v1/territory/demand", "the targets are: anziani_65, anziani_75"),
        ("/api/v1/territory/supply?service=OSPEDALE", "expected one of RSA"),
        ("/api/v1/territory/gaps?target=anziani_75&res=11", "7..=10"),
        ("/api/v1/territory/gaps?target=anziani_75&res=nove", "7..=10"),
        ("/api/v1/territory/demand?target=anziani_75&area=nil:999", "known ids: 1, 2"),
        ("/api/v1/territory/demand?target=anziani_75&area=quartiere:3", "nil:<id>, municipio:<number>"),
        ("/api/v1/territory/demand?target=anziani_75&level=quartiere", "cell, nil, municipio, comune"),
        ("/api/v1/territory/accessibility?target=anziani_75&method=3sfca", "2sfca, e2sfca, g2sfca"),
        ("/api/v1/territory/accessibility?target=anziani_75&catchment_km=500", "0.1..=50"),
        ("/api/v1/territory/demand?target=anziani_75&format=xml", "json, csv, geojson, arrow"),
    ];
    for (uri, expected) in cases {
        let (status, _, body) = get(uri).await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(expected), "{uri}: {body}");
    }
}

#[tokio::test]
async fn targets_expand_without_code_changes() {
    // A planner's file with one more target: it runs as a table function at once.
    let mut text = mosaico_analytics::targets::BUILT_IN.to_owned();
    text.push_str(
        "\n[[target]]\nid = \"nonni_soli_isee_basso\"\nname = \"Nonni soli con ISEE basso\"\nkind = \"person\"\narea = \"anziani\"\n\
         rule = \"age >= 80 AND household_size = 1 AND isee_eur < 12000\"\nfacility_types = [\"CDI\"]\n",
    );
    let c = Catalogue::parse(&text, "planner.toml").unwrap();
    assert_eq!(c.targets().len(), Catalogue::built_in().unwrap().targets().len() + 1);
    let ctx = common::fixture().warehouse().session(&AsOf::Latest).await.unwrap();
    mosaico_analytics::register(&ctx, Arc::new(c), 1).await.unwrap();
    let got = count(&ctx, "SELECT sum(potential) FROM demand('nonni_soli_isee_basso', 'comune')").await;
    let truth =
        count(&ctx, "SELECT count(*) FROM persons WHERE age >= 80 AND household_size = 1 AND isee_eur < 12000").await;
    assert_eq!(got, truth);
}
