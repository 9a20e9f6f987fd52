//! The repository contract: every behaviour of the case store, run on SQLite and on
//! PostgreSQL (`MOSAICO_TEST_PG_URL`). What belongs here: anything the store promises
//! (validation, scope, transitions, history, audit, atomicity), tested through its
//! public operations. HTTP shapes belong in `http.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use common::*;
use mosaico_case_app::input::*;
use mosaico_case_app::{CaseError, Created, today};
use mosaico_domain::Sex;
use serde_json::json;

on_both_backends!(
    migrations_are_idempotent,
    persons_are_validated_and_keep_history,
    duplicates_are_caught_and_merged,
    search_finds_names_and_codes_in_scope,
    a_case_goes_from_first_contact_to_closure,
    documents_keep_their_checksum,
    alerts_are_triaged_once,
    work_lists_show_what_is_due,
    the_audit_is_append_only_and_queryable,
    other_enti_records_are_invisible,
    sign_in_is_throttled_and_sessions_end,
    a_failed_operation_writes_nothing,
    roles_limit_what_users_do,
    registry_imports_skip_known_codes,
    households_group_persons,
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

fn assert_not_found<T: std::fmt::Debug>(r: Result<T, CaseError>) {
    assert!(matches!(r, Err(CaseError::NotFound(_))), "expected not found, got {r:?}");
}

fn assert_forbidden<T: std::fmt::Debug>(r: Result<T, CaseError>) {
    assert!(matches!(r, Err(CaseError::Forbidden(_))), "expected forbidden, got {r:?}");
}

async fn migrations_are_idempotent(f: &Fixture) {
    let scripts = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count();
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM schema_migrations").await, scripts as i64);
    assert_eq!(f.store.user_count().await.unwrap(), 7);
}

async fn persons_are_validated_and_keep_history(f: &Fixture) {
    let mut bad = person_input("Rossi", "Mario", "1950-03-04", Sex::M);
    bad.fiscal_code = Some("RSSMRA50C04F205X".into());
    bad.birth_date = Some("1950-02-30".into());
    bad.residence_istat = Some("Milano".into());
    assert_fields(f.store.create_person(&f.worker, &bad).await, &["fiscal_code", "birth_date", "residence_istat"]);

    let p = f.person(&f.worker, "Rossi", "Mario", "1950-03-04", Sex::M).await;
    assert_eq!((p.ente.as_str(), p.version, p.temporary_code), (A, 1, false));

    let change: PersonInput = json(json!({"address": "Via Porpora 3", "version": 1}));
    let p2 = f.store.update_person(&f.worker, p.id, &change, Some(1)).await.unwrap();
    assert_eq!((p2.address.as_str(), p2.version), ("Via Porpora 3", 2));
    // The same change based on version 1 again is refused: someone changed it meanwhile.
    assert_conflict(f.store.update_person(&f.worker, p.id, &change, Some(1)).await, "stale_version");

    let h = f.store.person_history(&f.worker, p.id).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].change, "created");
    assert_eq!(h[0].values["address"], "Via Padova 12", "previous value retrievable");
    assert_eq!(h[1].changed_fields, ["address"]);
    assert_eq!(h[1].changed_by, "worker");

    // A temporary code, reconciled later with the real one.
    let mut temp = person_input("Diallo", "Awa", "1990-06-01", Sex::F);
    temp.fiscal_code = Some("12345678903".into());
    let Created::Person(t) = f.store.create_person(&f.worker, &temp).await.unwrap() else { panic!() };
    assert!(t.temporary_code);
    let real = person_input("Diallo", "Awa", "1990-06-01", Sex::F).fiscal_code;
    let t2 = f.store.update_person(&f.worker, t.id, &json(json!({"fiscal_code": real})), None).await.unwrap();
    assert!(!t2.temporary_code);
    assert_eq!(f.store.person_history(&f.worker, t.id).await.unwrap()[1].change, "reconciled");
}

