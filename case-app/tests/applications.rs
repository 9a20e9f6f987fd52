//! Citizens' online applications, on SQLite and PostgreSQL: the automatic decision of a
//! parking permit within the request, rejections with reasons, the back-office queue and
//! its audited decisions, refusals that write nothing, and who may see what. The last
//! tests go through HTTP (`oneshot`): the citizen's multipart API and pages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use common::*;
use http_body_util::BodyExt as _;
use mosaico_case_app::applications::{Applicant, ApplicationFile, ApplicationInput, QueueFilter, Upload};
use mosaico_case_app::input::{AuditQuery, DecisionInput};
use mosaico_case_app::{Actor, CaseError, CaseState, Role, router, today};
use mosaico_domain::Sex;
use serde_json::{Value, json};
use tower::ServiceExt as _;

on_both_backends!(
    a_parking_permit_is_approved_within_the_request,
    non_residents_and_duplicates_are_rejected_with_reasons,
    income_support_waits_for_the_back_office_whose_decision_is_audited,
    an_incomplete_submission_is_refused_field_by_field_and_writes_nothing,
    a_failure_inside_the_submission_writes_nothing,
    applicants_see_only_their_own_applications,
    another_entes_back_office_cannot_see_the_application,
    citizen_sign_in_is_throttled_and_sessions_end,
);

/// A citizen with an account on comune A's portal; registered as a resident of A when
/// `resident`.
async fn citizen(f: &Fixture, surname: &str, given: &str, birth: &str, resident: bool) -> Applicant {
    let input = person_input(surname, given, birth, Sex::F);
    let code = input.fiscal_code.clone().unwrap();
    if resident {
        f.person(&f.back_office, surname, given, birth, Sex::F).await;
    }
    let email = format!("{}@example.org", given.to_lowercase());
    f.store.create_applicant(A, &code, &format!("{given} {surname}"), &email, PASSWORD).await.unwrap()
}

fn pdf(kind: &str) -> Upload {
    Upload {
        kind: kind.into(),
        filename: format!("{kind}.pdf"),
        content_type: "application/pdf".into(),
        content: format!("%PDF-1.4 {kind}").into_bytes(),
    }
}

fn parking(email: &str) -> ApplicationInput {
    json(json!({"service": "parking_permit", "email": email,
        "certificate_issued_on": (today() - Duration::days(10)).to_string()}))
}

fn income(email: &str, isee: &str) -> ApplicationInput {
    json(json!({"service": "income_support", "email": email, "isee": isee, "household_members": 2}))
}

async fn apply_parking(f: &Fixture, a: &Applicant) -> ApplicationFile {
    f.store.submit_application(a, &parking(&a.email), vec![pdf("medical_certificate")]).await.unwrap()
}

fn outcome_of<'a>(file: &'a ApplicationFile, check: &str) -> &'a str {
    file.checks.iter().find(|c| c.name == check).map_or("missing", |c| c.outcome.as_str())
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

fn queue(service: &str, status: &str) -> QueueFilter {
    QueueFilter { service: Some(service.into()), status: Some(status.into()) }
}

