//! Server-rendered pages for social workers and coordinators, under `/app/`. Plain
//! HTML forms (no script needed), every word from the message catalogue, every form
//! carrying the session's CSRF token. A refused form comes back with the reasons,
//! field by field, above the page.

use axum::Router;
use axum::extract::{Form, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mosaico_domain::AreaUtenza;
use mosaico_domain::i18n::{Lang, escape, t};
use serde::Deserialize;

use crate::http::{CaseState, client_of, cookie, document_response, session_cookie, session_token, status_and_code};
use crate::input::*;
use crate::model::*;
use crate::{CaseError, Created, Session, auth, today};

pub(crate) fn routes() -> Router<CaseState> {
    Router::new()
        .route("/app/login", get(login_page).post(login_submit))
        .route("/app/logout", post(logout))
        .route("/app", get(home))
        .route("/app/persons", get(persons).post(person_create))
        .route("/app/persons/new", get(person_new))
        .route("/app/persons/{id}", get(person_page))
        .route("/app/persons/{id}/contacts", post(contact_create))
        .route("/app/persons/{id}/network", post(network_create))
        .route("/app/persons/{id}/merge", post(person_merge))
        .route("/app/persons/{id}/household", post(household_set))
        .route("/app/persons/{id}/edit", get(person_edit).post(person_update))
        .route("/app/cases/{id}", get(case_page))
        .route("/app/cases/{id}/assessments", post(assessment_create))
        .route("/app/cases/{id}/plans", post(plan_create))
        .route("/app/plans/{id}/submit", post(plan_submit))
        .route("/app/plans/{id}/decision", post(plan_decide))
        .route("/app/cases/{id}/interventions", post(intervention_create))
        .route("/app/interventions/{id}/end", post(intervention_end))
        .route("/app/cases/{id}/diary", post(diary_create))
        .route("/app/cases/{id}/documents", post(document_create))
        .route("/app/documents/{id}", get(document_download))
        .route("/app/cases/{id}/closure", post(case_close))
        .route("/app/alerts", get(alerts_page).post(alert_create))
        .route("/app/alerts/{id}/triage", post(alert_triage))
        .route("/app/audit", get(audit_page))
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f7f5;font-size:15px}\
header{background:#1f3a5f;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header nav a{margin-right:16px}header .who{margin-left:auto;font-size:13px}\
header form{display:inline}header button{background:none;border:1px solid #9fb3c8;color:#fff;border-radius:3px;cursor:pointer}\
main{padding:16px 24px;max-width:1200px}h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%;background:#fff;margin:8px 0}th,td{border:1px solid #e1e4e8;padding:5px 8px;text-align:left;vertical-align:top}\
th{background:#eef2f6}form.box{background:#fff;border:1px solid #e1e4e8;padding:12px;margin:8px 0}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px 16px}\
label{display:block;font-size:13px;color:#52606d}input,select,textarea{font:inherit;width:100%;box-sizing:border-box;padding:4px}\
textarea{min-height:60px}button{font:inherit;padding:5px 14px;margin-top:8px;cursor:pointer}\
.flash{background:#fde8e8;border:1px solid #e0a0a0;padding:8px 12px;margin:8px 0}.ok{background:#e6f4ea;border-color:#9cd3a9}\
.badge{display:inline-block;padding:1px 8px;border-radius:9px;background:#e1e4e8;font-size:12px}\
.st-approved,.st-open,.st-auto_approved,.st-pass{background:#d4edda}.st-submitted,.st-in_review,.st-review{background:#fff3cd}\
.st-closed,.st-rejected,.st-auto_rejected,.st-fail{background:#f8d7da}\
dl{display:grid;grid-template-columns:max-content auto;gap:3px 14px;background:#fff;padding:10px;border:1px solid #e1e4e8}dd{margin:0}\
.inline{display:inline}.muted{color:#7b8794}.plan{background:#fff;border:1px solid #e1e4e8;padding:10px;margin:8px 0}";

// ---- Language, session and errors ----

const LANG_COOKIE: &str = "mosaico_lang";

/// The page language: `?lang=` (remembered in a cookie), else the cookie, else Italian.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageLang(pub(crate) Lang, pub(crate) bool);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let asked = q.split('&').find_map(|kv| kv.strip_prefix("lang="));
        Ok(match asked {
            Some(l) => PageLang(Lang::parse(Some(l)), true),
            None => PageLang(Lang::parse(cookie(&parts.headers, LANG_COOKIE).as_deref()), false),
        })
    }
}

/// A signed-in page user; without a session the page redirects to the login.
#[derive(Debug)]
pub(crate) struct PageSession(pub(crate) Session);

impl FromRequestParts<CaseState> for PageSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &CaseState) -> Result<Self, Self::Rejection> {
        let Some(token) = session_token(&parts.headers) else {
            return Err(to_login(parts));
        };
        match state.store.session(&token).await {
            Ok(s) => Ok(PageSession(s)),
            Err(CaseError::Unauthorized) => Err(to_login(parts)),
            Err(e) => Err(error_page(Lang::It, None, &e)),
        }
    }
}

fn to_login(parts: &Parts) -> Response {
    let next = parts.uri.path_and_query().map_or("/app", |p| p.as_str());
    let next = if parts.method == axum::http::Method::GET { next } else { "/app" };
    Redirect::to(&format!("/app/login?next={}", url_escape(next))).into_response()
}

pub(crate) fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn tr(lang: Lang, key: &str) -> String {
    escape(&t(lang, key))
}

/// The label of a code in a group (`channel`, `outcome`, ...), from the catalogue.
pub(crate) fn code_label(lang: Lang, group: &str, code: &str) -> String {
    if group == "area"
        && let Ok(a) = code.parse::<AreaUtenza>()
    {
        return escape(&t(lang, &format!("area_{}", a.code())));
    }
    if group == "service"
        && let Some(svc) = mosaico_domain::services::service(code)
    {
        return escape(&format!("{code} — {}", svc.name));
    }
    let key = format!("{group}_{code}");
    let s = t(lang, &key);
    if s == key { escape(code) } else { escape(&s) }
}

fn role_label(lang: Lang, r: Role) -> String {
    tr(lang, &format!("role_{}", r.code()))
}

/// A page in the staff layout.
pub(crate) fn layout(lang: PageLang, session: Option<&Session>, title: &str, body: &str) -> Response {
    let l = lang.0;
    let mut nav = String::new();
    if let Some(s) = session {
        let a = &s.actor;
        nav.push_str("<nav>");
        nav.push_str(&format!("<a href=\"/app\">{}</a>", tr(l, "ca_nav_home")));
        if a.role.can(Permission::RegistryRead) {
            nav.push_str(&format!("<a href=\"/app/persons\">{}</a>", tr(l, "ca_nav_persons")));
        }
        if a.role.can(Permission::AlertCreate) || a.role.can(Permission::AlertTriage) {
            nav.push_str(&format!("<a href=\"/app/alerts\">{}</a>", tr(l, "ca_nav_alerts")));
        }
        if a.role.can(Permission::ApplicationDecide) {
            nav.push_str(&format!("<a href=\"/app/applications\">{}</a>", tr(l, "ap_nav_queue")));
        }
        if a.role.can(Permission::FacilityRead) {
            nav.push_str(&format!("<a href=\"/app/residential\">{}</a>", tr(l, "rc_nav")));
        }
        if a.role.can(Permission::InpsSend) {
            nav.push_str(&format!("<a href=\"/app/inps\">{}</a>", tr(l, "inps_nav")));
        }
        if a.role.can(Permission::ReportRead) {
            nav.push_str(&format!("<a id=\"nav-dashboard\" href=\"/dashboard\">{}</a>", tr(l, "dash_nav")));
        }
        if a.role.can(Permission::AuditRead) {
            nav.push_str(&format!("<a href=\"/app/audit\">{}</a>", tr(l, "ca_nav_audit")));
        }
        if a.role.can(Permission::ReportRead) {
            nav.push_str(&format!("<a href=\"/reports\">{}</a>", tr(l, "ca_nav_reports")));
        }
        nav.push_str(&format!("<a href=\"/\">{}</a></nav>", tr(l, "ca_nav_map")));
        nav.push_str(&format!(
            "<span class=\"who\">{} · {} · <a href=\"?lang={}\">{}</a> <form method=\"post\" action=\"/app/logout\">{}<button>{}</button></form></span>",
            escape(&a.full_name),
            role_label(l, a.role),
            if l == Lang::It { "en" } else { "it" },
            tr(l, "language"),
            csrf_input(s),
            tr(l, "ca_logout"),
        ));
    }
    shell(lang, title, "/app", &t(l, "ca_title"), &nav, body)
}

/// The page shell every page shares: the head, a header with `brand` linking to `home`
/// followed by `nav` (HTML), and the body. Remembers a language asked for by `?lang=`.
pub(crate) fn shell(lang: PageLang, title: &str, home: &str, brand: &str, nav: &str, body: &str) -> Response {
    let PageLang(l, remember) = lang;
    let mut h = String::with_capacity(body.len() + 4096);
    h.push_str(&format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — {}</title><style>{STYLE}</style></head><body><header><a href=\"{}\"><strong>{}</strong></a>",
        l.code(),
        escape(title),
        escape(brand),
        escape(home),
        escape(brand),
    ));
    h.push_str(nav);
    h.push_str("</header><main>");
    h.push_str(body);
    h.push_str("</main></body></html>");
    let mut resp = Html(h).into_response();
    if remember
        && let Ok(v) =
            HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", l.code()))
    {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

pub(crate) fn csrf_input(s: &Session) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&s.csrf))
}

/// The banner listing why something was refused.
pub(crate) fn flash(lang: Lang, e: &CaseError) -> String {
    let mut h = format!("<div class=\"flash\" role=\"alert\"><strong>{}</strong> ", tr(lang, "ca_not_saved"));
    match e {
        CaseError::Invalid(fields) => {
            h.push_str("<ul>");
            for f in fields {
                let base = f.field.split('[').next().unwrap_or(&f.field);
                let label = t(lang, &format!("f_{base}"));
                let label = if label.starts_with("f_") { f.field.clone() } else { label };
                h.push_str(&format!(
                    "<li data-field=\"{}\"><b>{}</b>: {}</li>",
                    escape(&f.field),
                    escape(&label),
                    escape(&field_message(lang, f))
                ));
            }
            h.push_str("</ul>");
        }
        other => h.push_str(&escape(&message_of(lang, other))),
    }
    h.push_str("</div>");
    h
}

/// A field problem in the page's language: `err_<code>` from the catalogue with its
/// values, or the English message when the catalogue has no wording for it.
pub(crate) fn field_message(lang: Lang, f: &crate::FieldError) -> String {
    let key = format!("err_{}", f.code);
    let template = t(lang, &key);
    if template == key {
        return f.message.clone();
    }
    f.params.iter().fold(template, |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
}

pub(crate) fn message_of(lang: Lang, e: &CaseError) -> String {
    match e {
        CaseError::Conflict { code, message } => {
            let key = format!("conflict_{code}");
            let said = t(lang, &key);
            if said == key { message.clone() } else { format!("{said} ({message})") }
        }
        CaseError::NotFound(_) => t(lang, "ca_err_not_found"),
        CaseError::Forbidden(_) => t(lang, "ca_err_forbidden"),
        CaseError::Csrf => t(lang, "ca_err_csrf"),
        CaseError::Database(_) | CaseError::Internal(_) => t(lang, "ca_err_internal"),
        other => other.to_string(),
    }
}

pub(crate) fn error_page(lang: Lang, session: Option<&Session>, e: &CaseError) -> Response {
    let (status, _) = status_and_code(e);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "page failed");
    }
    let body = format!("{}<p><a href=\"/app\">{}</a></p>", flash(lang, e), tr(lang, "ca_nav_home"));
    (status, layout(PageLang(lang, false), session, &t(lang, "ca_error"), &body)).into_response()
}

pub(crate) fn check_csrf(s: &Session, sent: &str) -> Result<(), CaseError> {
    if auth::same_token(sent, &s.csrf) { Ok(()) } else { Err(CaseError::Csrf) }
}

/// A form with the session's CSRF token beside its fields.
#[derive(Debug, Deserialize)]
pub(crate) struct WithCsrf<T> {
    #[serde(default)]
    pub(crate) csrf: String,
    #[serde(flatten)]
    pub(crate) inner: T,
}

pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---- HTML helpers ----

pub(crate) fn text_input(lang: Lang, name: &str, kind: &str, value: &str, required: bool) -> String {
    format!(
        "<div><label for=\"{name}\">{}</label><input id=\"{name}\" name=\"{name}\" type=\"{kind}\" value=\"{}\"{}></div>",
        tr(lang, &format!("f_{name}")),
        escape(value),
        if required { " required" } else { "" }
    )
}

pub(crate) fn textarea(lang: Lang, name: &str, value: &str, hint: Option<&str>) -> String {
    format!(
        "<div><label for=\"{name}\">{}{}</label><textarea id=\"{name}\" name=\"{name}\">{}</textarea></div>",
        tr(lang, &format!("f_{name}")),
        hint.map(|h| format!(" <span class=\"muted\">({})</span>", tr(lang, h))).unwrap_or_default(),
        escape(value)
    )
}

pub(crate) fn select(lang: Lang, name: &str, group: &str, codes: &[&str], selected: &str) -> String {
    let mut h = format!(
        "<div><label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\">",
        tr(lang, &format!("f_{name}"))
    );
    for c in codes {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(c),
            if *c == selected { " selected" } else { "" },
            code_label(lang, group, c)
        ));
    }
    h.push_str("</select></div>");
    h
}

/// Prefixes the ids (and the labels pointing at them) of a form's fields, so forms
/// on one page that share field names keep unique ids. Attributes written with single
/// quotes (the form's own id) stay as they are.
pub(crate) fn scoped(prefix: &str, html: String) -> String {
    html.replace(" id=\"", &format!(" id=\"{prefix}-")).replace(" for=\"", &format!(" for=\"{prefix}-"))
}

pub(crate) fn table(headers: &[String], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"muted\">{}</p>", escape(empty));
    }
    let mut h = String::from("<table><thead><tr>");
    for x in headers {
        h.push_str(&format!("<th>{x}</th>"));
    }
    h.push_str("</tr></thead><tbody>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{c}</td>"));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