async fn duplicates_are_caught_and_merged(f: &Fixture) {
    let p = f.person(&f.worker, "Bianchi", "Luisa", "1940-01-20", Sex::F).await;
    // Same fiscal code: never created, even when confirmed.
    let mut same = person_input("Bianchi", "Luisa", "1940-01-20", Sex::F);
    same.confirm_not_duplicate = Some("true".into());
    let Created::Duplicates(d) = f.store.create_person(&f.worker, &same).await.unwrap() else { panic!() };
    assert_eq!((d[0].person.id, d[0].reason), (p.id, "same_fiscal_code"));

    // A similar name with the same birth date, under a temporary code.
    let mut similar = person_input("Bianchi", "Luiza", "1940-01-20", Sex::F);
    similar.fiscal_code = Some("12345678903".into());
    let Created::Duplicates(d) = f.store.create_person(&f.worker, &similar).await.unwrap() else { panic!() };
    assert_eq!((d[0].person.id, d[0].reason), (p.id, "similar_name"));
    similar.confirm_not_duplicate = Some("on".into());
    let Created::Person(dup) = f.store.create_person(&f.worker, &similar).await.unwrap() else { panic!() };

    // The duplicate has a case; merging moves it to the record kept.
    let contact: ContactInput =
        json(json!({"person_id": dup.id, "contact_date": today().to_string(), "channel": "desk",
        "requester": "self", "request": "Aiuto a domicilio", "area": "anziani", "outcome": "case_opened"}));
    let (_, case) = f.store.record_contact(&f.worker, &contact).await.unwrap();
    let case = case.unwrap();
    assert_forbidden(f.store.merge_persons(&f.worker, p.id, dup.id).await);
    f.store.merge_persons(&f.coordinator, p.id, dup.id).await.unwrap();
    let file = f.store.case_file(&f.worker, case.id).await.unwrap();
    assert_eq!(file.person.id, p.id);
    let merged = f.store.person(&f.worker, dup.id).await.unwrap();
    assert_eq!(merged.merged_into, Some(p.id));
    assert_conflict(f.store.merge_persons(&f.coordinator, p.id, dup.id).await, "person_merged");
    // Merged records no longer come up in searches.
    let found = f.store.search_persons(&f.worker, "bianchi lu", 20).await.unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [p.id]);
}

async fn search_finds_names_and_codes_in_scope(f: &Fixture) {
    let a = f.person(&f.worker, "Esposito", "Giuseppe", "1961-07-15", Sex::M).await;
    let b = f.person(&f.worker, "Esposito", "Anna", "1970-02-02", Sex::F).await;
    f.person(&f.worker, "Espinoza", "Carlos", "1988-11-30", Sex::M).await;
    let other = f.person(&f.worker_b, "Esposito", "Gianni", "1959-01-01", Sex::M).await;

    let ids = |v: Vec<mosaico_case_app::Person>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(f.store.search_persons(&f.worker, "esposito", 20).await.unwrap()), [b.id, a.id]);
    assert_eq!(ids(f.store.search_persons(&f.worker, "ESPOSITO GIU", 20).await.unwrap()), [a.id]);
    assert_eq!(ids(f.store.search_persons(&f.worker, "giuseppe esp", 20).await.unwrap()), [a.id], "given name first");
    assert_eq!(ids(f.store.search_persons(&f.worker, &a.fiscal_code[..9], 20).await.unwrap()), [a.id]);
    assert_eq!(ids(f.store.search_persons(&f.worker, &a.fiscal_code.to_lowercase(), 20).await.unwrap()), [a.id]);
    assert_eq!(ids(f.store.search_persons(&f.worker_b, "esposito", 20).await.unwrap()), [other.id]);
    assert_eq!(f.store.search_persons(&f.ambito, "esposito", 20).await.unwrap().len(), 3, "ambito sees A and B");
    assert_fields(f.store.search_persons(&f.worker, "e", 20).await, &["q"]);
}

