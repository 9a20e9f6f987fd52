//! Budgets of the managers' dashboard through the store, on SQLite and PostgreSQL: a
//! year set in one go and replaced, who may set and read them, the enti a user sees,
//! field errors that save nothing, the audit line; and the waiting-list facts in scope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use mosaico_case_app::CaseError;
use mosaico_case_app::budgets::BudgetInput;
use serde_json::json;

on_both_backends!(a_year_of_budgets_is_set_replaced_and_read_in_scope, bad_budgets_save_nothing,);

fn year(y: i32, anziani: &str) -> BudgetInput {
    json(json!({"year": y.to_string(), "famiglia_minori": "2.400.000", "disabili": "3.000.000",
        "dipendenze": "400.000", "anziani": anziani, "immigrati_nomadi": "600.000",
        "poverta_disagio_adulti": "1.500.000", "multiutenza": "300.000,50"}))
}

async fn a_year_of_budgets_is_set_replaced_and_read_in_scope(f: &Fixture) {
    let set = f.store.set_budgets(&f.coordinator, &year(2026, "4.500.000")).await.unwrap();
    assert_eq!(set.len(), 7);
    let anziani = set.iter().find(|b| b.area_utenza == "anziani").unwrap();
    assert_eq!((anziani.ente.as_str(), anziani.year, anziani.amount_cents), (A, 2026, 450_000_000));
    assert_eq!(anziani.set_by_name, "User coordinator");
    assert_eq!(set.iter().find(|b| b.area_utenza == "multiutenza").unwrap().amount_cents, 30_000_050);

    // Set again: replaced, not duplicated.
    f.store.set_budgets(&f.coordinator, &year(2026, "5000000")).await.unwrap();
    f.store.set_budgets(&f.coordinator, &year(2025, "1")).await.unwrap();
    let all = f.store.budgets(&f.planner, &[A.to_owned()], 2025, 2026).await.unwrap();
    assert_eq!(all.len(), 14);
    let a26 = all.iter().find(|b| b.year == 2026 && b.area_utenza == "anziani").unwrap();
    assert_eq!(a26.amount_cents, 500_000_000);
    assert_eq!(f.store.budgets(&f.planner, &[A.to_owned()], 2027, 2030).await.unwrap().len(), 0);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM audit WHERE action = 'set_budget'").await, 3);

    // Another ente's budgets are not seen; the ambito's coordinator sees and sets both.
    assert!(f.store.budgets(&f.ambito, &[B.to_owned()], 2026, 2026).await.unwrap().is_empty());
    let mut b = year(2026, "10");
    b.ente = Some(B.into());
    f.store.set_budgets(&f.ambito, &b).await.unwrap();
    let seen = f.store.budgets(&f.ambito, &[A.to_owned(), B.to_owned()], 2026, 2026).await.unwrap();
    assert_eq!(seen.len(), 14);
    let only_a = f.store.budgets(&f.coordinator, &[A.to_owned(), B.to_owned()], 2026, 2026).await.unwrap();
    assert!(only_a.iter().all(|x| x.ente == A), "{only_a:?}");

    // Roles: a planner reads but does not set; a social worker does neither.
    assert!(matches!(f.store.set_budgets(&f.planner, &year(2026, "1")).await, Err(CaseError::Forbidden(_))));
    assert!(matches!(f.store.budgets(&f.worker, &[A.to_owned()], 2026, 2026).await, Err(CaseError::Forbidden(_))));
    // A coordinator of A cannot set B's.
    assert!(matches!(f.store.set_budgets(&f.coordinator, &b).await, Err(CaseError::Invalid(_))));

    // Waiting-list facts: none yet, and refused outside the scope.
    assert!(f.store.waiting_facts(&f.coordinator, &[A.to_owned()]).await.unwrap().is_empty());
    assert!(matches!(f.store.waiting_facts(&f.coordinator, &[B.to_owned()]).await, Err(CaseError::NotFound(_))));
    assert!(matches!(f.store.waiting_facts(&f.worker, &[A.to_owned()]).await, Err(CaseError::Forbidden(_))));
}

async fn bad_budgets_save_nothing(f: &Fixture) {
    let mut bad = year(2026, "tanti");
    bad.disabili = None;
    bad.year = Some("1999".into());
    match f.store.set_budgets(&f.coordinator, &bad).await {
        Err(CaseError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["year", "disabili", "anziani"], "{errors:?}");
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM budgets").await, 0);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM audit WHERE action = 'set_budget'").await, 0);
}
