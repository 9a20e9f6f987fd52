//! The pages of online applications. For citizens, under `/citizen/`: sign-in, their
//! applications, the application forms (with documents), and each application's status
//! page. For the back office, under `/app/applications`: the queue with its timing
//! figures and each application with its checks, documents and the decision form.
//! Plain HTML forms, every word from the message catalogue, the CSRF token on every
//! form; a refused form comes back with every problem named, field by field.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, FromRequest, FromRequestParts, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mosaico_domain::i18n::{Lang, escape, t, tf};
use serde::Deserialize;

use super::http::{CITIZEN_COOKIE, citizen_cookie, input_of, read_submission, with_cookie};
use super::rules::{ApplicationInput, Service, euros_it};
use super::store::STATUSES;
use super::{Application, ApplicationFile, CitizenSession, QueueFilter, detail};
use crate::http::{CaseState, client_of, cookie, document_response, status_and_code};
use crate::input::DecisionInput;
use crate::pages::{
    CsrfOnly, PageLang, PageSession, WithCsrf, check_csrf, code_label, error_page, flash, heads, layout, message_of,
    see_other, select, shell, table, text_input, textarea, tr, url_escape,
};
use crate::{CaseError, Session, auth};

pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/citizen/login", get(login_page).post(login_submit))
        .route("/citizen/logout", post(logout))
        .route("/citizen", get(home))
        .route("/citizen/apply/{service}", get(apply_page).post(apply_submit))
        .route("/citizen/applications/{id}", get(status_page))
        .route("/app/applications", get(queue_page))
        .route("/app/applications/{id}", get(application_page))
        .route("/app/applications/{id}/decision", post(decide))
        .route("/app/application-documents/{id}", get(document_download))
}

// ---- Shared pieces ----

/// A duration as people read it: `350 ms`, `42 s`, `12 min 5 s`, `3 h 20 min`, `2 g 4 h`.
pub(crate) fn duration(l: Lang, ms: i64) -> String {
    let n = |key: &str, v: i64| tf(l, key, &[("n", &v.to_string())]);
    let s = ms / 1000;
    match ms {
        _ if ms < 1000 => n("dur_ms", ms),
        _ if s < 60 => n("dur_s", s),
        _ if s < 3600 => format!("{} {}", n("dur_min", s / 60), n("dur_s", s % 60)),
        _ if s < 86_400 => format!("{} {}", n("dur_h", s / 3600), n("dur_min", s % 3600 / 60)),
        _ => format!("{} {}", n("dur_d", s / 86_400), n("dur_h", s % 86_400 / 3600)),
    }
}

fn status_badge(l: Lang, status: &str) -> String {
    format!("<span class=\"badge st-{}\">{}</span>", escape(status), code_label(l, "apst", status))
}