async fn a_case_goes_from_first_contact_to_closure(f: &Fixture) {
    let p = f.person(&f.worker, "Colombo", "Teresa", "1938-05-09", Sex::F).await;
    let day = today() - Duration::days(40);
    let contact: ContactInput = json(json!({"person_id": p.id, "contact_date": day.to_string(), "channel": "phone",
        "requester": "family", "request": "La figlia chiede assistenza domiciliare", "area": "anziani", "outcome": "case_opened"}));
    let (c, case) = f.store.record_contact(&f.worker, &contact).await.unwrap();
    let case = case.unwrap();
    assert_eq!((c.case_id, case.status.as_str(), case.worker_id), (Some(case.id), "open", f.worker.user_id));

    let plan_in: PlanInput = json(
        json!({"goals": "Restare a casa in sicurezza\nRete di vicinato", "actions": ["SAD 3 volte a settimana", "Pasti"],
        "team": ["AS worker", "Infermiere ADI"], "start_date": day.to_string(), "end_date": (day + Duration::days(365)).to_string(),
        "review_date": (day + Duration::days(60)).to_string()}),
    );
    assert_conflict(f.store.add_plan(&f.worker, case.id, &plan_in).await, "assessment_missing");

    let bad: AssessmentInput =
        json(json!({"assessed_on": day.to_string(), "instrument": "SVAMA", "health": 5, "autonomy": 3,
        "household": 1, "housing": 0, "income": 2, "work": 0, "network": 3}));
    assert_fields(f.store.add_assessment(&f.worker, case.id, &bad).await, &["health"]);
    let good: AssessmentInput =
        json(json!({"assessed_on": day.to_string(), "instrument": "SVAMA", "health": 3, "autonomy": 3,
        "household": 1, "housing": 0, "income": 2, "work": 0, "network": 3, "notes": "Vive sola"}));
    let a = f.store.add_assessment(&f.worker, case.id, &good).await.unwrap();
    assert_eq!(a.need_score, 43, "12 of 28 points");

    let plan = f.store.add_plan(&f.worker, case.id, &plan_in).await.unwrap();
    assert_eq!((plan.status.as_str(), plan.goals.len(), plan.actions.len()), ("draft", 2, 2));

    let svc: InterventionInput = json(json!({"plan_id": plan.id, "service_code": "SAD", "start_date": day.to_string(),
        "quantity": 12, "unit_cost": "22.00", "quota_utente": "30.00"}));
    assert_conflict(f.store.add_intervention(&f.worker, case.id, &svc).await, "plan_not_approved");

    f.store.submit_plan(&f.worker, plan.id).await.unwrap();
    assert_forbidden(f.store.decide_plan(&f.worker, plan.id, &json(json!({"decision": "approve"}))).await);
    assert_fields(f.store.decide_plan(&f.coordinator, plan.id, &json(json!({"decision": "reject"}))).await, &["note"]);
    let approved = f.store.decide_plan(&f.coordinator, plan.id, &json(json!({"decision": "approve"}))).await.unwrap();
    assert_eq!((approved.status.as_str(), approved.decided_by), ("approved", Some(f.coordinator.user_id)));
    assert_conflict(
        f.store.decide_plan(&f.coordinator, plan.id, &json(json!({"decision": "approve"}))).await,
        "plan_not_submitted",
    );

    let i = f.store.add_intervention(&f.worker, case.id, &svc).await.unwrap();
    assert_eq!((i.amount_cents, i.quota_utente_cents, i.quota_ente_cents, i.quota_ssn_cents), (26400, 3000, 23400, 0));
    assert_eq!((i.area.as_str(), i.spending.as_str(), i.unit.as_str()), ("anziani", "interventi_servizi", "ora"));
    let outside: InterventionInput = json(json!({"plan_id": plan.id, "service_code": "PASTI",
        "start_date": (day - Duration::days(1)).to_string(), "quantity": 20, "unit_cost": "7.5"}));
    assert_fields(f.store.add_intervention(&f.worker, case.id, &outside).await, &["start_date"]);
    let unknown: InterventionInput =
        json(json!({"plan_id": plan.id, "service_code": "XYZ", "start_date": day.to_string(),
        "quantity": 1, "unit_cost": "1"}));
    assert_fields(f.store.add_intervention(&f.worker, case.id, &unknown).await, &["service_code"]);

    let diary: DiaryInput =
        json(json!({"entry_date": today().to_string(), "kind": "home_visit", "text": "Visita domiciliare"}));
    f.store.add_diary_entry(&f.worker, case.id, &diary).await.unwrap();

    let closure: ClosureInput =
        json(json!({"closed_on": today().to_string(), "reason": "goals_reached", "outcome": "Rete attivata"}));
    assert_conflict(f.store.close_case(&f.worker, case.id, &closure).await, "open_interventions");
    f.store.end_intervention(&f.worker, i.id, &json(json!({"end_date": today().to_string()}))).await.unwrap();
    assert_conflict(
        f.store.end_intervention(&f.worker, i.id, &json(json!({"end_date": today().to_string()}))).await,
        "intervention_ended",
    );
    let closed = f.store.close_case(&f.worker, case.id, &closure).await.unwrap();
    assert_eq!((closed.status.as_str(), closed.closure_reason.as_deref()), ("closed", Some("goals_reached")));
    assert_conflict(f.store.add_diary_entry(&f.worker, case.id, &diary).await, "case_closed");
    assert_conflict(f.store.close_case(&f.worker, case.id, &closure).await, "case_closed");

    let file = f.store.case_file(&f.worker, case.id).await.unwrap();
    assert_eq!(
        (file.contacts.len(), file.assessments.len(), file.plans.len(), file.interventions.len(), file.diary.len()),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(file.worker_name, "User worker");
}

async fn open_case(f: &Fixture, actor: &mosaico_case_app::Actor, surname: &str) -> (i64, i64) {
    let p = f.person(actor, surname, "Test", "1980-01-01", Sex::M).await;
    let contact: ContactInput = json(json!({"person_id": p.id, "contact_date": today().to_string(), "channel": "desk",
        "requester": "self", "request": "Richiesta", "area": "poverta_disagio_adulti", "outcome": "case_opened"}));
    let (_, case) = f.store.record_contact(actor, &contact).await.unwrap();
    (p.id, case.unwrap().id)
}

async fn documents_keep_their_checksum(f: &Fixture) {
    let (_, case) = open_case(f, &f.worker, "Ferrari").await;
    let bytes = b"%PDF-1.4 relazione sociale".to_vec();
    let d = f.store.add_document(&f.worker, case, "relazione.pdf", "application/pdf", &bytes).await.unwrap();
    // sha256sum of the same bytes.
    assert_eq!(d.sha256, "b0cdb2b0543482061a62cbd3ed18b35ea5c54ab390d6baa73b1587c1c8ce9033");
    assert_eq!(d.size, bytes.len() as i64);
    let back = f.store.document(&f.worker, d.id).await.unwrap();
    assert_eq!(back.content, bytes);
    use sha2::Digest;
    assert_eq!(back.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    assert_fields(f.store.add_document(&f.worker, case, "vuoto.txt", "text/plain", b"").await, &["file"]);
    assert_not_found(f.store.document(&f.worker_b, d.id).await);
}

async fn alerts_are_triaged_once(f: &Fixture) {
    let p = f.person(&f.worker, "Ricci", "Luca", "2014-09-01", Sex::M).await;
    let input: AlertInput =
        json(json!({"source": "school", "reporter": "IC Via Russo", "received_on": today().to_string(),
        "subject": "Luca Ricci, classe 5B", "person_id": p.id, "description": "Assenze ripetute", "urgency": "high"}));
    let alert = f.store.create_alert(&f.back_office, &input).await.unwrap();
    assert_eq!(alert.status, "new");
    let bad: AlertInput = json(json!({"source": "newspaper", "reporter": "", "received_on": "2030-13-01",
        "subject": "x", "description": "y", "urgency": "now"}));
    assert_fields(f.store.create_alert(&f.back_office, &bad).await, &["source", "reporter", "received_on", "urgency"]);

    let new = f.store.alerts(&f.worker, "new").await.unwrap();
    assert_eq!(new.iter().map(|a| a.id).collect::<Vec<_>>(), [alert.id]);
    assert_forbidden(
        f.store.triage_alert(&f.back_office, alert.id, &json(json!({"action": "dismiss", "note": "x"}))).await,
    );
    let t = f
        .store
        .triage_alert(&f.worker, alert.id, &json(json!({"action": "open_case", "person_id": p.id})))
        .await
        .unwrap();
    assert_eq!(t.status, "triaged");
    let case = f.store.case_file(&f.worker, t.case_id.unwrap()).await.unwrap();
    assert_eq!(case.person.id, p.id);
    assert_conflict(
        f.store.triage_alert(&f.worker, alert.id, &json(json!({"action": "dismiss", "note": "x"}))).await,
        "alert_triaged",
    );
    assert!(f.store.alerts(&f.worker, "new").await.unwrap().is_empty());
}

async fn work_lists_show_what_is_due(f: &Fixture) {
    let (_, case) = open_case(f, &f.worker, "Romano").await;
    let a: AssessmentInput = json(json!({"assessed_on": today().to_string(), "instrument": "colloquio", "health": 1,
        "autonomy": 1, "household": 2, "housing": 3, "income": 4, "work": 4, "network": 2}));
    f.store.add_assessment(&f.worker, case, &a).await.unwrap();
    let plan: PlanInput = json(json!({"goals": ["Lavoro"], "actions": ["Tirocinio"], "team": ["AS"], "submit": true,
        "start_date": today().to_string(), "end_date": (today() + Duration::days(180)).to_string(),
        "review_date": (today() + Duration::days(20)).to_string()}));
    let plan = f.store.add_plan(&f.worker, case, &plan).await.unwrap();
    assert_eq!(plan.status, "submitted");

    let w = f.store.work_lists(&f.worker).await.unwrap();
    assert_eq!(w.my_cases.iter().map(|c| c.id).collect::<Vec<_>>(), [case]);
    assert!(w.plans_to_approve.is_empty(), "a social worker does not approve");
    let c = f.store.work_lists(&f.coordinator).await.unwrap();
    assert_eq!(c.plans_to_approve.iter().map(|p| p.id).collect::<Vec<_>>(), [plan.id]);
    assert!(c.my_cases.is_empty());
    assert!(f.store.work_lists(&f.worker_b).await.unwrap().my_cases.is_empty());

    f.store.decide_plan(&f.coordinator, plan.id, &json(json!({"decision": "approve"}))).await.unwrap();
    let w = f.store.work_lists(&f.worker).await.unwrap();
    assert_eq!(w.reviews_due.iter().map(|p| p.id).collect::<Vec<_>>(), [plan.id], "review in 20 days");
    assert!(f.store.work_lists(&f.coordinator).await.unwrap().plans_to_approve.is_empty());
}

async fn the_audit_is_append_only_and_queryable(f: &Fixture) {
    let (person, case) = open_case(f, &f.worker, "Gallo").await;
    f.store.case_file(&f.worker, case).await.unwrap();
    f.store.person(&f.coordinator, person).await.unwrap();
    let log = f.store.audit_log(&f.admin, &json(json!({"case_id": case}))).await.unwrap();
    let actions: Vec<(&str, &str, &str)> =
        log.iter().map(|e| (e.username.as_str(), e.action.as_str(), e.entity.as_str())).collect();
    assert_eq!(actions, [("worker", "read", "case"), ("worker", "create", "contact"), ("worker", "create", "case")]);
    let reads = f
        .store
        .audit_log(&f.admin, &json(json!({"entity": "person", "user_id": f.coordinator.user_id})))
        .await
        .unwrap();
    assert_eq!(reads.len(), 1);
    assert_forbidden(f.store.audit_log(&f.worker, &json(json!({}))).await);
    assert!(f.raw.execute("UPDATE audit SET action = 'nothing'").await.is_err(), "audit rows cannot change");
    assert!(f.raw.execute("DELETE FROM audit").await.is_err(), "audit rows cannot go");
    let again = f.store.audit_log(&f.admin, &json(json!({"case_id": case}))).await.unwrap();
    assert_eq!(again.len(), 3);
}

async fn other_enti_records_are_invisible(f: &Fixture) {
    let (pa, ca) = open_case(f, &f.worker, "Conti").await;
    let b = &f.worker_b;
    assert_not_found(f.store.person(b, pa).await);
    assert_not_found(f.store.case_file(b, ca).await);
    assert_not_found(f.store.update_person(b, pa, &json(json!({"address": "x"})), None).await);
    assert_not_found(f.store.person_history(b, pa).await);
    assert_not_found(f.store.network(b, pa).await);
    let diary: DiaryInput = json(json!({"entry_date": today().to_string(), "kind": "note", "text": "x"}));
    assert_not_found(f.store.add_diary_entry(b, ca, &diary).await);
    let contact: ContactInput = json(json!({"person_id": pa, "contact_date": today().to_string(), "channel": "desk",
        "requester": "self", "request": "x", "area": "anziani", "outcome": "information"}));
    assert_not_found(f.store.record_contact(b, &contact).await);
    // Creating in another ente is refused by name.
    let mut other = person_input("Marino", "Ugo", "1977-04-04", Sex::M);
    other.ente = Some(A.into());
    assert_fields(f.store.create_person(b, &other).await, &["ente"]);
    // The ambito coordinator sees both comuni.
    assert_eq!(f.store.case_file(&f.ambito, ca).await.unwrap().case.ente, A);
    assert_eq!(f.store.enti(&f.ambito).await.unwrap().len(), 2);
    assert_eq!(f.store.enti(b).await.unwrap().len(), 1);
}

async fn sign_in_is_throttled_and_sessions_end(f: &Fixture) {
    let s = f.store.login("worker", PASSWORD, "10.0.0.1").await.unwrap();
    assert_eq!(f.store.session(&s.token).await.unwrap().actor.user_id, f.worker.user_id);
    f.store.logout(&s.token).await.unwrap();
    assert!(matches!(f.store.session(&s.token).await, Err(CaseError::Unauthorized)));
    assert!(matches!(f.store.session("forged").await, Err(CaseError::Unauthorized)));
    assert!(matches!(f.store.login("nobody", PASSWORD, "10.0.0.2").await, Err(CaseError::Unauthorized)));
    for _ in 0..5 {
        assert!(matches!(f.store.login("coordinator", "wrong", "10.0.0.3").await, Err(CaseError::Unauthorized)));
    }
    let r = f.store.login("coordinator", PASSWORD, "10.0.0.4").await;
    assert!(matches!(r, Err(CaseError::Throttled { .. })), "the right password after five failures: {r:?}");
}

async fn a_failed_operation_writes_nothing(f: &Fixture) {
    let before = f.raw.count("SELECT COUNT(*) FROM persons").await;
    let audit_before = f.raw.count("SELECT COUNT(*) FROM audit").await;
    // A household of another ente: refused after the checks, inside the transaction.
    let h = f.store.create_household(&f.worker_b, &json(json!({"address": "Via Roma 1"}))).await.unwrap();
    let audit_before = audit_before + 1;
    let mut p = person_input("Greco", "Rita", "1966-06-06", Sex::F);
    p.household_id = Some(h.id.to_string());
    assert_fields(f.store.create_person(&f.worker, &p).await, &["household_id"]);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM persons").await, before);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM audit").await, audit_before);

    // A case closed with an intervention running: nothing changes.
    let (_, case) = open_case(f, &f.worker, "Bruno").await;
    let closure: ClosureInput = json(json!({"closed_on": "2999-01-01", "reason": "other", "outcome": "x"}));
    assert_fields(f.store.close_case(&f.worker, case, &closure).await, &["closed_on"]);
    assert_eq!(f.store.case_file(&f.worker, case).await.unwrap().case.status, "open");
}