async fn a_parking_permit_is_approved_within_the_request(f: &Fixture) {
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    let file = apply_parking(f, &laura).await;
    let a = &file.application;
    assert_eq!((a.status.as_str(), a.service.as_str(), a.ente.as_str()), ("auto_approved", "parking_permit", A));
    assert!(a.decided_at.is_some() && a.decided_by.is_none() && a.automatic(), "{a:?}");
    let ms = a.decision_ms.expect("time to decision measured");
    assert!((0..60_000).contains(&ms), "decided within the request: {ms} ms");
    assert_eq!(ms, (a.decided_at.unwrap() - a.submitted_at).num_milliseconds());
    assert!(a.reasons.is_empty());
    for check in ["completeness", "residence", "duplicate", "certificate"] {
        assert_eq!(outcome_of(&file, check), "pass", "{check}: {:?}", file.checks);
    }
    assert_eq!(outcome_of(&file, "isee"), "missing", "no ISEE condition for the permit");
    // The certificate is kept with its checksum.
    assert_eq!(file.documents.len(), 1);
    assert_eq!(file.documents[0].kind, "medical_certificate");
    use sha2::Digest as _;
    assert_eq!(file.documents[0].sha256, hex::encode(sha2::Sha256::digest(b"%PDF-1.4 medical_certificate")));
    let bytes = f.store.application_document(&f.back_office, file.documents[0].id).await.unwrap();
    assert_eq!(bytes.content, b"%PDF-1.4 medical_certificate");
    // The notifications of each change of status, to the address given.
    let sent: Vec<(&str, &str)> =
        file.notifications.iter().map(|n| (n.status.as_str(), n.recipient.as_str())).collect();
    assert_eq!(sent, [("submitted", "laura@example.org"), ("auto_approved", "laura@example.org")]);
    assert!(file.notifications[1].subject.contains("accolta"), "{:?}", file.notifications[1]);
    // The back office's figures count it as decided automatically.
    let q = f.store.application_queue(&f.back_office, &queue("parking_permit", "all")).await.unwrap();
    assert_eq!(q.applications.len(), 1);
    let timing = q.timings.iter().find(|t| t.service == "parking_permit").unwrap();
    assert_eq!((timing.decided, timing.automatic, timing.waiting), (1, 1, 0));
    assert_eq!(timing.median_ms, Some(ms));
    // The submission and the automatic decision are in the audit.
    let log = f.store.audit_log(&f.admin, &json::<AuditQuery>(json!({"entity": "application"}))).await.unwrap();
    let lines: Vec<(&str, &str)> = log.iter().map(|l| (l.role.as_str(), l.action.as_str())).collect();
    assert!(lines.contains(&("applicant", "create")) && lines.contains(&("system", "decide")), "{lines:?}");
}

async fn non_residents_and_duplicates_are_rejected_with_reasons(f: &Fixture) {
    let paolo = citizen(f, "Verdi", "Paola", "1970-09-03", false).await;
    let file = apply_parking(f, &paolo).await;
    let a = &file.application;
    assert_eq!(a.status, "auto_rejected");
    assert!(a.automatic() && a.decision_ms.is_some());
    assert_eq!(a.reasons, ["not_resident"]);
    let residence = file.checks.iter().find(|c| c.name == "residence").unwrap();
    assert_eq!((residence.outcome.as_str(), residence.code.as_str()), ("fail", "not_resident"));
    assert!(residence.detail.contains(&paolo.fiscal_code) && residence.detail.contains(A), "{}", residence.detail);
    assert_eq!(file.notifications.last().unwrap().status, "auto_rejected");

    // A second permit while the first is valid is a duplicate; a rejected one does not count.
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    let first = apply_parking(f, &laura).await.application;
    assert_eq!(first.status, "auto_approved");
    let second = apply_parking(f, &laura).await;
    assert_eq!(second.application.status, "auto_rejected");
    assert_eq!(second.application.reasons, ["duplicate_of"]);
    let dup = second.checks.iter().find(|c| c.name == "duplicate").unwrap();
    assert_eq!(dup.params.get("id"), Some(&first.id.to_string()));
    let again = apply_parking(f, &paolo).await.application;
    assert_eq!(again.reasons, ["not_resident"], "the rejected application is no duplicate");

    // An ISEE over the threshold rejects income support at once.
    let over =
        f.store.submit_application(&laura, &income(&laura.email, "9360,01"), vec![pdf("isee_attestation")]).await;
    let over = over.unwrap().application;
    assert_eq!((over.status.as_str(), over.reasons.as_slice()), ("auto_rejected", ["isee_over".to_owned()].as_slice()));
}

