//! The HTTP API and the landing page, driven through the router with `oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mosaico_api::{AppState, app};
use mosaico_warehouse::AsOf;
use serde_json::Value;
use tower::ServiceExt;

async fn get(uri: &str) -> (StatusCode, String, String) {
    let f = common::fixture();
    let state = AppState::open(&f.warehouse(), 5).await.unwrap();
    let res = app(state).oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_answers() {
    let (status, ctype, body) = get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "ok");
}

#[tokio::test]
async fn cells_are_counted_per_hexagon_with_their_nil_and_small_counts_suppressed() {
    let (status, _, body) = get("/api/v1/territory/cells?res=9&metric=population").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["res"], 9);
    assert_eq!(v["threshold"], 5);
    let cells = v["cells"].as_array().unwrap();
    assert!(cells.len() >= 1_000, "{} cells", cells.len());

    // The same counts straight from the warehouse.
    let wh = common::fixture().warehouse();
    let truth = wh
        .query("select h3_to_string(h3_parent(h3_10, 9)) hex, count(*) n from population where h3_10 is not null group by 1", &AsOf::Latest)
        .await
        .unwrap();
    let mut expected = std::collections::HashMap::new();
    for b in &truth {
        let hex = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let hex = datafusion::arrow::array::AsArray::as_string::<i32>(&hex).clone();
        let n = datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(b.column(1))
            .clone();
        for i in 0..b.num_rows() {
            expected.insert(hex.value(i).to_owned(), n.value(i));
        }
    }
    assert_eq!(expected.len(), cells.len());
    let (mut suppressed, mut complements, mut duomo) = (0, 0, false);
    for c in cells {
        let hex = c["hex_id"].as_str().unwrap();
        assert_eq!(hex.len(), 15, "{hex}");
        assert!(hex.starts_with("89"), "{hex} is not a resolution-9 cell");
        let real = expected[hex];
        if c["suppressed"].as_bool().unwrap() {
            suppressed += 1;
            assert!(c["count"].is_null(), "a suppressed cell shows its count: {c}");
            if real >= 5 {
                complements += 1;
            }
        } else {
            assert_eq!(c["count"].as_i64().unwrap(), real, "{hex}");
            assert!(real >= 5, "{hex} publishes a count of {real}");
        }
        duomo |= hex == "891f99cdd4fffff" && c["nil"] == "DUOMO" && c["municipio"] == 1;
    }
    assert_eq!(v["suppressed_cells"], suppressed);
    // A count of 5 or more is hidden only to protect a lone small one (complementary
    // suppression): never more than one, and never a lone hidden cell.
    assert!(complements == 0 || (complements == 1 && suppressed == 2), "{complements} complements of {suppressed}");
    assert_ne!(suppressed, 1, "a lone hidden cell is given away by the total");
    assert!(duomo, "the Duomo's cell is not labelled NIL DUOMO, municipio 1");
}

#[tokio::test]
async fn other_metrics_count_subsets() {
    let (_, _, all) = get("/api/v1/territory/cells?res=8").await;
    let (_, _, old) = get("/api/v1/territory/cells?res=8&metric=elderly_75").await;
    let sum = |body: &str| -> i64 {
        let v: Value = serde_json::from_str(body).unwrap();
        v["cells"].as_array().unwrap().iter().filter_map(|c| c["count"].as_i64()).sum()
    };
    let (a, o) = (sum(&all), sum(&old));
    assert!(o > 0 && o < a / 5, "75+ {o} of {a}");
}

#[tokio::test]
async fn bad_parameters_get_a_400_naming_them() {
    let (status, ctype, body) = get("/api/v1/territory/cells?res=11").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(ctype.starts_with("application/json"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["error"]["message"].as_str().unwrap().starts_with("res:"), "{body}");
    let (status, _, body) = get("/api/v1/territory/cells?metric=people").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("metric") && body.contains("people"), "{body}");
    let (status, _, _) = get("/api/v1/territory/cells?res=nine").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_landing_page_draws_milan_in_italian_and_english() {
    let (status, ctype, page) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"));
    assert!(page.contains("<html lang=\"it\""));
    assert!(page.contains("Dove vivono i residenti"));
    assert!(page.matches("class=\"hex").count() >= 1_000);
    assert_eq!(page.matches("class=\"nil\"").count(), 88);
    assert!(page.contains("Meno di 5: non mostrato"), "suppression is not explained");
    assert!(!page.contains("https://"), "the page must not load anything from the internet");
    let (_, _, en) = get("/?lang=en&metric=elderly_75").await;
    assert!(en.contains("Where residents live") && en.contains("class=\"on\">Aged 75+"), "English page");
    let (status, _, _) = get("/?metric=nobody").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