async fn roles_limit_what_users_do(f: &Fixture) {
    let (p, case) = open_case(f, &f.worker, "Fontana").await;
    assert_forbidden(f.store.case_file(&f.planner, case).await);
    assert_forbidden(f.store.person(&f.planner, p).await);
    assert_forbidden(f.store.search_persons(&f.planner, "fontana", 10).await);
    assert_forbidden(f.store.case_file(&f.admin, case).await);
    assert_forbidden(f.store.case_file(&f.back_office, case).await);
    assert!(f.store.person(&f.back_office, p).await.is_ok(), "back office keeps the registry");
    let diary: DiaryInput = json(json!({"entry_date": today().to_string(), "kind": "note", "text": "x"}));
    assert_forbidden(f.store.add_diary_entry(&f.back_office, case, &diary).await);
    assert!(f.store.work_lists(&f.planner).await.unwrap().my_cases.is_empty());
}

async fn registry_imports_skip_known_codes(f: &Fixture) {
    let existing = f.person(&f.worker, "Moretti", "Elsa", "1931-03-03", Sex::F).await;
    let people: Vec<PersonData> = [
        ("Moretti", "Elsa", "1931-03-03", Sex::F),
        ("Barbieri", "Ugo", "1945-10-10", Sex::M),
        ("Lombardi", "Ida", "2001-01-31", Sex::F),
    ]
    .iter()
    .map(|(s, g, b, x)| person_input(s, g, b, *x).check(today()).unwrap())
    .collect();
    let summary = f.store.import_persons(&f.back_office, A, &people).await.unwrap();
    assert_eq!((summary.read, summary.created, summary.skipped_existing), (3, 2, 1));
    let found = f.store.search_persons(&f.worker, "barbieri ugo", 5).await.unwrap();
    assert_eq!(found.len(), 1);
    let h = f.store.person_history(&f.worker, found[0].id).await.unwrap();
    assert_eq!((h.len(), h[0].change.as_str(), h[0].changed_by.as_str()), (1, "imported", "backoffice"));
    assert_eq!(h[0].values["surname"], "Barbieri");
    assert_eq!(f.store.person(&f.worker, existing.id).await.unwrap().version, 1, "the known person is untouched");
    assert_forbidden(f.store.import_persons(&f.planner, A, &people).await);
    assert_fields(f.store.import_persons(&f.back_office, B, &people).await, &["ente"]);
}

