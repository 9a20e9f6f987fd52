//! The OpenAPI 3.1 document served at `/api/openapi.json`, under a snapshot: a change
//! to the API shows up as a change to `snapshots/openapi.json` in review.
//! Update with `UPDATE_SNAPSHOTS=1 cargo test -p mosaico-api --test openapi`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let doc = mosaico_api::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["openapi"], "3.1.0");
    let paths = json["paths"].as_object().unwrap();
    for p in [
        "/api/v1/persons",
        "/api/v1/cases/{id}",
        "/api/v1/plans/{id}/decision",
        "/api/v1/audit",
        "/api/v1/citizen/applications",
        "/api/v1/applications/{id}/decision",
        "/api/v1/territory/cells",
        "/api/v1/territory/demand",
        "/api/v1/territory/supply",
        "/api/v1/territory/accessibility",
        "/api/v1/territory/gaps",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    assert!(json["components"]["schemas"]["Person"]["properties"]["fiscal_code"].is_object());
    let gaps = &paths["/api/v1/territory/gaps"]["get"];
    let params: Vec<&str> =
        gaps["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["target", "service", "level", "res", "area", "method", "catchment_km", "format"]);
    assert!(gaps["responses"]["400"].is_object());

    let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        text == want,
        "the OpenAPI document changed; review the difference and update with \
         UPDATE_SNAPSHOTS=1 cargo test -p mosaico-api --test openapi"
    );
}