fn service_name(l: Lang, service: &str) -> String {
    tr(l, &format!("svc_{service}"))
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn reason_text(l: Lang, file: &ApplicationFile, code: &str) -> String {
    match file.checks.iter().find(|c| c.code == code) {
        Some(c) => escape(&detail(l, &c.code, &c.params)),
        None => escape(&detail(l, code, &BTreeMap::new())),
    }
}

/// The summary, reasons, timeline, checks, documents and notifications of an
/// application. `documents_link` links each document (back office) or not (citizen).
fn application_body(l: Lang, file: &ApplicationFile, documents_link: bool) -> String {
    let a = &file.application;
    let mut b = String::new();
    b.push_str("<dl>");
    let decided_by = match (&a.decided_at, &a.decided_by_name) {
        (None, _) => tr(l, "ap_pending"),
        (Some(_), None) => tr(l, "ap_automatic"),
        (Some(_), Some(name)) => escape(name),
    };
    let mut rows = vec![
        ("ap_status", format!("<span id=\"status\">{}</span>", status_badge(l, &a.status))),
        ("ap_applicant", format!("{} · {}", escape(&a.applicant_name), escape(&a.fiscal_code))),
        ("ap_submitted_at", when(a.submitted_at)),
        ("ap_decided_at", a.decided_at.map(when).unwrap_or_else(|| tr(l, "ap_pending"))),
        ("ap_decided_by", decided_by),
        (
            "ap_time_to_decision",
            format!(
                "<strong id=\"time-to-decision\">{}</strong>",
                a.decision_ms.map(|ms| duration(l, ms)).unwrap_or_else(|| tr(l, "ap_pending"))
            ),
        ),
        ("f_email", escape(&a.email)),
    ];
    if let Some(p) = &a.phone {
        rows.push(("f_phone", escape(p)));
    }
    if let Some(i) = a.isee_cents {
        rows.push(("f_isee", escape(&euros_it(i))));
    }
    if let Some(n) = a.household_members {
        rows.push(("f_household_members", n.to_string()));
    }
    if let Some(d) = a.certificate_issued_on {
        rows.push(("f_certificate_issued_on", d.to_string()));
    }
    if let Some(n) = &a.decision_note {
        rows.push(("ap_note", escape(n)));
    }
    for (k, v) in rows {
        b.push_str(&format!("<dt>{}</dt><dd>{v}</dd>", tr(l, k)));
    }
    b.push_str("</dl>");
    if !a.reasons.is_empty() {
        b.push_str(&format!("<h2 id=\"reasons\">{}</h2><ul>", tr(l, "ap_reasons")));
        for r in &a.reasons {
            b.push_str(&format!("<li>{}</li>", reason_text(l, file, r)));
        }
        b.push_str("</ul>");
    }
    b.push_str(&format!("<h2 id=\"timeline\">{}</h2>", tr(l, "ap_timeline")));
    let rows: Vec<Vec<String>> =
        file.notifications.iter().map(|n| vec![when(n.sent_at), status_badge(l, &n.status)]).collect();
    b.push_str(&table(&heads(l, &["ca_col_when", "ap_status"]), &rows, &t(l, "ca_none")));

    b.push_str(&format!("<h2 id=\"checks\">{}</h2>", tr(l, "ap_checks")));
    let rows: Vec<Vec<String>> = file
        .checks
        .iter()
        .map(|c| {
            vec![
                code_label(l, "chkname", &c.name),
                format!(
                    "<span class=\"badge st-{}\">{}</span>",
                    escape(&c.outcome),
                    code_label(l, "chkout", &c.outcome)
                ),
                escape(&detail(l, &c.code, &c.params)),
            ]
        })
        .collect();
    b.push_str(&table(&heads(l, &["ap_col_check", "ap_col_outcome", "ap_col_detail"]), &rows, &t(l, "ca_none")));

    b.push_str(&format!("<h2 id=\"documents\">{}</h2>", tr(l, "ap_documents")));
    let rows: Vec<Vec<String>> = file
        .documents
        .iter()
        .map(|d| {
            let name = if documents_link {
                format!("<a href=\"/app/application-documents/{}\">{}</a>", d.id, escape(&d.filename))
            } else {
                escape(&d.filename)
            };
            vec![
                tr(l, &format!("f_doc_{}", d.kind)),
                name,
                format!("{} B", d.size),
                format!(
                    "<code title=\"{}\">{}…</code>",
                    escape(&d.sha256),
                    escape(&d.sha256[..12.min(d.sha256.len())])
                ),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["ap_col_kind", "ap_col_file", "ca_col_size", "ca_col_checksum"]),
        &rows,
        &t(l, "ca_none"),
    ));

    b.push_str(&format!("<h2 id=\"notifications\">{}</h2>", tr(l, "ap_notifications")));
    let rows: Vec<Vec<String>> = file
        .notifications
        .iter()
        .map(|n| {
            vec![
                when(n.sent_at),
                code_label(l, "channel", &n.channel),
                escape(&n.recipient),
                format!("<strong>{}</strong><br><span class=\"muted\">{}</span>", escape(&n.subject), escape(&n.body)),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["ca_col_when", "ap_col_channel", "ap_col_to", "ap_col_subject"]),
        &rows,
        &t(l, "ca_none"),
    ));
    b
}

// ---- Citizens: session ----

/// A signed-in applicant on a page; without a session the page goes to the sign-in.
#[derive(Debug)]
pub(crate) struct CitizenPage(CitizenSession);

impl FromRequestParts<CaseState> for CitizenPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &CaseState) -> Result<Self, Self::Rejection> {
        let to_login = |parts: &Parts| {
            let next = parts.uri.path_and_query().map_or("/citizen", |p| p.as_str());
            let next = if parts.method == axum::http::Method::GET { next } else { "/citizen" };
            Redirect::to(&format!("/citizen/login?next={}", url_escape(next))).into_response()
        };
        let Some(token) = cookie(&parts.headers, CITIZEN_COOKIE) else {
            return Err(to_login(parts));
        };
        match state.store.citizen_session(&token).await {
            Ok(s) => Ok(CitizenPage(s)),
            Err(CaseError::Unauthorized) => Err(to_login(parts)),
            Err(e) => Err(citizen_error(Lang::It, None, &e)),
        }
    }
}