pub(crate) fn heads(lang: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| tr(lang, k)).collect()
}

pub(crate) fn badge(lang: Lang, status: &str) -> String {
    format!("<span class=\"badge st-{}\">{}</span>", escape(status), code_label(lang, "status", status))
}

pub(crate) fn euros(cents: i64) -> String {
    format!("{},{:02} €", cents / 100, cents % 100)
}

pub(crate) fn person_link(id: i64, surname: &str, given: &str) -> String {
    format!("<a href=\"/app/persons/{id}\">{} {}</a>", escape(surname), escape(given))
}

pub(crate) fn case_link(id: i64, label: &str) -> String {
    format!("<a href=\"/app/cases/{id}\">{}</a>", escape(label))
}

// ---- Sign-in ----

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

fn login_form(lang: Lang, next: &str, error: Option<&str>) -> String {
    format!(
        "<h1>{}</h1>{}<form class=\"box\" method=\"post\" action=\"/app/login\" style=\"max-width:360px\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">{}{}<button type=\"submit\">{}</button></form>",
        tr(lang, "ca_login_title"),
        error.map(|e| format!("<div class=\"flash\" role=\"alert\">{}</div>", escape(e))).unwrap_or_default(),
        escape(next),
        text_input(lang, "username", "text", "", true),
        text_input(lang, "password", "password", "", true),
        tr(lang, "ca_login"),
    )
}