async fn income_support_waits_for_the_back_office_whose_decision_is_audited(f: &Fixture) {
    let anna = citizen(f, "Esposito", "Anna", "1981-05-05", true).await;
    let file =
        f.store.submit_application(&anna, &income(&anna.email, "7200"), vec![pdf("isee_attestation")]).await.unwrap();
    let id = file.application.id;
    let a = &file.application;
    assert_eq!(a.status, "in_review");
    assert!(a.decided_at.is_none() && a.decision_ms.is_none() && a.decided_by.is_none());
    assert_eq!(a.reasons, ["evaluation_required"]);
    assert_eq!(outcome_of(&file, "isee"), "pass");
    let sent: Vec<&str> = file.notifications.iter().map(|n| n.status.as_str()).collect();
    assert_eq!(sent, ["submitted", "in_review"]);

    // In the back office's queue (in review by default); not for a social worker.
    let q = f.store.application_queue(&f.back_office, &QueueFilter::default()).await.unwrap();
    assert_eq!(q.applications.iter().map(|a| a.id).collect::<Vec<_>>(), [id]);
    assert_eq!(q.timings.iter().find(|t| t.service == "income_support").unwrap().waiting, 1);
    let seen = f.store.application(&f.back_office, id).await.unwrap();
    assert_eq!((seen.documents.len(), seen.checks.len()), (1, 4), "{:?}", seen.checks);
    assert!(matches!(
        f.store.application_queue(&f.worker, &QueueFilter::default()).await,
        Err(CaseError::Forbidden(_))
    ));
    assert!(matches!(f.store.application(&f.worker, id).await, Err(CaseError::Forbidden(_))));
    let bad = f.store.application_queue(&f.back_office, &queue("taxi", "pending")).await;
    assert_fields(bad, &["service", "status"]);

    // A rejection needs a note; an approval is recorded with who and when.
    let reject: DecisionInput = json(json!({"decision": "reject"}));
    assert_fields(f.store.decide_application(&f.back_office, id, &reject).await, &["note"]);
    let approve: DecisionInput = json(json!({"decision": "approve", "note": "Nucleo verificato al colloquio"}));
    let decided = f.store.decide_application(&f.back_office, id, &approve).await.unwrap();
    let a = &decided.application;
    assert_eq!(a.status, "approved");
    assert_eq!(a.decided_by, Some(f.back_office.user_id));
    assert_eq!(a.decided_by_name.as_deref(), Some("User backoffice"));
    assert_eq!(a.decision_note.as_deref(), Some("Nucleo verificato al colloquio"));
    assert!(a.decision_ms.unwrap() >= 0 && !a.automatic());
    let sent: Vec<&str> = decided.notifications.iter().map(|n| n.status.as_str()).collect();
    assert_eq!(sent, ["submitted", "in_review", "approved"]);
    // The citizen sees the decision.
    assert_eq!(f.store.my_application(&anna, id).await.unwrap().application.status, "approved");
    // Decided once.
    match f.store.decide_application(&f.coordinator, id, &approve).await {
        Err(CaseError::Conflict { code: "application_not_in_review", .. }) => {}
        other => panic!("expected application_not_in_review, got {other:?}"),
    }
    let log = f.store.audit_log(&f.admin, &json::<AuditQuery>(json!({"entity": "application"}))).await.unwrap();
    let decision = log.iter().find(|l| l.action == "approve").expect("the decision is audited");
    assert_eq!(
        (decision.user_id, decision.entity_id, decision.ente.as_deref()),
        (f.back_office.user_id, Some(id), Some(A))
    );
    assert_eq!(decision.detail.as_deref(), Some("Nucleo verificato al colloquio"));
    assert!(log.iter().any(|l| l.action == "read" && l.user_id == f.back_office.user_id), "reads are audited");
}