fn citizen_layout(lang: PageLang, session: Option<&CitizenSession>, title: &str, body: &str) -> Response {
    let l = lang.0;
    let mut nav = String::new();
    if let Some(s) = session {
        nav.push_str(&format!("<nav><a href=\"/citizen\">{}</a></nav>", tr(l, "ap_nav_mine")));
        nav.push_str(&format!(
            "<span class=\"who\">{} · <a href=\"?lang={}\">{}</a> <form method=\"post\" action=\"/citizen/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>{}</button></form></span>",
            escape(&s.applicant.full_name),
            if l == Lang::It { "en" } else { "it" },
            tr(l, "language"),
            escape(&s.csrf),
            tr(l, "ca_logout"),
        ));
    }
    shell(lang, title, "/citizen", &t(l, "ap_portal_title"), &nav, body)
}

fn citizen_error(l: Lang, session: Option<&CitizenSession>, e: &CaseError) -> Response {
    let (status, _) = status_and_code(e);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "citizen page failed");
    }
    let body = format!("{}<p><a href=\"/citizen\">{}</a></p>", flash(l, e), tr(l, "ap_nav_mine"));
    (status, citizen_layout(PageLang(l, false), session, &t(l, "ca_error"), &body)).into_response()
}

fn citizen_csrf(s: &CitizenSession, sent: &str) -> Result<(), CaseError> {
    if auth::same_token(sent, &s.csrf) { Ok(()) } else { Err(CaseError::Csrf) }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn login_form(l: Lang, next: &str, error: Option<&str>) -> String {
    format!(
        "<h1>{}</h1>{}<p class=\"muted\">{}</p><form class=\"box\" method=\"post\" action=\"/citizen/login\" style=\"max-width:360px\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">{}{}<button type=\"submit\">{}</button></form>",
        tr(l, "ap_login_title"),
        error.map(|e| format!("<div class=\"flash\" role=\"alert\">{}</div>", escape(e))).unwrap_or_default(),
        tr(l, "ap_login_hint"),
        escape(next),
        text_input(l, "fiscal_code", "text", "", true),
        text_input(l, "password", "password", "", true),
        tr(l, "ca_login"),
    )
}

async fn login_page(lang: PageLang, Query(q): Query<NextQuery>) -> Response {
    let next = q.next.unwrap_or_else(|| "/citizen".into());
    citizen_layout(lang, None, &t(lang.0, "ap_login_title"), &login_form(lang.0, &next, None))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    fiscal_code: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    req: axum::http::Request<axum::body::Body>,
) -> Response {
    let l = lang.0;
    let client = client_of(req.extensions());
    let Ok(Form(f)) = Form::<LoginForm>::from_request(req, &()).await else {
        let body = login_form(l, "/citizen", Some(&t(l, "ap_login_failed")));
        return (StatusCode::BAD_REQUEST, citizen_layout(lang, None, "", &body)).into_response();
    };
    // Only local paths of the citizens' pages are followed after sign-in.
    let next =
        f.next.filter(|n| n.starts_with("/citizen") && !n.starts_with("//")).unwrap_or_else(|| "/citizen".into());
    match s.store.citizen_login(&f.fiscal_code, &f.password, &client).await {
        Ok(session) => with_cookie(see_other(&next), &citizen_cookie(&session.token, s.secure_cookies)),
        Err(e) => {
            let (status, _) = status_and_code(&e);
            let msg = match e {
                CaseError::Unauthorized => t(l, "ap_login_failed"),
                CaseError::Throttled { .. } => t(l, "ca_login_throttled"),
                other => message_of(l, &other),
            };
            let body = login_form(l, &next, Some(&msg));
            (status, citizen_layout(lang, None, &t(l, "ap_login_title"), &body)).into_response()
        }
    }
}

async fn logout(State(s): State<CaseState>, CitizenPage(session): CitizenPage, Form(f): Form<CsrfOnly>) -> Response {
    if citizen_csrf(&session, &f.csrf).is_ok() {
        let _ = s.store.citizen_logout(&session.token).await;
    }
    with_cookie(see_other("/citizen/login"), &citizen_cookie("", s.secure_cookies))
}

// ---- Citizens: applications ----

fn applications_table(l: Lang, apps: &[Application], link: impl Fn(i64) -> String) -> String {
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|a| {
            vec![
                format!("<a href=\"{}\">#{}</a>", link(a.id), a.id),
                service_name(l, &a.service),
                status_badge(l, &a.status),
                when(a.submitted_at),
                a.decision_ms.map(|ms| duration(l, ms)).unwrap_or_else(|| tr(l, "ap_pending")),
            ]
        })
        .collect();
    table(
        &heads(l, &["ap_col_id", "ap_col_service", "ap_status", "ap_col_submitted", "ap_col_time"]),
        &rows,
        &t(l, "ap_mine_none"),
    )
}