async fn login_page(lang: PageLang, Query(q): Query<NextQuery>) -> Response {
    let next = q.next.unwrap_or_else(|| "/app".into());
    layout(lang, None, &t(lang.0, "ca_login_title"), &login_form(lang.0, &next, None))
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    parts: axum::http::Request<axum::body::Body>,
) -> Response {
    let client = client_of(parts.extensions());
    let Ok(Form(f)) = Form::<LoginForm>::from_request(parts, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            layout(lang, None, "", &login_form(lang.0, "/app", Some(&t(lang.0, "ca_login_failed")))),
        )
            .into_response();
    };
    // Only local paths are followed after sign-in.
    let next = f.next.filter(|n| n.starts_with("/app") && !n.starts_with("//")).unwrap_or_else(|| "/app".into());
    match s.store.login(f.username.trim(), &f.password, &client).await {
        Ok(session) => {
            let mut resp = see_other(&next);
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&session.token, s.secure_cookies)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            let (status, _) = status_and_code(&e);
            let msg = match e {
                CaseError::Unauthorized => t(lang.0, "ca_login_failed"),
                CaseError::Throttled { .. } => t(lang.0, "ca_login_throttled"),
                other => message_of(lang.0, &other),
            };
            (status, layout(lang, None, &t(lang.0, "ca_login_title"), &login_form(lang.0, &next, Some(&msg))))
                .into_response()
        }
    }
}

use axum::extract::FromRequest;

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}

async fn logout(State(s): State<CaseState>, PageSession(session): PageSession, Form(f): Form<CsrfOnly>) -> Response {
    if check_csrf(&session, &f.csrf).is_ok() {
        let _ = s.store.logout(&session.token).await;
    }
    let mut resp = see_other("/app/login");
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", s.secure_cookies)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

// ---- Home: work lists ----

async fn home(State(s): State<CaseState>, lang: PageLang, PageSession(session): PageSession) -> Response {
    let l = lang.0;
    let w = match s.store.work_lists(&session.actor).await {
        Ok(w) => w,
        Err(e) => return error_page(l, Some(&session), &e),
    };
    let a = &session.actor;
    let mut b = format!("<h1>{}</h1>", escape(&t(l, "ca_hello").replace("{name}", &a.full_name)));
    if a.role.can(Permission::RegistryRead) {
        b.push_str(&search_form(l, ""));
    }
    if a.role.can(Permission::CaseRead) {
        b.push_str(&format!("<h2 id=\"my-cases\">{} ({})</h2>", tr(l, "ca_wl_my_cases"), w.my_cases.len()));
        let rows: Vec<Vec<String>> = w
            .my_cases
            .iter()
            .map(|c| {
                vec![
                    case_link(c.id, &format!("#{}", c.id)),
                    person_link(c.person_id, &c.surname, &c.given_name),
                    escape(&c.fiscal_code),
                    c.opened_on.to_string(),
                ]
            })
            .collect();
        b.push_str(&table(
            &heads(l, &["ca_col_case", "ca_col_person", "f_fiscal_code", "ca_col_opened"]),
            &rows,
            &t(l, "ca_none"),
        ));
        b.push_str(&format!("<h2 id=\"reviews-due\">{} ({})</h2>", tr(l, "ca_wl_reviews"), w.reviews_due.len()));
        b.push_str(&plan_table(l, &w.reviews_due));
    }
    if a.role.can(Permission::PlanApprove) {
        b.push_str(&format!(
            "<h2 id=\"plans-to-approve\">{} ({})</h2>",
            tr(l, "ca_wl_approve"),
            w.plans_to_approve.len()
        ));
        b.push_str(&plan_table(l, &w.plans_to_approve));
    }
    if a.role.can(Permission::AlertTriage) {
        b.push_str(&format!(
            "<h2 id=\"alerts-to-triage\">{} ({})</h2>",
            tr(l, "ca_wl_alerts"),
            w.alerts_to_triage.len()
        ));
        let rows: Vec<Vec<String>> = w
            .alerts_to_triage
            .iter()
            .map(|x| {
                vec![
                    format!("<a href=\"/app/alerts#alert-{}\">#{}</a>", x.id, x.id),
                    code_label(l, "urgency", &x.urgency),
                    code_label(l, "source", &x.source),
                    escape(&x.subject),
                    x.received_on.to_string(),
                ]
            })
            .collect();
        b.push_str(&table(
            &heads(l, &["ca_col_alert", "f_urgency", "f_source", "f_subject", "f_received_on"]),
            &rows,
            &t(l, "ca_none"),
        ));
    }
    if a.role.can(Permission::PresenceWrite) || a.role.can(Permission::ResidentialManage) {
        b.push_str(&crate::residential_pages::home_section(&s, l, &session).await);
    }
    if !a.role.can(Permission::CaseRead)
        && !a.role.can(Permission::RegistryRead)
        && !a.role.can(Permission::AuditRead)
        && !a.role.can(Permission::FacilityRead)
    {
        b.push_str(&format!("<p>{}</p>", tr(l, "ca_no_case_access")));
    }
    layout(lang, Some(&session), &t(l, "ca_nav_home"), &b)
}

fn plan_table(l: Lang, plans: &[PlanSummary]) -> String {
    let rows: Vec<Vec<String>> = plans
        .iter()
        .map(|p| {
            vec![
                case_link(p.case_id, &format!("#{}", p.case_id)),
                format!("{} {}", escape(&p.surname), escape(&p.given_name)),
                badge(l, &p.status),
                p.review_date.to_string(),
                escape(&p.worker_name),
            ]
        })
        .collect();
    table(
        &heads(l, &["ca_col_case", "ca_col_person", "ca_col_status", "f_review_date", "ca_col_worker"]),
        &rows,
        &t(l, "ca_none"),
    )
}

fn search_form(l: Lang, q: &str) -> String {
    format!(
        "<form class=\"box\" method=\"get\" action=\"/app/persons\" role=\"search\"><label for=\"q\">{}</label>\
         <input id=\"q\" name=\"q\" value=\"{}\" autofocus placeholder=\"{}\"><button>{}</button> \
         <a href=\"/app/persons/new\">{}</a></form>",
        tr(l, "ca_search_label"),
        escape(q),
        tr(l, "ca_search_placeholder"),
        tr(l, "ca_search"),
        tr(l, "ca_new_person"),
    )
}

// ---- Registry ----

#[derive(Debug, Deserialize)]
pub(crate) struct PersonsQuery {
    q: Option<String>,
}

async fn persons(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Query(q): Query<PersonsQuery>,
) -> Response {
    let l = lang.0;
    let q = q.q.unwrap_or_default();
    let mut b = format!("<h1>{}</h1>{}", tr(l, "ca_nav_persons"), search_form(l, &q));
    if !q.trim().is_empty() {
        match s.store.search_persons(&session.actor, &q, 50).await {
            Ok(found) => {
                let rows: Vec<Vec<String>> = found
                    .iter()
                    .map(|p| {
                        vec![
                            person_link(p.id, &p.surname, &p.given_name),
                            escape(&p.fiscal_code),
                            p.birth_date.to_string(),
                            escape(&p.address),
                        ]
                    })
                    .collect();
                b.push_str(&table(
                    &heads(l, &["ca_col_person", "f_fiscal_code", "f_birth_date", "f_address"]),
                    &rows,
                    &t(l, "ca_no_results"),
                ));
            }
            Err(e @ (CaseError::Invalid(_) | CaseError::Forbidden(_))) => b.push_str(&flash(l, &e)),
            Err(e) => return error_page(l, Some(&session), &e),
        }
    }
    layout(lang, Some(&session), &t(l, "ca_nav_persons"), &b)
}

fn person_form(l: Lang, s: &Session, v: &PersonInput, extra: &str) -> String {
    person_form_to(l, s, v, extra, "/app/persons")
}

/// The registry form, posting to `action`.
fn person_form_to(l: Lang, s: &Session, v: &PersonInput, extra: &str, action: &str) -> String {
    let val = |o: &Option<String>| o.clone().unwrap_or_default();
    format!(
        "<form class=\"box\" method=\"post\" action=\"{action}\">{}<div class=\"grid\">{}{}{}{}{}{}{}{}{}{}{}{}</div>{extra}<button type=\"submit\">{}</button></form>",
        csrf_input(s),
        text_input(l, "surname", "text", &val(&v.surname), true),
        text_input(l, "given_name", "text", &val(&v.given_name), true),
        text_input(l, "fiscal_code", "text", &val(&v.fiscal_code), true),
        select(l, "sex", "sex", &["F", "M"], &val(&v.sex)),
        text_input(l, "birth_date", "date", &val(&v.birth_date), true),
        text_input(l, "birth_place", "text", &val(&v.birth_place), true),
        text_input(l, "citizenship", "text", &v.citizenship.clone().unwrap_or_else(|| "Italia".into()), true),
        text_input(
            l,
            "residence_istat",
            "text",
            &v.residence_istat.clone().or(s.actor.ente.clone()).unwrap_or_default(),
            true
        ),
        text_input(l, "address", "text", &val(&v.address), true),
        text_input(l, "lat", "text", &val(&v.lat), false),
        text_input(l, "lng", "text", &val(&v.lng), false),
        text_input(l, "household_role", "text", &val(&v.household_role), false),
        tr(l, "ca_save"),
    )
}

async fn person_new(lang: PageLang, PageSession(session): PageSession) -> Response {
    let l = lang.0;
    let b = format!("<h1>{}</h1>{}", tr(l, "ca_new_person"), person_form(l, &session, &PersonInput::default(), ""));
    layout(lang, Some(&session), &t(l, "ca_new_person"), &b)
}

async fn person_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Form(f): Form<WithCsrf<PersonInput>>,
) -> Response {
    let l = lang.0;
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(l, Some(&session), &e);
    }
    let (status, banner, extra) = match s.store.create_person(&session.actor, &f.inner).await {
        Ok(Created::Person(p)) => return see_other(&format!("/app/persons/{}", p.id)),
        Ok(Created::Duplicates(d)) => {
            let rows: Vec<Vec<String>> = d
                .iter()
                .map(|c| {
                    vec![
                        person_link(c.person.id, &c.person.surname, &c.person.given_name),
                        escape(&c.person.fiscal_code),
                        c.person.birth_date.to_string(),
                        code_label(l, "dup", c.reason),
                    ]
                })
                .collect();
            let same_code = d.iter().any(|c| c.reason == "same_fiscal_code");
            let banner = format!(
                "<div class=\"flash\" role=\"alert\"><strong>{}</strong>{}</div>",
                tr(l, "ca_duplicates"),
                table(&heads(l, &["ca_col_person", "f_fiscal_code", "f_birth_date", "ca_col_reason"]), &rows, "")
            );
            let extra = if same_code {
                String::new()
            } else {
                format!(
                    "<p><label><input type=\"checkbox\" name=\"confirm_not_duplicate\" value=\"true\" style=\"width:auto\"> {}</label></p>",
                    tr(l, "ca_confirm_not_duplicate")
                )
            };
            (StatusCode::CONFLICT, banner, extra)
        }
        Err(e) => (status_and_code(&e).0, flash(l, &e), String::new()),
    };
    let b = format!("<h1>{}</h1>{banner}{}", tr(l, "ca_new_person"), person_form(l, &session, &f.inner, &extra));
    (status, layout(lang, Some(&session), &t(l, "ca_new_person"), &b)).into_response()
}

