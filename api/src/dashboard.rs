//! The managers' dashboard: `GET /api/v1/dashboard` (JSON) and the page `/dashboard`
//! with its charts, sortable tables and the form that sets a year's budget
//! (`POST /dashboard/budget`). Both read the enti of the caller's scope only
//! ([`crate::scope`]) and need `Permission::ReportRead`.

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Json, Router, routing::get};
use mosaico_analytics::dashboard::{self, BudgetLine, Count, Dashboard, Input, WaitFact};
use mosaico_analytics::disclosure::Mark;
use mosaico_analytics::period::Period;
use mosaico_case_app::budgets::BudgetInput;
use mosaico_case_app::model::Ente;
use mosaico_case_app::{CaseError, FieldError, Permission, Session};
use mosaico_domain::AreaUtenza;

use crate::auth::{Signed, SignedPage};
use crate::charts::{self, Bar, Texts};
use crate::i18n::{Lang, t, tf};
use crate::map::escape;
use crate::pages::{STYLE, thousands};
use crate::scope::{self, Scope};
use crate::{ApiError, AppState};

/// The target mapped per NIL unless another is asked for.
const DEFAULT_TARGET: &str = "anziani_75_soli";

/// The dashboard's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dashboard", get(json))
        .route("/dashboard", get(page))
        .route("/dashboard/budget", axum::routing::post(set_budget))
}

/// Filters of the dashboard.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct DashQuery {
    /// An ente of the caller's scope (ISTAT code).
    ente: Option<String>,
    /// An ambito of the caller's scope.
    ambito: Option<String>,
    /// First month, `YYYY-MM`.
    from: Option<String>,
    /// Last month, `YYYY-MM`.
    to: Option<String>,
    /// A calendar year (instead of from/to).
    year: Option<String>,
    /// The target mapped per NIL (default anziani_75_soli).
    target: Option<String>,
    /// Page only: the column a table is sorted by.
    #[param(ignore)]
    sort: Option<String>,
    /// Page only: `asc` or `desc`.
    #[param(ignore)]
    dir: Option<String>,
    /// Page only: `it` or `en`.
    #[param(ignore)]
    lang: Option<String>,
    /// Page only: set after a budget was saved.
    #[param(ignore)]
    saved: Option<String>,
}

/// The dashboard as JSON.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct DashboardResponse {
    /// The enti covered.
    enti: Vec<Ente>,
    /// The ambito asked for.
    ambito: Option<String>,
    /// The months covered.
    period: Period,
    /// Counts of persons from 1 to threshold − 1 are hidden.
    threshold: u64,
    /// The version of each warehouse table read.
    versions: BTreeMap<String, u64>,
    /// True when no section holds data for the period.
    empty: bool,
    /// Every section; each count is `{value, mark}` with `mark` one of shown, primary, secondary.
    #[serde(flatten)]
    dashboard: Dashboard,
}

/// Everything a request resolves to.
struct Resolved {
    scope: Scope,
    period: Period,
    target: String,
    dashboard: Dashboard,
}

fn case_error(e: CaseError) -> ApiError {
    match e {
        CaseError::Forbidden(what) => ApiError::forbidden(what),
        CaseError::NotFound(what) => ApiError::bad_request(format!("{what}: not in your scope")),
        other => ApiError::internal(&other),
    }
}

impl AppState {
    /// Answers the dashboard's questions that do not depend on who asks (the demand of
    /// its targets per cell, see [`dashboard::warm`]) and keeps them, so the first
    /// manager after a start does not wait for them. [`crate::serve`] runs it in the
    /// background. A warehouse without a registry has nothing to answer. Returns how
    /// many targets were answered.
    pub async fn warm_dashboard(&self) -> anyhow::Result<usize> {
        if !self.ctx().table_exist("population")? {
            return Ok(0);
        }
        let catalogue = self.catalogue();
        let mapped = catalogue.get(DEFAULT_TARGET)?;
        Ok(dashboard::warm(self.ctx(), &dashboard::shown_targets(catalogue, mapped)).await?)
    }

    /// The query cache's entries, bytes, hits and misses.
    pub fn cache_stats(&self) -> Option<mosaico_analytics::cache::Stats> {
        mosaico_analytics::cache::of(self.ctx()).map(|c| c.stats())
    }
}

