//! Residential care through the store's operations, on SQLite and PostgreSQL: a request
//! from the social worker, the document checklist, the waiting list and its score,
//! admission, presences, the pre-bill with its absence rule and co-payment split, the
//! certificate, transfers and discharges, capacity and scope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{Datelike, Duration, NaiveDate};
use common::*;
use mosaico_case_app::input::*;
use mosaico_case_app::residential::*;
use mosaico_case_app::{Actor, CaseError, Role, today};
use mosaico_domain::Sex;
use mosaico_domain::copay::Rules;
use serde_json::json;

on_both_backends!(
    a_placement_goes_from_request_to_a_certificate,
    waiting_lists_rank_by_explained_scores_and_weights,
    places_roles_and_enti_limit_what_happens,
);

fn assert_conflict<T: std::fmt::Debug>(r: Result<T, CaseError>, code: &str) {
    match r {
        Err(CaseError::Conflict { code: c, .. }) if c == code => {}
        other => panic!("expected conflict {code}, got {other:?}"),
    }
}

fn assert_fields<T: std::fmt::Debug>(r: Result<T, CaseError>, fields: &[&str]) {
    match r {
        Err(CaseError::Invalid(errors)) => {
            let got: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(got, fields, "{errors:?}");
        }
        other => panic!("expected invalid {fields:?}, got {other:?}"),
    }
}

/// A person with an open case (opened `days_ago`) and a needs assessment.
async fn case_with_assessment(f: &Fixture, actor: &Actor, surname: &str, days_ago: i64, grade: u8) -> (i64, i64) {
    let birth = format!("19{}-03-0{}", 30 + surname.len(), 1 + surname.len() % 8);
    let p = f.person(actor, surname, "Maria", &birth, Sex::F).await;
    let day = today() - Duration::days(days_ago);
    let contact: ContactInput = json(json!({"person_id": p.id, "contact_date": day.to_string(), "channel": "desk",
        "requester": "family", "request": "Ricovero in RSA", "area": "anziani", "outcome": "case_opened"}));
    let case = f.store.record_contact(actor, &contact).await.unwrap().1.unwrap();
    let a: AssessmentInput = json(json!({"assessed_on": day.to_string(), "instrument": "SVAMA", "health": grade,
        "autonomy": grade, "household": 1, "housing": 0, "income": 2, "work": 0, "network": 3}));
    f.store.add_assessment(actor, case.id, &a).await.unwrap();
    (p.id, case.id)
}

async fn facility(f: &Fixture, code: &str, ty: &str, places: i64, fee: &str) -> Facility {
    let input: FacilityInput = json(json!({"code": code, "name": format!("Struttura {code}"), "facility_type": ty,
        "address": "Via Padova 1", "places": places.to_string(), "daily_fee": fee, "absence_full_days": "2",
        "absence_rate_pct": "50"}));
    f.store.create_facility(&f.back_office, &input).await.unwrap()
}

async fn request(f: &Fixture, case_id: i64, requested_on: NaiveDate, household: i64) -> RequestFile {
    let input: PlacementInput = json(json!({"facility_type": "RSA", "requested_on": requested_on.to_string(),
        "reason": "Non più autosufficiente", "household_score": household.to_string(), "household_note": "Vive sola"}));
    f.store.request_placement(&f.worker, case_id, &input).await.unwrap()
}

/// Verifies the three documents on `on`.
async fn verify_all(f: &Fixture, id: i64, on: NaiveDate, isee: &str) -> RequestFile {
    let mut last = None;
    for kind in DOCUMENT_KINDS {
        let input: DocumentCheckInput = json(json!({"status": "verified", "checked_on": on.to_string(), "isee": isee}));
        last = Some(f.store.check_placement_document(&f.back_office, id, kind, &input).await.unwrap());
    }
    last.unwrap()
}