async fn person_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    render_person(&s, lang, &session, id, None).await
}

async fn render_person(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    banner: Option<&CaseError>,
) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let p = match s.store.person(a, id).await {
        Ok(p) => p,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let mut b = format!(
        "<h1>{} {} <span class=\"muted\">{}</span></h1>",
        escape(&p.surname),
        escape(&p.given_name),
        escape(&p.fiscal_code)
    );
    if let Some(e) = banner {
        b.push_str(&flash(l, e));
    }
    if let Some(m) = p.merged_into {
        b.push_str(&format!(
            "<div class=\"flash\">{} <a href=\"/app/persons/{m}\">#{m}</a></div>",
            tr(l, "ca_merged_into")
        ));
    }
    b.push_str("<dl>");
    let rows = [
        (
            "f_fiscal_code",
            format!(
                "{}{}",
                escape(&p.fiscal_code),
                if p.temporary_code {
                    format!(" <span class=\"badge\">{}</span>", tr(l, "ca_temporary"))
                } else {
                    String::new()
                }
            ),
        ),
        ("f_sex", escape(&p.sex)),
        ("f_birth_date", p.birth_date.to_string()),
        ("f_birth_place", escape(&p.birth_place)),
        ("f_citizenship", escape(&p.citizenship)),
        ("f_residence_istat", escape(&p.residence_istat)),
        ("f_address", escape(&p.address)),
        ("f_household_role", escape(p.household_role.as_deref().unwrap_or("—"))),
        ("ca_version", p.version.to_string()),
    ];
    for (k, v) in rows {
        b.push_str(&format!("<dt>{}</dt><dd>{v}</dd>", tr(l, k)));
    }
    b.push_str("</dl>");
    if a.role.can(Permission::RegistryWrite) && p.merged_into.is_none() {
        b.push_str(&format!("<p><a href=\"/app/persons/{id}/edit\">{}</a></p>", tr(l, "ca_edit_person")));
    }

    if a.role.can(Permission::CaseRead) {
        match s.store.person_cases(a, id).await {
            Ok((cases, contacts)) => {
                b.push_str(&format!("<h2 id=\"cases\">{}</h2>", tr(l, "ca_cases")));
                let rows: Vec<Vec<String>> = cases
                    .iter()
                    .map(|c| {
                        vec![
                            case_link(c.id, &format!("#{}", c.id)),
                            badge(l, &c.status),
                            c.opened_on.to_string(),
                            escape(&c.worker_name),
                        ]
                    })
                    .collect();
                b.push_str(&table(
                    &heads(l, &["ca_col_case", "ca_col_status", "ca_col_opened", "ca_col_worker"]),
                    &rows,
                    &t(l, "ca_none"),
                ));
                b.push_str(&format!("<h2 id=\"contacts\">{}</h2>", tr(l, "ca_contacts")));
                b.push_str(&contacts_table(l, &contacts));
            }
            Err(e) => b.push_str(&flash(l, &e)),
        }
        if a.role.can(Permission::CaseWrite) && p.merged_into.is_none() {
            b.push_str(&format!(
                "<h2>{}</h2><form class=\"box\" method=\"post\" action=\"/app/persons/{id}/contacts\" id=\"contact-form\">{}<div class=\"grid\">{}{}{}{}{}</div>{}{}<button type=\"submit\">{}</button></form>",
                tr(l, "ca_new_contact"),
                csrf_input(session),
                text_input(l, "contact_date", "date", &today().to_string(), true),
                select(l, "channel", "channel", CHANNELS, "desk"),
                select(l, "requester", "requester", REQUESTERS, "self"),
                select(l, "area", "area", &AreaUtenza::ALL.map(|a| a.code()), "anziani"),
                select(l, "outcome", "outcome", CONTACT_OUTCOMES, "case_opened"),
                textarea(l, "request", "", None),
                textarea(l, "outcome_note", "", None),
                tr(l, "ca_save"),
            ));
        }
    }
    b.push_str(&format!("<h2 id=\"household\">{}</h2>", tr(l, "ca_household")));
    match p.household_id {
        Some(h) => match s.store.household(a, h).await {
            Ok((hh, members)) => {
                b.push_str(&format!("<p>{} #{} · {}</p>", tr(l, "ca_household"), hh.id, escape(&hh.address)));
                let rows: Vec<Vec<String>> = members
                    .iter()
                    .map(|m| {
                        vec![
                            person_link(m.id, &m.surname, &m.given_name),
                            m.birth_date.to_string(),
                            escape(m.household_role.as_deref().unwrap_or("")),
                        ]
                    })
                    .collect();
                b.push_str(&table(&heads(l, &["ca_col_person", "f_birth_date", "f_household_role"]), &rows, ""));
            }
            Err(e) => b.push_str(&flash(l, &e)),
        },
        None if a.role.can(Permission::RegistryWrite) && p.merged_into.is_none() => {
            b.push_str(&scoped(
                "hh",
                format!(
                    "<form class=\"box\" method=\"post\" action=\"/app/persons/{id}/household\" id='household-form'>{}<p class=\"muted\">{}</p>\
                     <div class=\"grid\">{}{}</div><button type=\"submit\">{}</button></form>",
                    csrf_input(session),
                    tr(l, "ca_household_help"),
                    text_input(l, "household_id", "text", "", false),
                    text_input(l, "household_role", "text", "intestatario", true),
                    tr(l, "ca_household_set"),
                ),
            ));
        }
        None => b.push_str(&format!("<p class=\"muted\">{}</p>", tr(l, "ca_none"))),
    }
    match s.store.network(a, id).await {
        Ok(net) => {
            b.push_str(&format!("<h2 id=\"network\">{}</h2>", tr(l, "ca_network")));
            let rows: Vec<Vec<String>> = net
                .iter()
                .map(|m| {
                    vec![
                        escape(&m.name),
                        code_label(l, "kind", &m.kind),
                        escape(&m.relation),
                        escape(m.contact.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            b.push_str(&table(&heads(l, &["f_name", "f_kind", "f_relation", "f_contact"]), &rows, &t(l, "ca_none")));
            if a.role.can(Permission::RegistryWrite) {
                b.push_str(&format!(
                    "<form class=\"box\" method=\"post\" action=\"/app/persons/{id}/network\">{}<div class=\"grid\">{}{}{}{}</div><button type=\"submit\">{}</button></form>",
                    csrf_input(session),
                    select(l, "kind", "kind", NETWORK_KINDS, "family"),
                    text_input(l, "name", "text", "", true),
                    text_input(l, "relation", "text", "", true),
                    text_input(l, "contact", "text", "", false),
                    tr(l, "ca_add"),
                ));
            }
        }
        Err(e) => b.push_str(&flash(l, &e)),
    }
    if a.role.can(Permission::RegistryMerge) && p.merged_into.is_none() {
        b.push_str(&format!(
            "<h2 id=\"merge\">{}</h2><form class=\"box\" method=\"post\" action=\"/app/persons/{id}/merge\" id='merge-form'>{}<p class=\"muted\">{}</p><div class=\"grid\">{}</div><button type=\"submit\">{}</button></form>",
            tr(l, "ca_merge"),
            csrf_input(session),
            tr(l, "ca_merge_help"),
            scoped("mg", text_input(l, "duplicate_id", "text", "", true)),
            tr(l, "ca_merge_button"),
        ));
    }
    if let Ok(h) = s.store.person_history(a, id).await {
        b.push_str(&format!("<h2 id=\"history\">{}</h2>", tr(l, "ca_history")));
        let rows: Vec<Vec<String>> = h
            .iter()
            .map(|v| {
                vec![
                    v.version.to_string(),
                    code_label(l, "change", &v.change),
                    escape(&v.changed_by),
                    v.changed_at.format("%Y-%m-%d %H:%M").to_string(),
                    escape(&v.changed_fields.join(", ")),
                ]
            })
            .collect();
        b.push_str(&table(
            &heads(l, &["ca_version", "ca_col_change", "ca_col_by", "ca_col_when", "ca_col_fields"]),
            &rows,
            "",
        ));
    }
    let title = format!("{} {}", p.surname, p.given_name);
    let status = banner.map_or(StatusCode::OK, |e| status_and_code(e).0);
    (status, layout(lang, Some(session), &title, &b)).into_response()
}

fn contacts_table(l: Lang, contacts: &[Contact]) -> String {
    let rows: Vec<Vec<String>> = contacts
        .iter()
        .map(|c| {
            vec![
                c.contact_date.to_string(),
                code_label(l, "channel", &c.channel),
                code_label(l, "area", &c.area),
                escape(&c.request),
                code_label(l, "outcome", &c.outcome),
            ]
        })
        .collect();
    table(&heads(l, &["f_contact_date", "f_channel", "f_area", "f_request", "f_outcome"]), &rows, &t(l, "ca_none"))
}

async fn contact_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(mut f): Form<WithCsrf<ContactInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    f.inner.person_id = Some(id.to_string());
    match s.store.record_contact(&session.actor, &f.inner).await {
        Ok((_, Some(case))) => see_other(&format!("/app/cases/{}", case.id)),
        Ok((_, None)) => see_other(&format!("/app/persons/{id}#contacts")),
        Err(e) => render_person(&s, lang, &session, id, Some(&e)).await,
    }
}

async fn network_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<NetworkInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.add_network_member(&session.actor, id, &f.inner).await {
        Ok(_) => see_other(&format!("/app/persons/{id}#network")),
        Err(e) => render_person(&s, lang, &session, id, Some(&e)).await,
    }
}

fn input_of(p: &Person) -> PersonInput {
    PersonInput { version: Some(p.version.to_string()), ..PersonInput::default().over(p) }
}

fn edit_page(l: Lang, session: &Session, id: i64, v: &PersonInput, banner: &str) -> String {
    let version =
        format!("<input type=\"hidden\" name=\"version\" value=\"{}\">", escape(v.version.as_deref().unwrap_or("")));
    format!(
        "<h1>{} <a href=\"/app/persons/{id}\">#{id}</a></h1>{banner}{}",
        tr(l, "ca_edit_person"),
        person_form_to(l, session, v, &version, &format!("/app/persons/{id}/edit"))
    )
}

async fn person_edit(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    let l = lang.0;
    match s.store.person(&session.actor, id).await {
        Ok(p) => layout(lang, Some(&session), &t(l, "ca_edit_person"), &edit_page(l, &session, id, &input_of(&p), "")),
        Err(e) => error_page(l, Some(&session), &e),
    }
}

async fn person_update(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<PersonInput>>,
) -> Response {
    let l = lang.0;
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(l, Some(&session), &e);
    }
    let version = f.inner.version.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
    match s.store.update_person(&session.actor, id, &f.inner, version).await {
        Ok(_) => see_other(&format!("/app/persons/{id}#history")),
        Err(e) => {
            let status = status_and_code(&e).0;
            let body = edit_page(l, &session, id, &f.inner, &flash(l, &e));
            (status, layout(lang, Some(&session), &t(l, "ca_edit_person"), &body)).into_response()
        }
    }
}

/// A record number typed in a form; `None` when left blank.
fn form_id(field: &str, raw: &str) -> Result<Option<i64>, CaseError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .map(Some)
        .map_err(|_| CaseError::field_code(field, "not_an_id", &[("value", raw.to_owned())], "not a record number"))
}