async fn households_group_persons(f: &Fixture) {
    let mother = f.person(&f.worker, "Costa", "Irene", "1980-02-02", Sex::F).await;
    let son = f.person(&f.worker, "Costa", "Leo", "2012-12-12", Sex::M).await;
    let m = f.store.set_household(&f.worker, mother.id, None, "intestataria").await.unwrap();
    let h = m.household_id.unwrap();
    f.store.set_household(&f.worker, son.id, Some(h), "figlio").await.unwrap();
    let (household, members) = f.store.household(&f.worker, h).await.unwrap();
    assert_eq!(household.address, "Via Padova 12");
    let names: Vec<(&str, Option<&str>)> =
        members.iter().map(|p| (p.given_name.as_str(), p.household_role.as_deref())).collect();
    assert_eq!(names, [("Irene", Some("intestataria")), ("Leo", Some("figlio"))]);
    assert_eq!(
        f.store.person_history(&f.worker, son.id).await.unwrap()[1].changed_fields,
        ["household_id", "household_role"]
    );
    // Another ente's household is not offered, and nothing is created on the way.
    let other = f.store.create_household(&f.worker_b, &json(json!({"address": "Via Roma 1"}))).await.unwrap();
    assert_fields(f.store.set_household(&f.worker, son.id, Some(other.id), "figlio").await, &["household_id"]);
    assert_not_found(f.store.household(&f.worker, other.id).await);
    assert_eq!(f.store.person(&f.worker, son.id).await.unwrap().household_id, Some(h));
}