async fn home(State(s): State<CaseState>, lang: PageLang, CitizenPage(session): CitizenPage) -> Response {
    let l = lang.0;
    let apps = match s.store.my_applications(&session.applicant).await {
        Ok(a) => a,
        Err(e) => return citizen_error(l, Some(&session), &e),
    };
    let mut b = format!("<h1>{}</h1>", escape(&tf(l, "ap_hello", &[("name", &session.applicant.full_name)])));
    b.push_str(&format!("<h2 id=\"apply\">{}</h2>", tr(l, "ap_apply_for")));
    for svc in Service::ALL {
        b.push_str(&format!(
            "<div class=\"plan\"><strong><a href=\"/citizen/apply/{}\">{}</a></strong><br><span class=\"muted\">{}</span></div>",
            svc.code(),
            service_name(l, svc.code()),
            tr(l, &format!("svc_{}_intro", svc.code())),
        ));
    }
    b.push_str(&format!("<h2 id=\"mine\">{}</h2>", tr(l, "ap_nav_mine")));
    b.push_str(&applications_table(l, &apps, |id| format!("/citizen/applications/{id}")));
    citizen_layout(lang, Some(&session), &t(l, "ap_nav_mine"), &b)
}

fn file_input(l: Lang, kind: &str, required: bool) -> String {
    format!(
        "<div><label for=\"doc_{kind}\">{} <span class=\"muted\">({})</span></label>\
         <input id=\"doc_{kind}\" name=\"doc_{kind}\" type=\"file\"></div>",
        tr(l, &format!("f_doc_{kind}")),
        tr(l, if required { "ap_required" } else { "ap_optional" }),
    )
}

fn apply_form(l: Lang, s: &CitizenSession, service: Service, v: &ApplicationInput, banner: &str) -> String {
    let rules = service.rules();
    let val = |o: &Option<String>| o.clone().unwrap_or_default();
    let mut fields = String::new();
    fields.push_str(&text_input(
        l,
        "email",
        "email",
        &v.email.clone().unwrap_or_else(|| s.applicant.email.clone()),
        false,
    ));
    fields.push_str(&text_input(l, "phone", "tel", &val(&v.phone), false));
    if rules.isee_max_cents.is_some() {
        fields.push_str(&text_input(l, "isee", "text", &val(&v.isee), false));
        fields.push_str(&text_input(l, "household_members", "number", &val(&v.household_members), false));
    }
    if rules.certificate_max_age_days.is_some() {
        fields.push_str(&text_input(l, "certificate_issued_on", "date", &val(&v.certificate_issued_on), false));
    }
    let mut docs = String::new();
    for kind in rules.required_documents {
        docs.push_str(&file_input(l, kind, true));
    }
    for kind in rules.optional_documents {
        docs.push_str(&file_input(l, kind, false));
    }
    format!(
        "<h1>{}</h1><p class=\"muted\">{}</p>{banner}\
         <form id=\"apply-form\" class=\"box\" method=\"post\" action=\"/citizen/apply/{}\" enctype=\"multipart/form-data\" novalidate>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"service\" value=\"{}\">\
         <div class=\"grid\">{fields}</div><h2>{}</h2><p class=\"muted\">{}</p><div class=\"grid\">{docs}</div>\
         <button type=\"submit\">{}</button></form>",
        service_name(l, service.code()),
        tr(l, &format!("svc_{}_intro", service.code())),
        service.code(),
        escape(&s.csrf),
        service.code(),
        tr(l, "ap_documents_to_attach"),
        tr(l, "ap_files_again"),
        tr(l, "ap_submit"),
    )
}