#[derive(Debug, Deserialize)]
pub(crate) struct HouseholdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    household_id: String,
    #[serde(default)]
    household_role: String,
}

async fn household_set(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<HouseholdForm>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    let household = match form_id("household_id", &f.household_id) {
        Ok(h) => h,
        Err(e) => return render_person(&s, lang, &session, id, Some(&e)).await,
    };
    match s.store.set_household(&session.actor, id, household, &f.household_role).await {
        Ok(_) => see_other(&format!("/app/persons/{id}#household")),
        Err(e) => render_person(&s, lang, &session, id, Some(&e)).await,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct MergeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    duplicate_id: String,
}

async fn person_merge(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<MergeForm>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    let dup = match form_id("duplicate_id", &f.duplicate_id) {
        Ok(Some(d)) => d,
        Ok(None) => {
            let e = CaseError::field_code("duplicate_id", "required", &[], "required");
            return render_person(&s, lang, &session, id, Some(&e)).await;
        }
        Err(e) => return render_person(&s, lang, &session, id, Some(&e)).await,
    };
    match s.store.merge_persons(&session.actor, id, dup).await {
        Ok(_) => see_other(&format!("/app/persons/{id}#history")),
        Err(e) => render_person(&s, lang, &session, id, Some(&e)).await,
    }
}

// ---- The case file ----

async fn case_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    render_case(&s, lang, &session, id, None).await
}