async fn resolve(state: &AppState, who: &Signed, q: &DashQuery) -> Result<Resolved, ApiError> {
    who.require(Permission::ReportRead, "see the managers' dashboard")?;
    let scope = scope::resolve(state, who, q.ente.as_deref(), q.ambito.as_deref()).await?;
    let today = mosaico_case_app::today();
    let period = Period::parse(
        q.from.as_deref().filter(|s| !s.is_empty()),
        q.to.as_deref().filter(|s| !s.is_empty()),
        q.year.as_deref().filter(|s| !s.is_empty()),
        today,
    )?;
    let catalogue = state.catalogue();
    let target_id = q.target.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_TARGET);
    let mapped = catalogue.get(target_id).map_err(|e| ApiError::bad_request(format!("target: {e}")))?;
    let targets = dashboard::shown_targets(catalogue, mapped);
    let codes = scope.codes();
    let cases = state.inner.cases.as_ref().ok_or_else(ApiError::unauthorized)?;
    let actor = &who.0.actor;
    let facts: Vec<WaitFact> = cases
        .store
        .waiting_facts(actor, &codes)
        .await
        .map_err(case_error)?
        .into_iter()
        .map(|f| WaitFact {
            ente: f.ente,
            facility_type: f.facility_type,
            waiting: f.status == "waiting",
            listed_on: f.listed_on,
            admitted_on: f.admitted_on,
        })
        .collect();
    let budgets: Vec<BudgetLine> = cases
        .store
        .budgets(actor, &codes, chrono::Datelike::year(&period.from), chrono::Datelike::year(&period.to))
        .await
        .map_err(case_error)?
        .into_iter()
        .map(|b| BudgetLine { ente: b.ente, year: b.year, area: b.area_utenza, cents: b.amount_cents })
        .collect();
    let input = Input { enti: &codes, period, threshold: state.inner.threshold, today };
    let dashboard = dashboard::dashboard(state.ctx(), &input, &facts, &budgets, &targets, mapped).await?;
    Ok(Resolved { scope, period, target: mapped.id.clone(), dashboard })
}

/// The managers' dashboard: caseload per social worker and ente, new and closed cases
/// per month, waiting lists, spending against budget by area and quota, coverage of
/// targets per NIL. Counts of persons under the threshold are hidden (`primary`), and
/// where a total would give one away another is hidden too (`secondary`).
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "reports", params(DashQuery),
    responses((status = 200, description = "Every section with its counts and marks", body = DashboardResponse),
              (status = 400, description = "An ente, ambito, period or target that is not allowed; the message lists what is"),
              (status = 401, description = "Not signed in"),
              (status = 403, description = "The role does not see reports")))]
pub(crate) async fn json(
    State(state): State<AppState>,
    who: Signed,
    Query(q): Query<DashQuery>,
) -> Result<Json<DashboardResponse>, ApiError> {
    let r = resolve(&state, &who, &q).await?;
    let d = &r.dashboard;
    let empty = d.caseload.empty && d.flows.empty && d.spending.empty && d.waiting.empty;
    Ok(Json(DashboardResponse {
        enti: r.scope.enti.clone(),
        ambito: r.scope.ambito.clone(),
        period: r.period,
        threshold: state.inner.threshold,
        versions: state.inner.versions.clone(),
        empty,
        dashboard: r.dashboard,
    }))
}

// ---------------------------------------------------------------------------------
// The page.

const DASH_STYLE: &str = "main{display:block}section.card{background:#fff;border:1px solid #ddd;padding:12px 16px;margin:0 0 16px}\
form.filters,form.budget{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;margin:8px 0}\
form label{display:flex;flex-direction:column;font-size:13px;gap:2px}select,input,button{font-size:14px;padding:4px}\
table{border-collapse:collapse;font-size:13px;margin-top:8px}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}th a{color:inherit}th[aria-sort] a{font-weight:bold}\
.chart{max-width:100%;height:auto;display:block;margin:8px 0}.note,.legend-marks{font-size:12px;color:#555}\
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:8px 12px}.ok{background:#e8f6e8;border:1px solid #9c9;padding:8px 12px}\
.empty{background:#fff7e0;border:1px solid #e0c070;padding:8px 12px}.field-error{color:#b00;font-size:12px}.grid{display:flex;flex-wrap:wrap;gap:16px}";

fn count_cell(c: &Count, lang: Lang) -> String {
    match c.value {
        Some(v) => thousands(v, lang),
        None => format!(
            "<span class=\"mark {}\" title=\"{}\">{}</span>",
            c.mark.code(),
            escape(&t(lang, "dash_hidden")),
            c.mark.symbol()
        ),
    }
}

fn euros(x: Option<f64>, mark: Mark, lang: Lang) -> String {
    match x {
        Some(v) => thousands(v.round().max(0.0) as u64, lang),
        None if mark.hidden() => format!("<span class=\"mark {}\">{}</span>", mark.code(), mark.symbol()),
        None => t(lang, "dash_none"),
    }
}

fn decimal(x: Option<f64>, digits: usize, lang: Lang) -> String {
    match x {
        Some(v) => {
            let s = format!("{v:.digits$}");
            if lang == Lang::It { s.replace('.', ",") } else { s }
        }
        None => t(lang, "dash_none"),
    }
}