fn entries(stay: i64, days: impl IntoIterator<Item = (NaiveDate, &'static str)>) -> PresenceInput {
    PresenceInput {
        entries: days
            .into_iter()
            .map(|(d, s)| PresenceEntry { stay_id: stay, day: d.to_string(), status: s.to_owned() })
            .collect(),
    }
}

async fn a_placement_goes_from_request_to_a_certificate(f: &Fixture) {
    let (person, case) = case_with_assessment(f, &f.worker, "Colombo", 200, 3).await;
    let rsa = facility(f, "RSA-A", "RSA", 2, "100.00").await;
    assert_eq!((rsa.places, rsa.daily_fee_cents, rsa.occupied), (2, 10_000, 0));

    let requested_on = today() - Duration::days(120);
    let file = request(f, case, requested_on, 3).await;
    let id = file.request.id;
    assert_eq!(file.request.status, "documents");
    assert_eq!(file.request.need_score, 43, "from the latest assessment");
    let kinds: Vec<(&str, &str)> = file.documents.iter().map(|d| (d.kind.as_str(), d.status.as_str())).collect();
    assert_eq!(kinds, [("isee", "missing"), ("medical", "missing"), ("consent", "missing")]);
    assert_conflict(
        f.store.admit(&f.back_office, id, &json(json!({"facility_id": rsa.id.to_string()}))).await,
        "not_waiting",
    );
    // The social worker cannot verify; the ISEE needs its value; a rejection needs a reason.
    let verified =
        |on: NaiveDate| -> DocumentCheckInput { json(json!({"status": "verified", "checked_on": on.to_string()})) };
    assert!(matches!(
        f.store.check_placement_document(&f.worker, id, "isee", &verified(requested_on)).await,
        Err(CaseError::Forbidden(_))
    ));
    assert_fields(
        f.store.check_placement_document(&f.back_office, id, "isee", &verified(requested_on)).await,
        &["isee"],
    );
    assert_fields(
        f.store.check_placement_document(&f.back_office, id, "consent", &json(json!({"status": "rejected"}))).await,
        &["note"],
    );
    assert_fields(
        f.store
            .check_placement_document(&f.back_office, id, "medical", &verified(requested_on - Duration::days(1)))
            .await,
        &["checked_on"],
    );
    let isee: DocumentCheckInput = json(
        json!({"status": "verified", "isee": "22000", "checked_on": (requested_on + Duration::days(5)).to_string()}),
    );
    f.store.check_placement_document(&f.back_office, id, "isee", &isee).await.unwrap();
    f.store
        .check_placement_document(&f.back_office, id, "medical", &verified(requested_on + Duration::days(3)))
        .await
        .unwrap();
    let rejected: DocumentCheckInput = json(json!({"status": "rejected", "note": "Firma mancante"}));
    let file = f.store.check_placement_document(&f.back_office, id, "consent", &rejected).await.unwrap();
    assert_eq!(file.request.status, "documents", "a rejected document keeps the request off the list");
    let listed = requested_on + Duration::days(10);
    let file = f.store.check_placement_document(&f.back_office, id, "consent", &verified(listed)).await.unwrap();
    assert_eq!((file.request.status.as_str(), file.request.listed_on), ("waiting", Some(listed)));
    assert_eq!(file.request.isee_cents, Some(2_200_000));

    // On the list: position 1, the score explained part by part.
    let rank = file.ranking.expect("ranked");
    let waited = (today() - listed).num_days();
    let (expected, _) = score(&Weights::default(), 43, waited, 3);
    assert_eq!((rank.position, rank.waiting_days, rank.score), (1, waited, expected));
    let points: f64 = rank.parts.iter().map(|p| p.points).sum();
    assert!((points - rank.score).abs() < 1e-9);
    assert_eq!(rank.parts[0].points, 21.5, "need 43/100 at weight 0.5");

    // Admission at the start of the month before last, not before the listing.
    let m = Month::of(today()).previous().previous();
    let admit = |on: NaiveDate| -> AdmitInput {
        json(json!({"facility_id": rsa.id.to_string(), "admitted_on": on.to_string()}))
    };
    assert_fields(f.store.admit(&f.back_office, id, &admit(listed - Duration::days(1))).await, &["admitted_on"]);
    let file = f.store.admit(&f.back_office, id, &admit(m.first())).await.unwrap();
    assert_eq!(file.request.status, "admitted");
    let stay = file.stays[0].clone();
    assert_eq!((stay.facility_id, stay.admitted_on, stay.discharged_on), (rsa.id, m.first(), None));
    assert_eq!(f.store.facility(&f.back_office, rsa.id).await.unwrap().0.occupied, 1);

    // The waiting list as reports see it: admitted in the month, after its wait; the
    // day before the admission, still waiting.
    let enti = vec![mosaico_domain::MILANO.to_owned()];
    let last = m.next_first() - Duration::days(1);
    let s = f.store.waitlist_summary(&f.back_office, &enti, m.first(), last).await.unwrap();
    let rsa_list = s.iter().find(|w| w.facility_type == "RSA").expect("an RSA list");
    assert_eq!((rsa_list.admitted, rsa_list.waiting), (1, 0));
    assert_eq!(rsa_list.median_days_to_admission, Some((m.first() - listed).num_days() as f64));
    let day_before = m.first() - Duration::days(1);
    let s = f.store.waitlist_summary(&f.back_office, &enti, day_before, day_before).await.unwrap();
    let rsa_list = s.iter().find(|w| w.facility_type == "RSA").expect("an RSA list");
    assert_eq!((rsa_list.admitted, rsa_list.waiting), (0, 1));
    assert_eq!(rsa_list.median_wait_days, Some((day_before - listed).num_days() as f64));

    // A month of presences: absent on days 5–9 (two paid in full, three at 50%).
    let days = m.days();
    let grid = days.iter().map(|d| (*d, if (5..=9).contains(&d.day()) { "absent" } else { "present" }));
    f.store.record_presences(&f.back_office, rsa.id, &m.to_string(), &entries(stay.id, grid)).await.unwrap();

    // Bad entries: a day before the admission, a day of another month, an unknown stay,
    // a bad status. All refused, nothing written.
    let before = f.store.presence_grid(&f.back_office, rsa.id, &Month::of(m.next_first()).to_string()).await.unwrap();
    let next = Month::of(m.next_first());
    let bad = PresenceInput {
        entries: vec![
            PresenceEntry { stay_id: stay.id, day: next.first().to_string(), status: "present".into() },
            PresenceEntry { stay_id: stay.id, day: m.first().to_string(), status: "present".into() },
            PresenceEntry { stay_id: 999_999, day: next.first().to_string(), status: "present".into() },
            PresenceEntry { stay_id: stay.id, day: next.first().to_string(), status: "maybe".into() },
        ],
    };
    assert_fields(
        f.store.record_presences(&f.back_office, rsa.id, &next.to_string(), &bad).await,
        &["entries[1].day", "entries[2].stay_id", "entries[3].status"],
    );
    let after = f.store.presence_grid(&f.back_office, rsa.id, &next.to_string()).await.unwrap();
    assert_eq!(before.rows[0].days, after.rows[0].days, "nothing written");
    assert_eq!(after.rows[0].days[0], Day::Unrecorded);

    // The pre-bill: days × fee, absences by the rule, split by the RSA co-payment rule.
    let bill = f.store.prebill(&f.back_office, rsa.id, &m.to_string()).await.unwrap();
    let n = days.len() as i64;
    let line = &bill.lines[0];
    assert_eq!(
        (line.days_present, line.days_absent_full, line.days_absent_reduced, line.days_unrecorded),
        (n - 5, 2, 3, 0)
    );
    let amount = (n - 5 + 2) * 10_000 + 3 * 5_000;
    assert_eq!(line.amount_cents, amount);
    let rule = Rules::builtin().get("RSA").unwrap().clone();
    let expect = rule.split(Some(22_000.0), amount, 1.0);
    assert_eq!(
        (line.quota_ente_cents, line.quota_utente_cents, line.quota_ssn_cents),
        (expect.ente_cents, expect.utente_cents, expect.ssn_cents)
    );
    assert_eq!(line.quota_ssn_cents, (amount as f64 * 0.4).round() as i64, "SSN pays 40% of an RSA fee");
    assert_eq!(line.quota_ente_cents + line.quota_utente_cents + line.quota_ssn_cents, amount);
    assert!(bill.blockers.is_empty(), "{:?}", bill.blockers);

    // This month is not over, and last month has days to record: neither is approved.
    assert_conflict(
        f.store.approve_prebill(&f.back_office, rsa.id, &next.to_string(), &ApproveInput::default()).await,
        "prebill_incomplete",
    );
    let current = Month::of(today()).to_string();
    assert_conflict(
        f.store.approve_prebill(&f.back_office, rsa.id, &current, &ApproveInput::default()).await,
        "prebill_incomplete",
    );
    assert!(matches!(
        f.store.approve_prebill(&f.worker, rsa.id, &m.to_string(), &ApproveInput::default()).await,
        Err(CaseError::Forbidden(_))
    ));
    let certified =
        f.store.approve_prebill(&f.back_office, rsa.id, &m.to_string(), &ApproveInput::default()).await.unwrap();
    let cert = certified.certificate.clone().expect("certificate");
    assert_eq!(cert.number, format!("CP-{A}-{}-{:05}", m.to_string().replace('-', ""), rsa.id));
    assert_eq!((cert.amount_cents, certified.amount_cents), (amount, amount));
    assert_conflict(
        f.store.approve_prebill(&f.back_office, rsa.id, &m.to_string(), &ApproveInput::default()).await,
        "already_certified",
    );
    // The month is closed; the certificate reads back with its lines.
    assert_conflict(
        f.store
            .record_presences(&f.back_office, rsa.id, &m.to_string(), &entries(stay.id, [(m.first(), "absent")]))
            .await,
        "month_certified",
    );
    let again = f.store.certificate(&f.back_office, cert.id).await.unwrap();
    assert_eq!((again.lines.len(), again.lines[0].amount_cents), (1, amount));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM audit WHERE entity = 'certificate' AND action = 'approve'").await, 1);

    // A transfer at the start of last month to another RSA, then a discharge.
    let other = facility(f, "RSA-B", "RSA", 1, "90.00").await;
    assert_conflict(
        f.store
            .transfer(
                &f.back_office,
                stay.id,
                &json(json!({"facility_id": other.id.to_string(), "on": m.first().to_string()})),
            )
            .await,
        "presences_after",
    );
    let moved = f
        .store
        .transfer(
            &f.back_office,
            stay.id,
            &json(json!({"facility_id": other.id.to_string(), "on": next.first().to_string()})),
        )
        .await
        .unwrap();
    assert_eq!((moved.facility_id, moved.transferred_from, moved.admitted_on), (other.id, Some(stay.id), next.first()));
    let file = f.store.placement(&f.back_office, id).await.unwrap();
    assert_eq!(file.stays.len(), 2);
    assert_eq!(
        (file.stays[0].discharged_on, file.stays[0].discharge_reason.as_deref()),
        (Some(next.first()), Some("transfer"))
    );
    assert_eq!(f.store.facility(&f.back_office, rsa.id).await.unwrap().0.occupied, 0);
    assert_fields(f.store.discharge(&f.back_office, moved.id, &json(json!({"reason": "transfer"}))).await, &["reason"]);
    let gone = f
        .store
        .discharge(&f.back_office, moved.id, &json(json!({"reason": "home", "note": "Rientro in famiglia"})))
        .await
        .unwrap();
    assert_eq!((gone.discharged_on, gone.discharge_reason.as_deref()), (Some(today()), Some("home")));
    assert_conflict(f.store.discharge(&f.back_office, moved.id, &json(json!({"reason": "home"}))).await, "stay_ended");
    let _ = person;
}

async fn waiting_lists_rank_by_explained_scores_and_weights(f: &Fixture) {
    let t = today();
    // Needs of 43, 50 and 36 (assessment grades 3, 4, 2) with different waits and households.
    let (_, c1) = case_with_assessment(f, &f.worker, "Rossi", 300, 3).await;
    let (_, c2) = case_with_assessment(f, &f.worker, "Bianchi", 300, 4).await;
    let (_, c3) = case_with_assessment(f, &f.worker, "Verdi", 300, 2).await;
    let q1 = request(f, c1, t - Duration::days(250), 4).await.request;
    let q2 = request(f, c2, t - Duration::days(30), 0).await.request;
    let q3 = request(f, c3, t - Duration::days(280), 2).await.request;
    assert_eq!((q1.need_score, q2.need_score, q3.need_score), (43, 50, 36));
    let (r1, r2, r3) = (q1.id, q2.id, q3.id);
    verify_all(f, r1, t - Duration::days(240), "9000").await;
    verify_all(f, r2, t - Duration::days(20), "9000").await;
    verify_all(f, r3, t - Duration::days(270), "9000").await;

    let list = f.store.waitlist(&f.worker, None, "RSA").await.unwrap();
    let w = Weights::default();
    let mut expected: Vec<(i64, f64)> = [(r1, 43, 240, 4), (r2, 50, 20, 0), (r3, 36, 270, 2)]
        .into_iter()
        .map(|(id, need, days, hh)| (id, score(&w, need, days, hh).0))
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got: Vec<(i64, f64)> = list.entries.iter().map(|e| (e.request_id, e.score)).collect();
    assert_eq!(got, expected);
    assert_eq!(list.entries.iter().map(|e| e.position).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(list.free_places, 0, "no RSA yet");

    // Waiting time only: the longest wait first.
    let only_wait: WeightsInput =
        json(json!({"need": "0", "waiting": "1", "household": "0", "waiting_cap_days": "365"}));
    assert!(matches!(
        f.store.set_waitlist_weights(&f.worker, None, "RSA", &only_wait).await,
        Err(CaseError::Forbidden(_))
    ));
    let list = f.store.set_waitlist_weights(&f.back_office, None, "RSA", &only_wait).await.unwrap();
    assert_eq!(list.entries.iter().map(|e| e.request_id).collect::<Vec<_>>(), [r3, r1, r2]);
    assert_eq!(list.entries[0].score, 73.97, "270 of 365 days");
    let zero: WeightsInput = json(json!({"need": "0", "waiting": "0", "household": "0", "waiting_cap_days": "0"}));
    assert_fields(
        f.store.set_waitlist_weights(&f.back_office, None, "RSA", &zero).await,
        &["waiting_cap_days", "need"],
    );
    assert_fields(f.store.waitlist(&f.back_office, None, "XYZ").await, &["facility_type"]);
    // The other ente's list is empty; a worker of the other ente cannot read ours.
    assert!(f.store.waitlist(&f.ambito, Some(B), "RSA").await.unwrap().entries.is_empty());
    assert_fields(f.store.waitlist(&f.worker_b, Some(A), "RSA").await, &["ente"]);
    // Withdrawn requests leave the list.
    f.store.withdraw_placement(&f.worker, r3, &json(json!({"note": "Trasferita fuori comune"}))).await.unwrap();
    let list = f.store.waitlist(&f.back_office, None, "RSA").await.unwrap();
    assert_eq!(list.entries.iter().map(|e| e.request_id).collect::<Vec<_>>(), [r1, r2]);
    assert_conflict(
        f.store.withdraw_placement(&f.worker, r3, &json(json!({"note": "ancora"}))).await,
        "placement_closed",
    );
}

async fn places_roles_and_enti_limit_what_happens(f: &Fixture) {
    let t = today();
    let small = facility(f, "RSA-S", "RSA", 1, "80.00").await;
    let rsd = facility(f, "RSD-1", "RSD", 5, "150.00").await;
    assert_fields(
        f.store
            .create_facility(
                &f.back_office,
                &json(json!({"code": "RSA-S", "name": "x", "facility_type": "RSA",
            "address": "x", "places": "3", "daily_fee": "10", "absence_full_days": "0", "absence_rate_pct": "0"})),
            )
            .await,
        &["code"],
    );
    assert_fields(
        f.store
            .create_facility(
                &f.back_office,
                &json(json!({"code": "Z", "name": "x", "facility_type": "HOTEL",
            "address": "x", "places": "0", "daily_fee": "ten", "absence_full_days": "0", "absence_rate_pct": "101"})),
            )
            .await,
        &["facility_type", "places", "daily_fee", "absence_rate_pct"],
    );
    let (p1, c1) = case_with_assessment(f, &f.worker, "Gallo", 200, 3).await;
    let (_, c2) = case_with_assessment(f, &f.worker, "Fontana", 200, 3).await;
    let r1 = request(f, c1, t - Duration::days(100), 2).await.request.id;
    let r2 = request(f, c2, t - Duration::days(100), 2).await.request.id;
    // One pending request per person and type.
    let dup: PlacementInput =
        json(json!({"facility_type": "RSA", "reason": "x", "household_score": "1", "household_note": "x"}));
    assert_conflict(f.store.request_placement(&f.worker, c1, &dup).await, "placement_pending");
    // Bad request input, field by field; a case of another ente is not found.
    let bad: PlacementInput = json(json!({"facility_type": "RSA", "requested_on": (t + Duration::days(1)).to_string(),
        "household_score": "9", "need_score": "101"}));
    assert_fields(
        f.store.request_placement(&f.worker, c2, &bad).await,
        &["requested_on", "reason", "need_score", "household_score", "household_note"],
    );
    assert!(matches!(f.store.request_placement(&f.worker_b, c1, &dup).await, Err(CaseError::NotFound(_))));
    verify_all(f, r1, t - Duration::days(90), "30000").await;
    verify_all(f, r2, t - Duration::days(90), "30000").await;

    let on = t - Duration::days(10);
    let admit =
        |fid: i64| -> AdmitInput { json(json!({"facility_id": fid.to_string(), "admitted_on": on.to_string()})) };
    assert_fields(f.store.admit(&f.back_office, r1, &admit(rsd.id)).await, &["facility_id"]);
    f.store.admit(&f.back_office, r1, &admit(small.id)).await.unwrap();
    assert_conflict(f.store.admit(&f.back_office, r2, &admit(small.id)).await, "facility_full");
    assert_eq!(f.store.waitlist(&f.back_office, None, "RSA").await.unwrap().free_places, 0);
    assert_eq!(
        f.raw.count("SELECT COUNT(*) FROM audit WHERE entity = 'stay' AND action = 'admit' AND detail LIKE '%position 1 of 2%'").await,
        1
    );

    // A facility operator sees and records only the facilities assigned to them.
    f.store.create_user("operator", "Operatore", Role::FacilityOperator, Ok(A), PASSWORD).await.unwrap();
    let op = f.store.login("operator", PASSWORD, "127.0.0.1").await.unwrap().actor;
    assert!(f.store.facilities(&op).await.unwrap().is_empty());
    assert_fields(f.store.assign_operator(&f.back_office, "worker", small.id).await, &["username"]);
    f.store.assign_operator(&f.back_office, "operator", small.id).await.unwrap();
    let seen: Vec<i64> = f.store.facilities(&op).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(seen, [small.id]);
    assert!(matches!(f.store.facility(&op, rsd.id).await, Err(CaseError::NotFound(_))));
    let month = Month::of(on);
    let stay = f.store.facility(&op, small.id).await.unwrap().1[0].clone();
    assert_eq!(stay.person_id, p1);
    let grid = f
        .store
        .record_presences(&op, small.id, &month.to_string(), &entries(stay.id, [(on, "present")]))
        .await
        .unwrap();
    assert_eq!(grid.rows[0].days[on.day0() as usize], Day::Present);
    assert_fields(
        f.store
            .record_presences(
                &op,
                small.id,
                &month.to_string(),
                &entries(stay.id, [(t + Duration::days(1), "present")]),
            )
            .await,
        &["entries[0].day"],
    );
    // Social workers do not record presences; operators do not admit; other enti see nothing.
    assert!(matches!(
        f.store.record_presences(&f.worker, small.id, &month.to_string(), &PresenceInput::default()).await,
        Err(CaseError::Forbidden(_))
    ));
    assert!(matches!(f.store.admit(&op, r2, &admit(small.id)).await, Err(CaseError::Forbidden(_))));
    assert!(matches!(f.store.facility(&f.worker_b, small.id).await, Err(CaseError::NotFound(_))));
    assert!(matches!(f.store.placement(&f.worker_b, r1).await, Err(CaseError::NotFound(_))));
    assert!(f.store.facilities(&f.planner).await.is_err());
    // Reads of a request are audited (it is part of the case file).
    f.store.placement(&f.worker, r2).await.unwrap();
    assert!(
        f.raw.count("SELECT COUNT(*) FROM audit WHERE entity = 'placement_request' AND action = 'read'").await >= 1
    );
    // A bad month is refused by name.
    assert_fields(f.store.prebill(&f.back_office, small.id, "2026-13").await, &["month"]);
}
