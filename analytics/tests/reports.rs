//! The ISTAT tables on a small hand-made warehouse of two comuni of an ambito: the
//! services they run jointly are split by residents (ISTAT's method), the others stay
//! where recorded; small counts are hidden with their complements.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int32Array, RecordBatch, StringArray};
use datafusion::prelude::SessionContext;
use mosaico_analytics::period::Period;
use mosaico_analytics::reports::{self, EnteRef, JointServices, Stamp};

const SESTO: &str = "015209";
const CINISELLO: &str = "015077";

fn day(s: &str) -> i32 {
    (NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn strs(v: &[String]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// (ente, service, area, type, persons, euros per person) → cases and interventions in March 2025.
fn session(rows: &[(&str, &str, &str, &str, usize, f64)]) -> SessionContext {
    let (mut case_id, mut person, mut ente) = (vec![], vec![], vec![]);
    let (mut i_case, mut i_person, mut service, mut area, mut ty, mut amount) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (r, (e, s, a, t, n, eur)) in rows.iter().enumerate() {
        for p in 0..*n {
            let id = format!("C{r}-{p}");
            let who = format!("P{e}-{r}-{p}");
            case_id.push(id.clone());
            person.push(who.clone());
            ente.push((*e).to_owned());
            i_case.push(id);
            i_person.push(who);
            service.push((*s).to_owned());
            area.push((*a).to_owned());
            ty.push((*t).to_owned());
            amount.push(*eur);
        }
    }
    let ctx = SessionContext::new();
    let cases =
        RecordBatch::try_from_iter([("case_id", strs(&case_id)), ("person_key", strs(&person)), ("ente", strs(&ente))])
            .unwrap();
    let n = i_case.len();
    let zeros: ArrayRef = Arc::new(Float64Array::from(vec![0.0; n]));
    let interventions = RecordBatch::try_from_iter([
        ("case_id", strs(&i_case)),
        ("person_key", strs(&i_person)),
        ("service_code", strs(&service)),
        ("area_utenza", strs(&area)),
        ("spending_type", strs(&ty)),
        ("start_date", Arc::new(Date32Array::from(vec![day("2025-03-01"); n])) as ArrayRef),
        ("end_date", Arc::new(Date32Array::from(vec![day("2025-03-31"); n])) as ArrayRef),
        ("amount_eur", Arc::new(Float64Array::from(amount.clone())) as ArrayRef),
        ("quota_ente_eur", Arc::new(Float64Array::from(amount)) as ArrayRef),
        ("quota_utente_eur", zeros.clone()),
        ("quota_ssn_eur", zeros),
    ])
    .unwrap();
    let population = RecordBatch::try_from_iter([
        ("person_key", strs(&[])),
        ("comune_istat", strs(&[])),
        ("nil_id", Arc::new(Int32Array::from(Vec::<i32>::new())) as ArrayRef),
    ])
    .unwrap();
    ctx.register_batch("cases", cases).unwrap();
    ctx.register_batch("interventions", interventions).unwrap();
    ctx.register_batch("population", population).unwrap();
    ctx
}

fn year_2025() -> Period {
    Period::parse(None, None, Some("2025"), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()).unwrap()
}

fn reference() -> HashMap<String, u64> {
    HashMap::from([(SESTO.to_owned(), 76_514), (CINISELLO.to_owned(), 71_128)])
}

fn enti(codes: &[&str]) -> Vec<EnteRef> {
    codes.iter().map(|c| EnteRef { istat: (*c).to_owned(), name: (*c).to_owned() }).collect()
}

const JOINT: &str = "[[joint]]\nambito = 'NORD-MI'\nenti = ['015209', '015077']\nservices = ['SAD']\n";

#[tokio::test]
async fn joint_services_are_split_by_residents_and_the_rest_stays_where_recorded() {
    let ctx = session(&[
        (SESTO, "SAD", "anziani", "interventi_servizi", 6, 100.0),
        (CINISELLO, "SAD", "anziani", "interventi_servizi", 4, 100.0),
        (SESTO, "CDD", "disabili", "strutture", 7, 1000.0),
        (CINISELLO, "PASTI", "anziani", "interventi_servizi", 9, 50.0),
    ]);
    let joint = JointServices::parse(JOINT).unwrap();
    let s = reports::istat_survey(
        &ctx,
        &enti(&[SESTO, CINISELLO]),
        &year_2025(),
        5,
        &reference(),
        &joint,
        &Stamp::default(),
    )
    .await
    .unwrap();
    assert!(!s.empty && s.notes.is_empty());
    let row = |e: &str, svc: &str| s.rows.iter().find(|r| r.istat == e && r.intervention == svc).unwrap();
    // 10 users and €1,000 of SAD, weights 76,514 : 71,128 (51.82 % : 48.18 %).
    let (a, b) = (row(SESTO, "SAD"), row(CINISELLO, "SAD"));
    assert_eq!((a.management, b.management), ("associata", "associata"));
    assert_eq!((a.users.value, b.users.value), (Some(5), Some(5)));
    assert_eq!((a.spending.total_eur, b.spending.total_eur), (Some(518.24), Some(481.76)));
    assert_eq!(row(SESTO, "CDD").management, "diretta");
    assert_eq!(row(SESTO, "CDD").users.value, Some(7));
    assert_eq!(row(CINISELLO, "PASTI").spending.total_eur, Some(450.0));
    assert_eq!(s.residents.iter().map(|r| r.source).collect::<Vec<_>>(), ["census_2011", "census_2011"]);
}

#[tokio::test]
async fn a_joint_group_not_wholly_in_scope_is_not_split_and_says_so() {
    let ctx = session(&[
        (SESTO, "SAD", "anziani", "interventi_servizi", 6, 100.0),
        (CINISELLO, "SAD", "anziani", "interventi_servizi", 4, 100.0),
    ]);
    let joint = JointServices::parse(JOINT).unwrap();
    let s = reports::istat_survey(&ctx, &enti(&[SESTO]), &year_2025(), 5, &reference(), &joint, &Stamp::default())
        .await
        .unwrap();
    assert_eq!(s.rows.len(), 1);
    assert_eq!((s.rows[0].management, s.rows[0].users.value), ("diretta", Some(6)));
    assert!(s.notes[0].contains("ambito NORD-MI"), "{:?}", s.notes);
}

#[tokio::test]
async fn small_counts_are_hidden_with_a_complement_in_their_area() {
    let ctx = session(&[
        (SESTO, "PASTI", "anziani", "interventi_servizi", 3, 50.0),
        (SESTO, "TELESOC", "anziani", "interventi_servizi", 8, 20.0),
        (SESTO, "RSA", "anziani", "strutture", 20, 2000.0),
        (SESTO, "CDD", "disabili", "strutture", 12, 1000.0),
    ]);
    let s = reports::istat_survey(
        &ctx,
        &enti(&[SESTO]),
        &year_2025(),
        5,
        &reference(),
        &JointServices::default(),
        &Stamp::default(),
    )
    .await
    .unwrap();
    let mark = |svc: &str| s.rows.iter().find(|r| r.intervention == svc).unwrap().users.mark;
    use mosaico_analytics::disclosure::Mark;
    assert_eq!(mark("PASTI"), Mark::Primary);
    assert_eq!(mark("TELESOC"), Mark::Secondary, "the smallest other count of the area goes with it");
    assert_eq!(mark("RSA"), Mark::Shown);
    let pasti = s.rows.iter().find(|r| r.intervention == "PASTI").unwrap();
    assert!(pasti.users.value.is_none() && pasti.spending.total_eur.is_none());
}

#[tokio::test]
async fn the_piano_di_zona_of_an_ambito_has_a_table_per_ente_and_one_for_all() {
    let ctx = session(&[
        (SESTO, "SAD", "anziani", "interventi_servizi", 6, 100.0),
        (CINISELLO, "SAD", "anziani", "interventi_servizi", 14, 100.0),
        (CINISELLO, "BUONO_ANZ", "anziani", "trasferimenti_denaro", 9, 300.0),
    ]);
    let r = reports::piano_di_zona(&ctx, &enti(&[SESTO, CINISELLO]), &year_2025(), 5, &reference(), &Stamp::default())
        .await
        .unwrap();
    assert_eq!(r.tables.iter().map(|t| t.istat.as_str()).collect::<Vec<_>>(), ["totale", SESTO, CINISELLO]);
    let total = r.tables[0].lines.iter().find(|l| l.area_utenza == "totale" && l.spending_type == "totale").unwrap();
    assert_eq!(total.users.value, Some(29));
    assert_eq!(total.spending.total_eur, Some(2000.0 + 2700.0));
    assert_eq!(r.tables[0].residents, 76_514 + 71_128);
    let per_1000 = total.users_per_1000.unwrap();
    assert!((per_1000 - 29_000.0 / 147_642.0).abs() < 0.01);
    // Sesto has one cell: its total equals it, nothing to hide at 6.
    let sesto = &r.tables[1];
    assert!(sesto.lines.iter().all(|l| l.users.value == Some(6)));
}

/// One pass serves the three years of the trend and the year's table: each period counts
/// the persons with an intervention running in it and the spending that started in it, and
/// a person under two types of one area is one user of that area.
#[tokio::test]
async fn the_trend_and_the_table_keep_periods_and_persons_apart() {
    // (person, area, type, first day, last day, euros)
    let rows = [
        ("P1", "anziani", "interventi_servizi", "2024-03-01", "2024-03-31", 100.0),
        ("P1", "anziani", "trasferimenti_denaro", "2025-03-01", "2025-03-31", 300.0),
        ("P1", "anziani", "interventi_servizi", "2025-04-01", "2025-04-30", 100.0),
        ("P2", "anziani", "strutture", "2023-06-01", "2025-02-28", 1000.0),
        ("P3", "disabili", "interventi_servizi", "2025-05-01", "2025-05-31", 50.0),
    ];
    type Row<'r> = (&'r str, &'r str, &'r str, &'r str, &'r str, f64);
    let s = |f: fn(&Row) -> String| -> ArrayRef { strs(&rows.iter().map(f).collect::<Vec<_>>()) };
    let dates = |f: fn(&Row) -> String| -> ArrayRef {
        Arc::new(Date32Array::from(rows.iter().map(|r| day(&f(r))).collect::<Vec<_>>()))
    };
    let euros: ArrayRef = Arc::new(Float64Array::from(rows.iter().map(|r| r.5).collect::<Vec<_>>()));
    let zeros: ArrayRef = Arc::new(Float64Array::from(vec![0.0; rows.len()]));
    let interventions = RecordBatch::try_from_iter([
        ("case_id", s(|r| format!("C-{}", r.0))),
        ("person_key", s(|r| r.0.to_owned())),
        ("service_code", s(|_| "SAD".to_owned())),
        ("area_utenza", s(|r| r.1.to_owned())),
        ("spending_type", s(|r| r.2.to_owned())),
        ("start_date", dates(|r| r.3.to_owned())),
        ("end_date", dates(|r| r.4.to_owned())),
        ("amount_eur", euros.clone()),
        ("quota_ente_eur", euros),
        ("quota_utente_eur", zeros.clone()),
        ("quota_ssn_eur", zeros),
    ])
    .unwrap();
    let persons = ["P1", "P2", "P3"].map(String::from);
    let cases = RecordBatch::try_from_iter([
        ("case_id", strs(&persons.iter().map(|p| format!("C-{p}")).collect::<Vec<_>>())),
        ("person_key", strs(&persons)),
        ("ente", strs(&[SESTO.to_owned(), SESTO.to_owned(), SESTO.to_owned()])),
    ])
    .unwrap();
    let population = RecordBatch::try_from_iter([
        ("person_key", strs(&persons)),
        ("comune_istat", strs(&[SESTO.to_owned(), SESTO.to_owned(), SESTO.to_owned()])),
        ("nil_id", Arc::new(Int32Array::from(vec![1, 1, 2])) as ArrayRef),
    ])
    .unwrap();
    let ctx = SessionContext::new();
    ctx.register_batch("cases", cases).unwrap();
    ctx.register_batch("interventions", interventions).unwrap();
    ctx.register_batch("population", population).unwrap();

    // A threshold of 1 hides nothing.
    let r =
        reports::piano_di_zona(&ctx, &enti(&[SESTO]), &year_2025(), 1, &reference(), &Stamp::default()).await.unwrap();
    let trend = |area: &str| -> Vec<(String, Option<u64>, Option<f64>)> {
        r.trend
            .iter()
            .filter(|p| p.area_utenza == area)
            .map(|p| (p.period.clone(), p.users.value, p.spending.total_eur))
            .collect()
    };
    let row = |y: &str, u: u64, eur: f64| (y.to_owned(), Some(u), Some(eur));
    // P2's stay runs through all three years but started, and was spent, in 2023.
    assert_eq!(trend("anziani"), [row("2023", 1, 1000.0), row("2024", 2, 100.0), row("2025", 2, 400.0)]);
    assert_eq!(trend("disabili"), [row("2023", 0, 0.0), row("2024", 0, 0.0), row("2025", 1, 50.0)]);
    assert_eq!(trend("totale"), [row("2023", 1, 1000.0), row("2024", 2, 100.0), row("2025", 3, 450.0)]);

    let line = |area: &str, ty: &str| {
        let l = r.tables[0].lines.iter().find(|l| l.area_utenza == area && l.spending_type == ty).unwrap();
        (l.users.value, l.spending.total_eur)
    };
    assert_eq!(line("anziani", "totale"), (Some(2), Some(400.0)), "P1 under two types is one user of the area");
    assert_eq!(line("anziani", "strutture"), (Some(1), Some(0.0)), "running in 2025, spent in 2023");
    assert_eq!(line("anziani", "trasferimenti_denaro"), (Some(1), Some(300.0)));
    assert_eq!(line("totale", "interventi_servizi"), (Some(2), Some(150.0)));
    assert_eq!(line("totale", "totale"), (Some(3), Some(450.0)));
    // Users per NIL in 2025: P1 and P2 live in NIL 1, P3 in NIL 2.
    let nil: Vec<(i32, Option<u64>)> = r.coverage.iter().map(|c| (c.nil_id, c.users.value)).collect();
    assert_eq!(nil, [(1, Some(2)), (2, Some(1))]);
}