async fn apply_page(lang: PageLang, CitizenPage(session): CitizenPage, Path(service): Path<String>) -> Response {
    let l = lang.0;
    let Some(svc) = Service::parse(&service) else {
        return citizen_error(l, Some(&session), &CaseError::NotFound("service"));
    };
    let b = apply_form(l, &session, svc, &ApplicationInput::default(), "");
    citizen_layout(lang, Some(&session), &t(l, &format!("svc_{}", svc.code())), &b)
}

async fn apply_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    CitizenPage(session): CitizenPage,
    Path(service): Path<String>,
    mp: Multipart,
) -> Response {
    let l = lang.0;
    let Some(svc) = Service::parse(&service) else {
        return citizen_error(l, Some(&session), &CaseError::NotFound("service"));
    };
    let (fields, uploads) = match read_submission(mp).await {
        Ok(x) => x,
        Err(e) => {
            let b = apply_form(l, &session, svc, &ApplicationInput::default(), &flash(l, &e));
            let page = citizen_layout(lang, Some(&session), &t(l, &format!("svc_{}", svc.code())), &b);
            return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
        }
    };
    let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if let Err(e) = citizen_csrf(&session, csrf) {
        return citizen_error(l, Some(&session), &e);
    }
    let mut input = input_of(&fields);
    input.service = Some(svc.code().to_owned());
    match s.store.submit_application(&session.applicant, &input, uploads).await {
        Ok(file) => see_other(&format!("/citizen/applications/{}", file.application.id)),
        Err(e) => {
            let b = apply_form(l, &session, svc, &input, &flash(l, &e));
            let page = citizen_layout(lang, Some(&session), &t(l, &format!("svc_{}", svc.code())), &b);
            (status_and_code(&e).0, page).into_response()
        }
    }
}

async fn status_page(
    State(s): State<CaseState>,
    lang: PageLang,
    CitizenPage(session): CitizenPage,
    Path(id): Path<i64>,
) -> Response {
    let l = lang.0;
    let file = match s.store.my_application(&session.applicant, id).await {
        Ok(f) => f,
        Err(e) => return citizen_error(l, Some(&session), &e),
    };
    let title = tf(l, "ap_application", &[("id", &id.to_string())]);
    let b = format!(
        "<h1>{} — {}</h1>{}<p><a href=\"/citizen\">{}</a></p>",
        escape(&title),
        service_name(l, &file.application.service),
        application_body(l, &file, false),
        tr(l, "ap_nav_mine")
    );
    citizen_layout(lang, Some(&session), &title, &b)
}

// ---- Back office ----