async fn an_incomplete_submission_is_refused_field_by_field_and_writes_nothing(f: &Fixture) {
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    let before = f.raw.count("SELECT COUNT(*) FROM audit").await;
    let bad: ApplicationInput = json(json!({"service": "parking_permit", "email": "laura(at)example",
        "certificate_issued_on": (today() + Duration::days(3)).to_string()}));
    assert_fields(
        f.store.submit_application(&laura, &bad, vec![pdf("identity_document")]).await,
        &["email", "certificate_issued_on", "doc_medical_certificate"],
    );
    let empty = Upload { content: Vec::new(), ..pdf("medical_certificate") };
    assert_fields(
        f.store.submit_application(&laura, &parking(&laura.email), vec![empty]).await,
        &["doc_medical_certificate"],
    );
    let wrong_kind = f.store.submit_application(&laura, &parking(&laura.email), vec![pdf("isee_attestation")]).await;
    assert_fields(wrong_kind, &["doc_isee_attestation", "doc_medical_certificate"]);
    let income_bad: ApplicationInput = json(json!({"service": "income_support", "email": "a@b.it", "isee": "tanti",
        "household_members": "0"}));
    assert_fields(
        f.store.submit_application(&laura, &income_bad, vec![]).await,
        &["isee", "household_members", "doc_isee_attestation"],
    );
    assert_fields(
        f.store.submit_application(&laura, &json(json!({"service": "taxi"})), vec![]).await,
        &["service", "email"],
    );
    for table in [
        "SELECT COUNT(*) FROM applications",
        "SELECT COUNT(*) FROM application_documents",
        "SELECT COUNT(*) FROM application_checks",
        "SELECT COUNT(*) FROM application_notifications",
    ] {
        assert_eq!(f.raw.count(table).await, 0, "{table}");
    }
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM audit").await, before);
}

async fn a_failure_inside_the_submission_writes_nothing(f: &Fixture) {
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    // Break the database after the application and its document are written: the
    // checks cannot be stored.
    match &f.raw {
        Raw::Sqlite(_) => {
            f.raw
                .execute(
                    "CREATE TRIGGER broken BEFORE INSERT ON application_checks BEGIN SELECT RAISE(ABORT, 'broken'); END",
                )
                .await
                .unwrap();
        }
        Raw::Postgres(_) => {
            f.raw
                .execute(
                    "CREATE FUNCTION broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken'; END $$",
                )
                .await
                .unwrap();
            f.raw
                .execute(
                    "CREATE TRIGGER broken BEFORE INSERT ON application_checks FOR EACH ROW EXECUTE FUNCTION broken()",
                )
                .await
                .unwrap();
        }
    }
    let r = f.store.submit_application(&laura, &parking(&laura.email), vec![pdf("medical_certificate")]).await;
    assert!(matches!(r, Err(CaseError::Database(_))), "{r:?}");
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM applications").await, 0);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM application_documents").await, 0);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM application_notifications").await, 0);
}

async fn applicants_see_only_their_own_applications(f: &Fixture) {
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    let anna = citizen(f, "Esposito", "Anna", "1981-05-05", true).await;
    let mine = apply_parking(f, &laura).await.application.id;
    assert_eq!(f.store.my_applications(&laura).await.unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), [mine]);
    assert!(f.store.my_applications(&anna).await.unwrap().is_empty());
    assert!(matches!(f.store.my_application(&anna, mine).await, Err(CaseError::NotFound(_))));
    assert!(f.store.my_application(&laura, mine).await.is_ok());
}

async fn another_entes_back_office_cannot_see_the_application(f: &Fixture) {
    let anna = citizen(f, "Esposito", "Anna", "1981-05-05", true).await;
    let file =
        f.store.submit_application(&anna, &income(&anna.email, "5000"), vec![pdf("isee_attestation")]).await.unwrap();
    let id = file.application.id;
    f.store.create_user("backoffice_b", "Back office B", Role::BackOffice, Ok(B), PASSWORD).await.unwrap();
    let bo_b: Actor = f.store.login("backoffice_b", PASSWORD, "127.0.0.1").await.unwrap().actor;
    let all = queue("all", "all");
    assert!(f.store.application_queue(&bo_b, &all).await.unwrap().applications.is_empty());
    let timings = f.store.application_queue(&bo_b, &all).await.unwrap().timings;
    assert!(timings.iter().all(|t| t.waiting == 0 && t.decided == 0), "{timings:?}");
    assert!(matches!(f.store.application(&bo_b, id).await, Err(CaseError::NotFound(_))));
    let approve: DecisionInput = json(json!({"decision": "approve"}));
    assert!(matches!(f.store.decide_application(&bo_b, id, &approve).await, Err(CaseError::NotFound(_))));
    let doc = file.documents[0].id;
    assert!(matches!(f.store.application_document(&bo_b, doc).await, Err(CaseError::NotFound(_))));
    assert_eq!(f.store.my_application(&anna, id).await.unwrap().application.status, "in_review", "untouched");
    // The ambito's coordinator sees the member enti's applications.
    assert_eq!(f.store.application_queue(&f.ambito, &all).await.unwrap().applications.len(), 1);
}

