//! The HTTP face of the case store through `tower::ServiceExt::oneshot`: sessions,
//! CSRF, error shapes, throttling, pages, and the tenancy sweep over every endpoint of
//! the OpenAPI document. Store behaviour itself belongs in `contract.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt as _;
use mosaico_case_app::http::CaseApi;
use mosaico_case_app::input::*;
use mosaico_case_app::{CaseState, router, today};
use mosaico_domain::Sex;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

struct Client {
    app: Router,
    cookie: String,
    csrf: String,
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(app: &Router, req: Request<Body>) -> Resp {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Resp { status, headers, body }
}

impl Client {
    async fn login(f: &Fixture, app: &Router, user: &str) -> Client {
        let r = send(
            app,
            Request::post("/api/v1/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"username": user, "password": PASSWORD}).to_string()))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let _ = f;
        let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"), "{set}");
        Client {
            app: app.clone(),
            cookie: set.split(';').next().unwrap().to_owned(),
            csrf: r.json()["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &self.cookie)
            .header("x-csrf-token", &self.csrf);
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        send(&self.app, b.body(body).unwrap()).await
    }
}

fn app_of(f: &Fixture) -> Router {
    router(CaseState { store: f.store.clone(), secure_cookies: true })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_and_error_shapes() {
    let f = sqlite().await;
    let app = app_of(&f);
    let anon = send(&app, Request::get("/api/v1/cases").body(Body::empty()).unwrap()).await;
    assert_eq!((anon.status, anon.json()["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));

    let c = Client::login(&f, &app, "worker").await;
    let me = c.call(Method::GET, "/api/v1/session", None).await;
    assert_eq!(me.json()["user"]["role"], "social_worker");

    // A change without the CSRF token is refused.
    let mut no_csrf = Request::post("/api/v1/persons")
        .header(header::COOKIE, &c.cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    no_csrf.headers_mut().remove("x-csrf-token");
    let r = send(&app, no_csrf).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")));

    // Malformed JSON and bad fields: 422 with field-level messages.
    let r = c.call(Method::POST, "/api/v1/persons", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad = serde_json::to_value(person_json("Rossi", "Ada", "1990-01-01", Sex::F)).unwrap();
    bad["fiscal_code"] = json!("RSSDAA90A41F205Z");
    bad["birth_date"] = json!("1990-02-31");
    let r = c.call(Method::POST, "/api/v1/persons", Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let body = r.json();
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["fiscal_code", "birth_date"]);

    // Created, then the same person again: 409 listing the candidate.
    let body = person_json("Rossi", "Ada", "1990-01-01", Sex::F);
    let r = c.call(Method::POST, "/api/v1/persons", Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    let r = c.call(Method::POST, "/api/v1/persons", Some(body)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "possible_duplicates");
    assert_eq!(r.json()["error"]["candidates"][0]["person"]["id"], id);

    // Sign out ends the session.
    assert_eq!(c.call(Method::DELETE, "/api/v1/session", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(c.call(Method::GET, "/api/v1/session", None).await.status, StatusCode::UNAUTHORIZED);
    f.finish().await;
}

fn person_json(surname: &str, given: &str, birth: &str, sex: Sex) -> Value {
    let p = person_input(surname, given, birth, sex);
    json!({"fiscal_code": p.fiscal_code, "surname": surname, "given_name": given, "sex": sex.as_str(), "birth_date": birth,
        "birth_place": "Milano", "citizenship": "Italia", "residence_istat": A, "address": "Via Padova 12"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transitions_answer_409_with_a_code() {
    let f = sqlite().await;
    let app = app_of(&f);
    let w = Client::login(&f, &app, "worker").await;
    let p =
        w.call(Method::POST, "/api/v1/persons", Some(person_json("Verdi", "Olga", "1944-04-04", Sex::F))).await.json();
    let r = w
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"person_id": p["id"], "contact_date": today().to_string(), "channel": "desk", "requester": "self",
                "request": "Aiuto", "area": "anziani", "outcome": "case_opened"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.json()["case"]["id"].as_i64().unwrap();
    let r = w.call(Method::POST, &format!("/api/v1/cases/{case}/plans"), Some(json!({"goals": ["x"], "actions": ["y"],
        "team": ["z"], "start_date": today().to_string(), "end_date": today().to_string(), "review_date": today().to_string()}))).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("assessment_missing")));
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/cases/{case}/closure"),
            Some(json!({"closed_on": today().to_string(),
            "reason": "refused", "outcome": "Rinuncia"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/cases/{case}/diary"),
            Some(json!({"entry_date": today().to_string(),
        "kind": "note", "text": "dopo la chiusura"})),
        )
        .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("case_closed")));
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_sign_ins_get_429() {
    let f = sqlite().await;
    let app = app_of(&f);
    let attempt = |pw: &'static str| {
        let app = app.clone();
        async move {
            send(
                &app,
                Request::post("/api/v1/session")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"username": "coordinator", "password": pw}).to_string()))
                    .unwrap(),
            )
            .await
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    let r = attempt(PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "900");
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_sign_in_and_refuse_forms_without_csrf() {
    let f = sqlite().await;
    let app = app_of(&f);
    let r = send(&app, Request::get("/app").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/app/login?next=%2Fapp");
    let r = send(&app, Request::get("/app/login").body(Body::empty()).unwrap()).await;
    assert!(r.body.contains("<html lang=\"it\"") && r.body.contains("Accedi"), "{}", r.body);

    let form = |body: &str| {
        Request::post("/app/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let r = send(&app, form("username=worker&password=nope&next=%2Fapp")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Nome utente o password non validi"));
    let r = send(&app, form(&format!("username=worker&password={PASSWORD}&next=https%3A%2F%2Fevil.example"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers.get(header::LOCATION).unwrap(), "/app", "only local redirects");
    let cookie = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();

    let r = send(&app, Request::get("/app?lang=en").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("My open cases"), "English on request");
    let r = send(
        &app,
        Request::post("/app/persons")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=forged&surname=Rossi"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Il modulo è scaduto"), "{}", r.body);
    f.finish().await;
}

/// Records of comune B that the sweep aims at.
struct BRecords {
    person: i64,
    fiscal_code: String,
    household: i64,
    case: i64,
    plan: i64,
    intervention: i64,
    document: i64,
    alert: i64,
    facility: i64,
    request: i64,
    stay: i64,
    certificate: i64,
    month: String,
    application: i64,
    application_document: i64,
}

async fn b_records(f: &Fixture) -> BRecords {
    let b = &f.worker_b;
    let p = f.person(b, "Sestese", "Bruno", "1950-05-05", Sex::M).await;
    let h = f.store.create_household(b, &json_in(json!({"address": "Via Marelli 1"}))).await.unwrap();
    let contact: ContactInput =
        json_in(json!({"person_id": p.id, "contact_date": (today() - chrono::Duration::days(70)).to_string(),
        "channel": "desk", "requester": "self", "request": "x", "area": "anziani", "outcome": "case_opened"}));
    let case = f.store.record_contact(b, &contact).await.unwrap().1.unwrap().id;
    let a: AssessmentInput =
        json_in(json!({"assessed_on": today().to_string(), "instrument": "SVAMA", "health": 2, "autonomy": 2,
        "household": 2, "housing": 2, "income": 2, "work": 0, "network": 2}));
    f.store.add_assessment(b, case, &a).await.unwrap();
    let plan: PlanInput = json_in(json!({"goals": ["g"], "actions": ["a"], "team": ["t"], "submit": true,
        "start_date": today().to_string(), "end_date": today().to_string(), "review_date": today().to_string()}));
    let plan = f.store.add_plan(b, case, &plan).await.unwrap().id;
    f.store.decide_plan(&f.ambito, plan, &json_in(json!({"decision": "approve"}))).await.unwrap();
    let i: InterventionInput =
        json_in(json!({"plan_id": plan, "service_code": "SAD", "start_date": today().to_string(),
        "quantity": 1, "unit_cost": "20"}));
    let intervention = f.store.add_intervention(b, case, &i).await.unwrap().id;
    let document = f.store.add_document(b, case, "b.txt", "text/plain", b"riservato").await.unwrap().id;
    let alert: AlertInput =
        json_in(json!({"source": "police", "reporter": "PL Sesto", "received_on": today().to_string(),
        "subject": "Sestese Bruno", "description": "x", "urgency": "low"}));
    let alert = f.store.create_alert(b, &alert).await.unwrap().id;
    // Residential care in B: a facility, a request admitted last month, the month certified.
    use mosaico_case_app::residential::*;
    let facility = f
        .store
        .create_facility(
            &f.ambito,
            &json_in(json!({"ente": B, "code": "RSA-SE", "name": "RSA Casa Sestese",
            "facility_type": "RSA", "address": "Via Marelli 9", "places": "10", "daily_fee": "90",
            "absence_full_days": "3", "absence_rate_pct": "50"})),
        )
        .await
        .unwrap()
        .id;
    let requested = today() - chrono::Duration::days(70);
    let input: PlacementInput = json_in(json!({"facility_type": "RSA", "requested_on": requested.to_string(),
        "reason": "x", "household_score": "2", "household_note": "x"}));
    let request = f.store.request_placement(b, case, &input).await.unwrap().request.id;
    for kind in DOCUMENT_KINDS {
        let check: DocumentCheckInput = json_in(json!({"status": "verified", "isee": "12000",
            "checked_on": (requested + chrono::Duration::days(1)).to_string()}));
        f.store.check_placement_document(&f.ambito, request, kind, &check).await.unwrap();
    }
    let last = Month::of(today()).previous();
    let admit: AdmitInput =
        json_in(json!({"facility_id": facility.to_string(), "admitted_on": last.first().to_string()}));
    let stay = f.store.admit(&f.ambito, request, &admit).await.unwrap().stays[0].id;
    let entries = last
        .days()
        .into_iter()
        .map(|d| PresenceEntry { stay_id: stay, day: d.to_string(), status: "present".into() })
        .collect();
    f.store.record_presences(&f.ambito, facility, &last.to_string(), &PresenceInput { entries }).await.unwrap();
    let bill = f.store.approve_prebill(&f.ambito, facility, &last.to_string(), &ApproveInput::default()).await.unwrap();
    // Bruno's income-support application to comune B (whose registry has him resident in A).
    let applicant =
        f.store.create_applicant(B, &p.fiscal_code, "Bruno Sestese", "bruno@example.org", PASSWORD).await.unwrap();
    let input: mosaico_case_app::applications::ApplicationInput = json_in(
        json!({"service": "income_support", "email": "bruno@example.org", "isee": "4000", "household_members": 1}),
    );
    let upload = mosaico_case_app::applications::Upload {
        kind: "isee_attestation".into(),
        filename: "isee.pdf".into(),
        content_type: "application/pdf".into(),
        content: b"%PDF riservato".to_vec(),
    };
    let file = f.store.submit_application(&applicant, &input, vec![upload]).await.unwrap();
    // INPS in B: the set-up, a SINA scheme of the case, the means test of its benefit.
    let setup: mosaico_case_app::inps::InpsEnteInput =
        json_in(json!({"code": "I690", "belfiore": "I690", "operator_cf": B_OPERATOR}));
    f.store.set_inps_ente(&f.ambito, Some(B), &setup).await.unwrap();
    let sina: mosaico_case_app::inps::SinaInput = json_in(json!({"assessed_on": today().to_string(), "mobility": 3}));
    f.store.record_sina(b, case, &sina).await.unwrap();
    let means: mosaico_case_app::inps::BenefitMeansInput = json_in(json!({"means_test": 1, "isee": "7000"}));
    f.store.record_benefit_means(&f.ambito, intervention, &means).await.unwrap();
    BRecords {
        person: p.id,
        fiscal_code: p.fiscal_code,
        household: h.id,
        case,
        plan,
        intervention,
        document,
        alert,
        facility,
        request,
        stay,
        certificate: bill.certificate.unwrap().id,
        month: last.to_string(),
        application: file.application.id,
        application_document: file.documents[0].id,
    }
}

/// The fiscal code of comune B's INPS operator: it must never show to comune A.
const B_OPERATOR: &str = "02253070150";

fn json_in<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Every operation of the OpenAPI document, tried by a social worker and a
/// coordinator of comune A on comune B's records: each is refused (404 for a record
/// out of scope, 422 naming the field when B's record is referenced in a body), and
/// the lists never show B's records. An operation added to the API without a line
/// here fails the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comune_a_cannot_reach_comune_b_through_any_endpoint() {
    let f = sqlite().await;
    let app = app_of(&f);
    let b = b_records(&f).await;
    let mine = f.person(&f.worker, "Milanese", "Anna", "1960-06-06", Sex::F).await.id;
    let d = today().to_string();
    for user in ["worker", "coordinator"] {
        let c = Client::login(&f, &app, user).await;
        let mut covered = Vec::new();
        let mut api = CaseApi::openapi();
        api.merge(mosaico_case_app::residential_http::ResidentialApi::openapi());
        for (path, item) in api.paths.paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let present = match method {
                    "get" => item.get.is_some(),
                    "post" => item.post.is_some(),
                    "put" => item.put.is_some(),
                    "patch" => item.patch.is_some(),
                    _ => item.delete.is_some(),
                };
                if !present {
                    continue;
                }
                covered.push(format!("{method} {path}"));
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let id_of = |p: &str| -> i64 {
                    match p {
                        _ if p.starts_with("/api/v1/persons/") => b.person,
                        _ if p.starts_with("/api/v1/households/") => b.household,
                        _ if p.starts_with("/api/v1/cases/") => b.case,
                        _ if p.starts_with("/api/v1/plans/") => b.plan,
                        _ if p.starts_with("/api/v1/interventions/") => b.intervention,
                        _ if p.starts_with("/api/v1/documents/") => b.document,
                        _ if p.starts_with("/api/v1/alerts/") => b.alert,
                        _ if p.starts_with("/api/v1/facilities/") => b.facility,
                        _ if p.starts_with("/api/v1/placements/") => b.request,
                        _ if p.starts_with("/api/v1/stays/") => b.stay,
                        _ if p.starts_with("/api/v1/certificates/") => b.certificate,
                        _ if p.starts_with("/api/v1/applications/") => b.application,
                        _ if p.starts_with("/api/v1/citizen/applications/") => b.application,
                        _ if p.starts_with("/api/v1/application-documents/") => b.application_document,
                        _ => 0,
                    }
                };
                let uri = path
                    .replace("{id}", &id_of(&path).to_string())
                    .replace("{month}", &b.month)
                    .replace("{kind}", if path.starts_with("/api/v1/placements/") { "isee" } else { "psa" })
                    .replace("{facility_type}", "RSA");
                // What a well-formed request carries, so that only the scope can refuse it.
                let body = match (method, path.as_str()) {
                    ("patch", "/api/v1/persons/{id}") => Some(json!({"address": "Via Hack 1"})),
                    ("post", "/api/v1/persons/{id}/merge") => Some(json!({"duplicate_id": mine})),
                    ("post", "/api/v1/persons/{id}/network") => {
                        Some(json!({"kind": "friend", "name": "X", "relation": "amico"}))
                    }
                    ("post", "/api/v1/cases/{id}/assessments") => Some(json!({"assessed_on": d, "instrument": "SVAMA",
                        "health": 1, "autonomy": 1, "household": 1, "housing": 1, "income": 1, "work": 1, "network": 1})),
                    ("post", "/api/v1/cases/{id}/plans") => {
                        Some(json!({"goals": ["g"], "actions": ["a"], "team": ["t"],
                        "start_date": d, "end_date": d, "review_date": d}))
                    }
                    ("post", "/api/v1/plans/{id}/decision") => Some(json!({"decision": "approve"})),
                    ("post", "/api/v1/cases/{id}/interventions") => {
                        Some(json!({"plan_id": b.plan, "service_code": "SAD",
                        "start_date": d, "quantity": 1, "unit_cost": "1"}))
                    }
                    ("post", "/api/v1/interventions/{id}/end") => Some(json!({"end_date": d})),
                    ("post", "/api/v1/cases/{id}/diary") => Some(json!({"entry_date": d, "kind": "note", "text": "x"})),
                    ("post", "/api/v1/cases/{id}/closure") => {
                        Some(json!({"closed_on": d, "reason": "other", "outcome": "x"}))
                    }
                    ("post", "/api/v1/alerts/{id}/triage") => Some(json!({"action": "dismiss", "note": "x"})),
                    ("post", "/api/v1/facilities") => Some(json!({"ente": B, "code": "X", "name": "X",
                        "facility_type": "RSA", "address": "x", "places": "1", "daily_fee": "1",
                        "absence_full_days": "0", "absence_rate_pct": "0"})),
                    ("post", "/api/v1/facilities/{id}/operators") => Some(json!({"username": "worker"})),
                    ("put", "/api/v1/facilities/{id}/presences/{month}") => Some(json!({"entries": []})),
                    ("post", "/api/v1/facilities/{id}/prebills/{month}/approval") => Some(json!({})),
                    ("post", "/api/v1/cases/{id}/placements") => Some(json!({"facility_type": "RSD",
                        "reason": "x", "household_score": "1", "household_note": "x"})),
                    ("put", "/api/v1/placements/{id}/documents/{kind}") => {
                        Some(json!({"status": "rejected", "note": "x"}))
                    }
                    ("post", "/api/v1/placements/{id}/withdrawal") => Some(json!({"note": "x"})),
                    ("post", "/api/v1/placements/{id}/admission") => Some(json!({"facility_id": b.facility})),
                    ("put", "/api/v1/waitlists/{facility_type}") => {
                        Some(json!({"need": "1", "waiting": "1", "household": "1", "waiting_cap_days": "30"}))
                    }
                    ("post", "/api/v1/stays/{id}/transfer") => Some(json!({"facility_id": b.facility})),
                    ("post", "/api/v1/stays/{id}/discharge") => Some(json!({"reason": "home"})),
                    ("post", "/api/v1/applications/{id}/decision") => Some(json!({"decision": "approve", "note": "x"})),
                    ("put", "/api/v1/inps/setup") => {
                        Some(json!({"code": "A1", "belfiore": "F205", "operator_cf": "01199250158"}))
                    }
                    ("post", "/api/v1/cases/{id}/sina") => Some(json!({"assessed_on": d, "mobility": 1})),
                    ("post", "/api/v1/cases/{id}/sinba") => Some(json!({"assessed_on": d, "scheme": {"LuogoVita": 1}})),
                    ("put", "/api/v1/interventions/{id}/means") => Some(json!({"means_test": 4})),
                    ("post", "/api/v1/contacts") => {
                        Some(json!({"person_id": b.person, "contact_date": d, "channel": "desk",
                        "requester": "self", "request": "x", "area": "anziani", "outcome": "case_opened"}))
                    }
                    ("post", "/api/v1/persons") => {
                        let mut p = person_json("Intruso", "Ivo", "1970-07-07", Sex::M);
                        p["ente"] = json!(B);
                        Some(p)
                    }
                    ("post", "/api/v1/households") => Some(json!({"address": "Via X", "ente": B})),
                    ("post", "/api/v1/alerts") => {
                        Some(json!({"ente": B, "source": "school", "reporter": "x", "received_on": d,
                        "subject": "x", "description": "x", "urgency": "low"}))
                    }
                    _ => None,
                };
                let (uri, expect): (String, &[StatusCode]) = match (method, path.as_str()) {
                    // Sign-in, the user's own data and the catalogue hold no records of B.
                    (_, "/api/v1/session" | "/api/v1/citizen/session") | ("get", "/api/v1/service-types") => continue,
                    // A staff session is no applicant's session.
                    (_, p) if p.starts_with("/api/v1/citizen/") => (uri, &[StatusCode::UNAUTHORIZED]),
                    // The back-office queue: refused to a social worker, without B's for a coordinator.
                    ("get", "/api/v1/applications") => {
                        (format!("{uri}?status=all"), &[StatusCode::OK, StatusCode::FORBIDDEN])
                    }
                    (
                        _,
                        "/api/v1/applications/{id}"
                        | "/api/v1/applications/{id}/decision"
                        | "/api/v1/application-documents/{id}",
                    ) => (uri, &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]),
                    ("post", "/api/v1/cases/{id}/documents") => {
                        (format!("{uri}?filename=x.txt"), &[StatusCode::NOT_FOUND])
                    }
                    // Lists: answered, without B's records (checked below).
                    ("get", "/api/v1/persons") => (format!("{uri}?q={}", &b.fiscal_code[..10]), &[StatusCode::OK]),
                    (
                        "get",
                        "/api/v1/cases" | "/api/v1/alerts" | "/api/v1/worklists" | "/api/v1/enti" | "/api/v1/users",
                    ) => (uri, &[StatusCode::OK]),
                    ("get", "/api/v1/audit") => (uri, &[StatusCode::FORBIDDEN]),
                    ("get", "/api/v1/copay/{service}") => continue,
                    ("get", "/api/v1/facilities" | "/api/v1/placements") => (uri, &[StatusCode::OK]),
                    // Another ente's waiting list: the ente is refused by name.
                    ("get" | "put", "/api/v1/waitlists/{facility_type}") => {
                        (format!("{uri}?ente={B}"), &[StatusCode::UNPROCESSABLE_ENTITY, StatusCode::FORBIDDEN])
                    }
                    // Operations of back office: refused to the social worker's role, 404 to the coordinator.
                    (
                        "post" | "put",
                        "/api/v1/facilities/{id}/operators"
                        | "/api/v1/facilities/{id}/presences/{month}"
                        | "/api/v1/facilities/{id}/prebills/{month}/approval"
                        | "/api/v1/placements/{id}/documents/{kind}"
                        | "/api/v1/placements/{id}/admission"
                        | "/api/v1/stays/{id}/transfer"
                        | "/api/v1/stays/{id}/discharge",
                    ) => (uri, &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]),
                    ("post", "/api/v1/facilities") => (uri, &[StatusCode::UNPROCESSABLE_ENTITY, StatusCode::FORBIDDEN]),
                    // INPS flows of B: not a social worker's to produce, not A's coordinator's ente.
                    ("get", "/api/v1/inps/{kind}" | "/api/v1/inps/{kind}/report") => (
                        format!("{}?ente={B}&from=2024-01-01&to=2024-12-31", uri.replace("{kind}", "psa")),
                        &[StatusCode::FORBIDDEN, StatusCode::UNPROCESSABLE_ENTITY],
                    ),
                    // B's INPS set-up and register: the same.
                    ("get" | "put", "/api/v1/inps/setup") | ("get", "/api/v1/inps/flows") => {
                        (format!("{uri}?ente={B}"), &[StatusCode::FORBIDDEN, StatusCode::UNPROCESSABLE_ENTITY])
                    }
                    // Creations naming B's ente or records.
                    ("post", "/api/v1/persons" | "/api/v1/households" | "/api/v1/alerts") => {
                        (uri, &[StatusCode::UNPROCESSABLE_ENTITY])
                    }
                    ("post", "/api/v1/persons/{id}/merge") => (uri, &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]),
                    ("post", "/api/v1/plans/{id}/decision") => (uri, &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN]),
                    _ => (uri, &[StatusCode::NOT_FOUND]),
                };
                let r = if path == "/api/v1/cases/{id}/documents" {
                    let req = Request::post(&uri)
                        .header(header::COOKIE, &c.cookie)
                        .header("x-csrf-token", &c.csrf)
                        .header(header::CONTENT_TYPE, "text/plain")
                        .body(Body::from("intrusione"))
                        .unwrap();
                    send(&app, req).await
                } else {
                    c.call(m, &uri, body).await
                };
                assert!(expect.contains(&r.status), "{user}: {method} {uri} answered {} {}", r.status, r.body);
                if r.status == StatusCode::UNPROCESSABLE_ENTITY {
                    let fields = r.json()["error"]["fields"].to_string();
                    assert!(fields.contains("ente"), "{method} {uri}: refused for the wrong reason: {fields}");
                }
                for leak in [b.fiscal_code.as_str(), "Sestese", "PL Sesto", "Via Marelli", B_OPERATOR] {
                    assert!(!r.body.contains(leak), "{user}: {method} {uri} shows B's data ({leak}): {}", r.body);
                }
            }
        }
        assert!(covered.len() >= 62, "the sweep saw {} operations", covered.len());
    }
    // B's records are as B left them.
    let file = f.store.case_file(&f.worker_b, b.case).await.unwrap();
    assert_eq!(
        (file.case.status.as_str(), file.assessments.len(), file.plans.len(), file.diary.len()),
        ("open", 1, 1, 0)
    );
    assert_eq!(file.interventions[0].end_date, None);
    assert_eq!(f.store.person(&f.worker_b, b.person).await.unwrap().address, "Via Padova 12");
    assert_eq!(f.store.alerts(&f.worker_b, "new").await.unwrap().len(), 1);
    let placement = f.store.placement(&f.worker_b, b.request).await.unwrap();
    assert_eq!((placement.request.status.as_str(), placement.stays.len()), ("admitted", 1));
    assert_eq!(placement.stays[0].discharged_on, None);
    let bo_b = {
        f.store
            .create_user("backoffice_b", "Back office B", mosaico_case_app::Role::BackOffice, Ok(B), PASSWORD)
            .await
            .unwrap();
        f.store.login("backoffice_b", PASSWORD, "127.0.0.1").await.unwrap().actor
    };
    let untouched = f.store.application(&bo_b, b.application).await.unwrap();
    assert_eq!((untouched.application.decided_by, untouched.notifications.len()), (None, 2));
    let inps = f.store.case_inps(&f.worker_b, b.case).await.unwrap();
    assert_eq!((inps.sina.map(|s| s.mobility), inps.sinba.is_none()), (Some(Some(3)), true));
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM sina_assessments").await, 1);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM benefit_means WHERE means_test = 1").await, 1);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti WHERE code = 'I690'").await, 1);
    assert_eq!(f.raw.count("SELECT COUNT(*) FROM inps_enti").await, 1, "A's set-up was not made from B's");
    f.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_merges_a_duplicate_from_the_person_page() {
    let f = sqlite().await;
    let app = app_of(&f);
    let keep = f.person(&f.worker, "Sartori", "Ines", "1939-09-09", Sex::F).await;
    let mut dup = person_input("Sartori", "Inés", "1939-09-09", Sex::F);
    dup.fiscal_code = Some("12345678903".into());
    dup.confirm_not_duplicate = Some("true".into());
    let mosaico_case_app::Created::Person(dup) = f.store.create_person(&f.worker, &dup).await.unwrap() else {
        panic!()
    };
    let c = Client::login(&f, &app, "coordinator").await;
    let page = send(
        &app,
        Request::get(format!("/app/persons/{}", keep.id))
            .header(header::COOKIE, &c.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(page.body.contains("Unifica un doppione"), "the merge form is offered to a coordinator");
    let post = |body: String| {
        Request::post(format!("/app/persons/{}/merge", keep.id))
            .header(header::COOKIE, &c.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&app, post(format!("csrf={}&duplicate_id=abc", c.csrf))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("«abc» non è un numero di scheda"), "{}", r.body);
    let r = send(&app, post(format!("csrf={}&duplicate_id={}", c.csrf, dup.id))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(f.store.person(&f.worker, dup.id).await.unwrap().merged_into, Some(keep.id));
    let w = Client::login(&f, &app, "worker").await;
    let page = send(
        &app,
        Request::get(format!("/app/persons/{}", keep.id))
            .header(header::COOKIE, &w.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!page.body.contains("Unifica un doppione"), "not offered to a social worker");
    f.finish().await;
}