async fn queue_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Query(q): Query<QueueFilter>,
) -> Response {
    let l = lang.0;
    let queue = match s.store.application_queue(&session.actor, &q).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&session), &e),
    };
    let mut b = format!("<h1>{}</h1>", tr(l, "ap_queue_title"));
    b.push_str(&format!("<h2 id=\"timings\">{}</h2>", tr(l, "ap_timings")));
    let figure = |ms: Option<i64>| ms.map(|ms| duration(l, ms)).unwrap_or_else(|| "—".into());
    let rows: Vec<Vec<String>> = queue
        .timings
        .iter()
        .map(|x| {
            vec![
                service_name(l, &x.service),
                x.waiting.to_string(),
                x.decided.to_string(),
                x.automatic.to_string(),
                figure(x.median_ms),
                figure(x.p90_ms),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(
            l,
            &[
                "ap_col_service",
                "ap_col_waiting",
                "ap_col_decided_n",
                "ap_col_automatic",
                "ap_col_median",
                "ap_col_p90",
            ],
        ),
        &rows,
        "",
    ));
    let mut services = vec!["all"];
    services.extend(Service::ALL.iter().map(|s| s.code()));
    let mut statuses = vec!["all"];
    statuses.extend(STATUSES);
    let service = q.service.as_deref().filter(|s| !s.is_empty()).unwrap_or("all");
    let status = q.status.as_deref().filter(|s| !s.is_empty()).unwrap_or("in_review");
    b.push_str(&format!(
        "<form id=\"queue-filter\" class=\"box\" method=\"get\" action=\"/app/applications\"><div class=\"grid\">{}{}</div><button type=\"submit\">{}</button></form>",
        select(l, "service", "svcf", &services, service),
        select(l, "status", "apst", &statuses, status),
        tr(l, "ap_filter"),
    ));
    b.push_str(&applications_table_bo(l, &queue.applications));
    layout(lang, Some(&session), &t(l, "ap_queue_title"), &b)
}

fn applications_table_bo(l: Lang, apps: &[Application]) -> String {
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|a| {
            vec![
                format!("<a href=\"/app/applications/{}\">#{}</a>", a.id, a.id),
                service_name(l, &a.service),
                format!("{} <span class=\"muted\">{}</span>", escape(&a.applicant_name), escape(&a.fiscal_code)),
                status_badge(l, &a.status),
                when(a.submitted_at),
                a.decision_ms.map(|ms| duration(l, ms)).unwrap_or_else(|| tr(l, "ap_pending")),
            ]
        })
        .collect();
    table(
        &heads(l, &["ap_col_id", "ap_col_service", "ap_applicant", "ap_status", "ap_col_submitted", "ap_col_time"]),
        &rows,
        &t(l, "ca_none"),
    )
}

async fn application_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    render_application(&s, lang, &session, id, None, None).await
}

async fn render_application(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    banner: Option<&CaseError>,
    refill: Option<&DecisionInput>,
) -> Response {
    let l = lang.0;
    let file = match s.store.application(&session.actor, id).await {
        Ok(f) => f,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let title = tf(l, "ap_application", &[("id", &id.to_string())]);
    let mut b = format!("<h1>{} — {}</h1>", escape(&title), service_name(l, &file.application.service));
    if let Some(e) = banner {
        b.push_str(&flash(l, e));
    }
    b.push_str(&application_body(l, &file, true));
    if file.application.status == "in_review" {
        let decision = refill.and_then(|r| r.decision.clone()).unwrap_or_default();
        let note = refill.and_then(|r| r.note.clone()).unwrap_or_default();
        b.push_str(&format!(
            "<h2 id=\"decide\">{}</h2><form id=\"decision-form\" class=\"box\" method=\"post\" action=\"/app/applications/{id}/decision\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><div class=\"grid\">{}</div>{}<button type=\"submit\">{}</button></form>",
            tr(l, "ap_decide"),
            escape(&session.csrf),
            select(l, "decision", "decision", &["approve", "reject"], &decision),
            textarea(l, "note", &note, Some("ca_reject_reason")),
            tr(l, "ap_decide_button"),
        ));
    }
    b.push_str(&format!("<p><a href=\"/app/applications\">{}</a></p>", tr(l, "ap_back_to_queue")));
    let status = banner.map_or(StatusCode::OK, |e| status_and_code(e).0);
    (status, layout(lang, Some(session), &title, &b)).into_response()
}

async fn decide(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<DecisionInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.decide_application(&session.actor, id, &f.inner).await {
        Ok(_) => see_other(&format!("/app/applications/{id}")),
        Err(e @ (CaseError::Invalid(_) | CaseError::Conflict { .. })) => {
            render_application(&s, lang, &session, id, Some(&e), Some(&f.inner)).await
        }
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

async fn document_download(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    match s.store.application_document(&session.actor, id).await {
        Ok(d) => document_response(d),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}