async fn citizen_sign_in_is_throttled_and_sessions_end(f: &Fixture) {
    let laura = citizen(f, "Bianchi", "Laura", "1958-04-12", true).await;
    let s = f.store.citizen_login(&laura.fiscal_code.to_lowercase(), PASSWORD, "10.0.0.1").await.unwrap();
    assert_eq!(s.applicant.id, laura.id);
    assert_eq!(f.store.citizen_session(&s.token).await.unwrap().applicant.fiscal_code, laura.fiscal_code);
    f.store.citizen_logout(&s.token).await.unwrap();
    assert!(matches!(f.store.citizen_session(&s.token).await, Err(CaseError::Unauthorized)));
    // Staff sessions are not citizens' sessions.
    let staff = f.store.login("backoffice", PASSWORD, "10.0.0.1").await.unwrap();
    assert!(matches!(f.store.citizen_session(&staff.token).await, Err(CaseError::Unauthorized)));
    for _ in 0..5 {
        let r = f.store.citizen_login(&laura.fiscal_code, "wrong-password", "10.0.0.2").await;
        assert!(matches!(r, Err(CaseError::Unauthorized)), "{r:?}");
    }
    let r = f.store.citizen_login(&laura.fiscal_code, PASSWORD, "10.0.0.3").await;
    assert!(matches!(r, Err(CaseError::Throttled { .. })), "{r:?}");
}

// ---- Through HTTP (SQLite) ----

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Resp { status, headers, body }
}

const BOUNDARY: &str = "mosaico-test-boundary";

/// A `multipart/form-data` body of text fields and files `(name, filename, bytes)`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").into_bytes());
    }
    for (k, name, bytes) in files {
        b.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .into_bytes(),
        );
        b.extend_from_slice(bytes);
        b.extend(b"\r\n");
    }
    b.extend(format!("--{BOUNDARY}--\r\n").into_bytes());
    b
}

fn post_multipart(uri: &str, cookie: &str, csrf: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut r = Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"));
    if let Some(c) = csrf {
        r = r.header("x-csrf-token", c);
    }
    r.body(Body::from(body)).unwrap()
}