/// The values a refused form was sent with, to show them again.
#[derive(Debug)]
pub(crate) struct Refill {
    pub(crate) form: &'static str,
    pub(crate) values: std::collections::HashMap<String, String>,
}

pub(crate) async fn render_case(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    banner: Option<&CaseError>,
) -> Response {
    render_case_with(s, lang, session, id, banner, None).await
}

pub(crate) async fn render_case_with(
    s: &CaseState,
    lang: PageLang,
    session: &Session,
    id: i64,
    banner: Option<&CaseError>,
    refill: Option<&Refill>,
) -> Response {
    // A field's value: what the refused form sent, else the default.
    let val = |form: &str, name: &str, default: &str| -> String {
        refill
            .filter(|r| r.form == form)
            .and_then(|r| r.values.get(name).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    let l = lang.0;
    let a = &session.actor;
    let file = match s.store.case_file(a, id).await {
        Ok(f) => f,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let c = &file.case;
    let p = &file.person;
    let open = c.status == "open";
    let can_write = open && a.role.can(Permission::CaseWrite);
    let csrf = csrf_input(session);
    let mut b = format!(
        "<h1>{} #{} — {} {}</h1><p>{} · {} {} · {} {}</p>",
        tr(l, "ca_case"),
        c.id,
        person_link(p.id, &p.surname, &p.given_name),
        badge(l, &c.status),
        escape(&p.fiscal_code),
        tr(l, "ca_col_opened"),
        c.opened_on,
        tr(l, "ca_col_worker"),
        escape(&file.worker_name),
    );
    if let Some(e) = banner {
        b.push_str(&flash(l, e));
    }
    if let (Some(on), Some(reason)) = (c.closed_on, &c.closure_reason) {
        b.push_str(&format!(
            "<div class=\"flash ok\" id=\"closed\">{} {on}: {} — {}</div>",
            tr(l, "ca_closed_on"),
            code_label(l, "reason", reason),
            escape(c.closure_outcome.as_deref().unwrap_or(""))
        ));
    }

    // A
    b.push_str(&format!("<h2 id=\"contacts\">A · {}</h2>", tr(l, "ca_contacts")));
    b.push_str(&contacts_table(l, &file.contacts));

    // B
    b.push_str(&format!("<h2 id=\"assessments\">B · {}</h2>", tr(l, "ca_assessments")));
    let rows: Vec<Vec<String>> = file
        .assessments
        .iter()
        .map(|x| {
            vec![
                x.assessed_on.to_string(),
                escape(&x.instrument),
                format!(
                    "{} / {} / {} / {} / {} / {} / {}",
                    x.health, x.autonomy, x.household, x.housing, x.income, x.work, x.network
                ),
                format!("<strong>{}</strong>", x.need_score),
                escape(&x.notes),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["f_assessed_on", "f_instrument", "ca_col_grades", "f_need_score", "f_notes"]),
        &rows,
        &t(l, "ca_none"),
    ));
    if can_write {
        let mut grades = String::new();
        for area in ASSESSMENT_AREAS {
            grades.push_str(&select(l, area, "grade", &["0", "1", "2", "3", "4"], &val("assessment", area, "0")));
        }
        b.push_str(&scoped("as", format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{id}/assessments\" id='assessment-form'>{csrf}<div class=\"grid\">{}{}{grades}{}</div>{}<button type=\"submit\">{}</button></form>",
            text_input(l, "assessed_on", "date", &val("assessment", "assessed_on", &today().to_string()), true),
            select(l, "instrument", "instrument", INSTRUMENTS, &val("assessment", "instrument", "SVAMA")),
            text_input(l, "need_score", "number", &val("assessment", "need_score", ""), false),
            textarea(l, "notes", &val("assessment", "notes", ""), None),
            tr(l, "ca_save"),
        )));
    }

    // C
    b.push_str(&format!("<h2 id=\"plans\">C · {}</h2>", tr(l, "ca_plans")));
    for plan in &file.plans {
        b.push_str(&format!(
            "<div class=\"plan\" id=\"plan-{}\"><p>{} #{} {} · {} {} – {} · {} {}</p>",
            plan.id,
            tr(l, "ca_plan"),
            plan.id,
            badge(l, &plan.status),
            tr(l, "ca_period"),
            plan.start_date,
            plan.end_date,
            tr(l, "f_review_date"),
            plan.review_date
        ));
        for (key, list) in [("f_goals", &plan.goals), ("f_actions", &plan.actions), ("f_team", &plan.team)] {
            b.push_str(&format!("<p><b>{}</b></p><ul>", tr(l, key)));
            for item in list {
                b.push_str(&format!("<li>{}</li>", escape(item)));
            }
            b.push_str("</ul>");
        }
        if let Some(note) = &plan.decision_note {
            b.push_str(&format!("<p class=\"muted\">{}: {}</p>", tr(l, "f_note"), escape(note)));
        }
        if can_write && (plan.status == "draft" || plan.status == "rejected") {
            b.push_str(&format!(
                "<form method=\"post\" action=\"/app/plans/{}/submit\" class=\"inline\">{csrf}<button>{}</button></form>",
                plan.id,
                tr(l, "ca_submit_plan")
            ));
        }
        if open && plan.status == "submitted" && a.role.can(Permission::PlanApprove) {
            b.push_str(&format!(
                "<form method=\"post\" action=\"/app/plans/{}/decision\" class=\"inline\">{csrf}<input type=\"hidden\" name=\"decision\" value=\"approve\"><button>{}</button></form> \
                 <form method=\"post\" action=\"/app/plans/{}/decision\" class=\"inline\">{csrf}<input type=\"hidden\" name=\"decision\" value=\"reject\">\
                 <input name=\"note\" placeholder=\"{}\" style=\"width:280px\"> <button>{}</button></form>",
                plan.id,
                tr(l, "ca_approve"),
                plan.id,
                tr(l, "ca_reject_reason"),
                tr(l, "ca_reject"),
            ));
        }
        b.push_str("</div>");
    }
    if file.plans.is_empty() {
        b.push_str(&format!("<p class=\"muted\">{}</p>", tr(l, "ca_none")));
    }
    if can_write {
        let start = today();
        b.push_str(&scoped("pl", format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{id}/plans\" id='plan-form'>{csrf}{}{}{}<div class=\"grid\">{}{}{}</div>\
             <p><label><input type=\"checkbox\" name=\"submit\" value=\"true\" style=\"width:auto\"> {}</label></p><button type=\"submit\">{}</button></form>",
            textarea(l, "goals", &val("plan", "goals", ""), Some("ca_one_per_line")),
            textarea(l, "actions", &val("plan", "actions", ""), Some("ca_one_per_line")),
            textarea(l, "team", &val("plan", "team", &a.full_name), Some("ca_one_per_line")),
            text_input(l, "start_date", "date", &val("plan", "start_date", &start.to_string()), true),
            text_input(l, "end_date", "date", &val("plan", "end_date", &(start + chrono::Duration::days(365)).to_string()), true),
            text_input(l, "review_date", "date", &val("plan", "review_date", &(start + chrono::Duration::days(90)).to_string()), true),
            tr(l, "ca_submit_now"),
            tr(l, "ca_save"),
        )));
    }

    // D
    b.push_str(&format!("<h2 id=\"interventions\">D · {}</h2>", tr(l, "ca_interventions")));
    let rows: Vec<Vec<String>> = file
        .interventions
        .iter()
        .map(|i| {
            let end = match i.end_date {
                Some(e) => e.to_string(),
                None if can_write => format!(
                    "<form method=\"post\" action=\"/app/interventions/{}/end\" class=\"inline\">{csrf}<input type=\"date\" name=\"end_date\" value=\"{}\" style=\"width:150px\"> <button>{}</button></form>",
                    i.id,
                    today(),
                    tr(l, "ca_end")
                ),
                None => tr(l, "ca_running"),
            };
            vec![
                escape(&i.service_code),
                code_label(l, "area", &i.area),
                i.start_date.to_string(),
                end,
                format!("{} {}", i.quantity, escape(&i.unit)),
                euros(i.amount_cents),
                euros(i.quota_ente_cents),
                euros(i.quota_utente_cents),
                euros(i.quota_ssn_cents),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(
            l,
            &[
                "f_service_code",
                "f_area",
                "f_start_date",
                "f_end_date",
                "f_quantity",
                "ca_col_amount",
                "ca_col_ente",
                "ca_col_utente",
                "ca_col_ssn",
            ],
        ),
        &rows,
        &t(l, "ca_none"),
    ));
    let approved: Vec<String> =
        file.plans.iter().filter(|p| p.status == "approved").map(|p| p.id.to_string()).collect();
    if can_write {
        if approved.is_empty() {
            b.push_str(&format!(
                "<p class=\"muted\" id=\"needs-approved-plan\">{}</p>",
                tr(l, "ca_needs_approved_plan")
            ));
        }
        let services: Vec<&str> = mosaico_domain::services::SERVICES.iter().map(|s| s.code).collect();
        let plan_refs: Vec<&str> = approved.iter().map(String::as_str).collect();
        b.push_str(&scoped("in", format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{id}/interventions\" id='intervention-form'>{csrf}<div class=\"grid\">{}{}{}{}{}{}{}{}</div><button type=\"submit\">{}</button></form>",
            select(l, "plan_id", "plan", &plan_refs, &val("intervention", "plan_id", plan_refs.first().copied().unwrap_or(""))),
            select(l, "service_code", "service", &services, &val("intervention", "service_code", "SAD")),
            text_input(l, "start_date", "date", &val("intervention", "start_date", &today().to_string()), true),
            text_input(l, "end_date", "date", &val("intervention", "end_date", ""), false),
            text_input(l, "quantity", "text", &val("intervention", "quantity", ""), true),
            text_input(l, "unit_cost", "text", &val("intervention", "unit_cost", ""), true),
            text_input(l, "quota_utente", "text", &val("intervention", "quota_utente", "0"), false),
            text_input(l, "quota_ssn", "text", &val("intervention", "quota_ssn", "0"), false),
            tr(l, "ca_save"),
        )));
    }

    b.push_str(&crate::residential_pages::case_section(s, l, session, c.id, can_write).await);
    b.push_str(&crate::inps::pages::case_section(s, l, session, &file, can_write, banner, refill).await);

    // Diary
    b.push_str(&format!("<h2 id=\"diary\">{}</h2>", tr(l, "ca_diary")));
    let rows: Vec<Vec<String>> = file
        .diary
        .iter()
        .map(|d| {
            vec![d.entry_date.to_string(), code_label(l, "diary", &d.kind), escape(&d.text), escape(&d.author_name)]
        })
        .collect();
    b.push_str(&table(&heads(l, &["f_entry_date", "f_kind", "f_text", "ca_col_by"]), &rows, &t(l, "ca_none")));
    if can_write {
        b.push_str(&scoped("di", format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{id}/diary\" id='diary-form'>{csrf}<div class=\"grid\">{}{}</div>{}<button type=\"submit\">{}</button></form>",
            text_input(l, "entry_date", "date", &val("diary", "entry_date", &today().to_string()), true),
            select(l, "kind", "diary", DIARY_KINDS, &val("diary", "kind", "interview")),
            textarea(l, "text", &val("diary", "text", ""), None),
            tr(l, "ca_save"),
        )));
    }

    // Documents
    b.push_str(&format!("<h2 id=\"documents\">{}</h2>", tr(l, "ca_documents")));
    let rows: Vec<Vec<String>> = file
        .documents
        .iter()
        .map(|d| {
            vec![
                format!("<a href=\"/app/documents/{}\">{}</a>", d.id, escape(&d.filename)),
                format!("{} B", d.size),
                format!("<code title=\"SHA-256\">{}…</code>", &d.sha256[..12.min(d.sha256.len())]),
                d.uploaded_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(l, &["f_file", "ca_col_size", "ca_col_checksum", "ca_col_when"]),
        &rows,
        &t(l, "ca_none"),
    ));
    if can_write {
        b.push_str(&scoped("do", format!(
            "<form class=\"box\" method=\"post\" action=\"/app/cases/{id}/documents\" enctype=\"multipart/form-data\" id='document-form'>{csrf}\
             <div><label for=\"file\">{}</label><input id=\"file\" type=\"file\" name=\"file\" required></div><button type=\"submit\">{}</button></form>",
            tr(l, "f_file"),
            tr(l, "ca_upload"),
        )));
    }

    // E
    if can_write {
        b.push_str(&scoped("cl", format!(
            "<h2 id='closure'>E · {}</h2><form class=\"box\" method=\"post\" action=\"/app/cases/{id}/closure\" id='closure-form'>{csrf}<div class=\"grid\">{}{}</div>{}<button type=\"submit\">{}</button></form>",
            tr(l, "ca_closure"),
            text_input(l, "closed_on", "date", &val("closure", "closed_on", &today().to_string()), true),
            select(l, "reason", "reason", CLOSURE_REASONS, &val("closure", "reason", "goals_reached")),
            textarea(l, "outcome", &val("closure", "outcome", ""), None),
            tr(l, "ca_close_case"),
        )));
    }
    let title = format!("{} #{}", t(l, "ca_case"), c.id);
    let status = banner.map_or(StatusCode::OK, |e| status_and_code(e).0);
    (status, layout(lang, Some(session), &title, &b)).into_response()
}

/// Runs a case operation from a form: CSRF first, then the operation; on success back
/// to the case at `anchor`, on refusal the case page with the reasons.
macro_rules! case_form {
    ($s:expr, $lang:expr, $session:expr, $raw:expr, $form:literal, $case:expr, $anchor:expr, |$f:ident: $t:ty| $op:expr) => {{
        let parsed: Result<WithCsrf<$t>, CaseError> = typed(&$raw);
        let $f = match parsed {
            Ok(f) => f,
            Err(e) => return render_case(&$s, $lang, &$session, $case, Some(&e)).await,
        };
        if let Err(e) = check_csrf(&$session, &$f.csrf) {
            return error_page($lang.0, Some(&$session), &e);
        }
        match $op {
            Ok(_) => see_other(&format!("/app/cases/{}#{}", $case, $anchor)),
            Err(e) => {
                let refill = Refill { form: $form, values: $raw.into_iter().collect() };
                render_case_with(&$s, $lang, &$session, $case, Some(&e), Some(&refill)).await
            }
        }
    }};
}

/// A form's fields (as sent) into a typed input.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(raw: &[(String, String)]) -> Result<T, CaseError> {
    let map: serde_json::Map<String, serde_json::Value> =
        raw.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| CaseError::field("form", e.to_string()))
}