/// The query string of the page's filters (for links that keep them).
fn filter_qs(q: &DashQuery) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("ente", &q.ente),
        ("ambito", &q.ambito),
        ("from", &q.from),
        ("to", &q.to),
        ("year", &q.year),
        ("target", &q.target),
        ("lang", &q.lang),
    ] {
        if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// A table: headers (sort key, label), rows (cells as HTML, sort values).
struct Table<'a> {
    id: &'a str,
    cols: Vec<(&'a str, String)>,
    rows: Vec<(Vec<String>, Vec<SortKey>)>,
    foot: Option<Vec<String>>,
}

/// What a column sorts by: text, or a number (hidden values last).
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum SortKey {
    Num(Option<f64>),
    Text(String),
}

fn num(c: &Count) -> SortKey {
    SortKey::Num(c.value.map(|v| v as f64))
}

impl Table<'_> {
    fn html(mut self, q: &DashQuery, lang: Lang) -> String {
        let sort = q.sort.as_deref().unwrap_or("");
        let desc = q.dir.as_deref() == Some("desc");
        if let Some(i) = self.cols.iter().position(|(k, _)| *k == sort) {
            self.rows.sort_by(|a, b| {
                let (x, y) = (&a.1[i], &b.1[i]);
                let o = match (x, y) {
                    // Hidden values last, whichever the direction.
                    (SortKey::Num(None), SortKey::Num(Some(_))) => return std::cmp::Ordering::Greater,
                    (SortKey::Num(Some(_)), SortKey::Num(None)) => return std::cmp::Ordering::Less,
                    _ => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
                };
                if desc { o.reverse() } else { o }
            });
        }
        let base = filter_qs(q);
        let mut h = format!("<table id=\"{}\"><thead><tr>", self.id);
        for (key, label) in &self.cols {
            let on = *key == sort;
            let next = if on && !desc { "desc" } else { "asc" };
            let aria = if on {
                format!(" aria-sort=\"{}\"", if desc { "descending" } else { "ascending" })
            } else {
                String::new()
            };
            let hint = t(lang, if next == "asc" { "dash_sort_asc" } else { "dash_sort_desc" });
            h.push_str(&format!(
                "<th{aria} data-col=\"{key}\"><a href=\"/dashboard?{base}{amp}sort={key}&amp;dir={next}#{id}\" title=\"{}\">{}{}</a></th>",
                escape(&hint),
                escape(label),
                if on { if desc { " ▼" } else { " ▲" } } else { "" },
                amp = if base.is_empty() { "" } else { "&amp;" },
                base = escape(&base),
                id = self.id,
            ));
        }
        h.push_str("</tr></thead><tbody>");
        for (cells, _) in &self.rows {
            h.push_str("<tr>");
            for c in cells {
                h.push_str(&format!("<td>{c}</td>"));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody>");
        if let Some(foot) = &self.foot {
            h.push_str("<tfoot><tr>");
            for c in foot {
                h.push_str(&format!("<th>{c}</th>"));
            }
            h.push_str("</tr></tfoot>");
        }
        h.push_str("</table>");
        h
    }
}

fn area_name(code: &str, lang: Lang) -> String {
    t(lang, &format!("area_{code}"))
}

/// The page's head and header.
fn head(lang: Lang, q: &DashQuery) -> String {
    let other = if lang == Lang::It { Lang::En } else { Lang::It };
    let mut oq = q.clone();
    oq.lang = Some(other.code().to_owned());
    format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{app} — {title}</title><style>{STYLE}{DASH_STYLE}</style></head><body><header><h1>{title}</h1>\
         <span><a href=\"/?lang={l}\">{home}</a> · <a href=\"/app\">{cases}</a> · <a href=\"/dashboard?{oqs}\">{language}</a></span></header><main>",
        l = lang.code(),
        app = escape(&t(lang, "app_name")),
        title = escape(&t(lang, "dash_title")),
        home = escape(&t(lang, "dash_home")),
        cases = escape(&t(lang, "dash_cases_link")),
        oqs = escape(&filter_qs(&oq)),
        language = escape(&t(lang, "language")),
    )
}

/// The filter form, with the values asked for kept.
async fn filter_form(state: &AppState, session: &Session, q: &DashQuery, lang: Lang) -> String {
    let enti = match state.inner.cases.as_ref() {
        Some(c) => c.store.enti(&session.actor).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut h = format!(
        "<section class=\"card\"><h2>{}</h2><form class=\"filters\" id=\"filters\" method=\"get\" action=\"/dashboard\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\"><label>{}<select name=\"ente\" id=\"ente\"><option value=\"\">{}</option>",
        escape(&t(lang, "dash_filters")),
        lang.code(),
        escape(&t(lang, "dash_ente")),
        escape(&t(lang, "dash_all"))
    );
    for e in &enti {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{} ({})</option>",
            escape(&e.istat),
            if q.ente.as_deref() == Some(e.istat.as_str()) { " selected" } else { "" },
            escape(&e.name),
            escape(&e.istat)
        ));
    }
    h.push_str(&format!(
        "</select></label><label>{}<select name=\"ambito\" id=\"ambito\"><option value=\"\">{}</option>",
        escape(&t(lang, "dash_ambito")),
        escape(&t(lang, "dash_all"))
    ));
    let mut ambiti: Vec<&str> = enti.iter().map(|e| e.ambito.as_str()).collect();
    ambiti.sort_unstable();
    ambiti.dedup();
    for a in ambiti {
        h.push_str(&format!(
            "<option value=\"{a}\"{}>{a}</option>",
            if q.ambito.as_deref() == Some(a) { " selected" } else { "" },
            a = escape(a)
        ));
    }
    h.push_str(&format!(
        "</select></label><label>{}<input type=\"month\" name=\"from\" id=\"from\" value=\"{}\" placeholder=\"YYYY-MM\"></label>\
         <label>{}<input type=\"month\" name=\"to\" id=\"to\" value=\"{}\" placeholder=\"YYYY-MM\"></label>\
         <label>{}<select name=\"target\" id=\"target\">",
        escape(&t(lang, "dash_from")),
        escape(q.from.as_deref().unwrap_or("")),
        escape(&t(lang, "dash_to")),
        escape(q.to.as_deref().unwrap_or("")),
        escape(&t(lang, "dash_target")),
    ));
    let chosen = q.target.as_deref().filter(|s| !s.is_empty()).unwrap_or(DEFAULT_TARGET);
    for x in state.catalogue().targets() {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(&x.id),
            if x.id == chosen { " selected" } else { "" },
            escape(x.name_in(lang.code()))
        ));
    }
    if let Some(y) = q.year.as_deref().filter(|s| !s.is_empty()) {
        h.push_str(&format!("<input type=\"hidden\" name=\"year\" value=\"{}\">", escape(y)));
    }
    h.push_str(&format!(
        "</select></label><button type=\"submit\">{}</button></form></section>",
        escape(&t(lang, "dash_show"))
    ));
    h
}