async fn citizen_cookie(app: &Router, code: &str) -> (String, String) {
    let r = send(
        app,
        Request::post("/api/v1/citizen/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"fiscal_code": code, "password": PASSWORD}).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(set.starts_with("mosaico_citizen=") && set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    (set.split(';').next().unwrap().to_owned(), v["csrf_token"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_citizen_api_takes_a_multipart_submission() {
    let f = sqlite().await;
    let app = router(CaseState { store: f.store.clone(), secure_cookies: true });
    let laura = citizen(&f, "Bianchi", "Laura", "1958-04-12", true).await;
    let (cookie, csrf) = citizen_cookie(&app, &laura.fiscal_code).await;
    let d = (today() - Duration::days(5)).to_string();
    let body = || {
        multipart(
            &[("service", "parking_permit"), ("email", "laura@example.org"), ("certificate_issued_on", &d)],
            &[("doc_medical_certificate", "certificato.pdf", b"%PDF-1.4 certificato")],
        )
    };
    let r = send(&app, post_multipart("/api/v1/citizen/applications", &cookie, None, body())).await;
    assert_eq!((r.status, r.body.contains("\"csrf\"")), (StatusCode::FORBIDDEN, true), "{}", r.body);
    let r = send(&app, post_multipart("/api/v1/citizen/applications", &cookie, Some(&csrf), body())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["application"]["status"], "auto_approved");
    assert!(v["application"]["decided_by"].is_null() && v["application"]["decision_ms"].is_i64());
    assert_eq!(v["documents"][0]["filename"], "certificato.pdf");
    assert_eq!(v["checks"][1]["detail"], format!("Resident in comune {A} according to the registry"));
    let id = v["application"]["id"].as_i64().unwrap();

    // Bad input: 422 naming every field, nothing stored.
    let bad = multipart(&[("service", "income_support"), ("email", ""), ("isee", "molto")], &[]);
    let r = send(&app, post_multipart("/api/v1/citizen/applications", &cookie, Some(&csrf), bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let fields: Vec<&str> =
        v["error"]["fields"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "isee", "household_members", "doc_isee_attestation"]);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM applications").await, 1);

    let r = send(
        &app,
        Request::get("/api/v1/citizen/applications").header(header::COOKIE, &cookie).body(Body::empty()).unwrap(),
    )
    .await;
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["id"], id);
    // A staff cookie is no citizen's session, and the other way round.
    let staff = f.store.login("backoffice", PASSWORD, "127.0.0.1").await.unwrap();
    let staff_cookie = format!("mosaico_session={}", staff.token);
    let r = send(
        &app,
        Request::get(format!("/api/v1/citizen/applications/{id}"))
            .header(header::COOKIE, &staff_cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &app,
        Request::get(format!("/api/v1/applications/{id}")).header(header::COOKIE, &cookie).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        &app,
        Request::get("/api/v1/applications?status=all")
            .header(header::COOKIE, &staff_cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["applications"][0]["id"], id);
    assert_eq!(v["timings"][0]["service"], "parking_permit");
    assert_eq!(v["timings"][0]["automatic"], 1);
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_pages_name_every_problem_and_show_the_decision() {
    let f = sqlite().await;
    let app = router(CaseState { store: f.store.clone(), secure_cookies: false });
    let laura = citizen(&f, "Bianchi", "Laura", "1958-04-12", true).await;
    let r = send(&app, Request::get("/citizen/apply/parking_permit").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/citizen/login?next=%2Fcitizen%2Fapply%2Fparking_permit");
    let form =
        format!("fiscal_code={}&password={PASSWORD}&next=%2Fcitizen%2Fapply%2Fparking_permit", laura.fiscal_code);
    let r = send(
        &app,
        Request::post("/citizen/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/citizen/apply/parking_permit");
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = send(
        &app,
        Request::get("/citizen/apply/parking_permit").header(header::COOKIE, &cookie).body(Body::empty()).unwrap(),
    )
    .await;
    assert!(page.body.contains("Certificato medico-legale"), "{}", page.body);
    let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    // Nothing filled in: every problem named in Italian, the form kept.
    let bad = multipart(
        &[("csrf", &csrf), ("email", ""), ("certificate_issued_on", "2026-02-30")],
        &[("doc_medical_certificate", "", b"")],
    );
    let r = send(&app, post_multipart("/citizen/apply/parking_permit", &cookie, None, bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    for (field, words) in [
        ("email", "obbligatorio"),
        ("certificate_issued_on", "«2026-02-30» non è una data di calendario"),
        ("doc_medical_certificate", "allegare il documento"),
    ] {
        let item =
            r.body.split(&format!("data-field=\"{field}\"")).nth(1).unwrap_or_else(|| panic!("{field}: {}", r.body));
        assert!(item.split("</li>").next().unwrap().contains(words), "{field}: {item}");
    }
    assert!(r.body.contains("value=\"2026-02-30\""), "what was typed stays");
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM applications").await, 0);

    let d = (today() - Duration::days(5)).to_string();
    let good = multipart(
        &[("csrf", &csrf), ("email", "laura@example.org"), ("certificate_issued_on", &d)],
        &[("doc_medical_certificate", "certificato.pdf", b"%PDF-1.4")],
    );
    let r = send(&app, post_multipart("/citizen/apply/parking_permit", &cookie, None, good)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers.get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    assert!(to.starts_with("/citizen/applications/"), "{to}");
    let page = send(&app, Request::get(&to).header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("accolta (automatica)") && page.body.contains("decisione automatica"), "{}", page.body);
    let time = page.body.split("id=\"time-to-decision\">").nth(1).unwrap_or("");
    assert!(time.starts_with(|c: char| c.is_ascii_digit()), "the time to decision is shown: {}", page.body);
    assert!(page.body.contains("Domanda n. 1 accolta"), "the notification is listed");
    f.finish().await;
}