async fn assessment_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    case_form!(s, lang, session, raw, "assessment", id, "assessments", |f: AssessmentInput| s
        .store
        .add_assessment(&session.actor, id, &f.inner)
        .await)
}

async fn plan_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    case_form!(s, lang, session, raw, "plan", id, "plans", |f: PlanInput| s
        .store
        .add_plan(&session.actor, id, &f.inner)
        .await)
}

async fn plan_submit(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.submit_plan(&session.actor, id).await {
        Ok(p) => see_other(&format!("/app/cases/{}#plan-{}", p.case_id, p.id)),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

async fn plan_decide(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<DecisionInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.decide_plan(&session.actor, id, &f.inner).await {
        Ok(p) => see_other(&format!("/app/cases/{}#plan-{}", p.case_id, p.id)),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

async fn intervention_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    case_form!(s, lang, session, raw, "intervention", id, "interventions", |f: InterventionInput| s
        .store
        .add_intervention(&session.actor, id, &f.inner)
        .await)
}

async fn intervention_end(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<EndInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.end_intervention(&session.actor, id, &f.inner).await {
        Ok(i) => see_other(&format!("/app/cases/{}#interventions", i.case_id)),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

async fn diary_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    case_form!(s, lang, session, raw, "diary", id, "diary", |f: DiaryInput| s
        .store
        .add_diary_entry(&session.actor, id, &f.inner)
        .await)
}

async fn case_close(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(raw): Form<Vec<(String, String)>>,
) -> Response {
    case_form!(s, lang, session, raw, "closure", id, "closed", |f: ClosureInput| s
        .store
        .close_case(&session.actor, id, &f.inner)
        .await)
}

async fn document_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                if name == "csrf" {
                    csrf = field.text().await.unwrap_or_default();
                } else if name == "file" {
                    let filename = field.file_name().unwrap_or("").to_owned();
                    let ct = field.content_type().unwrap_or("").to_owned();
                    match field.bytes().await {
                        Ok(bytes) => file = Some((filename, ct, bytes.to_vec())),
                        Err(_) => {
                            return render_case(
                                &s,
                                lang,
                                &session,
                                id,
                                Some(&CaseError::field("file", t(lang.0, "ca_upload_failed"))),
                            )
                            .await;
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                return render_case(
                    &s,
                    lang,
                    &session,
                    id,
                    Some(&CaseError::field("file", t(lang.0, "ca_upload_failed"))),
                )
                .await;
            }
        }
    }
    let (filename, ct, bytes) = file.unwrap_or_default();
    if let Err(e) = check_csrf(&session, &csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.add_document(&session.actor, id, &filename, &ct, &bytes).await {
        Ok(_) => see_other(&format!("/app/cases/{id}#documents")),
        Err(e) => render_case(&s, lang, &session, id, Some(&e)).await,
    }
}

async fn document_download(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
) -> Response {
    match s.store.document(&session.actor, id).await {
        Ok(d) => document_response(d),
        Err(e) => error_page(lang.0, Some(&session), &e),
    }
}

// ---- Alerts ----

async fn alerts_page(State(s): State<CaseState>, lang: PageLang, PageSession(session): PageSession) -> Response {
    render_alerts(&s, lang, &session, None).await
}

async fn render_alerts(s: &CaseState, lang: PageLang, session: &Session, banner: Option<&CaseError>) -> Response {
    let l = lang.0;
    let a = &session.actor;
    let list = match s.store.alerts(a, "").await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(session), &e),
    };
    let csrf = csrf_input(session);
    let mut b = format!("<h1>{}</h1>", tr(l, "ca_nav_alerts"));
    if let Some(e) = banner {
        b.push_str(&flash(l, e));
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|x| {
            let status = if x.status == "new" && a.role.can(Permission::AlertTriage) {
                format!(
                    "{}<form method=\"post\" action=\"/app/alerts/{}/triage\" class=\"triage\">{csrf}{}{}{}{}<button>{}</button></form>",
                    badge(l, &x.status),
                    x.id,
                    select(l, "action", "triage", &["open_case", "attach", "dismiss"], "open_case"),
                    text_input(l, "person_id", "text", &x.person_id.map(|p| p.to_string()).unwrap_or_default(), false),
                    text_input(l, "case_id", "text", "", false),
                    text_input(l, "note", "text", "", false),
                    tr(l, "ca_triage"),
                )
            } else {
                let case = x.case_id.map(|c| format!(" {}", case_link(c, &format!("#{c}")))).unwrap_or_default();
                format!("{}{case} {}", badge(l, &x.status), escape(x.triage_note.as_deref().unwrap_or("")))
            };
            vec![
                format!("<span id=\"alert-{}\">#{}</span>", x.id, x.id),
                x.received_on.to_string(),
                code_label(l, "source", &x.source),
                escape(&x.reporter),
                code_label(l, "urgency", &x.urgency),
                format!("{}<br><span class=\"muted\">{}</span>", escape(&x.subject), escape(&x.description)),
                status,
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(
            l,
            &["ca_col_alert", "f_received_on", "f_source", "f_reporter", "f_urgency", "f_subject", "ca_col_status"],
        ),
        &rows,
        &t(l, "ca_none"),
    ));
    if a.role.can(Permission::AlertCreate) {
        b.push_str(&format!(
            "<h2>{}</h2><form class=\"box\" method=\"post\" action=\"/app/alerts\" id=\"alert-form\">{csrf}<div class=\"grid\">{}{}{}{}{}{}</div>{}<button type=\"submit\">{}</button></form>",
            tr(l, "ca_new_alert"),
            select(l, "source", "source", ALERT_SOURCES, "school"),
            text_input(l, "reporter", "text", "", true),
            text_input(l, "received_on", "date", &today().to_string(), true),
            text_input(l, "subject", "text", "", true),
            text_input(l, "person_id", "text", "", false),
            select(l, "urgency", "urgency", URGENCIES, "medium"),
            textarea(l, "description", "", None),
            tr(l, "ca_save"),
        ));
    }
    let status = banner.map_or(StatusCode::OK, |e| status_and_code(e).0);
    (status, layout(lang, Some(session), &t(l, "ca_nav_alerts"), &b)).into_response()
}

async fn alert_create(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Form(f): Form<WithCsrf<AlertInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.create_alert(&session.actor, &f.inner).await {
        Ok(x) => see_other(&format!("/app/alerts#alert-{}", x.id)),
        Err(e) => render_alerts(&s, lang, &session, Some(&e)).await,
    }
}

async fn alert_triage(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Path(id): Path<i64>,
    Form(f): Form<WithCsrf<TriageInput>>,
) -> Response {
    if let Err(e) = check_csrf(&session, &f.csrf) {
        return error_page(lang.0, Some(&session), &e);
    }
    match s.store.triage_alert(&session.actor, id, &f.inner).await {
        Ok(x) => match x.case_id {
            Some(c) => see_other(&format!("/app/cases/{c}")),
            None => see_other("/app/alerts"),
        },
        Err(e) => render_alerts(&s, lang, &session, Some(&e)).await,
    }
}

// ---- Audit ----

async fn audit_page(
    State(s): State<CaseState>,
    lang: PageLang,
    PageSession(session): PageSession,
    Query(q): Query<AuditQuery>,
) -> Response {
    let l = lang.0;
    let log = match s.store.audit_log(&session.actor, &q).await {
        Ok(x) => x,
        Err(e) => return error_page(l, Some(&session), &e),
    };
    let mut b = format!(
        "<h1>{}</h1><form class=\"box\" method=\"get\" action=\"/app/audit\"><div class=\"grid\">{}{}{}{}{}</div><button>{}</button></form>",
        tr(l, "ca_nav_audit"),
        text_input(l, "case_id", "text", q.case_id.as_deref().unwrap_or(""), false),
        text_input(l, "user_id", "text", q.user_id.as_deref().unwrap_or(""), false),
        text_input(l, "entity", "text", q.entity.as_deref().unwrap_or(""), false),
        text_input(l, "from", "date", q.from.as_deref().unwrap_or(""), false),
        text_input(l, "to", "date", q.to.as_deref().unwrap_or(""), false),
        tr(l, "ca_search"),
    );
    let rows: Vec<Vec<String>> = log
        .iter()
        .map(|e| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                escape(&e.username),
                escape(&e.role),
                escape(&e.action),
                format!("{} {}", escape(&e.entity), e.entity_id.map(|i| format!("#{i}")).unwrap_or_default()),
                e.case_id.map(|c| format!("#{c}")).unwrap_or_default(),
                escape(e.ente.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    b.push_str(&table(
        &heads(
            l,
            &[
                "ca_col_when",
                "ca_col_by",
                "ca_col_role",
                "ca_col_action",
                "ca_col_record",
                "ca_col_case",
                "ca_col_ente",
            ],
        ),
        &rows,
        &t(l, "ca_none"),
    ));
    layout(lang, Some(&session), &t(l, "ca_nav_audit"), &b)
}