/// The budget form's state after a refused submission.
struct BudgetForm {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
}

fn budget_form(
    session: &Session,
    scope: &Scope,
    period: &Period,
    q: &DashQuery,
    lang: Lang,
    form: Option<&BudgetForm>,
) -> String {
    if !session.actor.role.can(Permission::BudgetWrite) {
        return String::new();
    }
    let value = |k: &str| form.and_then(|f| f.values.get(k)).cloned().unwrap_or_default();
    let error = |k: &str| {
        form.and_then(|f| f.errors.iter().find(|e| e.field == k))
            .map(|e| {
                let params: Vec<(&str, &str)> = e.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let msg = tf(lang, &format!("err_{}", e.code), &params);
                format!("<span class=\"field-error\" id=\"err-{k}\">{}</span>", escape(&msg))
            })
            .unwrap_or_default()
    };
    let mut h = format!("<section class=\"card\" id=\"budget\"><h2>{}</h2>", escape(&t(lang, "dash_budget_form")));
    if let Some(f) = form
        && !f.errors.is_empty()
    {
        h.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&t(lang, "dash_budget_refused"))));
    }
    let year = {
        let v = value("year");
        if v.is_empty() { chrono::Datelike::year(&period.to).to_string() } else { v }
    };
    h.push_str(&format!(
        "<form class=\"budget\" id=\"budget-form\" method=\"post\" action=\"/dashboard/budget\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
         <label>{}<select name=\"ente\">",
        escape(&session.csrf),
        escape(&filter_qs(q)),
        escape(&t(lang, "dash_ente"))
    ));
    for e in scope.enti.iter().filter(|e| session.actor.sees(&e.istat)) {
        h.push_str(&format!(
            "<option value=\"{}\"{}>{}</option>",
            escape(&e.istat),
            if value("ente") == e.istat { " selected" } else { "" },
            escape(&e.name)
        ));
    }
    h.push_str(&format!(
        "</select></label><label>{}<input name=\"year\" id=\"budget-year\" value=\"{}\" size=\"5\">{}</label>",
        escape(&t(lang, "dash_year")),
        escape(&year),
        error("year")
    ));
    for area in AreaUtenza::ALL {
        let k = area.code();
        h.push_str(&format!(
            "<label>{}<input name=\"{k}\" id=\"budget-{k}\" value=\"{}\" size=\"12\" inputmode=\"decimal\">{}</label>",
            escape(&area_name(k, lang)),
            escape(&value(k)),
            error(k)
        ));
    }
    h.push_str(&format!("<button type=\"submit\">{}</button></form></section>", escape(&t(lang, "dash_save_budget"))));
    h
}

fn legend(lang: Lang, threshold: u64) -> String {
    format!(
        "<p class=\"legend-marks\" id=\"marks-legend\">{}<br>{}</p>",
        escape(&tf(lang, "dash_legend_primary", &[("threshold", &threshold.to_string())])),
        escape(&t(lang, "dash_legend_secondary"))
    )
}

fn empty_note(lang: Lang, empty: bool) -> String {
    if empty { format!("<p class=\"empty\">{}</p>", escape(&t(lang, "dash_empty"))) } else { String::new() }
}

fn render(state: &AppState, r: &Resolved, q: &DashQuery, lang: Lang) -> String {
    let d = &r.dashboard;
    let threshold = state.inner.threshold;
    let mut h = String::new();
    h.push_str(&format!(
        "<p id=\"scope\">{}</p>{}",
        escape(&tf(
            lang,
            "dash_scope",
            &[("enti", &r.scope.label()), ("period", &r.period.label()), ("threshold", &threshold.to_string())]
        )),
        legend(lang, threshold)
    ));
    let all_empty = d.caseload.empty && d.flows.empty && d.spending.empty && d.waiting.empty;
    if all_empty {
        h.push_str(&format!("<p class=\"empty\" id=\"empty-period\">{}</p>", escape(&t(lang, "dash_empty"))));
    }
    let names: HashMap<&str, &str> = r.scope.enti.iter().map(|e| (e.istat.as_str(), e.name.as_str())).collect();
    let ente_name = |c: &str| names.get(c).map_or_else(|| c.to_owned(), |n| (*n).to_owned());

    // Flows.
    h.push_str(&format!("<section class=\"card\" id=\"flows\"><h2>{}</h2>", escape(&t(lang, "dash_flows"))));
    h.push_str(&empty_note(lang, d.flows.empty));
    if !d.flows.empty {
        let months: Vec<String> = d.flows.months.iter().map(|m| m.month.clone()).collect();
        let series = vec![
            d.flows.months.iter().map(|m| m.opened.value).collect(),
            d.flows.months.iter().map(|m| m.closed.value).collect(),
        ];
        h.push_str(&charts::lines(
            "chart-flows",
            &months,
            &series,
            &Texts {
                title: t(lang, "dash_flows"),
                desc: t(lang, "dash_flows_desc"),
                x: t(lang, "dash_month"),
                y: t(lang, "dash_cases"),
                series: vec![t(lang, "dash_opened"), t(lang, "dash_closed")],
            },
        ));
        let rows = d
            .flows
            .months
            .iter()
            .map(|m| {
                (
                    vec![escape(&m.month), count_cell(&m.opened, lang), count_cell(&m.closed, lang)],
                    vec![SortKey::Text(m.month.clone()), num(&m.opened), num(&m.closed)],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "flows-table",
                cols: vec![
                    ("month", t(lang, "dash_month")),
                    ("opened", t(lang, "dash_opened")),
                    ("closed", t(lang, "dash_closed")),
                ],
                rows,
                foot: Some(vec![
                    escape(&t(lang, "dash_total")),
                    count_cell(&d.flows.opened_total, lang),
                    count_cell(&d.flows.closed_total, lang),
                ]),
            }
            .html(q, lang),
        );
    }
    h.push_str("</section>");

    // Caseload.
    h.push_str(&format!(
        "<section class=\"card\" id=\"caseload\"><h2>{}</h2><p class=\"note\">{}</p>",
        escape(&t(lang, "dash_caseload")),
        escape(&tf(lang, "dash_caseload_note", &[("date", &d.caseload.as_of.to_string())]))
    ));
    h.push_str(&empty_note(lang, d.caseload.empty));
    if !d.caseload.empty {
        let rows = d
            .caseload
            .workers
            .iter()
            .map(|w| {
                (
                    vec![escape(&w.social_worker), escape(&ente_name(&w.ente)), count_cell(&w.open, lang)],
                    vec![SortKey::Text(w.social_worker.clone()), SortKey::Text(ente_name(&w.ente)), num(&w.open)],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "caseload-table",
                cols: vec![
                    ("worker", t(lang, "dash_worker")),
                    ("ente", t(lang, "dash_ente")),
                    ("open", t(lang, "dash_open")),
                ],
                rows,
                foot: Some(vec![escape(&t(lang, "dash_total")), String::new(), count_cell(&d.caseload.total, lang)]),
            }
            .html(q, lang),
        );
        let rows = d
            .caseload
            .enti
            .iter()
            .map(|e| {
                (
                    vec![escape(&ente_name(&e.ente)), count_cell(&e.open, lang), e.workers.to_string()],
                    vec![SortKey::Text(ente_name(&e.ente)), num(&e.open), SortKey::Num(Some(e.workers as f64))],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "enti-table",
                cols: vec![
                    ("ente_name", t(lang, "dash_ente")),
                    ("ente_open", t(lang, "dash_open")),
                    ("ente_workers", t(lang, "dash_workers")),
                ],
                rows,
                foot: None,
            }
            .html(q, lang),
        );
    }
    h.push_str("</section>");

    // Waiting lists.
    h.push_str(&format!(
        "<section class=\"card\" id=\"waiting\"><h2>{}</h2><p class=\"note\">{}</p>",
        escape(&t(lang, "dash_waiting")),
        escape(&tf(lang, "dash_waiting_note", &[("date", &d.waiting.as_of.to_string())]))
    ));
    h.push_str(&empty_note(lang, d.waiting.empty));
    if !d.waiting.empty {
        let days = |x: Option<i64>| x.map_or_else(|| t(lang, "dash_none"), |v| v.to_string());
        let rows = d
            .waiting
            .types
            .iter()
            .map(|w| {
                (
                    vec![
                        escape(&w.facility_type),
                        count_cell(&w.waiting, lang),
                        days(w.median_wait_days),
                        count_cell(&w.admitted, lang),
                        days(w.median_days_to_admission),
                    ],
                    vec![
                        SortKey::Text(w.facility_type.clone()),
                        num(&w.waiting),
                        SortKey::Num(w.median_wait_days.map(|v| v as f64)),
                        num(&w.admitted),
                        SortKey::Num(w.median_days_to_admission.map(|v| v as f64)),
                    ],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "waiting-table",
                cols: vec![
                    ("facility_type", t(lang, "dash_facility_type")),
                    ("waiting", t(lang, "dash_waiting_now")),
                    ("median_wait", t(lang, "dash_median_wait")),
                    ("admitted", t(lang, "dash_admitted")),
                    ("median_admission", t(lang, "dash_median_admission")),
                ],
                rows,
                foot: Some(vec![
                    escape(&t(lang, "dash_total")),
                    count_cell(&d.waiting.waiting_total, lang),
                    String::new(),
                    count_cell(&d.waiting.admitted_total, lang),
                    String::new(),
                ]),
            }
            .html(q, lang),
        );
    }
    h.push_str("</section>");

    // Spending.
    let s = &d.spending;
    h.push_str(&format!("<section class=\"card\" id=\"spending\"><h2>{}</h2>", escape(&t(lang, "dash_spending"))));
    h.push_str(&empty_note(lang, s.empty));
    if !s.empty {
        let spend_bars: Vec<Bar> = s
            .areas
            .iter()
            .map(|a| Bar { label: area_name(&a.area, lang), values: a.amount.value.map(|v| vec![v]), mark: a.budget })
            .collect();
        let short: Vec<Bar> = spend_bars
            .iter()
            .map(|b| Bar { label: b.label.split_whitespace().next().unwrap_or("").to_owned(), ..b.clone() })
            .collect();
        h.push_str("<div class=\"grid\">");
        h.push_str(&charts::bars(
            "chart-spending",
            &short,
            &Texts {
                title: t(lang, "dash_spending"),
                desc: t(lang, "dash_spending_desc"),
                x: t(lang, "dash_area"),
                y: t(lang, "dash_euros"),
                series: vec![t(lang, "dash_amount")],
            },
            Some(&t(lang, "dash_budget")),
        ));
        let quota_bars: Vec<Bar> = s
            .areas
            .iter()
            .map(|a| Bar {
                label: area_name(&a.area, lang).split_whitespace().next().unwrap_or("").to_owned(),
                values: match (a.quota_ente.value, a.quota_utente.value, a.quota_ssn.value) {
                    (Some(e), Some(u), Some(n)) => Some(vec![e, u, n]),
                    _ => None,
                },
                mark: None,
            })
            .collect();
        h.push_str(&charts::bars(
            "chart-quota",
            &quota_bars,
            &Texts {
                title: t(lang, "dash_quota"),
                desc: t(lang, "dash_quota_desc"),
                x: t(lang, "dash_area"),
                y: t(lang, "dash_euros"),
                series: vec![t(lang, "dash_quota_ente"), t(lang, "dash_quota_utente"), t(lang, "dash_quota_ssn")],
            },
            None,
        ));
        h.push_str("</div>");
        let row = |a: &mosaico_analytics::dashboard::AreaSpending, name: String| {
            vec![
                name,
                count_cell(&a.persons, lang),
                euros(a.amount.value, a.amount.mark, lang),
                euros(a.quota_ente.value, a.quota_ente.mark, lang),
                euros(a.quota_utente.value, a.quota_utente.mark, lang),
                euros(a.quota_ssn.value, a.quota_ssn.mark, lang),
                euros(a.budget, Mark::Shown, lang),
                a.share_of_budget
                    .map_or_else(|| t(lang, "dash_none"), |x| format!("{}%", decimal(Some(x * 100.0), 0, lang))),
            ]
        };
        let rows = s
            .areas
            .iter()
            .map(|a| {
                (
                    row(a, escape(&area_name(&a.area, lang))),
                    vec![
                        SortKey::Text(area_name(&a.area, lang)),
                        num(&a.persons),
                        SortKey::Num(a.amount.value),
                        SortKey::Num(a.quota_ente.value),
                        SortKey::Num(a.quota_utente.value),
                        SortKey::Num(a.quota_ssn.value),
                        SortKey::Num(a.budget),
                        SortKey::Num(a.share_of_budget),
                    ],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "spending-table",
                cols: vec![
                    ("area", t(lang, "dash_area")),
                    ("persons", t(lang, "dash_persons")),
                    ("amount", t(lang, "dash_amount")),
                    ("quota_ente", t(lang, "dash_quota_ente")),
                    ("quota_utente", t(lang, "dash_quota_utente")),
                    ("quota_ssn", t(lang, "dash_quota_ssn")),
                    ("budget", t(lang, "dash_budget")),
                    ("share", t(lang, "dash_share")),
                ],
                rows,
                foot: Some(row(&s.total, escape(&t(lang, "dash_total")))),
            }
            .html(q, lang),
        );
        h.push_str(&format!("<p class=\"note\">{}</p>", escape(&t(lang, "dash_budget_note"))));
    }
    h.push_str("</section>");

    // Coverage.
    let c = &d.coverage;
    h.push_str(&format!(
        "<section class=\"card\" id=\"coverage\"><h2>{}</h2><p class=\"note\">{}</p>",
        escape(&t(lang, "dash_coverage")),
        escape(&t(lang, "dash_coverage_note"))
    ));
    h.push_str(&empty_note(lang, c.empty));
    if !c.empty {
        let catalogue = state.catalogue();
        let tname = |id: &str| catalogue.get(id).map_or_else(|_| id.to_owned(), |x| x.name_in(lang.code()).to_owned());
        let rows = c
            .targets
            .iter()
            .map(|x| {
                (
                    vec![
                        escape(&tname(&x.target)),
                        escape(&area_name(&x.area, lang)),
                        count_cell(&x.potential, lang),
                        count_cell(&x.expressed, lang),
                        decimal(x.per_1000, 1, lang),
                    ],
                    vec![
                        SortKey::Text(tname(&x.target)),
                        SortKey::Text(area_name(&x.area, lang)),
                        num(&x.potential),
                        num(&x.expressed),
                        SortKey::Num(x.per_1000),
                    ],
                )
            })
            .collect();
        h.push_str(
            &Table {
                id: "targets-table",
                cols: vec![
                    ("target", t(lang, "dash_target_col")),
                    ("target_area", t(lang, "dash_area")),
                    ("potential", t(lang, "dash_potential")),
                    ("expressed", t(lang, "dash_expressed")),
                    ("per_1000", t(lang, "dash_per_1000")),
                ],
                rows,
                foot: None,
            }
            .html(q, lang),
        );
        let areas: Vec<charts::Area> = c
            .nil
            .iter()
            .map(|n| charts::Area { id: n.nil_id.to_string(), value: n.per_1000_target, present: true })
            .collect();
        let title = tf(lang, "dash_nil_map", &[("target", &tname(&r.target))]);
        h.push_str(&charts::nil_map(
            "chart-nil",
            &state.inner.nil,
            &areas,
            &charts::MapTexts {
                title,
                desc: t(lang, "dash_nil_map_desc"),
                hidden: t(lang, "dash_hidden"),
                none: t(lang, "dash_no_residents"),
            },
        ));
        let rows = c
            .nil
            .iter()
            .map(|n| {
                (
                    vec![
                        format!("{} {}", n.nil_id, escape(&n.name)),
                        count_cell(&n.residents, lang),
                        count_cell(&n.potential, lang),
                        count_cell(&n.expressed, lang),
                        decimal(n.per_1000_target, 1, lang),
                        decimal(n.per_1000_residents, 1, lang),
                    ],
                    vec![
                        SortKey::Text(n.name.clone()),
                        num(&n.residents),
                        num(&n.potential),
                        num(&n.expressed),
                        SortKey::Num(n.per_1000_target),
                        SortKey::Num(n.per_1000_residents),
                    ],
                )
            })
            .collect();
        h.push_str(&format!("<h3>{}</h3>", escape(&t(lang, "dash_nil_table"))));
        h.push_str(
            &Table {
                id: "nil-table",
                cols: vec![
                    ("nil", t(lang, "nil")),
                    ("residents", t(lang, "dash_residents")),
                    ("nil_potential", t(lang, "dash_potential")),
                    ("nil_expressed", t(lang, "dash_expressed")),
                    ("coverage", t(lang, "dash_per_1000")),
                    ("coverage_residents", t(lang, "dash_per_1000_res")),
                ],
                rows,
                foot: None,
            }
            .html(q, lang),
        );
    }
    h.push_str("</section>");
    h.push_str(&format!(
        "<p><a id=\"api-link\" href=\"/api/v1/dashboard?{}\">{}</a></p>",
        escape(&filter_qs(q)),
        escape(&t(lang, "dash_api"))
    ));
    h
}

async fn page_response(
    state: &AppState,
    session: Session,
    q: DashQuery,
    budget: Option<BudgetForm>,
    notice: Option<String>,
) -> Response {
    let lang = Lang::parse(q.lang.as_deref());
    let who = Signed(session);
    let mut h = head(lang, &q);
    if !who.0.actor.role.can(Permission::ReportRead) {
        h.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p></main></body></html>",
            escape(&ApiError::forbidden("see the managers' dashboard").message)
        ));
        return (StatusCode::FORBIDDEN, Html(h)).into_response();
    }
    h.push_str(&filter_form(state, &who.0, &q, lang).await);
    match resolve(state, &who, &q).await {
        Ok(r) => {
            if let Some(n) = notice {
                h.push_str(&format!("<p class=\"ok\" role=\"status\" id=\"notice\">{}</p>", escape(&n)));
            }
            h.push_str(&render(state, &r, &q, lang));
            h.push_str(&budget_form(&who.0, &r.scope, &r.period, &q, lang, budget.as_ref()));
            h.push_str(&format!("</main><footer>{}</footer></body></html>", escape(&t(lang, "footer_data"))));
            let status = if budget.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
            (status, Html(h)).into_response()
        }
        Err(e) => {
            h.push_str(&format!(
                "<section class=\"card\"><h2>{}</h2><p class=\"error\" role=\"alert\" id=\"filter-error\">{}</p></section></main></body></html>",
                escape(&t(lang, "dash_bad_filters")),
                escape(&e.message)
            ));
            (e.status, Html(h)).into_response()
        }
    }
}

/// `GET /dashboard`.
pub(crate) async fn page(
    State(state): State<AppState>,
    SignedPage(session): SignedPage,
    Query(q): Query<DashQuery>,
) -> Response {
    let notice = q.saved.is_some().then(|| t(Lang::parse(q.lang.as_deref()), "dash_budget_saved"));
    page_response(&state, session, q, None, notice).await
}

/// `POST /dashboard/budget`: a year's budget per area, CSRF-checked; a refused form
/// comes back with its values and the fields' errors, and nothing saved.
pub(crate) async fn set_budget(
    State(state): State<AppState>,
    SignedPage(session): SignedPage,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = form.get("back").cloned().unwrap_or_default();
    let q: DashQuery = format!("/?{back}")
        .parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| Query::<DashQuery>::try_from_uri(&u).ok())
        .map(|Query(q)| q)
        .unwrap_or_default();
    if !mosaico_case_app::auth::same_token(form.get("csrf").map_or("", String::as_str), &session.csrf) {
        return ApiError { status: StatusCode::FORBIDDEN, message: "missing or wrong CSRF token".into() }
            .into_response();
    }
    let Some(cases) = state.inner.cases.as_ref() else { return ApiError::unauthorized().into_response() };
    let get = |k: &str| form.get(k).cloned();
    let input = BudgetInput {
        ente: get("ente"),
        year: get("year"),
        famiglia_minori: get("famiglia_minori"),
        disabili: get("disabili"),
        dipendenze: get("dipendenze"),
        anziani: get("anziani"),
        immigrati_nomadi: get("immigrati_nomadi"),
        poverta_disagio_adulti: get("poverta_disagio_adulti"),
        multiutenza: get("multiutenza"),
    };
    match cases.store.set_budgets(&session.actor, &input).await {
        Ok(_) => {
            let sep = if back.is_empty() { "" } else { "&" };
            Redirect::to(&format!("/dashboard?{back}{sep}saved=1#spending")).into_response()
        }
        Err(CaseError::Invalid(errors)) => {
            page_response(&state, session, q, Some(BudgetForm { values: form, errors }), None).await
        }
        Err(CaseError::Forbidden(what)) => ApiError::forbidden(what).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}
